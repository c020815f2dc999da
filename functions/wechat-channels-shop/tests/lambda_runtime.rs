//! The `wechat-channels-shop` function binary end to end, as on AWS: a push through the Lambda
//! Runtime API (API Gateway event), its enrichment queue on moto, the SQS event back into the
//! same binary, the order API on a local mock (`fixtures/order-detail.json`), and the unified
//! queue. `scripts/test` starts moto.

use o2o_testkit::function::round_trip;
use o2o_wechat_channels_shop::WeChatChannelsShop;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_push_is_acknowledged_then_enriched_by_the_same_binary() {
    let api = MockServer::start().await;
    for (route, body) in [
        (
            "/cgi-bin/stable_token",
            r#"{"access_token":"lambda-e2e-token","expires_in":7200}"#,
        ),
        (
            "/channels/ec/order/get",
            include_str!("fixtures/order-detail.json"),
        ),
    ] {
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&api)
            .await;
    }
    let table = json!({
        "token": "lambdaE2eToken",
        "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "app_id": "wx5e3a9c7b1d2f4a60",
        "app_secret": "lambda-e2e-app-secret",
        "api_base": api.uri(),
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_wechat-channels-shop"),
        o2o_core::ConnectorEntry::of::<WeChatChannelsShop>(),
        include_bytes!("../../../events/wechat-channels-shop/order-new.http"),
        &table,
        "success",
        true,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(event["source"]["channel"], "wechat-channels-shop");
    assert_eq!(event["order"]["external_id"], "3722184519028736512");
    assert_eq!(event["order"]["currency"], "CNY");
    assert!(
        !run.logs.contains("lambda-e2e-token"),
        "the access token is never logged"
    );
}
