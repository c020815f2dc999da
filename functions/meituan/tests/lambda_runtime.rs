//! The `meituan` function binary end to end, as on AWS: an order push to its own URL
//! (`/webhooks/meituan/order`) through the Lambda Runtime API (API Gateway event) onto the
//! unified queue on moto, answered `{"data":"ok"}`. `scripts/test` starts moto.

use o2o_meituan::{ACK, Meituan};
use o2o_testkit::function::round_trip;
use serde_json::json;

#[tokio::test]
async fn an_order_push_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "app_id": "1234",
        "secrets": ["lambda-e2e-app-secret"],
        "public_base_url": "https://hooks.example.com/prod",
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_meituan"),
        o2o_core::ConnectorEntry::of::<Meituan>(),
        include_bytes!("../../../events/meituan/order.http"),
        &table,
        ACK,
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(event["source"]["channel"], "meituan");
    assert_eq!(event["source"]["topic"], "order");
    assert_eq!(event["order"]["external_id"], "28983933726634026");
    assert_eq!(
        event["order"]["totals"]["merchant_receivable"]["amount_minor"],
        2628
    );
    assert!(
        !run.logs.contains("13812345678"),
        "the privacy number stays out of the logs"
    );
}
