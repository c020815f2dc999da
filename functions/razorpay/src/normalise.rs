//! Razorpay events → unified payment events.
//!
//! `payment.captured` is `payment.succeeded`, `payment.failed` is `payment.failed`,
//! `refund.processed` is `payment.refunded` (with the refund entity's amount: full or partial),
//! `payment.dispute.created` is `payment.disputed`. Everything else (`payment.authorized`, which a
//! capture follows; `order.paid`, which repeats `payment.captured` for orders; `refund.created`,
//! before the money moved; the other dispute states …) is ignored. Amounts are integers in the
//! currency's smallest sub-unit, read exactly from their JSON text.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{Dispute, EventType, Payment, Refund};
use o2o_core::fields::{self, non_empty};
use o2o_core::link::OrderLink;
use o2o_core::money::{DecimalText, Money, parse_minor_units};

use crate::payload::{self, Entities, Envelope};

/// What a Razorpay delivery becomes (fat webhooks: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// The channel id, as `payment.provider`.
const PROVIDER: &str = "razorpay";

/// How the connector reads a payment's merchant order.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The notes key holding the merchant's order id.
    pub order_ref_notes_key: String,
    /// The linked orders channel.
    pub link: OrderLink,
}

/// Maps one event.
pub fn normalise(
    envelope: &Envelope,
    mapping: &Mapping,
    _ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    let draft = match envelope.event.as_str() {
        "payment.captured" => {
            let entities = envelope.entities()?;
            let payment = mapping.payment(&entities)?;
            EventDraft {
                event_type: EventType::PaymentSucceeded,
                occurred_at: occurred_at(envelope, payment_time(&entities))?,
                status: payment.status.clone(),
                payment: Some(payment),
                order: None,
                refund: None,
            }
        }
        "payment.failed" => {
            let entities = envelope.entities()?;
            let mut payment = mapping.payment(&entities)?;
            payment.failure_reason = entities
                .payment
                .as_ref()
                .and_then(|p| failure_reason(&p.entity));
            EventDraft {
                event_type: EventType::PaymentFailed,
                occurred_at: occurred_at(envelope, payment_time(&entities))?,
                status: payment.status.clone(),
                payment: Some(payment),
                order: None,
                refund: None,
            }
        }
        "refund.processed" => refund_event(envelope, mapping)?,
        "payment.dispute.created" => dispute_event(envelope, mapping)?,
        other => return Ok(Normalised::Ignored(format!("event {other} is not mapped"))),
    };
    Ok(Normalised::Events(vec![draft]))
}

impl Mapping {
    /// The payment of a payment event (`payload.payment.entity`), linked to its order.
    fn payment(&self, entities: &Entities) -> Result<Payment, NormaliseError> {
        let raw = &entities
            .payment
            .as_ref()
            .ok_or_else(|| NormaliseError::field("payload.payment", "missing"))?
            .entity;
        let field = "payload.payment.entity";
        let mut payment = Payment {
            provider: PROVIDER.to_owned(),
            payment_id: non_empty(Some(raw.id.as_str())),
            order_ref: self.order_ref(raw),
            amount: Some(minor(
                &format!("{field}.amount"),
                &raw.amount,
                &format!("{field}.currency"),
                &raw.currency,
            )?),
            status: non_empty(raw.status.as_deref()),
            method: non_empty(raw.method.as_deref()),
            ..Payment::default()
        };
        if payment.payment_id.is_none() {
            return Err(NormaliseError::field(&format!("{field}.id"), "empty"));
        }
        self.link.apply(&mut payment);
        Ok(payment)
    }

    /// The merchant's order id: the configured notes key first (the merchant's own id, which it
    /// sets on the payment or on the Razorpay order it was made through), else Razorpay's
    /// `order_id` (`order_…`, Razorpay's own order, whose `receipt` holds the merchant id but is
    /// not in payment events).
    fn order_ref(&self, raw: &payload::Payment) -> Option<String> {
        payload::note(&raw.notes, &self.order_ref_notes_key)
            .or_else(|| non_empty(raw.order_id.as_deref()))
    }
}

/// `payment.failed`'s reason: `error_code: error_description`, or whichever of them is set, else
/// `error_reason`.
fn failure_reason(raw: &payload::Payment) -> Option<String> {
    let code = non_empty(raw.error_code.as_deref());
    let description = non_empty(raw.error_description.as_deref());
    match (code, description) {
        (Some(code), Some(description)) => Some(format!("{code}: {description}")),
        (Some(one), None) | (None, Some(one)) => Some(one),
        (None, None) => non_empty(raw.error_reason.as_deref()),
    }
}

/// `refund.processed`: the refund entity's amount and id; the payment from the payment entity
/// where the payload has it (its order link, method), else the refund's `payment_id` alone.
fn refund_event(envelope: &Envelope, mapping: &Mapping) -> Result<EventDraft, NormaliseError> {
    let entities = envelope.entities()?;
    let raw = &entities
        .refund
        .as_ref()
        .ok_or_else(|| NormaliseError::field("payload.refund", "missing"))?
        .entity;
    let field = "payload.refund.entity";
    let amount = minor(
        &format!("{field}.amount"),
        &raw.amount,
        &format!("{field}.currency"),
        &raw.currency,
    )?;
    if amount.amount_minor <= 0 {
        return Err(NormaliseError::field(
            &format!("{field}.amount"),
            "not positive",
        ));
    }
    let payment_id = non_empty(Some(raw.payment_id.as_str()))
        .ok_or_else(|| NormaliseError::field(&format!("{field}.payment_id"), "empty"))?;
    let payment = match &entities.payment {
        Some(_) => {
            let payment = mapping.payment(&entities)?;
            if payment.payment_id.as_deref() != Some(payment_id.as_str()) {
                return Err(NormaliseError::field(
                    "payload.payment.entity.id",
                    "is not the refund's payment_id",
                ));
            }
            payment
        }
        None => Payment {
            provider: PROVIDER.to_owned(),
            payment_id: Some(payment_id),
            ..Payment::default()
        },
    };
    let refund = Refund {
        external_id: non_empty(Some(raw.id.as_str())),
        amount: Some(amount),
        reason: None,
        items: Vec::new(),
    };
    Ok(EventDraft {
        event_type: EventType::PaymentRefunded,
        occurred_at: occurred_at(envelope, raw.created_at)?,
        status: non_empty(raw.status.as_deref()),
        order: None,
        payment: Some(payment),
        refund: Some(refund),
    })
}

/// `payment.dispute.created`: the payment, with the dispute entity as its `dispute`.
fn dispute_event(envelope: &Envelope, mapping: &Mapping) -> Result<EventDraft, NormaliseError> {
    let entities = envelope.entities()?;
    let raw = &entities
        .dispute
        .as_ref()
        .ok_or_else(|| NormaliseError::field("payload.dispute", "missing"))?
        .entity;
    let field = "payload.dispute.entity";
    let mut payment = mapping.payment(&entities)?;
    if payment.payment_id.as_deref() != Some(raw.payment_id.as_str()) {
        return Err(NormaliseError::field(
            "payload.payment.entity.id",
            "is not the dispute's payment_id",
        ));
    }
    let evidence_due_by = raw
        .respond_by
        .map(|at| fields::unix_seconds(&format!("{field}.respond_by"), at))
        .transpose()?;
    payment.dispute = Some(Dispute {
        external_id: non_empty(Some(raw.id.as_str())),
        amount: Some(minor(
            &format!("{field}.amount"),
            &raw.amount,
            &format!("{field}.currency"),
            &raw.currency,
        )?),
        reason: non_empty(raw.reason_code.as_deref()),
        status: non_empty(raw.status.as_deref()),
        evidence_due_by,
    });
    Ok(EventDraft {
        event_type: EventType::PaymentDisputed,
        occurred_at: occurred_at(envelope, raw.created_at)?,
        status: non_empty(raw.status.as_deref()),
        order: None,
        payment: Some(payment),
        refund: None,
    })
}

fn payment_time(entities: &Entities) -> Option<i64> {
    entities.payment.as_ref().and_then(|p| p.entity.created_at)
}

/// The event's `created_at`, else the entity's.
fn occurred_at(envelope: &Envelope, entity: Option<i64>) -> Result<Timestamp, NormaliseError> {
    match (envelope.created_at, entity) {
        (Some(at), _) => fields::unix_seconds("created_at", at),
        (None, Some(at)) => fields::unix_seconds("payload.*.entity.created_at", at),
        (None, None) => Err(NormaliseError::field("created_at", "missing")),
    }
}

/// An integer amount in the currency's smallest sub-unit (ISO 4217 exponent).
fn minor(
    field: &str,
    amount: &DecimalText,
    currency_field: &str,
    code: &str,
) -> Result<Money, NormaliseError> {
    let currency = fields::currency(currency_field, code)?;
    let units = parse_minor_units(&amount.0, 0)
        .map_err(|_| NormaliseError::field(field, "not an integer number of sub-units"))?;
    Ok(Money::from_minor(units, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping {
            order_ref_notes_key: "order_id".into(),
            link: OrderLink::default(),
        }
    }

    fn ctx() -> NormaliseContext {
        NormaliseContext {
            received_at: Timestamp::now(),
        }
    }

    fn captured(amount: &str, currency: &str) -> String {
        format!(
            r#"{{"event":"payment.captured","payload":{{"payment":{{"entity":{{"id":"pay_1","amount":{amount},"currency":"{currency}","status":"captured","notes":[]}}}}}},"created_at":1700000000}}"#
        )
    }

    fn amount_of(body: &str) -> Result<Option<Money>, NormaliseError> {
        let envelope = payload::read(body.as_bytes())?;
        match normalise(&envelope, &mapping(), &ctx())? {
            Normalised::Events(events) => Ok(events[0].payment.as_ref().and_then(|p| p.amount)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn amounts_are_sub_units_by_the_iso_exponent() {
        let money = |minor, code| Ok(Some(Money::from_minor(minor, fields::currency("c", code)?)));
        // Razorpay: KWD 295.990 is 295990; JPY 295 is 295.
        assert_eq!(amount_of(&captured("295990", "KWD")), money(295_990, "KWD"));
        assert_eq!(amount_of(&captured("295", "JPY")), money(295, "JPY"));
        assert_eq!(amount_of(&captured("29900", "INR")), money(29_900, "INR"));
    }

    #[test]
    fn a_bad_amount_or_currency_names_the_field_not_the_value() {
        let error = amount_of(&captured("299.5", "INR")).expect_err("fractional");
        assert_eq!(
            error.to_string(),
            "payload.payment.entity.amount: not an integer number of sub-units"
        );
        let error = amount_of(&captured("100", "ZZZ")).expect_err("currency");
        assert_eq!(
            error.to_string(),
            "payload.payment.entity.currency: unknown currency code"
        );
        let error = amount_of(&captured("\"secret\"", "INR")).expect_err("text");
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn a_refund_must_be_positive_and_of_its_payment() {
        let refund = |amount: &str, payment: &str| {
            format!(
                r#"{{"event":"refund.processed","payload":{{"refund":{{"entity":{{"id":"rfnd_1","amount":{amount},"currency":"INR","payment_id":"pay_1","status":"processed","created_at":1}}}},"payment":{{"entity":{{"id":"{payment}","amount":100,"currency":"INR","notes":[]}}}}}},"created_at":1700000000}}"#
            )
        };
        let read = |body: String| {
            let envelope = payload::read(body.as_bytes()).expect("envelope");
            normalise(&envelope, &mapping(), &ctx())
        };
        assert!(matches!(
            read(refund("100", "pay_1")),
            Ok(Normalised::Events(_))
        ));
        let error = read(refund("0", "pay_1")).expect_err("zero");
        assert_eq!(
            error.to_string(),
            "payload.refund.entity.amount: not positive"
        );
        let error = read(refund("100", "pay_2")).expect_err("another payment");
        assert!(error.to_string().contains("payment_id"), "{error}");
        let without_payment = r#"{"event":"refund.processed","payload":{"refund":{"entity":{"id":"rfnd_1","amount":100,"currency":"INR","payment_id":"pay_1"}}},"created_at":1700000000}"#;
        match read(without_payment.to_owned()) {
            Ok(Normalised::Events(events)) => {
                let payment = events[0].payment.as_ref().expect("payment");
                assert_eq!(payment.payment_id.as_deref(), Some("pay_1"));
                assert_eq!(payment.order_ref, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_mapped_event_without_its_entity_or_time_names_what_is_missing() {
        let read = |body: &str| {
            let envelope = payload::read(body.as_bytes()).expect("envelope");
            normalise(&envelope, &mapping(), &ctx()).map_err(|e| e.to_string())
        };
        assert_eq!(
            read(r#"{"event":"payment.captured","payload":{},"created_at":1}"#),
            Err("payload.payment: missing".into())
        );
        assert_eq!(
            read(
                r#"{"event":"payment.captured","payload":{"payment":{"entity":{"id":"pay_1","amount":1,"currency":"INR"}}}}"#
            ),
            Err("created_at: missing".into())
        );
    }
}
