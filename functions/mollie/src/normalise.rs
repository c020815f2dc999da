//! Mollie payments → unified payment events.
//!
//! A classic webhook only names a payment (`id=tr_…`): it is thin, and enrichment fetches the
//! payment with its refunds and chargebacks; what the fetched payment shows is the truth
//! ([`Focus::Everything`]). A next-gen event is signed: a payment event with its snapshot
//! becomes its event directly; without a snapshot it is thin ([`Focus::Status`]); a refund event
//! is thin ([`Focus::Refund`]), since a refund does not carry its payment's `metadata` (the
//! order).
//!
//! | Mollie | unified |
//! |---|---|
//! | payment `paid` (next-gen `payment.paid`) | `payment.succeeded` at `paidAt` (the event's `createdAt`) |
//! | payment `failed`, `canceled`, `expired` (next-gen `payment.failed` …) | `payment.failed` at `failedAt`/`canceledAt`/`expiredAt` |
//! | refund `processing` or `refunded` (next-gen `refund.processing`, `refund.refunded`) | `payment.refunded`, one per refund, at its `createdAt` |
//! | chargeback (classic only) | `payment.disputed`, one per chargeback, at its `createdAt` |
//! | payment `open`, `pending`, `authorized`; refund `queued`, `pending`, `failed`, `canceled`; other next-gen events | ignored |

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseError, Normalised};
use o2o_core::event::{Dispute, EventType, Payment, Refund};
use o2o_core::fields::{self, non_empty};
use o2o_core::link::OrderLink;
use o2o_core::money::Money;

use crate::payload::{Amount, ChargebackObject, Event, PaymentObject, RefundObject, is_payment_id};

/// The channel id, also `payment.provider`.
pub const PROVIDER: &str = "mollie";

/// What a Mollie delivery becomes.
pub type MollieNormalised = Normalised<Thin>;

/// A delivery that names a payment to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thin {
    /// The payment (`tr_…`).
    pub payment_id: String,
    /// What to report of it.
    pub focus: Focus,
}

/// What to report of a fetched payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Focus {
    /// A classic webhook, which says only that something changed: everything the payment shows
    /// (its status event, every refund, every chargeback).
    Everything,
    /// A next-gen payment event without its snapshot: the status event only.
    Status,
    /// A next-gen refund event: that refund (`re_…`) only.
    Refund(String),
}

/// How payments name their orders.
#[derive(Debug, Clone)]
pub struct Mapper {
    /// The `metadata` key holding the merchant's order id.
    pub order_ref_key: String,
    /// The channel whose orders the payments pay for.
    pub link: OrderLink,
}

impl Mapper {
    /// Maps a next-gen event.
    pub fn event(&self, event: &Event) -> Result<MollieNormalised, NormaliseError> {
        let kind = event.event_type.as_str();
        let occurred_at = || fields::rfc3339("createdAt", &event.created_at);
        match kind {
            "payment.paid" | "payment.failed" | "payment.canceled" | "payment.expired" => {
                let Some(entity) = event.entity() else {
                    let payment_id = entity_id(event, "tr_")?;
                    return Ok(Normalised::Enrich(Thin {
                        payment_id,
                        focus: Focus::Status,
                    }));
                };
                let payment: PaymentObject = serde_json::from_str(entity)
                    .map_err(|e| NormaliseError::from(e).within("_embedded.entity"))?;
                if event
                    .entity_id
                    .as_deref()
                    .is_some_and(|id| id != payment.id)
                {
                    return Err(NormaliseError::field(
                        "_embedded.entity.id",
                        "is not the event's entityId",
                    ));
                }
                let event_type = if kind == "payment.paid" {
                    EventType::PaymentSucceeded
                } else {
                    EventType::PaymentFailed
                };
                let draft = self.status_draft(&payment, event_type, occurred_at()?)?;
                Ok(Normalised::Events(vec![draft]))
            }
            "refund.processing" | "refund.refunded" => {
                let entity = event.entity().ok_or_else(|| {
                    NormaliseError::field(
                        "_embedded.entity",
                        "missing: a refund event names its payment only in its full payload",
                    )
                })?;
                let refund: RefundObject = serde_json::from_str(entity)
                    .map_err(|e| NormaliseError::from(e).within("_embedded.entity"))?;
                if event.entity_id.as_deref().is_some_and(|id| id != refund.id) {
                    return Err(NormaliseError::field(
                        "_embedded.entity.id",
                        "is not the event's entityId",
                    ));
                }
                let payment_id = refund
                    .payment_id
                    .filter(|id| is_payment_id(id))
                    .ok_or_else(|| {
                        NormaliseError::field(
                            "_embedded.entity.paymentId",
                            "missing or not a payment id",
                        )
                    })?;
                Ok(Normalised::Enrich(Thin {
                    payment_id,
                    focus: Focus::Refund(refund.id),
                }))
            }
            other => Ok(Normalised::Ignored(format!("event {other} is not mapped"))),
        }
    }

    /// Maps a fetched payment (with its refunds and chargebacks) for `focus`.
    pub fn fetched(
        &self,
        payment: &PaymentObject,
        focus: &Focus,
    ) -> Result<MollieNormalised, NormaliseError> {
        let status = self.status_event(payment)?;
        let drafts = match focus {
            Focus::Status => status.into_iter().collect(),
            Focus::Refund(id) => {
                let refunds = payment.embedded.as_ref().map(|e| e.refunds.as_slice());
                let (at, refund) = refunds
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .find(|(_, r)| &r.id == id)
                    .ok_or_else(|| {
                        NormaliseError::Enrichment(
                            "mollie payment: the event's refund is not among its refunds"
                                .to_owned(),
                        )
                    })?;
                if !counts(refund) {
                    return Ok(Normalised::Ignored(format!(
                        "the refund is now {}",
                        refund.status
                    )));
                }
                vec![self.refund_draft(payment, at, refund)?]
            }
            Focus::Everything => {
                let mut later = Vec::new();
                if let Some(embedded) = &payment.embedded {
                    for (at, refund) in embedded.refunds.iter().enumerate() {
                        if counts(refund) {
                            later.push(self.refund_draft(payment, at, refund)?);
                        }
                    }
                    for (at, chargeback) in embedded.chargebacks.iter().enumerate() {
                        later.push(self.chargeback_draft(payment, at, chargeback)?);
                    }
                }
                // Oldest first: a FIFO group delivers them in this order.
                later.sort_by_key(|draft| draft.occurred_at);
                status.into_iter().chain(later).collect()
            }
        };
        if drafts.is_empty() {
            return Ok(Normalised::Ignored(format!(
                "payment status {} has no event",
                payment.status
            )));
        }
        Ok(Normalised::Events(drafts))
    }

    /// The payment's status event, at the time of its status; `None` while it is not final.
    fn status_event(&self, payment: &PaymentObject) -> Result<Option<EventDraft>, NormaliseError> {
        let (event_type, field, time) = match payment.status.as_str() {
            "paid" => (EventType::PaymentSucceeded, "paidAt", &payment.paid_at),
            "failed" => (EventType::PaymentFailed, "failedAt", &payment.failed_at),
            "canceled" => (EventType::PaymentFailed, "canceledAt", &payment.canceled_at),
            "expired" => (EventType::PaymentFailed, "expiredAt", &payment.expired_at),
            _ => return Ok(None),
        };
        let occurred_at = match (time, &payment.created_at) {
            (Some(time), _) => fields::rfc3339(field, time)?,
            (None, Some(created)) => fields::rfc3339("createdAt", created)?,
            (None, None) => return Err(NormaliseError::field(field, "missing")),
        };
        self.status_draft(payment, event_type, occurred_at)
            .map(Some)
    }

    fn status_draft(
        &self,
        payment: &PaymentObject,
        event_type: EventType,
        occurred_at: Timestamp,
    ) -> Result<EventDraft, NormaliseError> {
        let mut unified = self.payment(payment)?;
        if event_type == EventType::PaymentFailed {
            unified.failure_reason = payment
                .status_reason
                .as_ref()
                .and_then(|r| non_empty(r.code.as_deref()))
                .or_else(|| {
                    payment
                        .details
                        .as_ref()
                        .and_then(|d| non_empty(d.failure_reason.as_deref()))
                })
                .or_else(|| Some(payment.status.clone()));
        }
        Ok(EventDraft {
            event_type,
            occurred_at,
            status: Some(payment.status.clone()),
            order: None,
            payment: Some(unified),
            refund: None,
        })
    }

    fn refund_draft(
        &self,
        payment: &PaymentObject,
        at: usize,
        refund: &RefundObject,
    ) -> Result<EventDraft, NormaliseError> {
        let field = |name: &str| format!("_embedded.refunds[{at}].{name}");
        let created = refund
            .created_at
            .as_deref()
            .ok_or_else(|| NormaliseError::field(&field("createdAt"), "missing"))?;
        Ok(EventDraft {
            event_type: EventType::PaymentRefunded,
            occurred_at: fields::rfc3339(&field("createdAt"), created)?,
            status: Some(refund.status.clone()),
            order: None,
            payment: Some(self.payment(payment)?),
            refund: Some(Refund {
                external_id: Some(refund.id.clone()),
                amount: Some(positive(&field("amount"), &refund.amount)?),
                reason: non_empty(refund.description.as_deref()),
                items: Vec::new(),
            }),
        })
    }

    fn chargeback_draft(
        &self,
        payment: &PaymentObject,
        at: usize,
        chargeback: &ChargebackObject,
    ) -> Result<EventDraft, NormaliseError> {
        let field = |name: &str| format!("_embedded.chargebacks[{at}].{name}");
        let created = chargeback
            .created_at
            .as_deref()
            .ok_or_else(|| NormaliseError::field(&field("createdAt"), "missing"))?;
        let mut unified = self.payment(payment)?;
        unified.dispute = Some(Dispute {
            external_id: Some(chargeback.id.clone()),
            amount: Some(positive(&field("amount"), &chargeback.amount)?),
            reason: chargeback.reason.as_ref().and_then(|r| {
                non_empty(r.code.as_deref()).or_else(|| non_empty(r.description.as_deref()))
            }),
            // Mollie's chargebacks have no status; a reversed one is named so.
            status: chargeback
                .reversed_at
                .as_ref()
                .map(|_| "reversed".to_owned()),
            evidence_due_by: None,
        });
        Ok(EventDraft {
            event_type: EventType::PaymentDisputed,
            occurred_at: fields::rfc3339(&field("createdAt"), created)?,
            status: Some(payment.status.clone()),
            order: None,
            payment: Some(unified),
            refund: None,
        })
    }

    /// The unified payment, linked to its order.
    fn payment(&self, payment: &PaymentObject) -> Result<Payment, NormaliseError> {
        let currency = fields::currency("amount.currency", &payment.amount.currency)?;
        let mut unified = Payment {
            provider: PROVIDER.to_owned(),
            payment_id: Some(payment.id.clone()),
            order_ref: crate::payload::metadata_value(
                payment.metadata.as_deref(),
                &self.order_ref_key,
            ),
            amount: Some(fields::money(
                "amount.value",
                &payment.amount.value,
                currency,
            )?),
            status: Some(payment.status.clone()),
            method: non_empty(payment.method.as_deref()),
            ..Payment::default()
        };
        self.link.apply(&mut unified);
        Ok(unified)
    }
}

/// Whether a refund is one: on its way (`processing`) or done (`refunded`). A `queued` or
/// `pending` one can still be canceled; a `failed` or `canceled` one returned nothing.
fn counts(refund: &RefundObject) -> bool {
    matches!(refund.status.as_str(), "processing" | "refunded")
}

/// An amount as a positive `Money`.
fn positive(field: &str, amount: &Amount) -> Result<Money, NormaliseError> {
    let currency = fields::currency(&format!("{field}.currency"), &amount.currency)?;
    let value = format!("{field}.value");
    fields::magnitude(&value, fields::money(&value, &amount.value, currency)?)
}

/// The event's `entityId`, which must start with `prefix` and be a safe id.
fn entity_id(event: &Event, prefix: &str) -> Result<String, NormaliseError> {
    event
        .entity_id
        .clone()
        .filter(|id| id.starts_with(prefix) && is_payment_id(id))
        .ok_or_else(|| NormaliseError::field("entityId", "missing or not a payment id"))
}
