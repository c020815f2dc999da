//! o2o-core: the pure heart of o2o-connectors.
//!
//! Everything here is free of I/O: the [`UnifiedOrderEvent`] contract, exact [`Money`], the
//! [`Connector`] trait every platform implements, signature helpers, and the ingest [`pipeline`],
//! which writes only through the [`ports`] (idempotency store and queues) that adapters implement.

pub mod config;
pub mod connector;
pub mod event;
pub mod fields;
pub mod ids;
pub mod money;
pub mod pipeline;
pub mod ports;
pub mod registry;
pub mod request;
pub mod sample;
pub mod signature;
pub mod timestamp;

pub use config::{ChannelConfig, Credentials, Secret};
pub use connector::{
    ChannelInfo, Connector, Delivery, EnrichError, EventDraft, Normalised, Setting,
};
pub use event::UnifiedOrderEvent;
pub use money::{Currency, Money, MoneyError};
pub use pipeline::{Outcome, Pipeline};
pub use registry::Registry;
pub use request::{Headers, Rejection, Reply, WebhookRequest};
pub use timestamp::Timestamp;
