//! Every sample delivery in `events/deliveroo/` signed, verified, parsed and normalised, and the
//! result checked field by field.
//!
//! The expected values were read off the samples' JSON (sums worked out by hand), not copied from
//! what the connector prints: where the two disagree, the connector is wrong.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Totals,
};
use o2o_core::money::{Currency, Money};
use o2o_core::sample::parse_sample;
use o2o_core::signature::sha256_hex;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_deliveroo::{Deliveroo, SIGNATURE_HEADER};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "legacy-new-order.http",
    "order-new-scheduled-restaurant.http",
    "order-new.http",
    "order-status-update-accepted.http",
    "order-status-update-canceled.http",
    "rider-status-update.http",
];

/// 2025-11-26T16:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_764_172_800;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/deliveroo")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

fn deliveroo() -> Deliveroo {
    o2o_testkit::samples::dev_connector()
}

/// The sample `name`, signed with the development secret as Deliveroo would sign it.
fn signed(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/deliveroo"),
        "{name}"
    );
    let mut req = sample.into_request(received_at());
    deliveroo().sign(&mut req).expect("sign");
    req
}

/// Verifies, parses and normalises `req` as the pipeline does; one event expected.
fn one_event(req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    let deliveroo = deliveroo();
    let verified = deliveroo.verify(req).expect("the signed sample verifies");
    let parsed = deliveroo.parse(&verified).expect("parses");
    let id = parsed.id.clone();
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    match deliveroo.normalise(&parsed.id, parsed.message, &ctx) {
        Ok(Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        other => panic!("expected one event, got {other:?}"),
    }
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn money(currency: &str, minor: i64) -> Money {
    Money::from_minor(minor, Currency::from_code(currency).expect("a currency"))
}

fn gbp(minor: i64) -> Option<Money> {
    Some(money("GBP", minor))
}

fn eur(minor: i64) -> Option<Money> {
    Some(money("EUR", minor))
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/deliveroo")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, COVERED);
}

/// The order of the official fulfillment-types sample: a Deliveroo rider, ASAP, an offer.
fn placed_order_items() -> Vec<Item> {
    vec![
        Item {
            sku: Some("50.0".into()),
            name: "O'Joy".into(),
            quantity: 1,
            unit_price: gbp(180),
            total: gbp(180),
            ..Item::default()
        },
        Item {
            sku: Some("112".into()),
            name: "Chicken Katsu Curry".into(),
            quantity: 2,
            unit_price: gbp(1110),
            // 2 × 11.10 = 22.20, less the line's 6.30 discount.
            total: gbp(1590),
            modifiers: vec![Modifier {
                name: "Extra Sauce".into(),
                quantity: Some(1),
                price: gbp(0),
            }],
            ..Item::default()
        },
    ]
}

fn placed_order(status: OrderStatus, version: &str) -> Order {
    Order {
        external_id: "gb:32498deb-d730-4dfb-b034-38f2d24f5bfd".into(),
        display_id: Some("1753".into()),
        status: Some(status),
        version: Some(version.into()),
        currency: Currency::from_code("GBP").ok(),
        totals: Totals {
            // No `subtotal`: the partner's.
            subtotal: gbp(1770),
            discount: gbp(630),
            service_fee: gbp(10),
            total: gbp(1770),
            ..Totals::default()
        },
        items: placed_order_items(),
        customer: Some(Customer {
            name: Some("Alex".into()),
            // The bridge number, a pause, the access code.
            phone: Some("+442038083300,123456789".into()),
            email: None,
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            ..Fulfilment::default()
        }),
        note: Some("No pickles please.\nNO CUTLERY".into()),
        ..Order::default()
    }
}

#[test]
fn order_new_is_order_created_at_its_latest_status() {
    let (id, event) = one_event(&signed("order-new.http"));
    assert_eq!(id.topic, "order.new");
    assert_eq!(
        id.tenant, "348502bd-708f-4977-a02c-600c5419e2b7",
        "its site"
    );
    assert!(id.external_event_id.starts_with("sha256:"));
    assert_eq!(event.event_type, EventType::OrderCreated);
    assert_eq!(event.occurred_at, time("2022-03-07T16:12:13Z"));
    assert_eq!(event.status.as_deref(), Some("placed"));
    // 2022-03-07T16:12:13Z in milliseconds.
    assert_eq!(
        event.order,
        Some(placed_order(OrderStatus::Placed, "1646669533000"))
    );
}

#[test]
fn accepted_is_order_updated_at_its_fractional_time() {
    let (id, event) = one_event(&signed("order-status-update-accepted.http"));
    assert_eq!(id.topic, "order.status_update");
    assert_eq!(event.event_type, EventType::OrderUpdated);
    assert_eq!(event.occurred_at, time("2022-03-07T16:13:02.481516Z"));
    assert_eq!(
        event.order,
        Some(placed_order(OrderStatus::Accepted, "1646669582481"))
    );
}

#[test]
fn canceled_is_order_cancelled() {
    let (id, event) = one_event(&signed("order-status-update-canceled.http"));
    assert_eq!(id.tenant, "4163");
    assert_eq!(event.event_type, EventType::OrderCancelled);
    assert_eq!(event.occurred_at, time("2022-04-07T14:35:34.865695Z"));
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "gb:ec75c356-65f8-4bc6-8b0b-76abfa991fbf");
    assert_eq!(order.status, Some(OrderStatus::Cancelled));
    assert_eq!(order.totals.total, gbp(2600));
    assert_eq!(order.note.as_deref(), Some("NO CUTLERY"));
    assert_eq!(order.items.len(), 1);
}

#[test]
fn a_scheduled_order_by_the_sites_couriers_has_its_time_fee_and_address() {
    let (id, event) = one_event(&signed("order-new-scheduled-restaurant.http"));
    assert_eq!(id.tenant, "7721");
    assert_eq!(event.event_type, EventType::OrderCreated);
    let order = event.order.expect("order");
    assert_eq!(
        order.totals,
        Totals {
            subtotal: eur(2850),
            discount: eur(0),
            delivery_fee: eur(290),
            service_fee: eur(0),
            // 28.50 of items and 2.90 of delivery.
            total: eur(3140),
            ..Totals::default()
        }
    );
    assert_eq!(
        order.fulfilment,
        Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            address: Some(Address {
                lines: vec![
                    "12 rue de la Roquette".into(),
                    "Bâtiment B, 3e étage".into()
                ],
                city: Some("Paris".into()),
                postal_code: Some("75011".into()),
                ..Address::default()
            }),
            scheduled_for: Some(time("2025-06-14T12:15:00Z")),
            ..Fulfilment::default()
        })
    );
    assert_eq!(order.items[0].total, eur(2500));
    assert_eq!(order.items[0].modifiers[0].price, eur(175));
    assert_eq!(order.items[1].name, "Eau pétillante 50cl");
    assert_eq!(order.note.as_deref(), Some("Code porte 4821\nADD CUTLERY"));
}

#[test]
fn a_rider_event_is_fulfilment_updated_with_the_latest_status() {
    let req = signed("rider-status-update.http");
    let (id, event) = one_event(&req);
    assert_eq!(id.topic, "rider.status_update");
    assert_eq!(id.tenant, "_", "rider events name no site");
    assert_eq!(
        id.external_event_id,
        format!("sha256:{}", sha256_hex(&req.body))
    );
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    assert_eq!(event.occurred_at, time("2022-03-07T16:34:02Z"));
    assert_eq!(event.status.as_deref(), Some("rider_in_transit"));
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "gb:32498deb-d730-4dfb-b034-38f2d24f5bfd");
    assert_eq!(order.status, Some(OrderStatus::OutForDelivery));
    assert_eq!(
        order.fulfilment,
        Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            courier: Some(Courier {
                name: Some("Sam Rider".into()),
                phone: Some("+442038083301".into()),
                ..Courier::default()
            }),
            status: Some("rider_in_transit".into()),
            ..Fulfilment::default()
        })
    );
}

#[test]
fn the_legacy_new_order_is_an_accepted_order_signed_with_the_legacy_scheme() {
    let req = signed("legacy-new-order.http");
    let (id, event) = one_event(&req);
    assert_eq!(
        (id.topic.as_str(), id.tenant.as_str()),
        ("new_order", "33235")
    );
    assert_eq!(event.event_type, EventType::OrderCreated);
    assert_eq!(event.occurred_at, time("2017-03-20T18:04:00Z"));
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "1487734400-1234");
    assert_eq!(order.status, Some(OrderStatus::Accepted));
    assert_eq!(order.note.as_deref(), Some("Nut allergy"));
    assert_eq!(order.items[0].quantity, 2);
    assert_eq!(order.items[0].unit_price, gbp(650));
    assert_eq!(order.items[0].modifiers[0].name, "Extra cheese");

    // Its signature is over GUID + " \n " + body: the Order API scheme would not produce it.
    let guid = req.headers.get("X-Deliveroo-Sequence-Guid").expect("guid");
    let legacy = o2o_core::signature::sign_hmac_sha256(
        &o2o_core::Secret::new("dev-deliveroo-webhook-secret"),
        &[guid.as_bytes(), b" \n ", &req.body],
        o2o_core::signature::DigestEncoding::Hex,
    );
    assert_eq!(req.headers.get(SIGNATURE_HEADER), Some(legacy.as_str()));
}

#[test]
fn an_unmapped_event_is_ignored_and_a_body_without_its_order_is_a_field_error() {
    let deliveroo = deliveroo();
    let read = |body: &str| {
        let mut req = signed("order-new.http");
        req.body = body.as_bytes().to_vec();
        deliveroo.sign(&mut req).expect("sign");
        let verified = deliveroo.verify(&req).expect("verifies");
        let parsed = deliveroo.parse(&verified).expect("parses");
        let ctx = NormaliseContext {
            received_at: received_at(),
        };
        deliveroo.normalise(&parsed.id, parsed.message, &ctx)
    };
    assert_eq!(
        read(r#"{"event":"menu.updated","body":{}}"#),
        Ok(Normalised::Ignored(
            "event menu.updated is not mapped".into()
        ))
    );
    let missing = read(r#"{"event":"order.new","body":{}}"#).expect_err("no order");
    assert_eq!(missing.to_string(), "body.order: missing");
    let other_currency = read(
        r#"{"event":"order.new","body":{"order":{"id":"gb:1","total_price":{"fractional":100,"currency_code":"GBP"},"bag_fee":{"fractional":5,"currency_code":"EUR"}}}}"#,
    )
    .expect_err("mixed currencies");
    assert_eq!(
        other_currency.to_string(),
        "body.order.bag_fee: its currency is not the order's (total_price)"
    );
}
