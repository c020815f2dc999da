//! Topics → unified events. Every order push is thin (an order id), so order topics are
//! enriched from the order API; the unified event type follows the topic:
//!
//! | topic | event type |
//! |---|---|
//! | `channels_ec_order_new` | `order.created` |
//! | `channels_ec_order_pay` | `payment.succeeded` (with the order) |
//! | `channels_ec_order_cancel` | `order.cancelled` |
//! | `channels_ec_order_deliver` | `fulfilment.updated` |
//! | `channels_ec_order_confirm`, `channels_ec_order_settle` | `order.completed` |
//! | `channels_ec_order_wait_shipping`, `channels_ec_order_ext_info_update` | `order.updated` |
//! | `channels_ec_aftersale_update`, status `MERCHANT_REFUND_SUCCESS` / `MERCHANT_RETURN_SUCCESS` | `order.refunded` |
//! | `channels_ec_aftersale_update`, any other status | ignored |
//! | any other event | ignored |
//!
//! After-sale choice: only a finished refund changes what the merchant is owed, so only that is
//! published; the intermediate statuses (受理中, 待买家退货, 拒绝 …) would be `order.updated`
//! events whose order is unchanged, so they are acknowledged and counted as ignored. The refund
//! amount is not in the push nor in the order detail (it is in the after-sale API, not called),
//! so the unified refund carries the after-sale id and omits the amount.

use o2o_core::connector::{EventDraft, NormaliseError, Normalised};
use o2o_core::event::{EventType, Payment, Refund};
use o2o_core::fields::unix_seconds;

use crate::order::OrderDetail;
use crate::payload::{Message, Topic};

/// After-sale statuses that mean the money went back to the buyer (退款完成, 退货退款完成).
pub const REFUND_DONE: [&str; 2] = ["MERCHANT_REFUND_SUCCESS", "MERCHANT_RETURN_SUCCESS"];

/// What a verified message becomes at ingest time: order events and finished refunds are
/// enriched (the message is the thin reading), the rest ignored.
pub fn classify(message: Message) -> Result<Normalised<Message>, NormaliseError> {
    let event = message.event()?;
    match Topic::from_event(event) {
        None => Ok(Normalised::Ignored(format!(
            "event {event} is not an order event"
        ))),
        Some(Topic::AftersaleUpdate) => {
            let (status, _, _) = message.aftersale()?;
            if REFUND_DONE.contains(&status) {
                Ok(Normalised::Enrich(message))
            } else {
                Ok(Normalised::Ignored(format!(
                    "after-sale status {status} does not change the order; only finished refunds are published"
                )))
            }
        }
        Some(_) => {
            message.order_id()?;
            message.create_time()?;
            Ok(Normalised::Enrich(message))
        }
    }
}

/// The order id to fetch for an enriched message.
pub fn order_to_fetch(message: &Message) -> Result<String, NormaliseError> {
    match Topic::from_event(message.event()?) {
        Some(Topic::AftersaleUpdate) => message.aftersale().map(|(_, _, order)| order.to_owned()),
        Some(_) => message.order_id().map(str::to_owned),
        None => Err(NormaliseError::field("Event", "not an order event")),
    }
}

/// The unified event for `message`, given the order the API returned.
pub fn draft(message: &Message, detail: &OrderDetail) -> Result<EventDraft, NormaliseError> {
    let topic = Topic::from_event(message.event()?)
        .ok_or_else(|| NormaliseError::field("Event", "not an order event"))?;
    let occurred_at = unix_seconds("CreateTime", message.create_time()?)?;
    let order = detail.to_order()?;
    let order_status = detail.status.as_ref().map(|s| s.0.clone());
    let mut draft = EventDraft {
        event_type: EventType::OrderUpdated,
        occurred_at,
        status: order_status,
        order: None,
        payment: None,
        refund: None,
    };
    draft.event_type = match topic {
        Topic::OrderNew => EventType::OrderCreated,
        Topic::OrderPay => {
            draft.payment = Some(Payment {
                provider: "wechat-pay".into(),
                payment_id: detail
                    .order_detail
                    .as_ref()
                    .and_then(|d| d.pay_info.as_ref())
                    .and_then(|p| o2o_core::fields::non_empty(p.transaction_id.as_deref())),
                order_ref: Some(order.external_id.clone()),
                amount: detail.order_price()?,
                status: Some("paid".into()),
                method: Some("wechat_pay".into()),
                failure_reason: None,
                ..Payment::default()
            });
            EventType::PaymentSucceeded
        }
        Topic::OrderCancel => EventType::OrderCancelled,
        Topic::OrderDeliver => EventType::FulfilmentUpdated,
        Topic::OrderConfirm | Topic::OrderSettle => EventType::OrderCompleted,
        Topic::OrderWaitShipping | Topic::OrderExtInfoUpdate => EventType::OrderUpdated,
        Topic::AftersaleUpdate => {
            let (status, after_sale_id, _) = message.aftersale()?;
            if !REFUND_DONE.contains(&status) {
                return Err(NormaliseError::field(
                    "finder_shop_aftersale_status_update.status",
                    "not a finished refund",
                ));
            }
            draft.status = Some(status.to_owned());
            draft.refund = Some(Refund {
                external_id: Some(after_sale_id.to_owned()),
                ..Refund::default()
            });
            EventType::OrderRefunded
        }
    };
    draft.order = Some(order);
    Ok(draft)
}
