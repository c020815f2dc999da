//! Uber Eats webhooks → unified events.
//!
//! Uber's order webhooks are thin: a new order (`orders.notification`,
//! `orders.scheduled.notification`) and a changed one (`orders.fulfillment_issues.resolved`,
//! `orders.customer_order_edit`) name the order, which enrichment fetches
//! (`GET /v2/eats/order/{id}`). A cancellation (`orders.cancel`, `orders.failure`), the
//! courier's approach (`orders.release`) and its progress (`delivery.state_changed`) say all
//! they mean without the order. Store and report webhooks are ignored.

use o2o_core::Timestamp;
use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{
    Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus, Totals,
};
use o2o_core::fields::{self, join_names, non_empty};
use o2o_core::money::{Currency, Money};

use crate::order::{Amount, CartItem, OrderV2};
use crate::payload::Envelope;

/// What an Uber Eats delivery becomes.
pub type Normalised = o2o_core::connector::Normalised<Thin>;

/// A webhook that names an order to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thin {
    /// The webhook's event type.
    pub event_type: String,
    /// The order.
    pub order_id: String,
    /// When it happened by Uber's clock (`event_time`), else when it was received.
    pub occurred_at: Timestamp,
    /// Where Uber says the order is (`resource_href`).
    pub resource_href: Option<String>,
}

/// Maps one webhook.
pub fn normalise(
    envelope: &Envelope,
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    let kind = envelope.event_type.as_str();
    let occurred_at = || event_time(envelope, ctx);
    let order_id = || {
        let id = envelope
            .order_id()
            .ok_or_else(|| NormaliseError::field("meta.resource_id", "missing"))?;
        // Uber's ids are UUIDs; anything else would not be a safe URL path segment.
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(NormaliseError::field("meta.resource_id", "not an order id"));
        }
        Ok(id.to_owned())
    };
    let draft = match kind {
        "orders.notification"
        | "orders.scheduled.notification"
        | "orders.fulfillment_issues.resolved"
        | "order.fulfillment_issues.resolved"
        | "orders.customer_order_edit" => {
            return Ok(Normalised::Enrich(Thin {
                event_type: kind.to_owned(),
                order_id: order_id()?,
                occurred_at: occurred_at()?,
                resource_href: envelope.resource_href.clone(),
            }));
        }
        "orders.cancel" | "orders.failure" => EventDraft {
            event_type: EventType::OrderCancelled,
            occurred_at: occurred_at()?,
            status: Some(kind.to_owned()),
            order: Some(Order {
                external_id: order_id()?,
                status: Some(OrderStatus::Cancelled),
                ..Order::default()
            }),
            payment: None,
            refund: None,
        },
        "orders.release" | "delivery.state_changed" => {
            let status = match kind {
                "orders.release" => "orders.release".to_owned(),
                _ => envelope
                    .meta
                    .status
                    .clone()
                    .ok_or_else(|| NormaliseError::field("meta.status", "missing"))?,
            };
            EventDraft {
                event_type: EventType::FulfilmentUpdated,
                occurred_at: occurred_at()?,
                status: Some(status.clone()),
                order: Some(Order {
                    external_id: order_id()?,
                    status: match status.as_str() {
                        "EN_ROUTE_TO_DROPOFF" | "ARRIVED_AT_DROPOFF" => {
                            Some(OrderStatus::OutForDelivery)
                        }
                        "COMPLETED" => Some(OrderStatus::Completed),
                        _ => None,
                    },
                    fulfilment: Some(Fulfilment {
                        kind: Some(FulfilmentType::Delivery),
                        status: Some(status),
                        ..Fulfilment::default()
                    }),
                    ..Order::default()
                }),
                payment: None,
                refund: None,
            }
        }
        other => return Ok(Normalised::Ignored(format!("event {other} is not mapped"))),
    };
    Ok(Normalised::Events(vec![draft]))
}

/// `event_time` in seconds, or in milliseconds (the Order API Suite's schema): a value above
/// 10^11 (year 5138 in seconds) is milliseconds. Absent: the time of receipt.
fn event_time(envelope: &Envelope, ctx: &NormaliseContext) -> Result<Timestamp, NormaliseError> {
    match envelope.event_time {
        Some(ms) if ms > 100_000_000_000 => fields::unix_seconds("event_time", ms / 1000),
        Some(seconds) => fields::unix_seconds("event_time", seconds),
        None => Ok(ctx.received_at),
    }
}

/// The event of an enriched order: `order.created` for a new order, `order.updated` else.
pub fn enriched(thin: &Thin, raw: &OrderV2) -> Result<EventDraft, NormaliseError> {
    let event_type = match thin.event_type.as_str() {
        "orders.notification" | "orders.scheduled.notification" => EventType::OrderCreated,
        _ => EventType::OrderUpdated,
    };
    let occurred_at = match &raw.placed_at {
        Some(at) if event_type == EventType::OrderCreated => fields::rfc3339("placed_at", at)?,
        _ => thin.occurred_at,
    };
    Ok(EventDraft {
        event_type,
        occurred_at,
        status: raw.current_state.clone(),
        order: Some(order(raw)?),
        payment: None,
        refund: None,
    })
}

fn order(raw: &OrderV2) -> Result<Order, NormaliseError> {
    let charges = raw
        .payment
        .as_ref()
        .and_then(|p| p.charges.clone())
        .unwrap_or_default();
    let currency = match &charges.total {
        Some(total) => Some(fields::currency(
            "payment.charges.total.currency_code",
            &total.currency_code,
        )?),
        None => None,
    };
    let money = |field: &str, amount: &Option<Amount>| -> Result<Option<Money>, NormaliseError> {
        amount
            .as_ref()
            .map(|a| self::money(field, a, currency))
            .transpose()
    };
    let discount = money(
        "payment.charges.total_promo_applied",
        &charges.total_promo_applied,
    )?
    .map(|m| fields::magnitude("payment.charges.total_promo_applied", m))
    .transpose()?;
    let totals = Totals {
        subtotal: money("payment.charges.sub_total", &charges.sub_total)?,
        discount,
        tax: money("payment.charges.tax", &charges.tax)?,
        delivery_fee: money("payment.charges.delivery_fee", &charges.delivery_fee)?,
        service_fee: money("payment.charges.total_fee", &charges.total_fee)?,
        tip: money("payment.charges.tip", &charges.tip)?,
        total: money("payment.charges.total", &charges.total)?,
        commission: money(
            "payment.charges.marketplace_fee_due_to_uber",
            &charges.marketplace_fee_due_to_uber,
        )?
        .map(|m| fields::magnitude("payment.charges.marketplace_fee_due_to_uber", m))
        .transpose()?,
        ..Totals::default()
    };
    let cart = raw.cart.clone().unwrap_or_default();
    let items = cart
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| line(item, &format!("cart.items[{index}]"), currency))
        .collect::<Result<Vec<_>, _>>()?;
    let customer = raw.eater.as_ref().map(|e| Customer {
        name: join_names(&[e.first_name.as_deref(), e.last_name.as_deref()]),
        phone: non_empty(e.phone.as_deref()).map(|phone| {
            match non_empty(e.phone_code.as_deref()) {
                Some(code) => format!("{phone},{code}"),
                None => phone,
            }
        }),
        email: None,
    });
    let kind = match raw.kind.as_deref() {
        Some("DELIVERY_BY_UBER" | "DELIVERY_BY_RESTAURANT") => Some(FulfilmentType::Delivery),
        Some("PICK_UP") => Some(FulfilmentType::Pickup),
        Some("DINE_IN") => Some(FulfilmentType::DineIn),
        _ => None,
    };
    Ok(Order {
        external_id: raw.id.clone(),
        display_id: non_empty(raw.display_id.as_deref()),
        status: raw.current_state.as_deref().and_then(order_status),
        version: None,
        currency,
        totals,
        presentment_totals: None,
        items,
        customer,
        fulfilment: Some(Fulfilment {
            kind,
            ..Fulfilment::default()
        }),
        payments: Vec::new(),
        note: non_empty(cart.special_instructions.as_deref()),
    })
}

fn line(item: &CartItem, path: &str, currency: Option<Currency>) -> Result<Item, NormaliseError> {
    let price = item.price.clone().unwrap_or_default();
    let mut modifiers = Vec::new();
    for (g, group) in item.selected_modifier_groups.iter().flatten().enumerate() {
        for (i, chosen) in group.selected_items.iter().flatten().enumerate() {
            let field = format!("{path}.selected_modifier_groups[{g}].selected_items[{i}]");
            let name = chosen.title.as_deref().unwrap_or_default();
            modifiers.push(Modifier {
                name: match non_empty(group.title.as_deref()) {
                    Some(title) => format!("{title}: {name}"),
                    None => name.to_owned(),
                },
                quantity: Some(chosen.quantity),
                price: chosen
                    .price
                    .as_ref()
                    .and_then(|p| p.total_price.as_ref())
                    .map(|a| money(&format!("{field}.price.total_price"), a, currency))
                    .transpose()?,
            });
        }
    }
    Ok(Item {
        external_id: item.instance_id.as_ref().map(|id| id.0.clone()),
        sku: item.id.as_ref().map(|id| id.0.clone()),
        name: item.title.clone().unwrap_or_default(),
        quantity: item.quantity,
        unit_price: price
            .unit_price
            .as_ref()
            .map(|a| money(&format!("{path}.price.unit_price"), a, currency))
            .transpose()?,
        total: price
            .total_price
            .as_ref()
            .map(|a| money(&format!("{path}.price.total_price"), a, currency))
            .transpose()?,
        modifiers,
        note: non_empty(item.special_instructions.as_deref()),
    })
}

/// An amount in the order's currency (when the order states one).
fn money(field: &str, amount: &Amount, order: Option<Currency>) -> Result<Money, NormaliseError> {
    let currency = fields::currency(&format!("{field}.currency_code"), &amount.currency_code)?;
    if order.is_some_and(|order| order != currency) {
        return Err(NormaliseError::field(
            field,
            "its currency is not the order's (payment.charges.total)",
        ));
    }
    Ok(Money::from_minor(amount.amount, currency))
}

fn order_status(state: &str) -> Option<OrderStatus> {
    match state {
        "CREATED" => Some(OrderStatus::Placed),
        "ACCEPTED" => Some(OrderStatus::Accepted),
        "DENIED" | "CANCELED" => Some(OrderStatus::Cancelled),
        "FINISHED" => Some(OrderStatus::Completed),
        _ => None,
    }
}
