//! Deliveroo events → unified events.
//!
//! Order events carry the whole order (fat): `order.new` is `order.created`; an
//! `order.status_update` is `order.cancelled` when the order was rejected or canceled and
//! `order.updated` otherwise. Rider events are `fulfilment.updated`. The legacy POS webhooks
//! (`new_order`, sent once the site accepted, and `cancel_order`) map the same way. Money is
//! `{fractional, currency_code}`, already in minor units.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Totals,
};
use o2o_core::fields::{self, non_empty};
use o2o_core::money::{Currency, Money};

use crate::payload::{self, Envelope, ModifierEntry, Price, Rider, StatusEntry};

/// What a Deliveroo delivery becomes (fat webhooks: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// Maps one event.
pub fn normalise(
    envelope: &Envelope,
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    let body = envelope.body.clone().unwrap_or_default();
    let draft = match envelope.event.as_str() {
        "order.new" => order_event(EventType::OrderCreated, order_of(&body.order)?, ctx)?,
        "order.status_update" => {
            let order = order_of(&body.order)?;
            let event_type = match order.status.as_deref() {
                Some("rejected" | "canceled") => EventType::OrderCancelled,
                _ => EventType::OrderUpdated,
            };
            order_event(event_type, order, ctx)?
        }
        "rider.status_update" => rider_event(&body, ctx)?,
        "new_order" => legacy_event(envelope, EventType::OrderCreated, ctx)?,
        "cancel_order" => legacy_event(envelope, EventType::OrderCancelled, ctx)?,
        other => return Ok(Normalised::Ignored(format!("event {other} is not mapped"))),
    };
    Ok(Normalised::Events(vec![draft]))
}

fn order_of(order: &Option<payload::Order>) -> Result<&payload::Order, NormaliseError> {
    order
        .as_ref()
        .ok_or_else(|| NormaliseError::field("body.order", "missing"))
}

/// An Order Events webhook: the order at its latest status.
fn order_event(
    event_type: EventType,
    raw: &payload::Order,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    let latest = latest_entry("body.order.status_log", &raw.status_log)?;
    let mut order = order(raw, "body.order")?;
    order.version = latest.map(|(at, _)| at.unix_millis().to_string());
    Ok(EventDraft {
        event_type,
        occurred_at: latest.map_or(ctx.received_at, |(at, _)| at),
        status: raw.status.clone(),
        order: Some(order),
        payment: None,
        refund: None,
    })
}

/// A legacy POS webhook: `new_order` once the site accepted the order, `cancel_order` when the
/// customer cancelled it.
fn legacy_event(
    envelope: &Envelope,
    event_type: EventType,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    let raw = envelope
        .order
        .as_ref()
        .ok_or_else(|| NormaliseError::field("order", "missing"))?;
    let mut order = order(raw, "order")?;
    order.status = Some(match event_type {
        EventType::OrderCancelled => OrderStatus::Cancelled,
        _ => OrderStatus::Accepted,
    });
    let occurred_at = match &envelope.restaurant_acknowledged_at {
        Some(at) => fields::rfc3339("restaurant_acknowledged_at", at)?,
        None => ctx.received_at,
    };
    Ok(EventDraft {
        event_type,
        occurred_at,
        status: None,
        order: Some(order),
        payment: None,
        refund: None,
    })
}

/// A Rider Events webhook: the rider whose status changed last, as the order's courier.
fn rider_event(body: &payload::Body, ctx: &NormaliseContext) -> Result<EventDraft, NormaliseError> {
    let order_id = body
        .order_id
        .as_deref()
        .and_then(|id| non_empty(Some(id)))
        .ok_or_else(|| NormaliseError::field("body.order_id", "missing"))?;
    let mut latest: Option<(Timestamp, &str, &Rider)> = None;
    for (index, rider) in body.riders.iter().enumerate() {
        let field = format!("body.riders[{index}].status_log");
        if let Some((at, status)) = latest_entry(&field, &rider.status_log)?
            && latest.is_none_or(|(seen, _, _)| at >= seen)
        {
            latest = Some((at, status, rider));
        }
    }
    let (occurred_at, status, rider) = match latest {
        Some((at, status, rider)) => (at, Some(status), Some(rider)),
        None => (ctx.received_at, None, None),
    };
    let courier = rider.map(|rider| Courier {
        name: non_empty(rider.full_name.as_deref()),
        phone: non_empty(rider.contact_number.as_deref()),
        ..Courier::default()
    });
    Ok(EventDraft {
        event_type: EventType::FulfilmentUpdated,
        occurred_at,
        status: status.map(str::to_owned),
        order: Some(Order {
            external_id: order_id,
            status: (status == Some("rider_in_transit")).then_some(OrderStatus::OutForDelivery),
            version: latest.map(|(at, _, _)| at.unix_millis().to_string()),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Delivery),
                courier,
                status: status.map(str::to_owned),
                ..Fulfilment::default()
            }),
            ..Order::default()
        }),
        payment: None,
        refund: None,
    })
}

/// The latest entry of a status log, by its time (the log is the source of truth, and events
/// may arrive out of order).
fn latest_entry<'a>(
    field: &str,
    log: &'a [StatusEntry],
) -> Result<Option<(Timestamp, &'a str)>, NormaliseError> {
    let mut latest: Option<(Timestamp, &str)> = None;
    for (index, entry) in log.iter().enumerate() {
        let at = fields::rfc3339(&format!("{field}[{index}].at"), &entry.at)?;
        if latest.is_none_or(|(seen, _)| at >= seen) {
            latest = Some((at, entry.status.as_str()));
        }
    }
    Ok(latest)
}

/// The unified order from a Deliveroo order (`path` names it in errors).
fn order(raw: &payload::Order, path: &str) -> Result<Order, NormaliseError> {
    let external_id = non_empty(Some(&raw.id))
        .ok_or_else(|| NormaliseError::field(&format!("{path}.id"), "missing"))?;
    let field = |name: &str| format!("{path}.{name}");
    let currency = match &raw.total_price {
        Some(price) => Some(fields::currency(
            &field("total_price.currency_code"),
            &price.currency_code,
        )?),
        None => None,
    };
    let money = |name: &str, price: &Option<Price>| -> Result<Option<Money>, NormaliseError> {
        price
            .as_ref()
            .map(|price| amount(&field(name), price, currency))
            .transpose()
    };
    let totals = Totals {
        subtotal: match &raw.subtotal {
            Some(_) => money("subtotal", &raw.subtotal)?,
            None => money("partner_order_subtotal", &raw.partner_order_subtotal)?,
        },
        discount: money("offer_discount", &raw.offer_discount)?,
        tax: None,
        delivery_fee: money(
            "delivery.delivery_fee",
            &raw.delivery.as_ref().and_then(|d| d.delivery_fee.clone()),
        )?,
        service_fee: money("bag_fee", &raw.bag_fee)?,
        tip: None,
        total: money("total_price", &raw.total_price)?,
        ..Totals::default()
    };
    let items = raw
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| line(item, &format!("{path}.items[{index}]"), currency))
        .collect::<Result<Vec<_>, _>>()?;
    let customer = raw.customer.as_ref().map(|c| Customer {
        name: non_empty(c.first_name.as_deref()),
        phone: dial_string(
            c.contact_number.as_deref(),
            c.contact_access_code.as_deref(),
        ),
        email: None,
    });
    let scheduled_for = match (raw.asap, &raw.prepare_for) {
        (Some(false), Some(at)) => Some(fields::rfc3339(&field("prepare_for"), at)?),
        _ => None,
    };
    let address = raw
        .delivery
        .as_ref()
        .and_then(|d| d.address.as_ref())
        .map(|a| Address {
            lines: [&a.address_line_1, &a.address_line_2]
                .into_iter()
                .filter_map(|line| non_empty(line.as_deref()))
                .collect(),
            city: non_empty(a.city.as_deref()),
            postal_code: non_empty(a.postal_code.as_deref()),
            ..Address::default()
        });
    let fulfilment = Fulfilment {
        kind: raw.fulfillment_type.as_deref().and_then(fulfilment_type),
        address,
        scheduled_for,
        courier: None,
        status: None,
    };
    let note = [&raw.order_notes, &raw.notes, &raw.cutlery_notes]
        .into_iter()
        .filter_map(|n| non_empty(n.as_deref()))
        .collect::<Vec<_>>();
    Ok(Order {
        external_id,
        display_id: non_empty(raw.display_id.as_deref()),
        status: raw.status.as_deref().and_then(order_status),
        version: None,
        currency,
        totals,
        presentment_totals: None,
        items,
        customer,
        fulfilment: Some(fulfilment),
        payments: Vec::new(),
        note: (!note.is_empty()).then(|| note.join("\n")),
    })
}

/// One line: its price, its total after the line's discount, its modifiers.
fn line(
    item: &payload::Item,
    path: &str,
    currency: Option<Currency>,
) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("{path}.{name}");
    let unit_price = item
        .unit_price
        .as_ref()
        .map(|p| amount(&field("unit_price"), p, currency))
        .transpose()?;
    let gross = item
        .total_price
        .as_ref()
        .map(|p| amount(&field("total_price"), p, currency))
        .transpose()?;
    let discount = item
        .discount_amount
        .as_ref()
        .map(|p| amount(&field("discount_amount"), p, currency))
        .transpose()?;
    let total = match (gross, discount) {
        (Some(gross), Some(discount)) => Some(
            gross
                .checked_sub(discount)
                .map_err(|e| NormaliseError::field(&field("discount_amount"), e))?,
        ),
        (gross, _) => gross,
    };
    let modifiers = item
        .modifiers
        .iter()
        .enumerate()
        .map(|(index, modifier)| match modifier {
            ModifierEntry::Name(name) => Ok(Modifier {
                name: name.clone(),
                quantity: None,
                price: None,
            }),
            ModifierEntry::Item(inner) => Ok(Modifier {
                name: inner.name.clone().unwrap_or_default(),
                quantity: Some(inner.quantity),
                price: inner
                    .unit_price
                    .as_ref()
                    .map(|p| {
                        amount(
                            &field(&format!("modifiers[{index}].unit_price")),
                            p,
                            currency,
                        )
                    })
                    .transpose()?,
            }),
        })
        .collect::<Result<Vec<_>, NormaliseError>>()?;
    Ok(Item {
        external_id: None,
        sku: non_empty(item.pos_item_id.as_deref()),
        name: item.name.clone().unwrap_or_default(),
        quantity: item.quantity,
        unit_price,
        total,
        modifiers,
        note: None,
    })
}

/// An amount in the order's currency (when the order states one).
fn amount(field: &str, price: &Price, order: Option<Currency>) -> Result<Money, NormaliseError> {
    let currency = fields::currency(&format!("{field}.currency_code"), &price.currency_code)?;
    if order.is_some_and(|order| order != currency) {
        return Err(NormaliseError::field(
            field,
            "its currency is not the order's (total_price)",
        ));
    }
    Ok(Money::from_minor(price.fractional, currency))
}

/// Deliveroo masks the customer's number: a bridge number answers and asks for the access code.
/// Written as a dial string, the number, a pause (`,`) and the code, so one tap dials both.
fn dial_string(number: Option<&str>, code: Option<&str>) -> Option<String> {
    let number = non_empty(number)?;
    Some(match non_empty(code) {
        Some(code) => format!("{number},{code}"),
        None => number,
    })
}

fn fulfilment_type(kind: &str) -> Option<FulfilmentType> {
    match kind {
        "deliveroo" | "restaurant" => Some(FulfilmentType::Delivery),
        "customer" => Some(FulfilmentType::Pickup),
        "table_service" => Some(FulfilmentType::DineIn),
        _ => None,
    }
}

fn order_status(status: &str) -> Option<OrderStatus> {
    match status {
        "placed" => Some(OrderStatus::Placed),
        "accepted" => Some(OrderStatus::Accepted),
        "confirmed" => Some(OrderStatus::Preparing),
        "rejected" | "canceled" => Some(OrderStatus::Cancelled),
        _ => None,
    }
}
