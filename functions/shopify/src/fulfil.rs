//! `fulfil` on Shopify: read the order's fulfillment orders, pick the fulfillment order line
//! items the command names, then `fulfillmentCreate` with the tracking.
//!
//! Sources: <https://shopify.dev/docs/api/admin-graphql/latest/mutations/fulfillmentCreate>
//! (`fulfillmentCreate(fulfillment: FulfillmentInput!)`, which replaces the deprecated
//! `fulfillmentCreateV2`), `input-objects/FulfillmentInput` (`lineItemsByFulfillmentOrder`,
//! `notifyCustomer`, `trackingInfo`), `input-objects/FulfillmentTrackingInput` (`company`,
//! `number`, `url`; "if you provide the url field, you should provide the number field"),
//! `objects/FulfillmentOrder` (`status`, `assignedLocation`, `lineItems { remainingQuantity
//! lineItem }`) and `apps/build/apis/graphql-admin/rate-limits` (query cost).

use std::collections::BTreeMap;

use o2o_core::command::{CallDone, CallFailure, FailureCode, Fulfil, FulfilItem};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::AdminApi;

/// The most fulfillment orders read per order (with [`MAX_LINES`], a requested query cost
/// under Shopify's 1000-point limit for one query).
pub const MAX_FULFILLMENT_ORDERS: u32 = 5;
/// The most line items read per fulfillment order.
pub const MAX_LINES: u32 = 90;

/// The order's open fulfillment orders and their line items.
pub const FULFILLMENT_ORDERS: &str = "query FulfillmentOrders($id: ID!) { order(id: $id) { id fulfillmentOrders(first: 5) { pageInfo { hasNextPage } nodes { id status assignedLocation { location { id } } lineItems(first: 90) { pageInfo { hasNextPage } nodes { id remainingQuantity lineItem { id } } } } } } }";

/// The fulfillment.
pub const FULFILLMENT_CREATE: &str = "mutation FulfillmentCreate($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id status } userErrors { field message } } }";

#[derive(Deserialize)]
struct OrderData {
    order: Option<OrderNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderNode {
    fulfillment_orders: Connection<FulfillmentOrder>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection<T> {
    page_info: PageInfo,
    nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentOrder {
    id: String,
    status: String,
    assigned_location: Option<AssignedLocation>,
    line_items: Connection<FoLine>,
}

#[derive(Deserialize)]
struct AssignedLocation {
    location: Option<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FoLine {
    id: String,
    remaining_quantity: i64,
    line_item: Node,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateData {
    fulfillment_create: Option<CreatePayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePayload {
    fulfillment: Option<Node>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
struct UserError {
    #[serde(default)]
    field: Option<Vec<String>>,
    #[serde(default)]
    message: String,
}

/// What to fulfil in one fulfillment order: some of its lines, or (empty) all of them.
type Selection = BTreeMap<String, Vec<(String, i64)>>;

/// Fulfils order `order_id` (its REST id, as in `order.external_id`) as `fulfil` says.
pub async fn fulfil(
    api: &AdminApi,
    order_id: &str,
    fulfil: &Fulfil,
) -> Result<CallDone, CallFailure> {
    let tracking = tracking_info(fulfil)?;
    for item in &fulfil.items {
        if !is_rest_id(&item.external_id) {
            return Err(invalid(format!(
                "items[].external_id: {:?} is not a Shopify line item id",
                item.external_id
            )));
        }
    }
    let data = api
        .graphql(
            "shopify fulfillmentOrders",
            FULFILLMENT_ORDERS,
            json!({"id": format!("gid://shopify/Order/{order_id}")}),
        )
        .await?;
    let data: OrderData =
        serde_json::from_value(data).map_err(|e| bad("shopify fulfillmentOrders", e))?;
    let Some(order) = data.order else {
        return Err(CallFailure::permanent(
            FailureCode::NotFound,
            format!("shopify: no order {order_id} in {}", api.shop_domain()),
        ));
    };
    let selection = select(&order, &fulfil.items)?;
    let groups: Vec<Value> = selection
        .into_iter()
        .map(|(fulfillment_order, lines)| {
            if lines.is_empty() {
                json!({"fulfillmentOrderId": fulfillment_order})
            } else {
                let lines: Vec<Value> = lines
                    .into_iter()
                    .map(|(id, quantity)| json!({"id": id, "quantity": quantity}))
                    .collect();
                json!({"fulfillmentOrderId": fulfillment_order, "fulfillmentOrderLineItems": lines})
            }
        })
        .collect();
    let mut input = json!({
        "lineItemsByFulfillmentOrder": groups,
        "notifyCustomer": fulfil.notify_customer,
    });
    if let Some(tracking) = tracking {
        input["trackingInfo"] = tracking;
    }
    let data = api
        .graphql(
            "shopify fulfillmentCreate",
            FULFILLMENT_CREATE,
            json!({"fulfillment": input}),
        )
        .await?;
    let data: CreateData =
        serde_json::from_value(data).map_err(|e| bad("shopify fulfillmentCreate", e))?;
    let payload = data.fulfillment_create.ok_or_else(|| {
        CallFailure::permanent(
            FailureCode::BadAnswer,
            "shopify fulfillmentCreate: no payload",
        )
    })?;
    if let Some(first) = payload.user_errors.first() {
        let field = first
            .field
            .as_ref()
            .filter(|f| !f.is_empty())
            .map_or_else(|| "userErrors".to_owned(), |f| f.join("."));
        let message = payload
            .user_errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(CallFailure::permanent(
            FailureCode::Rejected,
            format!("shopify fulfillmentCreate: {message}"),
        )
        .with_platform_code(field));
    }
    let fulfillment = payload.fulfillment.ok_or_else(|| {
        CallFailure::permanent(
            FailureCode::BadAnswer,
            "shopify fulfillmentCreate: neither a fulfillment nor userErrors",
        )
    })?;
    Ok(CallDone {
        platform_reference: Some(fulfillment.id),
    })
}

/// `trackingInfo`, or none; a tracking URL without a number is refused before any call.
fn tracking_info(fulfil: &Fulfil) -> Result<Option<Value>, CallFailure> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (company, number, url) = (
        given(&fulfil.carrier),
        given(&fulfil.tracking_number),
        given(&fulfil.tracking_url),
    );
    if url.is_some() && number.is_none() {
        return Err(invalid(
            "tracking_number: Shopify takes a tracking_url only with its tracking_number",
        ));
    }
    if company.is_none() && number.is_none() {
        return Ok(None);
    }
    let mut info = serde_json::Map::new();
    for (name, value) in [("company", company), ("number", number), ("url", url)] {
        if let Some(value) = value {
            info.insert(name.to_owned(), Value::String(value));
        }
    }
    Ok(Some(Value::Object(info)))
}

/// The fulfillment order lines to fulfil: every open line (`items` empty) or the named lines,
/// taken from the open fulfillment orders in their order, all at one location.
fn select(order: &OrderNode, items: &[FulfilItem]) -> Result<Selection, CallFailure> {
    let truncated = order.fulfillment_orders.page_info.has_next_page
        || order
            .fulfillment_orders
            .nodes
            .iter()
            .any(|fo| fo.line_items.page_info.has_next_page);
    if truncated {
        return Err(invalid(format!(
            "the order has more than {MAX_FULFILLMENT_ORDERS} open fulfillment orders or more than {MAX_LINES} lines in one: fulfil it in the Shopify admin"
        )));
    }
    // Fulfillment orders in these states take a fulfillment (CLOSED and CANCELLED are not
    // listed; ON_HOLD, SCHEDULED and INCOMPLETE must be released or opened first).
    let open: Vec<&FulfillmentOrder> = order
        .fulfillment_orders
        .nodes
        .iter()
        .filter(|fo| matches!(fo.status.as_str(), "OPEN" | "IN_PROGRESS"))
        .collect();
    let mut selection = Selection::new();
    let mut locations = BTreeMap::new();
    if items.is_empty() {
        for fo in open
            .iter()
            .filter(|fo| fo.line_items.nodes.iter().any(|l| l.remaining_quantity > 0))
        {
            selection.insert(fo.id.clone(), Vec::new());
            locations.insert(location(fo), ());
        }
    } else {
        let mut remaining: BTreeMap<&str, i64> = BTreeMap::new();
        for item in items {
            let gid = format!("gid://shopify/LineItem/{}", item.external_id);
            let wanted = i64::from(item.quantity);
            let mut missing = wanted;
            for fo in &open {
                for line in fo.line_items.nodes.iter().filter(|l| l.line_item.id == gid) {
                    let left = remaining
                        .entry(line.id.as_str())
                        .or_insert(line.remaining_quantity);
                    let take = missing.min(*left);
                    if take <= 0 {
                        continue;
                    }
                    *left -= take;
                    missing -= take;
                    let lines = selection.entry(fo.id.clone()).or_default();
                    match lines.iter_mut().find(|(id, _)| *id == line.id) {
                        Some((_, quantity)) => *quantity += take,
                        None => lines.push((line.id.clone(), take)),
                    }
                    locations.insert(location(fo), ());
                }
            }
            if missing > 0 {
                return Err(CallFailure::permanent(
                    FailureCode::Rejected,
                    format!(
                        "line item {}: {} of {wanted} left to fulfil in the order's open fulfillment orders",
                        item.external_id,
                        wanted - missing
                    ),
                ));
            }
        }
    }
    if selection.is_empty() {
        return Err(CallFailure::permanent(
            FailureCode::Rejected,
            "nothing left to fulfil: the order has no open fulfillment order with lines to ship",
        ));
    }
    if locations.len() > 1 {
        return Err(invalid(format!(
            "the lines are assigned to {} locations: send one fulfil per location (one parcel, one tracking number)",
            locations.len()
        )));
    }
    Ok(selection)
}

fn location(fo: &FulfillmentOrder) -> Option<String> {
    fo.assigned_location
        .as_ref()
        .and_then(|a| a.location.as_ref())
        .map(|l| l.id.clone())
}

/// Whether `id` is a REST id (what the webhooks carry): 1 to 20 digits.
pub fn is_rest_id(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

fn invalid(message: impl Into<String>) -> CallFailure {
    CallFailure::permanent(FailureCode::InvalidCommand, message)
}

fn bad(api: &str, e: serde_json::Error) -> CallFailure {
    CallFailure::permanent(
        FailureCode::BadAnswer,
        format!(
            "{api}: answer not understood ({})",
            o2o_core::NormaliseError::from(e)
        ),
    )
}
