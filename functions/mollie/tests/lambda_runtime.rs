//! The `mollie` function binary end to end, as on AWS, through the Lambda Runtime API (API
//! Gateway events) with its queues on moto (`scripts/test` starts moto):
//!
//! - a signed next-gen `payment.paid` with its snapshot, straight onto the unified queue
//!   (`round_trip`: its redelivery is a duplicate, a tampered copy is refused);
//! - classic webhooks, thin: acknowledged, put on the enrichment queue, then the SQS event back
//!   into the same binary fetches the payment from a local mock of the Payments API. A second
//!   post of the same payment is fetched again (by design: Mollie posts the same id on every
//!   change), a malformed id is refused with 400, and an id the API does not know is
//!   acknowledged and then quarantined by enrichment.

use o2o_core::WebhookRequest;
use o2o_core::sample::parse_sample;
use o2o_mollie::Mollie;
use o2o_testkit::function::{FunctionUnderTest, round_trip};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "test_lambda_e2e_mollie_api_key";
const SECRET: &str = "lambda-e2e-mollie-signing-secret";

#[tokio::test]
async fn a_signed_payment_event_is_acknowledged_and_published_by_the_binary() {
    // Nothing is fetched for a snapshot: the API must not be called.
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&api)
        .await;
    let table = json!({ "api_key": API_KEY, "secrets": [SECRET], "api_base": api.uri() });
    let run = round_trip(
        env!("CARGO_BIN_EXE_mollie"),
        o2o_core::ConnectorEntry::of::<Mollie>(),
        include_bytes!("../../../events/mollie/payment-paid.http"),
        &table,
        "",
        false,
    )
    .await;
    assert_eq!(run.events.len(), 1);
    let event = &run.events[0];
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["source"]["channel"], "mollie");
    assert_eq!(
        event["source"]["external_event_id"],
        "event_GvJ8WHrp5isUdRub9CJyH"
    );
    assert_eq!(event["payment"]["payment_id"], "tr_5B8cwPMGnU6qLbRvo7qEZo");
    assert_eq!(event["payment"]["order_ref"], "12345");
}

fn classic(id: &str) -> WebhookRequest {
    let mut req = parse_sample(include_bytes!("../../../events/mollie/classic-paid.http"))
        .expect("sample")
        .into_request(o2o_core::Timestamp::now());
    req.body = format!("id={id}").into_bytes();
    req
}

#[tokio::test]
async fn a_classic_webhook_is_acknowledged_then_fetched_by_the_same_binary() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/payments/tr_5B8cwPMGnU6qLbRvo7qEZo"))
        .and(query_param("embed", "refunds,chargebacks"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(include_str!("fixtures/tr_5B8cwPMGnU6qLbRvo7qEZo.json")),
        )
        .expect(2)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/payments/tr_nobodyPaidThis"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&api)
        .await;
    let table = json!({ "api_key": API_KEY, "secrets": [SECRET], "api_base": api.uri() });
    let function = FunctionUnderTest::spawn(
        env!("CARGO_BIN_EXE_mollie"),
        "mollie",
        "mollie-classic",
        &table.to_string(),
    )
    .await;
    let paid = classic("tr_5B8cwPMGnU6qLbRvo7qEZo");

    // Acknowledged with Mollie's empty 200, then enriched.
    assert_eq!(
        function.webhook("mollie", &paid).await,
        (200, String::new())
    );
    assert_eq!(function.depths().await, [0, 1, 0], "waits for enrichment");
    assert_eq!(function.run_enrichment().await, Vec::<String>::new());
    assert_eq!(function.depths().await, [1, 0, 0]);

    // The same id posted again is another change to look at: fetched again. The payment is
    // still paid: the same fact has the same event id, and the FIFO queue drops the repeat.
    assert_eq!(
        function.webhook("mollie", &paid).await,
        (200, String::new())
    );
    assert_eq!(function.depths().await, [1, 1, 0]);
    assert_eq!(function.run_enrichment().await, Vec::<String>::new());
    assert_eq!(function.depths().await, [1, 0, 0], "one event for one fact");

    // A malformed id is refused before anything is stored.
    for forged in [
        "id=tr_",
        "id=ord_kEn1PlbGa",
        "id=tr_5B8c%2F..%2Fv2",
        "nothing",
    ] {
        let mut req = paid.clone();
        req.body = forged.as_bytes().to_vec();
        let (status, reason) = function.webhook("mollie", &req).await;
        assert_eq!(status, 400, "{forged}: {reason}");
    }
    assert_eq!(function.depths().await, [1, 0, 0], "nothing added");

    // An id Mollie does not know (a forgery, or a payment of the other mode) is acknowledged,
    // then quarantined by enrichment: nothing is published.
    assert_eq!(
        function
            .webhook("mollie", &classic("tr_nobodyPaidThis"))
            .await,
        (200, String::new())
    );
    assert_eq!(function.run_enrichment().await, Vec::<String>::new());
    assert_eq!(function.depths().await, [1, 0, 1]);

    let events = function.take_unified_events().await;
    assert_eq!(events.len(), 1);
    for event in &events {
        assert_eq!(event["event_type"], "payment.succeeded");
        assert_eq!(event["source"]["topic"], "payment");
        assert_eq!(event["payment"]["payment_id"], "tr_5B8cwPMGnU6qLbRvo7qEZo");
        assert_eq!(event["occurred_at"], "2024-03-20T09:30:10Z");
    }
    let logs = function.stop().await;
    assert!(!logs.contains(API_KEY) && !logs.contains(SECRET));
}
