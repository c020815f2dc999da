//! The `youzan` function binary end to end, as on AWS: a fat trade message through the Lambda
//! Runtime API (API Gateway event) straight onto the unified queue on moto. `scripts/test`
//! starts moto.

use o2o_testkit::function::round_trip;
use o2o_youzan::Youzan;
use serde_json::json;

#[tokio::test]
async fn a_trade_message_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "client_id": "6d1f4b2e8c7a9f3d15",
        "secrets": ["lambda-e2e-client-secret"],
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_youzan"),
        o2o_core::ConnectorEntry::of::<Youzan>(),
        include_bytes!("../../../events/youzan/trade-paid.http"),
        &table,
        r#"{"code":0,"msg":"success"}"#,
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "youzan");
    assert_eq!(event["order"]["currency"], "CNY");
}
