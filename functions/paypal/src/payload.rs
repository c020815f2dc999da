//! PayPal's webhook event (`developer.paypal.com/api/rest/webhooks/event-names`): an envelope
//! (`id` `WH-…`, `event_type`, `create_time`, `resource_type`) around the resource the event is
//! about. The resources read here: a capture (Payments v2, `PAYMENT.CAPTURE.*`), a refund
//! (`PAYMENT.CAPTURE.REFUNDED`: the resource is the refund, its capture is its `up` link) and a
//! dispute (`CUSTOMER.DISPUTE.*`).

use o2o_core::connector::NormaliseError;
use o2o_core::money::DecimalText;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The event envelope.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// The event id, `WH-…`.
    pub id: String,
    /// `PAYMENT.CAPTURE.COMPLETED` …
    pub event_type: String,
    /// When PayPal created the event.
    #[serde(default)]
    pub create_time: Option<String>,
    /// `capture`, `refund`, `dispute` …
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The resource, read only for the events mapped (others may have other shapes).
    #[serde(default)]
    pub resource: Option<Box<RawValue>>,
}

/// The fields of a capture, a refund or a dispute that the mapping reads (each optional here;
/// the mapping says which it needs).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Resource {
    /// The capture's or the refund's id.
    #[serde(default)]
    pub id: Option<String>,
    /// `COMPLETED`, `DENIED`, `DECLINED`; a dispute's `OPEN`, `WAITING_FOR_SELLER_RESPONSE` …
    #[serde(default)]
    pub status: Option<String>,
    /// Why a capture has its status (`status_details.reason`).
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
    /// The captured or refunded amount.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// The merchant's own id for the purchase (`purchase_units[].custom_id`).
    #[serde(default)]
    pub custom_id: Option<String>,
    /// The merchant's invoice number (`purchase_units[].invoice_id`).
    #[serde(default)]
    pub invoice_id: Option<String>,
    /// The refund's note to the buyer.
    #[serde(default)]
    pub note_to_payer: Option<String>,
    /// The merchant paid by a capture.
    #[serde(default)]
    pub payee: Option<Party>,
    /// The merchant paying a refund.
    #[serde(default)]
    pub payer: Option<Party>,
    /// HATEOAS links; a refund's `up` link is its capture.
    #[serde(default)]
    pub links: Vec<Link>,
    /// A dispute's id.
    #[serde(default)]
    pub dispute_id: Option<String>,
    /// A dispute's reason (`MERCHANDISE_OR_SERVICE_NOT_RECEIVED` …).
    #[serde(default)]
    pub reason: Option<String>,
    /// The disputed amount.
    #[serde(default)]
    pub dispute_amount: Option<Amount>,
    /// When the merchant must answer a dispute.
    #[serde(default)]
    pub seller_response_due_date: Option<String>,
    /// The transactions a dispute is about.
    #[serde(default)]
    pub disputed_transactions: Vec<DisputedTransaction>,
}

/// PayPal's money: an ISO 4217 code and a decimal string in major units.
#[derive(Debug, Clone, Deserialize)]
pub struct Amount {
    /// `USD`.
    pub currency_code: String,
    /// `"10.99"`.
    pub value: DecimalText,
}

/// `status_details`.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusDetails {
    /// `PENDING_REVIEW`, `BUYER_COMPLAINT` …
    #[serde(default)]
    pub reason: Option<String>,
}

/// A party (`payee`, `payer`, a dispute's `seller`).
#[derive(Debug, Clone, Deserialize)]
pub struct Party {
    /// The PayPal account id of a merchant.
    #[serde(default)]
    pub merchant_id: Option<String>,
}

/// A HATEOAS link.
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    /// The URL.
    pub href: String,
    /// `self`, `up` …
    pub rel: String,
}

/// One transaction of a dispute.
#[derive(Debug, Clone, Deserialize)]
pub struct DisputedTransaction {
    /// The merchant-side transaction id: the capture's id.
    #[serde(default)]
    pub seller_transaction_id: Option<String>,
    /// The merchant.
    #[serde(default)]
    pub seller: Option<Party>,
    /// The transaction's amount.
    #[serde(default)]
    pub gross_amount: Option<Amount>,
    /// The merchant's own id for it (the capture's `custom_id`).
    #[serde(default)]
    pub custom: Option<String>,
    /// The merchant's invoice number.
    #[serde(default)]
    pub invoice_number: Option<String>,
}

impl Resource {
    /// The capture a refund belongs to: the last path segment of its `up` link
    /// (`…/v2/payments/captures/{id}`).
    pub fn up_capture_id(&self) -> Option<String> {
        self.links
            .iter()
            .find(|link| link.rel == "up")
            .and_then(|link| link.href.split_once("/payments/captures/"))
            .map(|(_, id)| id.trim_end_matches('/'))
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .map(str::to_owned)
    }

    /// The merchant account the resource names: a capture's payee, a refund's payer, a
    /// dispute's seller.
    pub fn merchant_id(&self) -> Option<&str> {
        fn from(party: Option<&Party>) -> Option<&str> {
            party.and_then(|p| p.merchant_id.as_deref())
        }
        from(self.payee.as_ref())
            .or_else(|| from(self.payer.as_ref()))
            .or_else(|| {
                self.disputed_transactions
                    .first()
                    .and_then(|t| from(t.seller.as_ref()))
            })
            .filter(|id| !id.trim().is_empty())
    }
}

/// Reads an event.
pub fn read(payload: &[u8]) -> Result<Envelope, NormaliseError> {
    let envelope: Envelope = serde_json::from_slice(payload)?;
    if envelope.id.trim().is_empty() {
        return Err(NormaliseError::field("id", "is empty"));
    }
    if envelope.event_type.trim().is_empty() {
        return Err(NormaliseError::field("event_type", "is empty"));
    }
    Ok(envelope)
}

/// Reads the resource of a mapped event.
pub fn resource(envelope: &Envelope) -> Result<Resource, NormaliseError> {
    let raw = envelope
        .resource
        .as_ref()
        .ok_or_else(|| NormaliseError::field("resource", "missing"))?;
    serde_json::from_str(raw.get()).map_err(|e| NormaliseError::from(e).within("resource"))
}
