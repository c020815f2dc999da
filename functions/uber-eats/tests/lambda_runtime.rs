//! The `uber-eats` function binary end to end, as on AWS: a thin `orders.scheduled.notification`
//! through the Lambda Runtime API (API Gateway event), its enrichment queue on moto, the SQS
//! event back into the same binary, the token and `GET /v2/eats/order/{id}` on a local mock
//! (`fixtures/order-v2.json`), and the unified queue. `scripts/test` starts moto.

use o2o_testkit::function::round_trip;
use o2o_uber_eats::UberEats;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_thin_order_is_acknowledged_then_enriched_by_the_same_binary() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "lambda-e2e-token",
            "token_type": "Bearer",
            "expires_in": 2_592_000,
        })))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/eats/order/f9f363d1-e1c2-4595-b477-c649845bc953"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(include_str!("fixtures/order-v2.json")),
        )
        .expect(1)
        .mount(&api)
        .await;
    let table = json!({
        "secrets": ["lambda-e2e-signing-key"],
        "client_id": "lambda-e2e-client-id",
        "client_secret": "lambda-e2e-client-secret",
        "api_base": api.uri(),
        "auth_base": api.uri(),
    });
    let run = round_trip(
        env!("CARGO_BIN_EXE_uber-eats"),
        o2o_core::ConnectorEntry::of::<UberEats>(),
        include_bytes!("../../../events/uber-eats/orders-scheduled-notification.http"),
        &table,
        "",
        true,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["source"]["channel"], "uber-eats");
    assert_eq!(
        event["order"]["external_id"],
        "f9f363d1-e1c2-4595-b477-c649845bc953"
    );
}
