//! Order commands that fail, through the real command pipeline against a local mock of
//! Uber's token endpoint and order API (`common`): Uber's errors, unavailable answers
//! retried, refused credentials, and the commands that are never sent.

mod common;

use common::*;
use o2o_core::Timestamp;
use o2o_core::command::{Action, CommandKind, FailureCode};
use o2o_core::event::EventType;
use o2o_core::pipeline::CommandProcessed;
use o2o_core::ports::PortError;
use o2o_testkit::commands::{CommandHarness, failure};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// 409 `resource_status_conflict` (an order already accepted or denied) is `rejected` with
/// Uber's code; 404 `resource_not_found` is `not_found`; neither is retried.
#[tokio::test]
async fn uber_errors_keep_their_code_and_are_final() {
    let cases = [
        (
            409,
            "resource_status_conflict",
            "Order status conflict",
            FailureCode::Rejected,
        ),
        (
            404,
            "resource_not_found",
            "Order not found",
            FailureCode::NotFound,
        ),
        (
            400,
            "validation_failed",
            "Invalid request",
            FailureCode::Rejected,
        ),
    ];
    for (status, code, message, expected) in cases {
        let server = MockServer::start().await;
        token_endpoint(&server, 1).await;
        order_call(
            "accept_pos_order",
            json!({"reason": "accepted"}),
            ResponseTemplate::new(status).set_body_json(json!({"code": code, "message": message})),
        )
        .expect(1)
        .mount(&server)
        .await;
        let harness = CommandHarness::new();
        let accept = uber_command("accept-err", Action::Accept { ready_by: None });
        let done = harness.run(&connector(&server), &accept, 1, false).await;
        assert!(
            matches!(done, Ok(CommandProcessed::Reported { .. })),
            "{status}: {done:?}"
        );
        let event = only_result(&harness, "accept-err", CommandKind::Accept);
        assert_eq!(event.event_type, EventType::CommandFailed);
        let error = event.command.and_then(|c| c.error).expect("an error");
        assert_eq!(error.code, expected, "{status}");
        assert!(!error.retryable, "{status}");
        assert_eq!(error.platform_code.as_deref(), Some(code));
        assert_eq!(
            error.message.as_deref(),
            Some(format!("uber-eats accept_pos_order: {message}").as_str())
        );
    }
}

/// 5xx and 429: the queue hands the command out again (`RetryLater`, nothing reported); on the
/// last attempt `command.failed` with `retryable: true` is reported first.
#[tokio::test]
async fn unavailable_answers_are_retried_then_reported_as_retryable() {
    for status in [503, 500, 429] {
        let server = MockServer::start().await;
        token_endpoint(&server, 1).await;
        order_call(
            "cancel",
            json!({"reason": "RESTAURANT_TOO_BUSY", "details": "the store is too busy"}),
            ResponseTemplate::new(status),
        )
        .expect(2)
        .mount(&server)
        .await;
        let connector = connector(&server);
        let harness = CommandHarness::new();
        let cancel = uber_command("cancel-retry", cancel_busy());
        let first = harness.run(&connector, &cancel, 1, false).await;
        assert!(
            matches!(first, Err(PortError::RetryLater(_))),
            "{status}: {first:?}"
        );
        assert!(
            harness.results().is_empty(),
            "nothing reported before the last attempt"
        );
        let last = harness.run(&connector, &cancel, 3, true).await;
        assert!(
            matches!(last, Err(PortError::RetryLater(_))),
            "{status}: {last:?}"
        );
        let event = only_result(&harness, "cancel-retry", CommandKind::Cancel);
        assert_eq!(
            failure(&event),
            (
                FailureCode::PlatformUnavailable,
                Some(format!("HTTP {status}")),
                true,
                3
            )
        );
    }
}

/// Refused again after the refresh: transient `unauthorized` (ops fix the credentials, then
/// the command is redriven); a refused grant is the same.
#[tokio::test]
async fn a_token_refused_twice_is_a_retryable_unauthorized() {
    let server = MockServer::start().await;
    token_endpoint(&server, 2).await;
    order_call(
        "accept_pos_order",
        json!({"reason": "accepted"}),
        ResponseTemplate::new(401),
    )
    .expect(2)
    .mount(&server)
    .await;
    let harness = CommandHarness::new();
    let accept = uber_command("accept-401-twice", Action::Accept { ready_by: None });
    let done = harness.run(&connector(&server), &accept, 5, true).await;
    assert!(matches!(done, Err(PortError::RetryLater(_))), "{done:?}");
    let event = only_result(&harness, "accept-401-twice", CommandKind::Accept);
    let error = event.command.and_then(|c| c.error).expect("an error");
    assert_eq!(error.code, FailureCode::Unauthorized);
    assert!(error.retryable);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/eats/orders/{ORDER_ID}/accept_pos_order")))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let harness = CommandHarness::new();
    let done = harness.run(&connector(&server), &accept, 5, true).await;
    assert!(matches!(done, Err(PortError::RetryLater(_))), "{done:?}");
    let event = only_result(&harness, "accept-401-twice", CommandKind::Accept);
    let error = event.command.and_then(|c| c.error).expect("an error");
    assert_eq!(error.code, FailureCode::Unauthorized);
    assert!(error.retryable);
    let message = error.message.unwrap_or_default();
    assert!(!message.contains("dev-uber-client-secret"), "{message}");
}

/// Past Uber's 11.5 minutes (or the command's own deadline) nothing is called.
#[tokio::test]
async fn a_command_past_its_window_is_not_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let connector = connector(&server);
    let mut late = uber_command("accept-late", Action::Accept { ready_by: None });
    late.requested_at = Timestamp::now().plus_seconds(-700);
    let harness = CommandHarness::new();
    harness
        .run(&connector, &late, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "accept-late", CommandKind::Accept);
    let (code, _, retryable, attempts) = failure(&event);
    assert_eq!(
        (code, retryable, attempts),
        (FailureCode::DeadlinePassed, false, 0)
    );

    let mut expired = uber_command("cancel-expired", cancel_busy());
    expired.deadline = Some(Timestamp::now().plus_seconds(-1));
    let harness = CommandHarness::new();
    harness
        .run(&connector, &expired, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "cancel-expired", CommandKind::Cancel);
    let error = event.command.and_then(|c| c.error).expect("an error");
    assert_eq!(error.code, FailureCode::DeadlinePassed);
}

#[tokio::test]
async fn ready_and_fulfil_are_unsupported_without_a_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let connector = connector(&server);
    for (id, action, kind) in [
        ("ready-1", Action::Ready {}, CommandKind::Ready),
        (
            "fulfil-1",
            Action::Fulfil(Default::default()),
            CommandKind::Fulfil,
        ),
    ] {
        let harness = CommandHarness::new();
        harness
            .run(&connector, &uber_command(id, action), 1, false)
            .await
            .expect("reported");
        let (code, _, _, attempts) = failure(&only_result(&harness, id, kind));
        assert_eq!((code, attempts), (FailureCode::Unsupported, 0));
    }
}
