//! The `doordash` function binary end to end, as on AWS: a new Marketplace order, authenticated
//! by its registered token, through the Lambda Runtime API (API Gateway event) onto the unified
//! queue on moto; the 200 that accepts the order comes only once it is queued. `scripts/test`
//! starts moto.

use o2o_core::WebhookRequest;
use o2o_doordash::DoorDash;
use o2o_testkit::function::round_trip_with_forgery;
use serde_json::json;

#[tokio::test]
async fn a_new_order_is_acknowledged_and_published_by_the_binary() {
    let table = json!({ "secrets": ["lambda-e2e-webhook-token"], "currency": "USD" });
    // No MAC: a changed body still carries the token. The forgery is another token.
    let another_token = |mut req: WebhookRequest| {
        req.headers
            .set("Authorization", "Bearer not-the-registered-token");
        req
    };
    let run = round_trip_with_forgery(
        env!("CARGO_BIN_EXE_doordash"),
        o2o_core::ConnectorEntry::of::<DoorDash>(),
        include_bytes!("../../../events/doordash/order-create.http"),
        &table,
        "",
        false,
        another_token,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(event["source"]["channel"], "doordash");
    assert_eq!(event["order"]["currency"], "USD");
}
