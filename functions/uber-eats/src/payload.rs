//! Uber Eats webhook bodies (developer.uber.com `docs/eats/guides/webhooks` and the
//! `webhooks.orders-notification` reference): a thin envelope naming an event and the order or
//! store it is about. Order webhooks: `event_id`, `event_type`, `event_time`, `meta`
//! (`user_id` = the store, `resource_id` = the order), `resource_href`. Store webhooks have
//! `store_id` and `webhook_meta` instead, and no `event_id`.

use o2o_core::ids::IdText;
use serde::Deserialize;

/// A webhook body.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Envelope {
    /// `orders.notification`, `orders.cancel`, `store.menu_refresh_request` …
    pub event_type: String,
    /// Uber's id of this event, "to ensure that events are only digested once".
    #[serde(default)]
    pub event_id: Option<String>,
    /// When it happened: Unix seconds (the legacy reference) or milliseconds (the Order API
    /// Suite schema).
    #[serde(default)]
    pub event_time: Option<i64>,
    /// What the event is about.
    #[serde(default)]
    pub meta: Meta,
    /// The order's GET endpoint.
    #[serde(default)]
    pub resource_href: Option<String>,
    /// Store webhooks: the store.
    #[serde(default)]
    pub store_id: Option<IdText>,
    /// Delivery metadata; its `webhook_msg_uuid` identifies events that have no `event_id`.
    #[serde(default)]
    pub webhook_meta: Option<WebhookMeta>,
}

/// The `meta` of an event.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Meta {
    /// The store (order events).
    #[serde(default)]
    pub user_id: Option<IdText>,
    /// The order (order events).
    #[serde(default)]
    pub resource_id: Option<IdText>,
    /// `pos` on order events; the courier's state on `delivery.state_changed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `delivery.state_changed`: the order.
    #[serde(default)]
    pub order_id: Option<IdText>,
    /// `delivery.state_changed`: the store.
    #[serde(default)]
    pub store_id: Option<IdText>,
}

/// Delivery metadata of a webhook.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct WebhookMeta {
    /// "Unique identifier of the webhook event".
    #[serde(default)]
    pub webhook_msg_uuid: Option<String>,
}

impl Envelope {
    /// The order the event is about: `meta.resource_id`, or `meta.order_id` for deliveries.
    pub fn order_id(&self) -> Option<&str> {
        self.meta
            .resource_id
            .as_ref()
            .or(self.meta.order_id.as_ref())
            .map(|id| id.0.as_str())
    }

    /// The store: `meta.user_id`, `meta.store_id`, or the store webhooks' `store_id`.
    pub fn store_id(&self) -> Option<&str> {
        self.meta
            .user_id
            .as_ref()
            .or(self.meta.store_id.as_ref())
            .or(self.store_id.as_ref())
            .map(|id| id.0.as_str())
    }
}
