//! Group commit: one writer thread runs the store's writes of concurrent deliveries in few
//! transactions, and syncs the WAL once per transaction instead of once per write.
//!
//! Each write runs in its own savepoint inside the batch's transaction, so one write's error does
//! not undo the others. Its answer is handed back only after its transaction has committed, and,
//! for a write marked durable (a completion the platform is about to be acknowledged for, a
//! command the order system is about to get a 202 for), only after the commit was synced to disk
//! (`synchronous=FULL` for that transaction). Other writes (claims, releases, enqueues before
//! their completion) commit without a sync, in a transaction of their own ahead of the synced
//! one, so they never wait for an fsync: the WAL is appended in order, so the next synced commit
//! makes them durable too, and a crash before it loses only work that was never acknowledged
//! (its claim, at worst, which the platform's retry takes again).

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use crate::error::StoreError;

/// The most writes in one transaction.
pub const MAX_BATCH: usize = 512;

/// What a write hands back once its batch is committed: the commit's outcome (its error's
/// message) goes in.
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A write: runs its statements on the connection (or, given none, does not run: its batch
/// could not begin), and returns how to deliver its answer.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Deliver + Send>;

/// The writer's handle: queues writes for the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: Sender<(Job, bool)>,
}

/// What the writer has done, for tests and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub batches: u64,
    /// Of those, synced to disk.
    pub synced: u64,
    /// Writes run.
    pub writes: u64,
}

impl Writer {
    /// Starts the writer thread over `conn` (shared with the store's readers). The thread ends
    /// when every handle is dropped.
    pub fn start(
        conn: Arc<Mutex<Connection>>,
        stats: Arc<Mutex<WriterStats>>,
    ) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("o2o-sqlite-writer".into())
            .spawn(move || run(&conn, &queue, &stats))
            .map_err(|e| StoreError::Task(format!("cannot start the writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `write` in the next batch and answers once the batch is committed (and, when
    /// `durable`, synced to disk).
    pub async fn write<T, F>(&self, durable: bool, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let result = conn.map(|conn| in_savepoint(conn, write));
            Box::new(move |committed: Result<(), String>| {
                let committed = committed.map_err(StoreError::Task);
                let answer_is = committed.and_then(|()| match result {
                    Some(result) => result.map_err(StoreError::from),
                    None => Err(StoreError::Task("the write did not run".into())),
                });
                let _ = answer.send(answer_is);
            }) as Deliver
        });
        self.jobs
            .send((job, durable))
            .map_err(|_| StoreError::Task("the writer has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Task("the writer dropped a write".into()))?
    }
}

/// Runs `write` in a savepoint: undone alone if it fails.
fn in_savepoint<T>(
    conn: &Connection,
    write: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
) -> Result<T, rusqlite::Error> {
    conn.execute_batch("SAVEPOINT write")?;
    match write(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE write")?;
            Ok(value)
        }
        Err(e) => {
            // If even the rollback fails, the batch's commit reports it.
            let _ = conn.execute_batch("ROLLBACK TO write; RELEASE write");
            Err(e)
        }
    }
}

fn run(conn: &Mutex<Connection>, queue: &Receiver<(Job, bool)>, stats: &Mutex<WriterStats>) {
    let mut synced_mode = None;
    while let Ok(first) = queue.recv() {
        // Everything that queued up while the last batch was committing goes in this one.
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        // The writes that need no sync are committed and answered first, so a claim never
        // waits for another delivery's fsync; then the synced ones, in one transaction. The
        // writes of one batch come from concurrent requests, so their order among them is free.
        let (mut synced, mut unsynced): (Vec<_>, Vec<_>) =
            batch.into_iter().partition(|(_, durable)| *durable);
        for (jobs, durable) in [(&mut unsynced, false), (&mut synced, true)] {
            if jobs.is_empty() {
                continue;
            }
            let Ok(guard) = conn.lock() else {
                // A poisoned lock: every waiting write is told the writer stopped (dropped answer).
                return;
            };
            let writes = jobs.len() as u64;
            let (committed, deliveries) = commit_batch(&guard, jobs, durable, &mut synced_mode);
            drop(guard);
            if let Ok(mut stats) = stats.lock() {
                stats.batches += 1;
                stats.synced += u64::from(durable);
                stats.writes += writes;
            }
            for deliver in deliveries {
                deliver(committed.clone());
            }
        }
    }
}

/// Runs the batch in one transaction; the commit syncs when `durable`.
fn commit_batch(
    conn: &Connection,
    batch: &mut Vec<(Job, bool)>,
    durable: bool,
    synced_mode: &mut Option<bool>,
) -> (Result<(), String>, Vec<Deliver>) {
    let mut deliveries = Vec::with_capacity(batch.len());
    let begin = (|| {
        if *synced_mode != Some(durable) {
            let mode = if durable { "FULL" } else { "NORMAL" };
            conn.pragma_update(None, "synchronous", mode)?;
            *synced_mode = Some(durable);
        }
        conn.execute_batch("BEGIN IMMEDIATE")
    })();
    if let Err(e) = begin {
        // No write runs outside a transaction: each is answered with the failure to begin.
        for (job, _) in batch.drain(..) {
            deliveries.push(job(None));
        }
        return (Err(format!("sqlite: {e}")), deliveries);
    }
    for (job, _) in batch.drain(..) {
        deliveries.push(job(Some(conn)));
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => (Ok(()), deliveries),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            (Err(format!("sqlite commit: {e}")), deliveries)
        }
    }
}
