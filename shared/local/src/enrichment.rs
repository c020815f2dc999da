//! The local enrichment queue as a [`Consumer`] for `o2o serve`: what the SQS event source and
//! its redrive policy do on AWS. A message that fails is handed out again after an exponential
//! backoff; after `max_attempts` it moves to the quarantine with the last error (the local
//! stand-in for the enrichment DLQ), so nothing is lost. Attempt counts live in memory: a
//! restart gives every waiting delivery a fresh set of attempts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use o2o_core::ports::{PortError, QueueMessage, QueueName, Queues, StoredDelivery};
use o2o_edge::{Consumer, Edge, Received};
use tokio::time::Instant;

use crate::sqlite::SqliteStore;

/// Timing of the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrichmentOptions {
    /// How often an empty queue is looked at.
    pub poll: Duration,
    /// Wait before the first retry; doubled after each failure.
    pub first_retry: Duration,
    /// Longest wait between retries.
    pub max_retry: Duration,
    /// Attempts before the delivery is quarantined.
    pub max_attempts: u32,
}

impl Default for EnrichmentOptions {
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

/// The SQLite enrichment queue with in-memory retry bookkeeping.
pub struct EnrichmentQueue {
    store: SqliteStore,
    quarantine: Arc<dyn Queues>,
    options: EnrichmentOptions,
    /// Attempts so far and the earliest next attempt, by sequence number.
    retries: Mutex<HashMap<i64, (u32, Instant)>>,
}

impl EnrichmentQueue {
    /// The enrichment queue of `store`; deliveries that keep failing go to `quarantine`.
    pub fn new(
        store: SqliteStore,
        quarantine: Arc<dyn Queues>,
        options: EnrichmentOptions,
    ) -> Self {
        Self {
            store,
            quarantine,
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
        Ok(self.store.delete(QueueName::Enrichment, seq).await?)
    }
}

fn seq(message: &Received) -> Result<i64, PortError> {
    message
        .id
        .parse()
        .map_err(|_| PortError::Unreadable(format!("not a local message id: {}", message.id)))
}

#[async_trait::async_trait]
impl Consumer for EnrichmentQueue {
    async fn receive(&self, max: usize) -> Result<Vec<Received>, PortError> {
        let batch = self.store.read(QueueName::Enrichment, 0, max).await?;
        let now = Instant::now();
        let retries = self.retries();
        Ok(batch
            .into_iter()
            .filter(|m| retries.get(&m.seq).is_none_or(|(_, next)| *next <= now))
            .map(|m| Received {
                id: m.seq.to_string(),
                body: m.body,
            })
            .collect())
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
        let error = format!("enrichment failed {attempts} times: {error}");
        tracing::warn!(seq, error = %error, "quarantining");
        let body = match serde_json::from_str::<StoredDelivery>(&message.body) {
            Ok(mut stored) => {
                stored.error = Some(error);
                serde_json::to_string(&stored).map_err(|e| PortError::Unreadable(e.to_string()))?
            }
            // Unreadable: kept as it is; `o2o replay` reports it and leaves it in place.
            Err(_) => message.body.clone(),
        };
        let quarantined = QueueMessage {
            body,
            group_id: None,
            dedup_id: None,
            attributes: Vec::new(),
        };
        self.quarantine
            .send(QueueName::Quarantine, vec![quarantined])
            .await?;
        self.remove(seq).await
    }
}

/// Runs the enrichment consumer until the task is dropped or aborted (an enrichment cut short is
/// redone on the next start; the unified queue's deduplication ids make that harmless).
pub async fn run_enrichment_worker(queue: EnrichmentQueue, edge: Arc<Edge>) {
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
