//! Order commands run through the real command pipeline over an in-memory store and queue, for
//! the connectors' command tests: what the platform's mock received is checked by the test,
//! and what the order system would read back is [`CommandHarness::results`].

use std::collections::HashMap;
use std::sync::Mutex;

use o2o_core::command::{Action, CommandOrder, CommandSchemaVersion, OrderCommand};
use o2o_core::pipeline::{CommandProcessed, PipelineOptions, QueuedCommand};
use o2o_core::ports::{
    Claim, ClaimOutcome, IdempotencyStore, PortError, QueueMessage, QueueName, Queues,
};
use o2o_core::{Connector, IdempotencyKey, Pipeline, Reply, Timestamp, UnifiedOrderEvent};

/// A command for `channel`, `tenant` and order `order_id`, requested now.
pub fn command(
    command_id: &str,
    channel: &str,
    tenant: &str,
    order_id: &str,
    action: Action,
) -> OrderCommand {
    OrderCommand {
        schema_version: CommandSchemaVersion::V1,
        command_id: command_id.to_owned(),
        channel: channel.to_owned(),
        tenant: tenant.to_owned(),
        order: CommandOrder {
            external_id: order_id.to_owned(),
        },
        action,
        requested_at: Timestamp::now(),
        deadline: None,
    }
}

/// One idempotency record: completed, payload hash, stored result.
type Record = (bool, String, Option<Reply>);

/// An idempotency store and a unified queue in memory, with the command pipeline over them.
#[derive(Default)]
pub struct CommandHarness {
    records: Mutex<HashMap<String, Record>>,
    unified: Mutex<Vec<QueueMessage>>,
}

impl CommandHarness {
    /// An empty store and queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `command` through `connector` as the queue's `attempt`-th hand-out (`last`: the
    /// queue's final one).
    pub async fn run<C: Connector>(
        &self,
        connector: &C,
        command: &OrderCommand,
        attempt: u32,
        last: bool,
    ) -> Result<CommandProcessed, PortError> {
        let pipeline = Pipeline::new(self, self, PipelineOptions::default());
        let queued = QueuedCommand {
            command: command.clone(),
            received_at: Timestamp::now(),
            attempt,
            last_attempt: last,
        };
        pipeline.command(connector, &queued).await
    }

    /// The result events on the unified queue, deduplicated by event id as SQS FIFO would.
    pub fn results(&self) -> Vec<UnifiedOrderEvent> {
        let messages = self.unified.lock().map(|m| m.clone()).unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        messages
            .into_iter()
            .filter(|m| seen.insert(m.dedup_id.clone()))
            .map(|m| serde_json::from_str(&m.body).expect("a unified event"))
            .collect()
    }

    /// The message groups of the queued results.
    pub fn groups(&self) -> Vec<Option<String>> {
        let messages = self.unified.lock().map(|m| m.clone()).unwrap_or_default();
        messages.into_iter().map(|m| m.group_id).collect()
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for CommandHarness {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        let mut records = self.records.lock().expect("records");
        match records.get(claim.key.as_str()) {
            Some((true, hash, Some(ack))) => Ok(ClaimOutcome::Completed {
                ack: ack.clone(),
                payload_hash: hash.clone(),
            }),
            Some((false, _, _)) => Ok(ClaimOutcome::InProgress),
            _ => {
                records.insert(
                    claim.key.as_str().to_owned(),
                    (false, claim.payload_hash.clone(), None),
                );
                Ok(ClaimOutcome::Claimed)
            }
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        _: Timestamp,
    ) -> Result<(), PortError> {
        let mut records = self.records.lock().expect("records");
        if let Some(record) = records.get_mut(key.as_str()) {
            record.0 = true;
            record.2 = Some(ack.clone());
        }
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        let mut records = self.records.lock().expect("records");
        if matches!(records.get(key.as_str()), Some((false, _, _))) {
            records.remove(key.as_str());
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Queues for CommandHarness {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        assert_eq!(
            queue,
            QueueName::Unified,
            "command results go to the unified queue"
        );
        self.unified.lock().expect("queue").extend(messages);
        Ok(())
    }
}
