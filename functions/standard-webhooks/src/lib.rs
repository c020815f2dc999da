//! Standard Webhooks connector: any sender that follows the Standard Webhooks specification
//! (standard-webhooks/standard-webhooks `spec/standard-webhooks.md` @03f5f8c6), Svix-based
//! platforms included, configured rather than coded.
//!
//! Verification (spec, "Signature scheme" and "Webhook headers"): `webhook-signature` (or
//! `svix-signature`) holds space-separated `v1,<base64 HMAC-SHA256>` and `v1a,<base64 ed25519>`
//! signatures over `{webhook-id}.{webhook-timestamp}.{raw body}`; the HMAC key is the base64 after
//! `whsec_`, the ed25519 public key the base64 after `whpk_`. The timestamp must be within
//! `tolerance_secs` (default 300, the official libraries' 5 minutes) of receipt.
//!
//! Mapping: the event type (the spec's payload `type`, or `event_type_pointer`) selects a
//! unified event type in `event_map`; JSON pointers name the order id, payment id, amount,
//! currency, time and the rest. Details: `docs/platforms/standard-webhooks.md`.

mod normalise;
mod pointer;
mod scheme;

use std::collections::BTreeMap;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::{ChannelKind, EventType};
use o2o_core::link::OrderLink;
use o2o_core::money::Currency;
use o2o_core::settings::{Secret, Secrets, SettingsError};
use o2o_core::signature::{SignatureError, check_timestamp_window, sha256_hex};
use o2o_core::{Rejection, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::value::RawValue;

pub use normalise::{CHANNEL_ID, Message};
pub use pointer::{AmountFormat, Pointer};
pub use scheme::{HeaderNames, HeaderPrefix, SVIX_HEADERS, WEBHOOK_HEADERS, signed_content};

use normalise::Mapping;
use scheme::Keys;

/// The longest `webhook-id` and event type taken (they go into the idempotency key, which the
/// store bounds); Svix's ids are about 30 characters. A longer one is quarantined.
pub const MAX_KEY_PART_LEN: usize = 256;

/// The spec's tolerance: the official libraries refuse a timestamp more than 5 minutes away.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

static INFO: ChannelInfo = ChannelInfo {
    id: CHANNEL_ID,
    name: "Standard Webhooks",
    kind: ChannelKind::Payment,
    default_sample: "payment-succeeded.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

fn default_header_prefix() -> String {
    "webhook".to_owned()
}

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_SECS
}

fn default_event_type_pointer() -> String {
    "/type".to_owned()
}

fn default_occurred_at_pointer() -> String {
    "/timestamp".to_owned()
}

/// A Standard Webhooks channel table (`[channels.standard-webhooks]`): one sender's endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The endpoint's signing secrets for `v1` signatures (`whsec_` and base64, as the sender
    /// shows them; the prefix may be left out), newest first: during a rotation each listed one
    /// verifies, the first signs samples. Needed unless `public_keys` is set.
    #[serde(default)]
    pub secrets: Option<Secrets>,
    /// The sender's ed25519 public keys for `v1a` signatures (`whpk_` and base64 of 32 bytes);
    /// any listed key verifies. Needed unless `secrets` is set.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// For `o2o send` and tests only, never a real sender's key: an ed25519 secret key (`whsk_`
    /// and base64 of the 32-byte seed, or of seed and public key) whose public key is listed in
    /// `public_keys`, to add `v1a` signatures to samples.
    #[serde(default)]
    pub test_signing_key: Option<Secret>,
    /// Which headers carry id, timestamp and signature: `webhook` (`webhook-id` …, the spec's;
    /// default), `svix` (`svix-id` …, Svix-based senders) or `any` (the `svix-*` set when
    /// `svix-id` is present, else the `webhook-*` set).
    #[serde(default = "default_header_prefix")]
    pub header_prefix: String,
    /// How far the signed timestamp may be from the time of receipt, in seconds (default 300,
    /// as the spec's libraries).
    #[serde(default = "default_tolerance")]
    pub tolerance_secs: u64,
    /// The sender's event types and the unified event type each becomes (`payment.succeeded`,
    /// `payment.failed`, `payment.refunded`, `payment.disputed`, `order.created`,
    /// `order.updated`, `order.cancelled`, `order.completed`, `order.refunded`,
    /// `fulfilment.updated`), e.g. `{ "payment.succeeded" = "payment.succeeded",
    /// "refund.succeeded" = "payment.refunded" }`. Other event types are acknowledged and
    /// ignored.
    pub event_map: BTreeMap<String, String>,
    /// JSON pointer (RFC 6901) to the event type in the payload (default `/type`, the spec's).
    #[serde(default = "default_event_type_pointer")]
    pub event_type_pointer: String,
    /// JSON pointer to the merchant's order id (`/data/order_id`): a payment's `order_ref`, an
    /// order event's order id (required in order events).
    pub order_ref_pointer: String,
    /// JSON pointer to the sender's payment id (optional).
    #[serde(default)]
    pub payment_id_pointer: Option<String>,
    /// JSON pointer to the amount (optional): the payment's amount, the refunded amount in a
    /// refund, the disputed amount in a dispute, the order total in other order events.
    #[serde(default)]
    pub amount_pointer: Option<String>,
    /// How amounts are written, needed with `amount_pointer`: `minor` (integer minor units,
    /// `1999` for 19.99 USD) or `decimal` (major units as decimal text or number, `"19.99"`).
    #[serde(default)]
    pub amount_format: Option<String>,
    /// JSON pointer to the ISO 4217 currency code (case ignored); `currency` is used where the
    /// payload has none.
    #[serde(default)]
    pub currency_pointer: Option<String>,
    /// The ISO 4217 currency of amounts whose payload names none (`USD`).
    #[serde(default)]
    pub currency: Option<String>,
    /// JSON pointer to when the event happened, RFC 3339 or Unix seconds (default
    /// `/timestamp`, the spec's); without one, the signed `webhook-timestamp` of the attempt.
    #[serde(default = "default_occurred_at_pointer")]
    pub occurred_at_pointer: String,
    /// JSON pointer to the sender's status string (optional): the event's `status`, the
    /// payment's, and a dispute's.
    #[serde(default)]
    pub status_pointer: Option<String>,
    /// JSON pointer to why a payment failed (optional; `payment.failed` events).
    #[serde(default)]
    pub failure_reason_pointer: Option<String>,
    /// JSON pointer to the refund's id (optional; refund events).
    #[serde(default)]
    pub refund_id_pointer: Option<String>,
    /// JSON pointer to the refund's reason (optional; refund events).
    #[serde(default)]
    pub refund_reason_pointer: Option<String>,
    /// JSON pointer to the dispute's id (optional; `payment.disputed` events).
    #[serde(default)]
    pub dispute_id_pointer: Option<String>,
    /// JSON pointer to the dispute's reason (optional; `payment.disputed` events).
    #[serde(default)]
    pub dispute_reason_pointer: Option<String>,
    /// The orders these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The Standard Webhooks connector for one sender's endpoint.
#[derive(Debug)]
pub struct StandardWebhooks {
    keys: Keys,
    prefix: HeaderPrefix,
    tolerance_secs: i64,
    mapping: Mapping,
    link: OrderLink,
}

/// A header's value, trimmed; `None` when absent or blank.
fn header<'r>(req: &'r WebhookRequest, name: &str) -> Option<&'r str> {
    req.headers
        .get(name)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// A pointer setting.
fn pointer(name: &str, text: &str) -> Result<Pointer, SettingsError> {
    Pointer::parse(text).map_err(|problem| SettingsError::setting(name, problem))
}

/// An optional pointer setting.
fn optional_pointer(name: &str, text: Option<&str>) -> Result<Option<Pointer>, SettingsError> {
    text.map(|text| pointer(name, text)).transpose()
}

/// Every event type `event_map` may name.
const UNIFIED_TYPES: [EventType; 10] = [
    EventType::OrderCreated,
    EventType::OrderUpdated,
    EventType::OrderCancelled,
    EventType::OrderCompleted,
    EventType::OrderRefunded,
    EventType::FulfilmentUpdated,
    EventType::PaymentSucceeded,
    EventType::PaymentFailed,
    EventType::PaymentRefunded,
    EventType::PaymentDisputed,
];

fn event_map(map: BTreeMap<String, String>) -> Result<BTreeMap<String, EventType>, SettingsError> {
    if map.is_empty() {
        return Err(SettingsError::setting(
            "event_map",
            "maps no event type; every delivery would be ignored",
        ));
    }
    map.into_iter()
        .map(|(sender, unified)| {
            if sender.is_empty() {
                return Err(SettingsError::setting(
                    "event_map",
                    "has an empty event type",
                ));
            }
            let known = UNIFIED_TYPES.iter().find(|t| t.as_str() == unified);
            let names: Vec<&str> = UNIFIED_TYPES.iter().map(EventType::as_str).collect();
            match known {
                Some(event_type) => Ok((sender, *event_type)),
                None => Err(SettingsError::setting(
                    &format!("event_map.{sender}"),
                    format!("is not a unified event type ({})", names.join(", ")),
                )),
            }
        })
        .collect()
}

fn keys(settings: &Settings) -> Result<Keys, SettingsError> {
    let secrets = match &settings.secrets {
        Some(secrets) => secrets
            .all()
            .iter()
            .enumerate()
            .map(|(i, secret)| {
                scheme::decode_secret(secret)
                    .map_err(|problem| SettingsError::setting(&format!("secrets[{i}]"), problem))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let public = settings
        .public_keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            scheme::decode_public_key(key)
                .map_err(|problem| SettingsError::setting(&format!("public_keys[{i}]"), problem))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if secrets.is_empty() && public.is_empty() {
        return Err(SettingsError::setting(
            "secrets",
            "is needed (whsec_ secrets for v1 signatures) unless public_keys is set",
        ));
    }
    let signer = settings
        .test_signing_key
        .as_ref()
        .map(|key| {
            scheme::decode_signing_key(key)
                .map_err(|problem| SettingsError::setting("test_signing_key", problem))
        })
        .transpose()?;
    let keys = Keys::new(secrets, public, signer);
    if !keys.signer_is_listed() {
        return Err(SettingsError::setting(
            "test_signing_key",
            "is not the secret key of any of public_keys",
        ));
    }
    Ok(keys)
}

fn mapping(settings: &Settings) -> Result<Mapping, SettingsError> {
    let amount = match (&settings.amount_pointer, &settings.amount_format) {
        (None, None) => None,
        (Some(text), Some(format)) => {
            let format = AmountFormat::parse(format).ok_or_else(|| {
                SettingsError::setting("amount_format", "must be \"minor\" or \"decimal\"")
            })?;
            Some((pointer("amount_pointer", text)?, format))
        }
        (Some(_), None) => {
            return Err(SettingsError::setting(
                "amount_format",
                "is needed with amount_pointer: \"minor\" or \"decimal\"",
            ));
        }
        (None, Some(_)) => {
            return Err(SettingsError::setting(
                "amount_format",
                "needs amount_pointer",
            ));
        }
    };
    let currency = settings
        .currency
        .as_deref()
        .map(|code| {
            Currency::from_code(code).map_err(|_| {
                SettingsError::setting("currency", "is not an ISO 4217 code such as `USD`")
            })
        })
        .transpose()?;
    let currency_pointer =
        optional_pointer("currency_pointer", settings.currency_pointer.as_deref())?;
    if amount.is_some() && currency.is_none() && currency_pointer.is_none() {
        return Err(SettingsError::setting(
            "currency_pointer",
            "or currency is needed with amount_pointer",
        ));
    }
    let optional = |name: &str, text: &Option<String>| optional_pointer(name, text.as_deref());
    Ok(Mapping {
        event_map: event_map(settings.event_map.clone())?,
        event_type: pointer("event_type_pointer", &settings.event_type_pointer)?,
        order_ref: pointer("order_ref_pointer", &settings.order_ref_pointer)?,
        payment_id: optional("payment_id_pointer", &settings.payment_id_pointer)?,
        amount,
        currency_pointer,
        currency,
        occurred_at: pointer("occurred_at_pointer", &settings.occurred_at_pointer)?,
        status: optional("status_pointer", &settings.status_pointer)?,
        failure_reason: optional("failure_reason_pointer", &settings.failure_reason_pointer)?,
        refund_id: optional("refund_id_pointer", &settings.refund_id_pointer)?,
        refund_reason: optional("refund_reason_pointer", &settings.refund_reason_pointer)?,
        dispute_id: optional("dispute_id_pointer", &settings.dispute_id_pointer)?,
        dispute_reason: optional("dispute_reason_pointer", &settings.dispute_reason_pointer)?,
    })
}

/// The signed timestamp header as an integer, as the official libraries read it.
fn timestamp(text: &str) -> Option<i64> {
    text.parse().ok()
}

#[async_trait::async_trait]
impl Connector for StandardWebhooks {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Message<'v>;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        settings.link.check()?;
        let prefix = HeaderPrefix::parse(&settings.header_prefix).ok_or_else(|| {
            SettingsError::setting("header_prefix", "must be \"webhook\", \"svix\" or \"any\"")
        })?;
        let tolerance_secs = i64::try_from(settings.tolerance_secs)
            .map_err(|_| SettingsError::setting("tolerance_secs", "is too large"))?;
        let keys = keys(&settings)?;
        let mapping = mapping(&settings)?;
        Ok(Self {
            keys,
            prefix,
            tolerance_secs,
            mapping,
            link: settings.link,
        })
    }

    /// The three headers must all be there (the id and timestamp are signed); the timestamp
    /// within the window; then any `v1`/`v1a` signature in the header that one configured key
    /// produces passes. The body names the event type, and the signature covers all of it.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        let names = self.prefix.names(&req.headers);
        let missing = |name: &str| {
            Rejection::unauthorized(
                "signature_missing",
                format!("{name} is missing; the signature covers it"),
            )
        };
        let id = header(req, names.id).ok_or_else(|| missing(names.id))?;
        let sent_at = header(req, names.timestamp).ok_or_else(|| missing(names.timestamp))?;
        let signatures = header(req, names.signature).ok_or(SignatureError::Missing)?;
        let sent_at = timestamp(sent_at).ok_or_else(|| {
            Rejection::unauthorized(
                "signature_malformed",
                format!("{} is not a Unix time in seconds", names.timestamp),
            )
        })?;
        check_timestamp_window(sent_at, req.received_at, self.tolerance_secs)?;
        self.keys
            .verify(&signed_content(id, sent_at, &req.body), signatures)?;
        Ok(Verified::body(req))
    }

    /// The key is `webhook-id`, which the signature covers and a retry repeats; the topic is
    /// the sender's event type; the tenant is the URL's, else `_` (the spec's payload names no
    /// account).
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, ()>,
    ) -> Result<Parsed<Message<'v>>, NormaliseError> {
        let req = verified.request;
        let names = self.prefix.names(&req.headers);
        let id = header(req, names.id).ok_or_else(|| NormaliseError::field(names.id, "missing"))?;
        if id.len() > MAX_KEY_PART_LEN {
            return Err(NormaliseError::field(names.id, "longer than 256 bytes"));
        }
        let attempted_at = header(req, names.timestamp)
            .and_then(timestamp)
            .ok_or_else(|| NormaliseError::field(names.timestamp, "not a Unix time in seconds"))?;
        let text = std::str::from_utf8(&verified.payload)
            .map_err(|_| NormaliseError::field("payload", "not UTF-8"))?;
        let root: &RawValue = serde_json::from_str(text)?;
        let event_type =
            self.mapping.event_type.text(root)?.ok_or_else(|| {
                NormaliseError::field(self.mapping.event_type.as_str(), "missing")
            })?;
        if event_type.len() > MAX_KEY_PART_LEN {
            return Err(NormaliseError::field(
                self.mapping.event_type.as_str(),
                "longer than 256 bytes",
            ));
        }
        let tenant = req.path_tenant.as_deref().unwrap_or("_");
        Ok(Parsed {
            id: DeliveryId {
                tenant: tenant.to_owned(),
                external_event_id: id.to_owned(),
                topic: event_type.clone(),
            },
            message: Message {
                root,
                event_type,
                attempted_at,
            },
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        message: Message<'_>,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        let Some(event_type) = self.mapping.event_map.get(&message.event_type) else {
            return Ok(Normalised::Ignored(format!(
                "event type `{}` is not in event_map",
                message.event_type
            )));
        };
        let draft = normalise::draft(&self.mapping, &self.link, *event_type, &message)?;
        Ok(Normalised::Events(vec![draft]))
    }

    /// Signs as a sender would, at `req.received_at`: `webhook-id` (kept when the sample has
    /// one, else `msg_` and a hash of the body), `webhook-timestamp`, and `webhook-signature`
    /// with a `v1` signature by the newest secret and a `v1a` one by `test_signing_key`,
    /// whichever are configured (the `svix-*` names with `header_prefix = "svix"`).
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let names = self.prefix.signing_names();
        let id = match header(req, names.id) {
            Some(id) => id.to_owned(),
            None => format!("msg_{}", &sha256_hex(&req.body)[..27]),
        };
        let sent_at = req.received_at.unix_seconds();
        let signatures = self.keys.sign(&signed_content(&id, sent_at, &req.body))?;
        req.headers.set(names.id, id);
        req.headers.set(names.timestamp, sent_at.to_string());
        req.headers.set(names.signature, signatures);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
