//! `shop_order_detail` → unified order, and the event draft of one enriched message.
//!
//! Fields and meanings from the official Go SDK's generated response type
//! (`api/order_orderDetail/response/order_orderDetail_response.go` in `zsmhub/doudian-sdk`,
//! SDK `doudian-sdk-golang-1.1.0-20230221172709`): amounts "（单位：分）", times "时间戳，秒",
//! `order_status` "1 待确认/待支付 105 已支付 2 备货中 101 部分发货 3 已发货 4 已取消 5 已完成",
//! `main_status` adding "103 部分支付 21 发货前退款完结 22 发货后退款完结 39 收货后退款完结",
//! `pay_type` "0 货到付款 1 微信 2 支付宝 3 小程序 4 银行卡 5 余额 7 无需支付 8 DOU分期 9 新卡支付
//! 12 先用后付". Receiver name, phone and street are encrypted (`encrypt_post_*`, decrypted only
//! by `order.batchDecrypt`, which we do not call); we use the masked copies (`mask_post_*`) and
//! the region names of `post_addr`, never the ciphertexts.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Payment, PaymentLine, Refund, Totals,
};
use o2o_core::fields::{self, non_empty};
use o2o_core::ids::IdText;
use o2o_core::money::{Currency, Money};
use serde::Deserialize;

use crate::payload::{Lenient, MessageData, Num};

/// The parts of `shop_order_detail` we read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShopOrderDetail {
    order_id: Option<IdText>,
    order_status: Option<Num>,
    main_status: Option<Num>,
    create_time: Option<Num>,
    pay_time: Option<Num>,
    update_time: Option<Num>,
    pay_type: Option<Num>,
    channel_payment_no: Option<String>,
    order_amount: Option<Num>,
    pay_amount: Option<Num>,
    post_amount: Option<Num>,
    promotion_amount: Option<Num>,
    total_promotion_amount: Option<Num>,
    tax_amount: Option<Num>,
    buyer_words: Option<String>,
    mask_post_receiver: Option<String>,
    mask_post_tel: Option<String>,
    post_addr: Option<PostAddr>,
    mask_post_addr: Option<PostAddr>,
    logistics_info: Vec<Logistics>,
    sku_order_list: Vec<SkuOrder>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PostAddr {
    province: Option<Area>,
    city: Option<Area>,
    town: Option<Area>,
    street: Option<Area>,
    detail: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Area {
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Logistics {
    tracking_no: Option<String>,
    company_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SkuOrder {
    order_id: Option<IdText>,
    sku_id: Option<IdText>,
    code: Option<String>,
    product_name: Option<String>,
    item_num: Option<Num>,
    origin_amount: Option<Num>,
    sum_amount: Option<Num>,
    pay_amount: Option<Num>,
    spec: Vec<Spec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Spec {
    name: Option<String>,
    value: Option<String>,
}

/// 抖店 sells in China only: every amount is fen of CNY.
fn cny() -> Result<Currency, NormaliseError> {
    fields::currency("currency", "CNY")
}

fn fen(amount: Option<Num>, currency: Currency) -> Option<Money> {
    amount.map(|a| Money::from_minor(a.0, currency))
}

/// A positive Unix time as a timestamp (0 means "not happened yet" in these answers).
fn time(field: &str, seconds: Option<i64>) -> Result<Option<Timestamp>, NormaliseError> {
    seconds
        .filter(|s| *s > 0)
        .map(|s| fields::unix_seconds(field, s))
        .transpose()
}

/// The unified status of `order_status` / `main_status`.
fn status(detail: &ShopOrderDetail) -> Option<OrderStatus> {
    match detail.main_status.map(|s| s.0) {
        Some(21 | 22 | 39) => return Some(OrderStatus::Refunded),
        Some(103) => return Some(OrderStatus::PendingPayment),
        _ => {}
    }
    Some(match detail.order_status?.0 {
        1 => OrderStatus::PendingPayment,
        105 => OrderStatus::Placed,
        2 => OrderStatus::Preparing,
        101 | 3 => OrderStatus::OutForDelivery,
        4 => OrderStatus::Cancelled,
        5 => OrderStatus::Completed,
        _ => return None,
    })
}

/// `pay_type` as a payment method name.
fn method(pay_type: Option<i64>) -> Option<String> {
    let name = match pay_type? {
        0 => "cash_on_delivery",
        1 => "wechat_pay",
        2 => "alipay",
        3 => "mini_program",
        4 => "bank_card",
        5 => "balance",
        7 => "none",
        8 => "dou_installment",
        9 => "new_card",
        12 => "pay_later",
        _ => return None,
    };
    Some(name.to_owned())
}

fn item(index: usize, sku: &SkuOrder, currency: Currency) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("sku_order_list[{index}].{name}");
    let quantity = sku
        .item_num
        .map(|n| u32::try_from(n.0))
        .transpose()
        .map_err(|_| NormaliseError::field(&field("item_num"), "out of range"))?
        .ok_or_else(|| NormaliseError::field(&field("item_num"), "missing"))?;
    Ok(Item {
        external_id: sku.order_id.as_ref().map(|i| i.0.clone()),
        sku: non_empty(sku.code.as_deref()).or_else(|| sku.sku_id.as_ref().map(|i| i.0.clone())),
        name: non_empty(sku.product_name.as_deref())
            .ok_or_else(|| NormaliseError::field(&field("product_name"), "missing"))?,
        quantity,
        unit_price: fen(sku.origin_amount, currency),
        total: fen(sku.pay_amount, currency),
        modifiers: sku
            .spec
            .iter()
            .filter_map(|s| {
                let name = fields::join_names(&[s.name.as_deref(), s.value.as_deref()])?;
                Some(Modifier {
                    name,
                    ..Modifier::default()
                })
            })
            .collect(),
        note: None,
    })
}

fn address(detail: &ShopOrderDetail) -> Option<Address> {
    let addr = detail.post_addr.as_ref()?;
    let name = |a: &Option<Area>| a.as_ref().and_then(|a| non_empty(a.name.as_deref()));
    let street = non_empty(addr.detail.as_deref()).or_else(|| {
        detail
            .mask_post_addr
            .as_ref()
            .and_then(|m| non_empty(m.detail.as_deref()))
    });
    let lines: Vec<String> = [name(&addr.town), name(&addr.street), street]
        .into_iter()
        .flatten()
        .collect();
    Some(Address {
        name: non_empty(detail.mask_post_receiver.as_deref()),
        phone: non_empty(detail.mask_post_tel.as_deref()),
        lines,
        city: name(&addr.city),
        region: name(&addr.province),
        postal_code: None,
        country_code: Some("CN".to_owned()),
    })
}

/// The unified order of an answer.
pub fn order(detail: &ShopOrderDetail) -> Result<Order, NormaliseError> {
    let currency = cny()?;
    let external_id = detail
        .order_id
        .as_ref()
        .map(|i| i.0.clone())
        .ok_or_else(|| NormaliseError::field("shop_order_detail.order_id", "missing"))?;
    let items = detail
        .sku_order_list
        .iter()
        .enumerate()
        .map(|(i, sku)| item(i, sku, currency))
        .collect::<Result<Vec<_>, _>>()?;
    let subtotal = if detail.sku_order_list.iter().all(|s| s.sum_amount.is_some())
        && !detail.sku_order_list.is_empty()
    {
        let lines = detail
            .sku_order_list
            .iter()
            .filter_map(|s| fen(s.sum_amount, currency));
        Some(fields::sum("sku_order_list[].sum_amount", lines, currency)?)
    } else {
        None
    };
    let paid_at = time("pay_time", detail.pay_time.map(|t| t.0))?;
    let courier = detail.logistics_info.first().map(|l| Courier {
        name: non_empty(l.company_name.as_deref()),
        tracking_number: non_empty(l.tracking_no.as_deref()),
        ..Courier::default()
    });
    Ok(Order {
        external_id,
        display_id: None,
        status: status(detail),
        version: detail.update_time.map(|t| t.0.to_string()),
        currency: Some(currency),
        totals: Totals {
            subtotal,
            discount: fen(
                detail.total_promotion_amount.or(detail.promotion_amount),
                currency,
            ),
            tax: fen(detail.tax_amount, currency),
            delivery_fee: fen(detail.post_amount, currency),
            total: fen(detail.pay_amount.or(detail.order_amount), currency),
            ..Totals::default()
        },
        presentment_totals: None,
        items,
        customer: (detail.mask_post_receiver.is_some() || detail.mask_post_tel.is_some()).then(
            || Customer {
                name: non_empty(detail.mask_post_receiver.as_deref()),
                phone: non_empty(detail.mask_post_tel.as_deref()),
                email: None,
            },
        ),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Shipping),
            address: address(detail),
            courier,
            ..Fulfilment::default()
        }),
        payments: paid_at
            .map(|paid_at| PaymentLine {
                provider: Some("douyin".to_owned()),
                method: method(detail.pay_type.map(|p| p.0)),
                amount: fen(detail.pay_amount, currency),
                status: None,
                paid_at: Some(paid_at),
            })
            .into_iter()
            .collect(),
        note: non_empty(detail.buyer_words.as_deref()),
    })
}

/// When the message's event happened: its own time field, else the order's update time, else
/// when we received it.
fn occurred_at(
    event_type: EventType,
    data: &MessageData,
    detail: &ShopOrderDetail,
    ctx: &NormaliseContext,
) -> Result<Timestamp, NormaliseError> {
    let own: Lenient = match event_type {
        EventType::OrderCreated => data.create_time,
        EventType::PaymentSucceeded => data.pay_time,
        EventType::OrderCompleted => data.complete_time,
        EventType::OrderCancelled => data.cancel_time,
        EventType::OrderRefunded => data.success_time,
        _ => Lenient(data.update_time.0.or(data.modify_time.0)),
    };
    let fallback = detail.update_time.map(|t| t.0);
    Ok(time("data time", own.0)?
        .or(time("update_time", fallback)?)
        .unwrap_or(ctx.received_at))
}

/// The unified event of one enriched message.
pub fn draft(
    event_type: EventType,
    data: &MessageData,
    detail: &ShopOrderDetail,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    let order = order(detail)?;
    let currency = cny()?;
    let payment = (event_type == EventType::PaymentSucceeded).then(|| Payment {
        provider: "douyin".to_owned(),
        payment_id: non_empty(detail.channel_payment_no.as_deref()),
        order_ref: Some(order.external_id.clone()),
        amount: data
            .pay_amount
            .0
            .map(|a| Money::from_minor(a, currency))
            .or(order.totals.total),
        status: None,
        method: method(data.pay_type.0.or(detail.pay_type.map(|p| p.0))),
        failure_reason: None,
        ..Payment::default()
    });
    let refund = (event_type == EventType::OrderRefunded).then(|| Refund {
        external_id: data.aftersale_id.as_ref().map(|i| i.0.clone()),
        amount: data.refund_amount.0.map(|a| Money::from_minor(a, currency)),
        reason: None,
        items: Vec::new(),
    });
    let status = data
        .order_status
        .0
        .or(detail.order_status.map(|s| s.0))
        .map(|s| s.to_string());
    Ok(EventDraft {
        event_type,
        occurred_at: occurred_at(event_type, data, detail, ctx)?,
        status,
        order: Some(order),
        payment,
        refund,
    })
}
