//! Order commands that fail, through the real command pipeline against a local mock of
//! DoorDash's Marketplace API (`common`): DoorDash's refusals, unavailable answers retried,
//! a refused JWT, and the commands that are never sent.

mod common;

use common::*;
use o2o_core::Timestamp;
use o2o_core::command::{Action, CommandKind, FailureCode};
use o2o_core::event::EventType;
use o2o_core::ports::PortError;
use o2o_doordash::DoorDash;
use o2o_testkit::commands::{CommandHarness, failure};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// 400 (expired, already processed) is `rejected`, 404 `not_found`, both final, with
/// DoorDash's code where its body has one; 403 (not allowlisted, no access) is `unauthorized`,
/// retryable once ops fixed it.
#[tokio::test]
async fn doordash_refusals_keep_their_code() {
    let cases = [
        (
            400,
            json!({"code": "validation_error", "message": "Order has already been processed or order has expired"}),
            FailureCode::Rejected,
            "validation_error",
            false,
        ),
        (400, Value::Null, FailureCode::Rejected, "HTTP 400", false),
        (
            404,
            json!({"message": "Order with provided ID does not exist"}),
            FailureCode::NotFound,
            "HTTP 404",
            false,
        ),
        (
            403,
            Value::Null,
            FailureCode::Unauthorized,
            "HTTP 403",
            true,
        ),
    ];
    for (status, body, code, platform_code, retryable) in cases {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(status);
        if !body.is_null() {
            response = response.set_body_json(body.clone());
        }
        doordash_call("", accepted(), response)
            .expect(1)
            .mount(&server)
            .await;
        let harness = CommandHarness::new();
        let accept = doordash_command("accept-refused", Action::Accept { ready_by: None });
        let _ = harness.run(&connector(&server), &accept, 4, true).await;
        let event = only_result(&harness, "accept-refused", CommandKind::Accept);
        assert_eq!(event.event_type, EventType::CommandFailed);
        let error = event.command.and_then(|c| c.error).expect("an error");
        assert_eq!(error.code, code, "{status} {body}");
        assert_eq!(
            error.platform_code.as_deref(),
            Some(platform_code),
            "{status} {body}"
        );
        assert_eq!(error.retryable, retryable, "{status} {body}");
        if let Some(message) = body["message"].as_str() {
            assert_eq!(
                error.message,
                Some(format!("doordash confirm order: {message}"))
            );
        }
    }
}

#[tokio::test]
async fn unavailable_answers_are_retried_then_reported_as_retryable() {
    for status in [500, 503, 429] {
        let server = MockServer::start().await;
        doordash_call(
            "/events/order_ready_for_pickup",
            json!({"merchant_supplied_id": ORDER_ID}),
            ResponseTemplate::new(status),
        )
        .expect(2)
        .mount(&server)
        .await;
        let connector = connector(&server);
        let harness = CommandHarness::new();
        let ready = doordash_command("ready-retry", Action::Ready {});
        let first = harness.run(&connector, &ready, 1, false).await;
        assert!(
            matches!(first, Err(PortError::RetryLater(_))),
            "{status}: {first:?}"
        );
        assert!(harness.results().is_empty());
        let last = harness.run(&connector, &ready, 3, true).await;
        assert!(
            matches!(last, Err(PortError::RetryLater(_))),
            "{status}: {last:?}"
        );
        let event = only_result(&harness, "ready-retry", CommandKind::Ready);
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

/// A 401 gets one more call with a newly minted JWT; a second 401 is `unauthorized`, retryable.
#[tokio::test]
async fn a_refused_jwt_is_minted_again_once() {
    let server = MockServer::start().await;
    doordash_call("", accepted(), ResponseTemplate::new(401))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    doordash_call("", accepted(), ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    succeeds(&server, "accept-401", Action::Accept { ready_by: None }).await;

    let server = MockServer::start().await;
    doordash_call("", accepted(), ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let harness = CommandHarness::new();
    let accept = doordash_command("accept-401-twice", Action::Accept { ready_by: None });
    let done = harness.run(&connector(&server), &accept, 5, true).await;
    assert!(matches!(done, Err(PortError::RetryLater(_))), "{done:?}");
    let event = only_result(&harness, "accept-401-twice", CommandKind::Accept);
    let error = event.command.and_then(|c| c.error).expect("an error");
    assert_eq!(
        (error.code, error.retryable),
        (FailureCode::Unauthorized, true)
    );
    let message = error.message.unwrap_or_default();
    assert!(
        message.contains("signing_secret") && !message.contains(SIGNING_SECRET),
        "{message}"
    );
}

/// The mock's verifier is not vacuous: a JWT signed with another secret matches no mock (the
/// mock server then answers 404, which is `not_found`).
#[tokio::test]
async fn a_jwt_signed_with_another_secret_is_refused_by_the_mock() {
    let server = MockServer::start().await;
    doordash_call("", accepted(), ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;
    let other_secret: DoorDash = o2o_testkit::samples::dev_connector_with(&[
        ("api_base", json!(server.uri())),
        ("developer_id", json!(DEVELOPER_ID)),
        ("key_id", json!(KEY_ID)),
        (
            "signing_secret",
            json!("c2lnbmluZy1zZWNyZXQtb2YtYW5vdGhlci1rZXk"),
        ),
    ]);
    let harness = CommandHarness::new();
    let accept = doordash_command("accept-forged", Action::Accept { ready_by: None });
    harness
        .run(&other_secret, &accept, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "accept-forged", CommandKind::Accept);
    let error = event.command.and_then(|c| c.error).expect("an error");
    assert_eq!(error.code, FailureCode::NotFound);
}

#[tokio::test]
async fn past_its_deadline_fulfil_or_without_a_key_nothing_is_called() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;

    let mut late = doordash_command("accept-late", Action::Accept { ready_by: None });
    late.deadline = Some(Timestamp::now().plus_seconds(-1));
    let fulfil = doordash_command("fulfil-1", Action::Fulfil(Default::default()));
    for (command, code) in [
        (late, FailureCode::DeadlinePassed),
        (fulfil, FailureCode::Unsupported),
    ] {
        let harness = CommandHarness::new();
        harness
            .run(&connector(&server), &command, 1, false)
            .await
            .expect("reported");
        let event = only_result(&harness, &command.command_id, command.action.kind());
        let (failed, _, retryable, attempts) = failure(&event);
        assert_eq!((failed, retryable, attempts), (code, false, 0));
    }

    // The channel of `o2o.toml` has no access key: `unauthorized`, naming what is missing.
    let no_key: DoorDash =
        o2o_testkit::samples::dev_connector_with(&[("api_base", json!(server.uri()))]);
    let harness = CommandHarness::new();
    let ready = doordash_command("ready-no-key", Action::Ready {});
    harness
        .run(&no_key, &ready, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "ready-no-key", CommandKind::Ready);
    let error = event.command.and_then(|c| c.error).expect("an error");
    assert_eq!(
        (error.code, error.retryable),
        (FailureCode::Unauthorized, false)
    );
    assert_eq!(
        error.message.as_deref(),
        Some(
            "doordash commands need the settings developer_id, key_id and signing_secret (missing: developer_id, key_id, signing_secret)"
        )
    );
}
