//! The store's error, shared by the SQLite adapter and its writer thread.

use o2o_core::ports::PortError;

/// Why the SQLite file could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A blocking task panicked or was cancelled.
    #[error("storage task failed: {0}")]
    Task(String),
}

impl From<StoreError> for PortError {
    fn from(e: StoreError) -> Self {
        PortError::backend("sqlite", e)
    }
}
