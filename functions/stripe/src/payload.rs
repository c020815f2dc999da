//! Stripe's webhook bodies: an Event (docs.stripe.com/api/events/object) whose `data.object` is
//! the PaymentIntent, Charge, Dispute or Checkout Session it is about, rendered at the endpoint's
//! API version. Every field the connector does not need is ignored; every field it reads is
//! optional (Stripe writes `null` for many) unless nothing can be made of the event without it.
//! Amounts are JSON integers in the currency's smallest unit as Stripe counts it, read as `i64`
//! (exact; a fraction or a float is a type error, never rounded).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// One Event, as delivered.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// `evt_…`: the same on every retry of the delivery.
    pub id: String,
    /// `event` (a snapshot event); `v2.core.event` for a thin event notification.
    #[serde(default)]
    pub object: Option<String>,
    /// The event type (`payment_intent.succeeded`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Connect: the connected account the event is about (`acct_…`).
    #[serde(default)]
    pub account: Option<String>,
    /// When the event happened: Unix seconds (a thin event writes RFC 3339 text).
    #[serde(default)]
    pub created: Option<Created>,
    /// The object and, for changes, what its changed fields were before.
    #[serde(default)]
    pub data: Option<Data>,
}

/// `created`: Unix seconds in snapshot events, RFC 3339 text in thin ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Created {
    /// Seconds since the Unix epoch.
    Unix(i64),
    /// RFC 3339 text.
    Text(String),
}

/// An event's `data`.
#[derive(Debug, Clone, Deserialize)]
pub struct Data {
    /// The object as it is after the event, read by the event type.
    pub object: Box<RawValue>,
    /// The changed fields' earlier values (`charge.refunded`: `amount_refunded`).
    #[serde(default)]
    pub previous_attributes: Option<Box<RawValue>>,
}

/// Metadata: string values by key, as the merchant set them.
pub type Metadata = BTreeMap<String, serde_json::Value>;

/// A field that holds an object's id, or the object when the request expanded it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Expandable {
    /// The id.
    Id(String),
    /// The expanded object (its id only).
    Object {
        /// The object's id.
        id: String,
    },
}

impl Expandable {
    /// The id either way.
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

/// A PaymentIntent (docs.stripe.com/api/payment_intents/object).
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// `payment_intent`.
    #[serde(default)]
    pub object: Option<String>,
    /// The amount intended to be collected.
    #[serde(default)]
    pub amount: Option<i64>,
    /// The amount that was collected.
    #[serde(default)]
    pub amount_received: Option<i64>,
    /// Lower-case ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// `succeeded`, `requires_payment_method` …
    #[serde(default)]
    pub status: Option<String>,
    /// The merchant's metadata.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// The payment method types the intent may use.
    #[serde(default)]
    pub payment_method_types: Option<Vec<String>>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
}

/// A PaymentIntent's `last_payment_error`.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentError {
    /// `card_declined` …
    #[serde(default)]
    pub code: Option<String>,
    /// The issuer's reason (`insufficient_funds`), for card declines.
    #[serde(default)]
    pub decline_code: Option<String>,
    /// A message for the buyer.
    #[serde(default)]
    pub message: Option<String>,
    /// The payment method that failed.
    #[serde(default)]
    pub payment_method: Option<MethodDetails>,
}

/// A payment method, or a charge's or dispute's `payment_method_details`: its type only.
#[derive(Debug, Clone, Deserialize)]
pub struct MethodDetails {
    /// `card`, `sepa_debit` …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A Charge (docs.stripe.com/api/charges/object).
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// `ch_…` (`py_…` for some payment methods).
    pub id: String,
    /// `charge`.
    #[serde(default)]
    pub object: Option<String>,
    /// The amount charged.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Everything refunded so far (cumulative).
    #[serde(default)]
    pub amount_refunded: Option<i64>,
    /// Lower-case ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// `succeeded`, `pending`, `failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// The PaymentIntent that created the charge.
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
    /// The merchant's metadata (copied from the PaymentIntent when it was confirmed).
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// How it was paid.
    #[serde(default)]
    pub payment_method_details: Option<MethodDetails>,
    /// Its refunds, newest first: included up to API version 2022-08-01, expandable since
    /// 2022-11-15 (so absent from newer events).
    #[serde(default)]
    pub refunds: Option<RefundList>,
}

/// What a `charge.refunded` event's `previous_attributes` says.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChargeBefore {
    /// `amount_refunded` before this refund.
    #[serde(default)]
    pub amount_refunded: Option<i64>,
}

/// A list of refunds.
#[derive(Debug, Clone, Deserialize)]
pub struct RefundList {
    /// The refunds on this page, newest first.
    #[serde(default)]
    pub data: Vec<RefundObject>,
}

/// A Refund (docs.stripe.com/api/refunds/object).
#[derive(Debug, Clone, Deserialize)]
pub struct RefundObject {
    /// `re_…`.
    pub id: String,
    /// The amount refunded.
    #[serde(default)]
    pub amount: Option<i64>,
    /// `duplicate`, `fraudulent`, `requested_by_customer`, `expired_uncaptured_charge`.
    #[serde(default)]
    pub reason: Option<String>,
    /// When it was created (Unix seconds).
    #[serde(default)]
    pub created: Option<i64>,
}

/// A Dispute (docs.stripe.com/api/disputes/object).
#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    /// `dp_…` (`du_…` for older ones).
    pub id: String,
    /// `dispute`.
    #[serde(default)]
    pub object: Option<String>,
    /// The disputed amount.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Lower-case ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// `fraudulent`, `product_not_received` …
    #[serde(default)]
    pub reason: Option<String>,
    /// `warning_needs_response`, `needs_response` …
    #[serde(default)]
    pub status: Option<String>,
    /// The disputed charge.
    #[serde(default)]
    pub charge: Option<Expandable>,
    /// The disputed charge's PaymentIntent.
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
    /// The dispute's own metadata (not the charge's).
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// When the evidence is due.
    #[serde(default)]
    pub evidence_details: Option<EvidenceDetails>,
    /// How the disputed charge was paid (newer API versions).
    #[serde(default)]
    pub payment_method_details: Option<MethodDetails>,
}

/// A dispute's `evidence_details`.
#[derive(Debug, Clone, Deserialize)]
pub struct EvidenceDetails {
    /// The deadline for evidence (Unix seconds); `null` when none is due.
    #[serde(default)]
    pub due_by: Option<i64>,
}

/// A Checkout Session (docs.stripe.com/api/checkout/sessions/object).
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    /// `cs_…`.
    pub id: String,
    /// `checkout.session`.
    #[serde(default)]
    pub object: Option<String>,
    /// The total after discounts and taxes.
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Lower-case ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// The merchant's reference the session was created with.
    #[serde(default)]
    pub client_reference_id: Option<String>,
    /// The session's metadata (not copied to its PaymentIntent).
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// The PaymentIntent (`payment` mode).
    #[serde(default)]
    pub payment_intent: Option<Expandable>,
    /// `paid`, `unpaid`, `no_payment_required`.
    #[serde(default)]
    pub payment_status: Option<String>,
    /// The payment method types the session offered.
    #[serde(default)]
    pub payment_method_types: Option<Vec<String>>,
}

/// Reads a JSON text as `T`, naming `part` in an error.
pub fn read<'a, T: Deserialize<'a>>(
    part: &'static str,
    json: &'a str,
) -> Result<T, o2o_core::connector::NormaliseError> {
    serde_json::from_str(json)
        .map_err(|e| o2o_core::connector::NormaliseError::from(e).within(part))
}
