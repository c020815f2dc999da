//! Every sample delivery in `events/youzan/` is signed, verified, parsed and normalised here, and
//! the result is checked field by field.
//!
//! The expected values are read from the samples by hand (the `msg` decoded), not taken from the
//! connector's output. Youzan's times have no zone and are Asia/Shanghai (+08:00): the expected
//! strings are the same instants in UTC (`2025-06-18 09:30:12` → `2025-06-18T01:30:12Z`).
//! Amounts are yuan strings, expected in fen. Line ids above 2^53 are compared digit for digit.

use std::path::{Path, PathBuf};

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Payment, PaymentLine, Refund, Totals,
};
use o2o_core::money::{Currency, Money};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Secret, Secrets, Timestamp, WebhookRequest};
use o2o_youzan::{EVENT_SIGN_HEADER, Settings, Youzan};

/// The sample files tested below ([`every_sample_has_a_test`] keeps this complete).
const COVERED: &[&str] = &[
    "refund-seller-agree.http",
    "refund-success.http",
    "test-delivery.http",
    "trade-buyer-pay-event-sign.http",
    "trade-close.http",
    "trade-create.http",
    "trade-memo-modified.http",
    "trade-paid.http",
    "trade-partly-seller-ship.http",
    "trade-seller-ship.http",
    "trade-success.http",
    "youzan-trade-refund-success-event-sign.http",
];

/// The app the samples are addressed to, and the test secret they are signed with.
const CLIENT_ID: &str = "6d1f4b2e8c7a9f3d15";
const SECRET: &str = "o2o-youzan-test-secret";
/// `kdt_id` of every sample.
const SHOP: &str = "44073129";
const ORDER_A: &str = "E20250618093012083200017";
const ORDER_B: &str = "E20250620184501063400021";
const ORDER_C: &str = "E20250622113005012300008";

// ---------------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------------

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/youzan")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600).expect("2026-01-01T00:00:00Z")
}

/// The connector for app `client_id` with `secrets` (newest first).
fn youzan(client_id: &str, secrets: &[&str]) -> Youzan {
    let secrets = Secrets::new(secrets.iter().map(|s| Secret::new(*s)).collect())
        .expect("at least one secret");
    Youzan::build(Settings {
        client_id: o2o_core::Identifier::new(client_id),
        secrets,
    })
    .expect("the settings build")
}

/// The connector for the app the samples are addressed to, with the test secret.
fn connector() -> Youzan {
    youzan(CLIENT_ID, &[SECRET])
}

fn unsigned(name: &str) -> WebhookRequest {
    let path = samples_dir().join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read sample {}: {e}", path.display()));
    parse_sample(&bytes)
        .expect("the sample file is an HTTP request")
        .into_request(received_at())
}

fn signed(name: &str) -> WebhookRequest {
    let mut req = unsigned(name);
    connector().sign(&mut req).expect("sign");
    req
}

fn verifies(req: &WebhookRequest, connector: &Youzan) -> Result<(), (u16, &'static str)> {
    connector
        .verify(req)
        .map(|_| ())
        .map_err(|r| (r.status, r.code))
}

fn rejection(req: &WebhookRequest, connector: &Youzan) -> (u16, &'static str) {
    verifies(req, connector).expect_err("the delivery must be refused")
}

/// A signed delivery as the pipeline reads it: verified (which reads the envelope), parsed once
/// from what `verify` read, and normalised. Reading the same payload again without `verify`'s
/// envelope (a stored delivery replayed) must give the same identity and result.
fn read(req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
    let connector = connector();
    let verified = connector
        .verify(req)
        .unwrap_or_else(|r| panic!("verify: {r:?}"));
    assert_eq!(
        verified.payload.as_ref(),
        req.body.as_slice(),
        "the payload is the raw body"
    );
    assert!(verified.facts.is_some(), "verify read the envelope");
    let parsed = connector.parse(&verified).expect("parse");
    let ctx = NormaliseContext {
        received_at: received_at(),
    };
    let normalised = connector
        .normalise(&parsed.id, parsed.message, &ctx)
        .unwrap_or_else(|e| panic!("{}: {e}", parsed.id.topic));
    let again = o2o_testkit::samples::read(&connector, req).expect("parse again");
    assert_eq!(
        again,
        (parsed.id.clone(), Ok(normalised.clone())),
        "read again without verify's envelope"
    );
    (parsed.id, normalised)
}

/// An authenticated payload (the request's body, not verified here) through parse and normalise.
fn read_payload(req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
    let (id, normalised) = o2o_testkit::samples::read(&connector(), req).expect("parse");
    let normalised = normalised.unwrap_or_else(|e| panic!("{}: {e}", id.topic));
    (id, normalised)
}

/// Signs, verifies and parses sample `name`, checks its envelope, and returns its one event.
fn single_event(name: &str, topic: &str, msg_id: &str) -> EventDraft {
    assert!(COVERED.contains(&name), "add {name} to COVERED");
    let req = signed(name);
    assert_eq!(verifies(&req, &connector()), Ok(()), "{name} verifies");
    let (delivery, normalised) = read(&req);
    assert_eq!(delivery.tenant, SHOP, "tenant (kdt_id)");
    assert_eq!(delivery.topic, topic, "topic (type)");
    assert_eq!(
        delivery.external_event_id, msg_id,
        "external_event_id (msg_id)"
    );
    match normalised {
        Normalised::Events(events) => match events.as_slice() {
            [event] => event.clone(),
            more => panic!("{name}: expected one event, got {}", more.len()),
        },
        other => panic!("{name}: expected events, got {other:?}"),
    }
}

fn cny(fen: i64) -> Money {
    Money::from_minor(fen, Currency::from_code("CNY").expect("CNY"))
}

fn utc(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("RFC 3339")
}

fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

fn modifier(name: &str) -> Modifier {
    Modifier {
        name: name.into(),
        ..Modifier::default()
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
    assert_eq!(&actual.totals, totals, "order.totals");
    assert_eq!(
        &actual.presentment_totals, presentment_totals,
        "order.presentment_totals"
    );
    assert_eq!(actual.items.len(), items.len(), "order.items count");
    for (i, (a, e)) in actual.items.iter().zip(items).enumerate() {
        assert_eq!(a, e, "order.items[{i}]");
    }
    assert_eq!(&actual.customer, customer, "order.customer");
    assert_eq!(&actual.fulfilment, fulfilment, "order.fulfilment");
    assert_eq!(&actual.payments, payments, "order.payments");
    assert_eq!(&actual.note, note, "order.note");
}

fn assert_event(
    event: &EventDraft,
    event_type: EventType,
    occurred_at: &str,
    status: Option<&str>,
) {
    assert_eq!(event.event_type, event_type, "event_type");
    assert_eq!(event.occurred_at, utc(occurred_at), "occurred_at");
    assert_eq!(event.status.as_deref(), status, "status");
}

// ---------------------------------------------------------------------------------------------
// Order A: shipped by express, two lines; created → paid → partly shipped → shipped → refund
// ---------------------------------------------------------------------------------------------

/// pay_info: total_fee 151.90 (68.00 × 2 + 15.90), post_fee 8.00, payment 151.50
/// (= lines' payment 128.50 + 15.00, plus the 8.00 postage).
fn totals_a() -> Totals {
    Totals {
        subtotal: Some(cny(15_190)),
        delivery_fee: Some(cny(800)),
        total: Some(cny(15_150)),
        ..Totals::default()
    }
}

fn items_a() -> Vec<Item> {
    vec![
        Item {
            external_id: s("2918374650192837461"),
            sku: s("CF-YN-500"),
            name: "云南小粒咖啡豆 500g".into(),
            quantity: 2,
            unit_price: Some(cny(6_800)),
            total: Some(cny(12_850)),
            modifiers: vec![modifier("烘焙度: 中深烘")],
            note: None,
        },
        Item {
            external_id: s("2918374650192837462"),
            // No outer_sku_id: the item code (outer_item_id) is the SKU.
            sku: s("FP-100"),
            name: "手冲滤纸 100 张".into(),
            quantity: 1,
            unit_price: Some(cny(1_590)),
            total: Some(cny(1_500)),
            modifiers: vec![],
            note: None,
        },
    ]
}

fn shipping_a(status: Option<&str>) -> Option<Fulfilment> {
    Some(Fulfilment {
        kind: Some(FulfilmentType::Shipping),
        address: Some(Address {
            name: s("林小雨"),
            phone: s("13800138000"),
            // `+` in the URL-encoded msg is a space.
            lines: vec!["西湖区".into(), "文三路 90 号 3 幢 502".into()],
            city: s("杭州市"),
            region: s("浙江省"),
            postal_code: s("310012"),
            country_code: None,
        }),
        scheduled_for: None,
        courier: None,
        status: status.map(str::to_owned),
    })
}

fn order_a(status: OrderStatus, version: &str, paid: bool, shipped: Option<&str>) -> Order {
    Order {
        external_id: ORDER_A.into(),
        display_id: s(ORDER_A),
        status: Some(status),
        version: s(version),
        currency: Currency::from_code("CNY").ok(),
        totals: totals_a(),
        presentment_totals: None,
        items: items_a(),
        customer: Some(Customer {
            name: s("小林"),
            phone: s("13800138000"),
            email: None,
        }),
        fulfilment: shipping_a(shipped),
        payments: if paid {
            vec![PaymentLine {
                provider: s("youzan"),
                method: s("WEIXIN_DAIXIAO"),
                amount: Some(cny(15_150)),
                status: None,
                paid_at: Some(utc("2025-06-18T01:31:40Z")),
            }]
        } else {
            vec![]
        },
        note: s("工作日 送到前台"),
    }
}

#[test]
fn trade_create_is_order_created() {
    let event = single_event(
        "trade-create.http",
        "trade_TradeCreate",
        "9814ebed-2452-4db7-9e4f-b65b2f489694",
    );
    assert_event(
        &event,
        EventType::OrderCreated,
        "2025-06-18T01:30:12Z",
        Some("WAIT_BUYER_PAY"),
    );
    let order = event.order.as_ref().expect("order");
    assert_order(
        order,
        &order_a(OrderStatus::PendingPayment, "1750210212", false, None),
    );
    assert_eq!(event.payment, None);
    assert_eq!(event.refund, None);
}

#[test]
fn trade_paid_is_payment_succeeded_with_the_order() {
    let event = single_event(
        "trade-paid.http",
        "trade_TradePaid",
        "3f6c2d1a-77b0-4c4e-9b1e-5a0d2c8e9f13",
    );
    assert_event(
        &event,
        EventType::PaymentSucceeded,
        "2025-06-18T01:31:40Z",
        Some("TRADE_PAID"),
    );
    let order = event.order.as_ref().expect("order");
    assert_order(
        order,
        &order_a(OrderStatus::Placed, "1750210300", true, None),
    );
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "youzan".into(),
            payment_id: s("250618093140000017"),
            order_ref: s(ORDER_A),
            amount: Some(cny(15_150)),
            status: s("TRADE_PAID"),
            method: s("WEIXIN_DAIXIAO"),
            failure_reason: None,
            ..Payment::default()
        })
    );
}

#[test]
fn trade_partly_seller_ship_is_fulfilment_updated_with_tracking() {
    let event = single_event(
        "trade-partly-seller-ship.http",
        "trade_TradePartlySellerShip",
        "5b8e1f2a-3c4d-4e6f-9a0b-1c2d3e4f5a6b",
    );
    assert_event(
        &event,
        EventType::FulfilmentUpdated,
        "2025-06-18T06:20:00Z",
        Some("WAIT_SELLER_SEND_GOODS"),
    );
    // This message names the order and the parcel only (no full_order_info).
    let expected = Order {
        external_id: ORDER_A.into(),
        display_id: s(ORDER_A),
        status: Some(OrderStatus::Placed),
        version: s("1750227600"),
        fulfilment: Some(Fulfilment {
            courier: Some(Courier {
                tracking_number: s("SF1402938475610"),
                ..Courier::default()
            }),
            status: s("WAIT_SELLER_SEND_GOODS"),
            ..Fulfilment::default()
        }),
        ..Order::default()
    };
    assert_order(event.order.as_ref().expect("order"), &expected);
    assert_eq!(event.payment, None);
}

#[test]
fn trade_seller_ship_is_fulfilment_updated() {
    let event = single_event(
        "trade-seller-ship.http",
        "trade_TradeSellerShip",
        "c0a4e7d2-1b3f-4a5e-8d6c-7f9e0a1b2c3d",
    );
    // consign_time 2025-06-18 15:02:09 (+08:00).
    assert_event(
        &event,
        EventType::FulfilmentUpdated,
        "2025-06-18T07:02:09Z",
        Some("WAIT_BUYER_CONFIRM_GOODS"),
    );
    let expected = order_a(
        OrderStatus::OutForDelivery,
        "1750230129",
        true,
        Some("WAIT_BUYER_CONFIRM_GOODS"),
    );
    assert_order(event.order.as_ref().expect("order"), &expected);
}

#[test]
fn trade_memo_modified_is_order_updated() {
    let event = single_event(
        "trade-memo-modified.http",
        "trade_TradeMemoModified",
        "e2d3c4b5-a697-4881-b9c0-d1e2f3a4b5c6",
    );
    assert_event(
        &event,
        EventType::OrderUpdated,
        "2025-06-18T08:05:44Z",
        Some("WAIT_BUYER_CONFIRM_GOODS"),
    );
    let expected = Order {
        external_id: ORDER_A.into(),
        display_id: s(ORDER_A),
        status: Some(OrderStatus::OutForDelivery),
        version: s("1750233944"),
        ..Order::default()
    };
    assert_order(event.order.as_ref().expect("order"), &expected);
}

#[test]
fn refund_success_is_order_refunded_with_the_amount() {
    let event = single_event(
        "refund-success.http",
        "trade_refund_RefundSuccess",
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    );
    assert_event(
        &event,
        EventType::OrderRefunded,
        "2025-06-25T09:12:35Z",
        None,
    );
    let expected = Order {
        external_id: ORDER_A.into(),
        display_id: s(ORDER_A),
        version: s("1750842755"),
        currency: Currency::from_code("CNY").ok(),
        ..Order::default()
    };
    assert_order(event.order.as_ref().expect("order"), &expected);
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: s("201906251712350001"),
            amount: Some(cny(1_500)),
            reason: s("RETURNS_QUALITY"),
            items: vec![],
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Order B: picked up in store; Order C: local delivery, newer Event-Sign form
// ---------------------------------------------------------------------------------------------

#[test]
fn trade_success_is_order_completed_with_pickup() {
    let event = single_event(
        "trade-success.http",
        "trade_TradeSuccess",
        "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
    );
    // success_time 2025-06-21 10:32:15 (+08:00).
    assert_event(
        &event,
        EventType::OrderCompleted,
        "2025-06-21T02:32:15Z",
        Some("TRADE_SUCCESS"),
    );
    let expected = Order {
        external_id: ORDER_B.into(),
        display_id: s(ORDER_B),
        status: Some(OrderStatus::Completed),
        version: s("1750473135"),
        currency: Currency::from_code("CNY").ok(),
        totals: Totals {
            subtotal: Some(cny(3_600)),
            delivery_fee: Some(cny(0)),
            total: Some(cny(3_600)),
            ..Totals::default()
        },
        presentment_totals: None,
        items: vec![Item {
            external_id: s("2923456789012345678"),
            sku: s("GHG-01"),
            name: "桂花糕".into(),
            quantity: 3,
            unit_price: Some(cny(1_200)),
            total: Some(cny(3_600)),
            modifiers: vec![],
            note: None,
        }],
        // fans_nickname is empty: only the phone is known.
        customer: Some(Customer {
            name: None,
            phone: s("13911112222"),
            email: None,
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Pickup),
            // From self_fetch_info: the store, and who collects.
            address: Some(Address {
                name: s("陈一"),
                phone: s("13911112222"),
                lines: vec![
                    "上城区".into(),
                    "O2O演示小店（湖滨店）".into(),
                    "湖滨路 12 号".into(),
                ],
                city: s("杭州市"),
                region: s("浙江省"),
                postal_code: None,
                country_code: None,
            }),
            ..Fulfilment::default()
        }),
        payments: vec![PaymentLine {
            provider: s("youzan"),
            method: s("ALIPAY"),
            amount: Some(cny(3_600)),
            status: None,
            paid_at: Some(utc("2025-06-20T10:45:30Z")),
        }],
        note: None,
    };
    assert_order(event.order.as_ref().expect("order"), &expected);
}

#[test]
fn trade_buyer_pay_in_the_event_sign_form() {
    let req = signed("trade-buyer-pay-event-sign.http");
    assert_eq!(
        req.headers.get(EVENT_SIGN_HEADER).map(str::len),
        Some(32),
        "signed in the header"
    );
    assert_eq!(req.body, unsigned("trade-buyer-pay-event-sign.http").body);
    let event = single_event(
        "trade-buyer-pay-event-sign.http",
        "trade_TradeBuyerPay",
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5e",
    );
    assert_event(
        &event,
        EventType::PaymentSucceeded,
        "2025-06-22T03:30:21Z",
        Some("WAIT_SELLER_SEND_GOODS"),
    );
    let expected = Order {
        external_id: ORDER_C.into(),
        display_id: s(ORDER_C),
        status: Some(OrderStatus::Placed),
        version: s("1750563021"),
        currency: Currency::from_code("CNY").ok(),
        // 18.00 × 2 = 36.00 items, 5.00 delivery, 38.00 paid (33.00 + 5.00).
        totals: Totals {
            subtotal: Some(cny(3_600)),
            delivery_fee: Some(cny(500)),
            total: Some(cny(3_800)),
            ..Totals::default()
        },
        presentment_totals: None,
        items: vec![Item {
            // A JSON number above 2^53 in the message, kept digit for digit.
            external_id: s("2931234567890123457"),
            sku: s("OJ-L"),
            name: "鲜榨橙汁 大杯".into(),
            quantity: 2,
            unit_price: Some(cny(1_800)),
            total: Some(cny(3_300)),
            modifiers: vec![modifier("温度: 少冰"), modifier("甜度: 七分糖")],
            note: s("不要吸管"),
        }],
        customer: Some(Customer {
            name: s("远 方"),
            phone: s("13700001111"),
            email: None,
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            address: Some(Address {
                name: s("周远"),
                phone: s("13700001111"),
                lines: vec!["上城区".into(), "庆春路 118 号 嘉德广场 21 楼".into()],
                city: s("杭州市"),
                region: s("浙江省"),
                postal_code: None,
                country_code: None,
            }),
            ..Fulfilment::default()
        }),
        payments: vec![PaymentLine {
            provider: s("youzan"),
            method: s("WEIXIN"),
            amount: Some(cny(3_800)),
            status: None,
            paid_at: Some(utc("2025-06-22T03:30:21Z")),
        }],
        note: None,
    };
    assert_order(event.order.as_ref().expect("order"), &expected);
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "youzan".into(),
            payment_id: s("250622113021000008"),
            order_ref: s(ORDER_C),
            amount: Some(cny(3_800)),
            status: s("WAIT_SELLER_SEND_GOODS"),
            method: s("WEIXIN"),
            failure_reason: None,
            ..Payment::default()
        })
    );
}

#[test]
fn refund_seller_agree_is_order_refunded() {
    let event = single_event(
        "refund-seller-agree.http",
        "trade_refund_RefundSellerAgree",
        "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e",
    );
    assert_event(
        &event,
        EventType::OrderRefunded,
        "2025-06-22T05:40:11Z",
        None,
    );
    assert_eq!(
        event.order.as_ref().map(|o| o.external_id.as_str()),
        Some(ORDER_C)
    );
    assert_eq!(
        event.order.as_ref().and_then(|o| o.version.as_deref()),
        Some("1750570811")
    );
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: s("201906221340110002"),
            amount: Some(cny(1_650)),
            reason: s("COMMON_BUYWRONG"),
            items: vec![],
        })
    );
}

#[test]
fn newer_refund_message_with_an_object_msg() {
    let event = single_event(
        "youzan-trade-refund-success-event-sign.http",
        "youzan_trade_RefundSuccess",
        "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70",
    );
    // The message has no time of its own: the receive time stands in.
    assert_eq!(event.event_type, EventType::OrderRefunded);
    assert_eq!(event.occurred_at, received_at());
    let expected = Order {
        external_id: ORDER_B.into(),
        display_id: s(ORDER_B),
        version: s("1750474845"),
        currency: Currency::from_code("CNY").ok(),
        ..Order::default()
    };
    assert_order(event.order.as_ref().expect("order"), &expected);
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: s("201906211100450003"),
            amount: Some(cny(1_200)),
            reason: None,
            items: vec![],
        })
    );
}

#[test]
fn trade_close_is_order_cancelled() {
    let event = single_event(
        "trade-close.http",
        "trade_TradeClose",
        "6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a098",
    );
    assert_event(
        &event,
        EventType::OrderCancelled,
        "2025-06-23T01:11:22Z",
        Some("TRADE_CLOSED"),
    );
    let expected = Order {
        external_id: "E20250623081122045600003".into(),
        display_id: s("E20250623081122045600003"),
        status: Some(OrderStatus::Cancelled),
        version: s("1750641082"),
        ..Order::default()
    };
    assert_order(event.order.as_ref().expect("order"), &expected);
}

#[test]
fn test_delivery_is_verified_and_ignored() {
    let req = signed("test-delivery.http");
    assert_eq!(verifies(&req, &connector()), Ok(()));
    let (_, normalised) = read(&req);
    assert_eq!(normalised, Normalised::Ignored("test delivery".into()));
    // Unsigned, it is refused like any other delivery.
    assert_eq!(
        rejection(&unsigned("test-delivery.http"), &connector()),
        (401, "signature_missing")
    );
}

// ---------------------------------------------------------------------------------------------
// Signing and rejections, over every sample
// ---------------------------------------------------------------------------------------------

/// The legacy samples get the body `sign`, the Event-Sign samples the header; every signed sample
/// verifies, and fails with a wrong secret, a wrong client_id, a tampered body or no signature.
#[test]
fn every_sample_is_refused_when_forged_tampered_or_unsigned() {
    for name in COVERED {
        let req = signed(name);
        let header_form = name.contains("event-sign");
        assert_eq!(
            req.headers
                .get(EVENT_SIGN_HEADER)
                .is_some_and(|h| !h.is_empty()),
            header_form,
            "{name}: form"
        );
        assert_eq!(verifies(&req, &connector()), Ok(()), "{name}");
        assert_eq!(
            verifies(&req, &youzan(CLIENT_ID, &["rotated-new", SECRET])),
            Ok(()),
            "{name}: the previous secret still verifies during rotation"
        );
        assert_eq!(
            rejection(&req, &youzan(CLIENT_ID, &["wrong-secret"])),
            (401, "signature_mismatch"),
            "{name}: wrong key"
        );
        assert_eq!(
            rejection(&req, &youzan("a0a0a0a0a0a0a0a0a0", &[SECRET])),
            (401, "client_id_mismatch"),
            "{name}: another app"
        );
        // Tampered: one character of the (signed) msg changed.
        let mut tampered = req.clone();
        let body = String::from_utf8(tampered.body).expect("utf8");
        let at = body.find("\"msg\":").expect("msg") + 8;
        let mut bytes = body.into_bytes();
        bytes[at] = if bytes[at] == b'9' { b'8' } else { b'9' };
        tampered.body = bytes;
        assert_eq!(
            rejection(&tampered, &connector()),
            (401, "signature_mismatch"),
            "{name}: tampered"
        );
        // Missing: the unsigned sample (empty header, empty body sign).
        assert_eq!(
            rejection(&unsigned(name), &connector()).0,
            401,
            "{name}: unsigned"
        );
    }
}

#[test]
fn a_header_signature_takes_precedence_over_the_body_sign() {
    // A legacy sample whose body sign is valid, but with a forged Event-Sign header: refused.
    let mut req = signed("trade-create.http");
    req.headers
        .set(EVENT_SIGN_HEADER, "0123456789abcdef0123456789abcdef");
    assert_eq!(rejection(&req, &connector()), (401, "signature_mismatch"));
    // A valid header over the same body is enough even if the body sign is forged.
    let mut req = unsigned("trade-create.http");
    req.headers.set(EVENT_SIGN_HEADER, "");
    connector().sign(&mut req).expect("sign");
    assert_eq!(verifies(&req, &connector()), Ok(()));
}

#[test]
fn the_path_tenant_wins_over_kdt_id() {
    let mut req = signed("trade-paid.http");
    req.path_tenant = Some("hangzhou-store".into());
    assert_eq!(
        verifies(&req, &connector()),
        Ok(()),
        "the tenant is not signed"
    );
    let (delivery, _) = read(&req);
    assert_eq!(delivery.tenant, "hangzhou-store");
}

#[test]
fn unmapped_types_are_ignored() {
    let mut req = signed("trade-close.http");
    let body = String::from_utf8(req.body).expect("utf8");
    req.body = body
        .replace("trade_TradeClose", "trade_refund_BuyerCreated")
        .into_bytes();
    let (_, normalised) = read_payload(&req);
    assert_eq!(
        normalised,
        Normalised::Ignored("message type trade_refund_BuyerCreated is not mapped".into())
    );
}

#[test]
fn ack_is_youzans_success_reply() {
    let ack = connector().ack();
    assert_eq!(
        (ack.status, ack.content_type.as_str(), ack.body.as_str()),
        (200, "application/json", r#"{"code":0,"msg":"success"}"#)
    );
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("events/youzan")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".http"))
        .collect();
    names.sort();
    assert_eq!(names, COVERED);
}
