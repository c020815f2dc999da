//! The `eleme` function binary end to end, as on AWS: a thin type-217 push through the Lambda
//! Runtime API (API Gateway event), its enrichment queue on moto, the SQS event back into the
//! same binary, the token and `eleme.order.getOrder` on a local mock (answering the order of the
//! type-10 sample), and the unified queue. `scripts/test` starts moto.

use o2o_eleme::Eleme;
use o2o_testkit::function::round_trip;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The `OOrder` of the type-10 sample, as Ele.me wrote it.
fn order_text() -> String {
    let sample = include_str!("../../../events/eleme/order-created.http");
    let (_, body) = sample.split_once("\n\n").expect("a sample");
    let push: Value = serde_json::from_str(body).expect("JSON");
    push["message"].as_str().expect("a string").to_owned()
}

#[tokio::test]
async fn a_thin_order_is_acknowledged_then_enriched_by_the_same_binary() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "lambda-e2e-token",
            "token_type": "Bearer",
            "expires_in": 86_400,
        })))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!(r#"{{"id":"e2e","result":{},"error":null}}"#, order_text()),
            "application/json",
        ))
        .expect(1)
        .mount(&api)
        .await;
    let table = json!({
        "app_id": "62933118",
        "app_key": "lambda-e2e-app-key",
        "secrets": ["lambda-e2e-app-secret"],
        "api_base": api.uri(),
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_eleme"),
        o2o_core::ConnectorEntry::of::<Eleme>(),
        include_bytes!("../../../events/eleme/order-thin.http"),
        &table,
        r#"{"message":"ok"}"#,
        true,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(event["source"]["channel"], "eleme");
    assert_eq!(event["order"]["external_id"], "3012966986714717290");
}
