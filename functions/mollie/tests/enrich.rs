//! Enrichment against a local mock of Mollie's Payments API: what each answer of
//! `GET /v2/payments/{id}?embed=refunds,chargebacks` becomes, and which failures are worth a
//! retry (transient: the message stays on the enrichment queue) and which are not (permanent:
//! the delivery is quarantined).

use std::time::Duration;

use o2o_core::connector::NormaliseContext;
use o2o_core::event::EventType;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, EnrichError, Normalised, Timestamp};
use o2o_mollie::{Focus, Mollie, Settings, Thin};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "test_enrich_mollie_api_key";
const PAYMENT: &str = "tr_5B8cwPMGnU6qLbRvo7qEZo";

fn connector(server: &MockServer, timeout_ms: u64) -> Mollie {
    let table = json!({
        "api_key": API_KEY,
        "api_base": server.uri(),
        "api_timeout_ms": timeout_ms,
    });
    let table = table.as_object().cloned().unwrap_or_default();
    Mollie::build(parse_settings::<Settings>(&table, "channels.mollie").expect("settings"))
        .expect("builds")
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/tr_5B8cwPMGnU6qLbRvo7qEZo.json")).expect("JSON")
}

fn thin(focus: Focus) -> Thin {
    Thin {
        payment_id: PAYMENT.into(),
        focus,
    }
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: Timestamp::from_unix_seconds(1_764_172_800).expect("time"),
    }
}

/// What enriching `focus` answers when the API answers `response`.
async fn answer(response: ResponseTemplate, focus: Focus) -> Result<Normalised<Thin>, EnrichError> {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/payments/{PAYMENT}")))
        .and(query_param("embed", "refunds,chargebacks"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    connector(&server, 500).enrich(thin(focus), &ctx()).await
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn a_paid_payment_succeeds() {
    let Ok(Normalised::Events(events)) = answer(ok(fixture()), Focus::Everything).await else {
        panic!("events");
    };
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, EventType::PaymentSucceeded);
    // Only the status, for a next-gen payment event without its snapshot.
    let Ok(Normalised::Events(events)) = answer(ok(fixture()), Focus::Status).await else {
        panic!("events");
    };
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn a_payment_still_open_is_ignored() {
    let mut open = fixture();
    open["status"] = json!("open");
    assert_eq!(
        answer(ok(open), Focus::Everything).await,
        Ok(Normalised::Ignored(
            "payment status open has no event".into()
        ))
    );
}

#[tokio::test]
async fn a_refund_that_is_not_the_payments_is_permanent() {
    let answer = answer(ok(fixture()), Focus::Refund("re_unknown".into())).await;
    assert!(
        matches!(&answer, Err(EnrichError::Permanent(m)) if m.contains("refund")),
        "{answer:?}"
    );
}

#[tokio::test]
async fn an_unknown_payment_is_permanent_and_quarantined() {
    // Mollie's error body (docs.mollie.com `reference/handling-errors`).
    let not_found = ResponseTemplate::new(404).set_body_json(json!({
        "status": 404,
        "title": "Not Found",
        "detail": "No payment exists with token tr_5B8cwPMGnU6qLbRvo7qEZo.",
        "_links": {"documentation": {"href": "https://docs.mollie.com/overview/handling-errors", "type": "text/html"}}
    }));
    let answer = answer(not_found, Focus::Everything).await;
    assert_eq!(
        answer,
        Err(EnrichError::Permanent(
            "mollie payment: no such payment for this API key (HTTP 404)".into()
        ))
    );
}

#[tokio::test]
async fn a_refused_api_key_waits_for_ops_as_a_transient_failure() {
    for status in [401, 403] {
        let answer = answer(ResponseTemplate::new(status), Focus::Everything).await;
        assert!(
            matches!(&answer, Err(EnrichError::Transient(m)) if m.contains("api_key") && !m.contains(API_KEY)),
            "{status}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn server_errors_throttling_and_timeouts_are_transient() {
    for status in [500, 502, 503, 429, 408] {
        assert_eq!(
            answer(ResponseTemplate::new(status), Focus::Everything).await,
            Err(EnrichError::Transient(format!(
                "mollie payment: HTTP {status}"
            ))),
            "{status}"
        );
    }
    let slow = ok(fixture()).set_delay(Duration::from_millis(1500));
    assert_eq!(
        answer(slow, Focus::Everything).await,
        Err(EnrichError::Transient("mollie payment: timed out".into()))
    );
}

#[tokio::test]
async fn unreadable_or_foreign_answers_are_permanent_and_say_nothing_of_the_body() {
    let garbage =
        ResponseTemplate::new(200).set_body_string("<html>T. TEST NL91ABNA0417164300</html>");
    match answer(garbage, Focus::Everything).await {
        Err(EnrichError::Permanent(m)) => {
            assert!(
                m.starts_with("mollie payment: answer not understood"),
                "{m}"
            );
            assert!(!m.contains("NL91"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let mut other = fixture();
    other["id"] = json!("tr_someoneElse");
    assert_eq!(
        answer(ok(other), Focus::Everything).await,
        Err(EnrichError::Permanent(
            "mollie payment: answered for another payment".into()
        ))
    );
    let mut bad_amount = fixture();
    bad_amount["amount"]["value"] = json!("10.001");
    assert_eq!(
        answer(ok(bad_amount), Focus::Everything).await,
        Err(EnrichError::Permanent(
            "amount.value: more decimal places than EUR allows (2)".into()
        ))
    );
    assert_eq!(
        answer(ResponseTemplate::new(410), Focus::Everything).await,
        Err(EnrichError::Permanent(
            "mollie payment: unexpected answer (HTTP 410)".into()
        ))
    );
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let table = json!({ "api_key": API_KEY, "api_base": format!("http://127.0.0.1:{port}") });
    let table = table.as_object().cloned().unwrap_or_default();
    let connector =
        Mollie::build(parse_settings::<Settings>(&table, "channels.mollie").expect("settings"))
            .expect("builds");
    assert_eq!(
        connector.enrich(thin(Focus::Everything), &ctx()).await,
        Err(EnrichError::Transient(
            "mollie payment: could not connect".into()
        ))
    );
}
