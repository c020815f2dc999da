//! `fulfil` on WooCommerce. Core WooCommerce has no shipment or tracking object, so a fulfilment
//! is what a shop manager does by hand: the order's status set to `completed` (WooCommerce then
//! sends its "Completed order" email, as the shop's email settings say), and the tracking in an
//! order note, shown to the customer and e-mailed when `notify_customer`. With
//! `shipment_tracking = true` the tracking goes to the official Shipment Tracking extension
//! instead, which shows it in the customer's account and in the completed-order email.
//!
//! Calls, in this order (the ones that cannot be repeated safely last):
//! 1. `GET /wp-json/wc/v3/orders/{id}`: the status and lines (an unknown order is `not_found`;
//!    a `pending`, `failed`, `cancelled`, `refunded`, `trash` or `checkout-draft` order is
//!    `rejected`).
//! 2. With the extension and a tracking number: `GET` then, unless the number is already there,
//!    `POST /wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings`.
//! 3. Every line shipped (no `items`, or all of them in full) and not yet completed:
//!    `PUT /wp-json/wc/v3/orders/{id}` with `{"status": "completed"}`.
//! 4. A note when there is something to say (tracking not recorded by the extension, or the
//!    lines of a partial shipment): `POST /wp-json/wc/v3/orders/{id}/notes` with `{"note",
//!    "customer_note": notify_customer}`.
//!
//! A partial shipment (some lines) cannot be expressed in core WooCommerce: it is recorded as a
//! note naming the lines, and the status is left as it is. The order is completed by the
//! `fulfil` without `items` that ships the rest.
//!
//! Sources: woocommerce-rest-api-docs `_orders.md` ("Update an order"), `_order-notes.md`
//! ("Create an order note": `note` mandatory, `customer_note` "If true, the note will be shown to
//! customers and they will be notified"); woocommerce.com/document/shipment-tracking/
//! `shipment-tracking-rest-api-create-tracking-item` (`tracking_number` required;
//! `tracking_provider` for a predefined provider, or `custom_tracking_provider` and
//! `custom_tracking_link`; HTTP 201 with the item).

use std::collections::BTreeMap;

use o2o_core::command::{CallDone, CallFailure, FailureCode, Fulfil};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::rest::{Method, StoreApi};

/// Statuses whose orders are not shipped.
pub const REFUSED_STATUSES: &[&str] = &[
    "pending",
    "failed",
    "cancelled",
    "refunded",
    "trash",
    "checkout-draft",
];

#[derive(Deserialize)]
struct Order {
    status: String,
    #[serde(default)]
    line_items: Vec<Line>,
}

#[derive(Deserialize)]
struct Line {
    id: u64,
    #[serde(default)]
    quantity: i64,
}

#[derive(Deserialize)]
struct Note {
    id: u64,
}

#[derive(Deserialize)]
struct TrackingItem {
    tracking_id: String,
    #[serde(default)]
    tracking_number: Option<String>,
}

/// The tracking a command gives, blanks dropped.
struct Tracking {
    carrier: Option<String>,
    number: Option<String>,
    url: Option<String>,
}

/// Fulfils order `order_id` (its id as in `order.external_id`) as `fulfil` says.
pub async fn fulfil(
    api: &StoreApi,
    order_id: &str,
    fulfil: &Fulfil,
) -> Result<CallDone, CallFailure> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let tracking = Tracking {
        carrier: given(&fulfil.carrier),
        number: given(&fulfil.tracking_number),
        url: given(&fulfil.tracking_url),
    };
    let extension = api
        .shipment_tracking
        .then(|| extension_item(&tracking))
        .transpose()?
        .flatten();
    let order_path = format!("/wp-json/wc/v3/orders/{order_id}");
    let order: Order = api
        .call("woocommerce get order", Method::Get, &order_path, None)
        .await?;
    if REFUSED_STATUSES.contains(&order.status.as_str()) {
        return Err(CallFailure::permanent(
            FailureCode::Rejected,
            format!(
                "woocommerce: order {order_id} is {}: not shipped",
                order.status
            ),
        ));
    }
    let shipped = shipped_lines(&order, fulfil)?;
    let mut reference = None;
    if let Some(item) = &extension {
        reference = Some(track(api, order_id, item).await?);
    }
    if shipped.is_none() && order.status != "completed" {
        let updated: Order = api
            .call(
                "woocommerce update order",
                Method::Put,
                &order_path,
                Some(&json!({"status": "completed"})),
            )
            .await?;
        if updated.status != "completed" {
            return Err(CallFailure::permanent(
                FailureCode::Rejected,
                format!(
                    "woocommerce update order: the order is {} after the update",
                    updated.status
                ),
            ));
        }
    }
    if let Some(text) = note_text(&tracking, extension.is_some(), shipped.as_deref()) {
        let body = json!({"note": text, "customer_note": fulfil.notify_customer});
        let note: Note = api
            .call(
                "woocommerce create order note",
                Method::Post,
                &format!("{order_path}/notes"),
                Some(&body),
            )
            .await?;
        reference = reference.or(Some(format!("order_note:{}", note.id)));
    }
    Ok(CallDone {
        platform_reference: reference,
    })
}

/// The Shipment Tracking item of the command, if it has a tracking number; what the extension
/// requires and the command lacks is refused before any call.
fn extension_item(tracking: &Tracking) -> Result<Option<Value>, CallFailure> {
    let invalid = |m: &str| CallFailure::permanent(FailureCode::InvalidCommand, m);
    let Some(number) = &tracking.number else {
        if tracking.carrier.is_some() || tracking.url.is_some() {
            return Err(invalid("tracking_number: required by Shipment Tracking"));
        }
        return Ok(None);
    };
    Ok(Some(match (&tracking.carrier, &tracking.url) {
        (Some(carrier), Some(url)) => json!({
            "custom_tracking_provider": carrier,
            "custom_tracking_link": url,
            "tracking_number": number,
        }),
        (Some(carrier), None) => json!({"tracking_provider": carrier, "tracking_number": number}),
        (None, Some(_)) => {
            return Err(invalid(
                "carrier: required by Shipment Tracking with a tracking_url",
            ));
        }
        (None, None) => return Err(invalid("carrier: required by Shipment Tracking")),
    }))
}

/// The tracking item's id: the one already recorded with this number (a command sent again
/// after a failure further on), else a new one.
async fn track(api: &StoreApi, order_id: &str, item: &Value) -> Result<String, CallFailure> {
    let path = format!("/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings");
    let existing: Vec<TrackingItem> = api
        .call(
            "woocommerce list shipment trackings",
            Method::Get,
            &path,
            None,
        )
        .await?;
    let number = item["tracking_number"].as_str();
    if let Some(found) = existing
        .into_iter()
        .find(|t| t.tracking_number.as_deref() == number)
    {
        return Ok(format!("shipment_tracking:{}", found.tracking_id));
    }
    let created: TrackingItem = api
        .call(
            "woocommerce create shipment tracking",
            Method::Post,
            &path,
            Some(item),
        )
        .await?;
    Ok(format!("shipment_tracking:{}", created.tracking_id))
}

/// `None` when every line ships (the order is completed), else the lines of a partial shipment.
/// A line the order does not have, or more of it than was ordered, is refused.
fn shipped_lines(
    order: &Order,
    fulfil: &Fulfil,
) -> Result<Option<Vec<(String, u32)>>, CallFailure> {
    if fulfil.items.is_empty() {
        return Ok(None);
    }
    let mut wanted: BTreeMap<&str, u64> = BTreeMap::new();
    for item in &fulfil.items {
        *wanted.entry(item.external_id.as_str()).or_default() += u64::from(item.quantity);
    }
    let ordered: BTreeMap<String, i64> = order
        .line_items
        .iter()
        .map(|l| (l.id.to_string(), l.quantity))
        .collect();
    for (id, quantity) in &wanted {
        let Some(&has) = ordered.get(*id) else {
            return Err(CallFailure::permanent(
                FailureCode::Rejected,
                format!("line item {id}: not a line of this order"),
            ));
        };
        if i64::try_from(*quantity).unwrap_or(i64::MAX) > has {
            return Err(CallFailure::permanent(
                FailureCode::Rejected,
                format!("line item {id}: {quantity} to ship, {has} ordered"),
            ));
        }
    }
    let everything = ordered.iter().filter(|(_, q)| **q > 0).all(|(id, q)| {
        wanted
            .get(id.as_str())
            .is_some_and(|w| i64::try_from(*w).unwrap_or(i64::MAX) == *q)
    });
    if everything {
        return Ok(None);
    }
    Ok(Some(
        fulfil
            .items
            .iter()
            .map(|i| (i.external_id.clone(), i.quantity))
            .collect(),
    ))
}

/// The note: the tracking (unless the extension holds it) and, for a partial shipment, the lines.
fn note_text(
    tracking: &Tracking,
    tracked: bool,
    partial: Option<&[(String, u32)]>,
) -> Option<String> {
    let has_tracking =
        tracking.carrier.is_some() || tracking.number.is_some() || tracking.url.is_some();
    if partial.is_none() && (tracked || !has_tracking) {
        return None;
    }
    let mut text = match partial {
        Some(lines) => {
            let lines: Vec<String> = lines
                .iter()
                .map(|(id, q)| format!("line {id} × {q}"))
                .collect();
            format!("Shipped in part: {}", lines.join(", "))
        }
        None => "Shipped".to_owned(),
    };
    if let Some(carrier) = &tracking.carrier {
        text.push_str(&format!(" via {carrier}"));
    }
    if let Some(number) = &tracking.number {
        text.push_str(&format!(", tracking number {number}"));
    }
    if let Some(url) = &tracking.url {
        text.push_str(&format!(": {url}"));
    }
    text.push('.');
    Some(text)
}
