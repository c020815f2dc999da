//! Every sample push in `events/eleme/` signed, verified, parsed and normalised, and the result
//! checked field by field against the sample's own JSON.

mod common;

use std::fs;

use common::{eleme, sample, sample_dir, signed};
use o2o_core::connector::{DeliveryId, NormaliseError, Normalised};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Refund, Totals,
};
use o2o_core::{Currency, EventDraft, Money, Timestamp, WebhookRequest};
use o2o_eleme::Thin;

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "delivery-delivering.http",
    "delivery-exception.http",
    "delivery-self.http",
    "order-accepted.http",
    "order-cancelled.http",
    "order-completed.http",
    "order-created.http",
    "order-part-refunded.http",
    "order-refunded.http",
    "order-thin.http",
];

type Reading = (DeliveryId, Result<Normalised<Thin>, NormaliseError>);

fn read_request(req: WebhookRequest) -> Reading {
    let connector = eleme();
    let req = signed(&connector, req);
    o2o_testkit::samples::read(&connector, &req).expect("parses")
}

fn read(name: &str) -> Reading {
    read_request(sample(name))
}

/// The one event of a sample, with its delivery id as `(tenant, event id, topic)`.
fn one_event(name: &str) -> ((String, String, String), EventDraft) {
    let (id, normalised) = read(name);
    let Ok(Normalised::Events(mut events)) = normalised else {
        panic!("{name}: {normalised:?}");
    };
    assert_eq!(events.len(), 1, "{name}");
    (
        (id.tenant, id.external_event_id, id.topic),
        events.remove(0),
    )
}

fn ids(tenant: &str, event: &str, topic: &str) -> (String, String, String) {
    (tenant.to_owned(), event.to_owned(), topic.to_owned())
}

fn cny(fen: i64) -> Option<Money> {
    Some(Money::from_minor(
        fen,
        Currency::from_code("CNY").expect("CNY"),
    ))
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).expect("a time")
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/eleme")
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

/// The type-10 envelope of the Java SDK's `JsonTest` (app id changed to the development app's).
#[test]
fn a_new_order_is_order_created_with_the_whole_order() {
    let (id, event) = one_event("order-created.http");
    assert_eq!(id, ids("150128203", "200005573145842090", "10"));
    assert_eq!(event.event_type, EventType::OrderCreated);
    // activeAt 2017-09-27T18:12:10 in GMT+8.
    assert_eq!(
        event.occurred_at,
        Timestamp::parse_rfc3339("2017-09-27T10:12:10Z").expect("t")
    );
    assert_eq!(event.status.as_deref(), Some("unprocessed"));
    let order = event.order.expect("order");
    let customer_name = "杜(女士)".to_owned();
    let phone = "18512177992".to_owned();
    let address = "启光艾加大厦上海市静安区延长中路581号3楼".to_owned();
    assert_eq!(
        order,
        Order {
            external_id: "3012966986714717290".into(),
            display_id: Some("1".into()),
            status: Some(OrderStatus::Placed),
            version: None,
            currency: Some(Currency::from_code("CNY").expect("CNY")),
            totals: Totals {
                // 0.01 + 40.18: the baskets, without the extra group's 餐盒 line.
                subtotal: cny(4019),
                // originalPrice 40.2 − totalPrice 39.7 (the 0.5 hongbao).
                discount: cny(50),
                tax: None,
                delivery_fee: cny(0),
                // packageFee.
                service_fee: cny(1),
                tip: None,
                total: cny(3970),
                // elemePart, shopPart and serviceFee are -0.0.
                platform_discount: cny(0),
                merchant_discount: cny(0),
                commission: cny(0),
                merchant_receivable: cny(4020),
            },
            presentment_totals: None,
            items: vec![
                Item {
                    external_id: Some("623050784".into()),
                    sku: Some("238364002730".into()),
                    name: "柠檬红茶-小杯".into(),
                    quantity: 1,
                    unit_price: cny(1),
                    total: cny(1),
                    modifiers: vec![Modifier {
                        name: "规格: 小杯".into(),
                        ..Modifier::default()
                    }],
                    note: None,
                },
                Item {
                    external_id: Some("623052833".into()),
                    sku: Some("238366100906".into()),
                    name: "柠檬绿茶".into(),
                    quantity: 2,
                    unit_price: cny(2009),
                    total: cny(4018),
                    modifiers: vec![],
                    note: None,
                },
            ],
            customer: Some(Customer {
                name: Some(customer_name.clone()),
                phone: Some(phone.clone()),
                email: None,
            }),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Delivery),
                address: Some(Address {
                    name: Some(customer_name),
                    phone: Some(phone),
                    lines: vec![address],
                    country_code: Some("CN".into()),
                    ..Address::default()
                }),
                scheduled_for: None,
                courier: None,
                status: None,
            }),
            payments: vec![],
            note: None,
        }
    );
}

#[test]
fn a_booked_order_keeps_its_promised_time_and_negative_parts_turn_positive() {
    let mut req = sample("order-created.http");
    let body = String::from_utf8(req.body)
        .expect("utf-8")
        .replace(r#"\"book\":false"#, r#"\"book\":true"#)
        .replace(
            r#"\"deliverTime\":null"#,
            r#"\"deliverTime\":\"2017-09-27 19:30:00\""#,
        )
        .replace(r#"\"elemePart\":-0.0"#, r#"\"elemePart\":-3.5"#)
        .replace(r#"\"shopPart\":-0.0"#, r#"\"shopPart\":-1.25"#)
        .replace(r#"\"serviceFee\":-0.0"#, r#"\"serviceFee\":-6.03"#)
        .replace(
            r#"\"phoneList\":[\"18512177992\"]"#,
            r#"\"phoneList\":[\"13800138000,1234\",\"18512177992\"]"#,
        );
    req.body = body.into_bytes();
    let (_, normalised) = read_request(req);
    let Ok(Normalised::Events(events)) = normalised else {
        panic!("{normalised:?}");
    };
    let order = events[0].order.clone().expect("order");
    let fulfilment = order.fulfilment.expect("fulfilment");
    assert_eq!(
        fulfilment.scheduled_for,
        Some(Timestamp::parse_rfc3339("2017-09-27T11:30:00Z").expect("t"))
    );
    assert_eq!(order.totals.platform_discount, cny(350));
    assert_eq!(order.totals.merchant_discount, cny(125));
    assert_eq!(order.totals.commission, cny(603));
    // Privacy numbers pass through exactly; the address keeps the first.
    assert_eq!(
        order.customer.expect("customer").phone.as_deref(),
        Some("13800138000,1234,18512177992")
    );
    assert_eq!(
        fulfilment.address.expect("address").phone.as_deref(),
        Some("13800138000,1234")
    );
}

#[test]
fn a_thin_order_push_is_enriched_later() {
    let (id, normalised) = read("order-thin.http");
    assert_eq!(
        (
            id.tenant.as_str(),
            id.external_event_id.as_str(),
            id.topic.as_str()
        ),
        ("150128203", "200005573145842091", "217")
    );
    assert_eq!(
        normalised,
        Ok(Normalised::Enrich(Thin {
            kind: 217,
            order_id: "3012966986714717290".into(),
            // timestamp 1506507130645 ms.
            occurred_at: at(1_506_507_130),
        }))
    );
}

/// The official type-12 sample (its `state` is `settled`; the type is what counts).
#[test]
fn status_pushes_update_cancel_or_complete_the_order() {
    let (id, event) = one_event("order-accepted.http");
    assert_eq!(id, ids("968861", "10135", "12"));
    assert_eq!(event.event_type, EventType::OrderUpdated);
    assert_eq!(event.occurred_at, at(1_482_161_481));
    assert_eq!(event.status.as_deref(), Some("settled"));
    assert_eq!(
        event.order,
        Some(Order {
            external_id: "100027500485933656".into(),
            status: Some(OrderStatus::Accepted),
            version: Some("1482161481".into()),
            ..Order::default()
        })
    );

    let (id, event) = one_event("order-completed.http");
    assert_eq!(id, ids("968861", "10136", "18"));
    assert_eq!(event.event_type, EventType::OrderCompleted);
    assert_eq!(event.occurred_at, at(1_482_165_081));
    let order = event.order.expect("order");
    assert_eq!(order.status, Some(OrderStatus::Completed));
}

#[test]
fn an_agreed_cancellation_is_order_cancelled() {
    let (id, event) = one_event("order-cancelled.http");
    assert_eq!(id, ids("968861", "7638", "23"));
    assert_eq!(event.event_type, EventType::OrderCancelled);
    assert_eq!(event.occurred_at, at(1_482_162_081));
    assert_eq!(event.status.as_deref(), Some("successful"));
    assert_eq!(event.refund, None);
    assert_eq!(
        event.order,
        Some(Order {
            external_id: "100027500485933656".into(),
            status: Some(OrderStatus::Cancelled),
            version: Some("1482162081".into()),
            currency: Some(Currency::from_code("CNY").expect("CNY")),
            ..Order::default()
        })
    );
}

#[test]
fn agreed_refunds_are_order_refunded_whole_or_in_part() {
    let (id, event) = one_event("order-refunded.http");
    assert_eq!(id, ids("150128203", "7639", "33"));
    assert_eq!(event.event_type, EventType::OrderRefunded);
    assert_eq!(event.occurred_at, at(1_506_596_400));
    assert_eq!(event.status.as_deref(), Some("successful"));
    let order = event.order.expect("order");
    assert_eq!(
        (order.external_id.as_str(), order.status),
        ("3012966986714717290", Some(OrderStatus::Refunded))
    );
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: None,
            amount: cny(3970),
            reason: Some("商品与描述不符".into()),
            items: vec![
                Item {
                    name: "柠檬红茶-小杯".into(),
                    quantity: 1,
                    unit_price: cny(1),
                    ..Item::default()
                },
                Item {
                    name: "柠檬绿茶".into(),
                    quantity: 2,
                    unit_price: cny(2009),
                    ..Item::default()
                },
            ],
        })
    );

    let (id, event) = one_event("order-part-refunded.http");
    assert_eq!(id, ids("150128203", "7640", "33"));
    assert_eq!(event.event_type, EventType::OrderRefunded);
    // Part of the order: it is not refunded as a whole.
    assert_eq!(event.order.expect("order").status, None);
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: None,
            amount: cny(2009),
            reason: Some("少送商品".into()),
            items: vec![Item {
                name: "柠檬绿茶".into(),
                quantity: 1,
                unit_price: cny(2009),
                ..Item::default()
            }],
        })
    );
}

#[test]
fn delivery_pushes_are_fulfilment_updated_with_the_courier() {
    let (id, event) = one_event("delivery-exception.http");
    assert_eq!(id, ids("968861", "8526", "60"));
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    // updateAt 1481964780000 ms.
    assert_eq!(event.occurred_at, at(1_481_964_780));
    let status = "exception/merchantCallLateError".to_owned();
    assert_eq!(event.status.as_ref(), Some(&status));
    assert_eq!(
        event.order,
        Some(Order {
            external_id: "100027491787995736".into(),
            status: None,
            version: Some("1481964780000".into()),
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Delivery),
                courier: Some(Courier {
                    name: Some("张 三丰".into()),
                    phone: Some("13988886666".into()),
                    ..Courier::default()
                }),
                status: Some(status),
                ..Fulfilment::default()
            }),
            ..Order::default()
        })
    );

    let (id, event) = one_event("delivery-self.http");
    assert_eq!(id, ids("508098428", "2311582597839852666", "71"));
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "8076190120874666666");
    let fulfilment = order.fulfilment.expect("fulfilment");
    assert_eq!(
        (fulfilment.status.as_deref(), fulfilment.courier),
        (Some("selfDelivery"), None)
    );

    let (id, event) = one_event("delivery-delivering.http");
    assert_eq!(id, ids("150128203", "8527", "55"));
    assert_eq!(event.occurred_at, at(1_506_508_330));
    let order = event.order.expect("order");
    assert_eq!(order.status, Some(OrderStatus::OutForDelivery));
    let fulfilment = order.fulfilment.expect("fulfilment");
    assert_eq!(fulfilment.status.as_deref(), Some("delivering"));
    assert_eq!(
        fulfilment.courier,
        Some(Courier {
            name: Some("李 四".into()),
            phone: Some("13900001111".into()),
            ..Courier::default()
        })
    );
}

fn retyped(name: &str, from: &str, to: &str) -> Reading {
    let mut req = sample(name);
    let body = String::from_utf8(req.body).expect("utf-8");
    assert!(body.contains(from), "{name}");
    req.body = body.replacen(from, to, 1).into_bytes();
    read_request(req)
}

#[test]
fn other_types_are_ignored_and_requests_are_updates() {
    let (id, normalised) = retyped("order-accepted.http", "\"type\": 12", "\"type\": 45");
    assert_eq!(id.topic, "45");
    assert_eq!(
        normalised,
        Ok(Normalised::Ignored("type 45 is not mapped".into()))
    );

    // The refund sample of the doc writes the type as a string.
    let (id, normalised) = retyped("order-refunded.http", "\"type\":33", "\"type\":\"30\"");
    assert_eq!(id.topic, "30");
    let Ok(Normalised::Events(events)) = normalised else {
        panic!("{normalised:?}");
    };
    assert_eq!(events[0].event_type, EventType::OrderUpdated);
    assert_eq!(events[0].refund, None);
    assert_eq!(events[0].order.as_ref().expect("order").status, None);

    // A partial cancellation refunds part of the order.
    let (_, normalised) = retyped(
        "order-cancelled.http",
        r#"\"refundType\":\"normal\""#,
        r#"\"refundType\":\"part\""#,
    );
    let Ok(Normalised::Events(events)) = normalised else {
        panic!("{normalised:?}");
    };
    assert_eq!(events[0].event_type, EventType::OrderRefunded);
    assert_eq!(events[0].refund.as_ref().and_then(|r| r.amount), cny(3970));
}

#[test]
fn an_unreadable_message_is_a_field_error_without_values() {
    let (_, normalised) = retyped(
        "order-accepted.http",
        r#"\"orderId\":\"100027500485933656\""#,
        r#"\"orderId\":{\"phone\":\"13988886666\"}"#,
    );
    let error = normalised.expect_err("not an order id").to_string();
    assert!(error.starts_with("message: payload:"), "{error}");
    assert!(!error.contains("13988886666"), "{error}");

    let (_, normalised) = retyped(
        "order-created.http",
        r#"\"totalPrice\":39.7"#,
        r#"\"totalPrice\":39.701"#,
    );
    assert_eq!(
        normalised.map(|_| ()).map_err(|e| e.to_string()),
        Err("message: totalPrice: more decimal places than CNY allows (2)".to_owned())
    );
}
