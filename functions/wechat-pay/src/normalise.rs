//! A decrypted payment or refund result → unified payment events.

use o2o_core::connector::{EventDraft, NormaliseError, Normalised};
use o2o_core::event::{EventType, Payment, Refund};
use o2o_core::fields;
use o2o_core::link::OrderLink;
use o2o_core::money::{Currency, Money};
use o2o_core::timestamp::Timestamp;

use crate::payload::{Amount, Notification, Resource};

/// The channel id, as `payment.provider`.
const PROVIDER: &str = "wechat-pay";

/// One authenticated notification: its signed envelope and its decrypted resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The envelope (id, event type, times), from the signed body.
    pub notification: Notification,
    /// The decrypted `resource`.
    pub resource: Resource,
}

/// `TRANSACTION.SUCCESS` → `payment.succeeded`, `REFUND.SUCCESS` → `payment.refunded`; the other
/// results of a refund and every other notification are acknowledged and ignored.
pub fn normalise(message: &Message, link: &OrderLink) -> Result<Normalised<()>, NormaliseError> {
    let event_type = message.notification.event_type.as_str();
    match event_type {
        "TRANSACTION.SUCCESS" => succeeded(message, link),
        "REFUND.SUCCESS" => refunded(message, link),
        "REFUND.ABNORMAL" => Ok(Normalised::Ignored(
            "REFUND.ABNORMAL: the refund has not reached the payer (not final; the merchant \
             resolves it), and the payment stands"
                .to_owned(),
        )),
        "REFUND.CLOSED" => Ok(Normalised::Ignored(
            "REFUND.CLOSED: the refund was closed without money returned; the payment stands"
                .to_owned(),
        )),
        other => Ok(Normalised::Ignored(format!(
            "{other} is not a payment or refund result"
        ))),
    }
}

fn succeeded(message: &Message, link: &OrderLink) -> Result<Normalised<()>, NormaliseError> {
    let resource = &message.resource;
    let amount = amount(resource)?;
    let currency = currency(amount)?;
    let total = required(amount.total, "resource.amount.total")?;
    let mut payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id: Some(text(&resource.transaction_id, "resource.transaction_id")?),
        order_ref: Some(text(&resource.out_trade_no, "resource.out_trade_no")?),
        amount: Some(fen("resource.amount.total", total, currency)?),
        status: resource.trade_state.clone(),
        method: resource.trade_type.clone(),
        ..Payment::default()
    };
    link.apply(&mut payment);
    Ok(Normalised::Events(vec![EventDraft {
        event_type: EventType::PaymentSucceeded,
        occurred_at: occurred_at(message)?,
        status: resource.trade_state.clone(),
        order: None,
        payment: Some(payment),
        refund: None,
    }]))
}

fn refunded(message: &Message, link: &OrderLink) -> Result<Normalised<()>, NormaliseError> {
    let resource = &message.resource;
    let amount = amount(resource)?;
    let currency = currency(amount)?;
    let refund = required(amount.refund, "resource.amount.refund")?;
    if refund <= 0 {
        return Err(NormaliseError::field(
            "resource.amount.refund",
            "must be positive",
        ));
    }
    let total = amount
        .total
        .map(|total| fen("resource.amount.total", total, currency))
        .transpose()?;
    let mut payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id: Some(text(&resource.transaction_id, "resource.transaction_id")?),
        order_ref: Some(text(&resource.out_trade_no, "resource.out_trade_no")?),
        amount: total,
        ..Payment::default()
    };
    link.apply(&mut payment);
    Ok(Normalised::Events(vec![EventDraft {
        event_type: EventType::PaymentRefunded,
        occurred_at: occurred_at(message)?,
        status: resource.refund_status.clone(),
        order: None,
        payment: Some(payment),
        refund: Some(Refund {
            external_id: Some(text(&resource.refund_id, "resource.refund_id")?),
            amount: Some(fen("resource.amount.refund", refund, currency)?),
            reason: None,
            items: Vec::new(),
        }),
    }]))
}

/// The resource's `success_time`, else the notification's `create_time`.
fn occurred_at(message: &Message) -> Result<Timestamp, NormaliseError> {
    match (
        &message.resource.success_time,
        &message.notification.create_time,
    ) {
        (Some(time), _) => fields::rfc3339("resource.success_time", time),
        (None, Some(time)) => fields::rfc3339("create_time", time),
        (None, None) => Err(NormaliseError::field("resource.success_time", "missing")),
    }
}

fn amount(resource: &Resource) -> Result<&Amount, NormaliseError> {
    resource
        .amount
        .as_ref()
        .ok_or_else(|| NormaliseError::field("resource.amount", "missing"))
}

/// `amount.currency`; refund notifications name none, and WeChat Pay's domestic (mainland)
/// payments and refunds are in CNY only.
fn currency(amount: &Amount) -> Result<Currency, NormaliseError> {
    fields::currency(
        "resource.amount.currency",
        amount.currency.as_deref().unwrap_or("CNY"),
    )
}

/// An amount in fen (minor units), never negative.
fn fen(field: &str, minor: i64, currency: Currency) -> Result<Money, NormaliseError> {
    if minor < 0 {
        return Err(NormaliseError::field(field, "must not be negative"));
    }
    Ok(Money::from_minor(minor, currency))
}

fn required<T: Copy>(value: Option<T>, field: &str) -> Result<T, NormaliseError> {
    value.ok_or_else(|| NormaliseError::field(field, "missing"))
}

/// A non-blank identifier field.
fn text(value: &Option<String>, field: &str) -> Result<String, NormaliseError> {
    fields::non_empty(value.as_deref()).ok_or_else(|| NormaliseError::field(field, "missing"))
}
