//! The `razorpay` function binary end to end, as on AWS: a `payment.captured` webhook through the
//! Lambda Runtime API (API Gateway event) onto the unified queue on moto; the redelivery adds
//! nothing and a tampered copy is refused. `scripts/test` starts moto.

use o2o_razorpay::Razorpay;
use o2o_testkit::function::round_trip;
use serde_json::json;

#[tokio::test]
async fn a_captured_payment_is_acknowledged_and_published_by_the_binary() {
    let table = json!({ "secrets": ["lambda-e2e-webhook-secret"] });
    let run = round_trip(
        env!("CARGO_BIN_EXE_razorpay"),
        o2o_core::ConnectorEntry::of::<Razorpay>(),
        include_bytes!("../../../events/razorpay/payment-captured.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "razorpay");
    assert_eq!(event["source"]["tenant"], "acc_E7OQJcEANmBHTC");
    assert_eq!(event["source"]["topic"], "payment.captured");
    assert_eq!(event["source"]["external_event_id"], "FPoJKsOb7Jd1Fq");
    assert_eq!(event["payment"]["order_ref"], "1001");
    assert_eq!(event["payment"]["amount"]["amount_minor"], 500000);
    assert_eq!(event["payment"]["amount"]["currency"], "INR");
}
