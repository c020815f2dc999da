//! Order commands on Deliveroo's Order API: `accept`, `reject` and `ready`.
//!
//! - `accept` (tablet-less sites, the default): `PATCH /order/v1/orders/{order_id}` with
//!   `{"status": "accepted"}` → 204 (api-docs.deliveroo.com `reference/patch-order-1`). An ASAP
//!   order not accepted within 10 minutes (7 in Kuwait and the UAE) is rejected automatically.
//!   Tablet-less sites need no sync status: "We treat sending us a request to accept/reject an
//!   order as a sufficient notification" (`docs/listen-to-new-order-events-via-a-webhook`).
//! - `accept` on tablet-based sites (`tablet_based = true`): staff accept on Deliveroo's tablet;
//!   the integration then reports that the order reached the till: `POST
//!   /order/v1/orders/{order_id}/sync_status` with `{"status": "succeeded", "occurred_at"}`
//!   within 3 minutes, after which Deliveroo answers 409 (`reference/create-sync-status-1`).
//! - `reject`: the same PATCH with `{"status": "rejected", "reject_reason", "notes"?}`;
//!   `reject_reason` is one of `closing_early`, `busy`, `ingredient_unavailable`, `other`.
//! - `ready`: `POST /order/v1/orders/{order_id}/prep_stage` with `{"stage":
//!   "ready_for_collection", "occurred_at"}` (`docs/prep-stages-endpoint`); `occurred_at` must be
//!   within the last hour (a third party's copy of the reference says so).
//! - `cancel`: not offered. The Order API has no merchant cancellation: Deliveroo's customer
//!   service cancels, and the webhook reports it (`docs/cancelled-orders`).
//!
//! Details, the reason mapping and what is unconfirmed: `docs/platforms/deliveroo.md`.

use std::time::Duration;

use o2o_core::Timestamp;
use o2o_core::command::{
    Action, CallDone, CallFailure, CommandKind, FailureCode, OrderCommand, Reason,
};
use reqwest::Method;
use serde::Serialize;

use crate::api::{OrderApi, order_segment, platform_error};

/// The kinds Deliveroo's Order API carries out.
pub const KINDS: &[CommandKind] = &[CommandKind::Accept, CommandKind::Reject, CommandKind::Ready];

/// Accept or reject within 10 minutes of the order (7 in Kuwait and the UAE; those orders need
/// a `deadline` from the order system, see the platform doc).
pub const ACCEPT_WINDOW: Duration = Duration::from_secs(10 * 60);
/// A tablet-based site's sync status within 3 minutes.
pub const SYNC_STATUS_WINDOW: Duration = Duration::from_secs(3 * 60);
/// A prep stage's `occurred_at` within the last hour.
pub const PREP_STAGE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The window of `kind`, counted from the command's `requested_at`.
pub fn window(kind: CommandKind, tablet_based: bool) -> Option<Duration> {
    match kind {
        CommandKind::Accept if tablet_based => Some(SYNC_STATUS_WINDOW),
        CommandKind::Accept | CommandKind::Reject => Some(ACCEPT_WINDOW),
        CommandKind::Ready => Some(PREP_STAGE_WINDOW),
        CommandKind::Cancel | CommandKind::Fulfil => None,
    }
}

/// `PATCH /order/v1/orders/{order_id}`.
#[derive(Debug, Serialize)]
struct StatusUpdate<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reject_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

/// `POST /order/v1/orders/{order_id}/sync_status`.
#[derive(Debug, Serialize)]
struct SyncStatus {
    status: &'static str,
    occurred_at: Timestamp,
}

/// `POST /order/v1/orders/{order_id}/prep_stage`.
#[derive(Debug, Serialize)]
struct PrepStage {
    stage: &'static str,
    occurred_at: Timestamp,
}

/// Deliveroo's `reject_reason` for `reason`, and the note sent with it when the command has
/// none (where the mapping to `other` loses what the reason said).
pub fn reject_reason(reason: Reason) -> (&'static str, Option<&'static str>) {
    match reason {
        Reason::Busy => ("busy", None),
        Reason::Closed => ("closing_early", None),
        Reason::ItemUnavailable => ("ingredient_unavailable", None),
        Reason::CustomerRequest => ("other", Some("customer request")),
        Reason::AddressUnreachable => ("other", Some("address unreachable")),
        Reason::Other => ("other", None),
    }
}

/// When it happened, for `occurred_at`: the command's `requested_at` (when the order system saw
/// it happen), never later than now, in whole seconds.
fn occurred_at(command: &OrderCommand) -> Timestamp {
    let at = command.requested_at.min(Timestamp::now());
    Timestamp::from_unix_seconds(at.unix_seconds()).unwrap_or(at)
}

/// Carries out `command` through `orders`.
pub async fn execute(
    orders: &OrderApi,
    tablet_based: bool,
    command: &OrderCommand,
) -> Result<CallDone, CallFailure> {
    let order_id = command.order.external_id.trim();
    if order_id.is_empty() {
        return Err(CallFailure::permanent(
            FailureCode::InvalidCommand,
            "order.external_id: must not be empty",
        ));
    }
    let order = format!("/order/v1/orders/{}", order_segment(order_id));
    let answer = match &command.action {
        Action::Accept { .. } if tablet_based => {
            let body = SyncStatus {
                status: "succeeded",
                occurred_at: occurred_at(command),
            };
            let path = format!("{order}/sync_status");
            orders
                .call("deliveroo sync_status", Method::POST, &path, &body)
                .await?
        }
        // `ready_by` has nowhere to go: the PATCH takes no time, and the prep stage `delay`
        // (0–10 minutes, `in_kitchen` only) is relative to Deliveroo's own prep time.
        Action::Accept { .. } => {
            let body = StatusUpdate {
                status: "accepted",
                reject_reason: None,
                notes: None,
            };
            orders
                .call("deliveroo accept", Method::PATCH, &order, &body)
                .await?
        }
        Action::Reject { reason, note } => {
            let (reject_reason, default_note) = reject_reason(*reason);
            let notes = note
                .as_deref()
                .map(str::trim)
                .filter(|note| !note.is_empty())
                .or(default_note);
            let body = StatusUpdate {
                status: "rejected",
                reject_reason: Some(reject_reason),
                notes,
            };
            orders
                .call("deliveroo reject", Method::PATCH, &order, &body)
                .await?
        }
        Action::Ready {} => {
            let body = PrepStage {
                stage: "ready_for_collection",
                occurred_at: occurred_at(command),
            };
            let path = format!("{order}/prep_stage");
            orders
                .call("deliveroo prep_stage", Method::POST, &path, &body)
                .await?
        }
        Action::Cancel { .. } | Action::Fulfil(_) => {
            return Err(CallFailure::permanent(
                FailureCode::Unsupported,
                format!(
                    "Deliveroo's Order API has no {} call",
                    command.action.kind().as_str()
                ),
            ));
        }
    };
    if answer.is_success() {
        return Ok(CallDone::default());
    }
    // 404 not_found; 400, 409 (already accepted or rejected, sync status already sent, past
    // the window) and any other 4xx rejected; a 403 unauthorized.
    let (code, message) = platform_error(&answer.body);
    let message = message.map(|m| format!("{}: HTTP {}: {m}", answer.api, answer.status));
    Err(answer.failure(code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_error_shapes_and_nothing_from_other_bodies() {
        let nested = br#"{"error":{"code":"bad_request","message":"invalid status"}}"#;
        assert_eq!(
            platform_error(nested),
            (Some("bad_request".into()), Some("invalid status".into()))
        );
        let flat = br#"{"code":"conflict","message":"already accepted"}"#;
        assert_eq!(
            platform_error(flat),
            (Some("conflict".into()), Some("already accepted".into()))
        );
        let oauth = br#"{"error":"invalid_client","error_description":"bad secret"}"#;
        assert_eq!(
            platform_error(oauth),
            (Some("invalid_client".into()), Some("bad secret".into()))
        );
        assert_eq!(platform_error(b"<html>"), (None, None));
        assert_eq!(platform_error(br#"{"code":7}"#), (None, None));
    }

    #[test]
    fn every_reason_has_a_deliveroo_reason() {
        let reasons = [
            Reason::Busy,
            Reason::Closed,
            Reason::ItemUnavailable,
            Reason::CustomerRequest,
            Reason::AddressUnreachable,
            Reason::Other,
        ];
        let documented = ["closing_early", "busy", "ingredient_unavailable", "other"];
        for reason in reasons {
            assert!(documented.contains(&reject_reason(reason).0), "{reason:?}");
        }
    }

    #[test]
    fn windows_follow_the_flow() {
        assert_eq!(window(CommandKind::Accept, false), Some(ACCEPT_WINDOW));
        assert_eq!(window(CommandKind::Accept, true), Some(SYNC_STATUS_WINDOW));
        assert_eq!(window(CommandKind::Reject, true), Some(ACCEPT_WINDOW));
        assert_eq!(window(CommandKind::Ready, false), Some(PREP_STAGE_WINDOW));
        assert_eq!(window(CommandKind::Cancel, false), None);
    }
}
