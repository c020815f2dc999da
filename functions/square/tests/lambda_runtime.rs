//! The `square` function binary end to end, as on AWS: a completed `payment.updated` webhook
//! through the Lambda Runtime API (API Gateway event) onto the unified queue on moto; the
//! redelivery adds nothing and a tampered copy is refused. `scripts/test` starts moto.

use o2o_square::Square;
use o2o_testkit::function::round_trip;
use serde_json::json;

#[tokio::test]
async fn a_completed_payment_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "secrets": ["lambda-e2e-signature-key"],
        "notification_url": "https://edge.example.com/webhooks/square",
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_square"),
        o2o_core::ConnectorEntry::of::<Square>(),
        include_bytes!("../../../events/square/payment-updated-completed.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "square");
    assert_eq!(event["source"]["tenant"], "6SSW7HV8K2ST5");
    assert_eq!(event["source"]["topic"], "payment.updated");
    assert_eq!(
        event["source"]["external_event_id"],
        "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc"
    );
    assert_eq!(event["payment"]["order_ref"], "1001");
    assert_eq!(event["payment"]["amount"]["amount_minor"], 100);
    assert_eq!(event["payment"]["amount"]["currency"], "USD");
}
