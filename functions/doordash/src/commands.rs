//! Order commands on the DoorDash Marketplace API: confirm (`accept`) or fail (`reject`) an order
//! the webhook answered with 202, signal it ready for pickup, and cancel it, each with a fresh
//! JWT ([`crate::jwt`]).
//!
//! DoorDash's Marketplace API reference (developer.doordash.com `api/marketplace`, server
//! `https://openapi.doordash.com/marketplace`):
//! - Confirm Order: `PATCH /api/v1/orders/{id}`, `ConfirmOrderRequest` `{"merchant_supplied_id"
//!   (required, "Order ID in your system"), "order_status" (required, `success`|`fail`),
//!   "failure_reason"?, "prep_time"? ("Estimated time by which order should be ready for pickup
//!   … in UTC")}`; 202, or 400 "Order has already been processed or order has expired", 401,
//!   403, 404 "Order with provided ID does not exist", 429, 500.
//! - Order Events: `PATCH /api/v1/orders/{id}/events/{event_type}`, "Supported event types:
//!   `order_ready_for_pickup`", `{"merchant_supplied_id"}`; 202, or 400 "Order has expired", 401,
//!   403, 404, 429, 500.
//! - Cancel Order: `PATCH /api/v1/orders/{id}/cancellation`, `{"cancel_reason" (required,
//!   `ITEM_OUT_OF_STOCK`|`STORE_CLOSED`|`KITCHEN_BUSY`|`OTHER`), "cancel_details"?}`; 202, or 400
//!   "Order is not confirmed or has already been cancelled", 401, 403, 404, 429, 500.
//!
//! Details, the reason mapping and what is unconfirmed: `docs/platforms/doordash.md`.

use o2o_core::Timestamp;
use o2o_core::command::{
    Action, CallDone, CallFailure, CommandKind, FailureCode, OrderCommand, Reason,
};
use o2o_enrich::command::{Answer, send_refreshing};
use o2o_enrich::{ApiClient, percent_encode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::jwt::AccessKey;

/// The kinds DoorDash carries out.
pub const KINDS: &[CommandKind] = &[
    CommandKind::Accept,
    CommandKind::Reject,
    CommandKind::Ready,
    CommandKind::Cancel,
];

/// DoorDash's API host (override with `api_base`).
pub const DEFAULT_API_BASE: &str = "https://openapi.doordash.com";

/// The longest platform message kept, in characters.
const MESSAGE_CHARS: usize = 200;

/// The `cancel_reason` of a [`Reason`]. `KITCHEN_BUSY` deactivates the store for 15 minutes and
/// `STORE_CLOSED` for 12 hours (DoorDash, "Implement Merchant order cancellation").
pub fn cancel_reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Busy => "KITCHEN_BUSY",
        Reason::Closed => "STORE_CLOSED",
        Reason::ItemUnavailable => "ITEM_OUT_OF_STOCK",
        Reason::CustomerRequest | Reason::AddressUnreachable | Reason::Other => "OTHER",
    }
}

/// A short text for a reason (`failure_reason`, `cancel_details`), followed by the order
/// system's note when it gave one.
pub fn reason_text(reason: Reason, note: Option<&str>) -> String {
    let text = match reason {
        Reason::Busy => "The store is too busy",
        Reason::Closed => "The store is closed",
        Reason::ItemUnavailable => "An item is out of stock",
        Reason::CustomerRequest => "The customer asked to cancel",
        Reason::AddressUnreachable => "The address cannot be served",
        Reason::Other => "Other",
    };
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => format!("{text}: {note}"),
        None => text.to_owned(),
    }
}

/// The call a command makes: the API's name for messages, the path and the JSON body. The
/// order system's own order id is not in the command, so `merchant_supplied_id` (required) is
/// DoorDash's order id, which DoorDash then echoes as `client_order_id`.
pub fn request(command: &OrderCommand) -> Result<(&'static str, String, Value), CallFailure> {
    let id = command.order.external_id.as_str();
    let order = format!("/marketplace/api/v1/orders/{}", percent_encode(id));
    Ok(match &command.action {
        Action::Accept { ready_by } => {
            let mut body = json!({ "merchant_supplied_id": id, "order_status": "success" });
            if let Some(ready_by) = ready_by {
                body["prep_time"] = json!(utc(ready_by));
            }
            ("doordash confirm order", order, body)
        }
        Action::Reject { reason, note } => {
            let body = json!({
                "merchant_supplied_id": id,
                "order_status": "fail",
                "failure_reason": reason_text(*reason, note.as_deref()),
            });
            ("doordash confirm order", order, body)
        }
        Action::Ready {} => (
            "doordash order ready",
            format!("{order}/events/order_ready_for_pickup"),
            json!({ "merchant_supplied_id": id }),
        ),
        Action::Cancel { reason, note } => (
            "doordash cancel order",
            format!("{order}/cancellation"),
            json!({
                "cancel_reason": cancel_reason(*reason),
                "cancel_details": reason_text(*reason, note.as_deref()),
            }),
        ),
        Action::Fulfil(_) => {
            return Err(CallFailure::permanent(
                FailureCode::Unsupported,
                "DoorDash does not carry out fulfil commands",
            ));
        }
    })
}

/// RFC 3339 in UTC (`2026-12-02T10:20:00Z`), as `prep_time` asks.
fn utc(time: &Timestamp) -> String {
    time.to_string()
}

/// What a DoorDash channel needs for commands: its API client and, when all three settings are
/// there, its access key.
#[derive(Debug)]
pub struct Commands {
    /// The API host.
    pub api: ApiClient,
    /// The access key, or the names of the settings that are missing.
    pub key: Result<AccessKey, Vec<&'static str>>,
}

impl Commands {
    /// Carries out `command`: one call with a fresh JWT, and a second one with a newly minted JWT
    /// when DoorDash answers 401 (a clock a little off, a token that just expired).
    pub async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        let key = self.key.as_ref().map_err(|missing| {
            CallFailure::permanent(
                FailureCode::Unauthorized,
                format!(
                    "doordash commands need the settings developer_id, key_id and signing_secret \
                     (missing: {})",
                    missing.join(", ")
                ),
            )
        })?;
        let (api, path, body) = request(command)?;
        let url = self.api.url(&path);
        let body = serde_json::to_vec(&body).map_err(|_| {
            CallFailure::permanent(
                FailureCode::InvalidCommand,
                format!("{api}: body not written"),
            )
        })?;
        let (url, body) = (&url, &body);
        let (answer, retried) = send_refreshing(
            api,
            |answer| answer.status == 401,
            |_| async move {
                let token = key.token(Timestamp::now().unix_seconds());
                Ok(self
                    .api
                    .http()
                    .patch(url)
                    .bearer_auth(token.expose())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone()))
            },
        )
        .await?;
        if answer.is_success() {
            return Ok(CallDone::default());
        }
        Err(failure(&answer, retried))
    }
}

/// DoorDash's error body, where it sends one (`{"code", "message"}` as its other order
/// endpoints document); either field may be missing, or the body empty.
#[derive(Debug, Default, Deserialize)]
struct DoorDashError {
    code: Option<String>,
    message: Option<String>,
}

/// A non-2xx answer as a failure: 400 (expired, already processed, not confirmed, already
/// cancelled) and other 4xx `rejected`, 404 `not_found`, 401 after a fresh JWT and 403
/// `unauthorized` (transient: ops fix the key or the allowlist, then redrive).
fn failure(answer: &Answer, retried: bool) -> CallFailure {
    let error: DoorDashError = serde_json::from_slice(&answer.body).unwrap_or_default();
    let message = error
        .message
        .filter(|m| !m.trim().is_empty())
        .map(|m| format!("{}: {}", answer.api, short(&m)));
    let mut failure = answer.failure(error.code.filter(|c| !c.trim().is_empty()), message);
    if answer.status == 401 && retried {
        failure.message = Some(format!(
            "{}: the JWT is refused twice (HTTP 401): check developer_id, key_id and \
             signing_secret",
            answer.api
        ));
    }
    failure
}

fn short(text: &str) -> String {
    text.chars().take(MESSAGE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::command::{CommandOrder, CommandSchemaVersion};

    fn command(action: Action) -> OrderCommand {
        OrderCommand {
            schema_version: CommandSchemaVersion::V1,
            command_id: "c-1".into(),
            channel: "doordash".into(),
            tenant: "store".into(),
            order: CommandOrder {
                external_id: "a/b".into(),
            },
            action,
            requested_at: Timestamp::now(),
            deadline: None,
        }
    }

    #[test]
    fn every_reason_maps_to_a_documented_cancel_reason() {
        for reason in [
            Reason::Busy,
            Reason::Closed,
            Reason::ItemUnavailable,
            Reason::CustomerRequest,
            Reason::AddressUnreachable,
            Reason::Other,
        ] {
            let code = cancel_reason(reason);
            assert!(
                ["ITEM_OUT_OF_STOCK", "STORE_CLOSED", "KITCHEN_BUSY", "OTHER"].contains(&code),
                "{reason:?}"
            );
        }
        assert_eq!(
            reason_text(Reason::Closed, Some(" early tonight ")),
            "The store is closed: early tonight"
        );
    }

    #[test]
    fn paths_keep_the_order_id_one_segment_and_fulfil_is_refused() {
        let (_, path, _) = request(&command(Action::Ready {})).expect("ready");
        assert_eq!(
            path,
            "/marketplace/api/v1/orders/a%2Fb/events/order_ready_for_pickup"
        );
        let refused = request(&command(Action::Fulfil(Default::default()))).expect_err("fulfil");
        assert_eq!(refused.code, FailureCode::Unsupported);
    }
}
