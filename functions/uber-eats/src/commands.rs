//! Order commands on Uber Eats: accept, deny (`reject`) and cancel, with the app's
//! client-credentials token (`eats.order` scope), shared with enrichment ([`crate::api`]).
//!
//! - Accept (developer.uber.com `docs/eats/references/api/v1/post-eats-order-orderid-acceptposorder`):
//!   `POST {api_base}/v1/eats/orders/{order_id}/accept_pos_order`, `{"reason", "pickup_time"?}`
//!   (`pickup_time`: "Time when order will be ready for pick-up, specified as a Unix timestamp"),
//!   204 No Content.
//! - Deny (`.../v1/post-eats-order-orderid-denyposorder`):
//!   `POST {api_base}/v1/eats/orders/{order_id}/deny_pos_order`,
//!   `{"reason": {"explanation", "code"}}`, 204 No Content.
//! - Cancel (`.../v1/post-eats-order-orderid-cancel`): `POST {api_base}/v1/eats/orders/{order_id}/cancel`,
//!   `{"reason", "details"?}`, 200 `{}`; "If the order is already in a terminal state, or the order
//!   never existed, then this endpoint will return a 404".
//! - Errors (`docs/eats/guides/errors`): `{"code", "message"}`, e.g. 400 `validation_failed`,
//!   403 `user_not_allowed`, 404 `resource_not_found`, 409 `resource_status_conflict` ("you have
//!   tried to accept / deny an order that has already been accepted or denied").
//! - Window (`docs/eats/references/api/webhooks.orders-notification`): "you must explicitly POST
//!   /accept_pos_order or POST /deny_pos_order within 11.5 minutes. Otherwise the order will time
//!   out and auto-cancel."
//!
//! `ready` has no endpoint in this API (only Uber's newer Order API Suite, which this connector
//! does not read yet, has one): it stays unsupported. Details: `docs/platforms/uber-eats.md`.

use std::time::Duration;

use o2o_core::command::{
    Action, CallDone, CallFailure, CommandKind, FailureCode, OrderCommand, Reason,
};
use o2o_enrich::command::{Answer, send_refreshing};
use o2o_enrich::percent_encode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::OrderApi;

/// The kinds Uber Eats carries out.
pub const KINDS: &[CommandKind] = &[
    CommandKind::Accept,
    CommandKind::Reject,
    CommandKind::Cancel,
];

/// Uber cancels an order neither accepted nor denied within 11.5 minutes of its webhook.
pub const ACCEPT_WINDOW: Duration = Duration::from_secs(690);

/// The longest platform message kept, in characters (before the contract's own limit).
const MESSAGE_CHARS: usize = 200;

/// The window of `kind`: 11.5 minutes for accept and reject, none for cancel.
pub fn window(kind: CommandKind) -> Option<Duration> {
    match kind {
        CommandKind::Accept | CommandKind::Reject => Some(ACCEPT_WINDOW),
        _ => None,
    }
}

/// The `deny_pos_order` reason code of a [`Reason`] (Uber's "Allowed Reason Codes").
pub fn deny_code(reason: Reason) -> &'static str {
    match reason {
        Reason::Busy => "CAPACITY",
        Reason::Closed => "STORE_CLOSED",
        Reason::ItemUnavailable => "ITEM_AVAILABILITY",
        Reason::AddressUnreachable => "ADDRESS",
        // No deny code says "the customer asked": OTHER, with the reason in the explanation.
        Reason::CustomerRequest | Reason::Other => "OTHER",
    }
}

/// The `cancel` reason of a [`Reason`] (the endpoint's allowed values).
pub fn cancel_code(reason: Reason) -> &'static str {
    match reason {
        Reason::Busy => "RESTAURANT_TOO_BUSY",
        Reason::Closed => "KITCHEN_CLOSED",
        Reason::ItemUnavailable => "OUT_OF_ITEMS",
        Reason::CustomerRequest => "CUSTOMER_CALLED_TO_CANCEL",
        // No cancel reason says "the address": OTHER, with the reason in the details.
        Reason::AddressUnreachable | Reason::Other => "OTHER",
    }
}

/// A short text for a reason, followed by the order system's note when it gave one.
pub fn explanation(reason: Reason, note: Option<&str>) -> String {
    let text = match reason {
        Reason::Busy => "the store is too busy",
        Reason::Closed => "the store is closed",
        Reason::ItemUnavailable => "an item is unavailable",
        Reason::CustomerRequest => "the customer asked to cancel",
        Reason::AddressUnreachable => "the address cannot be served",
        Reason::Other => "other",
    };
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => format!("{text}: {note}"),
        None => text.to_owned(),
    }
}

/// The call a command makes: the API's name for messages, the path and the JSON body.
pub fn request(command: &OrderCommand) -> Result<(&'static str, String, Value), CallFailure> {
    let order = percent_encode(&command.order.external_id);
    let call = match &command.action {
        Action::Accept { ready_by } => {
            let mut body = json!({ "reason": "accepted" });
            if let Some(ready_by) = ready_by {
                body["pickup_time"] = json!(ready_by.unix_seconds());
            }
            ("uber-eats accept_pos_order", "accept_pos_order", body)
        }
        Action::Reject { reason, note } => {
            let body = json!({ "reason": {
                "explanation": explanation(*reason, note.as_deref()),
                "code": deny_code(*reason),
            }});
            ("uber-eats deny_pos_order", "deny_pos_order", body)
        }
        Action::Cancel { reason, note } => {
            let body = json!({
                "reason": cancel_code(*reason),
                "details": explanation(*reason, note.as_deref()),
            });
            ("uber-eats cancel", "cancel", body)
        }
        Action::Ready {} | Action::Fulfil(_) => {
            return Err(CallFailure::permanent(
                FailureCode::Unsupported,
                format!(
                    "Uber Eats does not carry out {} commands",
                    command.action.kind().as_str()
                ),
            ));
        }
    };
    let (api, endpoint, body) = call;
    Ok((api, format!("/v1/eats/orders/{order}/{endpoint}"), body))
}

/// Carries out `command` with `orders`' token: refreshed once when Uber answers 401.
pub async fn execute(orders: &OrderApi, command: &OrderCommand) -> Result<CallDone, CallFailure> {
    let (api, path, body) = request(command)?;
    let url = orders.api.url(&path);
    let body = serde_json::to_vec(&body).map_err(|_| {
        CallFailure::permanent(
            FailureCode::InvalidCommand,
            format!("{api}: body not written"),
        )
    })?;
    let (url, body) = (&url, &body);
    let (answer, refreshed) = send_refreshing(
        api,
        |answer| answer.status == 401,
        |refreshed| async move {
            let token = orders.access_token(refreshed).await?;
            Ok(orders
                .api
                .http()
                .post(url)
                .bearer_auth(token.expose())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "application/json")
                .body(body.clone()))
        },
    )
    .await?;
    if answer.is_success() {
        return Ok(CallDone::default());
    }
    Err(failure(&answer, refreshed))
}

/// Uber's error body (`docs/eats/guides/errors`); either field may be missing.
#[derive(Debug, Default, Deserialize)]
struct UberError {
    code: Option<String>,
    message: Option<String>,
}

/// A non-2xx answer as a failure, with Uber's own `code` and `message`.
fn failure(answer: &Answer, refreshed: bool) -> CallFailure {
    let error: UberError = serde_json::from_slice(&answer.body).unwrap_or_default();
    let message = error
        .message
        .filter(|m| !m.trim().is_empty())
        .map(|m| format!("{}: {}", answer.api, short(&m)));
    let mut failure = answer.failure(error.code.filter(|c| !c.trim().is_empty()), message);
    if answer.status == 401 && refreshed {
        failure.message = Some(format!(
            "{}: the token is refused after a refresh (HTTP 401): check the client credentials \
             and the eats.order scope",
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
    use o2o_core::Timestamp;
    use o2o_core::command::{CommandOrder, CommandSchemaVersion};

    fn command(action: Action) -> OrderCommand {
        OrderCommand {
            schema_version: CommandSchemaVersion::V1,
            command_id: "c-1".into(),
            channel: "uber-eats".into(),
            tenant: "store".into(),
            order: CommandOrder {
                external_id: "a/b?c".into(),
            },
            action,
            requested_at: Timestamp::now(),
            deadline: None,
        }
    }

    #[test]
    fn every_reason_has_a_deny_code_and_a_cancel_reason_from_ubers_lists() {
        let deny = [
            "STORE_CLOSED",
            "POS_NOT_READY",
            "POS_OFFLINE",
            "ITEM_AVAILABILITY",
            "MISSING_ITEM",
            "MISSING_INFO",
            "PRICING",
            "CAPACITY",
            "ADDRESS",
            "SPECIAL_INSTRUCTIONS",
            "OTHER",
        ];
        let cancel = [
            "OUT_OF_ITEMS",
            "KITCHEN_CLOSED",
            "CUSTOMER_CALLED_TO_CANCEL",
            "RESTAURANT_TOO_BUSY",
            "CANNOT_COMPLETE_CUSTOMER_NOTE",
            "OTHER",
        ];
        for reason in [
            Reason::Busy,
            Reason::Closed,
            Reason::ItemUnavailable,
            Reason::CustomerRequest,
            Reason::AddressUnreachable,
            Reason::Other,
        ] {
            assert!(deny.contains(&deny_code(reason)), "{reason:?}");
            assert!(cancel.contains(&cancel_code(reason)), "{reason:?}");
        }
        assert_eq!(
            explanation(Reason::Busy, Some("  ")),
            "the store is too busy"
        );
        assert_eq!(
            explanation(Reason::Other, Some("oven broke")),
            "other: oven broke"
        );
    }

    #[test]
    fn the_order_id_is_one_path_segment_and_ready_is_refused_without_a_call() {
        let (_, path, body) = request(&command(Action::Accept { ready_by: None })).expect("accept");
        assert_eq!(path, "/v1/eats/orders/a%2Fb%3Fc/accept_pos_order");
        assert_eq!(body, json!({"reason": "accepted"}));
        let refused = request(&command(Action::Ready {})).expect_err("no ready endpoint");
        assert_eq!(refused.code, FailureCode::Unsupported);
        assert_eq!(window(CommandKind::Accept), Some(Duration::from_secs(690)));
        assert_eq!(window(CommandKind::Cancel), None);
    }
}
