//! Enrichment against a local mock of Get Order Detail 202309.
//!
//! The answers are shaped from the documented response example of
//! <https://partner.tiktokshop.com/docv2/page/get-order-detail-202309> (field set and types, as
//! in the TikTok Shop Node.js SDK models), with made-up customer data. The mock only answers a request
//! that is signed and authorised as <https://partner.tiktokshop.com/docv2/page/sign-your-api-request>
//! documents: query `app_key`, `timestamp`, `shop_cipher`, `ids`, `sign`; header
//! `x-tts-access-token`. The expected `sign` is recomputed here from the request as received,
//! independently of the connector's code.

mod common;

use std::time::Duration;

use common::order_detail::{ORDER_A, ORDER_B, expected_order_a, order_a, order_b, text, usd};
use common::{
    ACCESS_TOKEN, APP_KEY, APP_SECRET, SHOP_CIPHER, build, connector, received_at, settings,
    signed_sample, table,
};
use o2o_core::connector::{EventDraft, NormaliseContext};
use o2o_core::event::{
    Address, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus,
    Payment, Refund, Totals,
};
use o2o_core::signature::hmac_sha256;
use o2o_core::{Connector, ConnectorEntry, Currency, EnrichError, Normalised, Timestamp};
use o2o_enrich::ApiSettings;
use o2o_tiktok_shop::api::ORDER_DETAIL_PATH;
use o2o_tiktok_shop::{Thin, TikTokShop};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// Recomputes `sign` from the request TikTok would receive, and checks the timestamp is fresh
/// (TikTok refuses one more than 5 minutes off) and the token is not in the query.
struct SignedAsDocumented;

impl Match for SignedAsDocumented {
    fn matches(&self, request: &Request) -> bool {
        let mut pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let Some(given) = pairs
            .iter()
            .find(|(k, _)| k == "sign")
            .map(|(_, v)| v.clone())
        else {
            return false;
        };
        if pairs.iter().any(|(k, _)| k == "access_token") {
            return false;
        }
        pairs.retain(|(k, _)| k != "sign");
        pairs.sort();
        let mut base = format!("{APP_SECRET}{}", request.url.path());
        for (k, v) in &pairs {
            base.push_str(k);
            base.push_str(v);
        }
        base.push_str(&String::from_utf8_lossy(&request.body));
        base.push_str(APP_SECRET);
        let expected = hex::encode(hmac_sha256(APP_SECRET.as_bytes(), &[base.as_bytes()]));
        let fresh = pairs
            .iter()
            .find(|(k, _)| k == "timestamp")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .is_some_and(|t| (Timestamp::now().unix_seconds() - t).abs() <= 300);
        given == expected && fresh
    }
}

/// A mock accepting only a correctly signed Get Order Detail request for `order_id`.
fn order_detail(order_id: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(ORDER_DETAIL_PATH))
        .and(query_param("app_key", APP_KEY))
        .and(query_param("shop_cipher", SHOP_CIPHER))
        .and(query_param("ids", order_id))
        .and(header("x-tts-access-token", ACCESS_TOKEN))
        .and(header("content-type", "application/json"))
        .and(SignedAsDocumented)
}

fn success(orders: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "code": 0,
        "message": "Success",
        "request_id": "202511141042070101890810281E8C70B7",
        "data": { "orders": orders }
    }))
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: received_at(),
    }
}

/// What sample `sample` finally becomes, as the pipeline and the enrichment consumer process it:
/// parsed and normalised from its payload, and a thin reading enriched by `connector`.
async fn enrich(sample: &str, connector: &TikTokShop) -> Result<Normalised<Thin>, EnrichError> {
    let req = signed_sample(sample);
    let (_, normalised) = o2o_testkit::samples::read(connector, &req).expect("parse");
    match normalised.expect("normalise") {
        Normalised::Enrich(thin) => connector.enrich(thin, &ctx()).await,
        other => Ok(other),
    }
}

fn one_event(result: Result<Normalised<Thin>, EnrichError>) -> EventDraft {
    match result {
        Ok(Normalised::Events(events)) => match events.as_slice() {
            [event] => event.clone(),
            more => panic!("expected one event, got {}", more.len()),
        },
        other => panic!("expected events, got {other:?}"),
    }
}

fn assert_order(actual: &Order, expected: &Order) {
    assert_eq!(
        actual.external_id, expected.external_id,
        "order.external_id"
    );
    assert_eq!(actual.display_id, expected.display_id, "order.display_id");
    assert_eq!(actual.status, expected.status, "order.status");
    assert_eq!(actual.version, expected.version, "order.version");
    assert_eq!(actual.currency, expected.currency, "order.currency");
    assert_eq!(actual.totals, expected.totals, "order.totals");
    assert_eq!(actual.presentment_totals, expected.presentment_totals);
    assert_eq!(actual.items.len(), expected.items.len(), "number of items");
    for (i, (a, e)) in actual.items.iter().zip(&expected.items).enumerate() {
        assert_eq!(a, e, "order.items[{i}]");
    }
    assert_eq!(actual.customer, expected.customer, "order.customer");
    assert_eq!(actual.fulfilment, expected.fulfilment, "order.fulfilment");
    assert_eq!(actual.payments, expected.payments, "order.payments");
    assert_eq!(actual.note, expected.note, "order.note");
}

#[tokio::test]
async fn awaiting_shipment_becomes_payment_succeeded_with_the_full_order() {
    let server = MockServer::start().await;
    order_detail(ORDER_A)
        .respond_with(success(vec![order_a("AWAITING_SHIPMENT")]))
        .expect(1)
        .mount(&server)
        .await;
    let event = one_event(
        enrich(
            "order-status-awaiting-shipment.http",
            &connector(Some(&server.uri())),
        )
        .await,
    );
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    // data.update_time 1763118660 = 2025-11-14T11:11:00Z
    assert_eq!(event.occurred_at.to_string(), "2025-11-14T11:11:00Z");
    assert_eq!(event.status.as_deref(), Some("AWAITING_SHIPMENT"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "tiktok-shop".into(),
            payment_id: None,
            order_ref: text(ORDER_A),
            amount: Some(usd(5828)),
            status: text("AWAITING_SHIPMENT"),
            method: text("Credit/Debit Card"),
            failure_reason: None,
            ..Payment::default()
        })
    );
    assert_eq!(event.refund, None);
    let order = event.order.expect("the order");
    // Above 2^53 (9007199254740992): every digit kept.
    assert_eq!(order.external_id, "577801526983463123");
    assert_order(&order, &expected_order_a(Some(OrderStatus::Placed)));
}

#[tokio::test]
async fn every_order_status_sample_maps_to_its_event() {
    // (sample, status the API reports, event type, unified status, occurred_at = data.update_time)
    let cases = [
        (
            "order-status-unpaid.http",
            "UNPAID",
            EventType::OrderCreated,
            OrderStatus::PendingPayment,
            "2025-11-14T10:40:00Z",
        ),
        (
            "order-status-on-hold.http",
            "ON_HOLD",
            EventType::OrderUpdated,
            OrderStatus::Placed,
            "2025-11-14T10:41:00Z",
        ),
        (
            "order-status-awaiting-collection.http",
            "AWAITING_COLLECTION",
            EventType::FulfilmentUpdated,
            OrderStatus::Ready,
            "2025-11-14T17:00:00Z",
        ),
        (
            "order-status-in-transit.http",
            "IN_TRANSIT",
            EventType::FulfilmentUpdated,
            OrderStatus::OutForDelivery,
            "2025-11-14T19:00:00Z",
        ),
        (
            "order-status-delivered.http",
            "DELIVERED",
            EventType::OrderCompleted,
            OrderStatus::Completed,
            "2025-11-17T16:00:00Z",
        ),
        (
            "order-status-completed.http",
            "COMPLETED",
            EventType::OrderCompleted,
            OrderStatus::Completed,
            "2025-11-24T16:00:00Z",
        ),
    ];
    for (sample, status, event_type, unified, occurred) in cases {
        let server = MockServer::start().await;
        order_detail(ORDER_A)
            .respond_with(success(vec![order_a(status)]))
            .expect(1)
            .mount(&server)
            .await;
        let event = one_event(enrich(sample, &connector(Some(&server.uri()))).await);
        assert_eq!(event.event_type, event_type, "{sample}");
        assert_eq!(event.status.as_deref(), Some(status), "{sample}");
        assert_eq!(event.occurred_at.to_string(), occurred, "{sample}");
        assert_eq!((event.payment, event.refund), (None, None), "{sample}");
        assert_order(
            &event.order.expect("order"),
            &expected_order_a(Some(unified)),
        );
    }
}

/// Order B through both of its cancellation webhooks: the order-status `CANCEL` and the
/// cancellation-status `CANCELLATION_REQUEST_SUCCESS`.
#[tokio::test]
async fn cancellations_become_order_cancelled() {
    let expected = Order {
        external_id: ORDER_B.into(),
        status: Some(OrderStatus::Cancelled),
        version: text("1763125200"),
        currency: Some(Currency::from_code("USD").expect("USD")),
        totals: Totals {
            // No original_total_product_price: sub_total, no discount stated.
            subtotal: Some(usd(1699)),
            discount: None,
            tax: Some(usd(136)),
            delivery_fee: Some(usd(799)),
            service_fee: None,
            tip: None,
            total: Some(usd(2634)),
            ..Totals::default()
        },
        items: vec![Item {
            external_id: text("577801530011253406"),
            sku: text("CST-WAL-4"),
            name: "Walnut Coaster Set (4)".into(),
            quantity: 1,
            unit_price: Some(usd(1699)),
            total: Some(usd(1699)),
            modifiers: vec![Modifier {
                name: "Default".into(),
                quantity: None,
                price: None,
            }],
            note: None,
        }],
        customer: Some(Customer {
            name: None,
            phone: None,
            email: text("v2c9Lm3Zt@scs.tiktokw.us"),
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Shipping),
            address: Some(Address {
                name: text("Sam Rivera"),
                phone: text("(+1)408-***-5521"),
                // No address lines: the full address as one line; no city/state level given.
                lines: vec!["1199 Coleman Ave, San Jose, CA 95110".into()],
                city: None,
                region: None,
                postal_code: text("95110"),
                country_code: text("US"),
            }),
            scheduled_for: None,
            courier: None,
            status: None,
        }),
        // Never paid: no payment line; an empty buyer_message is no note.
        payments: vec![],
        note: None,
        ..Order::default()
    };
    for (sample, status, occurred) in [
        // data.update_time 1763125200
        ("order-status-cancel.http", "CANCEL", "2025-11-14T13:00:00Z"),
        // the push timestamp 1763125201 (the data's create_time is the request, 12:00)
        (
            "cancellation-status-success.http",
            "CANCELLATION_REQUEST_SUCCESS",
            "2025-11-14T13:00:01Z",
        ),
    ] {
        let server = MockServer::start().await;
        order_detail(ORDER_B)
            .respond_with(success(vec![order_b()]))
            .expect(1)
            .mount(&server)
            .await;
        let event = one_event(enrich(sample, &connector(Some(&server.uri()))).await);
        assert_eq!(event.event_type, EventType::OrderCancelled, "{sample}");
        assert_eq!(event.status.as_deref(), Some(status), "{sample}");
        assert_eq!(event.occurred_at.to_string(), occurred, "{sample}");
        assert_eq!((event.payment, event.refund), (None, None), "{sample}");
        assert_order(&event.order.expect("order"), &expected);
    }
}

#[tokio::test]
async fn a_completed_return_becomes_order_refunded() {
    let server = MockServer::start().await;
    order_detail(ORDER_A)
        .respond_with(success(vec![order_a("COMPLETED")]))
        .expect(1)
        .mount(&server)
        .await;
    let event = one_event(
        enrich(
            "return-status-complete.http",
            &connector(Some(&server.uri())),
        )
        .await,
    );
    assert_eq!(event.event_type, EventType::OrderRefunded);
    assert_eq!(
        event.status.as_deref(),
        Some("RETURN_OR_REFUND_REQUEST_COMPLETE")
    );
    // data.update_time 1764700800
    assert_eq!(event.occurred_at.to_string(), "2025-12-02T18:40:00Z");
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: text("4035318504086655678"),
            // The webhook states no amount; Get Order Detail has none either.
            amount: None,
            reason: None,
            items: vec![],
        })
    );
    assert_eq!(event.payment, None);
    assert_order(
        &event.order.expect("order"),
        &expected_order_a(Some(OrderStatus::Completed)),
    );
}

#[tokio::test]
async fn an_unmapped_type_is_ignored_without_calling_the_api() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(success(vec![]))
        .expect(0)
        .mount(&server)
        .await;
    let result = enrich(
        "seller-deauthorization.http",
        &connector(Some(&server.uri())),
    )
    .await;
    assert_eq!(
        result,
        Ok(Normalised::Ignored("type 6 is not mapped".into()))
    );
}

#[tokio::test]
async fn an_order_the_api_does_not_return_is_permanent() {
    let server = MockServer::start().await;
    order_detail(ORDER_A)
        .respond_with(success(vec![]))
        .expect(1)
        .mount(&server)
        .await;
    let result = enrich("order-status-unpaid.http", &connector(Some(&server.uri()))).await;
    assert_eq!(
        result,
        Err(EnrichError::Permanent(
            "tiktok-shop order detail: order not found".into()
        ))
    );
    // Another order's data is not this order.
    let server = MockServer::start().await;
    order_detail(ORDER_A)
        .respond_with(success(vec![order_b()]))
        .mount(&server)
        .await;
    let result = enrich("order-status-unpaid.http", &connector(Some(&server.uri()))).await;
    assert!(
        matches!(result, Err(EnrichError::Permanent(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn platform_error_codes_are_sorted() {
    for (code, message, transient) in [
        (36009003, "Internal error. Please try again.", true),
        (105002, "Expired credentials.", true),
        (36009002, "Too many requests.", true),
        (21011001, "Invalid order id.", false),
    ] {
        let server = MockServer::start().await;
        order_detail(ORDER_A)
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "code": code,
                "message": message,
                "request_id": "202511141042070101890810281E8C70B7"
            })))
            .expect(1)
            .mount(&server)
            .await;
        let result = enrich("order-status-unpaid.http", &connector(Some(&server.uri()))).await;
        let expected = format!("tiktok-shop order detail: platform error code {code}");
        if transient {
            assert_eq!(result, Err(EnrichError::Transient(expected)), "{code}");
        } else {
            assert_eq!(result, Err(EnrichError::Permanent(expected)), "{code}");
        }
    }
}

#[tokio::test]
async fn http_5xx_is_transient() {
    let server = MockServer::start().await;
    order_detail(ORDER_A)
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let result = enrich("order-status-unpaid.http", &connector(Some(&server.uri()))).await;
    assert_eq!(
        result,
        Err(EnrichError::Transient(
            "tiktok-shop order detail: HTTP 503".into()
        ))
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_as_transient() {
    let server = MockServer::start().await;
    order_detail(ORDER_A)
        .respond_with(success(vec![order_a("UNPAID")]).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let connector = build(o2o_tiktok_shop::Settings {
        api: ApiSettings {
            api_base: Some(server.uri()),
            api_timeout_ms: Some(300),
        },
        ..settings(None)
    });
    let started = std::time::Instant::now();
    let result = enrich("order-status-unpaid.http", &connector).await;
    assert_eq!(
        result,
        Err(EnrichError::Transient(
            "tiktok-shop order detail: timed out".into()
        ))
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A missing enrichment setting used to surface only inside `enrich`, as a transient error for
/// every delivery; now the channel does not start, and the error names the setting.
#[tokio::test]
async fn missing_enrichment_settings_stop_start_up_and_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(success(vec![]))
        .expect(0)
        .mount(&server)
        .await;
    let entry = ConnectorEntry::of::<TikTokShop>();
    let label = "channels.tiktok-shop";
    assert!(
        (entry.build)(&table(&server.uri()), label).is_ok(),
        "the complete table builds"
    );
    for setting in ["shop_cipher", "access_token", "app_key", "secrets"] {
        let mut table = table(&server.uri());
        table.remove(setting);
        let error = (entry.build)(&table, label).err().map(|e| e.to_string());
        assert_eq!(
            error,
            Some(format!("{label}: missing field `{setting}`")),
            "{setting}"
        );
    }
    for (setting, value, problem) in [
        (
            "api_base",
            json!("open-api.tiktokglobalshop.com"),
            "not a URL",
        ),
        ("api_timeout_ms", json!(0), "must be above 0"),
    ] {
        let mut table = table(&server.uri());
        table.insert(setting.into(), value);
        let error = (entry.build)(&table, label).err().map(|e| e.to_string());
        assert_eq!(
            error,
            Some(format!("{label}.{setting}: {problem}")),
            "{setting}"
        );
    }
}

#[tokio::test]
async fn error_messages_carry_no_token_or_customer_data() {
    let server = MockServer::start().await;
    order_detail(ORDER_A)
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>Jordan Avery</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let result = enrich("order-status-unpaid.http", &connector(Some(&server.uri()))).await;
    let Err(EnrichError::Permanent(message)) = result else {
        panic!("expected a permanent error, got {result:?}");
    };
    for secret in [ACCESS_TOKEN, APP_SECRET, SHOP_CIPHER, "Jordan"] {
        assert!(!message.contains(secret), "{message}");
    }
}

/// `fixtures/order-detail.json` (order A awaiting shipment, used by the repository's end-to-end
/// tests of `o2o serve` and of the Lambda function) stays the answer these tests build.
#[test]
fn the_shared_fixture_is_order_a_awaiting_shipment() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/order-detail.json")).expect("fixture");
    assert_eq!(fixture["code"], 0);
    assert_eq!(
        fixture["data"]["orders"],
        json!([common::order_detail::order_a("AWAITING_SHIPMENT")])
    );
}
