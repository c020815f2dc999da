//! Enrichment of the thin order push (type 217) against local mocks of Ele.me's token endpoint
//! and API.
//!
//! The mocks answer only requests shaped as the official SDKs send them (PHP SDK 1.87.0,
//! `qfz9527/eleme-openapi-php-sdk` @ `ce01c36936a5075caeb5adfccdb586f8767edfae`,
//! `src/ElemeOpenApi/OAuth/OAuthClient.php` and `src/ElemeOpenApi/Protocol/RpcClient.php`): a
//! form-encoded client-credentials grant with `Authorization: Basic`; a JSON call whose
//! `signature` the mock recomputes itself. The order is the `message` of the type-10 sample (the
//! Java SDK's `JsonTest` order: `getOrder` returns the same `OOrder`). No error body of the API
//! was found in the sources: the `{"error": {"code", "message"}}` answers follow the SDKs'
//! `ErrorPayload`, and `BIZ_ORDER_NOT_EXIST` is an assumed business code.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{APP_KEY, SECRET, eleme_with, sample, signed};
use md5::{Digest, Md5};
use o2o_core::connector::NormaliseContext;
use o2o_core::event::{EventType, OrderStatus};
use o2o_core::{Connector, Currency, EnrichError, Money, Normalised, Timestamp};
use o2o_eleme::{Eleme, Thin};
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ORDER_ID: &str = "3012966986714717290";
const TOKEN: &str = "ed72bdaef7b635ecf9279147d76d6a55";
const NEWER_TOKEN: &str = "fc88f5a4c2b1a0d9e8f7a6b5c4d3e2f1";

/// The `OOrder` of the type-10 sample, as the text Ele.me wrote.
fn order_text() -> String {
    let req = sample("order-created.http");
    let envelope: Value = serde_json::from_slice(&req.body).expect("JSON");
    envelope["message"].as_str().expect("a string").to_owned()
}

fn answer(result: &str, error: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        format!(r#"{{"id":"x","result":{result},"error":{error}}}"#),
        "application/json",
    )
}

fn connector(server: &MockServer) -> Eleme {
    eleme_with(&[("api_base", json!(server.uri()))])
}

/// The token endpoint, answering `token` valid for `expires_in` seconds, up to `times` times.
async fn token_endpoint(server: &MockServer, token: &str, expires_in: u64, times: u64) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{APP_KEY}:{SECRET}"));
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
        })))
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

/// A `getOrder` call with `token`, signed as Ele.me checks it: recomputed here from the body.
struct SignedGetOrder {
    token: &'static str,
}

impl wiremock::Match for SignedGetOrder {
    fn matches(&self, request: &Request) -> bool {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return false;
        };
        let (Some(metas), Some(params)) = (body["metas"].as_object(), body["params"].as_object())
        else {
            return false;
        };
        // action + token + "k=json(v)" for metas and params by key + secret, MD5, upper hex.
        let mut pairs: Vec<String> = metas
            .iter()
            .chain(params.iter())
            .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
            .collect();
        pairs.sort();
        let mut md5 = Md5::new();
        md5.update(format!(
            "eleme.order.getOrder{}{}{SECRET}",
            self.token,
            pairs.concat()
        ));
        let expected = hex::encode_upper(md5.finalize());
        let now = Timestamp::now().unix_seconds();
        let id = body["id"].as_str().unwrap_or_default();
        let fresh = metas["timestamp"]
            .as_i64()
            .is_some_and(|t| (t - now).abs() < 60);
        body["signature"] == json!(expected)
            && body["nop"] == json!("1.0.0")
            && body["action"] == json!("eleme.order.getOrder")
            && body["token"] == json!(self.token)
            && metas["app_key"] == json!(APP_KEY)
            && params.len() == 1
            && params["orderId"] == json!(ORDER_ID)
            && fresh
            && id.split_once('|').is_some_and(|(hex, _)| hex.len() == 32)
            && request
                .headers
                .get("x-eleme-requestid")
                .and_then(|h| h.to_str().ok())
                == Some(id)
    }
}

fn get_order(token: &'static str, response: ResponseTemplate) -> Mock {
    Mock::given(method("POST"))
        .and(path("/api/v1"))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(SignedGetOrder { token })
        .respond_with(response)
}

fn thin() -> Thin {
    Thin {
        kind: 217,
        order_id: ORDER_ID.to_owned(),
        occurred_at: Timestamp::from_unix_seconds(1_506_507_130).expect("t"),
    }
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: Timestamp::from_unix_seconds(1_506_507_131).expect("t"),
    }
}

async fn enriched(connector: &Eleme) -> Result<Normalised<Thin>, EnrichError> {
    connector.enrich(thin(), &ctx()).await
}

#[tokio::test]
async fn the_thin_sample_becomes_the_fetched_order() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 2_592_000, 1).await;
    get_order(TOKEN, answer(&order_text(), "null"))
        .expect(1)
        .mount(&server)
        .await;
    let connector = connector(&server);

    let req = signed(&connector, sample("order-thin.http"));
    let (_, normalised) = o2o_testkit::samples::read(&connector, &req).expect("parses");
    let Ok(Normalised::Enrich(thin)) = normalised else {
        panic!("type 217 is thin: {normalised:?}");
    };
    let Ok(Normalised::Events(events)) = connector.enrich(thin, &ctx()).await else {
        panic!("enriched");
    };
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, EventType::OrderCreated);
    assert_eq!(
        event.occurred_at,
        Timestamp::parse_rfc3339("2017-09-27T10:12:10Z").expect("t")
    );
    let order = event.order.clone().expect("order");
    assert_eq!(order.external_id, ORDER_ID);
    assert_eq!(order.status, Some(OrderStatus::Placed));
    let cny = Currency::from_code("CNY").expect("CNY");
    assert_eq!(order.totals.total, Some(Money::from_minor(3970, cny)));
    assert_eq!(
        order.totals.merchant_receivable,
        Some(Money::from_minor(4020, cny))
    );
    assert_eq!(order.items.len(), 2);
    assert_eq!(
        order.customer.and_then(|c| c.phone).as_deref(),
        Some("18512177992")
    );
}

#[tokio::test]
async fn the_token_is_fetched_once_and_reused() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 2_592_000, 1).await;
    get_order(TOKEN, answer(&order_text(), "null"))
        .expect(2)
        .mount(&server)
        .await;
    let connector = connector(&server);
    for _ in 0..2 {
        let result = enriched(&connector).await;
        assert!(matches!(result, Ok(Normalised::Events(_))), "{result:?}");
    }
}

#[tokio::test]
async fn an_expiring_token_is_fetched_again() {
    let server = MockServer::start().await;
    // 60 s is inside the 5-minute margin: stale at once.
    token_endpoint(&server, TOKEN, 60, 2).await;
    get_order(TOKEN, answer(&order_text(), "null"))
        .expect(2)
        .mount(&server)
        .await;
    let connector = connector(&server);
    for _ in 0..2 {
        let result = enriched(&connector).await;
        assert!(matches!(result, Ok(Normalised::Events(_))), "{result:?}");
    }
}

#[tokio::test]
async fn an_unauthorised_token_is_refreshed_once() {
    for refused in [
        answer(
            "null",
            r#"{"code":"UNAUTHORIZED","message":"token is expired"}"#,
        ),
        ResponseTemplate::new(401),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server, TOKEN, 2_592_000, 1).await;
        token_endpoint(&server, NEWER_TOKEN, 2_592_000, 1).await;
        get_order(TOKEN, refused).expect(1).mount(&server).await;
        get_order(NEWER_TOKEN, answer(&order_text(), "null"))
            .expect(1)
            .mount(&server)
            .await;
        let result = enriched(&connector(&server)).await;
        assert!(matches!(result, Ok(Normalised::Events(_))), "{result:?}");
    }

    // Refused again after the refresh: ops must look; the delivery waits.
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 2_592_000, 2).await;
    get_order(
        TOKEN,
        answer("null", r#"{"code":"UNAUTHORIZED","message":"x"}"#),
    )
    .expect(2)
    .mount(&server)
    .await;
    let error = enriched(&connector(&server)).await.expect_err("refused");
    assert!(matches!(error, EnrichError::Transient(_)), "{error}");
}

#[tokio::test]
async fn server_errors_and_throttling_are_transient() {
    for response in [
        ResponseTemplate::new(500),
        ResponseTemplate::new(503),
        ResponseTemplate::new(429),
        answer("null", r#"{"code":"SERVER_ERROR","message":"x"}"#),
        answer("null", r#"{"code":"EXCEED_LIMIT","message":"x"}"#),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server, TOKEN, 2_592_000, 1).await;
        get_order(TOKEN, response).expect(1).mount(&server).await;
        let error = enriched(&connector(&server)).await.expect_err("fails");
        assert!(matches!(error, EnrichError::Transient(_)), "{error}");
    }
}

#[tokio::test]
async fn a_timeout_is_transient() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 2_592_000, 1).await;
    get_order(
        TOKEN,
        answer(&order_text(), "null").set_delay(Duration::from_secs(3)),
    )
    .mount(&server)
    .await;
    let connector = eleme_with(&[
        ("api_base", json!(server.uri())),
        ("api_timeout_ms", json!(300)),
    ]);
    let error = enriched(&connector).await.expect_err("times out");
    assert_eq!(
        error,
        EnrichError::Transient("eleme eleme.order.getOrder: timed out".into())
    );
}

#[tokio::test]
async fn a_missing_or_another_order_is_permanent() {
    let other = order_text().replace(ORDER_ID, "3012966986714717291");
    for response in [
        answer("null", "null"),
        answer(
            "null",
            r#"{"code":"BIZ_ORDER_NOT_EXIST","message":"订单不存在"}"#,
        ),
        answer("null", r#"{"code":"VALIDATION_FAILED","message":"x"}"#),
        answer(&other, "null"),
        answer(r#"{"id":"3012966986714717290","totalPrice":1.234}"#, "null"),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server, TOKEN, 2_592_000, 1).await;
        get_order(TOKEN, response).expect(1).mount(&server).await;
        let error = enriched(&connector(&server)).await.expect_err("fails");
        assert!(matches!(error, EnrichError::Permanent(_)), "{error}");
        assert!(!error.to_string().contains("订单不存在"), "{error}");
    }
}

#[tokio::test]
async fn refused_credentials_are_transient_and_never_echoed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "bad secret",
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let error = enriched(&connector(&server)).await.expect_err("refused");
    assert!(matches!(error, EnrichError::Transient(_)), "{error}");
    assert!(!error.to_string().contains(SECRET), "{error}");
}
