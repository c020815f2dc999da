//! The `tiktok-shop` function binary end to end, as on AWS: a webhook through the Lambda Runtime
//! API (API Gateway event), its enrichment queue on moto, the SQS event back into the same
//! binary, Get Order Detail on a local mock (`fixtures/order-detail.json`), and the unified
//! queue. `scripts/test` starts moto.

use o2o_testkit::function::round_trip;
use o2o_tiktok_shop::TikTokShop;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_webhook_is_acknowledged_then_enriched_by_the_same_binary() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/order/202309/orders"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(include_str!("fixtures/order-detail.json")),
        )
        .mount(&api)
        .await;
    let table = json!({
        "app_key": "lambdae2eappkey",
        "secrets": ["lambda-e2e-app-secret"],
        "access_token": "lambda-e2e-access-token",
        "shop_cipher": "GCP_lambdaE2eCipher",
        "api_base": api.uri(),
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_tiktok-shop"),
        o2o_core::ConnectorEntry::of::<TikTokShop>(),
        include_bytes!("../../../events/tiktok-shop/order-status-awaiting-shipment.http"),
        &table,
        "",
        true,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "tiktok-shop");
    assert_eq!(event["order"]["external_id"], "577801526983463123");
    assert_eq!(event["order"]["totals"]["total"]["amount_minor"], 5828);
}
