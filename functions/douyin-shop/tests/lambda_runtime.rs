//! The `douyin-shop` function binary end to end, as on AWS: a push through the Lambda Runtime
//! API (API Gateway event), its enrichment queue on moto, the SQS event back into the same
//! binary, `order.orderDetail` on a local mock (`fixtures/order-detail.json`), and the unified
//! queue. `scripts/test` starts moto.

use o2o_douyin_shop::DouyinShop;
use o2o_testkit::function::round_trip;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_push_is_acknowledged_then_enriched_by_the_same_binary() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/order/orderDetail"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(include_str!("fixtures/order-detail.json")),
        )
        .mount(&api)
        .await;
    let table = json!({
        "app_key": "7000000000000000001",
        "secrets": ["lambda-e2e-app-secret"],
        "access_token": "lambda-e2e-access-token",
        "api_base": api.uri(),
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_douyin-shop"),
        o2o_core::ConnectorEntry::of::<DouyinShop>(),
        include_bytes!("../../../events/douyin-shop/trade-paid.http"),
        &table,
        r#"{"code":0,"msg":"success"}"#,
        true,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "douyin-shop");
    assert_eq!(event["order"]["external_id"], "4837328765348566675");
    assert_eq!(event["order"]["currency"], "CNY");
}
