//! o2o-core: the pure heart of o2o-connectors.
//!
//! Everything here is free of I/O: the [`UnifiedOrderEvent`] contract, exact [`Money`], the
//! [`Connector`] trait every platform implements and its typed [`settings`], signature helpers,
//! and the [`pipeline`], which writes only through the [`ports`] (idempotency store and queues)
//! that adapters implement. Modules import downwards only (ARCHITECTURE.md, "Layers").

pub mod channel_info;
pub mod command;
pub mod connector;
pub mod event;
pub mod fields;
pub mod ids;
pub mod key;
pub mod link;
pub mod money;
pub mod pipeline;
pub mod ports;
pub mod registry;
pub mod request;
pub mod sample;
pub mod settings;
pub mod signature;
pub mod timestamp;

pub use connector::{
    ChannelInfo, Connector, Content, DeliveryId, EnrichError, EventDraft, GetRequests,
    NormaliseContext, NormaliseError, Normalised, Parsed, Route, Verified,
};
pub use event::UnifiedOrderEvent;
pub use key::IdempotencyKey;
pub use money::{Currency, Money, MoneyError};
pub use pipeline::{Handled, Outcome, Pipeline, Processed};
pub use registry::{Channel, Channels, ConnectorEntry, Registry};
pub use request::{Headers, Rejection, Reply, WebhookRequest};
pub use settings::{ChannelConfig, Identifier, Secret, Secrets, SettingsError};
pub use timestamp::Timestamp;
