//! The `standard-webhooks` function binary end to end, as on AWS: a `payment.succeeded` webhook
//! through the Lambda Runtime API (API Gateway event) onto the unified queue on moto; the
//! redelivery adds nothing and a tampered copy is refused. `scripts/test` starts moto.

use o2o_standard_webhooks::StandardWebhooks;
use o2o_testkit::function::round_trip;
use serde_json::json;

#[tokio::test]
async fn a_payment_webhook_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "secrets": ["whsec_bGFtYmRhLWUyZS1zdGFuZGFyZC13ZWJob29rcy1rZXk="],
        "event_map": { "payment.succeeded": "payment.succeeded" },
        "order_ref_pointer": "/data/order_id",
        "payment_id_pointer": "/data/payment_id",
        "amount_pointer": "/data/amount",
        "amount_format": "minor",
        "currency_pointer": "/data/currency",
        "orders_channel": "shopify",
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_standard-webhooks"),
        o2o_core::ConnectorEntry::of::<StandardWebhooks>(),
        include_bytes!("../../../events/standard-webhooks/payment-succeeded.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "standard-webhooks");
    assert_eq!(event["source"]["topic"], "payment.succeeded");
    assert_eq!(
        event["source"]["external_event_id"],
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    );
    assert_eq!(event["payment"]["order_ref"], "1001");
    assert_eq!(event["payment"]["order_channel"], "shopify");
    assert_eq!(event["payment"]["amount"]["amount_minor"], 4999);
}
