//! SQLite implementations of the idempotency store and the queues, in one file (WAL mode, so
//! `o2o queue --follow` and `o2o replay` can read while `o2o serve` writes). Writes go through
//! the group-commit [`Writer`]: concurrent deliveries share transactions and syncs.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use o2o_core::ports::{
    Claim, ClaimOutcome, IdempotencyStore, PortError, QueueMessage, QueueName, Queues,
};
use o2o_core::{IdempotencyKey, Reply, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

pub use crate::error::StoreError;
use crate::writer::{Writer, WriterStats};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS idempotency (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,                 -- INPROGRESS | COMPLETED
    expiration INTEGER NOT NULL,          -- unix seconds: the record may be forgotten after this
    in_progress_expiration INTEGER,       -- unix milliseconds: an INPROGRESS claim may be retaken after this
    payload_hash TEXT NOT NULL,
    ack TEXT                              -- the stored acknowledgement (JSON), once COMPLETED
);
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    group_id TEXT,
    dedup_id TEXT,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    enqueued_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_dedup ON messages (queue, dedup_id) WHERE dedup_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_queue ON messages (queue, seq);
CREATE INDEX IF NOT EXISTS idempotency_expiration ON idempotency (expiration);
";

/// Columns added after the first release (fifo.rs), with their definitions: added to an older
/// file when it is opened.
const ADDED_COLUMNS: [(&str, &str); 3] = [
    ("receive_count", "INTEGER NOT NULL DEFAULT 0"),
    ("visible_at", "INTEGER NOT NULL DEFAULT 0"), // unix milliseconds: in flight until then
    ("first_received_at", "INTEGER"),             // unix milliseconds
];

/// One message read back from a local queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Position in the file; increases with every message.
    pub seq: i64,
    /// FIFO group, for the unified queue.
    pub group_id: Option<String>,
    /// The JSON body.
    pub body: String,
    /// When it was enqueued.
    pub enqueued_at: Timestamp,
}

/// The embedded store: one SQLite file holding idempotency records and the queues.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    pub(crate) writer: Writer,
    stats: Arc<Mutex<WriterStats>>,
    /// Woken by every committed send (long polls wait on it).
    pub(crate) sent: Arc<tokio::sync::Notify>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        // Other processes (o2o queue, o2o replay) may hold the lock briefly: wait, don't fail.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // A WAL keeps the size of its largest burst (a long reader holding off its restart)
        // unless told otherwise: cut it back to 64 MiB when it restarts.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        // FULL until the writer says otherwise: it syncs each batch that holds a completion (an
        // acknowledgement follows) and lets the others commit unsynced (writer.rs).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        add_missing_columns(&conn)?;
        let conn = Arc::new(Mutex::new(conn));
        let stats = Arc::new(Mutex::new(WriterStats::default()));
        Ok(Self {
            writer: Writer::start(Arc::clone(&conn), Arc::clone(&stats))?,
            conn,
            stats,
            sent: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Deletes every `INPROGRESS` claim: called when `o2o serve` starts on the file, before it
    /// takes requests, so the claims of deliveries that a crashed run never acknowledged do not
    /// answer the platform's retries 409 until they expire. Only one `o2o serve` uses a file.
    /// Returns how many there were.
    pub async fn release_orphaned_claims(&self) -> Result<usize, StoreError> {
        self.writer
            .write(true, |conn| {
                conn.execute("DELETE FROM idempotency WHERE status = 'INPROGRESS'", [])
            })
            .await
    }

    /// Copies the WAL into the database file and truncates it: called when `o2o serve` stops,
    /// so the file it leaves is whole (a WAL left behind is harmless too: the next open applies
    /// it).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
            .await
    }

    /// What the group-commit writer has done so far.
    pub fn writer_stats(&self) -> WriterStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Runs `f` on the connection in a blocking task (SQLite calls block).
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Task("connection lock poisoned".into()))?;
            f(&mut guard).map_err(StoreError::from)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Messages of `queue` after `after_seq`, oldest first, at most `limit`.
    pub async fn read(
        &self,
        queue: QueueName,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached("SELECT seq, group_id, body, enqueued_at FROM messages WHERE queue = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")?;
            let rows = stmt.query_map(params![queue.as_str(), after_seq, limit as i64], |row| {
                let millis: i64 = row.get(3)?;
                let enqueued_at = Timestamp::from_unix_seconds(millis.div_euclid(1000)).unwrap_or_else(|_| Timestamp::now());
                Ok(StoredMessage { seq: row.get(0)?, group_id: row.get(1)?, body: row.get(2)?, enqueued_at })
            })?;
            rows.collect()
        })
        .await
    }

    /// Removes a message (after a successful replay).
    pub async fn delete(&self, queue: QueueName, seq: i64) -> Result<(), StoreError> {
        self.writer
            .write(false, move |conn| {
                conn.execute(
                    "DELETE FROM messages WHERE queue = ?1 AND seq = ?2",
                    params![queue.as_str(), seq],
                )
                .map(drop)
            })
            .await
    }
}

/// Brings a file made by an older release up to this schema.
fn add_missing_columns(conn: &Connection) -> Result<(), rusqlite::Error> {
    let existing: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('messages')")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for (name, definition) in ADDED_COLUMNS {
        if !existing.iter().any(|c| c == name) {
            conn.execute_batch(&format!(
                "ALTER TABLE messages ADD COLUMN {name} {definition}"
            ))?;
        }
    }
    Ok(())
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        let claim = claim.clone();
        // Not synced: a claim lost in a crash was never acknowledged; the retry claims again.
        let outcome = self
            .writer
            .write(false, move |tx| {
                let existing = tx
                    .query_row(
                        "SELECT status, expiration, in_progress_expiration, payload_hash, ack FROM idempotency WHERE id = ?1",
                        params![claim.key.as_str()],
                        |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, Option<i64>>(2)?, row.get::<_, String>(3)?, row.get::<_, Option<String>>(4)?)),
                    )
                    .optional()?;
                let now_s = claim.now.unix_seconds();
                let now_ms = claim.now.unix_millis();
                let outcome = match existing {
                    Some((status, expiration, _, hash, Some(ack))) if status == "COMPLETED" && expiration > now_s => {
                        match serde_json::from_str::<Reply>(&ack) {
                            Ok(ack) => Some(ClaimOutcome::Completed { ack, payload_hash: hash }),
                            Err(_) => None, // an unreadable record is retaken
                        }
                    }
                    Some((status, expiration, Some(until), _, _)) if status == "INPROGRESS" && until > now_ms && expiration > now_s => {
                        Some(ClaimOutcome::InProgress)
                    }
                    _ => None,
                };
                if let Some(outcome) = outcome {
                    return Ok(outcome);
                }
                tx.execute(
                    "INSERT OR REPLACE INTO idempotency (id, status, expiration, in_progress_expiration, payload_hash, ack)
                     VALUES (?1, 'INPROGRESS', ?2, ?3, ?4, NULL)",
                    params![claim.key.as_str(), claim.expires_at.unix_seconds(), claim.in_progress_until.unix_millis(), claim.payload_hash],
                )?;
                Ok(ClaimOutcome::Claimed)
            })
            .await?;
        Ok(outcome)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
    ) -> Result<(), PortError> {
        self.complete_synced(key, ack, expires_at, true).await
    }

    async fn complete_before(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
    ) -> Result<(), PortError> {
        // The delivery's own completion follows at once, synced: it makes this one durable.
        self.complete_synced(key, ack, expires_at, false).await
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        let key = key.as_str().to_owned();
        self.writer
            .write(false, move |conn| {
                conn.execute(
                    "DELETE FROM idempotency WHERE id = ?1 AND status = 'INPROGRESS'",
                    params![key],
                )
                .map(drop)
            })
            .await?;
        Ok(())
    }
}

impl SqliteStore {
    async fn complete_synced(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
        synced: bool,
    ) -> Result<(), PortError> {
        let key = key.as_str().to_owned();
        let ack = serde_json::to_string(ack).map_err(|e| PortError::backend("sqlite", e))?;
        // Synced: the platform is acknowledged next, so this and every write before it must be
        // on disk.
        self.writer.write(synced, move |conn| {
            conn.execute(
                "UPDATE idempotency SET status = 'COMPLETED', ack = ?2, expiration = ?3, in_progress_expiration = NULL WHERE id = ?1",
                params![key, ack, expires_at.unix_seconds()],
            )
            .map(drop)
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Queues for SqliteStore {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        let now = Timestamp::now().unix_millis();
        // A command is answered 202 next: synced. Other messages are acknowledged through the
        // completion that follows them, which is synced.
        let durable = queue == QueueName::Commands;
        self.writer.write(durable, move |tx| {
            {
                // Like SQS FIFO, a message whose dedup id was already sent is dropped.
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO messages (queue, group_id, dedup_id, body, attributes, enqueued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for m in &messages {
                    let attributes: serde_json::Map<String, serde_json::Value> =
                        m.attributes.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone()))).collect();
                    let attributes = serde_json::Value::Object(attributes).to_string();
                    insert.execute(params![queue.as_str(), m.group_id, m.dedup_id, m.body, attributes, now])?;
                }
            }
            Ok(())
        })
        .await?;
        self.sent.notify_waiters();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(key: &str, now: i64) -> Claim {
        let now = Timestamp::from_unix_seconds(now).expect("ts");
        Claim {
            key: IdempotencyKey::from_stored(key.into()),
            payload_hash: "h".into(),
            now,
            in_progress_until: now.plus_seconds(60),
            expires_at: now.plus_seconds(3600),
        }
    }

    #[tokio::test]
    async fn claims_follow_powertools_semantics() {
        let store = SqliteStore::in_memory().expect("db");
        assert_eq!(
            store.claim(&claim("k", 1000)).await,
            Ok(ClaimOutcome::Claimed)
        );
        assert_eq!(
            store.claim(&claim("k", 1010)).await,
            Ok(ClaimOutcome::InProgress)
        );
        // An expired in-progress claim may be retaken.
        assert_eq!(
            store.claim(&claim("k", 1061)).await,
            Ok(ClaimOutcome::Claimed)
        );
        let ack = Reply::text(200, "success");
        store
            .complete(
                &IdempotencyKey::from_stored("k".into()),
                &ack,
                Timestamp::from_unix_seconds(5000).expect("ts"),
            )
            .await
            .expect("complete");
        assert_eq!(
            store.claim(&claim("k", 1100)).await,
            Ok(ClaimOutcome::Completed {
                ack,
                payload_hash: "h".into()
            })
        );
        // Release only removes in-progress claims; a completed one stays.
        store
            .release(&IdempotencyKey::from_stored("k".into()))
            .await
            .expect("release");
        assert!(matches!(
            store.claim(&claim("k", 1100)).await,
            Ok(ClaimOutcome::Completed { .. })
        ));
        // After its TTL the completed record is forgotten.
        assert_eq!(
            store.claim(&claim("k", 5001)).await,
            Ok(ClaimOutcome::Claimed)
        );
        store
            .release(&IdempotencyKey::from_stored("k".into()))
            .await
            .expect("release");
        assert_eq!(
            store.claim(&claim("k", 5002)).await,
            Ok(ClaimOutcome::Claimed)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_transactions_and_a_failed_one_undoes_only_itself() {
        let store = SqliteStore::in_memory().expect("db");
        let message = |i: usize| QueueMessage {
            body: format!("m{i}"),
            group_id: None,
            dedup_id: Some(format!("d{i}")),
            attributes: vec![],
        };
        // Hold the connection (in another thread) while 50 writes queue up, and one that fails
        // among them.
        let conn = Arc::clone(&store.conn);
        let (locked, is_locked) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let _guard = conn.lock().expect("lock");
            locked.send(()).expect("signal");
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
        is_locked.recv().expect("locked");
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..50 {
            let store = store.clone();
            writes.spawn(async move { store.send(QueueName::Unified, vec![message(i)]).await });
        }
        let failing = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .writer
                    .write(false, |conn| {
                        conn.execute("INSERT INTO no_such_table VALUES (1)", [])
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || holder.join().expect("holder"))
            .await
            .expect("joined");
        while let Some(sent) = writes.join_next().await {
            sent.expect("joined").expect("sent");
        }
        assert!(
            failing.await.expect("joined").is_err(),
            "the bad write fails"
        );
        let queued = store.read(QueueName::Unified, 0, 100).await.expect("read");
        assert_eq!(queued.len(), 50, "the others in its batch are kept");
        let stats = store.writer_stats();
        assert_eq!(stats.writes, 51);
        assert!(
            stats.batches <= 4,
            "51 writes in {} transactions",
            stats.batches
        );
        assert_eq!(stats.synced, 0, "no completion or command: nothing synced");
        store
            .complete(
                &IdempotencyKey::from_stored("k".into()),
                &Reply::text(200, "ok"),
                Timestamp::from_unix_seconds(5000).expect("ts"),
            )
            .await
            .expect("complete");
        assert_eq!(store.writer_stats().synced, 1, "a completion is synced");
    }

    #[tokio::test]
    async fn queues_drop_duplicate_dedup_ids_and_keep_order() {
        let store = SqliteStore::in_memory().expect("db");
        let message = |body: &str, dedup: &str| QueueMessage {
            body: body.into(),
            group_id: Some("g".into()),
            dedup_id: Some(dedup.into()),
            attributes: vec![],
        };
        store
            .send(
                QueueName::Unified,
                vec![message("a", "1"), message("b", "2")],
            )
            .await
            .expect("send");
        store
            .send(QueueName::Unified, vec![message("a again", "1")])
            .await
            .expect("send");
        store
            .send(QueueName::Quarantine, vec![message("q", "1")])
            .await
            .expect("send");
        let unified = store.read(QueueName::Unified, 0, 10).await.expect("read");
        assert_eq!(
            unified.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let after = store
            .read(QueueName::Unified, unified[0].seq, 10)
            .await
            .expect("read");
        assert_eq!(after.len(), 1);
        let quarantine = store
            .read(QueueName::Quarantine, 0, 10)
            .await
            .expect("read");
        store
            .delete(QueueName::Quarantine, quarantine[0].seq)
            .await
            .expect("delete");
        assert!(
            store
                .read(QueueName::Quarantine, 0, 10)
                .await
                .expect("read")
                .is_empty()
        );
    }
}
