//! `o2o replay`: re-runs quarantined deliveries through the current code.

use std::collections::BTreeMap;

use o2o_core::pipeline::PipelineOptions;
pub use o2o_core::pipeline::ReplaySummary;
use o2o_core::ports::{PortError, QueueName, StoredDelivery};
use o2o_core::{ChannelConfig, Pipeline, Registry};

use crate::sqlite::SqliteStore;

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
            let outcome = pipeline.reprocess(connector, credentials, &stored).await?;
            if !summary.count(&stored.idempotency_key, outcome) {
                continue;
            }
            store.delete(QueueName::Quarantine, message.seq).await?;
        }
    }
    Ok(summary)
}
