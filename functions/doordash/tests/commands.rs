//! Order commands through the real command pipeline (`CommandHarness`) against a local mock of
//! DoorDash's Marketplace API (`common`): each kind carried out, a repeated `command_id`, and
//! the 202 that makes a new order wait for them.

mod common;

use common::*;
use o2o_core::command::{Action, CommandKind, Reason};
use o2o_core::event::EventType;
use o2o_core::pipeline::{CommandProcessed, PipelineOptions};
use o2o_core::ports::QueueName;
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Outcome, Pipeline, Timestamp};
use o2o_doordash::DoorDash;
use o2o_local::SqliteStore;
use o2o_testkit::commands::CommandHarness;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

#[tokio::test]
async fn accept_confirms_the_order_with_its_prep_time() {
    let server = MockServer::start().await;
    let mut body = accepted();
    body["prep_time"] = json!("2026-12-02T10:20:00Z");
    doordash_call("", body, ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let ready_by = Timestamp::parse_rfc3339("2026-12-02T11:20:00+01:00").expect("time");
    succeeds(
        &server,
        "accept-1",
        Action::Accept {
            ready_by: Some(ready_by),
        },
    )
    .await;
}

#[tokio::test]
async fn reject_fails_the_order_with_its_reason() {
    let server = MockServer::start().await;
    let body = json!({
        "merchant_supplied_id": ORDER_ID,
        "order_status": "fail",
        "failure_reason": "An item is out of stock: Salad Plate",
    });
    doordash_call("", body, ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let reject = Action::Reject {
        reason: Reason::ItemUnavailable,
        note: Some("Salad Plate".into()),
    };
    succeeds(&server, "reject-1", reject).await;
}

#[tokio::test]
async fn ready_sends_the_order_ready_signal() {
    let server = MockServer::start().await;
    doordash_call(
        "/events/order_ready_for_pickup",
        json!({"merchant_supplied_id": ORDER_ID}),
        ResponseTemplate::new(202),
    )
    .expect(1)
    .mount(&server)
    .await;
    succeeds(&server, "ready-1", Action::Ready {}).await;
}

#[tokio::test]
async fn cancel_sends_the_cancel_reason() {
    let server = MockServer::start().await;
    doordash_call(
        "/cancellation",
        json!({"cancel_reason": "KITCHEN_BUSY", "cancel_details": "The store is too busy"}),
        ResponseTemplate::new(202),
    )
    .expect(1)
    .mount(&server)
    .await;
    succeeds(
        &server,
        "cancel-1",
        Action::Cancel {
            reason: Reason::Busy,
            note: None,
        },
    )
    .await;
}

#[tokio::test]
async fn a_repeated_command_id_calls_doordash_once() {
    let server = MockServer::start().await;
    let body = json!({"cancel_reason": "OTHER", "cancel_details": "The customer asked to cancel"});
    doordash_call("/cancellation", body, ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server);
    let harness = CommandHarness::new();
    let cancel = doordash_command(
        "cancel-twice",
        Action::Cancel {
            reason: Reason::CustomerRequest,
            note: None,
        },
    );
    let first = harness
        .run(&connector, &cancel, 1, false)
        .await
        .expect("first");
    let second = harness
        .run(&connector, &cancel, 2, false)
        .await
        .expect("second");
    assert!(
        matches!(first, CommandProcessed::Reported { .. }),
        "{first:?}"
    );
    assert_eq!(second, CommandProcessed::Duplicate);
    assert_eq!(
        harness.groups().len(),
        2,
        "the stored result was sent again"
    );
    let event = only_result(&harness, "cancel-twice", CommandKind::Cancel);
    assert_eq!(event.event_type, EventType::CommandSucceeded);
}

/// With `confirm_by_command` a new order is answered 202 (DoorDash waits for the confirmation)
/// once it is queued, and its accept command confirms it; by default the answer stays 200.
#[tokio::test]
async fn with_confirm_by_command_a_new_order_is_answered_202_then_accepted() {
    let server = MockServer::start().await;
    doordash_call("", accepted(), ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let waiting: DoorDash = o2o_testkit::samples::dev_connector_with(&[
        ("api_base", json!(server.uri())),
        ("developer_id", json!(DEVELOPER_ID)),
        ("key_id", json!(KEY_ID)),
        ("signing_secret", json!(SIGNING_SECRET)),
        ("confirm_by_command", json!(true)),
    ]);
    let bytes = include_bytes!("../../../events/doordash/order-create.http");
    let mut req = parse_sample(bytes)
        .expect("sample")
        .into_request(Timestamp::now());
    waiting.sign(&mut req).expect("sign");

    let store = SqliteStore::in_memory().expect("SQLite");
    let pipeline = Pipeline::new(&store, &store, PipelineOptions::default());
    let handled = pipeline.ingest(&waiting, &req).await;
    assert_eq!(
        (handled.reply.status, handled.reply.body.as_str()),
        (202, "")
    );
    assert!(
        matches!(handled.outcome, Outcome::Accepted { .. }),
        "{:?}",
        handled.outcome
    );
    let queued = store.read(QueueName::Unified, 0, 10).await.expect("read");
    assert_eq!(queued.len(), 1, "the 202 came after the order was queued");
    let again = pipeline.ingest(&waiting, &req).await;
    assert_eq!(again.reply.status, 202, "a retry gets the same answer");

    let by_default: DoorDash = o2o_testkit::samples::dev_connector();
    assert_eq!(by_default.ack().status, 200);

    let accept = doordash_command("accept-after-202", Action::Accept { ready_by: None });
    let harness = CommandHarness::new();
    harness
        .run(&waiting, &accept, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "accept-after-202", CommandKind::Accept);
    assert_eq!(event.event_type, EventType::CommandSucceeded);
}
