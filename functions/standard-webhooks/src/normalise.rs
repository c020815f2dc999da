//! The configured mapping (`event_map` and the pointers) and what it makes of a payload.

use std::collections::BTreeMap;

use o2o_core::connector::{EventDraft, NormaliseError};
use o2o_core::event::{Dispute, EventType, Order, OrderStatus, Payment, Refund, Totals};
use o2o_core::fields;
use o2o_core::link::OrderLink;
use o2o_core::money::{Currency, Money};
use serde_json::value::RawValue;

use crate::pointer::{AmountFormat, Pointer};

/// The channel id, which payments name as their provider.
pub const CHANNEL_ID: &str = "standard-webhooks";

/// One authenticated payload, read once: its raw JSON, its event type, and the signed attempt
/// time (`webhook-timestamp`).
#[derive(Debug, Clone)]
pub struct Message<'v> {
    /// The payload.
    pub root: &'v RawValue,
    /// The sender's event type (at `event_type_pointer`).
    pub event_type: String,
    /// The `webhook-timestamp` of the attempt, Unix seconds.
    pub attempted_at: i64,
}

/// Where the fields are, validated at start-up.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Sender's event type → unified event type.
    pub event_map: BTreeMap<String, EventType>,
    /// The event type.
    pub event_type: Pointer,
    /// The merchant's order id.
    pub order_ref: Pointer,
    /// The sender's payment id.
    pub payment_id: Option<Pointer>,
    /// The amount and how it is written.
    pub amount: Option<(Pointer, AmountFormat)>,
    /// The currency code.
    pub currency_pointer: Option<Pointer>,
    /// The currency when the payload names none.
    pub currency: Option<Currency>,
    /// When the event happened.
    pub occurred_at: Pointer,
    /// The sender's status string.
    pub status: Option<Pointer>,
    /// Why a payment failed.
    pub failure_reason: Option<Pointer>,
    /// The refund's id.
    pub refund_id: Option<Pointer>,
    /// Why it was refunded.
    pub refund_reason: Option<Pointer>,
    /// The dispute's id.
    pub dispute_id: Option<Pointer>,
    /// Why it was disputed.
    pub dispute_reason: Option<Pointer>,
}

/// The draft for a mapped event, or the error naming the payload field that cannot be read.
pub fn draft(
    mapping: &Mapping,
    link: &OrderLink,
    event_type: EventType,
    message: &Message<'_>,
) -> Result<EventDraft, NormaliseError> {
    let root = message.root;
    let occurred_at = match mapping.occurred_at.find(root)? {
        Some(value) => mapping.occurred_at.time(value)?,
        None => fields::unix_seconds("webhook-timestamp", message.attempted_at)?,
    };
    let status = Pointer::optional_text(mapping.status.as_ref(), root)?;
    let order_ref = fields::non_empty(mapping.order_ref.text(root)?.as_deref());
    let currency = currency(mapping, root)?;
    let amount = amount(mapping, root, currency)?;
    let text = |pointer: &Option<Pointer>| Pointer::optional_text(pointer.as_ref(), root);
    let positive = |money: Option<Money>| {
        money
            .map(|money| fields::magnitude(amount_field(mapping), money))
            .transpose()
    };
    let mut draft = EventDraft {
        event_type,
        occurred_at,
        status: status.clone(),
        order: None,
        payment: None,
        refund: None,
    };
    match event_type {
        EventType::PaymentSucceeded
        | EventType::PaymentFailed
        | EventType::PaymentRefunded
        | EventType::PaymentDisputed => {
            let mut payment = Payment {
                provider: CHANNEL_ID.to_owned(),
                payment_id: text(&mapping.payment_id)?,
                order_ref,
                status: status.clone(),
                ..Payment::default()
            };
            match event_type {
                EventType::PaymentRefunded => {
                    draft.refund = Some(Refund {
                        external_id: text(&mapping.refund_id)?,
                        amount: positive(amount)?,
                        reason: text(&mapping.refund_reason)?,
                        items: Vec::new(),
                    });
                }
                EventType::PaymentDisputed => {
                    payment.dispute = Some(Dispute {
                        external_id: text(&mapping.dispute_id)?,
                        amount: positive(amount)?,
                        reason: text(&mapping.dispute_reason)?,
                        status,
                        evidence_due_by: None,
                    });
                }
                EventType::PaymentFailed => {
                    payment.amount = amount;
                    payment.failure_reason = text(&mapping.failure_reason)?;
                }
                _ => payment.amount = amount,
            }
            link.apply(&mut payment);
            draft.payment = Some(payment);
        }
        EventType::OrderCreated
        | EventType::OrderUpdated
        | EventType::OrderCancelled
        | EventType::OrderCompleted
        | EventType::OrderRefunded
        | EventType::FulfilmentUpdated => {
            let external_id = order_ref.ok_or_else(|| {
                NormaliseError::field(mapping.order_ref.as_str(), "missing; order events need it")
            })?;
            let mut order = Order {
                external_id,
                status: match event_type {
                    EventType::OrderCancelled => Some(OrderStatus::Cancelled),
                    EventType::OrderCompleted => Some(OrderStatus::Completed),
                    _ => None,
                },
                currency,
                ..Order::default()
            };
            if event_type == EventType::OrderRefunded {
                draft.refund = Some(Refund {
                    external_id: text(&mapping.refund_id)?,
                    amount: positive(amount)?,
                    reason: text(&mapping.refund_reason)?,
                    items: Vec::new(),
                });
            } else {
                order.totals = Totals {
                    total: amount,
                    ..Totals::default()
                };
            }
            draft.order = Some(order);
        }
        // Results of our own commands; `event_map` cannot name them (settings refuse it).
        EventType::CommandSucceeded | EventType::CommandFailed => {
            return Err(NormaliseError::field(
                "event_map",
                "command results are not webhook events",
            ));
        }
    }
    Ok(draft)
}

/// The payload's currency (upper-cased: some senders write `usd`), else the fixed one.
fn currency(mapping: &Mapping, root: &RawValue) -> Result<Option<Currency>, NormaliseError> {
    if let Some(pointer) = &mapping.currency_pointer
        && let Some(code) = pointer.text(root)?
    {
        return fields::currency(pointer.as_str(), &code.to_ascii_uppercase()).map(Some);
    }
    Ok(mapping.currency)
}

/// The amount, where the pointer is configured and the payload has one.
fn amount(
    mapping: &Mapping,
    root: &RawValue,
    currency: Option<Currency>,
) -> Result<Option<Money>, NormaliseError> {
    let Some((pointer, format)) = &mapping.amount else {
        return Ok(None);
    };
    let Some(value) = pointer.find(root)? else {
        return Ok(None);
    };
    let currency = currency.ok_or_else(|| {
        let field = mapping
            .currency_pointer
            .as_ref()
            .map_or("currency", Pointer::as_str);
        NormaliseError::field(field, "missing; the amount needs a currency")
    })?;
    pointer.money(value, *format, currency).map(Some)
}

fn amount_field(mapping: &Mapping) -> &str {
    mapping
        .amount
        .as_ref()
        .map_or("amount", |(pointer, _)| pointer.as_str())
}
