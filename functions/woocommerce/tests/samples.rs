//! Every sample delivery in `events/woocommerce/` parsed and normalised, and the result checked
//! field by field.
//!
//! The expected values were read off the samples' JSON (sums worked out by hand), not copied from
//! what the connector prints: where the two disagree, the connector is wrong.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseError, Normalised};
use o2o_core::event::{
    Address, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus,
    Payment, PaymentLine, Refund, Totals,
};
use o2o_core::money::{Currency, Money};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Headers, Timestamp, WebhookRequest};
use o2o_woocommerce::WooCommerce;

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "order-cancelled.http",
    "order-created-jpy.http",
    "order-created.http",
    "order-deleted.http",
    "order-refunded.http",
    "order-restored.http",
    "order-updated.http",
    "ping.http",
];

/// `X-WC-Webhook-Source: https://shop.o2o-demo.example/` without scheme and trailing slash.
const TENANT: &str = "shop.o2o-demo.example";

/// 2025-11-26T16:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_764_172_800;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/woocommerce")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("RECEIVED_AT is a valid time")
}

/// The sample delivery `name` as the HTTP adapter would hand it over.
fn request(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        sample.method, "POST",
        "{name}: WooCommerce posts its webhooks"
    );
    assert_eq!(sample.path, "/webhooks/woocommerce", "{name}: path");
    sample.into_request(received_at())
}

/// The sample `name` with `from` (which must occur exactly once in its body) replaced by `to`.
fn edited(name: &str, from: &str, to: &str) -> WebhookRequest {
    let mut req = request(name);
    let body = String::from_utf8(req.body).expect("the sample body is UTF-8");
    assert_eq!(
        body.matches(from).count(),
        1,
        "{name}: `{from}` occurs exactly once"
    );
    req.body = body.replace(from, to).into_bytes();
    req
}

/// `req` with its `X-WC-Webhook-Topic` set to `topic`.
fn with_topic(req: WebhookRequest, topic: &str) -> WebhookRequest {
    let headers: Headers = req
        .headers
        .iter()
        .map(|(name, value)| {
            let value = if name.eq_ignore_ascii_case("X-WC-Webhook-Topic") {
                topic
            } else {
                value
            };
            (name.to_owned(), value.to_owned())
        })
        .collect();
    WebhookRequest { headers, ..req }
}

/// What one delivery read as: its identity and its normalisation.
struct Delivery {
    id: DeliveryId,
    normalised: Result<Normalised<()>, NormaliseError>,
}

fn woocommerce() -> WooCommerce {
    o2o_testkit::samples::dev_connector()
}

/// Parses an order delivery (never a handshake) and checks the envelope.
fn delivery(req: &WebhookRequest, topic: &str) -> Delivery {
    let woocommerce = woocommerce();
    assert_eq!(
        woocommerce.handshake(req),
        None,
        "an order delivery is not a ping"
    );
    let (id, normalised) =
        o2o_testkit::samples::read(&woocommerce, req).expect("the envelope parses");
    assert_eq!(id.tenant, TENANT, "tenant");
    assert_eq!(id.topic, topic, "topic");
    Delivery { id, normalised }
}

fn normalise(delivery: &Delivery) -> Result<Normalised<()>, NormaliseError> {
    delivery.normalised.clone()
}

/// Normalises a delivery that must become exactly one event.
fn one_event(delivery: &Delivery) -> EventDraft {
    match normalise(delivery).expect("the delivery normalises") {
        Normalised::Events(mut events) => {
            assert_eq!(events.len(), 1, "one event per delivery");
            events.remove(0)
        }
        other => panic!("expected one event, got {other:?}"),
    }
}

/// Parses and normalises the unedited sample `name`; `body_sha256` is `sha256sum` of its body.
fn sample_event(name: &str, topic: &str, body_sha256: &str) -> EventDraft {
    let delivery = delivery(&request(name), topic);
    assert_eq!(
        delivery.id.external_event_id,
        format!("sha256:{body_sha256}"),
        "external_event_id"
    );
    one_event(&delivery)
}

fn currency(code: &str) -> Currency {
    Currency::from_code(code).expect("an ISO 4217 code")
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, currency("USD"))
}

fn jpy(yen: i64) -> Money {
    Money::from_minor(yen, currency("JPY"))
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, currency("EUR"))
}

fn ts(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).expect("an RFC 3339 time")
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn modifier(name: &str) -> Modifier {
    Modifier {
        name: name.to_owned(),
        quantity: None,
        price: None,
    }
}

/// Compares one field at a time (for a readable failure), then the whole draft (for anything missed).
fn assert_draft(actual: &EventDraft, expected: &EventDraft) {
    assert_eq!(actual.event_type, expected.event_type, "event_type");
    assert_eq!(
        actual.occurred_at.to_string(),
        expected.occurred_at.to_string(),
        "occurred_at"
    );
    assert_eq!(actual.status, expected.status, "source status");
    match (&actual.order, &expected.order) {
        (Some(a), Some(e)) => assert_order(a, e),
        (a, e) => assert_eq!(a, e, "order"),
    }
    assert_eq!(actual.payment, expected.payment, "payment");
    assert_eq!(actual.refund, expected.refund, "refund");
    assert_eq!(actual, expected, "whole event");
}

fn assert_order(a: &Order, e: &Order) {
    assert_eq!(a.external_id, e.external_id, "order.external_id");
    assert_eq!(a.display_id, e.display_id, "order.display_id");
    assert_eq!(a.status, e.status, "order.status");
    assert_eq!(a.version, e.version, "order.version");
    assert_eq!(a.currency, e.currency, "order.currency");
    assert_eq!(a.totals.subtotal, e.totals.subtotal, "totals.subtotal");
    assert_eq!(a.totals.discount, e.totals.discount, "totals.discount");
    assert_eq!(a.totals.tax, e.totals.tax, "totals.tax");
    assert_eq!(
        a.totals.delivery_fee, e.totals.delivery_fee,
        "totals.delivery_fee"
    );
    assert_eq!(
        a.totals.service_fee, e.totals.service_fee,
        "totals.service_fee"
    );
    assert_eq!(a.totals.tip, e.totals.tip, "totals.tip");
    assert_eq!(a.totals.total, e.totals.total, "totals.total");
    assert_eq!(
        a.presentment_totals, e.presentment_totals,
        "order.presentment_totals"
    );
    assert_eq!(a.items.len(), e.items.len(), "number of items");
    for (i, (ai, ei)) in a.items.iter().zip(&e.items).enumerate() {
        assert_eq!(ai.external_id, ei.external_id, "items[{i}].external_id");
        assert_eq!(ai.sku, ei.sku, "items[{i}].sku");
        assert_eq!(ai.name, ei.name, "items[{i}].name");
        assert_eq!(ai.quantity, ei.quantity, "items[{i}].quantity");
        assert_eq!(ai.unit_price, ei.unit_price, "items[{i}].unit_price");
        assert_eq!(ai.total, ei.total, "items[{i}].total");
        assert_eq!(ai.modifiers, ei.modifiers, "items[{i}].modifiers");
        assert_eq!(ai.note, ei.note, "items[{i}].note");
    }
    assert_eq!(a.customer, e.customer, "order.customer");
    assert_eq!(a.fulfilment, e.fulfilment, "order.fulfilment");
    assert_eq!(a.payments, e.payments, "order.payments");
    assert_eq!(a.note, e.note, "order.note");
}

/// Order 727 (Maya Rodriguez, USD, `prices_include_tax: false`) as `order-created.http`,
/// `order-updated.http` and `order-refunded.http` all carry it; only status and version differ.
fn order_727(status: OrderStatus, version: &str) -> Order {
    Order {
        external_id: "727".to_owned(),
        display_id: text("727"),
        status: Some(status),
        version: text(version),
        currency: Some(currency("USD")),
        totals: Totals {
            subtotal: Some(usd(8650)), // line subtotals 68.00 + 18.50
            discount: Some(usd(865)),  // discount_total (coupon spring10)
            tax: Some(usd(708)),       // total_tax
            delivery_fee: Some(usd(799)),
            service_fee: None, // no fee_lines
            tip: None,
            total: Some(usd(9292)), // 86.50 - 8.65 + 7.99 + 7.08
            ..Totals::default()
        },
        presentment_totals: None,
        items: vec![
            Item {
                external_id: text("315"),
                sku: text("LS-SAND-M"),
                name: "Linen Shirt - Sand, M".to_owned(),
                quantity: 2,
                // subtotal 68.00 / 2, before the coupon (WooCommerce's `price` 30.6 is after it).
                unit_price: Some(usd(3400)),
                total: Some(usd(6120)),
                modifiers: vec![modifier("Color: Sand"), modifier("Size: M")],
                note: None,
            },
            Item {
                external_id: text("316"),
                sku: text("CT-NAT"),
                name: "Canvas Tote".to_owned(),
                quantity: 1,
                unit_price: Some(usd(1850)), // subtotal 18.50 / 1; `price` 16.65 is after the coupon
                total: Some(usd(1665)),
                modifiers: vec![], // only `_reduced_stock`, which is internal
                note: None,
            },
        ],
        customer: Some(Customer {
            name: text("Maya Rodriguez"),
            phone: text("(512) 555-0199"),
            email: text("maya.rodriguez@example.com"),
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Shipping), // flat_rate
            address: Some(Address {
                name: text("Maya Rodriguez"),
                phone: None, // shipping.phone is ""
                lines: vec!["1100 Congress Ave".to_owned(), "Suite 210".to_owned()],
                city: text("Austin"),
                region: text("TX"),
                postal_code: text("78701"),
                country_code: text("US"),
            }),
            scheduled_for: None,
            courier: None,
            status: None,
        }),
        payments: vec![PaymentLine {
            provider: text("stripe"),
            method: text("Credit Card (Stripe)"),
            amount: Some(usd(9292)),
            status: None, // WooCommerce has no payment status string
            paid_at: Some(ts("2025-11-14T16:21:40Z")),
        }],
        note: text("Gift - please no invoice in the box."),
    }
}

/// Order 731 (Noah Bennett, USD, never paid) as `order-cancelled.http` carries it.
fn order_731(status: OrderStatus) -> Order {
    Order {
        external_id: "731".to_owned(),
        display_id: text("731"),
        status: Some(status),
        version: text("2025-11-17T03:10:07Z"),
        currency: Some(currency("USD")),
        totals: Totals {
            subtotal: Some(usd(2900)),
            discount: Some(usd(0)),
            tax: Some(usd(305)),
            delivery_fee: Some(usd(799)),
            service_fee: None,
            tip: None,
            total: Some(usd(4004)), // 29.00 + 7.99 + 3.05
            ..Totals::default()
        },
        presentment_totals: None,
        items: vec![Item {
            external_id: text("333"),
            sku: text("WB-CHAR"),
            name: "Wool Beanie - Charcoal".to_owned(),
            quantity: 1,
            unit_price: Some(usd(2900)),
            total: Some(usd(2900)),
            modifiers: vec![modifier("Color: Charcoal")],
            note: None,
        }],
        customer: Some(Customer {
            name: text("Noah Bennett"),
            phone: text("(512) 555-0143"),
            email: text("noah.bennett@example.org"),
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Shipping),
            address: Some(Address {
                name: text("Noah Bennett"),
                phone: None,
                lines: vec!["2315 Rio Grande St".to_owned()], // address_2 is ""
                city: text("Austin"),
                region: text("TX"),
                postal_code: text("78705"),
                country_code: text("US"),
            }),
            scheduled_for: None,
            courier: None,
            status: None,
        }),
        // The buyer chose PayPal but never paid (date_paid_gmt null): no amount, no time.
        payments: vec![PaymentLine {
            provider: text("ppcp-gateway"),
            method: text("PayPal"),
            amount: None,
            status: None,
            paid_at: None,
        }],
        note: None, // customer_note is ""
    }
}

#[test]
fn ping() {
    let req = request("ping.http");
    assert_eq!(req.body, b"webhook_id=12");
    match woocommerce().handshake(&req) {
        Some(Ok(reply)) => assert_eq!(
            reply.status, 200,
            "anything but 200 fails the webhook's activation"
        ),
        other => panic!("the ping must be answered as a handshake, got {other:?}"),
    }
}

#[test]
fn order_created() {
    let draft = sample_event(
        "order-created.http",
        "order.created",
        "e3d75c4d0392ed5aa82dbb27019cfe1534177638090326c2764d923bc93832f9",
    );
    let expected = EventDraft {
        event_type: EventType::OrderCreated,
        occurred_at: ts("2025-11-14T16:21:37Z"), // date_created_gmt
        status: text("processing"),
        order: Some(order_727(OrderStatus::Placed, "2025-11-14T16:21:41Z")),
        payment: None,
        refund: None,
    };
    assert_draft(&draft, &expected);
}

#[test]
fn order_updated_to_completed() {
    let draft = sample_event(
        "order-updated.http",
        "order.updated",
        "b08da9a200154a7646a83389e6dca1741177f4a140a82b480dd6a31c5d9c80c0",
    );
    let expected = EventDraft {
        event_type: EventType::OrderCompleted,
        occurred_at: ts("2025-11-15T15:47:12Z"), // date_modified_gmt
        status: text("completed"),
        order: Some(order_727(OrderStatus::Completed, "2025-11-15T15:47:12Z")),
        payment: None,
        refund: None,
    };
    assert_draft(&draft, &expected);
}

#[test]
fn order_refunded() {
    let draft = sample_event(
        "order-refunded.http",
        "order.updated",
        "344e042894182f454eb917556ffa045c7513db9c5edd854dd317f3a0b24f18a1",
    );
    let expected = EventDraft {
        event_type: EventType::OrderRefunded,
        occurred_at: ts("2025-11-24T19:05:58Z"),
        status: text("refunded"),
        order: Some(order_727(OrderStatus::Refunded, "2025-11-24T19:05:58Z")),
        payment: None,
        // refunds: [{"id":745, "reason":"Returned within 30 days", "total":"-92.92"}]
        refund: Some(Refund {
            external_id: text("745"),
            amount: Some(usd(9292)),
            reason: text("Returned within 30 days"),
            items: vec![],
        }),
    };
    assert_draft(&draft, &expected);
}

#[test]
fn order_cancelled() {
    let draft = sample_event(
        "order-cancelled.http",
        "order.updated",
        "11f9d6aabeaa23f8cc59bbe23a986f95d0ace8df06bfb35b9deb91df9fafab0b",
    );
    let expected = EventDraft {
        event_type: EventType::OrderCancelled,
        occurred_at: ts("2025-11-17T03:10:07Z"),
        status: text("cancelled"),
        order: Some(order_731(OrderStatus::Cancelled)),
        payment: None,
        refund: None,
    };
    assert_draft(&draft, &expected);
}

#[test]
fn order_deleted_carries_only_the_id() {
    let draft = sample_event(
        "order-deleted.http",
        "order.deleted",
        "4736a25819712fae070c1f152b9bbdb503bbd9814a07605c2c192997623d3d9e",
    );
    let expected = EventDraft {
        event_type: EventType::OrderCancelled,
        occurred_at: received_at(), // the body is `{"id":733}`: no time of its own
        status: None,
        order: Some(Order {
            external_id: "733".to_owned(),
            display_id: None,
            status: None,
            version: None,
            currency: None,
            totals: Totals::default(),
            presentment_totals: None,
            items: vec![],
            customer: None,
            fulfilment: None,
            payments: vec![],
            note: None,
        }),
        payment: None,
        refund: None,
    };
    assert_eq!(draft.occurred_at.to_string(), "2025-11-26T16:00:00Z");
    assert_draft(&draft, &expected);
}

#[test]
fn order_restored() {
    let draft = sample_event(
        "order-restored.http",
        "order.restored",
        "3395fe01487c2fd28a476580b7e0e3473f7f7fbd60d907c010b8ae9d6421062c",
    );
    let expected = EventDraft {
        event_type: EventType::OrderUpdated,
        occurred_at: ts("2025-11-19T17:02:44Z"),
        status: text("on-hold"),
        order: Some(Order {
            external_id: "733".to_owned(),
            display_id: text("733"),
            status: Some(OrderStatus::PendingPayment), // on-hold: awaiting the bank transfer
            version: text("2025-11-19T17:02:44Z"),
            currency: Some(currency("USD")),
            totals: Totals {
                subtotal: Some(usd(18500)),
                discount: Some(usd(0)),
                tax: Some(usd(1625)),
                delivery_fee: Some(usd(1200)),
                service_fee: None,
                tip: None,
                total: Some(usd(21325)), // 185.00 + 12.00 + 16.25
                ..Totals::default()
            },
            presentment_totals: None,
            items: vec![Item {
                external_id: text("342"),
                sku: text("CT-NAT"),
                name: "Canvas Tote".to_owned(),
                quantity: 10,
                unit_price: Some(usd(1850)), // 185.00 / 10
                total: Some(usd(18500)),
                modifiers: vec![],
                note: None,
            }],
            customer: Some(Customer {
                name: text("Grace Kim"),
                phone: text("(737) 555-0108"),
                email: text("grace@kimceramics.example"),
            }),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                address: Some(Address {
                    name: text("Grace Kim"),
                    phone: None,
                    lines: vec!["901 E 6th St".to_owned()],
                    city: text("Austin"),
                    region: text("TX"),
                    postal_code: text("78702"),
                    country_code: text("US"),
                }),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            payments: vec![PaymentLine {
                provider: text("bacs"),
                method: text("Direct bank transfer"),
                amount: None,
                status: None,
                paid_at: None,
            }],
            note: None,
        }),
        payment: None,
        refund: None,
    };
    assert_draft(&draft, &expected);
}

/// A JPY shop (exponent 0) whose prices include tax: line amounts come without tax and are
/// reported with it, in whole yen.
#[test]
fn order_created_jpy() {
    let draft = sample_event(
        "order-created-jpy.http",
        "order.created",
        "eaf2f4863ed8e6342bf6ac2a462c8d75a5b47e76cfdef688717717fb3b18bc1d",
    );
    let customer_name = "健太 高橋"; // first_name then last_name, as for every shop
    let expected = EventDraft {
        event_type: EventType::OrderCreated,
        occurred_at: ts("2025-11-20T10:45:03Z"),
        status: text("processing"),
        order: Some(Order {
            external_id: "741".to_owned(),
            display_id: text("741"),
            status: Some(OrderStatus::Placed),
            version: text("2025-11-20T10:45:06Z"),
            currency: Some(currency("JPY")),
            totals: Totals {
                // prices_include_tax: (1500 + 150) + (4000 + 400)
                subtotal: Some(jpy(6050)),
                discount: Some(jpy(0)), // discount_total "0" + discount_tax "0"
                tax: Some(jpy(660)),    // 150 + 400 on the lines, 80 on shipping, 30 on the fee
                delivery_fee: Some(jpy(800)),
                service_fee: Some(jpy(300)), // fee_lines: 代引き手数料 300
                tip: None,
                total: Some(jpy(7260)),
                ..Totals::default()
            },
            presentment_totals: None,
            items: vec![
                Item {
                    external_id: text("358"),
                    sku: text("HOJI-TB-20"),
                    name: "ほうじ茶 ティーバッグ 20包".to_owned(),
                    quantity: 1,
                    unit_price: Some(jpy(1650)),
                    total: Some(jpy(1650)), // 1500 + 150
                    modifiers: vec![],
                    note: None,
                },
                Item {
                    external_id: text("359"),
                    sku: text("ARITA-YUNOMI-AI-S"),
                    name: "有田焼 湯呑み - 藍, 小".to_owned(),
                    quantity: 2,
                    unit_price: Some(jpy(2200)), // (4000 + 400) / 2
                    total: Some(jpy(4400)),
                    modifiers: vec![modifier("色: 藍"), modifier("サイズ: 小")],
                    note: None,
                },
            ],
            customer: Some(Customer {
                name: text(customer_name),
                phone: text("090-1234-5678"),
                email: text("kenta.takahashi@example.jp"),
            }),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                address: Some(Address {
                    name: text(customer_name),
                    phone: text("090-1234-5678"),
                    lines: vec!["神宮前5-42-13".to_owned(), "パークハイツ 302".to_owned()],
                    city: text("渋谷区"),
                    region: text("JP13"),
                    postal_code: text("150-0001"),
                    country_code: text("JP"),
                }),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            payments: vec![PaymentLine {
                provider: text("cod"),
                method: text("代金引換"),
                amount: Some(jpy(7260)),
                status: None,
                paid_at: Some(ts("2025-11-20T10:45:05Z")),
            }],
            note: text("平日の午前中に配達してください。"),
        }),
        payment: None,
        refund: None,
    };
    assert_draft(&draft, &expected);
    let total = draft
        .order
        .as_ref()
        .and_then(|o| o.totals.total)
        .expect("a total");
    assert_eq!(total.currency.exponent(), 0, "yen have no minor unit");
}

#[test]
fn every_sample_has_a_test() {
    let mut found: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/woocommerce/ is readable")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .into_string()
                .expect("a UTF-8 file name")
        })
        .filter(|name| name.ends_with(".http"))
        .collect();
    found.sort();
    let untested: Vec<&String> = found
        .iter()
        .filter(|name| !COVERED.contains(&name.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "samples without a test in tests/samples.rs: {untested:?}"
    );
    let gone: Vec<&&str> = COVERED
        .iter()
        .filter(|name| !found.iter().any(|f| f == *name))
        .collect();
    assert!(
        gone.is_empty(),
        "COVERED names samples that do not exist: {gone:?}"
    );
}

/// `order.updated` has no paid/cancelled variants: the event type follows `status`.
#[test]
fn order_updated_event_type_follows_status() {
    let cases = [
        (
            "pending",
            EventType::OrderUpdated,
            Some(OrderStatus::PendingPayment),
        ),
        (
            "on-hold",
            EventType::OrderUpdated,
            Some(OrderStatus::PendingPayment),
        ),
        (
            "processing",
            EventType::OrderUpdated,
            Some(OrderStatus::Placed),
        ),
        (
            "completed",
            EventType::OrderCompleted,
            Some(OrderStatus::Completed),
        ),
        (
            "cancelled",
            EventType::OrderCancelled,
            Some(OrderStatus::Cancelled),
        ),
        (
            "trash",
            EventType::OrderCancelled,
            Some(OrderStatus::Cancelled),
        ),
        (
            "refunded",
            EventType::OrderRefunded,
            Some(OrderStatus::Refunded),
        ),
        (
            "failed",
            EventType::PaymentFailed,
            Some(OrderStatus::PendingPayment),
        ),
        ("my-custom-status", EventType::OrderUpdated, None),
    ];
    for (status, event_type, order_status) in cases {
        let req = edited(
            "order-cancelled.http",
            r#""status":"cancelled""#,
            &format!(r#""status":"{status}""#),
        );
        let draft = one_event(&delivery(&req, "order.updated"));
        assert_eq!(draft.event_type, event_type, "{status}");
        assert_eq!(
            draft.status.as_deref(),
            Some(status),
            "{status}: source status untouched"
        );
        assert_eq!(
            draft.order.and_then(|o| o.status),
            order_status,
            "{status}: order status"
        );
    }
    // order.created is a creation whatever the status.
    let req = with_topic(
        edited(
            "order-cancelled.http",
            r#""status":"cancelled""#,
            r#""status":"pending""#,
        ),
        "order.created",
    );
    let draft = one_event(&delivery(&req, "order.created"));
    assert_eq!(draft.event_type, EventType::OrderCreated);
    assert_eq!(
        draft.occurred_at.to_string(),
        "2025-11-17T02:10:05Z",
        "date_created_gmt"
    );
}

#[test]
fn failed_payment_carries_the_payment() {
    let req = edited(
        "order-cancelled.http",
        r#""status":"cancelled""#,
        r#""status":"failed""#,
    );
    let draft = one_event(&delivery(&req, "order.updated"));
    let expected = EventDraft {
        event_type: EventType::PaymentFailed,
        occurred_at: ts("2025-11-17T03:10:07Z"),
        status: text("failed"),
        order: Some(order_731(OrderStatus::PendingPayment)),
        payment: Some(Payment {
            provider: "ppcp-gateway".to_owned(),
            payment_id: None,
            order_ref: text("731"),
            amount: Some(usd(4004)),
            status: text("failed"),
            method: text("PayPal"),
            failure_reason: None,
            ..Payment::default()
        }),
        refund: None,
    };
    assert_draft(&draft, &expected);
}

#[test]
fn local_pickup_is_a_pickup() {
    for method in ["local_pickup", "pickup_location"] {
        let req = edited(
            "order-created.http",
            r#""method_id":"flat_rate""#,
            &format!(r#""method_id":"{method}""#),
        );
        let draft = one_event(&delivery(&req, "order.created"));
        let fulfilment = draft
            .order
            .and_then(|o| o.fulfilment)
            .expect("a fulfilment");
        assert_eq!(fulfilment.kind, Some(FulfilmentType::Pickup), "{method}");
        assert_eq!(
            fulfilment.address.and_then(|a| a.postal_code).as_deref(),
            Some("78701")
        );
    }
}

/// A one-line EUR order (no tax, no shipping) on the `order.created` topic.
fn eur_order(
    quantity: u32,
    line_subtotal: &str,
    line_total: &str,
    price: &str,
    discount: &str,
    total: &str,
) -> WebhookRequest {
    let body = format!(
        r#"{{"id":900,"number":"900","status":"processing","currency":"EUR","prices_include_tax":false,"date_created_gmt":"2025-11-21T09:00:00","date_modified_gmt":"2025-11-21T09:00:04","discount_total":"{discount}","discount_tax":"0.00","shipping_total":"0.00","total_tax":"0.00","total":"{total}","billing":{{"first_name":"","last_name":"","email":"","phone":""}},"line_items":[{{"id":901,"name":"Sticker pack","sku":"STK-3","quantity":{quantity},"subtotal":"{line_subtotal}","subtotal_tax":"0.00","total":"{line_total}","total_tax":"0.00","price":{price},"meta_data":[]}}],"shipping_lines":[],"fee_lines":[],"refunds":[]}}"#
    );
    WebhookRequest {
        body: body.into_bytes(),
        ..request("order-created.http")
    }
}

#[test]
fn an_inexact_line_price_gives_no_unit_price() {
    // 10.00 for 3: WooCommerce's `price` is the float 3.3333333333, and 10.00 / 3 is no whole cent.
    let req = eur_order(3, "10.00", "10.00", "3.3333333333", "0.00", "10.00");
    let draft = one_event(&delivery(&req, "order.created"));
    let order = draft.order.expect("an order");
    assert_eq!(order.currency, Some(currency("EUR")));
    assert_eq!(order.totals.subtotal, Some(eur(1000)));
    assert_eq!(order.totals.total, Some(eur(1000)));
    assert_eq!(
        order.customer, None,
        "a blank billing address is no customer"
    );
    let item = order.items.first().expect("one item");
    assert_eq!(
        (item.quantity, item.unit_price, item.total),
        (3, None, Some(eur(1000)))
    );
}

#[test]
fn the_unit_price_is_before_discounts() {
    // 3 × 10.00 with a 20.00 coupon: `price` is 10.00 / 3 after the coupon, the unit price 10.00.
    let req = eur_order(3, "30.00", "10.00", "3.3333333333", "20.00", "10.00");
    let draft = one_event(&delivery(&req, "order.created"));
    let order = draft.order.expect("an order");
    assert_eq!(order.totals.subtotal, Some(eur(3000)));
    assert_eq!(order.totals.discount, Some(eur(2000)));
    let item = order.items.first().expect("one item");
    assert_eq!(
        (item.unit_price, item.total),
        (Some(eur(1000)), Some(eur(1000)))
    );
}

#[test]
fn an_over_precise_amount_is_an_error_never_rounded() {
    let eur_total = eur_order(1, "10.00", "10.00", "10", "0.00", "10.001");
    let eur_line = eur_order(1, "10.00", "10.005", "10.005", "0.00", "10.00");
    let jpy_total = edited(
        "order-created-jpy.http",
        r#""total":"7260""#,
        r#""total":"1500.5""#,
    );
    for (req, field) in [
        (eur_total, "total"),
        (eur_line, "line_items[0].total"),
        (jpy_total, "total"),
    ] {
        let result = normalise(&delivery(&req, "order.created"));
        match result {
            Err(e) => {
                let message = e.to_string();
                assert!(message.starts_with(&format!("{field}: ")), "{message}")
            }
            Ok(other) => panic!("{field}: expected an error, got {other:?}"),
        }
    }
}

#[test]
fn unmapped_topics_are_ignored() {
    let cases = [
        (
            "product.updated",
            r#"{"id":88,"name":"Linen Shirt","sku":"LS","price":"34.00"}"#,
        ),
        (
            "coupon.created",
            r#"{"id":57,"code":"spring10","amount":"10.00"}"#,
        ),
        (
            "customer.created",
            r#"{"id":41,"email":"maya.rodriguez@example.com"}"#,
        ),
        (
            "action.woocommerce_payment_complete",
            r#"{"action":"woocommerce_payment_complete","arg":727}"#,
        ),
    ];
    for (topic, body) in cases {
        let req = WebhookRequest {
            body: body.as_bytes().to_vec(),
            ..with_topic(request("order-created.http"), topic)
        };
        let result = normalise(&delivery(&req, topic));
        assert!(
            matches!(result, Ok(Normalised::Ignored(_))),
            "{topic}: {result:?}"
        );
    }
}
