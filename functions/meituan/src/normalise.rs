//! Meituan pushes → unified events.
//!
//! - `order`: the whole order at its `status` (1/2 `order.created`, 3/4/6 `order.updated`, 8
//!   `order.completed`, 9 `order.cancelled`).
//! - `cancel`: `order.cancelled`, the platform status being the `reason_code`.
//! - `refund` / `refund-part`: `order.refunded` once the refund is agreed, else `order.updated`
//!   with the refund's step as the platform status.
//! - `logistics`: `fulfilment.updated` with the rider.
//!
//! Money is yuan as decimal text, except `poi_receive_detail` and `package_bag_money`, in fen.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, PaymentLine, Refund, Totals,
};
use o2o_core::fields::{self, non_empty};
use o2o_core::money::{Currency, DecimalText, Money};

use crate::payload::{
    Charge, DetailLine, Endpoint, Extra, Push, ReceiveDetail, RefundLine, integer,
};

/// What a Meituan delivery becomes (fat pushes: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// Meituan settles in renminbi.
fn cny() -> Currency {
    // A listed ISO 4217 code: `from_code` cannot refuse it.
    Currency::from_code("CNY").unwrap_or_else(|_| unreachable!("CNY is in the currency table"))
}

/// Maps one push.
pub fn normalise(push: &Push, ctx: &NormaliseContext) -> Result<Normalised, NormaliseError> {
    let draft = match push.endpoint {
        Endpoint::Order => order_push(push, ctx)?,
        Endpoint::Cancel => cancel_push(push, ctx)?,
        Endpoint::Refund | Endpoint::RefundPart => refund_push(push, ctx)?,
        Endpoint::Logistics => logistics_push(push, ctx)?,
    };
    Ok(Normalised::Events(vec![draft]))
}

/// A time parameter in Unix seconds.
fn time_param(push: &Push, name: &str) -> Result<Option<Timestamp>, NormaliseError> {
    push.integer(name)?
        .filter(|seconds| *seconds > 0)
        .map(|seconds| fields::unix_seconds(name, seconds))
        .transpose()
}

/// When the push says it happened: the first of `names` given, else the push's `timestamp`,
/// else when it was received.
fn occurred_at(
    push: &Push,
    names: &[&str],
    ctx: &NormaliseContext,
) -> Result<Timestamp, NormaliseError> {
    for name in names.iter().chain(&["timestamp"]) {
        if let Some(at) = time_param(push, name)? {
            return Ok(at);
        }
    }
    Ok(ctx.received_at)
}

/// The order with only its id (and `status`), for the pushes that carry no more.
fn bare_order(push: &Push, status: Option<OrderStatus>) -> Result<Order, NormaliseError> {
    Ok(Order {
        external_id: push.required("order_id")?.to_owned(),
        status,
        currency: Some(cny()),
        ..Order::default()
    })
}

fn order_push(push: &Push, ctx: &NormaliseContext) -> Result<EventDraft, NormaliseError> {
    let code = push.required("status")?;
    let (event_type, status) = match code {
        "1" => (EventType::OrderCreated, OrderStatus::PendingPayment),
        "2" => (EventType::OrderCreated, OrderStatus::Placed),
        "3" => (EventType::OrderUpdated, OrderStatus::Placed),
        "4" => (EventType::OrderUpdated, OrderStatus::Accepted),
        "6" => (EventType::OrderUpdated, OrderStatus::OutForDelivery),
        "8" => (EventType::OrderCompleted, OrderStatus::Completed),
        "9" => (EventType::OrderCancelled, OrderStatus::Cancelled),
        _ => return Err(NormaliseError::field("status", "not a known order status")),
    };
    let updated = time_param(push, "utime")?;
    let mut order = order(push)?;
    order.status = Some(status);
    order.version = updated.map(|at| at.unix_millis().to_string());
    Ok(EventDraft {
        event_type,
        occurred_at: occurred_at(push, &["utime", "ctime"], ctx)?,
        status: Some(code.to_owned()),
        order: Some(order),
        payment: None,
        refund: None,
    })
}

/// The whole order of an order push.
fn order(push: &Push) -> Result<Order, NormaliseError> {
    let lines: Vec<DetailLine> = push.json("detail")?.unwrap_or_default();
    let items = lines
        .iter()
        .enumerate()
        .map(|(i, line)| item(i, line))
        .collect::<Result<Vec<_>, _>>()?;
    let total = yuan_param(push, "total")?;
    let payment = total.map(|amount| PaymentLine {
        provider: Some("meituan".to_owned()),
        method: Some(
            match push.get("pay_type") {
                Some("1") => "cash_on_delivery",
                _ => "online",
            }
            .to_owned(),
        ),
        amount: Some(amount),
        ..PaymentLine::default()
    });
    let name = push.get("recipient_name").map(str::to_owned);
    let phone = push.get("recipient_phone").map(str::to_owned);
    let pickup = push.get("pick_type") == Some("1");
    Ok(Order {
        external_id: push.required("order_id")?.to_owned(),
        display_id: push.get("day_seq").map(|seq| format!("#{seq}")),
        currency: Some(cny()),
        totals: totals(push, &lines)?,
        items,
        customer: (name.is_some() || phone.is_some()).then(|| Customer {
            name: name.clone(),
            phone: phone.clone(),
            email: None,
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(if pickup {
                FulfilmentType::Pickup
            } else {
                FulfilmentType::Delivery
            }),
            address: push.get("recipient_address").map(|line| Address {
                name,
                phone,
                lines: vec![line.to_owned()],
                country_code: Some("CN".to_owned()),
                ..Address::default()
            }),
            // `delivery_time` 0 is "as soon as possible"; anything else is the booked time.
            scheduled_for: time_param(push, "delivery_time")?,
            courier: None,
            status: None,
        }),
        payments: payment.into_iter().collect(),
        note: non_empty(push.get("caution")),
        ..Order::default()
    })
}

fn yuan(field: &str, amount: &DecimalText) -> Result<Money, NormaliseError> {
    fields::money(field, amount, cny())
}

fn yuan_param(push: &Push, name: &str) -> Result<Option<Money>, NormaliseError> {
    push.get(name)
        .map(|text| yuan(name, &DecimalText(text.to_owned())))
        .transpose()
}

/// An amount in fen (`poi_receive_detail`, `package_bag_money`).
fn fen(field: &str, amount: &DecimalText) -> Result<Money, NormaliseError> {
    integer(field, &amount.0).map(|minor| Money::from_minor(minor, cny()))
}

/// A count (`quantity`, `box_num`), which must be whole and not negative.
fn count(field: &str, amount: &DecimalText) -> Result<u32, NormaliseError> {
    u32::try_from(integer(field, &amount.0)?)
        .map_err(|_| NormaliseError::field(field, "not a count"))
}

/// `price × quantity`, naming `field` on overflow.
fn times(field: &str, price: Money, quantity: u32) -> Result<Money, NormaliseError> {
    price
        .checked_mul(i64::from(quantity))
        .map_err(|e| NormaliseError::field(field, e))
}

fn item(index: usize, line: &DetailLine) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("detail[{index}].{name}");
    let quantity = match &line.quantity {
        Some(quantity) => count(&field("quantity"), quantity)?,
        None => return Err(NormaliseError::field(&field("quantity"), "missing")),
    };
    let unit_price = line
        .price
        .as_ref()
        .map(|price| yuan(&field("price"), price))
        .transpose()?;
    let mut modifiers: Vec<Modifier> = non_empty(line.spec.as_deref())
        .into_iter()
        .map(|name| Modifier {
            name,
            ..Modifier::default()
        })
        .collect();
    let properties = line.food_property.as_deref().unwrap_or_default();
    modifiers.extend(
        properties
            .split([',', '，'])
            .filter_map(|name| non_empty(Some(name)))
            .map(|name| Modifier {
                name,
                ..Modifier::default()
            }),
    );
    Ok(Item {
        external_id: None,
        sku: line
            .app_food_code
            .as_ref()
            .or(line.sku_id.as_ref())
            .map(|code| code.0.clone())
            .filter(|code| !code.is_empty()),
        name: line.food_name.clone().unwrap_or_default(),
        quantity,
        unit_price,
        total: None,
        modifiers,
        note: None,
    })
}

/// The totals: items, boxes and bag, delivery, what was paid and what came off; who funds the
/// discount, Meituan's commission and what the merchant receives, from `poi_receive_detail`
/// (fen) where given, else the discounts from `extras` (yuan).
fn totals(push: &Push, lines: &[DetailLine]) -> Result<Totals, NormaliseError> {
    let mut subtotal = Vec::with_capacity(lines.len());
    let mut packaging = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("detail[{i}].{name}");
        if let (Some(price), Some(quantity)) = (&line.price, &line.quantity) {
            let price = yuan(&field("price"), price)?;
            subtotal.push(times(
                &field("price"),
                price,
                count(&field("quantity"), quantity)?,
            )?);
        }
        if let (Some(price), Some(boxes)) = (&line.box_price, &line.box_num) {
            let price = yuan(&field("box_price"), price)?;
            packaging.push(times(
                &field("box_price"),
                price,
                count(&field("box_num"), boxes)?,
            )?);
        }
    }
    if let Some(bag) = push.get("package_bag_money") {
        packaging.push(fen("package_bag_money", &DecimalText(bag.to_owned()))?);
    }
    let total = yuan_param(push, "total")?;
    let original = yuan_param(push, "original_price")?;
    let discount = match (original, total) {
        (Some(original), Some(total)) => Some(
            original
                .checked_sub(total)
                .map_err(|e| NormaliseError::field("original_price", e))?,
        ),
        _ => None,
    };
    let mut totals = Totals {
        subtotal: (!lines.is_empty())
            .then(|| fields::sum("detail", subtotal, cny()))
            .transpose()?,
        discount,
        delivery_fee: yuan_param(push, "shipping_fee")?,
        service_fee: (!packaging.is_empty())
            .then(|| fields::sum("box_price", packaging, cny()))
            .transpose()?,
        total,
        ..Totals::default()
    };
    match push.json::<ReceiveDetail>("poi_receive_detail")? {
        Some(detail) => settlement(&mut totals, &detail)?,
        None => funding_from_extras(&mut totals, push)?,
    }
    Ok(totals)
}

/// The funding split, commission and receivable from `poi_receive_detail` (fen).
fn settlement(totals: &mut Totals, detail: &ReceiveDetail) -> Result<(), NormaliseError> {
    let charges = |field: &str, charges: &[Charge]| -> Result<Money, NormaliseError> {
        let amounts = charges
            .iter()
            .filter_map(|charge| charge.money_cent.as_ref())
            .map(|cents| fen(field, cents))
            .collect::<Result<Vec<_>, _>>()?;
        fields::sum(field, amounts, cny())
    };
    totals.platform_discount = Some(charges(
        "poi_receive_detail.actOrderChargeByMt",
        &detail.act_order_charge_by_mt,
    )?);
    totals.merchant_discount = Some(charges(
        "poi_receive_detail.actOrderChargeByPoi",
        &detail.act_order_charge_by_poi,
    )?);
    totals.commission = detail
        .food_share_fee_charge_by_poi
        .as_ref()
        .map(|fee| fen("poi_receive_detail.foodShareFeeChargeByPoi", fee))
        .transpose()?;
    totals.merchant_receivable = detail
        .wm_poi_receive_cent
        .as_ref()
        .map(|cents| fen("poi_receive_detail.wmPoiReceiveCent", cents))
        .transpose()?;
    Ok(())
}

/// The funding split from `extras` (yuan), when any activity states it.
fn funding_from_extras(totals: &mut Totals, push: &Push) -> Result<(), NormaliseError> {
    let extras: Vec<Extra> = push.json("extras")?.unwrap_or_default();
    let split = |field: &str, part: fn(&Extra) -> Option<&DecimalText>| {
        let amounts = extras
            .iter()
            .filter_map(part)
            .map(|amount| yuan(field, amount))
            .collect::<Result<Vec<_>, _>>()?;
        (!amounts.is_empty())
            .then(|| fields::sum(field, amounts, cny()))
            .transpose()
    };
    totals.platform_discount = split("extras.mt_charge", |e| e.mt_charge.as_ref())?;
    totals.merchant_discount = split("extras.poi_charge", |e| e.poi_charge.as_ref())?;
    Ok(())
}

fn cancel_push(push: &Push, ctx: &NormaliseContext) -> Result<EventDraft, NormaliseError> {
    Ok(EventDraft {
        event_type: EventType::OrderCancelled,
        occurred_at: occurred_at(push, &[], ctx)?,
        status: push.get("reason_code").map(str::to_owned),
        order: Some(bare_order(push, Some(OrderStatus::Cancelled))?),
        payment: None,
        refund: None,
    })
}

/// The refund's step: `notify_type` (`apply`, `agree`, `part` …), or, for stores with returns
/// enabled, which send none, `status:{n}`.
fn refund_step(push: &Push) -> Result<String, NormaliseError> {
    match (push.get("notify_type"), push.get("status")) {
        (Some(step), _) => Ok(step.to_owned()),
        (None, Some(status)) => Ok(format!("status:{status}")),
        (None, None) => Err(NormaliseError::field("notify_type", "missing")),
    }
}

/// Whether the refund is agreed: `notify_type=agree`; for stores with returns enabled, the
/// final review agreed (21) or an appeal upheld (27), or, for a refund without a return
/// (`service_type=1`), the first review agreed (10) or its appeal upheld (17).
fn refund_agreed(push: &Push) -> bool {
    match (push.get("notify_type"), push.get("status")) {
        (Some(step), _) => step == "agree",
        (None, Some("21" | "27")) => true,
        (None, Some("10" | "17")) => push.get("service_type") == Some("1"),
        _ => false,
    }
}

fn refund_push(push: &Push, ctx: &NormaliseContext) -> Result<EventDraft, NormaliseError> {
    let step = refund_step(push)?;
    let partial = push.endpoint == Endpoint::RefundPart;
    let occurred_at = occurred_at(push, &["ctime"], ctx)?;
    if !refund_agreed(push) {
        return Ok(EventDraft {
            event_type: EventType::OrderUpdated,
            occurred_at,
            status: Some(step),
            order: Some(bare_order(push, None)?),
            payment: None,
            refund: None,
        });
    }
    let lines: Vec<RefundLine> = push.json("food")?.unwrap_or_default();
    let items = lines
        .iter()
        .enumerate()
        .map(|(i, line)| refund_item(i, line))
        .collect::<Result<Vec<_>, _>>()?;
    let status = (!partial).then_some(OrderStatus::Refunded);
    Ok(EventDraft {
        event_type: EventType::OrderRefunded,
        occurred_at,
        status: Some(step),
        order: Some(bare_order(push, status)?),
        payment: None,
        refund: Some(Refund {
            external_id: push.get("refund_id").map(str::to_owned),
            amount: yuan_param(push, "money")?,
            reason: push.get("reason").map(str::to_owned),
            items,
        }),
    })
}

fn refund_item(index: usize, line: &RefundLine) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("food[{index}].{name}");
    let quantity = match &line.count {
        Some(quantity) => count(&field("count"), quantity)?,
        None => return Err(NormaliseError::field(&field("count"), "missing")),
    };
    let refund_price = line
        .refund_price
        .as_ref()
        .map(|price| yuan(&field("refund_price"), price))
        .transpose()?;
    Ok(Item {
        sku: line
            .app_food_code
            .as_ref()
            .or(line.sku_id.as_ref())
            .map(|code| code.0.clone())
            .filter(|code| !code.is_empty()),
        name: line.food_name.clone().unwrap_or_default(),
        quantity,
        unit_price: line
            .origin_food_price
            .as_ref()
            .map(|price| yuan(&field("origin_food_price"), price))
            .transpose()?,
        total: refund_price
            .map(|price| times(&field("refund_price"), price, quantity))
            .transpose()?,
        ..Item::default()
    })
}

fn logistics_push(push: &Push, ctx: &NormaliseContext) -> Result<EventDraft, NormaliseError> {
    let code = push.required("logistics_status")?;
    let status = match code {
        "20" => Some(OrderStatus::OutForDelivery),
        "40" => Some(OrderStatus::Completed),
        _ => None,
    };
    let name = push.get("dispatcher_name").map(str::to_owned);
    let phone = push.get("dispatcher_mobile").map(str::to_owned);
    let mut order = bare_order(push, status)?;
    order.fulfilment = Some(Fulfilment {
        kind: Some(FulfilmentType::Delivery),
        courier: (name.is_some() || phone.is_some()).then(|| Courier {
            name,
            phone,
            ..Courier::default()
        }),
        status: Some(code.to_owned()),
        ..Fulfilment::default()
    });
    Ok(EventDraft {
        event_type: EventType::FulfilmentUpdated,
        occurred_at: occurred_at(push, &["time"], ctx)?,
        status: Some(code.to_owned()),
        order: Some(order),
        payment: None,
        refund: None,
    })
}
