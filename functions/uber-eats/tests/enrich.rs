//! Enrichment against local mocks of Uber's OAuth token endpoint and order API.
//!
//! The token answer is the verbatim example of developer.uber.com `docs/eats/guides/authentication`
//! (its `access_token` shortened); the order is `tests/fixtures/order-v2.json`, Uber's sample of
//! `docs/eats/references/api/v2/get-eats-order-orderid` (ids, store, amounts, times) made valid
//! JSON (the published sample has trailing commas) with its cut parts completed. The mocks
//! answer only requests shaped as those pages document: a form-encoded client-credentials grant
//! with the app's id, secret and scope; a GET with `Authorization: Bearer <token>`.

use o2o_core::connector::NormaliseContext;
use o2o_core::event::{
    Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, OrderStatus, Totals,
};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Currency, EnrichError, Money, Normalised, Timestamp};
use o2o_uber_eats::{Thin, UberEats};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORDER_ID: &str = "f9f363d1-e1c2-4595-b477-c649845bc953";
const TOKEN: &str = "KA.ewogICJ2ZXJzaW9uIjogMgp9.9jPtNyS9vHJ9HVmxA4Y6vw";
const CLIENT_ID: &str = "dev-uber-client-id";

fn order_json() -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/order-v2.json"),
    )
    .expect("fixture");
    serde_json::from_str(&text).expect("the fixture is JSON")
}

/// The connector of `o2o.toml`, with both Uber hosts at `server`.
fn connector(server: &MockServer) -> UberEats {
    o2o_testkit::samples::dev_connector_with(&[
        ("api_base", json!(server.uri())),
        ("auth_base", json!(server.uri())),
    ])
}

/// The documented token answer, as many times as `times` says.
async fn token_endpoint(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .and(body_string_contains("client_secret=dev-uber-client-secret"))
        .and(body_string_contains("scope=eats.order"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN,
            "expires_in": 2_592_000,
            "token_type": "Bearer",
            "scope": "eats.order",
            "refresh_token": ""
        })))
        .expect(times)
        .mount(server)
        .await;
}

fn order_endpoint(status: u16, body: Option<Value>) -> Mock {
    let mut response = ResponseTemplate::new(status);
    if let Some(body) = body {
        response = response.set_body_json(body);
    }
    Mock::given(method("GET"))
        .and(path(format!("/v2/eats/order/{ORDER_ID}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(response)
}

fn thin(event_type: &str) -> Thin {
    Thin {
        event_type: event_type.to_owned(),
        order_id: ORDER_ID.to_owned(),
        occurred_at: Timestamp::from_unix_seconds(1_729_651_095).expect("time"),
        resource_href: Some(format!("https://api.uber.com/v2/eats/order/{ORDER_ID}")),
    }
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: Timestamp::from_unix_seconds(1_729_651_100).expect("time"),
    }
}

fn usd(cents: i64) -> Option<Money> {
    Some(Money::from_minor(
        cents,
        Currency::from_code("USD").expect("USD"),
    ))
}

#[tokio::test]
async fn the_scheduled_sample_is_thin_and_becomes_the_fetched_order() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    order_endpoint(200, Some(order_json()))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server);

    // The webhook names the order.
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/uber-eats/orders-scheduled-notification.http"),
    )
    .expect("sample");
    let mut req = parse_sample(&bytes)
        .expect("sample")
        .into_request(ctx().received_at);
    connector.sign(&mut req).expect("sign");
    let (id, normalised) = o2o_testkit::samples::read(&connector, &req).expect("parses");
    assert_eq!(id.tenant, "c7f1dc2f-fabe-4997-845c-cad26fdcb894");
    assert_eq!(id.external_event_id, "9d3a8f2e-5b7c-4d1e-a6f0-3c2b1a0f9e8d");
    let Ok(Normalised::Enrich(thin)) = normalised else {
        panic!("a new order is thin: {normalised:?}");
    };
    assert_eq!(thin.order_id, ORDER_ID);
    // 1729651095000 ms.
    assert_eq!(
        thin.occurred_at,
        Timestamp::from_unix_seconds(1_729_651_095).expect("t")
    );

    let Ok(Normalised::Events(events)) = connector.enrich(thin, &ctx()).await else {
        panic!("enriched");
    };
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, EventType::OrderCreated);
    // placed_at 2019-05-14T15:16:54-05:00.
    assert_eq!(
        event.occurred_at,
        Timestamp::parse_rfc3339("2019-05-14T20:16:54Z").expect("t")
    );
    assert_eq!(event.status.as_deref(), Some("CREATED"));
    let order = event.order.clone().expect("order");
    assert_eq!(order.external_id, ORDER_ID);
    assert_eq!(order.display_id.as_deref(), Some("BC953"));
    assert_eq!(order.status, Some(OrderStatus::Placed));
    assert_eq!(
        order.totals,
        Totals {
            subtotal: usd(650),
            tax: usd(52),
            service_fee: usd(697),
            // 6.50 + 0.52 + 6.97.
            total: usd(1399),
            ..Totals::default()
        }
    );
    assert_eq!(
        order.items,
        vec![
            Item {
                external_id: Some("Muffin-Instance".into()),
                sku: Some("Muffin".into()),
                name: "Fresh-baked muffin".into(),
                quantity: 1,
                unit_price: usd(350),
                total: usd(350),
                note: Some("Warm it up".into()),
                ..Item::default()
            },
            Item {
                external_id: Some("Coffee-Instance".into()),
                sku: Some("Coffee".into()),
                name: "Coffee".into(),
                quantity: 1,
                unit_price: usd(250),
                // 2.50 and the oat milk's 0.50.
                total: usd(300),
                modifiers: vec![Modifier {
                    name: "Add-ons: Oat milk".into(),
                    quantity: Some(1),
                    price: usd(50),
                }],
                ..Item::default()
            },
        ]
    );
    assert_eq!(
        order.customer,
        Some(Customer {
            name: Some("Larry S".into()),
            phone: Some("+1 800-555-0100,123 45 678".into()),
            email: None,
        })
    );
    assert_eq!(
        order.fulfilment,
        Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            ..Fulfilment::default()
        })
    );
    assert_eq!(order.note.as_deref(), Some("No straws"));
}

#[tokio::test]
async fn the_token_is_fetched_once_and_reused() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    order_endpoint(200, Some(order_json()))
        .expect(3)
        .mount(&server)
        .await;
    let connector = connector(&server);
    for event_type in ["orders.notification", "orders.fulfillment_issues.resolved"] {
        let enriched = connector.enrich(thin(event_type), &ctx()).await;
        assert!(
            matches!(enriched, Ok(Normalised::Events(_))),
            "{enriched:?}"
        );
    }
    let Ok(Normalised::Events(events)) = connector
        .enrich(thin("orders.customer_order_edit"), &ctx())
        .await
    else {
        panic!("enriched");
    };
    assert_eq!(events[0].event_type, EventType::OrderUpdated);
    assert_eq!(
        events[0].occurred_at,
        thin("x").occurred_at,
        "the webhook's time"
    );
}

/// `marketplace_fee_due_to_uber`, which the fixture (Uber's sample) leaves out, is what Uber
/// charges the merchant: the order's `commission`.
#[tokio::test]
async fn the_marketplace_fee_is_the_commission() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    let mut order = order_json();
    order["payment"]["charges"]["marketplace_fee_due_to_uber"] =
        json!({"amount": 412, "currency_code": "USD", "formatted_amount": "$4.12"});
    order_endpoint(200, Some(order)).mount(&server).await;
    let Ok(Normalised::Events(events)) = connector(&server)
        .enrich(thin("orders.notification"), &ctx())
        .await
    else {
        panic!("enriched");
    };
    let totals = &events[0].order.as_ref().expect("an order").totals;
    assert_eq!(totals.commission, usd(412));
    assert_eq!(totals.total, usd(1399), "the customer's total is unchanged");
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once() {
    let server = MockServer::start().await;
    token_endpoint(&server, 2).await;
    order_endpoint(401, None)
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    order_endpoint(200, Some(order_json()))
        .expect(1)
        .mount(&server)
        .await;
    let enriched = connector(&server)
        .enrich(thin("orders.notification"), &ctx())
        .await;
    assert!(
        matches!(enriched, Ok(Normalised::Events(_))),
        "{enriched:?}"
    );
}

#[tokio::test]
async fn answers_are_sorted_into_transient_and_permanent() {
    for (status, transient) in [
        (404, false),
        (500, true),
        (503, true),
        (429, true),
        (403, true),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server, 1).await;
        order_endpoint(status, Some(json!({"code": "x", "message": "y"})))
            .mount(&server)
            .await;
        let error = connector(&server)
            .enrich(thin("orders.notification"), &ctx())
            .await
            .expect_err("fails");
        assert_eq!(
            matches!(error, EnrichError::Transient(_)),
            transient,
            "HTTP {status}: {error}"
        );
    }
    // Twice 401: the credentials need ops, the delivery waits (transient).
    let server = MockServer::start().await;
    token_endpoint(&server, 2).await;
    order_endpoint(401, None).mount(&server).await;
    let error = connector(&server)
        .enrich(thin("orders.notification"), &ctx())
        .await
        .expect_err("refused");
    assert!(matches!(error, EnrichError::Transient(_)), "{error}");
}

#[tokio::test]
async fn a_bad_answer_or_another_order_is_permanent() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    let mut other = order_json();
    other["id"] = json!("another-order");
    order_endpoint(200, Some(other)).mount(&server).await;
    let error = connector(&server)
        .enrich(thin("orders.notification"), &ctx())
        .await
        .expect_err("another order");
    assert!(matches!(error, EnrichError::Permanent(_)), "{error}");

    // A fractional amount (Uber's own sample has one) is not read as money.
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    let mut fractional = order_json();
    fractional["payment"]["charges"]["tax"]["amount"] = json!(3.27);
    order_endpoint(200, Some(fractional)).mount(&server).await;
    let error = connector(&server)
        .enrich(thin("orders.notification"), &ctx())
        .await
        .expect_err("a float");
    assert!(matches!(error, EnrichError::Permanent(_)), "{error}");
}

#[tokio::test]
async fn the_token_endpoint_refusing_the_credentials_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .expect(1)
        .mount(&server)
        .await;
    order_endpoint(200, Some(order_json()))
        .expect(0)
        .mount(&server)
        .await;
    let error = connector(&server)
        .enrich(thin("orders.notification"), &ctx())
        .await
        .expect_err("refused");
    assert!(matches!(error, EnrichError::Transient(_)), "{error}");
    assert!(!error.to_string().contains("dev-uber-client-secret"));
}

#[tokio::test]
async fn a_store_on_the_order_api_suite_is_quarantined_without_a_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let mut suite = thin("orders.notification");
    suite.resource_href = Some(format!("https://api.uber.com/v1/delivery/order/{ORDER_ID}"));
    let error = connector(&server)
        .enrich(suite, &ctx())
        .await
        .expect_err("not read yet");
    assert!(matches!(error, EnrichError::Permanent(_)), "{error}");
}
