//! Shopify payloads → unified events.
//!
//! Amounts come from the `*_set` money bags when present (shop and presentment currency) and
//! from the decimal strings in the order's `currency` otherwise.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Payment, PaymentLine, Refund, Totals,
};
use o2o_core::fields::{self, join_names, non_empty};
use o2o_core::money::{Currency, DecimalText, Money};

use crate::body::Body;
use crate::payload::{self, MoneySet};
use crate::topic::Topic;

/// What a Shopify delivery becomes (fat webhooks: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// Maps one delivery's `body`, read for its `X-Shopify-Topic` (see [`crate::body`]).
pub fn normalise(
    topic: &str,
    body: &Body,
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    let Some(topic) = Topic::parse(topic) else {
        return Ok(Normalised::Ignored(format!("topic {topic} is not mapped")));
    };
    let raw = match body {
        Body::Order(raw) => raw,
        Body::Edit(edit) => return order_edit(edit, ctx).map(one),
        Body::Refund(raw) => return refund(raw, ctx).map(one),
        Body::Unreadable(error) => return Err(error.clone()),
        // `body::read` reads every mapped topic.
        Body::Unmapped => {
            return Err(NormaliseError::field(
                "X-Shopify-Topic",
                "the body was not read for this topic",
            ));
        }
    };
    let event_type = topic.event_type();
    let order = order(raw)?;
    let occurred = match event_type {
        EventType::OrderCreated => raw.created_at.as_deref(),
        EventType::OrderCancelled => raw.cancelled_at.as_deref().or(raw.updated_at.as_deref()),
        _ => raw.updated_at.as_deref(),
    };
    let payment = (event_type == EventType::PaymentSucceeded).then(|| Payment {
        provider: raw
            .payment_gateway_names
            .first()
            .cloned()
            .unwrap_or_else(|| "shopify".to_owned()),
        order_ref: Some(order.external_id.clone()),
        amount: order.totals.total,
        status: raw.financial_status.clone(),
        ..Payment::default()
    });
    Ok(one(EventDraft {
        event_type,
        occurred_at: time_or(occurred, "updated_at", ctx)?,
        // The status the topic is about: fulfilment topics report `fulfillment_status`.
        status: if event_type == EventType::FulfilmentUpdated {
            raw.fulfillment_status
                .clone()
                .or_else(|| raw.financial_status.clone())
        } else {
            raw.financial_status
                .clone()
                .or_else(|| raw.fulfillment_status.clone())
        },
        order: Some(order),
        payment,
        refund: None,
    }))
}

fn one(draft: EventDraft) -> Normalised {
    Normalised::Events(vec![draft])
}

fn time_or(
    text: Option<&str>,
    field: &str,
    ctx: &NormaliseContext,
) -> Result<Timestamp, NormaliseError> {
    text.map(|t| fields::rfc3339(field, t))
        .transpose()
        .map(|t| t.unwrap_or(ctx.received_at))
}

/// The shop currency of an order: the `currency` field, else the shop side of a money bag.
fn shop_currency(raw: &payload::Order) -> Result<Currency, NormaliseError> {
    let code = raw
        .currency
        .as_deref()
        .or_else(|| {
            raw.total_price_set
                .as_ref()
                .map(|s| s.shop_money.currency_code.as_str())
        })
        .ok_or_else(|| NormaliseError::field("currency", "missing"))?;
    fields::currency("currency", code)
}

/// One side of a money bag, in its own currency.
fn bag_money(field: &str, side: &payload::MoneyAmount) -> Result<Money, NormaliseError> {
    fields::money(
        field,
        &side.amount,
        fields::currency(field, &side.currency_code)?,
    )
}

/// An amount in the shop currency: from the bag's `shop_money`, else the decimal string.
fn shop_amount(
    field: &str,
    set: Option<&MoneySet>,
    text: Option<&DecimalText>,
    currency: Currency,
) -> Result<Option<Money>, NormaliseError> {
    match set {
        Some(set) => bag_money(field, &set.shop_money).map(Some),
        None => fields::optional_money(field, text, currency),
    }
}

/// An amount in the presentment currency, when the bag has one.
fn presentment_amount(
    field: &str,
    set: Option<&MoneySet>,
) -> Result<Option<Money>, NormaliseError> {
    set.and_then(|s| s.presentment_money.as_ref())
        .map(|side| bag_money(field, side))
        .transpose()
}

fn order(raw: &payload::Order) -> Result<Order, NormaliseError> {
    let currency = shop_currency(raw)?;
    let shipping = match &raw.total_shipping_price_set {
        Some(set) => shop_amount("total_shipping_price_set", Some(set), None, currency)?,
        None if raw.shipping_lines.is_empty() => None,
        None => {
            let prices = raw.shipping_lines.iter().filter_map(|l| l.price.as_ref());
            let amounts = prices
                .map(|p| fields::money("shipping_lines.price", p, currency))
                .collect::<Result<Vec<_>, _>>()?;
            Some(fields::sum("shipping_lines.price", amounts, currency)?)
        }
    };
    let tip = fields::optional_money(
        "total_tip_received",
        raw.total_tip_received.as_ref(),
        currency,
    )?
    .filter(|t| t.amount_minor != 0);
    let totals = Totals {
        subtotal: shop_amount(
            "total_line_items_price",
            raw.total_line_items_price_set.as_ref(),
            raw.total_line_items_price.as_ref(),
            currency,
        )?,
        discount: shop_amount(
            "total_discounts",
            raw.total_discounts_set.as_ref(),
            raw.total_discounts.as_ref(),
            currency,
        )?,
        tax: shop_amount(
            "total_tax",
            raw.total_tax_set.as_ref(),
            raw.total_tax.as_ref(),
            currency,
        )?,
        delivery_fee: shipping,
        service_fee: None,
        tip,
        total: shop_amount(
            "total_price",
            raw.total_price_set.as_ref(),
            raw.total_price.as_ref(),
            currency,
        )?,
        ..Totals::default()
    };
    let presentment_differs = raw
        .presentment_currency
        .as_deref()
        .is_some_and(|p| p != currency.code());
    let presentment_totals = if presentment_differs {
        Some(Totals {
            subtotal: presentment_amount(
                "total_line_items_price_set",
                raw.total_line_items_price_set.as_ref(),
            )?,
            discount: presentment_amount("total_discounts_set", raw.total_discounts_set.as_ref())?,
            tax: presentment_amount("total_tax_set", raw.total_tax_set.as_ref())?,
            delivery_fee: presentment_amount(
                "total_shipping_price_set",
                raw.total_shipping_price_set.as_ref(),
            )?,
            total: presentment_amount("total_price_set", raw.total_price_set.as_ref())?,
            ..Totals::default()
        })
        .filter(|t| !t.is_empty())
    } else {
        None
    };
    let items = raw
        .lines()
        .iter()
        .enumerate()
        .map(|(i, line)| item(i, line, currency))
        .collect::<Result<_, _>>()?;
    let version = raw
        .updated_at
        .as_deref()
        .map(|t| fields::rfc3339("updated_at", t))
        .transpose()?;
    Ok(Order {
        external_id: raw.id.0.clone(),
        display_id: raw.name.clone(),
        status: order_status(raw),
        version: version.map(|v| v.to_string()),
        currency: Some(currency),
        totals,
        presentment_totals,
        items,
        customer: customer(raw),
        fulfilment: fulfilment(raw),
        payments: raw
            .payment_gateway_names
            .iter()
            .map(|gateway| PaymentLine {
                provider: Some(gateway.clone()),
                status: raw.financial_status.clone(),
                ..PaymentLine::default()
            })
            .collect(),
        note: non_empty(raw.note.as_deref()),
    })
}

/// Cancellation and refunds win over fulfilment, fulfilment over payment.
fn order_status(raw: &payload::Order) -> Option<OrderStatus> {
    if raw.cancelled_at.is_some() {
        return Some(OrderStatus::Cancelled);
    }
    match (
        raw.financial_status.as_deref(),
        raw.fulfillment_status.as_deref(),
    ) {
        (Some("refunded"), _) => Some(OrderStatus::Refunded),
        (Some("voided"), _) => Some(OrderStatus::Cancelled),
        (_, Some("fulfilled")) => Some(OrderStatus::Completed),
        (_, Some("partial")) => Some(OrderStatus::Preparing),
        (Some("pending"), _) => Some(OrderStatus::PendingPayment),
        (Some("authorized" | "paid" | "partially_paid" | "partially_refunded"), _) => {
            Some(OrderStatus::Placed)
        }
        _ => None,
    }
}

fn item(
    index: usize,
    line: &payload::LineItem,
    currency: Currency,
) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("line_items[{index}].{name}");
    let unit_price = shop_amount(
        &field("price"),
        line.price_set.as_ref(),
        Some(&line.price),
        currency,
    )?;
    let allocated: Vec<Money> = line
        .discount_allocations
        .iter()
        .map(|d| {
            shop_amount(
                &field("discount_allocations"),
                d.amount_set.as_ref(),
                Some(&d.amount),
                currency,
            )
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let discount = if allocated.is_empty() {
        fields::optional_money(
            &field("total_discount"),
            line.total_discount.as_ref(),
            currency,
        )?
        .unwrap_or(Money::zero(currency))
    } else {
        fields::sum(&field("discount_allocations"), allocated, currency)?
    };
    let total = match unit_price {
        Some(price) => {
            let gross = price
                .checked_mul(i64::from(line.quantity))
                .map_err(|e| NormaliseError::field(&field("price"), e))?;
            Some(
                gross
                    .checked_sub(discount)
                    .map_err(|e| NormaliseError::field(&field("discount_allocations"), e))?,
            )
        }
        None => None,
    };
    let mut modifiers: Vec<Modifier> = line
        .variant_title
        .as_deref()
        .and_then(|v| non_empty(Some(v)))
        .map(|name| Modifier {
            name,
            ..Modifier::default()
        })
        .into_iter()
        .collect();
    modifiers.extend(
        line.properties
            .iter()
            .filter(|p| !p.name.starts_with('_'))
            .map(|p| Modifier {
                name: match &p.value {
                    Some(serde_json::Value::String(v)) => format!("{}: {v}", p.name),
                    Some(serde_json::Value::Null) | None => p.name.clone(),
                    Some(other) => format!("{}: {other}", p.name),
                },
                ..Modifier::default()
            }),
    );
    Ok(Item {
        external_id: line.id.as_ref().map(|id| id.0.clone()),
        sku: non_empty(line.sku.as_deref()),
        name: line
            .title
            .clone()
            .or_else(|| line.name.clone())
            .unwrap_or_default(),
        quantity: line.quantity,
        unit_price,
        total,
        modifiers,
        note: None,
    })
}

fn customer(raw: &payload::Order) -> Option<Customer> {
    let c = raw.customer.as_ref();
    let customer = Customer {
        name: c.and_then(|c| join_names(&[c.first_name.as_deref(), c.last_name.as_deref()])),
        phone: non_empty(raw.phone.as_deref())
            .or_else(|| non_empty(c.and_then(|c| c.phone.as_deref()))),
        email: non_empty(raw.email.as_deref())
            .or_else(|| non_empty(c.and_then(|c| c.email.as_deref()))),
    };
    (customer != Customer::default()).then_some(customer)
}

fn fulfilment(raw: &payload::Order) -> Option<Fulfilment> {
    let address = raw.shipping_address.as_ref().map(|a| Address {
        name: non_empty(a.name.as_deref())
            .or_else(|| join_names(&[a.first_name.as_deref(), a.last_name.as_deref()])),
        phone: non_empty(a.phone.as_deref()),
        lines: [a.address1.as_deref(), a.address2.as_deref()]
            .into_iter()
            .filter_map(non_empty)
            .collect(),
        city: non_empty(a.city.as_deref()),
        region: non_empty(a.province_code.as_deref()).or_else(|| non_empty(a.province.as_deref())),
        postal_code: non_empty(a.zip.as_deref()),
        country_code: non_empty(a.country_code.as_deref()),
    });
    let courier = raw.fulfillments.last().map(|f| Courier {
        name: non_empty(f.tracking_company.as_deref()),
        tracking_number: non_empty(f.tracking_number.as_deref()),
        tracking_url: non_empty(f.tracking_url.as_deref()),
        phone: None,
    });
    let is_pickup = raw.shipping_lines.iter().any(|l| {
        l.code
            .as_deref()
            .or(l.title.as_deref())
            .is_some_and(|c| c.to_ascii_lowercase().contains("pickup"))
    });
    let kind = if is_pickup {
        Some(FulfilmentType::Pickup)
    } else if address.is_some() || !raw.shipping_lines.is_empty() {
        Some(FulfilmentType::Shipping)
    } else {
        None
    };
    let fulfilment = Fulfilment {
        kind,
        address,
        scheduled_for: None,
        courier,
        status: raw.fulfillment_status.clone(),
    };
    (fulfilment != Fulfilment::default()).then_some(fulfilment)
}

fn order_edit(
    edit: &payload::OrderEdit,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    // The order changes when the edit is committed; `created_at` is when staff began it.
    let occurred_at = match edit.committed_at.as_deref() {
        Some(committed) => fields::rfc3339("order_edit.committed_at", committed)?,
        None => time_or(edit.created_at.as_deref(), "order_edit.created_at", ctx)?,
    };
    Ok(EventDraft {
        event_type: EventType::OrderUpdated,
        occurred_at,
        status: None,
        // `staff_note` is the staff's note on the edit, not the buyer's order note: not mapped.
        order: Some(Order {
            external_id: edit.order_id.0.clone(),
            version: Some(occurred_at.to_string()),
            ..Order::default()
        }),
        payment: None,
        refund: None,
    })
}

fn refund(raw: &payload::Refund, ctx: &NormaliseContext) -> Result<EventDraft, NormaliseError> {
    let occurred_at = time_or(
        raw.processed_at.as_deref().or(raw.created_at.as_deref()),
        "processed_at",
        ctx,
    )?;
    let refunds: Vec<&payload::Transaction> = raw
        .transactions()
        .iter()
        .filter(|t| {
            t.kind.as_deref() == Some("refund")
                && !matches!(t.status.as_deref(), Some("failure" | "error"))
        })
        .collect();
    let mut amount: Option<Money> = None;
    for (i, t) in refunds.iter().enumerate() {
        let field = format!("transactions[{i}].amount");
        let code = t.currency.as_deref().ok_or_else(|| {
            NormaliseError::field(&format!("transactions[{i}].currency"), "missing")
        })?;
        let money = fields::magnitude(
            &field,
            fields::money(&field, &t.amount, fields::currency(&field, code)?)?,
        )?;
        amount = Some(match amount {
            None => money,
            Some(acc) => acc
                .checked_add(money)
                .map_err(|e| NormaliseError::field(&field, e))?,
        });
    }
    let mut items = Vec::with_capacity(raw.lines().len());
    for (i, r) in raw.lines().iter().enumerate() {
        let field = format!("refund_line_items[{i}].subtotal");
        let total = match (&r.subtotal_set, amount) {
            (Some(set), _) => Some(bag_money(&field, &set.shop_money)?),
            (None, Some(a)) => fields::optional_money(&field, r.subtotal.as_ref(), a.currency)?,
            (None, None) => None,
        };
        let line = r.line_item.as_ref();
        items.push(Item {
            external_id: line.and_then(|l| l.id.as_ref()).map(|id| id.0.clone()),
            sku: line.and_then(|l| non_empty(l.sku.as_deref())),
            name: line.and_then(|l| l.title.clone()).unwrap_or_default(),
            quantity: r.quantity,
            total,
            ..Item::default()
        });
    }
    let payments = refunds
        .first()
        .and_then(|t| t.gateway.clone())
        .map(|gateway| PaymentLine {
            provider: Some(gateway),
            ..PaymentLine::default()
        });
    Ok(EventDraft {
        event_type: EventType::OrderRefunded,
        occurred_at,
        status: refunds.first().and_then(|t| t.status.clone()),
        order: Some(Order {
            external_id: raw.order_id.0.clone(),
            currency: amount.map(|a| a.currency),
            payments: payments.into_iter().collect(),
            ..Order::default()
        }),
        payment: None,
        refund: Some(Refund {
            external_id: Some(raw.id.0.clone()),
            amount,
            reason: non_empty(raw.note.as_deref()),
            items,
        }),
    })
}
