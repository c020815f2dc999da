//! Ele.me pushes → unified events, by message `type`.
//!
//! Types and bodies: the message-structure page "消息推送 消息体结构定义" (copy at
//! http://www.dianj.com.cn/News/Detail/21258), the delivery page "运单状态变更消息"
//! (http://dianj.com.cn/News/Detail/21260), the cancellation scheme "订单方案 售中方案"
//! (http://dianj.com.cn/News/Detail/20722) and the SDK enums (`OOrderStatus`, `ORefundType`).
//! Details, and what is unconfirmed: `docs/platforms/eleme.md`.
//!
//! | type | becomes |
//! |---|---|
//! | 10 (new order, full `OOrder`) | `order.created` |
//! | 217 (order, core fields) | enriched with `eleme.order.getOrder` → `order.created` |
//! | 12 (accepted) | `order.updated` |
//! | 14, 15, 17 (cancelled, invalidated, forced invalid) | `order.cancelled` |
//! | 18 (completed) | `order.completed` |
//! | 23, 25 (cancellation agreed / by arbitration) | `order.cancelled`; with `refundType` `part`, `order.refunded` |
//! | 33, 35 (refund agreed / by arbitration) | `order.refunded` (`normal`: the whole order; `part`: partial) |
//! | 20–22, 24, 26, 30–32, 34, 36 (requests, withdrawals, refusals) | `order.updated` with `refundStatus` |
//! | 51–76 (delivery) | `fulfilment.updated`, read from `state`/`subState` |
//! | anything else (reminders 45/46, shop 91/92, unauthorised 100, 218, audits) | ignored |

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Courier, EventType, Fulfilment, FulfilmentType, Item, Order, OrderStatus, Refund,
};
use o2o_core::ids::IdText;
use o2o_core::money::DecimalText;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::items::cny;
use crate::order::OOrder;
use crate::push::{Envelope, integer, millis, seconds};

/// What an Ele.me delivery becomes.
pub type Normalised = o2o_core::connector::Normalised<Thin>;

/// A push that names an order to fetch (type 217).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thin {
    /// The message type.
    pub kind: u32,
    /// The order.
    pub order_id: String,
    /// When Ele.me sent the push (else when it was received).
    pub occurred_at: Timestamp,
}

/// A status change (types 12–18).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusMessage {
    order_id: IdText,
    state: Option<String>,
    update_time: Option<IdText>,
}

/// A cancellation or refund step (types 20–36).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundMessage {
    order_id: IdText,
    refund_status: Option<String>,
    reason: Option<String>,
    goods_list: Option<Vec<Goods>>,
    refund_type: Option<String>,
    total_price: Option<DecimalText>,
    update_time: Option<IdText>,
}

/// A refunded item (`ORefundOrder.goodsList`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Goods {
    id: Option<IdText>,
    name: Option<String>,
    quantity: Option<IdText>,
    price: Option<DecimalText>,
    total: Option<DecimalText>,
}

/// A delivery step (types 51–76).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryMessage {
    order_id: IdText,
    state: Option<String>,
    sub_state: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    update_at: Option<IdText>,
}

/// The order id of a type-217 message (`orderId`, else `id`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderRef {
    order_id: Option<IdText>,
    id: Option<IdText>,
}

fn message<T: DeserializeOwned>(envelope: &Envelope) -> Result<T, NormaliseError> {
    serde_json::from_str(&envelope.message).map_err(|e| NormaliseError::from(e).within("message"))
}

/// Maps one push.
pub fn normalise(
    envelope: &Envelope,
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    let kind = envelope.type_number()?;
    let sent_at = envelope.sent_at()?.unwrap_or(ctx.received_at);
    let draft = match kind {
        10 => created(&message::<OOrder>(envelope)?, sent_at).map_err(|e| e.within("message"))?,
        217 => {
            let reference: OrderRef = message(envelope)?;
            let order_id = reference
                .order_id
                .or(reference.id)
                .map(|id| id.0)
                .ok_or_else(|| NormaliseError::field("orderId", "missing").within("message"))?;
            return Ok(Normalised::Enrich(Thin {
                kind,
                order_id,
                occurred_at: sent_at,
            }));
        }
        12 | 14 | 15 | 17 | 18 => {
            status(kind, message(envelope)?, sent_at).map_err(|e| e.within("message"))?
        }
        20..=26 | 30..=36 => {
            refund(kind, message(envelope)?, sent_at).map_err(|e| e.within("message"))?
        }
        51..=76 => delivery(message(envelope)?, sent_at).map_err(|e| e.within("message"))?,
        other => return Ok(Normalised::Ignored(format!("type {other} is not mapped"))),
    };
    Ok(Normalised::Events(vec![draft]))
}

/// The fetched order of a thin push.
pub fn enriched(thin: &Thin, order: &OOrder) -> Result<EventDraft, NormaliseError> {
    created(order, thin.occurred_at).map_err(|e| e.within("result"))
}

/// `order.created` for a full order, at its `activeAt` (else `createdAt`, else `sent_at`).
fn created(order: &OOrder, sent_at: Timestamp) -> Result<EventDraft, NormaliseError> {
    Ok(EventDraft {
        event_type: EventType::OrderCreated,
        occurred_at: order.placed_at()?.unwrap_or(sent_at),
        status: order.status.clone(),
        order: Some(order.to_order()?),
        payment: None,
        refund: None,
    })
}

fn status(
    kind: u32,
    message: StatusMessage,
    sent_at: Timestamp,
) -> Result<EventDraft, NormaliseError> {
    let (event_type, status) = match kind {
        12 => (EventType::OrderUpdated, OrderStatus::Accepted),
        18 => (EventType::OrderCompleted, OrderStatus::Completed),
        _ => (EventType::OrderCancelled, OrderStatus::Cancelled),
    };
    let occurred_at = match &message.update_time {
        Some(at) => seconds("updateTime", at)?,
        None => sent_at,
    };
    Ok(EventDraft {
        event_type,
        occurred_at,
        status: message.state.clone(),
        order: Some(Order {
            external_id: message.order_id.0,
            status: Some(status),
            version: message.update_time.map(|t| t.0),
            ..Order::default()
        }),
        payment: None,
        refund: None,
    })
}

fn refund(
    kind: u32,
    message: RefundMessage,
    sent_at: Timestamp,
) -> Result<EventDraft, NormaliseError> {
    let partial = message.refund_type.as_deref() == Some("part");
    let (event_type, status) = match kind {
        23 | 25 if partial => (EventType::OrderRefunded, None),
        23 | 25 => (EventType::OrderCancelled, Some(OrderStatus::Cancelled)),
        33 | 35 if partial => (EventType::OrderRefunded, None),
        33 | 35 => (EventType::OrderRefunded, Some(OrderStatus::Refunded)),
        _ => (EventType::OrderUpdated, None),
    };
    let occurred_at = match &message.update_time {
        Some(at) => seconds("updateTime", at)?,
        None => sent_at,
    };
    let refund = if event_type == EventType::OrderRefunded {
        let mut items = Vec::new();
        for (i, goods) in message.goods_list.iter().flatten().enumerate() {
            items.push(refunded_item(&format!("goodsList[{i}]"), goods)?);
        }
        Some(Refund {
            external_id: None,
            amount: o2o_core::fields::optional_money(
                "totalPrice",
                message.total_price.as_ref(),
                cny(),
            )?
            .map(|m| o2o_core::fields::magnitude("totalPrice", m))
            .transpose()?,
            reason: message.reason.clone().filter(|r| !r.is_empty()),
            items,
        })
    } else {
        None
    };
    Ok(EventDraft {
        event_type,
        occurred_at,
        status: message.refund_status.clone(),
        order: Some(Order {
            external_id: message.order_id.0,
            status,
            version: message.update_time.map(|t| t.0),
            currency: Some(cny()),
            ..Order::default()
        }),
        payment: None,
        refund,
    })
}

fn refunded_item(path: &str, goods: &Goods) -> Result<Item, NormaliseError> {
    let quantity = match &goods.quantity {
        Some(q) => u32::try_from(integer(&format!("{path}.quantity"), q)?)
            .map_err(|_| NormaliseError::field(&format!("{path}.quantity"), "out of range"))?,
        None => 1,
    };
    let money = |field: &str, amount: Option<&DecimalText>| {
        o2o_core::fields::optional_money(&format!("{path}.{field}"), amount, cny())
    };
    Ok(Item {
        external_id: goods.id.as_ref().map(|id| id.0.clone()),
        name: goods.name.clone().unwrap_or_default(),
        quantity,
        unit_price: money("price", goods.price.as_ref())?,
        total: money("total", goods.total.as_ref())?,
        ..Item::default()
    })
}

fn delivery(message: DeliveryMessage, sent_at: Timestamp) -> Result<EventDraft, NormaliseError> {
    let state = message
        .state
        .filter(|s| !s.is_empty())
        .ok_or_else(|| NormaliseError::field("state", "missing"))?;
    let order_status = match state.as_str() {
        "delivering" => Some(OrderStatus::OutForDelivery),
        "completed" => Some(OrderStatus::Completed),
        _ => None,
    };
    // `exception/merchantCallLateError`; `noSubstate` adds nothing.
    let status = match message.sub_state.as_deref() {
        Some(sub) if !sub.is_empty() && sub != "noSubstate" => format!("{state}/{sub}"),
        _ => state,
    };
    let name = message.name.filter(|n| !n.is_empty());
    let phone = message.phone.filter(|p| !p.is_empty());
    let courier = (name.is_some() || phone.is_some()).then(|| Courier {
        name,
        phone,
        ..Courier::default()
    });
    let occurred_at = match &message.update_at {
        Some(at) => millis("updateAt", at)?,
        None => sent_at,
    };
    Ok(EventDraft {
        event_type: EventType::FulfilmentUpdated,
        occurred_at,
        status: Some(status.clone()),
        order: Some(Order {
            external_id: message.order_id.0,
            status: order_status,
            version: message.update_at.map(|t| t.0),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Delivery),
                courier,
                status: Some(status),
                ..Fulfilment::default()
            }),
            ..Order::default()
        }),
        payment: None,
        refund: None,
    })
}
