//! o2o-local: the adapters that run o2o-connectors on one machine — an embedded SQLite
//! idempotency store and queues, the listener that serves the edge, and the SQLite side of the
//! enrichment consumer and of replay.

pub mod enrichment;
pub mod replay;
pub mod server;
pub mod sqlite;

pub use server::serve;
pub use sqlite::{SqliteStore, StoredMessage};
