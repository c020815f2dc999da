//! A local queue as a [`Consumer`] for `o2o serve`, with what the SQS event source and its
//! redrive policy do on AWS: a message that fails is handed out again after an exponential
//! backoff, and after `max_attempts` it moves aside, so nothing is lost:
//!
//! - the enrichment queue's deliveries go to the quarantine with the last error (the local
//!   stand-in for the enrichment DLQ), where `o2o replay` finds them;
//! - the commands queue's commands go to `commands-dlq` (`o2o queue commands-dlq`), after
//!   their `command.failed` is published.
//!
//! The commands queue keeps order per message group as SQS FIFO does: while a command of an
//! order waits for its retry, the order's later commands wait too. Attempt counts live in
//! memory: a restart gives every waiting message a fresh set of attempts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use o2o_core::ports::{PortError, QueueMessage, QueueName, Queues, StoredDelivery};
use o2o_edge::{Consumer, Edge, Received};
use tokio::time::Instant;

use crate::sqlite::SqliteStore;

/// Timing of the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOptions {
    /// How often an empty queue is looked at.
    pub poll: Duration,
    /// Wait before the first retry; doubled after each failure.
    pub first_retry: Duration,
    /// Longest wait between retries.
    pub max_retry: Duration,
    /// Attempts before the message moves aside.
    pub max_attempts: u32,
}

impl Default for RetryOptions {
    /// Polls every 500 ms; retries after 2 s, 4 s … up to 5 min; 8 attempts (about 6 minutes).
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(300),
            max_attempts: 8,
        }
    }
}

impl RetryOptions {
    /// For commands: polls every 250 ms; retries after 2 s, 4 s … up to 60 s; 6 attempts (about
    /// a minute), as platforms' answer windows are minutes long.
    pub fn commands() -> Self {
        Self {
            poll: Duration::from_millis(250),
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(60),
            max_attempts: 6,
        }
    }
}

/// A SQLite queue with in-memory retry bookkeeping.
pub struct RetryQueue {
    store: SqliteStore,
    queue: QueueName,
    dead_letter: QueueName,
    aside: Arc<dyn Queues>,
    /// Timing.
    pub options: RetryOptions,
    /// Attempts so far and the earliest next attempt, by sequence number.
    retries: Mutex<HashMap<i64, (u32, Instant)>>,
}

impl RetryQueue {
    /// The enrichment queue of `store`; deliveries that keep failing go to `quarantine`.
    pub fn enrichment(
        store: SqliteStore,
        quarantine: Arc<dyn Queues>,
        options: RetryOptions,
    ) -> Self {
        Self {
            store,
            queue: QueueName::Enrichment,
            dead_letter: QueueName::Quarantine,
            aside: quarantine,
            options,
            retries: Mutex::new(HashMap::new()),
        }
    }

    /// The commands queue of `store`; commands that keep failing go to its `commands-dlq`.
    pub fn commands(store: SqliteStore, options: RetryOptions) -> Self {
        Self {
            aside: Arc::new(store.clone()),
            store,
            queue: QueueName::Commands,
            dead_letter: QueueName::CommandsDeadLetter,
            options,
            retries: Mutex::new(HashMap::new()),
        }
    }

    fn retries(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (u32, Instant)>> {
        self.retries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn remove(&self, seq: i64) -> Result<(), PortError> {
        self.retries().remove(&seq);
        Ok(self.store.delete(self.queue, seq).await?)
    }
}

fn seq(message: &Received) -> Result<i64, PortError> {
    message
        .id
        .parse()
        .map_err(|_| PortError::Unreadable(format!("not a local message id: {}", message.id)))
}

#[async_trait::async_trait]
impl Consumer for RetryQueue {
    async fn receive(&self, max: usize) -> Result<Vec<Received>, PortError> {
        // Look further than `max`: messages waiting for a retry do not hide the ones behind them.
        let batch = self
            .store
            .read(self.queue, 0, max.saturating_mul(10))
            .await?;
        let now = Instant::now();
        let retries = self.retries();
        // One message per group per batch, and none of a group whose earlier message waits for
        // its retry (FIFO order per group); messages without a group are independent.
        let mut seen_groups = std::collections::HashSet::new();
        let mut ready = Vec::new();
        for m in batch {
            if ready.len() == max {
                break;
            }
            let waiting = retries.get(&m.seq).is_some_and(|(_, next)| *next > now);
            let first_of_group = m
                .group_id
                .as_ref()
                .is_none_or(|g| seen_groups.insert(g.clone()));
            if waiting || !first_of_group {
                continue;
            }
            let attempt = retries.get(&m.seq).map_or(1, |(attempts, _)| attempts + 1);
            ready.push(Received {
                id: m.seq.to_string(),
                body: m.body,
                attempt,
                sent_at: m.enqueued_at,
            });
        }
        Ok(ready)
    }

    async fn ack(&self, message: &Received) -> Result<(), PortError> {
        self.remove(seq(message)?).await
    }

    async fn retry_later(&self, message: &Received, error: &PortError) -> Result<(), PortError> {
        let seq = seq(message)?;
        let attempts = {
            let mut retries = self.retries();
            let (attempts, next) = retries.entry(seq).or_insert((0, Instant::now()));
            *attempts += 1;
            let wait = self
                .options
                .first_retry
                .saturating_mul(1 << (*attempts - 1).min(16))
                .min(self.options.max_retry);
            *next = Instant::now() + wait;
            *attempts
        };
        if attempts < self.options.max_attempts {
            return Ok(());
        }
        let error = format!("{} failed {attempts} times: {error}", self.queue.as_str());
        tracing::warn!(seq, error = %error, to = self.dead_letter.as_str(), "moving aside");
        let body = match serde_json::from_str::<StoredDelivery>(&message.body) {
            Ok(mut stored) if self.dead_letter == QueueName::Quarantine => {
                stored.error = Some(error);
                serde_json::to_string(&stored).map_err(|e| PortError::Unreadable(e.to_string()))?
            }
            // A command, or an unreadable delivery: kept as it is (`o2o replay` reports the
            // latter and leaves it in place).
            _ => message.body.clone(),
        };
        let aside = QueueMessage {
            body,
            group_id: None,
            dedup_id: None,
            attributes: Vec::new(),
        };
        self.aside.send(self.dead_letter, vec![aside]).await?;
        self.remove(seq).await
    }
}

/// Runs the enrichment consumer until the task is dropped or aborted (an enrichment cut short is
/// redone on the next start; the unified queue's deduplication ids make that harmless).
pub async fn run_enrichment_worker(queue: RetryQueue, edge: Arc<Edge>) {
    let pipeline = edge.pipeline(edge.options);
    loop {
        match o2o_edge::consume::enrich_batch(&queue, &edge.channels, &pipeline, 100).await {
            Ok(summary) if summary.received > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "enrichment queue unreadable"),
        }
        tokio::time::sleep(queue.options.poll).await;
    }
}

/// Runs the commands consumer until the task is dropped or aborted (a command cut short is
/// claimed `INPROGRESS` and taken again once its claim expires).
pub async fn run_command_worker(queue: RetryQueue, edge: Arc<Edge>) {
    let pipeline = edge.pipeline(edge.options);
    let max_attempts = queue.options.max_attempts;
    loop {
        match o2o_edge::consume::command_batch(&queue, &edge.channels, &pipeline, 10, max_attempts)
            .await
        {
            Ok(summary) if summary.received > summary.retried => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "commands queue unreadable"),
        }
        tokio::time::sleep(queue.options.poll).await;
    }
}
