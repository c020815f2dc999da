//! Stripe events → unified payment events.
//!
//! | Stripe event | unified | amount | payment id | order ref |
//! |---|---|---|---|---|
//! | `payment_intent.succeeded` | `payment.succeeded` | `amount_received` | PaymentIntent | `metadata[key]` |
//! | `payment_intent.payment_failed` | `payment.failed` | `amount` | PaymentIntent | `metadata[key]` |
//! | `charge.refunded` | `payment.refunded` | this refund (below) | its PaymentIntent, else the charge | `metadata[key]` |
//! | `charge.dispute.created` | `payment.disputed` | the dispute's | its PaymentIntent, else the charge | `metadata[key]` |
//! | `checkout.session.completed`, `payment_status` `paid` | `payment.succeeded` | `amount_total` | its PaymentIntent, else the session | `client_reference_id`, else `metadata[key]` |
//!
//! Anything else is ignored, and so is a Checkout Session that is not (yet) paid.
//!
//! `charge.refunded` carries the charge, whose `amount_refunded` is cumulative. The refund this
//! event reports is the increase over `data.previous_attributes.amount_refunded` (what the event
//! changed). Its id and reason come from the newest refund in the charge's `refunds` list when
//! that list is there (API versions before 2022-11-15) and the newest refund's amount is that
//! increase; without `previous_attributes` the newest listed refund is the refund. With neither,
//! the refund's own amount cannot be told from the cumulative one: the delivery goes to the
//! quarantine rather than report a guess.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseError};
use o2o_core::event::{Dispute, EventType, Payment, Refund};
use o2o_core::fields::{self, non_empty};
use o2o_core::link::OrderLink;

use crate::amount;
use crate::payload::{self, Charge, ChargeBefore, CheckoutSession, Created, Event, Metadata};

/// What a Stripe delivery becomes (fat webhooks: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// The channel id, as `payment.provider`.
const PROVIDER: &str = "stripe";

/// What normalising needs from the settings.
pub struct Options<'s> {
    /// The metadata key holding the merchant's order id.
    pub order_ref_metadata_key: &'s str,
    /// The orders the payments pay for.
    pub link: &'s OrderLink,
}

/// Maps one event.
pub fn normalise(event: &Event, options: &Options<'_>) -> Result<Normalised, NormaliseError> {
    if event
        .object
        .as_deref()
        .is_some_and(|object| object != "event")
    {
        return Ok(Normalised::Ignored(
            "thin event notifications are not mapped: subscribe the endpoint to snapshot events"
                .to_owned(),
        ));
    }
    let mapped = [
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
        "charge.dispute.created",
        "checkout.session.completed",
    ];
    if !mapped.contains(&event.kind.as_str()) {
        return Ok(Normalised::Ignored(format!(
            "event {} is not mapped",
            event.kind
        )));
    }
    let occurred_at = occurred_at(event.created.as_ref())?;
    let data = event
        .data
        .as_ref()
        .ok_or_else(|| NormaliseError::field("data", "missing"))?;
    let object = data.object.get();
    let (event_type, mut payment, refund) = match event.kind.as_str() {
        "payment_intent.succeeded" => payment_intent(object, true, options)?,
        "payment_intent.payment_failed" => payment_intent(object, false, options)?,
        "charge.refunded" => {
            let before = match &data.previous_attributes {
                Some(raw) => payload::read("data.previous_attributes", raw.get())?,
                None => None,
            };
            charge_refunded(object, before, options)?
        }
        "charge.dispute.created" => dispute(object, options)?,
        _ => match checkout_session(object, options)? {
            Ok(reading) => reading,
            Err(unpaid) => return Ok(Normalised::Ignored(unpaid)),
        },
    };
    options.link.apply(&mut payment);
    Ok(Normalised::Events(vec![EventDraft {
        event_type,
        occurred_at,
        status: payment.status.clone(),
        order: None,
        payment: Some(payment),
        refund,
    }]))
}

/// The event's `created`.
fn occurred_at(created: Option<&Created>) -> Result<Timestamp, NormaliseError> {
    match created {
        Some(Created::Unix(seconds)) => fields::unix_seconds("created", *seconds),
        Some(Created::Text(_)) => Err(NormaliseError::field("created", "not Unix seconds")),
        None => Err(NormaliseError::field("created", "missing")),
    }
}

/// Checks `data.object.object` where the object names its kind.
fn expect_object(object: Option<&str>, kind: &str) -> Result<(), NormaliseError> {
    match object {
        Some(found) if found != kind => Err(NormaliseError::field(
            "data.object.object",
            format!("is not a {kind}"),
        )),
        _ => Ok(()),
    }
}

/// The order id under the configured metadata key.
fn metadata_ref(metadata: Option<&Metadata>, key: &str) -> Option<String> {
    non_empty(metadata?.get(key)?.as_str())
}

/// The one payment method type, where only one is possible.
fn only_method(types: Option<&Vec<String>>) -> Option<String> {
    match types.map(Vec::as_slice) {
        Some([only]) => non_empty(Some(only)),
        _ => None,
    }
}

/// What one mapped event says: its type, the payment, and the refund of a refund event.
type Reading = (EventType, Payment, Option<Refund>);

/// `payment_intent.succeeded` / `payment_intent.payment_failed`.
fn payment_intent(
    object: &str,
    succeeded: bool,
    options: &Options<'_>,
) -> Result<Reading, NormaliseError> {
    let intent: payload::PaymentIntent = payload::read("data.object", object)?;
    expect_object(intent.object.as_deref(), "payment_intent")?;
    let currency = amount::currency("data.object.currency", intent.currency.as_deref())?;
    let (event_type, amount, failure_reason, method) = if succeeded {
        let (field, value) = match intent.amount_received {
            Some(received) => ("data.object.amount_received", Some(received)),
            None => ("data.object.amount", intent.amount),
        };
        let amount = amount::required(field, value, currency)?;
        let method = only_method(intent.payment_method_types.as_ref());
        (EventType::PaymentSucceeded, amount, None, method)
    } else {
        let amount = amount::required("data.object.amount", intent.amount, currency)?;
        let error = intent.last_payment_error.as_ref();
        let method = error
            .and_then(|e| e.payment_method.as_ref())
            .and_then(|m| non_empty(m.kind.as_deref()))
            .or_else(|| only_method(intent.payment_method_types.as_ref()));
        let reason = error.and_then(failure_reason);
        (EventType::PaymentFailed, amount, reason, method)
    };
    let payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id: Some(intent.id.clone()),
        order_ref: metadata_ref(intent.metadata.as_ref(), options.order_ref_metadata_key),
        amount: Some(amount),
        status: non_empty(intent.status.as_deref()),
        method,
        failure_reason,
        ..Payment::default()
    };
    Ok((event_type, payment, None))
}

/// `last_payment_error` as one line: `code/decline_code: message`, each part where present.
fn failure_reason(error: &payload::PaymentError) -> Option<String> {
    let codes: Vec<String> = [error.code.as_deref(), error.decline_code.as_deref()]
        .into_iter()
        .filter_map(non_empty)
        .collect();
    let codes = (!codes.is_empty()).then(|| codes.join("/"));
    match (codes, non_empty(error.message.as_deref())) {
        (Some(codes), Some(message)) => Some(format!("{codes}: {message}")),
        (codes, message) => codes.or(message),
    }
}

/// `charge.refunded`: the refund this event reports (see the module's note).
fn charge_refunded(
    object: &str,
    before: Option<ChargeBefore>,
    options: &Options<'_>,
) -> Result<Reading, NormaliseError> {
    let charge: Charge = payload::read("data.object", object)?;
    expect_object(charge.object.as_deref(), "charge")?;
    let currency = amount::currency("data.object.currency", charge.currency.as_deref())?;
    let newest = charge.refunds.as_ref().and_then(|list| {
        // Stripe lists newest first; the greatest `created` wins, the first of equals.
        list.data
            .iter()
            .enumerate()
            .max_by_key(|(index, r)| (r.created.unwrap_or(i64::MIN), std::cmp::Reverse(*index)))
            .map(|(_, r)| r)
    });
    let previous = before.and_then(|b| b.amount_refunded);
    let (refunded, listed) = match previous {
        Some(previous) => {
            let total = charge
                .amount_refunded
                .ok_or_else(|| NormaliseError::field("data.object.amount_refunded", "missing"))?;
            let refunded = total
                .checked_sub(previous)
                .filter(|delta| *delta > 0)
                .ok_or_else(|| {
                    NormaliseError::field(
                        "data.object.amount_refunded",
                        "is not more than data.previous_attributes.amount_refunded",
                    )
                })?;
            (refunded, newest.filter(|r| r.amount == Some(refunded)))
        }
        None => {
            let newest = newest.ok_or_else(|| {
                NormaliseError::field(
                    "data.previous_attributes.amount_refunded",
                    "missing, and the charge lists no refund: this refund's amount cannot be \
                     told from the cumulative amount_refunded",
                )
            })?;
            let refunded = newest.amount.filter(|amount| *amount > 0).ok_or_else(|| {
                NormaliseError::field("data.object.refunds.data[0].amount", "missing")
            })?;
            (refunded, Some(newest))
        }
    };
    let refund = Refund {
        external_id: listed.map(|r| r.id.clone()),
        amount: Some(amount::money(
            "data.object.amount_refunded",
            refunded,
            currency,
        )?),
        reason: listed.and_then(|r| non_empty(r.reason.as_deref())),
        items: Vec::new(),
    };
    let payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id: Some(
            charge
                .payment_intent
                .as_ref()
                .map_or_else(|| charge.id.clone(), |pi| pi.id().to_owned()),
        ),
        order_ref: metadata_ref(charge.metadata.as_ref(), options.order_ref_metadata_key),
        amount: charge
            .amount
            .map(|a| amount::money("data.object.amount", a, currency))
            .transpose()?,
        status: non_empty(charge.status.as_deref()),
        method: charge
            .payment_method_details
            .as_ref()
            .and_then(|m| non_empty(m.kind.as_deref())),
        ..Payment::default()
    };
    Ok((EventType::PaymentRefunded, payment, Some(refund)))
}

/// `charge.dispute.created`.
fn dispute(object: &str, options: &Options<'_>) -> Result<Reading, NormaliseError> {
    let raw: payload::Dispute = payload::read("data.object", object)?;
    expect_object(raw.object.as_deref(), "dispute")?;
    let currency = amount::currency("data.object.currency", raw.currency.as_deref())?;
    let disputed = amount::required("data.object.amount", raw.amount, currency)?;
    let evidence_due_by = raw
        .evidence_details
        .as_ref()
        .and_then(|details| details.due_by)
        .map(|due| fields::unix_seconds("data.object.evidence_details.due_by", due))
        .transpose()?;
    let payment_id = raw
        .payment_intent
        .as_ref()
        .or(raw.charge.as_ref())
        .map(|id| id.id().to_owned());
    let payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id,
        order_ref: metadata_ref(raw.metadata.as_ref(), options.order_ref_metadata_key),
        status: non_empty(raw.status.as_deref()),
        method: raw
            .payment_method_details
            .as_ref()
            .and_then(|m| non_empty(m.kind.as_deref())),
        dispute: Some(Dispute {
            external_id: Some(raw.id.clone()),
            amount: Some(disputed),
            reason: non_empty(raw.reason.as_deref()),
            status: non_empty(raw.status.as_deref()),
            evidence_due_by,
        }),
        ..Payment::default()
    };
    Ok((EventType::PaymentDisputed, payment, None))
}

/// `checkout.session.completed`: a payment when the session is paid, else why it is ignored.
fn checkout_session(
    object: &str,
    options: &Options<'_>,
) -> Result<Result<Reading, String>, NormaliseError> {
    let session: CheckoutSession = payload::read("data.object", object)?;
    expect_object(session.object.as_deref(), "checkout.session")?;
    match session.payment_status.as_deref() {
        Some("paid") => {}
        other => {
            let status = other.unwrap_or("missing");
            return Ok(Err(format!(
                "checkout session payment_status {status} is not paid"
            )));
        }
    }
    let currency = amount::currency("data.object.currency", session.currency.as_deref())?;
    let total = amount::required("data.object.amount_total", session.amount_total, currency)?;
    let payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id: Some(
            session
                .payment_intent
                .as_ref()
                .map_or_else(|| session.id.clone(), |pi| pi.id().to_owned()),
        ),
        order_ref: non_empty(session.client_reference_id.as_deref())
            .or_else(|| metadata_ref(session.metadata.as_ref(), options.order_ref_metadata_key)),
        amount: Some(total),
        status: non_empty(session.payment_status.as_deref()),
        method: only_method(session.payment_method_types.as_ref()),
        ..Payment::default()
    };
    Ok(Ok((EventType::PaymentSucceeded, payment, None)))
}
