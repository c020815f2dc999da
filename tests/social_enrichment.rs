//! Thin webhooks end to end through `o2o serve` (HTTP on 127.0.0.1, SQLite, the enrichment
//! worker): WeChat Channels shop, Douyin shop and TikTok Shop deliveries are acknowledged at
//! once, then enriched from a local mock of each platform's order API (wiremock, answering with
//! the documented response shapes kept in each connector's `tests/fixtures/`) and published as
//! full unified orders. The connectors' own tests check the signing of each API request and
//! every error answer; this one checks that the parts work together.

mod common;

use common::*;
use o2o_core::ports::QueueName;
use serde_json::Value;

/// Waits (at most 10 s) until the enrichment queue is empty; returns the unified events.
async fn enriched(server: &TestServer) -> Vec<Value> {
    settled(server)
        .await
        .0
        .iter()
        .map(|m| serde_json::from_str(m).expect("a unified event"))
        .collect()
}

#[tokio::test]
async fn thin_deliveries_are_acknowledged_then_enriched_into_full_orders() {
    let apis = platform_api_mocks().await;
    let channels = dev_channels_with_api_base(&apis.uri());
    let server = start(ServerSetup {
        channels,
        ..ServerSetup::default()
    })
    .await;

    // (channel, sample, ack, event type, order id, currency)
    let cases = [
        (
            "wechat-channels-shop",
            "order-new.http",
            "success",
            "order.created",
            "3722184519028736512",
            "CNY",
        ),
        (
            "douyin-shop",
            "trade-paid.http",
            r#"{"code":0,"msg":"success"}"#,
            "payment.succeeded",
            "4837328765348566675",
            "CNY",
        ),
        (
            "tiktok-shop",
            "order-status-awaiting-shipment.http",
            "",
            "payment.succeeded",
            "577801526983463123",
            "USD",
        ),
    ];
    for (channel, sample, ack, event_type, order_id, currency) in cases {
        let req = signed_request(channel, sample);
        assert_eq!(
            send(&server.webhook_url(channel), &req).await,
            (200, ack.to_owned()),
            "{channel}"
        );
        let events = enriched(&server).await;
        let event = events
            .iter()
            .find(|e| e["source"]["channel"] == channel)
            .unwrap_or_else(|| panic!("{channel}: no unified event in {events:?}"));
        assert_eq!(event["event_type"], event_type, "{channel}");
        let order = &event["order"];
        assert_eq!(
            order["external_id"], order_id,
            "{channel}: ids stay exact strings"
        );
        assert_eq!(order["currency"], currency, "{channel}");
        assert!(
            order["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty()),
            "{channel}: the enriched order has its items: {order}"
        );
        let total = &order["totals"]["total"];
        assert!(
            total["amount_minor"].is_i64(),
            "{channel}: exact total: {order}"
        );
        assert_eq!(total["currency"], currency, "{channel}");

        // The platform's redelivery is answered from the idempotency store; nothing is added.
        let before = events.len();
        assert_eq!(send(&server.webhook_url(channel), &req).await.0, 200);
        assert_eq!(
            enriched(&server).await.len(),
            before,
            "{channel} redelivered"
        );
    }
    assert!(
        messages(&server.store, QueueName::Quarantine)
            .await
            .is_empty()
    );
    // WeChat's access token was fetched once and cached.
    let token_requests = apis
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/cgi-bin/stable_token")
        .count();
    assert_eq!(token_requests, 1);
}
