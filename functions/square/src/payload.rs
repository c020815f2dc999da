//! Square's webhook bodies (developer.squareup.com/reference/square/webhooks; the types of
//! square/square-python-sdk `src/square/types/*_event*.py`, `payment.py`, `payment_refund.py`,
//! `dispute.py`).
//!
//! An event is `{"merchant_id", "type", "event_id", "created_at", "data": {"type", "id",
//! "object": {…}}}`. The envelope is read first with `data.object` kept as raw JSON: only the
//! events the connector maps read it, so an event we ignore (whose object has another shape) is
//! acknowledged rather than quarantined.

use o2o_core::connector::NormaliseError;
use o2o_core::money::DecimalText;
use serde::Deserialize;
use serde_json::value::RawValue;

/// One webhook body.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// The seller the event belongs to.
    #[serde(default)]
    pub merchant_id: Option<String>,
    /// `payment.created`, `payment.updated`, `refund.created`, `refund.updated`,
    /// `dispute.created` …
    #[serde(rename = "type")]
    pub event_type: String,
    /// A unique id for the event (UUID).
    #[serde(default)]
    pub event_id: Option<String>,
    /// When the event was created (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// The affected object.
    #[serde(default)]
    pub data: Option<Data>,
}

/// `data`: the affected object's type and id, and the object itself.
#[derive(Debug, Clone, Deserialize)]
pub struct Data {
    /// `payment`, `refund`, `dispute` …
    #[serde(default, rename = "type")]
    pub object_type: Option<String>,
    /// The object's id.
    #[serde(default)]
    pub id: Option<String>,
    /// `{"payment": {…}}`, `{"refund": {…}}`, `{"object": {…}}` (disputes) …
    #[serde(default)]
    pub object: Option<Box<RawValue>>,
}

/// Reads a body into its envelope.
pub fn read(body: &[u8]) -> Result<Envelope, NormaliseError> {
    Ok(serde_json::from_slice(body)?)
}

/// The objects the connector reads from `data.object`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Objects {
    /// `payment.*` events.
    #[serde(default)]
    pub payment: Option<Payment>,
    /// `refund.*` events.
    #[serde(default)]
    pub refund: Option<Refund>,
    /// `dispute.*` events name the dispute `object` (`DisputeCreatedEventObject.object`).
    #[serde(default)]
    pub object: Option<Dispute>,
    /// The dispute under the name `dispute`, should Square name it so.
    #[serde(default)]
    pub dispute: Option<Dispute>,
}

impl Envelope {
    /// `data.object`'s contents; none when there is no object.
    pub fn objects(&self) -> Result<Objects, NormaliseError> {
        match self.data.as_ref().and_then(|data| data.object.as_ref()) {
            Some(raw) => {
                serde_json::from_str(raw.get()).map_err(|e| NormaliseError::from(e).within("data"))
            }
            None => Ok(Objects::default()),
        }
    }
}

/// `{amount, currency}`: the amount in the currency's smallest denomination.
#[derive(Debug, Clone, Deserialize)]
pub struct MoneyValue {
    /// An integer in the smallest denomination (cents for USD, yen for JPY).
    pub amount: DecimalText,
    /// ISO 4217 code.
    pub currency: String,
}

/// A payment.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    /// The payment id.
    pub id: String,
    /// `APPROVED`, `PENDING`, `COMPLETED`, `CANCELED`, `FAILED`.
    #[serde(default)]
    pub status: Option<String>,
    /// The amount processed, without the tip.
    #[serde(default)]
    pub amount_money: Option<MoneyValue>,
    /// The amount with the tip: what the buyer pays.
    #[serde(default)]
    pub total_money: Option<MoneyValue>,
    /// What has been refunded so far (present once a refund was made).
    #[serde(default)]
    pub refunded_money: Option<MoneyValue>,
    /// The Square order the payment belongs to.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The merchant's own id for the payment in another system.
    #[serde(default)]
    pub reference_id: Option<String>,
    /// `CARD`, `BANK_ACCOUNT`, `WALLET`, `CASH`, `EXTERNAL` …
    #[serde(default)]
    pub source_type: Option<String>,
    /// Card payments: the card's details, with `errors` when it failed.
    #[serde(default)]
    pub card_details: Option<CardDetails>,
    /// When the payment was last updated (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A card payment's details (only its errors are read).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CardDetails {
    /// The errors the card payment met.
    #[serde(default)]
    pub errors: Vec<SquareError>,
}

/// One Square error (`{category, code, detail, field}`).
#[derive(Debug, Clone, Deserialize)]
pub struct SquareError {
    /// `CARD_DECLINED`, `CVV_FAILURE` …
    #[serde(default)]
    pub code: Option<String>,
    /// A human-readable description.
    #[serde(default)]
    pub detail: Option<String>,
}

/// A payment refund.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    /// The refund id (`{payment id}_{suffix}`).
    pub id: String,
    /// `PENDING`, `COMPLETED`, `REJECTED`, `FAILED`.
    #[serde(default)]
    pub status: Option<String>,
    /// The amount refunded.
    #[serde(default)]
    pub amount_money: Option<MoneyValue>,
    /// The payment refunded.
    #[serde(default)]
    pub payment_id: Option<String>,
    /// Why the seller refunded.
    #[serde(default)]
    pub reason: Option<String>,
    /// When the refund was last updated (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A dispute.
#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    /// The dispute id.
    #[serde(default)]
    pub id: Option<String>,
    /// The same id, under its older name.
    #[serde(default)]
    pub dispute_id: Option<String>,
    /// The amount disputed.
    #[serde(default)]
    pub amount_money: Option<MoneyValue>,
    /// `AMOUNT_DIFFERS`, `NOT_AS_DESCRIBED`, `UNAUTHORIZED` …
    #[serde(default)]
    pub reason: Option<String>,
    /// `INQUIRY_EVIDENCE_REQUIRED`, `EVIDENCE_REQUIRED`, `PROCESSING`, `WON`, `LOST` …
    #[serde(default)]
    pub state: Option<String>,
    /// When the seller must respond by (RFC 3339).
    #[serde(default)]
    pub due_at: Option<String>,
    /// The payment disputed.
    #[serde(default)]
    pub disputed_payment: Option<DisputedPayment>,
}

/// The payment a dispute challenges.
#[derive(Debug, Clone, Deserialize)]
pub struct DisputedPayment {
    /// Its id.
    #[serde(default)]
    pub payment_id: Option<String>,
}
