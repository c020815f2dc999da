//! The `stripe` function binary end to end, as on AWS: a `payment_intent.succeeded` webhook
//! through the Lambda Runtime API (API Gateway event) onto the unified queue on moto; the empty
//! 200 Stripe expects comes only once it is queued. `scripts/test` starts moto.

use o2o_stripe::Stripe;
use o2o_testkit::function::round_trip;
use serde_json::json;

#[tokio::test]
async fn a_payment_webhook_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "secrets": ["whsec_lambda_e2e_endpoint_secret"],
        "orders_channel": "shopify",
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_stripe"),
        o2o_core::ConnectorEntry::of::<Stripe>(),
        include_bytes!("../../../events/stripe/payment-intent-succeeded.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "stripe");
    assert_eq!(event["source"]["topic"], "payment_intent.succeeded");
    assert_eq!(
        event["source"]["external_event_id"],
        "evt_3MtwBwLkdIwHu7ix2Zqk0Ta7"
    );
    assert_eq!(
        event["payment"]["payment_id"],
        "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    );
    assert_eq!(event["payment"]["order_ref"], "450789469");
    assert_eq!(event["payment"]["order_channel"], "shopify");
    assert_eq!(
        event["payment"]["amount"],
        json!({ "amount_minor": 2000, "currency": "USD" })
    );
}
