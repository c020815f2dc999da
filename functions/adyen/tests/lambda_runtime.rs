//! The `adyen` function binary end to end, as on AWS: an `AUTHORISATION` webhook (with Basic
//! auth) through the Lambda Runtime API (API Gateway event) onto the unified queue on moto,
//! acknowledged with `[accepted]`. `scripts/test` starts moto.

use o2o_adyen::{ACK_BODY, Adyen};
use o2o_core::WebhookRequest;
use o2o_testkit::function::round_trip_with_forgery;
use serde_json::json;

/// The forged copy changes the amount, which the item's HMAC covers (the signature does not
/// cover every byte of the body, so the testkit's generic middle-byte change could land in an
/// unsigned field such as `eventDate`).
fn another_amount(mut req: WebhookRequest) -> WebhookRequest {
    let body = String::from_utf8_lossy(&req.body).into_owned();
    assert!(
        body.contains("\"value\":1130"),
        "the signed sample's amount"
    );
    req.body = body
        .replace("\"value\":1130", "\"value\":113000")
        .into_bytes();
    req
}

#[tokio::test]
async fn an_authorisation_is_acknowledged_and_published_by_the_binary() {
    let table = json!({
        "secrets": ["5A1E3C5F0B7D9A2C4E6F8A0B2C4D6E8F0A1B3C5D7E9F1A2B4C6D8E0F1A3B5C7D"],
        "merchant_account": "O2OCafeECOM",
        "basic_auth_username": "adyen-webhook",
        "basic_auth_password": "lambda-e2e-basic-auth-password",
    });
    let run = round_trip_with_forgery(
        env!("CARGO_BIN_EXE_adyen"),
        o2o_core::ConnectorEntry::of::<Adyen>(),
        include_bytes!("../../../events/adyen/authorisation-success.http"),
        &table,
        ACK_BODY,
        false,
        another_amount,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "adyen");
    assert_eq!(event["source"]["tenant"], "O2OCafeECOM");
    assert_eq!(event["source"]["topic"], "AUTHORISATION");
    assert_eq!(
        event["source"]["external_event_id"],
        "7914073381342284:AUTHORISATION:true"
    );
    assert_eq!(event["payment"]["order_ref"], "order-1001");
    assert_eq!(event["payment"]["amount"]["amount_minor"], 1130);
}
