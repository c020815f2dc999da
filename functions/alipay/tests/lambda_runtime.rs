//! The `alipay` function binary end to end, as on AWS: a TRADE_SUCCESS notification through the
//! Lambda Runtime API (API Gateway event) onto the unified queue on moto, answered with the
//! plain text `success`; the redelivery adds nothing and a tampered copy is refused.
//! `scripts/test` starts moto.

use o2o_alipay::{ACK, Alipay};
use o2o_testkit::function::round_trip;
use serde_json::json;

/// The bare base64 of a test key under `tests/keys/`.
fn key(pem: &str) -> String {
    pem.lines()
        .filter(|line| !line.starts_with("-----"))
        .collect()
}

#[tokio::test]
async fn a_payment_notification_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "app_id": "2014072300007148",
        "seller_id": "2088102146225135",
        "alipay_public_key": key(include_str!("keys/dev-public-key.pem")),
        "test_signing_key": key(include_str!("keys/dev-private-key.pem")),
        "orders_channel": "shopify",
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_alipay"),
        o2o_core::ConnectorEntry::of::<Alipay>(),
        include_bytes!("../../../events/alipay/trade-success.http"),
        &table,
        ACK,
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "alipay");
    assert_eq!(event["source"]["tenant"], "2014072300007148");
    assert_eq!(event["source"]["topic"], "trade_status_sync.TRADE_SUCCESS");
    assert_eq!(
        event["source"]["external_event_id"],
        "2025030100222120005077001234567890"
    );
    assert_eq!(event["payment"]["order_ref"], "1001");
    assert_eq!(event["payment"]["order_channel"], "shopify");
    assert_eq!(event["payment"]["amount"]["amount_minor"], 8880);
    assert_eq!(event["payment"]["amount"]["currency"], "CNY");
    assert!(!run.logs.contains("MIIE"), "no key material in the logs");
}
