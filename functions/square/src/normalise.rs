//! Square events → unified payment events.
//!
//! `payment.created` / `payment.updated` map by `data.object.payment.status`: `COMPLETED` is
//! `payment.succeeded`, `FAILED` and `CANCELED` are `payment.failed`, the others (`APPROVED`,
//! `PENDING`) are ignored, and so is a payment update that only records a refund
//! (`refunded_money` set: the refund's own events carry it). `refund.created` /
//! `refund.updated` are `payment.refunded` once the refund is `COMPLETED` (with its
//! `amount_money`), ignored before. `dispute.created` is `payment.disputed`. Everything else is
//! ignored. Money is `{amount, currency}` in the smallest denomination, read exactly.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{Dispute, EventType, Payment, Refund};
use o2o_core::fields::{self, non_empty};
use o2o_core::link::OrderLink;
use o2o_core::money::{Money, parse_minor_units};

use crate::payload::{self, Envelope, MoneyValue};

/// What a Square delivery becomes (fat webhooks: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// The channel id, as `payment.provider`.
const PROVIDER: &str = "square";

/// Maps one event.
pub fn normalise(
    envelope: &Envelope,
    link: &OrderLink,
    _ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    let event = envelope.event_type.as_str();
    let draft = match event {
        "payment.created" | "payment.updated" => {
            let objects = envelope.objects()?;
            let raw = objects
                .payment
                .ok_or_else(|| NormaliseError::field("data.object.payment", "missing"))?;
            let status = raw.status.as_deref().unwrap_or_default();
            let event_type = match status {
                "COMPLETED" if refunded(&raw)? => {
                    return Ok(Normalised::Ignored(format!(
                        "{event} records a refund of a completed payment; refund events carry it"
                    )));
                }
                "COMPLETED" => EventType::PaymentSucceeded,
                "FAILED" | "CANCELED" => EventType::PaymentFailed,
                _ => {
                    return Ok(Normalised::Ignored(format!(
                        "{event} with payment status {} is not mapped",
                        if status.is_empty() { "(none)" } else { status }
                    )));
                }
            };
            let mut payment = payment(&raw, link)?;
            if event_type == EventType::PaymentFailed {
                payment.failure_reason = failure_reason(&raw);
            }
            EventDraft {
                event_type,
                occurred_at: occurred_at(envelope, raw.updated_at.as_deref())?,
                status: payment.status.clone(),
                order: None,
                payment: Some(payment),
                refund: None,
            }
        }
        "refund.created" | "refund.updated" => {
            let objects = envelope.objects()?;
            let raw = objects
                .refund
                .ok_or_else(|| NormaliseError::field("data.object.refund", "missing"))?;
            let status = raw.status.as_deref().unwrap_or_default();
            if status != "COMPLETED" {
                return Ok(Normalised::Ignored(format!(
                    "{event} with refund status {} is not mapped",
                    if status.is_empty() { "(none)" } else { status }
                )));
            }
            refund_event(envelope, &raw)?
        }
        "dispute.created" => {
            let objects = envelope.objects()?;
            let raw = objects
                .object
                .or(objects.dispute)
                .ok_or_else(|| NormaliseError::field("data.object.object", "missing"))?;
            dispute_event(envelope, &raw)?
        }
        other => return Ok(Normalised::Ignored(format!("event {other} is not mapped"))),
    };
    Ok(Normalised::Events(vec![draft]))
}

/// Whether a payment has had money refunded (a `payment.updated` sent for a refund).
fn refunded(raw: &payload::Payment) -> Result<bool, NormaliseError> {
    match &raw.refunded_money {
        Some(money) => Ok(minor("data.object.payment.refunded_money", money)?.amount_minor > 0),
        None => Ok(false),
    }
}

/// The payment: `total_money` (with the tip) else `amount_money`; the order reference is the
/// merchant's `reference_id`, else Square's `order_id`.
fn payment(raw: &payload::Payment, link: &OrderLink) -> Result<Payment, NormaliseError> {
    let field = "data.object.payment";
    let payment_id = non_empty(Some(raw.id.as_str()))
        .ok_or_else(|| NormaliseError::field(&format!("{field}.id"), "empty"))?;
    let amount = match (&raw.total_money, &raw.amount_money) {
        (Some(total), _) => Some(minor(&format!("{field}.total_money"), total)?),
        (None, Some(amount)) => Some(minor(&format!("{field}.amount_money"), amount)?),
        (None, None) => None,
    };
    let mut payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id: Some(payment_id),
        order_ref: non_empty(raw.reference_id.as_deref())
            .or_else(|| non_empty(raw.order_id.as_deref())),
        amount,
        status: non_empty(raw.status.as_deref()),
        method: non_empty(raw.source_type.as_deref()).map(|s| s.to_ascii_lowercase()),
        ..Payment::default()
    };
    link.apply(&mut payment);
    Ok(payment)
}

/// A failed or canceled payment's reason: the card's first error (`CARD_DECLINED: …`), else
/// its status.
fn failure_reason(raw: &payload::Payment) -> Option<String> {
    let error = raw
        .card_details
        .as_ref()
        .and_then(|card| card.errors.first());
    let code = error.and_then(|e| non_empty(e.code.as_deref()));
    let detail = error.and_then(|e| non_empty(e.detail.as_deref()));
    match (code, detail) {
        (Some(code), Some(detail)) => Some(format!("{code}: {detail}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => non_empty(raw.status.as_deref()),
    }
}

/// A completed refund: its `amount_money` and id; the payment is its `payment_id`. The refund's
/// `order_id` is the return order Square creates for the refund, not the payment's order, so it
/// is not an order reference: the refund names none.
fn refund_event(envelope: &Envelope, raw: &payload::Refund) -> Result<EventDraft, NormaliseError> {
    let field = "data.object.refund";
    let money = raw
        .amount_money
        .as_ref()
        .ok_or_else(|| NormaliseError::field(&format!("{field}.amount_money"), "missing"))?;
    let amount = minor(&format!("{field}.amount_money"), money)?;
    if amount.amount_minor <= 0 {
        return Err(NormaliseError::field(
            &format!("{field}.amount_money.amount"),
            "not positive",
        ));
    }
    let payment_id = non_empty(raw.payment_id.as_deref())
        .ok_or_else(|| NormaliseError::field(&format!("{field}.payment_id"), "missing"))?;
    Ok(EventDraft {
        event_type: EventType::PaymentRefunded,
        occurred_at: occurred_at(envelope, raw.updated_at.as_deref())?,
        status: non_empty(raw.status.as_deref()),
        order: None,
        payment: Some(Payment {
            provider: PROVIDER.to_owned(),
            payment_id: Some(payment_id),
            ..Payment::default()
        }),
        refund: Some(Refund {
            external_id: non_empty(Some(raw.id.as_str())),
            amount: Some(amount),
            reason: non_empty(raw.reason.as_deref()),
            items: Vec::new(),
        }),
    })
}

/// A new dispute: the disputed payment, with the dispute.
fn dispute_event(
    envelope: &Envelope,
    raw: &payload::Dispute,
) -> Result<EventDraft, NormaliseError> {
    let field = "data.object.object";
    let payment_id = raw
        .disputed_payment
        .as_ref()
        .and_then(|p| non_empty(p.payment_id.as_deref()))
        .ok_or_else(|| {
            NormaliseError::field(&format!("{field}.disputed_payment.payment_id"), "missing")
        })?;
    let amount = raw
        .amount_money
        .as_ref()
        .map(|money| minor(&format!("{field}.amount_money"), money))
        .transpose()?;
    let evidence_due_by = raw
        .due_at
        .as_deref()
        .map(|at| fields::rfc3339(&format!("{field}.due_at"), at))
        .transpose()?;
    let state = non_empty(raw.state.as_deref());
    Ok(EventDraft {
        event_type: EventType::PaymentDisputed,
        occurred_at: occurred_at(envelope, None)?,
        status: state.clone(),
        order: None,
        payment: Some(Payment {
            provider: PROVIDER.to_owned(),
            payment_id: Some(payment_id),
            dispute: Some(Dispute {
                external_id: non_empty(raw.id.as_deref())
                    .or_else(|| non_empty(raw.dispute_id.as_deref())),
                amount,
                reason: non_empty(raw.reason.as_deref()),
                status: state,
                evidence_due_by,
            }),
            ..Payment::default()
        }),
        refund: None,
    })
}

/// The event's `created_at`, else the object's `updated_at`.
fn occurred_at(envelope: &Envelope, object: Option<&str>) -> Result<Timestamp, NormaliseError> {
    match (envelope.created_at.as_deref(), object) {
        (Some(at), _) => fields::rfc3339("created_at", at),
        (None, Some(at)) => fields::rfc3339("data.object.*.updated_at", at),
        (None, None) => Err(NormaliseError::field("created_at", "missing")),
    }
}

/// `{amount, currency}`: an integer in the currency's smallest denomination (ISO 4217 exponent).
fn minor(field: &str, money: &MoneyValue) -> Result<Money, NormaliseError> {
    let currency = fields::currency(&format!("{field}.currency"), &money.currency)?;
    let units = parse_minor_units(&money.amount.0, 0).map_err(|_| {
        NormaliseError::field(
            &format!("{field}.amount"),
            "not an integer number of minor units",
        )
    })?;
    Ok(Money::from_minor(units, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<Normalised, String> {
        let envelope = payload::read(body.as_bytes()).map_err(|e| e.to_string())?;
        let ctx = NormaliseContext {
            received_at: Timestamp::now(),
        };
        normalise(&envelope, &OrderLink::default(), &ctx).map_err(|e| e.to_string())
    }

    fn payment_event(payment: &str) -> String {
        format!(
            r#"{{"merchant_id":"M","type":"payment.updated","event_id":"e","created_at":"2020-02-06T21:27:34.308Z","data":{{"type":"payment","id":"p","object":{{"payment":{payment}}}}}}}"#
        )
    }

    #[test]
    fn payment_statuses_map_or_are_ignored() {
        let with = |status: &str| {
            read(&payment_event(&format!(
                r#"{{"id":"p","status":"{status}","amount_money":{{"amount":100,"currency":"USD"}}}}"#
            )))
        };
        let kind = |result: Result<Normalised, String>| match result {
            Ok(Normalised::Events(events)) => Some(events[0].event_type),
            _ => None,
        };
        assert_eq!(kind(with("COMPLETED")), Some(EventType::PaymentSucceeded));
        assert_eq!(kind(with("FAILED")), Some(EventType::PaymentFailed));
        assert_eq!(kind(with("CANCELED")), Some(EventType::PaymentFailed));
        for status in ["APPROVED", "PENDING"] {
            assert_eq!(
                with(status),
                Ok(Normalised::Ignored(format!(
                    "payment.updated with payment status {status} is not mapped"
                )))
            );
        }
        match with("CANCELED") {
            Ok(Normalised::Events(events)) => {
                let payment = events[0].payment.as_ref().expect("payment");
                assert_eq!(payment.failure_reason.as_deref(), Some("CANCELED"));
                assert_eq!(
                    payment.amount,
                    Some(Money::from_minor(100, currency("USD")))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn currency(code: &str) -> o2o_core::Currency {
        o2o_core::Currency::from_code(code).expect("currency")
    }

    #[test]
    fn an_update_that_records_a_refund_is_not_a_second_success() {
        let refunded = payment_event(
            r#"{"id":"p","status":"COMPLETED","amount_money":{"amount":100,"currency":"USD"},"refunded_money":{"amount":40,"currency":"USD"},"refund_ids":["p_r"]}"#,
        );
        assert!(matches!(read(&refunded), Ok(Normalised::Ignored(_))));
        let none_yet = payment_event(
            r#"{"id":"p","status":"COMPLETED","amount_money":{"amount":100,"currency":"USD"},"refunded_money":{"amount":0,"currency":"USD"}}"#,
        );
        assert!(matches!(read(&none_yet), Ok(Normalised::Events(_))));
    }

    #[test]
    fn money_uses_the_iso_exponent_and_names_bad_fields() {
        let amount = |money: &str| match read(&payment_event(&format!(
            r#"{{"id":"p","status":"COMPLETED","amount_money":{money}}}"#
        ))) {
            Ok(Normalised::Events(events)) => Ok(events[0].payment.as_ref().and_then(|p| p.amount)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(
            amount(r#"{"amount":1500,"currency":"JPY"}"#),
            Ok(Some(Money::from_minor(1500, currency("JPY"))))
        );
        assert_eq!(
            amount(r#"{"amount":1234,"currency":"KWD"}"#),
            Ok(Some(Money::from_minor(1234, currency("KWD"))))
        );
        assert_eq!(
            amount(r#"{"amount":12.5,"currency":"USD"}"#),
            Err(
                "data.object.payment.amount_money.amount: not an integer number of minor units"
                    .into()
            )
        );
        assert_eq!(
            amount(r#"{"amount":1,"currency":"usd"}"#),
            Err("data.object.payment.amount_money.currency: unknown currency code".into())
        );
    }

    #[test]
    fn refunds_map_once_completed_and_must_be_positive() {
        let refund = |status: &str, amount: i64| {
            read(&format!(
                r#"{{"merchant_id":"M","type":"refund.updated","event_id":"e","created_at":"2020-02-06T22:14:16.421Z","data":{{"type":"refund","id":"p_r","object":{{"refund":{{"id":"p_r","status":"{status}","amount_money":{{"amount":{amount},"currency":"USD"}},"payment_id":"p","order_id":"return-order"}}}}}}}}"#
            ))
        };
        assert!(matches!(refund("COMPLETED", 40), Ok(Normalised::Events(_))));
        assert_eq!(
            refund("PENDING", 40),
            Ok(Normalised::Ignored(
                "refund.updated with refund status PENDING is not mapped".into()
            ))
        );
        assert_eq!(
            refund("COMPLETED", 0),
            Err("data.object.refund.amount_money.amount: not positive".into())
        );
    }

    #[test]
    fn a_mapped_event_without_its_object_names_what_is_missing() {
        assert_eq!(
            read(r#"{"type":"payment.updated","data":{"type":"payment","object":{}}}"#),
            Err("data.object.payment: missing".into())
        );
        assert_eq!(
            read(r#"{"type":"dispute.created","data":{"type":"dispute","object":{}}}"#),
            Err("data.object.object: missing".into())
        );
        assert_eq!(
            read(
                r#"{"type":"payment.updated","data":{"object":{"payment":{"id":"p","status":"COMPLETED"}}}}"#
            ),
            Err("created_at: missing".into())
        );
        assert_eq!(
            read(r#"{"type":"labor.shift.created","data":{"object":{"shift":1}}}"#),
            Ok(Normalised::Ignored(
                "event labor.shift.created is not mapped".into()
            ))
        );
    }
}
