//! The `paypal` function binary end to end, as on AWS: a `PAYMENT.CAPTURE.COMPLETED` webhook
//! through the Lambda Runtime API (API Gateway event) onto the unified queue on moto, verified
//! against a test certificate configured up front (`certificates`), so nothing is downloaded.
//! `scripts/test` starts moto.

use o2o_paypal::PayPal;
use o2o_testkit::function::round_trip;
use serde_json::json;

const CERT_URL: &str = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-o2o-lambda";

#[tokio::test]
async fn a_capture_webhook_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "webhook_id": "8PT597110X687430LKGECATA",
        "trust_roots": [include_str!("keys/root-ca.pem")],
        "certificates": { CERT_URL: include_str!("keys/signer.pem") },
        "signing_key": include_str!("keys/signer.key"),
        "signing_cert_url": CERT_URL,
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_paypal"),
        o2o_core::ConnectorEntry::of::<PayPal>(),
        include_bytes!("../../../events/paypal/payment-capture-completed.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "paypal");
    assert_eq!(event["source"]["topic"], "PAYMENT.CAPTURE.COMPLETED");
    assert_eq!(
        event["source"]["external_event_id"],
        "WH-58D329510W468432D-8HN650336L201105X"
    );
    assert_eq!(event["payment"]["amount"]["amount_minor"], 2510);
    assert_eq!(event["payment"]["order_ref"], "1001");
}
