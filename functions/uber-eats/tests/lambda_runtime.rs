//! The `uber-eats` function binary end to end, as on AWS: a thin `orders.scheduled.notification`
//! through the Lambda Runtime API (API Gateway event), its enrichment queue on moto, the SQS
//! event back into the same binary, the token and `GET /v2/eats/order/{id}` on a local mock
//! (`fixtures/order-v2.json`), and the unified queue. `scripts/test` starts moto.

use o2o_testkit::function::round_trip;
use o2o_uber_eats::UberEats;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_thin_order_is_acknowledged_then_enriched_by_the_same_binary() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "lambda-e2e-token",
            "token_type": "Bearer",
            "expires_in": 2_592_000,
        })))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/eats/order/f9f363d1-e1c2-4595-b477-c649845bc953"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(include_str!("fixtures/order-v2.json")),
        )
        .expect(1)
        .mount(&api)
        .await;
    let table = json!({
        "secrets": ["lambda-e2e-signing-key"],
        "client_id": "lambda-e2e-client-id",
        "client_secret": "lambda-e2e-client-secret",
        "api_base": api.uri(),
        "auth_base": api.uri(),
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_uber-eats"),
        o2o_core::ConnectorEntry::of::<UberEats>(),
        include_bytes!("../../../events/uber-eats/orders-scheduled-notification.http"),
        &table,
        "",
        true,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["source"]["channel"], "uber-eats");
    assert_eq!(
        event["order"]["external_id"],
        "f9f363d1-e1c2-4595-b477-c649845bc953"
    );
}

/// Order in → accept out on the `uber-eats` binary, as on AWS: the order notification through
/// API Gateway, enriched from its queue, `order.created` on the unified FIFO queue; then the order
/// system's `accept` on the channel's `-commands.fifo` queue, handed to the same binary as its
/// event source would, `accept_pos_order` on the mock, and `command.succeeded` on the unified
/// queue in the order's group. Sending the command again calls Uber no second time.
#[tokio::test]
async fn an_order_arrives_then_the_accept_command_reaches_uber_and_succeeds() {
    use o2o_core::command::Action;
    use o2o_testkit::function::FunctionUnderTest;
    use wiremock::matchers::{body_json, header};

    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "lambda-command-token", "token_type": "Bearer", "expires_in": 2_592_000,
        })))
        .mount(&api)
        .await;
    let order_id = "f9f363d1-e1c2-4595-b477-c649845bc953";
    Mock::given(method("GET"))
        .and(path(format!("/v2/eats/order/{order_id}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(include_str!("fixtures/order-v2.json")),
        )
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/eats/orders/{order_id}/accept_pos_order")))
        .and(header("authorization", "Bearer lambda-command-token"))
        .and(body_json(json!({"reason": "accepted"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&api)
        .await;
    let table = json!({
        "secrets": ["lambda-e2e-signing-key"], "client_id": "lambda-e2e-client-id",
        "client_secret": "lambda-e2e-client-secret", "api_base": api.uri(), "auth_base": api.uri(),
    });
    let settings = table.as_object().cloned().expect("a table");
    let entry = o2o_core::ConnectorEntry::of::<UberEats>();
    let instance = (entry.build)(&settings, "uber-eats").expect("builds");
    let req = o2o_core::sample::parse_sample(include_bytes!(
        "../../../events/uber-eats/orders-scheduled-notification.http"
    ))
    .expect("sample")
    .signed(instance.as_ref(), o2o_core::Timestamp::now())
    .expect("signed");
    let function = FunctionUnderTest::spawn(
        env!("CARGO_BIN_EXE_uber-eats"),
        "uber-eats",
        "uber-cmd",
        &table.to_string(),
    )
    .await;

    assert_eq!(function.webhook("uber-eats", &req).await.0, 200);
    assert!(function.run_enrichment().await.is_empty());
    let events = function.take_unified_events().await;
    assert_eq!(events[0]["event_type"], "order.created");
    let tenant = events[0]["source"]["tenant"]
        .as_str()
        .expect("tenant")
        .to_owned();

    let accept = o2o_testkit::commands::command(
        "accept-lambda-1",
        "uber-eats",
        &tenant,
        order_id,
        Action::Accept { ready_by: None },
    );
    let url = &function.resources.commands_queue_url;
    o2o_testkit::moto::send_command(&function.sdk, url, &accept).await;
    assert!(
        function.run_commands(1).await.is_empty(),
        "done, nothing to retry"
    );
    let results =
        o2o_testkit::moto::drain(&function.sdk, &function.resources.unified_queue_url).await;
    assert_eq!(results.len(), 1);
    let result: serde_json::Value = serde_json::from_str(&results[0].body).expect("json");
    assert_eq!(result["event_type"], "command.succeeded");
    assert_eq!(result["command"]["command_id"], "accept-lambda-1");
    assert_eq!(result["order"]["external_id"], order_id);
    assert_eq!(
        results[0].group_id.as_deref(),
        Some(format!("uber-eats:{tenant}:{order_id}").as_str()),
        "the order's group"
    );
    assert_eq!(
        results[0].attributes.get("event_type").map(String::as_str),
        Some("command.succeeded")
    );

    // The same command again under a new deduplication id (a resend after SQS's 5-minute
    // window): acknowledged with the stored result, and Uber is not called a second time.
    o2o_testkit::moto::send_command_as(&function.sdk, url, &accept, "accept-lambda-1-resent").await;
    assert!(function.run_commands(1).await.is_empty());
    let again = function.take_unified_events().await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0]["event_id"], result["event_id"],
        "the same result event"
    );
    let logs = function.stop().await;
    assert!(!logs.contains("lambda-e2e-client-secret"));
    api.verify().await;
}

/// A command Uber keeps answering 503: retried with a growing delay the function sets on the
/// message (it is not visible again at once), and on the last receive its retryable
/// `command.failed` is published before the queue dead-letters it.
#[tokio::test]
async fn a_failing_command_is_delayed_then_reported_on_its_last_receive() {
    use o2o_core::command::Action;
    use o2o_testkit::function::FunctionUnderTest;

    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "t", "token_type": "Bearer", "expires_in": 2_592_000,
        })))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/eats/orders/o-503/accept_pos_order"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&api)
        .await;
    let table = json!({
        "secrets": ["k"], "client_id": "id", "client_secret": "s",
        "api_base": api.uri(), "auth_base": api.uri(),
    });
    let function = FunctionUnderTest::spawn(
        env!("CARGO_BIN_EXE_uber-eats"),
        "uber-eats",
        "uber-503",
        &table.to_string(),
    )
    .await;
    let accept = o2o_testkit::commands::command(
        "accept-503",
        "uber-eats",
        "store-1",
        "o-503",
        Action::Accept { ready_by: None },
    );
    let url = function.resources.commands_queue_url.clone();
    o2o_testkit::moto::send_command(&function.sdk, &url, &accept).await;
    // First receive: a failure, and the message hidden for 10 s by the function.
    assert_eq!(function.run_commands(1).await.len(), 1);
    assert!(
        o2o_testkit::moto::receive_with_receipts(&function.sdk, &url, 0)
            .await
            .is_empty(),
        "the function delayed the retry"
    );
    assert_eq!(function.depths().await[0], 0, "nothing reported yet");
    // Another command on its fifth (last) receive, as the redrive policy counts: its retryable
    // failure is reported, and it is still handed back for the queue to dead-letter.
    let mut last = accept.clone();
    last.command_id = "accept-503-last".into();
    last.order.external_id = "o-503".into();
    last.tenant = "store-2".into();
    o2o_testkit::moto::send_command(&function.sdk, &url, &last).await;
    assert_eq!(function.run_commands(5).await.len(), 1);
    let events = function.take_unified_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event_type"], "command.failed");
    assert_eq!(events[0]["command"]["command_id"], "accept-503-last");
    assert_eq!(events[0]["command"]["attempts"], 5);
    assert_eq!(
        events[0]["command"]["error"]["code"],
        "platform_unavailable"
    );
    assert_eq!(events[0]["command"]["error"]["retryable"], true);
    api.verify().await;
    let _ = function.stop().await;
}
