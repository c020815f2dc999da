//! `o2o replay`: re-runs quarantined deliveries through the current code.

use std::collections::BTreeMap;

use o2o_core::pipeline::{Outcome, PipelineOptions};
use o2o_core::ports::{PortError, QueueName, StoredDelivery};
use o2o_core::{ChannelConfig, Pipeline, Registry};

use crate::sqlite::SqliteStore;

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Deliveries that now produced unified events (removed from the quarantine).
    pub enqueued: usize,
    /// Deliveries that now went to the enrichment queue (removed).
    pub enrichment: usize,
    /// Deliveries that are now ignored (removed).
    pub ignored: usize,
    /// Deliveries that still fail, with their error (kept).
    pub still_failing: Vec<(String, String)>,
}

/// Replays every quarantined delivery; those that now succeed leave the quarantine.
pub async fn replay_quarantine(
    store: &SqliteStore,
    registry: Registry,
    channels: &BTreeMap<String, ChannelConfig>,
) -> Result<ReplaySummary, PortError> {
    let pipeline = Pipeline::new(store, store, PipelineOptions::default());
    let mut summary = ReplaySummary::default();
    let mut after = 0;
    loop {
        let batch = store.read(QueueName::Quarantine, after, 100).await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for message in batch {
            let stored: StoredDelivery = match serde_json::from_str(&message.body) {
                Ok(stored) => stored,
                Err(e) => {
                    summary.still_failing.push((
                        format!("message {}", message.seq),
                        format!("unreadable quarantine record: {e}"),
                    ));
                    continue;
                }
            };
            let connector = registry.get(&stored.channel);
            let credentials = channels
                .get(&stored.channel)
                .and_then(|c| c.credentials(stored.path_tenant.as_deref()));
            let (Some(connector), Some(credentials)) = (connector, credentials) else {
                summary.still_failing.push((
                    stored.idempotency_key,
                    "channel or tenant no longer configured".into(),
                ));
                continue;
            };
            match pipeline.reprocess(connector, credentials, &stored).await? {
                (Outcome::Quarantined, error) => {
                    summary
                        .still_failing
                        .push((stored.idempotency_key, error.unwrap_or_default()));
                    continue;
                }
                (Outcome::Enqueued(_), _) => summary.enqueued += 1,
                (Outcome::Enrichment, _) => summary.enrichment += 1,
                _ => summary.ignored += 1,
            }
            store.delete(QueueName::Quarantine, message.seq).await?;
        }
    }
    Ok(summary)
}
