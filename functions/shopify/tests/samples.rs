//! Every sample delivery in `events/shopify/` is parsed and normalised here. The result is checked
//! field by field against the sample's JSON.
//!
//! The expected values are taken from the payloads by hand, not from the connector's output.
//! Sums are worked out in the comments. Shopify writes times with the shop's offset (`-05:00`,
//! `+09:00`), and the expected strings are the same instants in UTC. Ids above 2^53 are compared
//! with the exact digits in the file.

use std::path::{Path, PathBuf};

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseError, Normalised};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Payment, PaymentLine, Totals,
};
use o2o_core::money::{Currency, Money};
use o2o_core::sample::parse_sample;
use o2o_core::{Timestamp, WebhookRequest};
use o2o_shopify::Shopify;

/// The sample files tested below, one test each ([`every_sample_has_a_test`] keeps this complete).
const COVERED: &[&str] = &[
    "orders-cancelled.http",
    "orders-create-jpy.http",
    "orders-create-multicurrency.http",
    "orders-create.http",
    "orders-edited.http",
    "orders-fulfilled.http",
    "orders-paid.http",
    "orders-partially-fulfilled.http",
    "orders-updated.http",
    "refunds-create.http",
];

/// `X-Shopify-Shop-Domain` of every sample.
const SHOP: &str = "o2o-demo.myshopify.com";

// ---------------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------------

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/shopify")
}

/// A fixed receive time: normalisation must take every time from the payload, not from here.
fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600).expect("2026-01-01T00:00:00Z is a valid time")
}

/// The sample file as the request the platform would send (signature checks are tested elsewhere).
fn request(name: &str) -> WebhookRequest {
    let path = samples_dir().join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read sample {}: {e}", path.display()));
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    sample.into_request(received_at())
}

/// The same request with its body edited (`from` must occur in it).
fn edited_request(name: &str, from: &str, to: &str) -> WebhookRequest {
    let mut req = request(name);
    let body = String::from_utf8(req.body).expect("sample bodies are UTF-8");
    assert!(body.contains(from), "{name} does not contain {from}");
    req.body = body.replace(from, to).into_bytes();
    req
}

/// A request carrying `body` under `topic`, with the headers Shopify always sends.
fn synthetic_request(topic: &str, body: &str) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: [
            ("X-Shopify-Topic", topic),
            ("X-Shopify-Shop-Domain", SHOP),
            (
                "X-Shopify-Webhook-Id",
                "00000000-0000-4000-8000-000000000000",
            ),
        ]
        .into_iter()
        .collect(),
        body: body.as_bytes().to_vec(),
        received_at: received_at(),
    }
}

/// The identity of a request and what it normalises to.
fn read(req: &WebhookRequest) -> (DeliveryId, Result<Normalised<()>, NormaliseError>) {
    let shopify: Shopify = o2o_testkit::samples::dev_connector();
    o2o_testkit::samples::read(&shopify, req).expect("the request has the Shopify headers")
}

fn normalise(req: &WebhookRequest) -> Result<Normalised<()>, NormaliseError> {
    read(req).1
}

/// Parses sample `name`, checks its envelope against the headers in the file, and returns the one
/// event it becomes.
fn single_event(name: &str, topic: &str, webhook_id: &str) -> EventDraft {
    assert!(COVERED.contains(&name), "add {name} to COVERED");
    let req = request(name);
    let (delivery, _) = read(&req);
    assert_eq!(delivery.tenant, SHOP, "tenant (X-Shopify-Shop-Domain)");
    assert_eq!(delivery.topic, topic, "topic (X-Shopify-Topic)");
    assert_eq!(
        delivery.external_event_id, webhook_id,
        "external_event_id (X-Shopify-Webhook-Id)"
    );
    match normalise(&req) {
        Ok(Normalised::Events(events)) => match events.as_slice() {
            [event] => event.clone(),
            more => panic!("{name}: expected one event, got {}", more.len()),
        },
        other => panic!("{name}: expected events, got {other:?}"),
    }
}

/// Compares two orders one field at a time, so a failure names the field.
fn assert_order(actual: &Order, expected: &Order) {
    let Order {
        external_id,
        display_id,
        status,
        version,
        currency,
        totals,
        presentment_totals,
        items,
        customer,
        fulfilment,
        payments,
        note,
    } = expected;
    assert_eq!(&actual.external_id, external_id, "order.external_id");
    assert_eq!(&actual.display_id, display_id, "order.display_id");
    assert_eq!(&actual.status, status, "order.status");
    assert_eq!(&actual.version, version, "order.version");
    assert_eq!(&actual.currency, currency, "order.currency");
    assert_totals("order.totals", &actual.totals, totals);
    match (&actual.presentment_totals, presentment_totals) {
        (Some(a), Some(e)) => assert_totals("order.presentment_totals", a, e),
        (a, e) => assert_eq!(a, e, "order.presentment_totals"),
    }
    assert_items("order.items", &actual.items, items);
    assert_eq!(&actual.customer, customer, "order.customer");
    assert_eq!(&actual.fulfilment, fulfilment, "order.fulfilment");
    assert_eq!(&actual.payments, payments, "order.payments");
    assert_eq!(&actual.note, note, "order.note");
}

fn assert_totals(what: &str, actual: &Totals, expected: &Totals) {
    let Totals {
        subtotal,
        discount,
        tax,
        delivery_fee,
        service_fee,
        tip,
        total,
        platform_discount,
        merchant_discount,
        commission,
        merchant_receivable,
    } = expected;
    assert_eq!(&actual.subtotal, subtotal, "{what}.subtotal");
    assert_eq!(&actual.discount, discount, "{what}.discount");
    assert_eq!(&actual.tax, tax, "{what}.tax");
    assert_eq!(&actual.delivery_fee, delivery_fee, "{what}.delivery_fee");
    assert_eq!(&actual.service_fee, service_fee, "{what}.service_fee");
    assert_eq!(&actual.tip, tip, "{what}.tip");
    assert_eq!(&actual.total, total, "{what}.total");
    assert_eq!(
        &actual.platform_discount, platform_discount,
        "{what}.platform_discount"
    );
    assert_eq!(
        &actual.merchant_discount, merchant_discount,
        "{what}.merchant_discount"
    );
    assert_eq!(&actual.commission, commission, "{what}.commission");
    assert_eq!(
        &actual.merchant_receivable, merchant_receivable,
        "{what}.merchant_receivable"
    );
}

fn assert_items(what: &str, actual: &[Item], expected: &[Item]) {
    assert_eq!(actual.len(), expected.len(), "{what}: number of items");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a, e, "{what}[{i}]");
    }
}

fn iso(code: &str) -> Currency {
    Currency::from_code(code).expect("an ISO 4217 code")
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, iso("USD"))
}

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, iso("EUR"))
}

/// JPY has no minor unit (ISO 4217 exponent 0): the amount is whole yen.
fn jpy(yen: i64) -> Money {
    Money::from_minor(yen, iso("JPY"))
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn variant(title: &str) -> Modifier {
    Modifier {
        name: title.to_owned(),
        quantity: None,
        price: None,
    }
}

fn shopify_payments(financial_status: &str) -> Vec<PaymentLine> {
    vec![PaymentLine {
        provider: text("shopify_payments"),
        method: None,
        amount: None,
        status: text(financial_status),
        paid_at: None,
    }]
}

// ---------------------------------------------------------------------------------------------
// Order #1042 (id 820982911946154508): created, paid, updated, partially fulfilled, fulfilled.
// ---------------------------------------------------------------------------------------------

/// `total_line_items_price` 68.00 = 2 × 18.00 + 32.00; `total_discounts` 6.80 (WELCOME10, 10 %);
/// `total_tax` 4.78 = 2.27 + 2.02 + 0.49 (shipping); shipping 6.95;
/// `total_price` 72.93 = 68.00 − 6.80 + 4.78 + 6.95 (`taxes_included` false).
fn totals_1042() -> Totals {
    Totals {
        subtotal: Some(usd(6800)),
        discount: Some(usd(680)),
        tax: Some(usd(478)),
        delivery_fee: Some(usd(695)),
        service_fee: None,
        // `total_tip_received` is "0.00" or absent: no tip.
        tip: None,
        total: Some(usd(7293)),
        ..Totals::default()
    }
}

fn items_1042() -> Vec<Item> {
    vec![
        Item {
            external_id: text("866550311766439020"),
            sku: text("MCS-CHR-L"),
            name: "Merino Crew Sock".into(),
            quantity: 2,
            unit_price: Some(usd(1800)),
            // 2 × 18.00 − 3.60 (discount allocation) = 32.40
            total: Some(usd(3240)),
            modifiers: vec![variant("Charcoal / L")],
            note: None,
        },
        Item {
            external_id: text("866550311766439021"),
            sku: text("TRC-OLV"),
            name: "Trail Runner Cap".into(),
            quantity: 1,
            unit_price: Some(usd(3200)),
            // 1 × 32.00 − 3.20 = 28.80
            total: Some(usd(2880)),
            modifiers: vec![variant("Olive")],
            note: None,
        },
    ]
}

fn ava() -> Option<Customer> {
    Some(Customer {
        name: text("Ava Thompson"),
        phone: text("+13175550142"),
        email: text("ava.thompson@example.com"),
    })
}

fn ava_address(lines: &[&str]) -> Option<Address> {
    Some(Address {
        name: text("Ava Thompson"),
        phone: text("+13175550142"),
        lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        city: text("Indianapolis"),
        region: text("IN"),
        postal_code: text("46204"),
        country_code: text("US"),
    })
}

/// Order #1042 as every `orders/*` sample of it describes it; tests override what changes.
fn order_1042() -> Order {
    Order {
        external_id: "820982911946154508".into(),
        display_id: text("#1042"),
        status: Some(OrderStatus::Placed),
        version: None,
        currency: Some(iso("USD")),
        totals: totals_1042(),
        presentment_totals: None,
        items: items_1042(),
        customer: ava(),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Shipping),
            address: ava_address(&["415 Massachusetts Ave", "Apt 4B"]),
            scheduled_for: None,
            courier: None,
            status: None,
        }),
        payments: shopify_payments("paid"),
        note: text("Please leave the parcel with the concierge."),
    }
}

#[test]
fn orders_create() {
    let event = single_event(
        "orders-create.http",
        "orders/create",
        "d96e4aea-77c3-4c5e-bd72-d78f480298c3",
    );
    assert_eq!(event.event_type, EventType::OrderCreated);
    // created_at 2025-11-14T10:42:07-05:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-14T15:42:07Z");
    assert_eq!(event.status.as_deref(), Some("paid"));
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event.order.expect("orders/create carries the order");
    // The id is a JSON number above 2^53 (9007199254740992): it must keep every digit.
    assert_eq!(order.external_id, "820982911946154508");
    assert_order(
        &order,
        &Order {
            // updated_at 2025-11-14T10:42:09-05:00
            version: text("2025-11-14T15:42:09Z"),
            // No `total_shipping_price_set` here: the one shipping line's price, 6.95.
            totals: totals_1042(),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                // No address2 in this payload.
                address: ava_address(&["415 Massachusetts Ave"]),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            // No `payment_gateway_names` in this payload.
            payments: vec![],
            ..order_1042()
        },
    );
}

#[test]
fn orders_paid() {
    let event = single_event(
        "orders-paid.http",
        "orders/paid",
        "30452124-4209-41a6-8ae6-3b439e85f340",
    );
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    // updated_at 2025-11-14T10:42:10-05:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-14T15:42:10Z");
    assert_eq!(event.status.as_deref(), Some("paid"));
    assert_eq!(event.refund, None);
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "shopify_payments".into(),
            payment_id: None,
            order_ref: text("820982911946154508"),
            // total_price 72.93, total_outstanding 0.00
            amount: Some(usd(7293)),
            status: text("paid"),
            method: None,
            failure_reason: None,
            ..Payment::default()
        })
    );
    let order = event.order.expect("orders/paid carries the order");
    assert_order(
        &order,
        &Order {
            version: text("2025-11-14T15:42:10Z"),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                // address2 is "" here: no second line.
                address: ava_address(&["415 Massachusetts Ave"]),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            ..order_1042()
        },
    );
}

#[test]
fn orders_updated() {
    let event = single_event(
        "orders-updated.http",
        "orders/updated",
        "693ba38f-db5b-4fe0-973b-95f0f2a5c1de",
    );
    assert_eq!(event.event_type, EventType::OrderUpdated);
    // updated_at 2025-11-14T11:05:31-05:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-14T16:05:31Z");
    assert_eq!(event.status.as_deref(), Some("paid"));
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event.order.expect("orders/updated carries the order");
    // Lines carry `"total_discount": "0.00"` next to non-empty `discount_allocations`: the
    // allocations are what was taken off (items_1042 expects 32.40 and 28.80).
    assert_order(
        &order,
        &Order {
            version: text("2025-11-14T16:05:31Z"),
            ..order_1042()
        },
    );
}

#[test]
fn orders_partially_fulfilled() {
    let event = single_event(
        "orders-partially-fulfilled.http",
        "orders/partially_fulfilled",
        "07b1452c-1fc3-498b-a98c-8e87d0dbe8d8",
    );
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    // updated_at 2025-11-15T09:12:45-05:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-15T14:12:45Z");
    // The status a fulfilment topic is about: `fulfillment_status`.
    assert_eq!(event.status.as_deref(), Some("partial"));
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event
        .order
        .expect("orders/partially_fulfilled carries the order");
    assert_order(
        &order,
        &Order {
            // The socks shipped, the cap is still to pack.
            status: Some(OrderStatus::Preparing),
            version: text("2025-11-15T14:12:45Z"),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                address: ava_address(&["415 Massachusetts Ave", "Apt 4B"]),
                scheduled_for: None,
                courier: Some(Courier {
                    name: text("UPS"),
                    phone: None,
                    tracking_number: text("1Z4V86E90356174218"),
                    tracking_url: text(
                        "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1Z4V86E90356174218",
                    ),
                }),
                status: text("partial"),
            }),
            ..order_1042()
        },
    );
}

#[test]
fn orders_fulfilled() {
    let event = single_event(
        "orders-fulfilled.http",
        "orders/fulfilled",
        "ea0d9d1f-887b-496b-83e5-dc369602fec6",
    );
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    // updated_at 2025-11-17T14:03:20-05:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-17T19:03:20Z");
    assert_eq!(event.status.as_deref(), Some("fulfilled"));
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event.order.expect("orders/fulfilled carries the order");
    assert_order(
        &order,
        &Order {
            status: Some(OrderStatus::Completed),
            version: text("2025-11-17T19:03:20Z"),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                address: ava_address(&["415 Massachusetts Ave", "Apt 4B"]),
                scheduled_for: None,
                // Two shipments (UPS on 11-15, USPS on 11-17): the latest, which completed it.
                courier: Some(Courier {
                    name: text("USPS"),
                    phone: None,
                    tracking_number: text("9400111206213859420174"),
                    tracking_url: text(
                        "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111206213859420174",
                    ),
                }),
                status: text("fulfilled"),
            }),
            ..order_1042()
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Other orders
// ---------------------------------------------------------------------------------------------

#[test]
fn orders_cancelled() {
    let event = single_event(
        "orders-cancelled.http",
        "orders/cancelled",
        "c9b3424a-49ca-410d-9938-64bb05e8fcd8",
    );
    assert_eq!(event.event_type, EventType::OrderCancelled);
    // cancelled_at 2025-11-15T21:40:51-05:00: the next day in UTC.
    assert_eq!(event.occurred_at.to_string(), "2025-11-16T02:40:51Z");
    // financial_status, untouched (the cancellation refunded the payment).
    assert_eq!(event.status.as_deref(), Some("refunded"));
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event.order.expect("orders/cancelled carries the order");
    assert_order(
        &order,
        &Order {
            external_id: "820982911946154509".into(),
            display_id: text("#1043"),
            // cancelled_at is set: cancelled wins over "refunded".
            status: Some(OrderStatus::Cancelled),
            // updated_at 2025-11-15T21:40:52-05:00
            version: text("2025-11-16T02:40:52Z"),
            currency: Some(iso("USD")),
            // The order as placed: 129.00 + 9.03 tax + 0.00 shipping = 138.03.
            totals: Totals {
                subtotal: Some(usd(12900)),
                discount: Some(usd(0)),
                tax: Some(usd(903)),
                delivery_fee: Some(usd(0)),
                service_fee: None,
                tip: None,
                total: Some(usd(13803)),
                ..Totals::default()
            },
            presentment_totals: None,
            items: vec![Item {
                external_id: text("866550311766439187"),
                sku: text("PRS-NVY-M"),
                name: "Packable Rain Shell".into(),
                quantity: 1,
                unit_price: Some(usd(12900)),
                // No discount allocations.
                total: Some(usd(12900)),
                modifiers: vec![variant("Navy / M")],
                note: None,
            }],
            customer: Some(Customer {
                name: text("Liam Okafor"),
                phone: text("+18125550177"),
                email: text("liam.okafor@example.net"),
            }),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                address: Some(Address {
                    name: text("Liam Okafor"),
                    phone: text("+18125550177"),
                    lines: vec!["1201 N Walnut St".into()],
                    city: text("Bloomington"),
                    region: text("IN"),
                    postal_code: text("47404"),
                    country_code: text("US"),
                }),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            payments: shopify_payments("refunded"),
            note: None,
        },
    );
}

#[test]
fn orders_create_jpy_is_in_whole_yen() {
    let event = single_event(
        "orders-create-jpy.http",
        "orders/create",
        "edae1548-fc17-432d-8a67-bc3052b54b2a",
    );
    assert_eq!(event.event_type, EventType::OrderCreated);
    // created_at 2025-11-20T19:45:03+09:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-20T10:45:03Z");
    assert_eq!(event.status.as_deref(), Some("paid"));
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event.order.expect("orders/create carries the order");
    assert_eq!(
        order.currency.map(|c| c.exponent()),
        Some(0),
        "JPY exponent"
    );
    assert_order(
        &order,
        &Order {
            external_id: "820982911946154511".into(),
            display_id: text("#1045"),
            status: Some(OrderStatus::Placed),
            // updated_at 2025-11-20T19:45:05+09:00
            version: text("2025-11-20T10:45:05Z"),
            currency: Some(iso("JPY")),
            // Tax-inclusive prices: 3300 + 2 × 1650 = 6600; + 880 shipping = 7480. Tax 680 =
            // 300 + 300 + 80 is already inside.
            totals: Totals {
                subtotal: Some(jpy(6600)),
                discount: Some(jpy(0)),
                tax: Some(jpy(680)),
                delivery_fee: Some(jpy(880)),
                service_fee: None,
                tip: None,
                total: Some(jpy(7480)),
                ..Totals::default()
            },
            presentment_totals: None,
            items: vec![
                Item {
                    external_id: text("866550311766439530"),
                    sku: text("ARITA-MUG-AI-300"),
                    name: "有田焼 マグカップ".into(),
                    quantity: 1,
                    unit_price: Some(jpy(3300)),
                    total: Some(jpy(3300)),
                    modifiers: vec![variant("藍 / 300ml")],
                    note: None,
                },
                Item {
                    external_id: text("866550311766439531"),
                    sku: text("HOJI-TB-20"),
                    name: "ほうじ茶 ティーバッグ".into(),
                    quantity: 2,
                    unit_price: Some(jpy(1650)),
                    // 2 × 1650
                    total: Some(jpy(3300)),
                    modifiers: vec![variant("20包")],
                    note: None,
                },
            ],
            customer: Some(Customer {
                // first_name then last_name, as Shopify's own address `name` writes it.
                name: text("遥 佐藤"),
                phone: text("+819012345678"),
                email: text("haruka.sato@example.jp"),
            }),
            fulfilment: Some(Fulfilment {
                // Shipping line "ヤマト運輸 宅急便" (yamato-takkyubin).
                kind: Some(FulfilmentType::Shipping),
                address: Some(Address {
                    name: text("遥 佐藤"),
                    phone: text("+819012345678"),
                    lines: vec!["神宮前5-42-13".into(), "パークハイツ 302".into()],
                    city: text("渋谷区"),
                    region: text("JP-13"),
                    postal_code: text("150-0001"),
                    country_code: text("JP"),
                }),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            payments: shopify_payments("paid"),
            note: None,
        },
    );
}

#[test]
fn orders_create_multicurrency_keeps_both_currencies() {
    let event = single_event(
        "orders-create-multicurrency.http",
        "orders/create",
        "cda4a4d8-506a-470a-8969-961e681a5cd5",
    );
    assert_eq!(event.event_type, EventType::OrderCreated);
    // created_at 2025-11-21T06:18:44-05:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-21T11:18:44Z");
    assert_eq!(event.status.as_deref(), Some("paid"));
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event.order.expect("orders/create carries the order");
    assert_order(
        &order,
        &Order {
            external_id: "820982911946154512".into(),
            display_id: text("#1046"),
            status: Some(OrderStatus::Placed),
            // updated_at 2025-11-21T06:18:46-05:00
            version: text("2025-11-21T11:18:46Z"),
            // The shop is paid in USD; the buyer saw EUR.
            currency: Some(iso("USD")),
            // shop_money: 2 × 24.45 + 138.53 = 187.43; + 16.30 shipping = 203.73 (VAT included).
            totals: Totals {
                subtotal: Some(usd(18743)),
                discount: Some(usd(0)),
                tax: Some(usd(3809)),
                delivery_fee: Some(usd(1630)),
                service_fee: None,
                tip: None,
                total: Some(usd(20373)),
                ..Totals::default()
            },
            // presentment_money: 2 × 21.00 + 119.00 = 161.00; + 14.00 shipping = 175.00.
            presentment_totals: Some(Totals {
                subtotal: Some(eur(16100)),
                discount: Some(eur(0)),
                tax: Some(eur(3272)),
                delivery_fee: Some(eur(1400)),
                service_fee: None,
                tip: None,
                total: Some(eur(17500)),
                ..Totals::default()
            }),
            items: vec![
                Item {
                    external_id: text("866550311766439664"),
                    sku: text("MCS-CHR-M"),
                    name: "Merino Crew Sock".into(),
                    quantity: 2,
                    unit_price: Some(usd(2445)),
                    // 2 × 24.45
                    total: Some(usd(4890)),
                    modifiers: vec![variant("Charcoal / M")],
                    note: None,
                },
                Item {
                    external_id: text("866550311766439665"),
                    sku: text("PRS-NVY-S"),
                    name: "Packable Rain Shell".into(),
                    quantity: 1,
                    unit_price: Some(usd(13853)),
                    total: Some(usd(13853)),
                    modifiers: vec![variant("Navy / S")],
                    note: None,
                },
            ],
            customer: Some(Customer {
                name: text("Siobhán Byrne"),
                phone: text("+353861234567"),
                email: text("siobhan.byrne@example.ie"),
            }),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Shipping),
                address: Some(Address {
                    name: text("Siobhán Byrne"),
                    phone: text("+353861234567"),
                    // address2 is "".
                    lines: vec!["14 Harcourt Street".into()],
                    city: text("Dublin"),
                    region: text("D"),
                    postal_code: text("D02 YX88"),
                    country_code: text("IE"),
                }),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            payments: shopify_payments("paid"),
            note: None,
        },
    );
}

#[test]
fn orders_edited() {
    let event = single_event(
        "orders-edited.http",
        "orders/edited",
        "54dc99d0-474d-4b91-92c6-6fcfb5a421d7",
    );
    assert_eq!(event.event_type, EventType::OrderUpdated);
    // The order changed when the edit was committed (committed_at 2025-11-16T12:33:47-05:00), not
    // when staff opened it (created_at 12:31:05-05:00).
    assert_eq!(event.occurred_at.to_string(), "2025-11-16T17:33:47Z");
    assert_eq!(event.status, None);
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
    let order = event.order.expect("orders/edited names the order");
    // A thin payload: only the id and the edit time. `staff_note` is the staff's note on the edit,
    // not the buyer's order note, so `note` stays empty.
    assert_order(
        &order,
        &Order {
            external_id: "820982911946154510".into(),
            version: text("2025-11-16T17:33:47Z"),
            ..Order::default()
        },
    );
}

#[test]
fn refunds_create() {
    let event = single_event(
        "refunds-create.http",
        "refunds/create",
        "5fd4519b-6cf1-4308-9bf2-cafd1dbfd863",
    );
    assert_eq!(event.event_type, EventType::OrderRefunded);
    // processed_at 2025-11-24T16:20:02-05:00
    assert_eq!(event.occurred_at.to_string(), "2025-11-24T21:20:02Z");
    // The refund transaction's status.
    assert_eq!(event.status.as_deref(), Some("success"));
    assert_eq!(event.payment, None);
    let order = event.order.expect("refunds/create names the order");
    assert_order(
        &order,
        &Order {
            external_id: "820982911946154508".into(),
            currency: Some(iso("USD")),
            payments: vec![PaymentLine {
                provider: text("shopify_payments"),
                ..PaymentLine::default()
            }],
            ..Order::default()
        },
    );
    let refund = event.refund.expect("refunds/create carries the refund");
    assert_eq!(refund.external_id.as_deref(), Some("1003417329977"));
    // The one refund transaction: 30.82 = 28.80 (the cap after its 3.20 discount) + 2.02 tax.
    assert_eq!(refund.amount, Some(usd(3082)));
    assert_eq!(refund.reason.as_deref(), Some("Returned: wrong size"));
    assert_items(
        "refund.items",
        &refund.items,
        &[Item {
            external_id: text("866550311766439021"),
            sku: text("TRC-OLV"),
            name: "Trail Runner Cap".into(),
            quantity: 1,
            unit_price: None,
            // subtotal_set.shop_money 28.80
            total: Some(usd(2880)),
            modifiers: vec![],
            note: None,
        }],
    );
}

// ---------------------------------------------------------------------------------------------
// Coverage, bad amounts, unmapped topics
// ---------------------------------------------------------------------------------------------

#[test]
fn every_sample_has_a_test() {
    let dir = samples_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("a readable directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".http"))
        .collect();
    on_disk.sort();
    let untested: Vec<&String> = on_disk
        .iter()
        .filter(|name| !COVERED.contains(&name.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "samples without a test in functions/shopify/tests/samples.rs: {untested:?}"
    );
    let gone: Vec<&&str> = COVERED
        .iter()
        .filter(|name| !on_disk.iter().any(|d| d == *name))
        .collect();
    assert!(gone.is_empty(), "COVERED lists missing samples: {gone:?}");
}

/// Asserts that `req` is refused for `field`, and that the message does not quote `value`.
fn assert_too_precise(req: &WebhookRequest, field: &str, value: &str) {
    match normalise(req) {
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with(field), "{message:?} names {field}");
            assert!(message.contains("more decimal places"), "{message:?}");
            assert!(!message.contains(value), "{message:?} quotes the amount");
        }
        other => panic!("expected an error for {field} = {value}, got {other:?}"),
    }
}

#[test]
fn over_precise_amounts_are_errors_never_rounded() {
    // A USD line price with a tenth of a cent, as a bare decimal string (no money bag).
    let bare = synthetic_request(
        "orders/create",
        r#"{"id":1,"currency":"USD","line_items":[{"id":2,"title":"Sock","quantity":1,"price":"10.001"}]}"#,
    );
    assert_too_precise(&bare, "line_items[0].price", "10.001");

    // The same in the real sample, where the price also sits in `price_set`.
    let cents = edited_request("orders-create.http", r#""18.00""#, r#""18.001""#);
    assert_too_precise(&cents, "line_items[0].price", "18.001");

    // Half a yen does not exist (JPY exponent 0).
    let yen_line = edited_request("orders-create-jpy.http", r#""1650""#, r#""1650.5""#);
    assert_too_precise(&yen_line, "line_items[1].price", "1650.5");
    let yen_total = edited_request("orders-create-jpy.http", r#""7480""#, r#""1500.5""#);
    assert_too_precise(&yen_total, "total_price", "1500.5");

    // Whereas trailing zeros are exact.
    let zeros = edited_request("orders-create-jpy.http", r#""1650""#, r#""1650.00""#);
    assert!(matches!(normalise(&zeros), Ok(Normalised::Events(_))));

    // And a refund transaction of a tenth of a cent.
    let refund = edited_request("refunds-create.http", r#""30.82""#, r#""30.825""#);
    assert_too_precise(&refund, "transactions[0].amount", "30.825");
}

#[test]
fn unmapped_topics_are_ignored() {
    for (topic, body) in [
        ("orders/delete", r#"{"id":820982911946154508}"#),
        (
            "customers/create",
            r#"{"id":7390118821945,"email":"ava.thompson@example.com","first_name":"Ava"}"#,
        ),
    ] {
        match normalise(&synthetic_request(topic, body)) {
            Ok(Normalised::Ignored(reason)) => {
                assert!(reason.contains(topic), "{reason:?} names {topic}");
            }
            other => panic!("{topic}: expected Ignored, got {other:?}"),
        }
    }
}

#[test]
fn failed_and_errored_refund_transactions_are_not_counted() {
    let body = r#"{"id":1003417329977,"order_id":820982911946154508,"processed_at":"2025-11-24T16:20:02-05:00","refund_line_items":[],"transactions":[
        {"kind":"refund","status":"error","amount":"30.82","currency":"USD","gateway":"shopify_payments"},
        {"kind":"refund","status":"failure","amount":"30.82","currency":"USD","gateway":"shopify_payments"},
        {"kind":"refund","status":"success","amount":"30.82","currency":"USD","gateway":"shopify_payments"}]}"#;
    let events = match normalise(&synthetic_request("refunds/create", body)) {
        Ok(Normalised::Events(events)) => events,
        other => panic!("expected events, got {other:?}"),
    };
    let refund = events
        .first()
        .and_then(|e| e.refund.as_ref())
        .expect("a refund event");
    assert_eq!(refund.amount, Some(usd(3082)));
}
