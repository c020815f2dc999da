//! `o2o replay`: re-runs quarantined deliveries through the current code.

use std::collections::BTreeMap;

use o2o_core::pipeline::PipelineOptions;
pub use o2o_core::pipeline::ReplaySummary;
use o2o_core::ports::{PortError, QueueName};
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
            let label = format!("message {}", message.seq);
            if !pipeline
                .replay_record(registry, channels, &label, &message.body, &mut summary)
                .await?
            {
                continue;
            }
            store.delete(QueueName::Quarantine, message.seq).await?;
        }
    }
    Ok(summary)
}
