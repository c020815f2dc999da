//! `o2o replay`: the local quarantine as a [`Consumer`], replayed through the current code.

use std::sync::atomic::{AtomicI64, Ordering};

pub use o2o_core::pipeline::ReplaySummary;
use o2o_core::ports::{PortError, QueueName};
use o2o_core::{Channels, Pipeline};
use o2o_edge::{Consumer, Received};

use crate::sqlite::SqliteStore;

/// The quarantine, read once from the start: a kept message is not handed out again in the
/// same run.
pub struct Quarantine {
    store: SqliteStore,
    after: AtomicI64,
}

impl Quarantine {
    /// The quarantine of `store`.
    pub fn new(store: SqliteStore) -> Self {
        Self {
            store,
            after: AtomicI64::new(0),
        }
    }
}

#[async_trait::async_trait]
impl Consumer for Quarantine {
    async fn receive(&self, max: usize) -> Result<Vec<Received>, PortError> {
        let after = self.after.load(Ordering::Relaxed);
        let batch = self.store.read(QueueName::Quarantine, after, max).await?;
        if let Some(last) = batch.last() {
            self.after.store(last.seq, Ordering::Relaxed);
        }
        Ok(batch
            .into_iter()
            .map(|m| Received {
                id: m.seq.to_string(),
                body: m.body,
                attempt: 1,
                sent_at: o2o_core::Timestamp::now(),
            })
            .collect())
    }

    async fn ack(&self, message: &Received) -> Result<(), PortError> {
        let seq = message.id.parse().map_err(|_| {
            PortError::Unreadable(format!("not a local message id: {}", message.id))
        })?;
        Ok(self.store.delete(QueueName::Quarantine, seq).await?)
    }

    /// A delivery that still fails stays where it is.
    async fn retry_later(&self, _: &Received, _: &PortError) -> Result<(), PortError> {
        Ok(())
    }
}

/// Replays every quarantined delivery; those that now succeed leave the quarantine.
pub async fn replay_quarantine(
    store: &SqliteStore,
    channels: &Channels,
) -> Result<ReplaySummary, PortError> {
    let pipeline = Pipeline::new(store, store, Default::default());
    let quarantine = Quarantine::new(store.clone());
    o2o_edge::consume::replay_all(&quarantine, channels, &pipeline, 100, usize::MAX).await
}
