//! o2o-local: the adapters that run o2o-connectors on one machine — an embedded SQLite
//! idempotency store and queues, the listener that serves the edge, and the SQLite side of the
//! enrichment and commands consumers and of replay.

mod error;
pub mod fifo;
pub mod push;
pub mod replay;
pub mod retention;
pub mod retry;
pub mod server;
pub mod sqlite;
pub mod sqs_api;
pub mod writer;

pub use server::serve;
pub use sqlite::{SqliteStore, StoredMessage};
