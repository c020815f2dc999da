//! Order commands run through the real command pipeline over an in-memory store and queue, for
//! the connectors' command tests: what the platform's mock received is checked by the test,
//! and what the order system would read back is [`CommandHarness::results`], checked with
//! [`CommandHarness::only_result`], [`succeeded`], [`failure`] or [`summary`].

use std::collections::HashMap;
use std::sync::Mutex;

use o2o_core::command::{
    Action, CommandKind, CommandOrder, CommandSchemaVersion, FailureCode, OrderCommand,
};
use o2o_core::event::EventType;
use o2o_core::pipeline::{CommandProcessed, PipelineOptions, QueuedCommand};
use o2o_core::ports::{
    Claim, ClaimOutcome, IdempotencyStore, PortError, QueueMessage, QueueName, Queues,
};
use o2o_core::{Connector, IdempotencyKey, Pipeline, Reply, Timestamp, UnifiedOrderEvent};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate};

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

    /// The one result event, checked for what every result carries: `channel`, `tenant` and
    /// order `order_id` as its source, and a command result of `command_id` and `kind`.
    pub fn only_result(
        &self,
        channel: &str,
        tenant: &str,
        order_id: &str,
        command_id: &str,
        kind: CommandKind,
    ) -> UnifiedOrderEvent {
        let results = self.results();
        assert_eq!(results.len(), 1, "{results:?}");
        let event = results[0].clone();
        assert_eq!(event.source.channel, channel);
        assert_eq!(event.source.tenant, tenant);
        assert_eq!(
            event.order.as_ref().map(|o| o.external_id.as_str()),
            Some(order_id)
        );
        let result = event.command.as_ref().expect("a command result");
        assert_eq!(result.command_id, command_id);
        assert_eq!(result.kind, kind);
        event
    }
}

/// Checks that `event` is a `command.succeeded` after `attempts` attempts, with no error.
pub fn succeeded(event: &UnifiedOrderEvent, attempts: u32) {
    assert_eq!(event.event_type, EventType::CommandSucceeded);
    let result = event.command.as_ref().expect("a result");
    assert_eq!((result.attempts, &result.error), (attempts, &None));
}

/// `(code, platform_code, retryable, attempts)` of `event`, checked to be a `command.failed`
/// with an error.
pub fn failure(event: &UnifiedOrderEvent) -> (FailureCode, Option<String>, bool, u32) {
    assert_eq!(event.event_type, EventType::CommandFailed);
    let result = event.command.as_ref().expect("a result");
    let error = result.error.clone().expect("an error");
    (
        error.code,
        error.platform_code,
        error.retryable,
        result.attempts,
    )
}

/// The fields of a result event the order system reads, as JSON to compare whole: `event_type`,
/// `channel`, `tenant`, `order`, `command_id`, `kind`, `attempts`, `platform_reference`, and the
/// error's `code`, `retryable` and `platform_code` (`null` without an error).
pub fn summary(event: &UnifiedOrderEvent) -> Value {
    let result = event.command.as_ref().expect("a command result");
    let error = result.error.as_ref();
    json!({
        "event_type": event.event_type.as_str(),
        "channel": event.source.channel,
        "tenant": event.source.tenant,
        "order": event.order.as_ref().map(|o| o.external_id.clone()),
        "command_id": result.command_id,
        "kind": result.kind.as_str(),
        "attempts": result.attempts,
        "platform_reference": result.platform_reference,
        "code": error.map(|e| e.code.as_str()),
        "retryable": error.map(|e| e.retryable),
        "platform_code": error.and_then(|e| e.platform_code.clone()),
    })
}

/// Runs `command` through `connector` once, as the queue's first and last hand-out, and returns
/// the [`summary`] of its one result and the result's error message.
pub async fn run_once<C: Connector>(
    connector: &C,
    command: &OrderCommand,
) -> (Value, Option<String>) {
    let harness = CommandHarness::new();
    harness
        .run(connector, command, 1, true)
        .await
        .expect("reported");
    let results = harness.results();
    assert_eq!(results.len(), 1, "{results:?}");
    let message = results[0]
        .command
        .as_ref()
        .and_then(|c| c.error.as_ref())
        .and_then(|e| e.message.clone());
    (summary(&results[0]), message)
}

/// Mounts on `server` a catch-all answering `answer` that must never be called: any request
/// fails the test when the server is dropped (wiremock's `expect(0)`).
pub async fn no_call(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(wiremock::matchers::any())
        .respond_with(answer)
        .expect(0)
        .mount(server)
        .await;
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
