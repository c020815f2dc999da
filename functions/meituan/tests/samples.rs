//! Every sample push in `events/meituan/` signed, verified, parsed and normalised, and the result
//! checked field by field.
//!
//! The expected values were worked out by hand from the samples' parameters (yuan to fen, fen as
//! given), not copied from what the connector prints: where the two disagree, the connector is
//! wrong.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, PaymentLine, Refund, Totals,
};
use o2o_core::money::{Currency, Money};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_meituan::Meituan;

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "cancel.http",
    "logistics.http",
    "order-completed.http",
    "order.http",
    "refund-apply.http",
    "refund-part.http",
    "refund.http",
];

/// 2019-03-28T00:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_553_731_200;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/meituan")
}

fn meituan() -> Meituan {
    o2o_testkit::samples::dev_connector()
}

/// The sample `name`, signed with the development secret as Meituan would sign it.
fn signed(name: &str) -> WebhookRequest {
    signed_edited(name, |text| text)
}

/// The sample `name` with `edit` applied to its text, signed.
fn signed_edited(name: &str, edit: fn(String) -> String) -> WebhookRequest {
    let text = fs::read_to_string(sample_dir().join(name)).expect("the sample file is readable");
    let bytes = edit(text).into_bytes();
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    let mut req = sample.into_request(Timestamp::from_unix_seconds(RECEIVED_AT).expect("a time"));
    meituan().sign(&mut req).expect("sign");
    req
}

/// Verifies, parses and normalises `req` as the pipeline does; one event expected.
fn one_event(req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    let meituan = meituan();
    let verified = meituan.verify(req).expect("the signed sample verifies");
    let parsed = meituan.parse(&verified).expect("parses");
    let id = parsed.id.clone();
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    match meituan.normalise(&parsed.id, parsed.message, &ctx) {
        Ok(Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        other => panic!("expected one event, got {other:?}"),
    }
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).expect("a time")
}

fn cny(fen: i64) -> Option<Money> {
    Some(Money::from_minor(
        fen,
        Currency::from_code("CNY").expect("CNY"),
    ))
}

fn text(value: &str) -> Option<String> {
    Some(value.to_owned())
}

fn modifier(name: &str) -> Modifier {
    Modifier {
        name: name.into(),
        ..Modifier::default()
    }
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/meituan")
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

#[test]
fn a_paid_order_is_order_created_with_its_funding_split_and_settlement() {
    let (id, event) = one_event(&signed("order.http"));
    assert_eq!(
        (
            id.tenant.as_str(),
            id.topic.as_str(),
            id.external_event_id.as_str()
        ),
        ("1234", "order", "order:28983933726634026:2"),
        "no tenant in the URL: the app"
    );
    assert_eq!(event.event_type, EventType::OrderCreated);
    assert_eq!(event.occurred_at, at(1_553_709_836), "utime");
    assert_eq!(event.status, text("2"));
    let phone = text("13812345678_123456");
    let expected = Order {
        external_id: "28983933726634026".into(),
        display_id: text("#1"),
        status: Some(OrderStatus::Placed),
        version: text("1553709836000"),
        currency: Currency::from_code("CNY").ok(),
        totals: Totals {
            // 28.00 × 1 + 2.00 × 2.
            subtotal: cny(3200),
            // original_price 39.00 − total 31.00.
            discount: cny(800),
            delivery_fee: cny(500),
            // One box at 1.00 (the rice's box_num is 0) + package_bag_money 100 fen.
            service_fee: cny(200),
            total: cny(3100),
            // poi_receive_detail, in fen as given.
            platform_discount: cny(300),
            merchant_discount: cny(500),
            commission: cny(272),
            merchant_receivable: cny(2628),
            ..Totals::default()
        },
        items: vec![
            Item {
                sku: text("gbjd01"),
                name: "宫保鸡丁".into(),
                quantity: 1,
                unit_price: cny(2800),
                modifiers: vec![modifier("大份"), modifier("微辣")],
                ..Item::default()
            },
            Item {
                sku: text("mf01"),
                name: "米饭".into(),
                quantity: 2,
                unit_price: cny(200),
                ..Item::default()
            },
        ],
        customer: Some(Customer {
            name: text("陆(先生)"),
            phone: phone.clone(),
            email: None,
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            address: Some(Address {
                name: text("陆(先生)"),
                phone,
                lines: vec!["色金拉@#西藏自治区林芝市墨脱县色金拉".into()],
                country_code: text("CN"),
                ..Address::default()
            }),
            // delivery_time: booked for an hour after the order.
            scheduled_for: Some(at(1_553_713_436)),
            ..Fulfilment::default()
        }),
        payments: vec![PaymentLine {
            provider: text("meituan"),
            method: text("online"),
            amount: cny(3100),
            ..PaymentLine::default()
        }],
        note: text("少放辣 收餐人隐私号 13812345678_123456，手机号 138****5678"),
        ..Order::default()
    };
    assert_eq!(event.order, Some(expected));
    assert_eq!((event.payment, event.refund), (None, None));
}

#[test]
fn a_completed_pickup_order_takes_its_funding_from_extras_and_keeps_a_masked_phone() {
    let (id, event) = one_event(&signed("order-completed.http"));
    assert_eq!(id.external_event_id, "order:4612593754970170004:8");
    assert_eq!(event.event_type, EventType::OrderCompleted);
    let order = event.order.expect("an order");
    assert_eq!(
        order.external_id, "4612593754970170004",
        "above 2^53, exact"
    );
    assert_eq!(order.status, Some(OrderStatus::Completed));
    assert_eq!(
        order.totals,
        Totals {
            subtotal: cny(1250),
            discount: cny(200),
            delivery_fee: cny(0),
            // box_num 1 × box_price 0.
            service_fee: cny(0),
            total: cny(1050),
            // No poi_receive_detail: extras' mt_charge 0.5 and poi_charge 1.5.
            platform_discount: cny(50),
            merchant_discount: cny(150),
            ..Totals::default()
        }
    );
    assert_eq!(
        order.customer.and_then(|c| c.phone),
        text("178****1234"),
        "masked as given"
    );
    let fulfilment = order.fulfilment.expect("fulfilment");
    assert_eq!(fulfilment.kind, Some(FulfilmentType::Pickup));
    assert_eq!(
        fulfilment.scheduled_for, None,
        "delivery_time 0: as soon as possible"
    );
    assert_eq!(order.items[0].modifiers, vec![modifier("份")]);
}

#[test]
fn a_cancellation_by_get_is_order_cancelled_with_its_reason_code() {
    let req = signed("cancel.http");
    assert_eq!(req.method, "GET");
    assert!(req.body.is_empty());
    let (id, event) = one_event(&req);
    assert_eq!(id.external_event_id, "cancel:28983933726634026:1102");
    assert_eq!(event.event_type, EventType::OrderCancelled);
    assert_eq!(event.occurred_at, at(1_553_709_900), "the push's timestamp");
    assert_eq!(event.status, text("1102"));
    let order = event.order.expect("an order");
    assert_eq!(
        (order.external_id.as_str(), order.status),
        ("28983933726634026", Some(OrderStatus::Cancelled))
    );
}

#[test]
fn an_agreed_full_refund_is_order_refunded() {
    let (id, event) = one_event(&signed("refund.http"));
    assert_eq!(
        id.external_event_id,
        "refund:28983933726634026:69000012345678901:agree:2"
    );
    assert_eq!(event.event_type, EventType::OrderRefunded);
    assert_eq!(event.occurred_at, at(1_553_711_990), "ctime");
    assert_eq!(event.status, text("agree"));
    assert_eq!(
        event.order.and_then(|o| o.status),
        Some(OrderStatus::Refunded)
    );
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: text("69000012345678901"),
            // A full refund's push states no amount.
            amount: None,
            reason: text("商家同意退款"),
            items: vec![],
        })
    );
}

#[test]
fn a_refund_request_is_order_updated_without_a_refund() {
    let (id, event) = one_event(&signed("refund-apply.http"));
    assert_eq!(
        id.external_event_id,
        "refund:28983933726634026:69000012345678901:apply:0"
    );
    assert_eq!(event.event_type, EventType::OrderUpdated);
    assert_eq!(event.status, text("apply"));
    assert_eq!(event.refund, None);
    assert_eq!(event.order.and_then(|o| o.status), None);
}

#[test]
fn an_agreed_partial_refund_carries_its_amount_and_lines() {
    let (id, event) = one_event(&signed("refund-part.http"));
    assert_eq!(id.topic, "refund-part");
    assert_eq!(event.event_type, EventType::OrderRefunded);
    assert_eq!(
        event.order.and_then(|o| o.status),
        None,
        "a partial refund leaves the order's status"
    );
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: text("69000012345678999"),
            amount: cny(200),
            reason: text("少送米饭"),
            items: vec![Item {
                sku: text("mf01"),
                name: "米饭".into(),
                quantity: 1,
                unit_price: cny(200),
                total: cny(200),
                ..Item::default()
            }],
        })
    );
}

#[test]
fn a_rider_pickup_is_fulfilment_updated_with_the_rider() {
    let (id, event) = one_event(&signed("logistics.http"));
    assert_eq!(
        id.external_event_id,
        "logistics:28983933726634026:20:1553711000"
    );
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    assert_eq!(event.occurred_at, at(1_553_711_000), "time");
    let order = event.order.expect("an order");
    assert_eq!(order.status, Some(OrderStatus::OutForDelivery));
    assert_eq!(
        order.fulfilment,
        Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            courier: Some(Courier {
                name: text("张师傅"),
                phone: text("13812345678_123456"),
                ..Courier::default()
            }),
            status: text("20"),
            ..Fulfilment::default()
        })
    );
}

/// The same change pushed again (a retry, with a new timestamp and sig) has the same key.
#[test]
fn a_retry_with_a_new_timestamp_keeps_its_key() {
    let first = signed("refund.http");
    let again = signed_edited("refund.http", |text| {
        text.replace("timestamp=1553712000", "timestamp=1553712060")
    });
    assert_ne!(first.body, again.body);
    assert_eq!(one_event(&first).0, one_event(&again).0);
}
