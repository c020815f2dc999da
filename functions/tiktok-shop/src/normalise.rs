//! Webhook types → what happened; enriched order → unified events.
//!
//! TikTok Shop webhooks are thin (an order id and a status), so every mapped type becomes
//! [`Normalised::Enrich`]; the enrichment worker then fetches the order (Get Order Detail) and
//! builds the event from this module's [`Thin`] reading of the webhook plus the API's order.

use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError, Normalised};
use o2o_core::event::{EventType, Payment, Refund};
use o2o_core::{Timestamp, fields};
use serde::de::DeserializeOwned;

use crate::order;
use crate::payload::{
    ApiOrder, CancellationStatusChange, Envelope, OrderStatusChange, ReturnStatusChange,
};

/// Type 1: order status change.
pub const ORDER_STATUS_CHANGE: &str = "1";
/// Type 11: cancellation status change.
pub const CANCELLATION_STATUS_CHANGE: &str = "11";
/// Type 12: return status change.
pub const RETURN_STATUS_CHANGE: &str = "12";

/// What a mapped webhook says happened, before the order is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thin {
    /// The order to fetch.
    pub order_id: String,
    /// The unified event it becomes.
    pub event_type: EventType,
    /// The platform's status string from the webhook, untouched.
    pub status: String,
    /// When it happened by TikTok's clock.
    pub occurred_at: Timestamp,
    /// The return id, for `order.refunded`.
    pub refund_id: Option<String>,
}

/// Reads a webhook's envelope: `Ok(Ok(thin))` for a mapped type, `Ok(Err(reason))` for a type we
/// acknowledge and ignore.
pub fn read(
    envelope: &Envelope,
    ctx: &NormaliseContext,
) -> Result<Result<Thin, String>, NormaliseError> {
    // The push time: the fallback when the data carries no time of its own.
    let pushed = match envelope.timestamp {
        Some(t) => fields::unix_seconds("timestamp", t)?,
        None => ctx.received_at,
    };
    let time = |field: &str, t: Option<i64>| match t {
        Some(t) => fields::unix_seconds(field, t),
        None => Ok(pushed),
    };
    let thin = match envelope.kind.0.as_str() {
        ORDER_STATUS_CHANGE => {
            let d: OrderStatusChange = data(envelope)?;
            Thin {
                event_type: order_status_event(&d.order_status),
                occurred_at: time("data.update_time", d.update_time)?,
                order_id: d.order_id.0,
                status: d.order_status,
                refund_id: None,
            }
        }
        CANCELLATION_STATUS_CHANGE => {
            let d: CancellationStatusChange = data(envelope)?;
            // The data's `create_time` is when the buyer asked to cancel, not this change.
            let event_type = match d.cancel_status.as_str() {
                "CANCELLATION_REQUEST_SUCCESS" | "CANCELLATION_REQUEST_COMPLETE" => {
                    EventType::OrderCancelled
                }
                _ => EventType::OrderUpdated,
            };
            Thin {
                event_type,
                occurred_at: pushed,
                order_id: d.order_id.0,
                status: d.cancel_status,
                refund_id: None,
            }
        }
        RETURN_STATUS_CHANGE => {
            let d: ReturnStatusChange = data(envelope)?;
            let event_type = match d.return_status.as_str() {
                "RETURN_OR_REFUND_REQUEST_COMPLETE" | "REPLACEMENT_REQUEST_REFUND_SUCCESS" => {
                    EventType::OrderRefunded
                }
                _ => EventType::OrderUpdated,
            };
            Thin {
                event_type,
                occurred_at: time("data.update_time", d.update_time.or(d.create_time))?,
                order_id: d.order_id.0,
                status: d.return_status,
                refund_id: d.return_id.map(|id| id.0),
            }
        }
        other => return Ok(Err(format!("type {other} is not mapped"))),
    };
    Ok(Ok(thin))
}

/// The `data` object of a mapped type; errors name `data`, never a value.
fn data<T: DeserializeOwned>(envelope: &Envelope) -> Result<T, NormaliseError> {
    T::deserialize(&envelope.data).map_err(|e| {
        let kind = if e.to_string().starts_with("missing field") {
            "a required field is missing"
        } else {
            "a field has the wrong type"
        };
        NormaliseError::field("data", kind)
    })
}

/// Type 1 `order_status` → unified event type.
pub fn order_status_event(status: &str) -> EventType {
    match status {
        "UNPAID" => EventType::OrderCreated,
        "AWAITING_SHIPMENT" => EventType::PaymentSucceeded,
        "AWAITING_COLLECTION" | "IN_TRANSIT" => EventType::FulfilmentUpdated,
        "DELIVERED" | "COMPLETED" => EventType::OrderCompleted,
        "CANCEL" | "CANCELLED" => EventType::OrderCancelled,
        // ON_HOLD and anything TikTok adds later.
        _ => EventType::OrderUpdated,
    }
}

/// The connector's `normalise`: a mapped type needs the order from the API.
pub fn normalise(
    envelope: &Envelope,
    ctx: &NormaliseContext,
) -> Result<Normalised<Thin>, NormaliseError> {
    Ok(match read(envelope, ctx)? {
        Ok(thin) => Normalised::Enrich(thin),
        Err(reason) => Normalised::Ignored(reason),
    })
}

/// The unified event for `thin`, with the order as Get Order Detail returned it.
pub fn event(thin: &Thin, raw: &ApiOrder) -> Result<EventDraft, NormaliseError> {
    let order = order::order(raw)?;
    let payment = (thin.event_type == EventType::PaymentSucceeded).then(|| Payment {
        provider: crate::CHANNEL_ID.to_owned(),
        payment_id: None,
        order_ref: Some(order.external_id.clone()),
        amount: order.totals.total,
        status: Some(thin.status.clone()),
        method: order.payments.first().and_then(|p| p.method.clone()),
        failure_reason: None,
        ..Payment::default()
    });
    let refund = (thin.event_type == EventType::OrderRefunded).then(|| Refund {
        external_id: thin.refund_id.clone(),
        ..Refund::default()
    });
    Ok(EventDraft {
        event_type: thin.event_type,
        occurred_at: thin.occurred_at,
        status: Some(thin.status.clone()),
        order: Some(order),
        payment,
        refund,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> NormaliseContext {
        NormaliseContext {
            received_at: Timestamp::from_unix_seconds(1_767_225_600).expect("time"),
        }
    }

    fn envelope(json: &[u8]) -> Envelope {
        serde_json::from_slice(json).expect("an envelope")
    }

    fn thin(json: &str) -> Thin {
        match read(&envelope(json.as_bytes()), &ctx()) {
            Ok(Ok(thin)) => thin,
            other => panic!("expected a mapped webhook, got {other:?}"),
        }
    }

    #[test]
    fn maps_every_documented_order_status() {
        let cases = [
            ("UNPAID", EventType::OrderCreated),
            ("ON_HOLD", EventType::OrderUpdated),
            ("AWAITING_SHIPMENT", EventType::PaymentSucceeded),
            ("AWAITING_COLLECTION", EventType::FulfilmentUpdated),
            ("IN_TRANSIT", EventType::FulfilmentUpdated),
            ("DELIVERED", EventType::OrderCompleted),
            ("COMPLETED", EventType::OrderCompleted),
            ("CANCEL", EventType::OrderCancelled),
            ("SOMETHING_NEW", EventType::OrderUpdated),
        ];
        for (status, expected) in cases {
            assert_eq!(order_status_event(status), expected, "{status}");
        }
    }

    #[test]
    fn cancellation_and_return_statuses() {
        let cancel = |s: &str| {
            thin(&format!(
                r#"{{"type":11,"shop_id":"1","timestamp":1644412885,"data":{{"order_id":"576486316948490001","cancel_status":"{s}","create_time":1627587600}}}}"#
            ))
        };
        let pending = cancel("CANCELLATION_REQUEST_PENDING");
        assert_eq!(pending.event_type, EventType::OrderUpdated);
        // The push time, not the request's create_time.
        assert_eq!(pending.occurred_at.unix_seconds(), 1_644_412_885);
        assert_eq!(
            cancel("CANCELLATION_REQUEST_SUCCESS").event_type,
            EventType::OrderCancelled
        );
        assert_eq!(
            cancel("CANCELLATION_REQUEST_COMPLETE").event_type,
            EventType::OrderCancelled
        );
        let ret = |s: &str| {
            thin(&format!(
                r#"{{"type":12,"timestamp":1644412885,"data":{{"order_id":"1","return_status":"{s}","return_id":"4035318504086604100","create_time":1627587600}}}}"#
            ))
        };
        let complete = ret("RETURN_OR_REFUND_REQUEST_COMPLETE");
        assert_eq!(complete.event_type, EventType::OrderRefunded);
        assert_eq!(complete.refund_id.as_deref(), Some("4035318504086604100"));
        // No update_time: the request's create_time.
        assert_eq!(complete.occurred_at.unix_seconds(), 1_627_587_600);
        assert_eq!(
            ret("RETURN_OR_REFUND_REQUEST_PENDING").event_type,
            EventType::OrderUpdated
        );
    }

    #[test]
    fn a_numeric_order_id_above_2_pow_53_keeps_every_digit() {
        let t =
            thin(r#"{"type":1,"data":{"order_id":576486316948490001,"order_status":"UNPAID"}}"#);
        assert_eq!(t.order_id, "576486316948490001");
        // No times anywhere: the receive time.
        assert_eq!(t.occurred_at, ctx().received_at);
    }

    #[test]
    fn unmapped_types_are_ignored_and_broken_data_is_an_error() {
        assert_eq!(
            normalise(&envelope(br#"{"type":6,"data":{}}"#), &ctx()),
            Ok(Normalised::Ignored("type 6 is not mapped".into()))
        );
        let missing = normalise(
            &envelope(br#"{"type":1,"data":{"order_status":"UNPAID"}}"#),
            &ctx(),
        );
        assert_eq!(
            missing.map_err(|e| e.to_string()),
            Err("data: a required field is missing".into())
        );
        let wrong = normalise(
            &envelope(br#"{"type":1,"data":{"order_id":"1","order_status":{"name":"Jane Doe"}}}"#),
            &ctx(),
        );
        let message = wrong.expect_err("wrong type").to_string();
        assert_eq!(message, "data: a field has the wrong type");
        assert!(!message.contains("Jane"), "{message}");
    }
}
