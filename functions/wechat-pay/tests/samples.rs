//! Every sample notification in `events/wechat-pay/` encrypted and signed as WeChat Pay would,
//! verified, decrypted, parsed and normalised, and the result checked field by field.
//!
//! The expected values were read off the samples' plaintext resources (amounts in fen, times
//! converted from +08:00 by hand), not copied from what the connector prints.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    ChannelKind, EventType, Payment, Refund, SchemaVersion, Source, UnifiedOrderEvent,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::group_id;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_wechat_pay::{Settings, WeChatPay};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "refund-abnormal.http",
    "refund-closed.http",
    "refund-success-partial.http",
    "transaction-success.http",
];

/// 2025-06-03T02:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_748_916_000;
const PUB_KEY_ID: &str = "PUB_KEY_ID_0000000000000000000000000000000001";
const ORDER: &str = "1217752501201407033233368018";
const TRANSACTION: &str = "4200002206202506011234567890";

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/wechat-pay")
}

fn key(name: &str) -> String {
    fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/keys")
            .join(name),
    )
    .expect("a test key")
}

/// The development table (the proposed `[channels.wechat-pay]`), with `changes`.
fn table(changes: &[(&str, Value)]) -> Value {
    let mut table = json!({
        "mch_id": "1230000109",
        "app_id": "wxd678efh567hg6787",
        "api_v3_key": "o2oDevApiV3Key000123456789abcdef",
        "platform_public_keys": { PUB_KEY_ID: key("test-platform-public-key.pem") },
        "test_signing_key": key("test-platform-private-key.pem"),
        "test_signing_serial": PUB_KEY_ID,
    });
    for (name, value) in changes {
        table[*name] = value.clone();
    }
    table
}

fn connector(changes: &[(&str, Value)]) -> WeChatPay {
    let table = table(changes);
    let settings = table.as_object().cloned().expect("a table");
    let settings = parse_settings::<Settings>(&settings, "channels.wechat-pay")
        .unwrap_or_else(|e| panic!("{e}"));
    WeChatPay::build(settings).unwrap_or_else(|e| panic!("{e}"))
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

/// The sample `name`, encrypted and signed with the test key as WeChat Pay would.
fn signed(connector: &WeChatPay, name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/wechat-pay"),
        "{name}"
    );
    let mut req = sample.into_request(received_at());
    connector.sign(&mut req).expect("sign");
    let body: Value = serde_json::from_slice(&req.body).expect("JSON");
    assert!(
        body["resource"].get("plaintext").is_none(),
        "{name}: sealed"
    );
    assert!(body["resource"]["ciphertext"].is_string(), "{name}: sealed");
    req
}

/// Verifies, parses and normalises `req` as the pipeline does.
fn read(connector: &WeChatPay, req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let parsed = connector.parse(&verified).expect("parses");
    let id = parsed.id.clone();
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    let normalised = connector
        .normalise(&parsed.id, parsed.message, &ctx)
        .expect("normalises");
    (id, normalised)
}

fn one_event(connector: &WeChatPay, req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    match read(connector, req) {
        (id, Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        (_, other) => panic!("expected one event, got {other:?}"),
    }
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn cny(fen: i64) -> Option<Money> {
    Some(Money::from_minor(
        fen,
        Currency::from_code("CNY").expect("CNY"),
    ))
}

fn id(external_event_id: &str, topic: &str) -> DeliveryId {
    DeliveryId {
        tenant: "1230000109".into(),
        external_event_id: external_event_id.into(),
        topic: topic.into(),
    }
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/wechat-pay")
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
    assert!(COVERED.contains(&WeChatPay::info().default_sample));
}

#[test]
fn a_payment_success_is_a_succeeded_payment() {
    let connector = connector(&[]);
    let req = signed(&connector, "transaction-success.http");
    let (id, event) = one_event(&connector, &req);
    assert_eq!(
        id,
        self::id("EV-2018022511223320873", "TRANSACTION.SUCCESS")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentSucceeded,
            // success_time 2025-06-01T10:34:56+08:00.
            occurred_at: time("2025-06-01T02:34:56Z"),
            status: Some("SUCCESS".into()),
            order: None,
            payment: Some(Payment {
                provider: "wechat-pay".into(),
                payment_id: Some(TRANSACTION.into()),
                order_ref: Some(ORDER.into()),
                order_channel: None,
                order_tenant: None,
                amount: cny(8800),
                status: Some("SUCCESS".into()),
                method: Some("JSAPI".into()),
                failure_reason: None,
                dispute: None,
            }),
            refund: None,
        }
    );
}

#[test]
fn a_partial_refund_is_a_refunded_payment_with_the_refunded_amount() {
    let connector = connector(&[]);
    let req = signed(&connector, "refund-success-partial.http");
    let (id, event) = one_event(&connector, &req);
    assert_eq!(id, self::id("EV-2018022511223320874", "REFUND.SUCCESS"));
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentRefunded,
            // success_time 2025-06-02T10:15:00+08:00.
            occurred_at: time("2025-06-02T02:15:00Z"),
            status: Some("SUCCESS".into()),
            order: None,
            payment: Some(Payment {
                provider: "wechat-pay".into(),
                payment_id: Some(TRANSACTION.into()),
                order_ref: Some(ORDER.into()),
                // The payment's total; 30.00 of 88.00 was refunded.
                amount: cny(8800),
                ..Payment::default()
            }),
            refund: Some(Refund {
                external_id: Some("50300603012025060212345678901".into()),
                amount: cny(3000),
                reason: None,
                items: Vec::new(),
            }),
        }
    );
}

#[test]
fn a_refund_that_did_not_complete_is_ignored() {
    let connector = connector(&[]);
    for (name, event_id, topic) in [
        (
            "refund-abnormal.http",
            "EV-2018022511223320875",
            "REFUND.ABNORMAL",
        ),
        (
            "refund-closed.http",
            "EV-2018022511223320876",
            "REFUND.CLOSED",
        ),
    ] {
        let req = signed(&connector, name);
        let (id, normalised) = read(&connector, &req);
        assert_eq!(id, self::id(event_id, topic), "{name}");
        match normalised {
            Normalised::Ignored(reason) => assert!(reason.starts_with(topic), "{reason}"),
            other => panic!("{name}: expected an ignore, got {other:?}"),
        }
    }
}

#[test]
fn the_url_tenant_comes_first() {
    let connector = connector(&[]);
    let mut req = signed(&connector, "transaction-success.http");
    req.path_tenant = Some("store-7".into());
    let (id, _) = one_event(&connector, &req);
    assert_eq!(id.tenant, "store-7");
}

#[test]
fn a_stored_delivery_reopens_to_the_same_events() {
    let connector = connector(&[]);
    let req = signed(&connector, "refund-success-partial.http");
    let verified = connector.verify(&req).expect("verifies");
    let reopened = connector.reopen(&req).expect("reopens");
    assert_eq!(reopened.payload, verified.payload);
    let parsed = connector.parse(&reopened).expect("parses");
    assert_eq!(parsed.id.external_event_id, "EV-2018022511223320874");
}

/// A unified event made from a draft, as the pipeline would stamp it.
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: format!("{}-0", id.external_event_id),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: received_at(),
        source: Source {
            channel: "wechat-pay".into(),
            channel_kind: ChannelKind::Payment,
            tenant: id.tenant.clone(),
            external_event_id: id.external_event_id.clone(),
            topic: id.topic.clone(),
            status: draft.status,
        },
        order: draft.order,
        payment: draft.payment,
        refund: draft.refund,
        command: None,
    }
}

#[test]
fn a_payment_and_its_refund_join_their_orders_group() {
    for (link, group) in [
        (vec![], format!("wechat-pay:1230000109:{ORDER}")),
        (
            vec![("orders_channel", json!("shopify"))],
            format!("shopify:1230000109:{ORDER}"),
        ),
        (
            vec![
                ("orders_channel", json!("shopify")),
                ("orders_tenant", json!("shop.myshopify.com")),
            ],
            format!("shopify:shop.myshopify.com:{ORDER}"),
        ),
    ] {
        let connector = connector(&link);
        let groups: Vec<String> = ["transaction-success.http", "refund-success-partial.http"]
            .iter()
            .map(|name| {
                let (id, draft) = one_event(&connector, &signed(&connector, name));
                let payment = draft.payment.as_ref().expect("a payment");
                let expected_channel = link.first().map(|_| "shopify".to_owned());
                assert_eq!(payment.order_channel, expected_channel, "{name}");
                group_id(&unified(&id, draft))
            })
            .collect();
        assert_eq!(groups, [group.clone(), group]);
    }
}
