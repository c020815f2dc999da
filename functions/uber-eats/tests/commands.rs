//! Order commands through the real command pipeline (`CommandHarness`) against a local mock of
//! Uber's OAuth token endpoint and order API (`common`): each kind carried out, a refreshed
//! token, and a repeated `command_id`.

mod common;

use common::*;
use o2o_core::Timestamp;
use o2o_core::command::{Action, CommandKind, Reason};
use o2o_core::event::EventType;
use o2o_core::pipeline::CommandProcessed;
use o2o_testkit::commands::{CommandHarness, succeeded};
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

#[tokio::test]
async fn accept_posts_accept_pos_order_with_the_ready_time() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    // 2026-12-02T10:20:00Z as Unix seconds.
    order_call(
        "accept_pos_order",
        json!({"reason": "accepted", "pickup_time": 1_796_206_800}),
        ResponseTemplate::new(204),
    )
    .expect(1)
    .mount(&server)
    .await;
    let ready_by = Timestamp::parse_rfc3339("2026-12-02T10:20:00Z").expect("time");
    let harness = CommandHarness::new();
    let accept = uber_command(
        "accept-1",
        Action::Accept {
            ready_by: Some(ready_by),
        },
    );
    let done = harness.run(&connector(&server), &accept, 1, false).await;
    assert!(
        matches!(
            done,
            Ok(CommandProcessed::Reported {
                event_type: EventType::CommandSucceeded,
                failure: None
            })
        ),
        "{done:?}"
    );
    succeeded(&only_result(&harness, "accept-1", CommandKind::Accept), 1);
    assert_eq!(
        harness.groups(),
        vec![Some(format!("uber-eats:{STORE}:{ORDER_ID}"))]
    );
}

#[tokio::test]
async fn reject_denies_with_the_mapped_code_and_an_explanation() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    order_call(
        "deny_pos_order",
        json!({"reason": {"explanation": "an item is unavailable: no oat milk", "code": "ITEM_AVAILABILITY"}}),
        ResponseTemplate::new(204),
    )
    .expect(1)
    .mount(&server)
    .await;
    let harness = CommandHarness::new();
    let reject = uber_command(
        "reject-1",
        Action::Reject {
            reason: Reason::ItemUnavailable,
            note: Some("no oat milk".into()),
        },
    );
    harness
        .run(&connector(&server), &reject, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "reject-1", CommandKind::Reject);
    assert_eq!(event.event_type, EventType::CommandSucceeded);
}

#[tokio::test]
async fn cancel_posts_the_cancel_reason_and_details() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    order_call(
        "cancel",
        json!({"reason": "RESTAURANT_TOO_BUSY", "details": "the store is too busy"}),
        ResponseTemplate::new(200).set_body_json(json!({})),
    )
    .expect(1)
    .mount(&server)
    .await;
    let harness = CommandHarness::new();
    let mut cancel = uber_command("cancel-1", cancel_busy());
    // Cancel has no window: a command asked for an hour ago is still sent.
    cancel.requested_at = Timestamp::now().plus_seconds(-3600);
    harness
        .run(&connector(&server), &cancel, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "cancel-1", CommandKind::Cancel);
    assert_eq!(event.event_type, EventType::CommandSucceeded);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_call_made_again() {
    let server = MockServer::start().await;
    token_endpoint(&server, 2).await;
    let accept_body = json!({"reason": "accepted"});
    order_call(
        "accept_pos_order",
        accept_body.clone(),
        ResponseTemplate::new(401),
    )
    .up_to_n_times(1)
    .expect(1)
    .mount(&server)
    .await;
    order_call("accept_pos_order", accept_body, ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let harness = CommandHarness::new();
    let accept = uber_command("accept-401", Action::Accept { ready_by: None });
    harness
        .run(&connector(&server), &accept, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "accept-401", CommandKind::Accept);
    assert_eq!(event.event_type, EventType::CommandSucceeded);
    let requests = server.received_requests().await.expect("recorded");
    let calls: Vec<_> = requests.iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(
        calls,
        [
            "/oauth/v2/token".to_owned(),
            format!("/v1/eats/orders/{ORDER_ID}/accept_pos_order"),
            "/oauth/v2/token".to_owned(),
            format!("/v1/eats/orders/{ORDER_ID}/accept_pos_order"),
        ]
    );
}

/// The same `command_id` twice: one call, and the stored result sent again (the unified queue's
/// deduplication keeps one).
#[tokio::test]
async fn a_repeated_command_id_calls_uber_once() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    order_call(
        "cancel",
        json!({"reason": "RESTAURANT_TOO_BUSY", "details": "the store is too busy"}),
        ResponseTemplate::new(200).set_body_json(json!({})),
    )
    .expect(1)
    .mount(&server)
    .await;
    let connector = connector(&server);
    let harness = CommandHarness::new();
    let cancel = uber_command("cancel-twice", cancel_busy());
    let first = harness
        .run(&connector, &cancel, 1, false)
        .await
        .expect("first");
    let second = harness
        .run(&connector, &cancel, 1, false)
        .await
        .expect("second");
    assert!(
        matches!(first, CommandProcessed::Reported { .. }),
        "{first:?}"
    );
    assert_eq!(second, CommandProcessed::Duplicate);
    assert_eq!(harness.groups().len(), 2, "the result was sent twice");
    let event = only_result(&harness, "cancel-twice", CommandKind::Cancel);
    assert_eq!(event.event_type, EventType::CommandSucceeded);
}
