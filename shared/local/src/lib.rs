//! o2o-local: the adapters that run o2o-connectors on one machine — an embedded SQLite
//! idempotency store and queues, the HTTP server that hosts every connector, and the worker that
//! enriches thin webhooks.

pub mod enrichment;
pub mod replay;
pub mod server;
pub mod sqlite;

pub use server::{ServerState, router, serve};
pub use sqlite::{SqliteStore, StoredMessage};
