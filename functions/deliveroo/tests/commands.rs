//! Order commands through the real command pipeline against a local mock of Deliveroo's OAuth
//! host and Order API.
//!
//! The mocks answer only requests shaped as Deliveroo documents them (api-docs.deliveroo.com):
//! - token, `docs/authentication`: `POST /oauth2/token`, `Authorization: Basic
//!   base64(client_id:client_secret)` (recomputed here with the `base64` crate), form
//!   `grant_type=client_credentials` → `{"access_token", "expires_in": 300, "token_type"}`;
//! - accept / reject, `reference/patch-order-1`: `PATCH /order/v1/orders/{id}` with
//!   `{"status", "reject_reason"?, "notes"?}` → 204;
//! - sync status, `reference/create-sync-status-1`: `POST …/sync_status` with `{"status",
//!   "occurred_at"}` → 200, 409 once sent;
//! - prep stage, `docs/prep-stages-endpoint`: `POST …/prep_stage` with `{"stage",
//!   "occurred_at"}`;
//!
//! each with `Authorization: Bearer <token>` and a JSON body. The order id and site are those
//! of the `docs/cancelled-orders` sample. Error bodies use `{"error": {"code", "message"}}`, the
//! shape Deliveroo documents for its Site and Signature APIs (the Order API documents none).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use o2o_core::command::{Action, CommandKind, FailureCode, OrderCommand, Reason};
use o2o_core::pipeline::CommandProcessed;
use o2o_core::ports::PortError;
use o2o_core::{Timestamp, UnifiedOrderEvent};
use o2o_deliveroo::Deliveroo;
use o2o_testkit::commands::{CommandHarness, command, no_call};
use o2o_testkit::samples::dev_connector_with;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const ORDER_ID: &str = "gb:ec75c356-65f8-4bc6-8b0b-76abfa991fbf";
const ORDER_PATH: &str = "/order/v1/orders/gb:ec75c356-65f8-4bc6-8b0b-76abfa991fbf";
const SITE: &str = "4163";
const CLIENT_ID: &str = "5sh97qp6c4donhb1a68rpd8n8h";
const CLIENT_SECRET: &str = "test-deliveroo-client-secret";
const TOKEN: &str = "eyJraWQiOiJ0ZXN0In0.first.token";
const FRESH_TOKEN: &str = "eyJraWQiOiJ0ZXN0In0.second.token";

/// The connector of `o2o.toml` with API credentials and both hosts at `server`.
fn connector(server: &MockServer, extra: &[(&str, Value)]) -> Deliveroo {
    let mut settings = vec![
        ("api_base", json!(server.uri())),
        ("auth_base", json!(server.uri())),
        ("client_id", json!(CLIENT_ID)),
        ("client_secret", json!(CLIENT_SECRET)),
    ];
    settings.extend(extra.iter().cloned());
    dev_connector_with(&settings)
}

/// The documented token request.
fn token_request() -> MockBuilder {
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(header("authorization", basic.as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials"))
}

/// The documented token request, answered as documented with `token`.
fn token_endpoint(token: &str) -> Mock {
    token_request().respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token,
        "expires_in": 300,
        "token_type": "Bearer"
    })))
}

/// A call to the Order API with `token` and exactly `body`.
fn api_call(verb: &str, at: &str, token: &str, body: Value) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(at))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
}

fn cmd(id: &str, action: Action) -> OrderCommand {
    command(id, "deliveroo", SITE, ORDER_ID, action)
}

/// A command requested `ago` seconds ago, in whole seconds, and that time as Deliveroo reads it.
fn requested(id: &str, action: Action, ago: i64) -> (OrderCommand, String) {
    let mut command = cmd(id, action);
    let at = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - ago).expect("time");
    command.requested_at = at;
    (command, at.to_string())
}

fn accept() -> Action {
    Action::Accept { ready_by: None }
}

fn reject(reason: Reason, note: Option<&str>) -> Action {
    Action::Reject {
        reason,
        note: note.map(str::to_owned),
    }
}

/// Checks a result event: its type, its command and, for a failure, `(code, retryable,
/// platform_code)`.
fn check(
    event: &UnifiedOrderEvent,
    command_id: &str,
    kind: CommandKind,
    attempts: u32,
    failure: Option<(FailureCode, bool, &str)>,
) {
    let expected_type = if failure.is_some() {
        "command.failed"
    } else {
        "command.succeeded"
    };
    assert_eq!(event.event_type.as_str(), expected_type, "{event:?}");
    assert_eq!(event.source.channel, "deliveroo");
    assert_eq!(event.source.tenant, SITE);
    assert_eq!(
        event.order.as_ref().map(|o| o.external_id.as_str()),
        Some(ORDER_ID)
    );
    let result = event.command.as_ref().expect("a command result");
    assert_eq!(result.command_id, command_id);
    assert_eq!(result.kind, kind);
    assert_eq!(result.attempts, attempts);
    let error = result.error.as_ref();
    assert_eq!(
        error.map(|e| (
            e.code,
            e.retryable,
            e.platform_code.as_deref().unwrap_or("")
        )),
        failure,
        "{error:?}"
    );
}

/// Runs `command` once as the queue's first and last hand-out; its one result.
async fn run_once(connector: &Deliveroo, command: &OrderCommand) -> UnifiedOrderEvent {
    let harness = CommandHarness::new();
    let outcome = harness.run(connector, command, 1, true).await;
    let results = harness.results();
    assert_eq!(results.len(), 1, "{outcome:?}");
    results[0].clone()
}

#[tokio::test]
async fn accept_and_reject_patch_the_order_with_one_cached_token() {
    let server = MockServer::start().await;
    token_endpoint(TOKEN).expect(1).mount(&server).await;
    api_call("PATCH", ORDER_PATH, TOKEN, json!({"status": "accepted"}))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let rejected = json!({"status": "rejected", "reject_reason": "busy", "notes": "rush hour"});
    api_call("PATCH", ORDER_PATH, TOKEN, rejected)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server, &[]);

    let accepted = run_once(&connector, &cmd("accept-1", accept())).await;
    check(&accepted, "accept-1", CommandKind::Accept, 1, None);
    let reject = cmd("reject-1", reject(Reason::Busy, Some("rush hour")));
    let rejected = run_once(&connector, &reject).await;
    check(&rejected, "reject-1", CommandKind::Reject, 1, None);

    // One token for both; the client secret travels only in the Basic header.
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].body, b"grant_type=client_credentials");
    assert!(
        requests
            .iter()
            .all(|r| !String::from_utf8_lossy(&r.body).contains(CLIENT_SECRET))
    );
}

#[tokio::test]
async fn each_reason_is_sent_as_a_documented_reject_reason() {
    let server = MockServer::start().await;
    token_endpoint(TOKEN).expect(1).mount(&server).await;
    // reference/patch-order-1: closing_early, busy, ingredient_unavailable or other.
    let cases = [
        (
            Reason::Busy,
            None,
            json!({"status": "rejected", "reject_reason": "busy"}),
        ),
        (
            Reason::Closed,
            None,
            json!({"status": "rejected", "reject_reason": "closing_early"}),
        ),
        (
            Reason::ItemUnavailable,
            Some("no falafel"),
            json!({"status": "rejected", "reject_reason": "ingredient_unavailable", "notes": "no falafel"}),
        ),
        (
            Reason::CustomerRequest,
            None,
            json!({"status": "rejected", "reject_reason": "other", "notes": "customer request"}),
        ),
        (
            Reason::AddressUnreachable,
            None,
            json!({"status": "rejected", "reject_reason": "other", "notes": "address unreachable"}),
        ),
        (
            Reason::Other,
            Some("  oven broke  "),
            json!({"status": "rejected", "reject_reason": "other", "notes": "oven broke"}),
        ),
    ];
    for (_, _, body) in &cases {
        api_call("PATCH", ORDER_PATH, TOKEN, body.clone())
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let connector = connector(&server, &[]);
    for (n, (reason, note, _)) in cases.into_iter().enumerate() {
        let id = format!("reject-{n}");
        let event = run_once(&connector, &cmd(&id, reject(reason, note))).await;
        check(&event, &id, CommandKind::Reject, 1, None);
    }
}

#[tokio::test]
async fn ready_posts_the_ready_for_collection_prep_stage() {
    let server = MockServer::start().await;
    token_endpoint(TOKEN).expect(1).mount(&server).await;
    let (ready, at) = requested("ready-1", Action::Ready {}, 45);
    let body = json!({"stage": "ready_for_collection", "occurred_at": at});
    api_call("POST", &format!("{ORDER_PATH}/prep_stage"), TOKEN, body)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let event = run_once(&connector(&server, &[]), &ready).await;
    check(&event, "ready-1", CommandKind::Ready, 1, None);
}

#[tokio::test]
async fn a_tablet_based_site_s_accept_reports_sync_status_succeeded() {
    let server = MockServer::start().await;
    token_endpoint(TOKEN).expect(1).mount(&server).await;
    let (accepted, at) = requested("accept-tablet", accept(), 20);
    let body = json!({"status": "succeeded", "occurred_at": at});
    let sync_status = format!("{ORDER_PATH}/sync_status");
    api_call("POST", &sync_status, TOKEN, body)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server, &[("tablet_based", json!(true))]);
    let event = run_once(&connector, &accepted).await;
    check(&event, "accept-tablet", CommandKind::Accept, 1, None);
    let requests = server.received_requests().await.expect("recorded");
    assert!(
        requests.iter().all(|r| r.method.as_str() != "PATCH"),
        "no PATCH"
    );
}

/// What each kind sends for the order: `(verb, path, body)`, and the command.
fn request_of(
    id: &str,
    action: Action,
    tablet_based: bool,
) -> (OrderCommand, &'static str, String, Value) {
    let (command, at) = requested(id, action, 30);
    let (verb, suffix, body) = match &command.action {
        Action::Accept { .. } if tablet_based => (
            "POST",
            "/sync_status",
            json!({"status": "succeeded", "occurred_at": at}),
        ),
        Action::Accept { .. } => ("PATCH", "", json!({"status": "accepted"})),
        Action::Reject { .. } => (
            "PATCH",
            "",
            json!({"status": "rejected", "reject_reason": "busy"}),
        ),
        _ => (
            "POST",
            "/prep_stage",
            json!({"stage": "ready_for_collection", "occurred_at": at}),
        ),
    };
    (command, verb, format!("{ORDER_PATH}{suffix}"), body)
}

#[tokio::test]
async fn deliveroo_s_refusals_are_not_found_or_rejected_with_its_code() {
    let error = |code: &str, message: &str| json!({"error": {"code": code, "message": message}});
    let busy = reject(Reason::Busy, None);
    // (action, tablet-based, status, error body, expected code, expected platform_code)
    let cases = [
        // An unknown order.
        (
            accept(),
            false,
            404,
            Some(error("not_found", "order not found")),
            FailureCode::NotFound,
            "not_found",
        ),
        // Already accepted, or past the 10 minutes: a conflict, here without a body.
        (busy, false, 409, None, FailureCode::Rejected, "HTTP 409"),
        // A prep stage Deliveroo refuses (e.g. occurred_at out of range).
        (
            Action::Ready {},
            false,
            400,
            Some(error("bad_request", "occurred_at out of range")),
            FailureCode::Rejected,
            "bad_request",
        ),
        // reference/create-sync-status-1: "any attempts to update it will give you an HTTP 409".
        (
            accept(),
            true,
            409,
            Some(error("conflict", "sync status already sent")),
            FailureCode::Rejected,
            "conflict",
        ),
    ];
    for (action, tablet_based, status, body, code, platform_code) in cases {
        let server = MockServer::start().await;
        token_endpoint(TOKEN).expect(1).mount(&server).await;
        let (command, verb, at, sent) = request_of("refused", action, tablet_based);
        let mut answer = ResponseTemplate::new(status);
        if let Some(body) = &body {
            answer = answer.set_body_json(body);
        }
        api_call(verb, &at, TOKEN, sent)
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let connector = connector(&server, &[("tablet_based", json!(tablet_based))]);
        let event = run_once(&connector, &command).await;
        let kind = command.action.kind();
        check(
            &event,
            "refused",
            kind,
            1,
            Some((code, false, platform_code)),
        );
        let message = event.command.and_then(|c| c.error).and_then(|e| e.message);
        let message = message.unwrap_or_default();
        assert!(message.contains(&format!("HTTP {status}")), "{message}");
        let said = body.as_ref().and_then(|b| b["error"]["message"].as_str());
        assert!(
            message.ends_with(said.unwrap_or("")),
            "Deliveroo's message: {message}"
        );
    }
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_then_reported_as_retryable() {
    let cases = [
        (accept(), 503),
        (Action::Ready {}, 429),
        (reject(Reason::Busy, None), 500),
    ];
    for (action, status) in cases {
        let server = MockServer::start().await;
        token_endpoint(TOKEN).expect(1).mount(&server).await;
        let (command, verb, at, sent) = request_of("transient", action, false);
        api_call(verb, &at, TOKEN, sent)
            .respond_with(ResponseTemplate::new(status))
            .expect(2)
            .mount(&server)
            .await;
        let connector = connector(&server, &[]);
        let harness = CommandHarness::new();
        let first = harness.run(&connector, &command, 1, false).await;
        assert!(matches!(first, Err(PortError::RetryLater(_))), "{first:?}");
        assert!(
            harness.results().is_empty(),
            "nothing reported before the last attempt"
        );
        let last = harness.run(&connector, &command, 2, true).await;
        assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
        let results = harness.results();
        assert_eq!(results.len(), 1);
        let code = format!("HTTP {status}");
        let failure = Some((FailureCode::PlatformUnavailable, true, code.as_str()));
        check(&results[0], "transient", command.action.kind(), 2, failure);
    }
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_call_made_again() {
    let server = MockServer::start().await;
    token_endpoint(TOKEN)
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint(FRESH_TOKEN).expect(1).mount(&server).await;
    let accepted = json!({"status": "accepted"});
    api_call("PATCH", ORDER_PATH, TOKEN, accepted.clone())
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    api_call("PATCH", ORDER_PATH, FRESH_TOKEN, accepted)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let event = run_once(&connector(&server, &[]), &cmd("accept-refresh", accept())).await;
    check(&event, "accept-refresh", CommandKind::Accept, 1, None);
}

#[tokio::test]
async fn a_token_refused_after_its_refresh_is_a_retryable_unauthorized() {
    let server = MockServer::start().await;
    token_endpoint(TOKEN).expect(2).mount(&server).await;
    api_call("PATCH", ORDER_PATH, TOKEN, json!({"status": "accepted"}))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let event = run_once(&connector(&server, &[]), &cmd("accept-401", accept())).await;
    let failure = Some((FailureCode::Unauthorized, true, "HTTP 401"));
    check(&event, "accept-401", CommandKind::Accept, 1, failure);
}

#[tokio::test]
async fn refused_client_credentials_are_unauthorized_and_nothing_else_is_called() {
    let server = MockServer::start().await;
    // Cognito's OAuth error for a wrong client secret.
    token_request()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path(ORDER_PATH))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let event = run_once(&connector(&server, &[]), &cmd("accept-creds", accept())).await;
    let failure = Some((FailureCode::Unauthorized, true, "invalid_client"));
    check(&event, "accept-creds", CommandKind::Accept, 1, failure);
}

#[tokio::test]
async fn the_same_command_id_twice_calls_deliveroo_once() {
    let server = MockServer::start().await;
    token_endpoint(TOKEN).expect(1).mount(&server).await;
    api_call("PATCH", ORDER_PATH, TOKEN, json!({"status": "accepted"}))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server, &[]);
    let harness = CommandHarness::new();
    let command = cmd("accept-twice", accept());
    let first = harness
        .run(&connector, &command, 1, false)
        .await
        .expect("reported");
    assert_eq!(first.describe(), "succeeded");
    let second = harness
        .run(&connector, &command, 1, false)
        .await
        .expect("reported");
    assert_eq!(second, CommandProcessed::Duplicate);
    assert_eq!(harness.groups().len(), 2, "the stored result is sent again");
    let results = harness.results();
    assert_eq!(results.len(), 1, "and deduplicated by its event id");
    check(&results[0], "accept-twice", CommandKind::Accept, 1, None);
}

#[tokio::test]
async fn past_its_window_or_deadline_nothing_is_sent() {
    let server = MockServer::start().await;
    no_call(&server, ResponseTemplate::new(500)).await;
    let tablet_less = connector(&server, &[]);
    let tablet_based = connector(&server, &[("tablet_based", json!(true))]);
    // 10 minutes to accept; 3 for a tablet-based sync status; an hour for a prep stage.
    let cases = [
        (&tablet_less, requested("late-accept", accept(), 11 * 60).0),
        (&tablet_based, requested("late-sync", accept(), 4 * 60).0),
        (
            &tablet_less,
            requested("late-ready", Action::Ready {}, 61 * 60).0,
        ),
    ];
    for (connector, command) in cases {
        let event = run_once(connector, &command).await;
        let kind = command.action.kind();
        let failure = Some((FailureCode::DeadlinePassed, false, ""));
        check(&event, &command.command_id, kind, 0, failure);
    }
    // The order system's own deadline (a Kuwait or UAE order's 7 minutes) comes first.
    let (mut kuwait, _) = requested("late-kw", reject(Reason::Busy, None), 8 * 60);
    kuwait.deadline = Some(kuwait.requested_at.plus_seconds(7 * 60));
    let event = run_once(&tablet_less, &kuwait).await;
    let failure = Some((FailureCode::DeadlinePassed, false, ""));
    check(&event, "late-kw", CommandKind::Reject, 0, failure);
}

#[tokio::test]
async fn cancel_is_unsupported_and_not_sent() {
    let server = MockServer::start().await;
    no_call(&server, ResponseTemplate::new(500)).await;
    let cancel = cmd(
        "cancel-1",
        Action::Cancel {
            reason: Reason::CustomerRequest,
            note: None,
        },
    );
    let event = run_once(&connector(&server, &[]), &cancel).await;
    let failure = Some((FailureCode::Unsupported, false, ""));
    check(&event, "cancel-1", CommandKind::Cancel, 0, failure);
}

#[tokio::test]
async fn without_credentials_a_command_fails_naming_the_settings() {
    let server = MockServer::start().await;
    no_call(&server, ResponseTemplate::new(500)).await;
    let connector: Deliveroo = dev_connector_with(&[
        ("api_base", json!(server.uri())),
        ("auth_base", json!(server.uri())),
    ]);
    let event = run_once(&connector, &cmd("accept-nocreds", accept())).await;
    let failure = Some((FailureCode::Unauthorized, false, ""));
    check(&event, "accept-nocreds", CommandKind::Accept, 1, failure);
    let message = event
        .command
        .and_then(|c| c.error)
        .and_then(|e| e.message)
        .unwrap_or_default();
    assert!(message.contains("client_id and client_secret"), "{message}");
}
