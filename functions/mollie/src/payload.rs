//! What Mollie sends and answers, read as far as this connector needs.
//!
//! - The classic webhook: a form body `id=tr_…` and nothing else (docs.mollie.com
//!   `reference/webhooks`: "we will call that webhook URL with a single POST-parameter called
//!   `id`"). Only the id is taken from it; everything else comes from the API.
//! - The next-gen webhook event (docs.mollie.com `reference/webhooks-new`; mollie-api-php
//!   `src/Fake/Events/blueprint.json`, `src/Fake/Responses/webhook-event.json`):
//!   `{"resource": "event", "id": "event_…", "type": "payment.paid", "entityId": "tr_…",
//!   "createdAt": …, "_embedded": {"entity": {…}}, "_links": {…}}`, the entity present only with
//!   full ("snapshot") payloads.
//! - The payment (`GET /v2/payments/{id}`, docs.mollie.com `reference/get-payment`; mollie-api-php
//!   `src/Resources/Payment.php`), with `?embed=refunds,chargebacks` its refunds and chargebacks
//!   under `_embedded`. Amounts are `{"currency": "EUR", "value": "10.00"}`, the value a decimal
//!   string.

use std::collections::HashMap;

use o2o_core::fields::non_empty;
use o2o_core::money::DecimalText;
use o2o_core::request::percent_decode;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The longest payment id taken from a classic webhook; Mollie's are about 10 to 22 characters.
pub const MAX_ID_LEN: usize = 64;

/// Why a classic webhook body names no payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// No `id` field.
    Missing,
    /// Not `tr_` and letters or digits (or several `id` fields, or not UTF-8).
    Malformed,
}

/// Whether `id` is a Mollie payment id: `tr_` then 1 to 61 ASCII letters or digits (at most
/// [`MAX_ID_LEN`] characters in all).
pub fn is_payment_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN
        && id
            .strip_prefix("tr_")
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The payment id of a classic webhook's form body (`id=tr_…`); other fields are ignored.
pub fn classic_payment_id(body: &[u8]) -> Result<String, IdProblem> {
    let text = std::str::from_utf8(body).map_err(|_| IdProblem::Malformed)?;
    let mut found = None;
    for pair in text.trim().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(name).as_deref() != Some("id") {
            continue;
        }
        if found.is_some() {
            return Err(IdProblem::Malformed);
        }
        found = Some(percent_decode(value).ok_or(IdProblem::Malformed)?);
    }
    let id = found.ok_or(IdProblem::Missing)?;
    if is_payment_id(&id) {
        Ok(id)
    } else {
        Err(IdProblem::Malformed)
    }
}

/// Whether a body is a JSON object (a next-gen event) rather than a form.
pub fn is_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// A next-gen webhook event.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// `event_…`: the event's id, unique per event.
    pub id: String,
    /// The event type (`payment.paid`, `refund.refunded`, `payment-link.paid` …).
    #[serde(rename = "type")]
    pub event_type: String,
    /// The id of the entity it is about (`tr_…`, `re_…`, `pl_…`).
    #[serde(rename = "entityId", default)]
    pub entity_id: Option<String>,
    /// When the event happened (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// The entity as the API would return it, with full payloads.
    #[serde(rename = "_embedded", default)]
    pub embedded: Option<EventEmbedded>,
}

/// `_embedded` of an event.
#[derive(Debug, Clone, Deserialize)]
pub struct EventEmbedded {
    /// The entity's snapshot, read by the event's type.
    #[serde(default)]
    pub entity: Option<Box<RawValue>>,
}

impl Event {
    /// The embedded entity's JSON, when the subscription sends full payloads.
    pub fn entity(&self) -> Option<&str> {
        self.embedded
            .as_ref()
            .and_then(|e| e.entity.as_deref())
            .map(RawValue::get)
    }
}

/// A Mollie amount: a currency and a decimal string.
#[derive(Debug, Clone, Deserialize)]
pub struct Amount {
    /// ISO 4217 code.
    pub currency: String,
    /// The decimal value (`"10.00"`).
    pub value: DecimalText,
}

/// The `statusReason` of a payment (point-of-sale payments only, docs.mollie.com
/// `reference/status-reasons`).
#[derive(Debug, Clone, Deserialize)]
pub struct StatusReason {
    /// A machine-readable code.
    #[serde(default)]
    pub code: Option<String>,
}

/// The part of a payment's method-specific `details` read here.
#[derive(Debug, Clone, Deserialize)]
pub struct Details {
    /// Why a card payment failed (`authentication_failed` …).
    #[serde(rename = "failureReason", default)]
    pub failure_reason: Option<String>,
}

/// A payment object.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentObject {
    /// `tr_…`.
    pub id: String,
    /// `open`, `pending`, `authorized`, `paid`, `canceled`, `expired` or `failed`.
    pub status: String,
    /// What the payment is for.
    pub amount: Amount,
    /// The payment method (`ideal`, `creditcard` …).
    #[serde(default)]
    pub method: Option<String>,
    /// The merchant's free JSON (an object, or a string holding JSON).
    #[serde(default)]
    pub metadata: Option<Box<RawValue>>,
    /// The website profile (`pfl_…`).
    #[serde(rename = "profileId", default)]
    pub profile_id: Option<String>,
    /// When it was created.
    #[serde(rename = "createdAt", default)]
    pub created_at: Option<String>,
    /// When it was paid.
    #[serde(rename = "paidAt", default)]
    pub paid_at: Option<String>,
    /// When it was canceled.
    #[serde(rename = "canceledAt", default)]
    pub canceled_at: Option<String>,
    /// When it expired.
    #[serde(rename = "expiredAt", default)]
    pub expired_at: Option<String>,
    /// When it failed.
    #[serde(rename = "failedAt", default)]
    pub failed_at: Option<String>,
    /// Why it has its status (point of sale).
    #[serde(rename = "statusReason", default)]
    pub status_reason: Option<StatusReason>,
    /// Method-specific details.
    #[serde(default)]
    pub details: Option<Details>,
    /// Refunds and chargebacks, when asked for with `embed`.
    #[serde(rename = "_embedded", default)]
    pub embedded: Option<PaymentEmbedded>,
}

/// `_embedded` of a payment fetched with `embed=refunds,chargebacks`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentEmbedded {
    /// Its refunds.
    #[serde(default)]
    pub refunds: Vec<RefundObject>,
    /// Its chargebacks.
    #[serde(default)]
    pub chargebacks: Vec<ChargebackObject>,
}

/// A refund object (docs.mollie.com `reference/get-refund`; mollie-api-php
/// `src/Fake/Responses/refund.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct RefundObject {
    /// `re_…`.
    pub id: String,
    /// How much is refunded.
    pub amount: Amount,
    /// `queued`, `pending`, `processing`, `refunded`, `failed` or `canceled`.
    pub status: String,
    /// The merchant's description of the refund.
    #[serde(default)]
    pub description: Option<String>,
    /// The payment refunded.
    #[serde(rename = "paymentId", default)]
    pub payment_id: Option<String>,
    /// When it was created.
    #[serde(rename = "createdAt", default)]
    pub created_at: Option<String>,
}

/// A chargeback's reason.
#[derive(Debug, Clone, Deserialize)]
pub struct ChargebackReason {
    /// The bank's code (`AC01`).
    #[serde(default)]
    pub code: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A chargeback object (docs.mollie.com `reference/get-chargeback`; mollie-api-php
/// `src/Fake/Responses/chargeback.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct ChargebackObject {
    /// `chb_…`.
    pub id: String,
    /// How much is charged back.
    pub amount: Amount,
    /// Why, when the bank says.
    #[serde(default)]
    pub reason: Option<ChargebackReason>,
    /// When it was received.
    #[serde(rename = "createdAt", default)]
    pub created_at: Option<String>,
    /// When it was reversed (the merchant got the money back), else absent or null.
    #[serde(rename = "reversedAt", default)]
    pub reversed_at: Option<String>,
}

/// The merchant's order id: the value of `key` in a payment's `metadata`, an object or a string
/// holding one (Mollie's payment webhook example writes `"metadata": "{\"order_id\":12345}"`). A
/// string value is taken as it is, a number as its exact digits; anything else names no order.
pub fn metadata_value(metadata: Option<&RawValue>, key: &str) -> Option<String> {
    let raw = metadata?.get();
    let decoded;
    let object = if raw.starts_with('"') {
        decoded = serde_json::from_str::<String>(raw).ok()?;
        decoded.as_str()
    } else {
        raw
    };
    let fields: HashMap<String, Box<RawValue>> = serde_json::from_str(object).ok()?;
    let value = fields.get(key)?.get();
    if value.starts_with('"') {
        non_empty(serde_json::from_str::<String>(value).ok().as_deref())
    } else if value.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Some(value.to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classic_body_names_one_payment_id_or_nothing() {
        assert_eq!(
            classic_payment_id(b"id=tr_5B8cwPMGnU6qLbRvo7qEZo"),
            Ok("tr_5B8cwPMGnU6qLbRvo7qEZo".to_owned())
        );
        assert_eq!(
            classic_payment_id(b"testByMollie=1&id=tr_d0b0E3EA3v\n"),
            Ok("tr_d0b0E3EA3v".to_owned())
        );
        assert_eq!(classic_payment_id(b""), Err(IdProblem::Missing));
        assert_eq!(classic_payment_id(b"ids=tr_1"), Err(IdProblem::Missing));
        for bad in [
            &b"id="[..],
            b"id=tr_",
            b"id=ord_kEn1PlbGa",
            b"id=tr_abc%2F..",
            b"id=tr_a b",
            b"id=tr_1&id=tr_2",
            b"id=%ff",
            b"\xff",
            b"id=TR_abc",
        ] {
            assert_eq!(
                classic_payment_id(bad),
                Err(IdProblem::Malformed),
                "{bad:?}"
            );
        }
        let long = format!("id=tr_{}", "a".repeat(MAX_ID_LEN - 2));
        assert_eq!(
            classic_payment_id(long.as_bytes()),
            Err(IdProblem::Malformed)
        );
        let longest = format!("id=tr_{}", "a".repeat(MAX_ID_LEN - 3));
        assert!(classic_payment_id(longest.as_bytes()).is_ok());
    }

    #[test]
    fn the_order_id_is_read_from_metadata_objects_and_json_strings() {
        let raw = |text: &str| RawValue::from_string(text.to_owned()).expect("JSON");
        let value = |text: &str| metadata_value(Some(&raw(text)), "order_id");
        assert_eq!(value(r#"{"order_id":"1234"}"#).as_deref(), Some("1234"));
        assert_eq!(value(r#"{"order_id":12345}"#).as_deref(), Some("12345"));
        assert_eq!(
            value(r#"{"order_id":92233720368547758070}"#).as_deref(),
            Some("92233720368547758070")
        );
        assert_eq!(value(r#""{\"order_id\":12345}""#).as_deref(), Some("12345"));
        for none in [
            r#"{"order_id":null}"#,
            r#"{"order_id":" "}"#,
            r#"{"order_id":{"a":1}}"#,
            r#"{"other":"1"}"#,
            r#""not json""#,
            "null",
            "[1]",
        ] {
            assert_eq!(value(none), None, "{none}");
        }
        assert_eq!(metadata_value(None, "order_id"), None);
    }

    #[test]
    fn json_bodies_are_told_from_forms() {
        assert!(is_json(b" \n{\"id\":1}"));
        assert!(!is_json(b"id=tr_1"));
        assert!(!is_json(b""));
    }
}
