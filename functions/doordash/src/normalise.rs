//! DoorDash webhooks → unified events.
//!
//! Marketplace `OrderCreate` is `order.created` and `OrderAdjustment` `order.updated`, with the
//! whole order (fat). A cancellation is `order.cancelled`. The Dasher's progress (Dasher status
//! updates, the release when the Dasher is near, Drive delivery events) is `fulfilment.updated`.
//! Amounts are integer cents in the channel's configured currency (DoorDash sends none).

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Totals,
};
use o2o_core::fields::{self, join_names, non_empty};
use o2o_core::money::{Currency, Money};

use crate::payload::{self, AddressField, Body, Cents, Dasher, Extra, Kind};

/// What a DoorDash delivery becomes (fat webhooks: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// Maps one webhook.
pub fn normalise(
    body: &Body,
    currency: Currency,
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    let kind = body
        .kind()
        .ok_or_else(|| NormaliseError::field("payload", "not a webhook DoorDash sends"))?;
    let draft = match kind {
        Kind::OrderCreate => order_event(body, EventType::OrderCreated, currency, ctx)?,
        Kind::OrderAdjustment => order_event(body, EventType::OrderUpdated, currency, ctx)?,
        Kind::Cancellation => EventDraft {
            event_type: EventType::OrderCancelled,
            occurred_at: ctx.received_at,
            status: None,
            order: Some(Order {
                external_id: required_id(body.external_order_id.as_ref(), "external_order_id")?,
                status: Some(OrderStatus::Cancelled),
                ..Order::default()
            }),
            payment: None,
            refund: None,
        },
        Kind::Release => progress(
            required_id(body.external_order_id.as_ref(), "external_order_id")?,
            "order_release",
            body.dasher.as_ref().map(courier),
            ctx.received_at,
        ),
        Kind::DasherStatus => {
            let delivery = body
                .delivery
                .as_ref()
                .ok_or_else(|| NormaliseError::field("delivery", "missing"))?;
            let status = delivery
                .dasher_status
                .as_deref()
                .ok_or_else(|| NormaliseError::field("delivery.dasher_status", "missing"))?;
            progress(
                required_id(
                    delivery.external_order_id.as_ref(),
                    "delivery.external_order_id",
                )?,
                status,
                delivery.dasher.as_ref().map(courier),
                time(body.created_at.as_deref(), "created_at", ctx)?,
            )
        }
        Kind::Drive => {
            let name = body.event_name.as_deref().unwrap_or_default();
            let mut draft = progress(
                required_id(body.external_delivery_id.as_ref(), "external_delivery_id")?,
                name,
                Some(Courier {
                    name: non_empty(body.dasher_name.as_deref()),
                    phone: non_empty(body.dasher_phone_number.as_deref()),
                    tracking_url: non_empty(body.tracking_url.as_deref()),
                    ..Courier::default()
                }),
                time(body.created_at.as_deref(), "created_at", ctx)?,
            );
            if let Some(order) = &mut draft.order {
                order.status = drive_status(name);
            }
            draft
        }
        Kind::OtherEvent => {
            let kind = body.event.as_ref().map_or("", |e| e.kind.as_str());
            return Ok(Normalised::Ignored(format!("event {kind} is not mapped")));
        }
    };
    Ok(Normalised::Events(vec![draft]))
}

/// A Marketplace order event: the whole order.
fn order_event(
    body: &Body,
    event_type: EventType,
    currency: Currency,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    let raw = body
        .order
        .as_ref()
        .ok_or_else(|| NormaliseError::field("order", "missing"))?;
    let event = body.event.as_ref();
    let occurred_at = time(
        event.and_then(|e| e.event_timestamp.as_deref()),
        "event.event_timestamp",
        ctx,
    )?;
    Ok(EventDraft {
        event_type,
        occurred_at,
        status: event.and_then(|e| e.status.clone()),
        order: Some(order(raw, currency)?),
        payment: None,
        refund: None,
    })
}

fn order(raw: &payload::Order, currency: Currency) -> Result<Order, NormaliseError> {
    let cents = |amount: Option<Cents>| amount.map(|Cents(c)| Money::from_minor(c, currency));
    let tip = match (raw.tip_amount, raw.merchant_tip_amount) {
        (Some(Cents(a)), Some(Cents(b))) => {
            Some(Cents(a.checked_add(b).ok_or_else(|| {
                NormaliseError::field("order.tip_amount", "out of range")
            })?))
        }
        (a, b) => a.or(b),
    };
    let items = raw
        .categories
        .iter()
        .flat_map(|category| &category.items)
        .map(|item| Item {
            external_id: item.line_item_id.as_ref().map(|id| id.0.clone()),
            sku: item.merchant_supplied_id.as_ref().map(|id| id.0.clone()),
            name: item.name.clone().unwrap_or_default(),
            quantity: item.quantity,
            // The item with its options; DoorDash does not say whether it is per unit or per
            // line when the quantity is above one, so no line total is stated.
            unit_price: cents(item.price),
            total: None,
            modifiers: modifiers(&item.extras, currency),
            note: non_empty(item.special_instructions.as_deref()),
        })
        .collect();
    let customer = raw.consumer.as_ref().map(|c| Customer {
        name: join_names(&[c.first_name.as_deref(), c.last_name.as_deref()]),
        phone: non_empty(c.phone.as_deref()),
        email: non_empty(c.email.as_deref()),
    });
    let kind = match raw.fulfillment_type.as_deref() {
        Some("dx_delivery" | "mx_fleet_delivery" | "mx_delivery") => Some(FulfilmentType::Delivery),
        Some("pickup") => Some(FulfilmentType::Pickup),
        _ => raw.is_pickup.map(|pickup| {
            if pickup {
                FulfilmentType::Pickup
            } else {
                FulfilmentType::Delivery
            }
        }),
    };
    let address = raw.delivery_address.as_ref().map(|address| match address {
        AddressField::Structured(a) => Address {
            lines: [&a.street, &a.subpremise]
                .into_iter()
                .filter_map(|line| non_empty(line.as_deref()))
                .collect(),
            city: non_empty(a.city.as_deref()),
            region: non_empty(a.state.as_deref()),
            postal_code: non_empty(a.zip_code.as_deref()),
            country_code: non_empty(a.country_code.as_deref()),
            ..Address::default()
        },
        AddressField::Line(line) => Address {
            lines: non_empty(Some(line)).into_iter().collect(),
            ..Address::default()
        },
    });
    Ok(Order {
        external_id: non_empty(Some(&raw.id.0))
            .ok_or_else(|| NormaliseError::field("order.id", "missing"))?,
        display_id: non_empty(raw.delivery_short_code.as_deref()),
        status: Some(OrderStatus::Placed),
        version: None,
        currency: Some(currency),
        totals: Totals {
            subtotal: cents(raw.subtotal),
            tax: cents(raw.tax),
            delivery_fee: cents(raw.delivery_fee),
            tip: cents(tip),
            ..Totals::default()
        },
        presentment_totals: None,
        items,
        customer,
        fulfilment: Some(Fulfilment {
            kind,
            address,
            ..Fulfilment::default()
        }),
        payments: Vec::new(),
        note: non_empty(raw.order_special_instructions.as_deref()),
    })
}

/// The options chosen, nested groups flattened: `Signature Sauces: KETCHUP`.
fn modifiers(extras: &[Extra], currency: Currency) -> Vec<Modifier> {
    let mut out = Vec::new();
    for extra in extras {
        for option in &extra.options {
            let name = option.name.as_deref().unwrap_or_default();
            out.push(Modifier {
                name: match non_empty(extra.name.as_deref()) {
                    Some(group) => format!("{group}: {name}"),
                    None => name.to_owned(),
                },
                quantity: option.quantity,
                price: option.price.map(|Cents(c)| Money::from_minor(c, currency)),
            });
            out.extend(modifiers(&option.extras, currency));
        }
    }
    out
}

/// The Dasher's progress on an order: `fulfilment.updated`.
fn progress(
    order_id: String,
    status: &str,
    courier: Option<Courier>,
    occurred_at: Timestamp,
) -> EventDraft {
    EventDraft {
        event_type: EventType::FulfilmentUpdated,
        occurred_at,
        status: Some(status.to_owned()),
        order: Some(Order {
            external_id: order_id,
            status: match status {
                "dasher_out_for_delivery" => Some(OrderStatus::OutForDelivery),
                "dropoff" => Some(OrderStatus::Completed),
                _ => None,
            },
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Delivery),
                courier,
                status: Some(status.to_owned()),
                ..Fulfilment::default()
            }),
            ..Order::default()
        }),
        payment: None,
        refund: None,
    }
}

fn courier(dasher: &Dasher) -> Courier {
    Courier {
        name: join_names(&[dasher.first_name.as_deref(), dasher.last_name.as_deref()]),
        phone: non_empty(
            dasher
                .phone_number
                .as_deref()
                .or(dasher.masked_phone_number.as_deref()),
        ),
        ..Courier::default()
    }
}

/// A Drive event's meaning for the order it delivers.
fn drive_status(event_name: &str) -> Option<OrderStatus> {
    match event_name {
        "DASHER_PICKED_UP" | "DASHER_CONFIRMED_DROPOFF_ARRIVAL" => {
            Some(OrderStatus::OutForDelivery)
        }
        "DASHER_DROPPED_OFF" => Some(OrderStatus::Completed),
        _ => None,
    }
}

fn required_id(id: Option<&o2o_core::ids::IdText>, field: &str) -> Result<String, NormaliseError> {
    id.and_then(|id| non_empty(Some(&id.0)))
        .ok_or_else(|| NormaliseError::field(field, "missing"))
}

/// An RFC 3339 time where the webhook has one, else the time of receipt.
fn time(
    text: Option<&str>,
    field: &str,
    ctx: &NormaliseContext,
) -> Result<Timestamp, NormaliseError> {
    match text {
        Some(text) => fields::rfc3339(field, text),
        None => Ok(ctx.received_at),
    }
}
