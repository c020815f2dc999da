//! A table of connectors, looked up by channel id.

use crate::connector::Connector;

/// Every connector the program hosts; the table itself lives in the `o2o` crate (`src/registry.rs`).
#[derive(Clone, Copy)]
pub struct Registry(pub &'static [&'static dyn Connector]);

impl Registry {
    /// The connector for `channel`, if registered.
    pub fn get(&self, channel: &str) -> Option<&'static dyn Connector> {
        self.0.iter().copied().find(|c| c.info().id == channel)
    }

    /// All connectors, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &'static dyn Connector> {
        self.0.iter().copied()
    }
}
