//! PayPal events → unified payment events.
//!
//! | PayPal `event_type` | unified | resource |
//! |---|---|---|
//! | `PAYMENT.CAPTURE.COMPLETED` | `payment.succeeded` | capture |
//! | `PAYMENT.CAPTURE.DENIED`, `PAYMENT.CAPTURE.DECLINED` | `payment.failed` | capture |
//! | `PAYMENT.CAPTURE.REFUNDED` | `payment.refunded` | refund (its capture: the `up` link) |
//! | `CUSTOMER.DISPUTE.CREATED` | `payment.disputed` | dispute |
//! | anything else | ignored | |

use o2o_core::connector::{EventDraft, NormaliseError, Normalised};
use o2o_core::event::{Dispute, EventType, Payment, Refund};
use o2o_core::fields;
use o2o_core::link::OrderLink;
use o2o_core::money::Money;

use crate::payload::{Amount, Envelope, Resource};

/// The event types mapped, and what each becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A capture completed.
    Completed,
    /// A capture was denied or declined.
    Failed,
    /// A capture was refunded, fully or partly.
    Refunded,
    /// A buyer opened a dispute.
    Disputed,
}

impl Kind {
    /// The kind of `event_type`; `None` when it is not mapped.
    pub fn of(event_type: &str) -> Option<Self> {
        match event_type {
            "PAYMENT.CAPTURE.COMPLETED" => Some(Self::Completed),
            "PAYMENT.CAPTURE.DENIED" | "PAYMENT.CAPTURE.DECLINED" => Some(Self::Failed),
            "PAYMENT.CAPTURE.REFUNDED" => Some(Self::Refunded),
            "CUSTOMER.DISPUTE.CREATED" => Some(Self::Disputed),
            _ => None,
        }
    }
}

fn amount(field: &str, amount: &Amount) -> Result<Money, NormaliseError> {
    let currency = fields::currency(&format!("{field}.currency_code"), &amount.currency_code)?;
    fields::money(&format!("{field}.value"), &amount.value, currency)
}

fn positive(field: &str, money: Money) -> Result<Money, NormaliseError> {
    if money.amount_minor < 0 {
        return Err(NormaliseError::field(field, "is negative"));
    }
    Ok(money)
}

/// The merchant's order id: `custom_id` (the merchant's own free-form id of the purchase, where
/// checkouts put their order id), else `invoice_id`.
fn order_ref(custom: Option<&str>, invoice: Option<&str>) -> Option<String> {
    fields::non_empty(custom).or_else(|| fields::non_empty(invoice))
}

fn required(field: &str, value: Option<&str>) -> Result<String, NormaliseError> {
    fields::non_empty(value).ok_or_else(|| NormaliseError::field(field, "missing"))
}

/// The events of one PayPal event (`resource` read already for a mapped `kind`).
pub fn normalise(
    envelope: &Envelope,
    kind: Option<Kind>,
    resource: Option<&Resource>,
    link: &OrderLink,
) -> Result<Normalised<()>, NormaliseError> {
    let (Some(kind), Some(resource)) = (kind, resource) else {
        return Ok(Normalised::Ignored(format!(
            "event {} is not mapped",
            envelope.event_type
        )));
    };
    let occurred_at = fields::rfc3339(
        "create_time",
        envelope
            .create_time
            .as_deref()
            .ok_or_else(|| NormaliseError::field("create_time", "missing"))?,
    )?;
    let status = fields::non_empty(resource.status.as_deref());
    let (event_type, mut payment, refund) = match kind {
        Kind::Completed | Kind::Failed => {
            let money = resource
                .amount
                .as_ref()
                .ok_or_else(|| NormaliseError::field("resource.amount", "missing"))?;
            let mut payment = Payment {
                payment_id: Some(required("resource.id", resource.id.as_deref())?),
                order_ref: order_ref(
                    resource.custom_id.as_deref(),
                    resource.invoice_id.as_deref(),
                ),
                amount: Some(positive(
                    "resource.amount",
                    amount("resource.amount", money)?,
                )?),
                status: status.clone(),
                ..Payment::default()
            };
            if kind == Kind::Failed {
                let reason = resource
                    .status_details
                    .as_ref()
                    .and_then(|details| fields::non_empty(details.reason.as_deref()))
                    .or_else(|| status.clone())
                    .unwrap_or_else(|| envelope.event_type.clone());
                payment.failure_reason = Some(reason);
                (EventType::PaymentFailed, payment, None)
            } else {
                (EventType::PaymentSucceeded, payment, None)
            }
        }
        Kind::Refunded => {
            let money = resource
                .amount
                .as_ref()
                .ok_or_else(|| NormaliseError::field("resource.amount", "missing"))?;
            let refunded = positive("resource.amount", amount("resource.amount", money)?)?;
            let payment = Payment {
                payment_id: resource.up_capture_id(),
                order_ref: order_ref(
                    resource.custom_id.as_deref(),
                    resource.invoice_id.as_deref(),
                ),
                status: status.clone(),
                ..Payment::default()
            };
            let refund = Refund {
                external_id: Some(required("resource.id", resource.id.as_deref())?),
                amount: Some(refunded),
                reason: fields::non_empty(resource.note_to_payer.as_deref()),
                items: Vec::new(),
            };
            (EventType::PaymentRefunded, payment, Some(refund))
        }
        Kind::Disputed => {
            let transaction = resource.disputed_transactions.first();
            let disputed = resource
                .dispute_amount
                .as_ref()
                .map(|m| {
                    amount("resource.dispute_amount", m)
                        .and_then(|m| positive("resource.dispute_amount", m))
                })
                .transpose()?;
            let gross = transaction
                .and_then(|t| t.gross_amount.as_ref())
                .map(|m| amount("resource.disputed_transactions[0].gross_amount", m))
                .transpose()?;
            let evidence_due_by = resource
                .seller_response_due_date
                .as_deref()
                .map(|due| fields::rfc3339("resource.seller_response_due_date", due))
                .transpose()?;
            let payment = Payment {
                payment_id: transaction
                    .and_then(|t| fields::non_empty(t.seller_transaction_id.as_deref())),
                order_ref: transaction
                    .and_then(|t| order_ref(t.custom.as_deref(), t.invoice_number.as_deref())),
                amount: gross,
                status: status.clone(),
                dispute: Some(Dispute {
                    external_id: Some(required(
                        "resource.dispute_id",
                        resource.dispute_id.as_deref(),
                    )?),
                    amount: disputed,
                    reason: fields::non_empty(resource.reason.as_deref()),
                    status: status.clone(),
                    evidence_due_by,
                }),
                ..Payment::default()
            };
            (EventType::PaymentDisputed, payment, None)
        }
    };
    payment.provider = crate::CHANNEL_ID.to_owned();
    link.apply(&mut payment);
    Ok(Normalised::Events(vec![EventDraft {
        event_type,
        occurred_at,
        status,
        order: None,
        payment: Some(payment),
        refund,
    }]))
}
