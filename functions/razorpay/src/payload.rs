//! Razorpay's webhook bodies, as documented at razorpay.com/docs/webhooks (Payments, Refunds and
//! Disputes webhook events; `razorpay/markdown-docs` `webhooks/{payments,refunds,disputes}.md`).
//!
//! An event is `{"entity": "event", "account_id", "event", "contains", "payload": {…},
//! "created_at"}`. The envelope is read first, its `payload` kept as raw JSON: only the events
//! the connector maps read it, into the entities they need, so an event we ignore (whose payload
//! may have another shape) is acknowledged rather than quarantined.

use o2o_core::connector::NormaliseError;
use o2o_core::money::DecimalText;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

/// One webhook body.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// `payment.captured`, `payment.failed`, `refund.processed`, `payment.dispute.created` …
    pub event: String,
    /// The merchant account (`acc_…`) the event belongs to.
    #[serde(default)]
    pub account_id: Option<String>,
    /// When the event was created, in Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// The entities (`payment`, `refund`, `dispute`, `order` …), each as `{"entity": {…}}`.
    #[serde(default)]
    pub payload: Option<Box<RawValue>>,
}

/// Reads a body into its envelope.
pub fn read(body: &[u8]) -> Result<Envelope, NormaliseError> {
    Ok(serde_json::from_slice(body)?)
}

/// Only the merchant account of a body (what `verify` checks when an `account_id` is set).
#[derive(Debug, Deserialize)]
pub struct Account {
    /// The merchant account (`acc_…`).
    #[serde(default)]
    pub account_id: Option<String>,
}

/// The entities of the payload the connector reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Entities {
    /// The payment (every payment, refund and dispute event carries it).
    #[serde(default)]
    pub payment: Option<Wrapped<Payment>>,
    /// The refund (refund events).
    #[serde(default)]
    pub refund: Option<Wrapped<Refund>>,
    /// The dispute (dispute events).
    #[serde(default)]
    pub dispute: Option<Wrapped<Dispute>>,
}

/// Razorpay wraps every entity of a payload: `"payment": {"entity": {…}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Wrapped<T> {
    /// The entity.
    pub entity: T,
}

impl Envelope {
    /// The payload's entities; a missing payload has none.
    pub fn entities(&self) -> Result<Entities, NormaliseError> {
        match &self.payload {
            Some(raw) => from_raw(raw).map_err(|e| e.within("payload")),
            None => Ok(Entities::default()),
        }
    }
}

fn from_raw<T: DeserializeOwned>(raw: &RawValue) -> Result<T, NormaliseError> {
    Ok(serde_json::from_str(raw.get())?)
}

/// A payment entity (`pay_…`).
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    /// `pay_…`.
    pub id: String,
    /// In the currency's smallest sub-unit (paise for INR; ISO 4217 exponents: JPY 0, KWD 3).
    pub amount: DecimalText,
    /// ISO 4217 code.
    pub currency: String,
    /// `created`, `authorized`, `captured`, `refunded`, `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// The Razorpay order (`order_…`) the payment is for, when it was made through one.
    #[serde(default)]
    pub order_id: Option<String>,
    /// `card`, `netbanking`, `wallet`, `upi`, `emi` …
    #[serde(default)]
    pub method: Option<String>,
    /// The merchant's key-value notes: an object, or `[]` when there are none.
    #[serde(default)]
    pub notes: Value,
    /// Failed payments: the error's type (`BAD_REQUEST_ERROR`); `""` or `null` otherwise.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Failed payments: what went wrong (`Payment failed`).
    #[serde(default)]
    pub error_description: Option<String>,
    /// Failed payments: the exact reason (`payment_failed`).
    #[serde(default)]
    pub error_reason: Option<String>,
    /// When the payment was created, in Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
}

/// A refund entity (`rfnd_…`).
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    /// `rfnd_…`.
    pub id: String,
    /// The amount refunded, in the smallest sub-unit.
    pub amount: DecimalText,
    /// ISO 4217 code.
    pub currency: String,
    /// The payment refunded (`pay_…`).
    pub payment_id: String,
    /// `pending`, `processed`, `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// When the refund was created, in Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
}

/// A dispute entity (`disp_…`).
#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    /// `disp_…`.
    pub id: String,
    /// The payment disputed (`pay_…`).
    pub payment_id: String,
    /// The amount disputed, in the smallest sub-unit.
    pub amount: DecimalText,
    /// ISO 4217 code.
    pub currency: String,
    /// The network's reason (`processed_invalid_expired_card`).
    #[serde(default)]
    pub reason_code: Option<String>,
    /// When the merchant must respond by, in Unix seconds.
    #[serde(default)]
    pub respond_by: Option<i64>,
    /// `open`, `under_review`, `won`, `lost`, `closed`.
    #[serde(default)]
    pub status: Option<String>,
    /// When the dispute was created, in Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
}

/// The value of `key` in a notes object, as text: a string, or a number's digits. `[]` (no
/// notes), `null` and a missing or blank key give `None`.
pub fn note(notes: &Value, key: &str) -> Option<String> {
    let text = match notes.get(key)? {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_an_object_or_an_empty_list() {
        let notes: Value =
            serde_json::from_str(r#"{"order_id":" 1001 ","n":42,"blank":"","x":null}"#)
                .expect("json");
        assert_eq!(note(&notes, "order_id").as_deref(), Some("1001"));
        assert_eq!(note(&notes, "n").as_deref(), Some("42"));
        assert_eq!(note(&notes, "blank"), None);
        assert_eq!(note(&notes, "x"), None);
        assert_eq!(note(&notes, "missing"), None);
        assert_eq!(note(&Value::Array(Vec::new()), "order_id"), None);
        assert_eq!(note(&Value::Null, "order_id"), None);
    }

    #[test]
    fn an_ignored_events_payload_is_not_read() {
        let body = br#"{"event":"payment.downtime.started","payload":{"payment.downtime":{"entity":{"id":"down_1"}}},"created_at":1}"#;
        let envelope = read(body).expect("the envelope reads");
        assert_eq!(envelope.event, "payment.downtime.started");
        let entities = envelope.entities().expect("no entity the connector reads");
        assert!(entities.payment.is_none());
    }
}
