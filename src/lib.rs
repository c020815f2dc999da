//! The `o2o` program's library half: the connector registry and the config file, shared by the
//! command-line program, the end-to-end tests and the benchmarks.

pub mod config;
pub mod registry;
