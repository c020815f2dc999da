//! WooCommerce orders → unified events.
//!
//! WooCommerce has no paid/cancelled topics: `order.updated` carries the current snapshot, so the
//! event type follows the order's `status`. Times come from the `*_gmt` fields (UTC, no offset).

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Address, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus,
    PaymentLine, Refund, Totals,
};
use o2o_core::fields::{self, join_names, non_empty};
use o2o_core::money::{Currency, DecimalText, Money};
use time::UtcOffset;

use crate::payload;

/// What a WooCommerce delivery becomes (fat webhooks: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// The topic whose body is only the deleted order's id.
pub const ORDER_DELETED: &str = "order.deleted";

/// The header naming the topic, as errors name it.
const TOPIC: &str = "X-WC-Webhook-Topic";

/// Why a whole order under `order.deleted` is refused (or, read again from a store, kept in the
/// quarantine).
pub const DELETED_MISMATCH: &str =
    "order.deleted does not match the signed body: it is a whole order, not a deleted order's id";

/// Whether a body is a whole order (it has a `status`) rather than the `{"id": …}` WooCommerce
/// sends for `order.deleted` (`WC_Webhook::build_payload`: "If a resource has been deleted,
/// just include the ID in the payload"). A body that is not JSON is not one.
pub fn is_whole_order(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Status {
        status: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Status>(body).is_ok_and(|b| b.status.is_some())
}

/// Maps one delivery's `body` by its `X-WC-Webhook-Topic`.
pub fn normalise(
    topic: &str,
    body: &[u8],
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    if !matches!(
        topic,
        "order.created" | "order.updated" | "order.deleted" | "order.restored"
    ) {
        return Ok(Normalised::Ignored(format!("topic {topic} is not mapped")));
    }
    let raw: payload::Order = serde_json::from_slice(body)?;
    if topic == ORDER_DELETED {
        // `verify` refuses this on receipt; a stored delivery read again is checked here.
        if raw.status.is_some() {
            return Err(NormaliseError::field(TOPIC, DELETED_MISMATCH));
        }
        // The body is only `{"id": …}`: the order is gone from the shop. Nothing else is known
        // (not even its last status), so nothing else is stated.
        return Ok(one(EventDraft {
            event_type: EventType::OrderCancelled,
            occurred_at: ctx.received_at,
            status: None,
            order: Some(Order {
                external_id: raw.id.0,
                ..Order::default()
            }),
            payment: None,
            refund: None,
        }));
    }
    let status = raw
        .status
        .as_deref()
        .ok_or_else(|| NormaliseError::field("status", "missing"))?;
    let event_type = match (topic, status) {
        ("order.created", _) => EventType::OrderCreated,
        (_, "cancelled" | "trash") => EventType::OrderCancelled,
        (_, "refunded") => EventType::OrderRefunded,
        (_, "completed") => EventType::OrderCompleted,
        (_, "failed") => EventType::PaymentFailed,
        _ => EventType::OrderUpdated,
    };
    let currency = fields::currency(
        "currency",
        raw.currency
            .as_deref()
            .ok_or_else(|| NormaliseError::field("currency", "missing"))?,
    )?;
    let order = order(&raw, currency)?;
    let (occurred_field, occurred) = match event_type {
        EventType::OrderCreated => ("date_created_gmt", raw.date_created_gmt.as_deref()),
        _ => ("date_modified_gmt", raw.date_modified_gmt.as_deref()),
    };
    let refund = if event_type == EventType::OrderRefunded {
        Some(refund(&raw, currency)?)
    } else {
        None
    };
    let payment = (event_type == EventType::PaymentFailed).then(|| o2o_core::event::Payment {
        provider: raw
            .payment_method
            .clone()
            .unwrap_or_else(|| "woocommerce".to_owned()),
        order_ref: Some(order.external_id.clone()),
        amount: order.totals.total,
        status: Some(status.to_owned()),
        method: non_empty(raw.payment_method_title.as_deref()),
        ..Default::default()
    });
    Ok(one(EventDraft {
        event_type,
        occurred_at: gmt_or(occurred, occurred_field, ctx)?,
        status: Some(status.to_owned()),
        order: Some(order),
        payment,
        refund,
    }))
}

fn one(draft: EventDraft) -> Normalised {
    Normalised::Events(vec![draft])
}

fn gmt(field: &str, text: Option<&str>) -> Result<Option<Timestamp>, NormaliseError> {
    text.filter(|t| !t.is_empty())
        .map(|t| fields::naive_time(field, t, UtcOffset::UTC))
        .transpose()
}

fn gmt_or(
    text: Option<&str>,
    field: &str,
    ctx: &NormaliseContext,
) -> Result<Timestamp, NormaliseError> {
    gmt(field, text).map(|t| t.unwrap_or(ctx.received_at))
}

/// WooCommerce statuses → unified (`on-hold` awaits payment confirmation, `processing` is paid).
fn order_status(status: &str) -> Option<OrderStatus> {
    match status {
        "pending" | "on-hold" | "failed" | "checkout-draft" => Some(OrderStatus::PendingPayment),
        "processing" => Some(OrderStatus::Placed),
        "completed" => Some(OrderStatus::Completed),
        "cancelled" | "trash" => Some(OrderStatus::Cancelled),
        "refunded" => Some(OrderStatus::Refunded),
        _ => None,
    }
}

fn order(raw: &payload::Order, currency: Currency) -> Result<Order, NormaliseError> {
    let tax_inclusive = raw.prices_include_tax == Some(true);
    let mut items = Vec::with_capacity(raw.line_items.len());
    let mut subtotals = Vec::with_capacity(raw.line_items.len());
    for (i, line) in raw.line_items.iter().enumerate() {
        let (entry, subtotal) = item(i, line, currency, tax_inclusive)?;
        items.push(entry);
        subtotals.push(subtotal);
    }
    // A sum over only some lines would be a number the shop never stated.
    let subtotal = match subtotals.into_iter().collect::<Option<Vec<Money>>>() {
        Some(amounts) if !amounts.is_empty() => {
            Some(fields::sum("line_items.subtotal", amounts, currency)?)
        }
        _ => None,
    };
    let mut fees = Vec::with_capacity(raw.fee_lines.len());
    for (i, fee) in raw.fee_lines.iter().enumerate() {
        fees.extend(fields::optional_money(
            &format!("fee_lines[{i}].total"),
            fee.total.as_ref(),
            currency,
        )?);
    }
    let totals = Totals {
        subtotal,
        discount: shop_amount(
            ("discount_total", raw.discount_total.as_ref()),
            ("discount_tax", raw.discount_tax.as_ref()),
            currency,
            tax_inclusive,
        )?,
        tax: fields::optional_money("total_tax", raw.total_tax.as_ref(), currency)?,
        delivery_fee: fields::optional_money(
            "shipping_total",
            raw.shipping_total.as_ref(),
            currency,
        )?,
        service_fee: if fees.is_empty() {
            None
        } else {
            Some(fields::sum("fee_lines.total", fees, currency)?)
        },
        tip: None,
        total: fields::optional_money("total", raw.total.as_ref(), currency)?,
        ..Totals::default()
    };
    let status = raw.status.as_deref().and_then(order_status);
    let paid_at = gmt("date_paid_gmt", raw.date_paid_gmt.as_deref())?;
    let payments = match (non_empty(raw.payment_method.as_deref()), paid_at) {
        (None, None) => vec![],
        (provider, paid_at) => vec![PaymentLine {
            provider,
            method: non_empty(raw.payment_method_title.as_deref()),
            amount: paid_at.and(totals.total),
            // WooCommerce has no payment status string; `paid_at` tells whether it was paid.
            status: None,
            paid_at,
        }],
    };
    let version = gmt("date_modified_gmt", raw.date_modified_gmt.as_deref())?;
    Ok(Order {
        external_id: raw.id.0.clone(),
        display_id: non_empty(raw.number.as_deref()),
        status,
        version: version.map(|v| v.to_string()),
        currency: Some(currency),
        totals,
        presentment_totals: None,
        items,
        customer: customer(raw.billing.as_ref()),
        fulfilment: fulfilment(raw),
        payments,
        note: non_empty(raw.customer_note.as_deref()),
    })
}

/// One line as an item, and its subtotal (before discounts) for the order's subtotal.
fn item(
    index: usize,
    line: &payload::LineItem,
    currency: Currency,
    tax_inclusive: bool,
) -> Result<(Item, Option<Money>), NormaliseError> {
    let field = |name: &str| format!("line_items[{index}].{name}");
    let subtotal = shop_amount(
        (&field("subtotal"), line.subtotal.as_ref()),
        (&field("subtotal_tax"), line.subtotal_tax.as_ref()),
        currency,
        tax_inclusive,
    )?;
    let total = shop_amount(
        (&field("total"), line.total.as_ref()),
        (&field("total_tax"), line.total_tax.as_ref()),
        currency,
        tax_inclusive,
    )?;
    // WooCommerce's own `price` is `total / quantity`: after discounts, and a float that may not
    // be exact (10.00 / 3). The unit price before discounts is `subtotal / quantity`, kept only
    // when it is a whole number of minor units, never rounded.
    let unit_price = subtotal.and_then(|s| per_unit(s, line.quantity));
    let modifiers = line
        .meta_data
        .iter()
        .filter(|m| !m.key.as_deref().unwrap_or("_").starts_with('_'))
        .filter_map(|m| {
            let key = non_empty(m.display_key.as_deref())?;
            let value = match &m.display_value {
                Some(serde_json::Value::String(v)) => strip_tags(v),
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => return None,
            };
            Some(Modifier {
                name: format!("{key}: {value}"),
                ..Modifier::default()
            })
        })
        .collect();
    let item = Item {
        external_id: line.id.as_ref().map(|id| id.0.clone()),
        sku: non_empty(line.sku.as_deref()),
        name: line.name.clone().unwrap_or_default(),
        quantity: line.quantity,
        unit_price,
        total,
        modifiers,
        note: None,
    };
    Ok((item, subtotal))
}

/// An amount as the shop prices it. WooCommerce states line and discount amounts without tax and
/// their tax beside them; where the shop's prices include tax (`prices_include_tax`), the unified
/// amounts include it too. Unknown when either part is missing.
fn shop_amount(
    (field, amount): (&str, Option<&DecimalText>),
    (tax_field, tax): (&str, Option<&DecimalText>),
    currency: Currency,
    tax_inclusive: bool,
) -> Result<Option<Money>, NormaliseError> {
    let amount = fields::optional_money(field, amount, currency)?;
    if !tax_inclusive {
        return Ok(amount);
    }
    match (amount, fields::optional_money(tax_field, tax, currency)?) {
        (Some(amount), Some(tax)) => amount
            .checked_add(tax)
            .map(Some)
            .map_err(|e| NormaliseError::field(field, e)),
        _ => Ok(None),
    }
}

/// The price of one unit, only when `line` divides exactly by `quantity`.
fn per_unit(line: Money, quantity: u32) -> Option<Money> {
    let quantity = i64::from(quantity);
    (quantity > 0 && line.amount_minor % quantity == 0)
        .then(|| Money::from_minor(line.amount_minor / quantity, line.currency))
}

/// WooCommerce renders some display values as HTML (`<p>Blue</p>`); keep the text.
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

fn customer(billing: Option<&payload::Address>) -> Option<Customer> {
    let b = billing?;
    let customer = Customer {
        name: join_names(&[b.first_name.as_deref(), b.last_name.as_deref()]),
        phone: non_empty(b.phone.as_deref()),
        email: non_empty(b.email.as_deref()),
    };
    (customer != Customer::default()).then_some(customer)
}

fn fulfilment(raw: &payload::Order) -> Option<Fulfilment> {
    let address = raw.shipping.as_ref().map(|a| Address {
        name: join_names(&[a.first_name.as_deref(), a.last_name.as_deref()]),
        phone: non_empty(a.phone.as_deref()),
        lines: [a.address_1.as_deref(), a.address_2.as_deref()]
            .into_iter()
            .filter_map(non_empty)
            .collect(),
        city: non_empty(a.city.as_deref()),
        region: non_empty(a.state.as_deref()),
        postal_code: non_empty(a.postcode.as_deref()),
        country_code: non_empty(a.country.as_deref()),
    });
    let address = address.filter(|a| *a != Address::default());
    let kind = match raw
        .shipping_lines
        .first()
        .and_then(|l| l.method_id.as_deref())
    {
        Some("local_pickup" | "pickup_location") => Some(FulfilmentType::Pickup),
        Some(_) => Some(FulfilmentType::Shipping),
        None => address.as_ref().map(|_| FulfilmentType::Shipping),
    };
    let fulfilment = Fulfilment {
        kind,
        address,
        ..Fulfilment::default()
    };
    (fulfilment != Fulfilment::default()).then_some(fulfilment)
}

fn refund(raw: &payload::Order, currency: Currency) -> Result<Refund, NormaliseError> {
    let mut amounts = Vec::with_capacity(raw.refunds.len());
    for (i, r) in raw.refunds.iter().enumerate() {
        let field = format!("refunds[{i}].total");
        amounts.push(fields::magnitude(
            &field,
            fields::money(&field, &r.total, currency)?,
        )?);
    }
    let amount: Option<Money> = if amounts.is_empty() {
        None
    } else {
        Some(fields::sum("refunds.total", amounts, currency)?)
    };
    // The amount covers every refund on the order; id and reason only when there is one.
    let single = match raw.refunds.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    Ok(Refund {
        external_id: single.and_then(|r| r.id.as_ref()).map(|id| id.0.clone()),
        amount,
        reason: single.and_then(|r| non_empty(r.reason.as_deref())),
        items: Vec::new(),
    })
}
