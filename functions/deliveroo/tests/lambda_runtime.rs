//! The `deliveroo` function binary end to end, as on AWS: an `order.new` webhook through the
//! Lambda Runtime API (API Gateway event) onto the unified queue on moto. `scripts/test` starts
//! moto.

use o2o_deliveroo::Deliveroo;
use o2o_testkit::function::round_trip;
use serde_json::json;

#[tokio::test]
async fn an_order_webhook_is_acknowledged_and_published_by_the_binary() {
    let table = json!({ "secrets": ["lambda-e2e-webhook-secret"] });
    let run = round_trip(
        env!("CARGO_BIN_EXE_deliveroo"),
        o2o_core::ConnectorEntry::of::<Deliveroo>(),
        include_bytes!("../../../events/deliveroo/order-new.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(event["source"]["channel"], "deliveroo");
    assert_eq!(event["source"]["topic"], "order.new");
}
