//! The local enrichment worker of `o2o serve`: what the SQS event source and the function's
//! batch handler do on AWS. It takes thin deliveries from the enrichment queue, has the
//! connector fetch the full order from the platform's API (`Pipeline::enrich`), and deletes each
//! one once it is published or quarantined. A transient failure is retried with exponential
//! backoff; after `max_attempts` the delivery goes to the quarantine with the last error (the
//! local stand-in for the enrichment DLQ), so nothing is lost. Attempt counts live in memory: a
//! restart gives every waiting delivery a fresh set of attempts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use o2o_core::Pipeline;
use o2o_core::ports::{PortError, QueueMessage, QueueName, StoredDelivery};
use tokio::time::Instant;

use crate::server::ServerState;
use crate::sqlite::{SqliteStore, StoredMessage};

/// Timing of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrichmentOptions {
    /// How often the queue is looked at.
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

/// Runs until the task is dropped or aborted (an enrichment cut short is redone on the next
/// start; the unified queue's deduplication ids make that harmless).
pub async fn run_enrichment_worker(
    store: SqliteStore,
    state: Arc<ServerState>,
    options: EnrichmentOptions,
) {
    let mut retries: HashMap<i64, (u32, Instant)> = HashMap::new();
    loop {
        tokio::time::sleep(options.poll).await;
        let batch = match store.read(QueueName::Enrichment, 0, 100).await {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(error = %e, "enrichment queue unreadable");
                continue;
            }
        };
        for message in batch {
            if retries
                .get(&message.seq)
                .is_some_and(|(_, next)| Instant::now() < *next)
            {
                continue;
            }
            let done = match enrich(&state, &message).await {
                Ok(()) => true,
                Err(e) => {
                    let (attempts, next) =
                        retries.entry(message.seq).or_insert((0, Instant::now()));
                    *attempts += 1;
                    if *attempts >= options.max_attempts {
                        let error = format!("enrichment failed {attempts} times: {}", e.0);
                        tracing::warn!(seq = message.seq, error = %error, "quarantining");
                        quarantine(&state, &message, error).await.is_ok()
                    } else {
                        let wait = options
                            .first_retry
                            .saturating_mul(1 << (*attempts - 1).min(16))
                            .min(options.max_retry);
                        *next = Instant::now() + wait;
                        tracing::info!(seq = message.seq, attempts = *attempts, error = %e.0, "enrichment will retry");
                        false
                    }
                }
            };
            if done {
                retries.remove(&message.seq);
                if let Err(e) = store.delete(QueueName::Enrichment, message.seq).await {
                    tracing::warn!(seq = message.seq, error = %e, "enrichment message not deleted");
                }
            }
        }
    }
}

/// One delivery through `Pipeline::enrich`; `Err` means "try again later".
async fn enrich(state: &ServerState, message: &StoredMessage) -> Result<(), PortError> {
    let stored: StoredDelivery = serde_json::from_str(&message.body)
        .map_err(|e| PortError(format!("not a stored delivery: {e}")))?;
    let connector = state
        .registry
        .get(&stored.channel)
        .ok_or_else(|| PortError(format!("no connector {}", stored.channel)))?;
    let credentials = state
        .channels
        .get(&stored.channel)
        .and_then(|c| c.credentials(stored.path_tenant.as_deref()))
        .ok_or_else(|| PortError("no credentials for the delivery's tenant".to_owned()))?;
    let pipeline = Pipeline::new(state.store.as_ref(), state.queues.as_ref(), state.options);
    let (outcome, detail) = pipeline.enrich(connector, credentials, &stored).await?;
    tracing::info!(
        channel = stored.channel,
        key = stored.idempotency_key,
        outcome = outcome.as_str(),
        detail = detail.as_deref().unwrap_or(""),
        "enrichment"
    );
    Ok(())
}

/// Moves a delivery that kept failing to the quarantine, with the error when it can be read.
async fn quarantine(
    state: &ServerState,
    message: &StoredMessage,
    error: String,
) -> Result<(), PortError> {
    let body = match serde_json::from_str::<StoredDelivery>(&message.body) {
        Ok(mut stored) => {
            stored.error = Some(error);
            serde_json::to_string(&stored).map_err(|e| PortError(e.to_string()))?
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
    let sent = state
        .queues
        .send(QueueName::Quarantine, vec![quarantined])
        .await;
    if let Err(e) = &sent {
        tracing::warn!(seq = message.seq, error = %e.0, "quarantine failed; will retry");
    }
    sent
}
