//! SQS FIFO's consumer semantics on the SQLite queues, for the order system's consumer (the SQS
//! API of `o2o serve`) and for the push to the order system:
//!
//! - a received message is in flight until its visibility timeout passes, then it is handed out
//!   again; deleting it with its receipt handle acknowledges it;
//! - within a message group nothing is handed out while an earlier message is in flight, so a
//!   group's messages are processed in order (one receive may return several of one group, in
//!   order, as SQS does);
//! - a message received `max_receives` times without being deleted moves to the queue's
//!   dead-letter queue on the next receive (SQS's redrive policy), from where `redrive` moves
//!   it back.
//!
//! A receipt handle is `{seq}.{receive_count}`: only the latest receive's handle is valid, as on
//! a FIFO queue. Receives and deletes are not synced to disk: a crash at worst hands a message
//! out once more, which at-least-once consumers (and SQS) already allow.

use std::collections::HashSet;
use std::time::Duration;

use o2o_core::Timestamp;
use o2o_core::ports::QueueName;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::StoreError;
use crate::sqlite::SqliteStore;

/// Rows looked at per page, and pages at most, when a receive searches past in-flight groups.
const PAGE: i64 = 256;
const MAX_PAGES: usize = 16;

/// How a receive behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveOptions {
    /// Messages at most (SQS: 1 to 10).
    pub max: usize,
    /// How long the received messages stay hidden.
    pub visibility: Duration,
    /// Receives before a message moves to the dead-letter queue instead.
    pub max_receives: u32,
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leased {
    /// Position in the file.
    pub seq: i64,
    /// Stable for the message's life (a UUID derived from its position and time).
    pub message_id: String,
    /// Deletes or changes the visibility of this receive.
    pub receipt: String,
    /// The JSON body.
    pub body: String,
    /// FIFO group.
    pub group_id: Option<String>,
    /// FIFO deduplication id.
    pub dedup_id: Option<String>,
    /// Message attributes (all string-valued), sorted by name.
    pub attributes: Vec<(String, String)>,
    /// Receives so far, this one included.
    pub receive_count: u32,
    /// When it was sent, Unix milliseconds.
    pub sent_at_ms: i64,
    /// When it was first received, Unix milliseconds.
    pub first_received_ms: i64,
}

/// Why a delete or visibility change was refused.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Not a handle this store gave out, or one a later receive replaced.
    #[error("the receipt handle is not valid (malformed, or a later receive replaced it)")]
    ReceiptInvalid,
    /// The message is not in flight (its visibility timeout has passed).
    #[error("the message is not in flight")]
    NotInFlight,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a receipt handle: the message's position and its receive count.
fn parse_receipt(receipt: &str) -> Option<(i64, u32)> {
    let (seq, count) = receipt.split_once('.')?;
    Some((seq.parse().ok()?, count.parse().ok()?))
}

fn now_ms() -> i64 {
    Timestamp::now().unix_millis()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2)
}

/// A message's id: the same on every receive, different for every message of the file.
fn message_id(seq: i64, enqueued_at: i64) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("o2o-local:{seq}:{enqueued_at}").as_bytes(),
    )
    .to_string()
}

fn attributes(json: &str) -> Vec<(String, String)> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).unwrap_or_default();
    let mut attributes: Vec<(String, String)> = map
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
        .collect();
    attributes.sort();
    attributes
}

/// One row as a receive looks at it.
struct Row {
    seq: i64,
    group_id: Option<String>,
    dedup_id: Option<String>,
    body: String,
    attributes: String,
    enqueued_at: i64,
    receive_count: u32,
    visible_at: i64,
    first_received_at: Option<i64>,
}

/// The receive itself, in the writer's transaction.
fn receive_in(
    conn: &Connection,
    queue: QueueName,
    options: ReceiveOptions,
    now: i64,
) -> Result<Vec<Leased>, rusqlite::Error> {
    let dead_letter = queue.dead_letter();
    let mut blocked: HashSet<String> = HashSet::new();
    let mut taken = Vec::new();
    let mut after = 0;
    let mut select = conn.prepare_cached(
        "SELECT seq, group_id, dedup_id, body, attributes, enqueued_at, receive_count, visible_at, first_received_at
         FROM messages WHERE queue = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    'pages: for _ in 0..MAX_PAGES {
        let rows: Vec<Row> = select
            .query_map(params![queue.as_str(), after, PAGE], |row| {
                Ok(Row {
                    seq: row.get(0)?,
                    group_id: row.get(1)?,
                    dedup_id: row.get(2)?,
                    body: row.get(3)?,
                    attributes: row.get(4)?,
                    enqueued_at: row.get(5)?,
                    receive_count: row.get(6)?,
                    visible_at: row.get(7)?,
                    first_received_at: row.get(8)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        let full_page = rows.len() as i64 == PAGE;
        for row in rows {
            if row.group_id.as_ref().is_some_and(|g| blocked.contains(g)) {
                continue;
            }
            if row.visible_at > now {
                // In flight: its group waits for it.
                if let Some(group) = row.group_id {
                    blocked.insert(group);
                }
                continue;
            }
            if row.receive_count >= options.max_receives
                && let Some(dead_letter) = dead_letter
            {
                // Received too often: to the dead-letter queue (a message there with the
                // same deduplication id is this one from an earlier round, and is replaced).
                conn.prepare_cached(
                        "UPDATE OR REPLACE messages SET queue = ?2, receive_count = 0, visible_at = 0, first_received_at = NULL WHERE seq = ?1",
                    )?
                    .execute(params![row.seq, dead_letter.as_str()])?;
                tracing::warn!(
                    seq = row.seq,
                    receives = row.receive_count,
                    to = dead_letter.as_str(),
                    "moved to the dead-letter queue"
                );
                continue;
            }
            let receive_count = row.receive_count + 1;
            let first_received_ms = row.first_received_at.unwrap_or(now);
            conn.prepare_cached(
                "UPDATE messages SET receive_count = ?2, visible_at = ?3, first_received_at = ?4 WHERE seq = ?1",
            )?
            .execute(params![
                row.seq,
                receive_count,
                now.saturating_add(millis(options.visibility)),
                first_received_ms
            ])?;
            taken.push(Leased {
                message_id: message_id(row.seq, row.enqueued_at),
                receipt: format!("{}.{receive_count}", row.seq),
                seq: row.seq,
                body: row.body,
                group_id: row.group_id,
                dedup_id: row.dedup_id,
                attributes: attributes(&row.attributes),
                receive_count,
                sent_at_ms: row.enqueued_at,
                first_received_ms,
            });
            if taken.len() >= options.max {
                break 'pages;
            }
        }
        if !full_page {
            break;
        }
    }
    Ok(taken)
}

/// Finds the message a receipt names, if it is still on `queue`: `None` when it is gone (deleted
/// already, or moved to the dead-letter queue), an error when the handle is not the latest.
fn leased_row(
    conn: &Connection,
    queue: QueueName,
    receipt: &str,
) -> Result<Result<Option<(i64, i64)>, LeaseError>, rusqlite::Error> {
    let Some((seq, count)) = parse_receipt(receipt) else {
        return Ok(Err(LeaseError::ReceiptInvalid));
    };
    let row = conn
        .prepare_cached("SELECT queue, receive_count, visible_at FROM messages WHERE seq = ?1")?
        .query_row(params![seq], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    Ok(match row {
        Some((on, _, _)) if on != queue.as_str() => Ok(None),
        Some((_, received, visible_at)) if received == count && count > 0 => {
            Ok(Some((seq, visible_at)))
        }
        Some(_) => Err(LeaseError::ReceiptInvalid),
        None => Ok(None),
    })
}

impl SqliteStore {
    /// Receives up to `options.max` messages of `queue` (see the module docs); empty when none
    /// is ready.
    pub async fn receive(
        &self,
        queue: QueueName,
        options: ReceiveOptions,
    ) -> Result<Vec<Leased>, StoreError> {
        let now = now_ms();
        self.writer
            .write(false, move |conn| receive_in(conn, queue, options, now))
            .await
    }

    /// Like [`receive`](Self::receive), but waits up to `wait` for a message to be ready (SQS's
    /// long poll): woken by every send, and looking again at least every 250 ms for visibility
    /// timeouts that passed.
    pub async fn receive_waiting(
        &self,
        queue: QueueName,
        options: ReceiveOptions,
        wait: Duration,
    ) -> Result<Vec<Leased>, StoreError> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let sent = self.sent.notified();
            tokio::pin!(sent);
            sent.as_mut().enable();
            let received = self.receive(queue, options).await?;
            let now = tokio::time::Instant::now();
            if !received.is_empty() || now >= until {
                return Ok(received);
            }
            let next = until.min(now + Duration::from_millis(250));
            let _ = tokio::time::timeout_at(next, sent).await;
        }
    }

    /// Deletes a received message: acknowledged. A message already deleted (or moved to the
    /// dead-letter queue) is not an error, as on SQS; a stale or made-up handle is.
    pub async fn delete_received(&self, queue: QueueName, receipt: &str) -> Result<(), LeaseError> {
        let receipt = receipt.to_owned();
        self.writer
            .write(false, move |conn| {
                Ok(match leased_row(conn, queue, &receipt)? {
                    Ok(Some((seq, _))) => conn
                        .prepare_cached("DELETE FROM messages WHERE seq = ?1")?
                        .execute(params![seq])
                        .map(|_| Ok(()))?,
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                })
            })
            .await?
    }

    /// Sets how long a message in flight stays hidden, from now (0: it is handed out again at
    /// once).
    pub async fn change_visibility(
        &self,
        queue: QueueName,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), LeaseError> {
        let receipt = receipt.to_owned();
        let now = now_ms();
        self.writer
            .write(false, move |conn| {
                Ok(match leased_row(conn, queue, &receipt)? {
                    Ok(Some((seq, visible_at))) if visible_at > now => conn
                        .prepare_cached("UPDATE messages SET visible_at = ?2 WHERE seq = ?1")?
                        .execute(params![seq, now.saturating_add(millis(timeout))])
                        .map(|_| Ok(()))?,
                    Ok(_) => Err(LeaseError::NotInFlight),
                    Err(e) => Err(e),
                })
            })
            .await?
    }

    /// Moves every message of a dead-letter queue back to the end of the queue it came from,
    /// in order, with fresh receive counts; returns how many moved.
    pub async fn redrive(&self, dead_letter: QueueName) -> Result<usize, StoreError> {
        let Some(target) = dead_letter.redrive_target() else {
            return Ok(0);
        };
        self.writer
            .write(true, move |conn| {
                // A message whose deduplication id is back on the queue already is that one.
                conn.execute(
                    "INSERT OR IGNORE INTO messages (queue, group_id, dedup_id, body, attributes, enqueued_at)
                     SELECT ?2, group_id, dedup_id, body, attributes, enqueued_at FROM messages WHERE queue = ?1 ORDER BY seq",
                    params![dead_letter.as_str(), target.as_str()],
                )?;
                conn.execute(
                    "DELETE FROM messages WHERE queue = ?1",
                    params![dead_letter.as_str()],
                )
            })
            .await
            .inspect(|_| self.sent.notify_waiters())
    }
}
