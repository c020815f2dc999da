//! Youzan push messages → unified events.
//!
//! Trade messages carry a URL-encoded JSON `msg`. For `trade_TradeCreate`, `trade_TradePaid`
//! and `trade_TradeBuyerPay` it holds `full_order_info` (the whole order, as `youzan.trade.get`
//! returns it); close and shipping messages may carry only `tid`, `update_time` and a few keys,
//! and then the order is reported with what they carry. Amounts are decimal yuan strings; times
//! are zone-less Asia/Shanghai. Field meanings: [C-2] from comments quoting the `youzan.trade.get`
//! docs in third-party integrations (e.g. `OrderCreateServiceImpl.java` of a Tasly integration).

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Customer, EventType, Item, Modifier, Order, OrderStatus, Payment, PaymentLine, Refund, Totals,
};
use o2o_core::fields::{self, non_empty};
use o2o_core::money::{Currency, DecimalText, Money};
use o2o_core::request::percent_decode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::fulfilment::fulfilment;
use crate::payload::{Envelope, FullOrderInfo, OrderLine, RefundMsg, SkuProperty, TradeMsg};

/// What Youzan settles in.
const CURRENCY: &str = "CNY";

/// What a Youzan delivery becomes (fat messages: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// The message types we map (`type`), each what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `trade_TradeCreate` → `order.created`.
    Create,
    /// `trade_TradePaid`, `trade_TradeBuyerPay` → `payment.succeeded`.
    Paid,
    /// `trade_TradeSellerShip` → `fulfilment.updated`.
    SellerShip,
    /// `trade_TradePartlySellerShip` → `fulfilment.updated`.
    PartlySellerShip,
    /// `trade_TradeSuccess` → `order.completed`.
    Success,
    /// `trade_TradeClose` → `order.cancelled`.
    Close,
    /// `trade_TradeMemoModified` → `order.updated`.
    MemoModified,
    /// The refund messages → `order.refunded`.
    Refund,
}

impl Kind {
    /// The mapped kind of message type `kind`; `None` for the types we ignore.
    pub fn of(kind: &str) -> Option<Self> {
        Some(match kind {
            "trade_TradeCreate" => Kind::Create,
            "trade_TradePaid" | "trade_TradeBuyerPay" => Kind::Paid,
            "trade_TradeSellerShip" => Kind::SellerShip,
            "trade_TradePartlySellerShip" => Kind::PartlySellerShip,
            "trade_TradeSuccess" => Kind::Success,
            "trade_TradeClose" => Kind::Close,
            "trade_TradeMemoModified" => Kind::MemoModified,
            // Money went back to the buyer: the seller agreed (refund only) or the return was
            // received, in the legacy and the newer (msg as an object) refund messages.
            "trade_refund_RefundSuccess"
            | "trade_refund_RefundSellerAgree"
            | "youzan_trade_RefundSuccess"
            | "youzan_trade_RefundSellerAgree" => Kind::Refund,
            _ => return None,
        })
    }
}

/// Maps one message by its `type` (`topic`).
pub fn normalise(
    topic: &str,
    envelope: &Envelope,
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    if envelope.test {
        return Ok(Normalised::Ignored("test delivery".into()));
    }
    let Some(kind) = Kind::of(topic) else {
        return Ok(Normalised::Ignored(format!(
            "message type {topic} is not mapped"
        )));
    };
    let event_type = match kind {
        Kind::Create => EventType::OrderCreated,
        Kind::Paid => EventType::PaymentSucceeded,
        Kind::SellerShip | Kind::PartlySellerShip => EventType::FulfilmentUpdated,
        Kind::Success => EventType::OrderCompleted,
        Kind::Close => EventType::OrderCancelled,
        Kind::MemoModified => EventType::OrderUpdated,
        Kind::Refund => return refund(envelope, ctx).map(one),
    };
    let msg: TradeMsg = decode_msg(envelope)?;
    let draft = match &msg.full_order_info {
        Some(info) => full_order(event_type, envelope, &msg, info, ctx)?,
        None => brief_order(event_type, envelope, &msg, ctx)?,
    };
    Ok(one(draft))
}

fn one(draft: EventDraft) -> Normalised {
    Normalised::Events(vec![draft])
}

/// Decodes `msg`: a URL-encoded JSON string (`+` is a space: since ~2019 Youzan encodes like
/// Java's `URLEncoder`, e.g. `"2021-03-02+13%3A30%3A35"`), or already an object.
pub fn decode_msg<T: DeserializeOwned>(envelope: &Envelope) -> Result<T, NormaliseError> {
    let in_msg = |e: serde_json::Error| NormaliseError::from(e).within("msg");
    match &envelope.msg {
        Some(Value::String(encoded)) => {
            let json = percent_decode(encoded)
                .ok_or_else(|| NormaliseError::field("msg", "not URL-encoded UTF-8"))?;
            serde_json::from_str(&json).map_err(in_msg)
        }
        Some(value @ Value::Object(_)) => serde_json::from_value(value.clone()).map_err(in_msg),
        _ => Err(NormaliseError::field("msg", "missing")),
    }
}

fn cny() -> Result<Currency, NormaliseError> {
    fields::currency("currency", CURRENCY)
}

/// A zone-less Asia/Shanghai time field.
fn time(field: &str, text: Option<&String>) -> Result<Option<Timestamp>, NormaliseError> {
    text.map(|t| fields::china_time(field, t)).transpose()
}

fn money(field: &str, amount: Option<&DecimalText>) -> Result<Option<Money>, NormaliseError> {
    fields::optional_money(field, amount, cny()?)
}

/// Youzan's main order status → the unified one; unknown statuses are omitted.
pub(crate) fn status(text: Option<&str>) -> Option<OrderStatus> {
    Some(match text? {
        "WAIT_BUYER_PAY" | "WAIT_PAY_RETURN" => OrderStatus::PendingPayment,
        "TRADE_PAID" | "WAIT_CONFIRM" | "WAIT_GROUP" | "WAIT_SELLER_SEND_GOODS" => {
            OrderStatus::Placed
        }
        "WAIT_BUYER_CONFIRM_GOODS" => OrderStatus::OutForDelivery,
        "TRADE_SUCCESS" | "TRADE_BUYER_SIGNED" => OrderStatus::Completed,
        "TRADE_CLOSED" => OrderStatus::Cancelled,
        _ => return None,
    })
}

/// The envelope's `version` (Youzan: "higher versions replace lower ones"), else `update_time`.
fn version(envelope: &Envelope, update_time: Option<Timestamp>) -> Option<String> {
    envelope
        .version
        .clone()
        .or_else(|| update_time.map(|t| t.to_string()))
}

fn full_order(
    event_type: EventType,
    envelope: &Envelope,
    msg: &TradeMsg,
    info: &FullOrderInfo,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    let oi = &info.order_info;
    let tid = oi.tid.0.clone();
    let pay = info.pay_info.as_ref();
    let totals = Totals {
        subtotal: money("pay_info.total_fee", pay.and_then(|p| p.total_fee.as_ref()))?,
        delivery_fee: money("pay_info.post_fee", pay.and_then(|p| p.post_fee.as_ref()))?,
        total: money("pay_info.payment", pay.and_then(|p| p.payment.as_ref()))?,
        ..Totals::default()
    };
    let items = info
        .orders
        .iter()
        .enumerate()
        .map(|(i, line)| item(i, line))
        .collect::<Result<Vec<_>, _>>()?;
    let paid_at = time("order_info.pay_time", oi.pay_time.as_ref())?;
    let updated = time("order_info.update_time", oi.update_time.as_ref())?;
    let payments = paid_at
        .map(|paid_at| PaymentLine {
            provider: Some("youzan".into()),
            method: oi.pay_type_str.clone(),
            amount: totals.total,
            status: None,
            paid_at: Some(paid_at),
        })
        .into_iter()
        .collect();
    let buyer = info.buyer_info.as_ref();
    let customer = Customer {
        name: buyer.and_then(|b| non_empty(b.fans_nickname.as_deref())),
        phone: buyer.and_then(|b| non_empty(b.buyer_phone.as_deref())),
        email: None,
    };
    let fulfilment_status = (event_type == EventType::FulfilmentUpdated)
        .then(|| oi.status.clone())
        .flatten();
    let order = Order {
        display_id: Some(tid.clone()),
        external_id: tid.clone(),
        status: status(oi.status.as_deref().or(envelope.status.as_deref())),
        version: version(envelope, updated),
        currency: Some(cny()?),
        totals,
        presentment_totals: None,
        items,
        customer: (customer != Customer::default()).then_some(customer),
        fulfilment: fulfilment(
            oi.express_type.as_deref(),
            info.address_info.as_ref(),
            msg.express_no.as_deref(),
            fulfilment_status,
        ),
        payments,
        note: info
            .remark_info
            .as_ref()
            .and_then(|r| non_empty(r.buyer_message.as_deref())),
    };
    // The event's own time where the order records it, else the last update.
    let at = |field: &str, text: Option<&String>| -> Result<Timestamp, NormaliseError> {
        Ok(time(field, text)?.or(updated).unwrap_or(ctx.received_at))
    };
    let occurred_at = match event_type {
        EventType::OrderCreated => at("order_info.created", oi.created.as_ref())?,
        EventType::PaymentSucceeded => paid_at.or(updated).unwrap_or(ctx.received_at),
        EventType::FulfilmentUpdated => at("order_info.consign_time", oi.consign_time.as_ref())?,
        EventType::OrderCompleted => at("order_info.success_time", oi.success_time.as_ref())?,
        _ => updated.unwrap_or(ctx.received_at),
    };
    let payment = (event_type == EventType::PaymentSucceeded).then(|| Payment {
        provider: "youzan".into(),
        payment_id: pay.and_then(|p| {
            p.transaction
                .first()
                .or_else(|| p.outer_transactions.first())
                .cloned()
        }),
        order_ref: Some(tid.clone()),
        amount: order.totals.total,
        status: envelope.status.clone(),
        method: oi.pay_type_str.clone(),
        failure_reason: None,
        ..Payment::default()
    });
    Ok(EventDraft {
        event_type,
        occurred_at,
        status: envelope.status.clone().or_else(|| oi.status.clone()),
        order: Some(order),
        payment,
        refund: None,
    })
}

/// A message that names the order without `full_order_info` (close, shipping, success).
fn brief_order(
    event_type: EventType,
    envelope: &Envelope,
    msg: &TradeMsg,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    let tid = msg
        .tid
        .clone()
        .or_else(|| envelope.id.clone())
        .ok_or_else(|| NormaliseError::field("msg.tid", "missing"))?;
    let updated = time("msg.update_time", msg.update_time.as_ref())?;
    let total = money("msg.payment", msg.payment.as_ref())?;
    let status_text = msg.status.as_deref().or(envelope.status.as_deref());
    let order = Order {
        display_id: Some(tid.clone()),
        external_id: tid.clone(),
        status: status(status_text),
        version: version(envelope, updated),
        currency: total.map(|t| t.currency),
        totals: Totals {
            total,
            ..Totals::default()
        },
        fulfilment: fulfilment(
            None,
            None,
            msg.express_no.as_deref(),
            (event_type == EventType::FulfilmentUpdated)
                .then(|| status_text.map(str::to_owned))
                .flatten(),
        ),
        ..Order::default()
    };
    let payment = (event_type == EventType::PaymentSucceeded).then(|| Payment {
        provider: "youzan".into(),
        order_ref: Some(tid),
        amount: total,
        status: envelope.status.clone(),
        ..Payment::default()
    });
    Ok(EventDraft {
        event_type,
        occurred_at: updated.unwrap_or(ctx.received_at),
        status: envelope.status.clone().or_else(|| msg.status.clone()),
        order: Some(order),
        payment,
        refund: None,
    })
}

fn item(i: usize, line: &OrderLine) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("orders[{i}].{name}");
    let quantity = line
        .num
        .as_deref()
        .ok_or_else(|| NormaliseError::field(&field("num"), "missing"))?
        .trim()
        .parse::<u32>()
        .map_err(|_| NormaliseError::field(&field("num"), "not a whole number"))?;
    let total = match &line.payment {
        Some(payment) => Some(fields::money(&field("payment"), payment, cny()?)?),
        None => money(&field("total_fee"), line.total_fee.as_ref())?,
    };
    Ok(Item {
        external_id: line.oid.clone(),
        sku: non_empty(line.outer_sku_id.as_deref())
            .or_else(|| non_empty(line.outer_item_id.as_deref())),
        name: line.title.clone().unwrap_or_default(),
        quantity,
        unit_price: money(&field("price"), line.price.as_ref())?,
        total,
        modifiers: modifiers(line.sku_properties_name.as_deref()),
        note: non_empty(line.buyer_messages.as_deref()),
    })
}

/// `sku_properties_name`: a JSON array `[{"k":"颜色","v":"红"}]` → `颜色: 红`; older plain text
/// (`颜色:红`) is kept as one modifier; `""` and `"[]"` mean no variant.
fn modifiers(text: Option<&str>) -> Vec<Modifier> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Vec::new();
    };
    match serde_json::from_str::<Vec<SkuProperty>>(text) {
        Ok(properties) => properties
            .into_iter()
            .filter_map(
                |p| match (non_empty(p.k.as_deref()), non_empty(p.v.as_deref())) {
                    (Some(k), Some(v)) => Some(format!("{k}: {v}")),
                    (None, Some(v)) => Some(v),
                    (Some(k), None) => Some(k),
                    (None, None) => None,
                },
            )
            .map(|name| Modifier {
                name,
                ..Modifier::default()
            })
            .collect(),
        Err(_) => vec![Modifier {
            name: text.to_owned(),
            ..Modifier::default()
        }],
    }
}

/// A refund message → `order.refunded` with the refunded amount.
fn refund(envelope: &Envelope, ctx: &NormaliseContext) -> Result<EventDraft, NormaliseError> {
    let msg: RefundMsg = decode_msg(envelope)?;
    let tid = msg
        .tid
        .clone()
        .or_else(|| envelope.id.clone())
        .ok_or_else(|| NormaliseError::field("msg.tid", "missing"))?;
    let amount = match money("msg.refunded_fee", msg.refunded_fee.as_ref())? {
        Some(m) => Some(fields::magnitude("msg.refunded_fee", m)?),
        None => None,
    };
    let updated = time("msg.update_time", msg.update_time.as_ref())?;
    Ok(EventDraft {
        event_type: EventType::OrderRefunded,
        occurred_at: updated.unwrap_or(ctx.received_at),
        status: envelope.status.clone(),
        order: Some(Order {
            display_id: Some(tid.clone()),
            external_id: tid,
            version: version(envelope, updated),
            currency: amount.map(|a| a.currency),
            ..Order::default()
        }),
        payment: None,
        refund: Some(Refund {
            external_id: msg.refund_id,
            amount,
            reason: non_empty(msg.refund_reason.as_deref()),
            items: Vec::new(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of `topic` carrying `msg`, and its topic.
    fn delivery<'t>(topic: &'t str, msg: &str) -> (&'t str, Envelope) {
        let body =
            serde_json::json!({ "kdt_id": 1, "type": topic, "msg": msg, "status": "TRADE_CLOSED" });
        (topic, serde_json::from_value(body).expect("an envelope"))
    }

    fn normalise(
        (topic, envelope): &(&str, Envelope),
        ctx: &NormaliseContext,
    ) -> Result<Normalised, String> {
        super::normalise(topic, envelope, ctx).map_err(|e| e.to_string())
    }

    fn ctx() -> NormaliseContext {
        NormaliseContext {
            received_at: Timestamp::from_unix_seconds(0).expect("epoch"),
        }
    }

    #[test]
    fn plus_is_a_space_and_percent_2b_a_plus() {
        let envelope = Envelope {
            msg: Some(Value::String(
                "%7B%22tid%22%3A%22E1%22%2C%22update_time%22%3A%222025-01-01+08%3A00%3A00%22%2C%22close_reason%22%3A%22a%2Bb%22%7D".into(),
            )),
            ..Envelope::default()
        };
        let msg: Value = decode_msg(&envelope).expect("decodes");
        assert_eq!(msg["update_time"], "2025-01-01 08:00:00");
        assert_eq!(msg["close_reason"], "a+b");
    }

    #[test]
    fn unreadable_messages_fail_without_quoting_values() {
        // An authentic message we cannot read goes to the quarantine; the error names fields only.
        let bad_time = delivery(
            "trade_TradeClose",
            "%7B%22tid%22%3A%22E1%22%2C%22update_time%22%3A%22Lin+Xiaoyu%22%7D",
        );
        let err = normalise(&bad_time, &ctx()).expect_err("not a time");
        assert_eq!(err, "msg.update_time: invalid timestamp");
        let not_json = delivery("trade_TradeCreate", "Lin+Xiaoyu+13800138000");
        let err = normalise(&not_json, &ctx()).expect_err("not JSON");
        assert!(err.starts_with("msg: payload: not valid JSON"), "{}", err);
        assert!(!err.contains("13800138000"));
        let bad_money = delivery(
            "trade_refund_RefundSuccess",
            "%7B%22tid%22%3A%22E1%22%2C%22refunded_fee%22%3A%2212.345%22%7D",
        );
        let err = normalise(&bad_money, &ctx()).expect_err("three decimals");
        assert!(err.starts_with("msg.refunded_fee: "), "{}", err);
        assert!(!err.contains("12.345"));
    }
}
