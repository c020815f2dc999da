//! The `wechat-pay` function binary end to end, as on AWS: a payment notification, encrypted
//! and signed with the test platform key, through the Lambda Runtime API (API Gateway event) onto
//! the unified queue on moto; a copy with a changed body is refused. `scripts/test` starts moto.

use o2o_testkit::function::round_trip;
use o2o_wechat_pay::WeChatPay;
use serde_json::json;

const PUB_KEY_ID: &str = "PUB_KEY_ID_0000000000000000000000000000000001";

#[tokio::test]
async fn a_payment_notification_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "mch_id": "1230000109",
        "app_id": "wxd678efh567hg6787",
        "api_v3_key": "lambdaE2eApiV3Key000123456789abc",
        "platform_public_keys": {
            PUB_KEY_ID: include_str!("keys/test-platform-public-key.pem"),
        },
        "test_signing_key": include_str!("keys/test-platform-private-key.pem"),
        "test_signing_serial": PUB_KEY_ID,
        "orders_channel": "shopify",
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_wechat-pay"),
        o2o_core::ConnectorEntry::of::<WeChatPay>(),
        include_bytes!("../../../events/wechat-pay/transaction-success.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "wechat-pay");
    assert_eq!(event["source"]["topic"], "TRANSACTION.SUCCESS");
    assert_eq!(
        event["source"]["external_event_id"],
        "EV-2018022511223320873"
    );
    assert_eq!(
        event["payment"]["order_ref"],
        "1217752501201407033233368018"
    );
    assert_eq!(event["payment"]["order_channel"], "shopify");
    assert_eq!(event["payment"]["amount"]["amount_minor"], 8800);
    for secret in ["lambdaE2eApiV3Key000123456789abc", "PRIVATE KEY"] {
        assert!(!run.logs.contains(secret), "a credential is in the logs");
    }
}
