//! Order in → accept out, through `o2o serve` over real HTTP on 127.0.0.1: an Uber Eats order
//! notification arrives signed, is enriched from the (mocked) order API and queued as
//! `order.created`; the order system posts `accept` to `POST /commands`; the command worker calls
//! Uber's `accept_pos_order` on the mock with the cached token; `command.succeeded` joins the
//! order's message group on the unified queue. The path the README walks a person through.

mod common;

use std::time::Duration;

use common::*;
use o2o_core::ports::QueueName;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

/// The unified queue's events and their message groups, once there are `count` (10 s at most).
async fn unified(server: &TestServer, count: usize) -> Vec<(Value, String)> {
    for _ in 0..500 {
        let messages = server
            .store
            .read(QueueName::Unified, 0, 100)
            .await
            .expect("read");
        if messages.len() >= count {
            return messages
                .into_iter()
                .map(|m| {
                    let event = serde_json::from_str(&m.body).expect("an event");
                    (event, m.group_id.expect("a group"))
                })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{count} unified events did not arrive within 10 s");
}

#[tokio::test]
async fn an_uber_eats_order_arrives_and_is_accepted_through_post_commands() {
    let apis = platform_api_mocks().await;
    let server = start(ServerSetup {
        channels: dev_channels_with_api_base(&apis.uri()),
        ..ServerSetup::default()
    })
    .await;

    // 1. The order arrives (thin), and is enriched into order.created.
    let req = signed_request("uber-eats", "orders-notification.http");
    let (status, _) = send(&server.webhook_url("uber-eats"), &req).await;
    assert_eq!(status, 200);
    let events = unified(&server, 1).await;
    let (order, group) = &events[0];
    assert_eq!(order["event_type"], "order.created");
    let order_id = order["order"]["external_id"]
        .as_str()
        .expect("order id")
        .to_owned();
    let tenant = order["source"]["tenant"]
        .as_str()
        .expect("tenant")
        .to_owned();

    // 2. The order system accepts it; Uber's mock checks the call.
    // developer.uber.com docs/eats/references/api/v1/post-eats-order-orderid-acceptposorder
    Mock::given(method("POST"))
        .and(path(format!("/v1/eats/orders/{order_id}/accept_pos_order")))
        .and(header("authorization", "Bearer e2e-token"))
        .and(body_json(json!({"reason": "accepted"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&apis)
        .await;
    let command = json!({
        "schema_version": "1", "command_id": format!("accept-{order_id}"),
        "channel": "uber-eats", "tenant": tenant, "order": {"external_id": order_id},
        "kind": "accept", "requested_at": o2o_core::Timestamp::now().to_string(),
    });
    let response = reqwest::Client::new()
        .post(format!("{}/commands", server.base))
        .header("content-type", "application/json")
        .body(command.to_string())
        .send()
        .await
        .expect("post the command");
    assert_eq!(response.status().as_u16(), 202);

    // 3. The result follows the order, in its group.
    let events = unified(&server, 2).await;
    let (result, result_group) = &events[1];
    assert_eq!(result["event_type"], "command.succeeded");
    assert_eq!(result["command"]["command_id"], command["command_id"]);
    assert_eq!(result["command"]["kind"], "accept");
    assert_eq!(result["command"]["attempts"], 1);
    assert_eq!(result["order"]["external_id"], order_id.as_str());
    assert_eq!(
        result_group, group,
        "the result is in the order's message group"
    );
    apis.verify().await;
}
