//! Retention: what the file forgets, so it stops growing under steady load.
//!
//! - Idempotency records past their expiration (completed ones after their TTL, 7 days by
//!   default as on AWS, where DynamoDB's TTL deletes them; claims a crash left behind once they
//!   expire) are deleted.
//! - Messages of the unified queue and its dead-letter queue older than the retention period
//!   (14 days by default, the template's `MessageRetentionPeriod`) are deleted, as SQS does.
//!   Acknowledged messages are deleted when they are acknowledged (fifo.rs, retry.rs).
//! - The quarantine and the commands' dead-letter queue are kept until replayed or redriven:
//!   locally they are the only copy.
//!
//! Deletes run in slices of [`SLICE`] rows, each its own write, so deliveries are never held up
//! behind one long transaction. SQLite reuses the freed pages, so the file stops growing.

use std::time::Duration;

use o2o_core::Timestamp;
use o2o_core::ports::QueueName;
use rusqlite::params;

use crate::error::StoreError;
use crate::sqlite::SqliteStore;

/// Rows deleted per write.
pub const SLICE: usize = 2_000;

/// How long things are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Unconsumed messages of the unified queue and its dead-letter queue are kept this long.
    pub messages: Duration,
    /// How often the sweep runs.
    pub every: Duration,
}

impl Default for Retention {
    /// 14 days, swept every minute.
    fn default() -> Self {
        Self {
            messages: Duration::from_secs(14 * 24 * 3600),
            every: Duration::from_secs(60),
        }
    }
}

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Idempotency records.
    pub records: usize,
    /// Messages.
    pub messages: usize,
}

impl SqliteStore {
    /// Deletes what expired by `now` (see the module docs).
    pub async fn sweep(&self, retention: Retention, now: Timestamp) -> Result<Swept, StoreError> {
        let mut swept = Swept::default();
        let now_s = now.unix_seconds();
        loop {
            let deleted = self
                .writer
                .write(false, move |conn| {
                    conn.prepare_cached(
                        "DELETE FROM idempotency WHERE rowid IN
                         (SELECT rowid FROM idempotency WHERE expiration <= ?1 LIMIT ?2)",
                    )?
                    .execute(params![now_s, SLICE as i64])
                })
                .await?;
            swept.records += deleted;
            if deleted < SLICE {
                break;
            }
        }
        let cutoff = now
            .unix_millis()
            .saturating_sub(i64::try_from(retention.messages.as_millis()).unwrap_or(i64::MAX));
        for queue in [QueueName::Unified, QueueName::UnifiedDeadLetter] {
            loop {
                // Oldest first, in file order, stopping at the first message young enough:
                // messages are appended in time order, so this reads only what it deletes.
                let deleted = self
                    .writer
                    .write(false, move |conn| {
                        let old: Vec<i64> = conn
                            .prepare_cached(
                                "SELECT seq, enqueued_at FROM messages WHERE queue = ?1 ORDER BY seq LIMIT ?2",
                            )?
                            .query_map(params![queue.as_str(), SLICE as i64], |row| {
                                Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
                            })?
                            .map(|row| row.map(|(seq, at)| (at < cutoff).then_some(seq)))
                            .take_while(|row| !matches!(row, Ok(None)))
                            .filter_map(Result::transpose)
                            .collect::<Result<_, _>>()?;
                        let mut delete =
                            conn.prepare_cached("DELETE FROM messages WHERE seq = ?1")?;
                        for seq in &old {
                            delete.execute(params![seq])?;
                        }
                        Ok(old.len())
                    })
                    .await?;
                swept.messages += deleted;
                if deleted < SLICE {
                    break;
                }
            }
        }
        Ok(swept)
    }
}

/// Sweeps every `retention.every` until the task is dropped or aborted.
pub async fn run_sweeper(store: SqliteStore, retention: Retention) {
    loop {
        match store.sweep(retention, Timestamp::now()).await {
            Ok(swept) if swept != Swept::default() => tracing::info!(
                records = swept.records,
                messages = swept.messages,
                "retention: deleted what expired"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
        }
        tokio::time::sleep(retention.every).await;
    }
}
