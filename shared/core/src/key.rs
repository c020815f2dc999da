//! The idempotency key of a delivery, and the event ids derived from it.
//!
//! Format: `{channel}:{tenant}:{topic}:{external event id}`. The topic is part of the key because
//! some platforms share one id across the deliveries of one merchant action (Shopify's event id
//! spans `orders/create` and `orders/paid`). An authenticated payload that cannot be parsed is
//! keyed by its content: `{channel}:{path tenant or _}:unparsed:sha256:{hex of the body}`.
//!
//! A delivery whose platform event id is not authenticated also has a **content key**,
//! `{channel}#content:{topic}:sha256:{hex of its authenticated content}` ([`IdempotencyKey::content`]),
//! claimed beside its key so that the same signed content replayed under a fresh id adds nothing.
//!
//! The format is a compatibility promise: stores remember completed keys for 7 days, and a key
//! that changed between two versions would turn every redelivery after an upgrade into a
//! duplicate event (`tests/pinned.rs` pins them for every sample).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::connector::DeliveryId;
use crate::signature::sha256_hex;

/// A delivery's idempotency key (see the module docs for its format).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of a parsed delivery of `channel`.
    pub fn new(channel: &str, id: &DeliveryId) -> Self {
        Self(format!(
            "{channel}:{}:{}:{}",
            id.tenant, id.topic, id.external_event_id
        ))
    }

    /// The identity of an authenticated body that could not be parsed: keyed by its content.
    pub fn unparsed_delivery(path_tenant: Option<&str>, body: &[u8]) -> DeliveryId {
        DeliveryId {
            tenant: path_tenant.unwrap_or("_").to_owned(),
            external_event_id: format!("sha256:{}", sha256_hex(body)),
            topic: "unparsed".to_owned(),
        }
    }

    /// The content key of a delivery of `channel` on `topic` whose authenticated content (see
    /// [`Content`](crate::connector::Content)) has the SHA-256 `sha256_hex`:
    /// `{channel}#content:{topic}:sha256:{hex}`.
    ///
    /// It holds no tenant on purpose: where the event id is unsigned the tenant usually is too
    /// (Shopify's shop-domain header, Youzan's legacy `kdt_id`), and a captured body replayed
    /// under another shop must meet its first delivery. The `#` keeps it apart from every
    /// delivery key, which starts with the (kebab-case) channel id and a `:`.
    pub fn content(channel: &str, topic: &str, sha256_hex: &str) -> Self {
        Self(format!("{channel}#content:{topic}:sha256:{sha256_hex}"))
    }

    /// The key of an order command: `{channel}:{tenant}:command:{command_id}`. The command id
    /// is the order system's idempotency key; channel and tenant keep two systems' ids apart.
    pub fn command(channel: &str, tenant: &str, command_id: &str) -> Self {
        Self(format!("{channel}:{tenant}:command:{command_id}"))
    }

    /// The stable id of a command's result event, by outcome (`succeeded`,
    /// `failed:deadline_passed` …): a command run again with the same outcome has the same id.
    pub fn command_event_id(&self, outcome: &str) -> String {
        Uuid::new_v5(
            &event_namespace(),
            format!("{}#{outcome}", self.0).as_bytes(),
        )
        .to_string()
    }

    /// A key read back from a store or a queued delivery (made by [`new`](Self::new) then).
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stable id of the `index`-th event of this delivery: UUIDv5 of the key and the index,
    /// so a redelivery yields the same id.
    pub fn event_id(&self, index: usize) -> String {
        Uuid::new_v5(&event_namespace(), format!("{}#{index}", self.0).as_bytes()).to_string()
    }

    /// The stable id of an event identified by what it says (`Connector::event_identity`):
    /// UUIDv5 of `{channel}:{tenant}:{identity}`, the same whichever delivery reported it.
    pub fn event_id_of(channel: &str, tenant: &str, identity: &str) -> String {
        let name = format!("{channel}:{tenant}:identity:{identity}");
        Uuid::new_v5(&event_namespace(), name.as_bytes()).to_string()
    }
}

/// The UUIDv5 namespace of event ids.
fn event_namespace() -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"https://github.com/o2o-connectors/o2o-connectors/event",
    )
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_event_ids_keep_their_format() {
        let id = DeliveryId {
            tenant: "shop.myshopify.com".into(),
            external_event_id: "b54557e4".into(),
            topic: "orders/create".into(),
        };
        let key = IdempotencyKey::new("shopify", &id);
        assert_eq!(
            key.as_str(),
            "shopify:shop.myshopify.com:orders/create:b54557e4"
        );
        // Computed independently: Python `uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL,
        // "https://github.com/o2o-connectors/o2o-connectors/event"), key + "#0")`.
        assert_eq!(key.event_id(0), "ca8e1630-d662-502c-84db-16eaf9642b3e");
        assert_ne!(key.event_id(0), key.event_id(1));
        let content = IdempotencyKey::content("shopify", "orders/create", &sha256_hex(b""));
        assert_eq!(
            content.as_str(),
            "shopify#content:orders/create:sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(
            !content.as_str().starts_with("shopify:"),
            "apart from delivery keys"
        );
        let unparsed = IdempotencyKey::new("x", &IdempotencyKey::unparsed_delivery(None, b""));
        assert_eq!(
            unparsed.as_str(),
            "x:_:unparsed:sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
