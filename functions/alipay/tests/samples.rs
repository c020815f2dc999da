//! Every sample notification in `events/alipay/` signed, verified, parsed and normalised, and the
//! result checked field by field.
//!
//! The expected values were read off the samples' forms (times converted from China time by
//! hand), not copied from what the connector prints: where the two disagree, the connector is
//! wrong.

use std::fs;
use std::path::PathBuf;

use o2o_alipay::{ACK, Alipay, Settings};
use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    ChannelKind, EventType, Payment, Refund, SchemaVersion, Source, UnifiedOrderEvent,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::group_id;
use o2o_core::sample::parse_sample;
use o2o_core::settings::{SettingsTable, parse_settings};
use o2o_core::{Connector, Reply, Timestamp, WebhookRequest};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "refund-full.http",
    "refund-partial.http",
    "trade-closed.http",
    "trade-finished.http",
    "trade-success.http",
];

/// The samples' app (the APPID of Alipay's documentation examples) and merchant.
const APP_ID: &str = "2014072300007148";
const SELLER_ID: &str = "2088102146225135";
/// The trade of the samples' order 1001.
const TRADE_NO: &str = "2025030122001477001234567890";

/// 2025-06-02T00:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_748_822_400;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/alipay")
}

/// The bare base64 of a PEM file under `tests/keys/`.
fn key_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name);
    fs::read_to_string(path)
        .expect("a test key")
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect()
}

/// The development table proposed for `o2o.toml` (`[channels.alipay]`), with `changes`.
fn dev_table(changes: &[(&str, Value)]) -> SettingsTable {
    let mut table = json!({
        "app_id": APP_ID,
        "seller_id": SELLER_ID,
        "alipay_public_key": key_file("dev-public-key.pem"),
        "test_signing_key": key_file("dev-private-key.pem"),
    });
    for (name, value) in changes {
        table[*name] = value.clone();
    }
    match table {
        Value::Object(table) => table,
        _ => unreachable!("a JSON object"),
    }
}

fn alipay_with(changes: &[(&str, Value)]) -> Alipay {
    let settings: Settings =
        parse_settings(&dev_table(changes), "channels.alipay").unwrap_or_else(|e| panic!("{e}"));
    Alipay::build(settings).unwrap_or_else(|e| panic!("{e}"))
}

fn alipay() -> Alipay {
    alipay_with(&[])
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

/// The sample `name`, signed with the development key as Alipay would sign it.
fn signed_with(connector: &Alipay, name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/alipay"),
        "{name}"
    );
    let mut req = sample.into_request(received_at());
    connector.sign(&mut req).expect("sign");
    req
}

fn signed(name: &str) -> WebhookRequest {
    signed_with(&alipay(), name)
}

/// Verifies, parses and normalises `req` as the pipeline does.
fn read_with(connector: &Alipay, req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
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

/// One event expected.
fn one_event_with(connector: &Alipay, req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    match read_with(connector, req) {
        (id, Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        other => panic!("expected one event, got {other:?}"),
    }
}

fn one_event(name: &str) -> (DeliveryId, EventDraft) {
    one_event_with(&alipay(), &signed(name))
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn cny(minor: i64) -> Option<Money> {
    Some(Money::from_minor(
        minor,
        Currency::from_code("CNY").expect("CNY"),
    ))
}

fn id(notify_id: &str, topic: &str) -> DeliveryId {
    DeliveryId {
        tenant: APP_ID.into(),
        external_event_id: notify_id.into(),
        topic: topic.into(),
    }
}

/// The payment of order 1001.
fn order_1001(status: &str) -> Payment {
    Payment {
        provider: "alipay".into(),
        payment_id: Some(TRADE_NO.into()),
        order_ref: Some("1001".into()),
        amount: cny(8880),
        status: Some(status.into()),
        ..Payment::default()
    }
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/alipay")
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
    assert_eq!(
        <Alipay as Connector>::info().default_sample,
        "trade-success.http"
    );
}

#[test]
fn trade_success_is_payment_succeeded_at_its_payment_time() {
    let (id_, event) = one_event("trade-success.http");
    assert_eq!(
        id_,
        id(
            "2025030100222120005077001234567890",
            "trade_status_sync.TRADE_SUCCESS"
        )
    );
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    // gmt_payment 2025-03-01 12:00:03 in Asia/Shanghai.
    assert_eq!(event.occurred_at, time("2025-03-01T04:00:03Z"));
    assert_eq!(event.status.as_deref(), Some("TRADE_SUCCESS"));
    assert_eq!(event.order, None);
    assert_eq!(event.payment, Some(order_1001("TRADE_SUCCESS")));
    assert_eq!(event.refund, None);
}

#[test]
fn a_refund_on_a_successful_trade_is_a_partial_payment_refunded() {
    let (id_, event) = one_event("refund-partial.http");
    assert_eq!(
        id_,
        id(
            "2025030200222101531077001234567891",
            "trade_status_sync.TRADE_SUCCESS"
        )
    );
    assert_eq!(event.event_type, EventType::PaymentRefunded);
    // gmt_refund 2025-03-02 10:15:30.320 in Asia/Shanghai.
    assert_eq!(event.occurred_at, time("2025-03-02T02:15:30.320Z"));
    assert_eq!(event.status.as_deref(), Some("TRADE_SUCCESS"));
    assert_eq!(event.payment, Some(order_1001("TRADE_SUCCESS")));
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: Some("1001-RF1".into()),
            // refund_fee 20.00 of the 88.80 paid.
            amount: cny(2000),
            ..Refund::default()
        })
    );
}

#[test]
fn a_refund_that_closes_the_trade_is_a_full_payment_refunded() {
    let (id_, event) = one_event("refund-full.http");
    assert_eq!(
        id_,
        id(
            "2025030300222093002077001234567892",
            "trade_status_sync.TRADE_CLOSED"
        )
    );
    assert_eq!(event.event_type, EventType::PaymentRefunded);
    // gmt_refund 2025-03-03 09:30:01.045 in Asia/Shanghai.
    assert_eq!(event.occurred_at, time("2025-03-03T01:30:01.045Z"));
    assert_eq!(event.status.as_deref(), Some("TRADE_CLOSED"));
    assert_eq!(event.payment, Some(order_1001("TRADE_CLOSED")));
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: Some("1001-RF2".into()),
            // refund_fee: everything refunded, 88.80.
            amount: cny(8880),
            ..Refund::default()
        })
    );
}

#[test]
fn a_trade_closed_unpaid_is_payment_failed() {
    let (id_, event) = one_event("trade-closed.http");
    assert_eq!(
        id_,
        id(
            "2025030100222140002077001234567893",
            "trade_status_sync.TRADE_CLOSED"
        )
    );
    assert_eq!(event.event_type, EventType::PaymentFailed);
    // gmt_close 2025-03-01 14:00:01 in Asia/Shanghai.
    assert_eq!(event.occurred_at, time("2025-03-01T06:00:01Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "alipay".into(),
            payment_id: Some("2025030122001477001234567899".into()),
            order_ref: Some("1002".into()),
            amount: cny(3550),
            status: Some("TRADE_CLOSED".into()),
            failure_reason: Some(
                "TRADE_CLOSED: the trade closed unpaid (timed out or cancelled)".into()
            ),
            ..Payment::default()
        })
    );
    assert_eq!(event.refund, None);
}

#[test]
fn trade_finished_is_ignored_unless_the_contract_has_no_refunds() {
    let req = signed("trade-finished.http");
    let (id_, normalised) = read_with(&alipay(), &req);
    assert_eq!(
        id_,
        id(
            "2025060100222120006077001234567894",
            "trade_status_sync.TRADE_FINISHED"
        )
    );
    assert!(
        matches!(&normalised, Normalised::Ignored(reason) if reason.contains("TRADE_FINISHED")),
        "{normalised:?}"
    );
    let no_refunds = alipay_with(&[("trade_finished_succeeds", json!(true))]);
    let (_, event) = one_event_with(&no_refunds, &req);
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    assert_eq!(event.occurred_at, time("2025-03-01T04:00:03Z"));
    assert_eq!(event.payment, Some(order_1001("TRADE_FINISHED")));
}

#[test]
fn every_sample_is_acknowledged_with_success_and_refused_when_tampered() {
    let connector = alipay();
    assert_eq!(connector.ack(), Reply::text(200, ACK));
    assert_eq!(connector.ack().body, "success");
    for name in COVERED {
        let req = signed(name);
        let tampered = o2o_testkit::tampered(req.clone());
        let refused = connector.verify(&tampered).expect_err(name);
        assert!((400..500).contains(&refused.status), "{name}: {refused}");
        // Another app's channel refuses them as not its own.
        let other_app = alipay_with(&[("app_id", json!("2021000000000002"))]);
        let refused = other_app.verify(&req).expect_err(name);
        assert_eq!((refused.status, refused.code), (401, "wrong_app"), "{name}");
    }
}

#[test]
fn the_url_tenant_comes_first() {
    let mut req = signed("trade-success.http");
    req.path_tenant = Some("store-7".into());
    let (id_, _) = one_event_with(&alipay(), &req);
    assert_eq!(id_.tenant, "store-7");
}

/// The unified event the pipeline makes of a draft (what `group_id` reads).
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: format!("{}:0", id.external_event_id),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: received_at(),
        source: Source {
            channel: "alipay".into(),
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
fn a_payment_and_its_refunds_share_the_order_group() {
    let groups = |connector: &Alipay| -> Vec<String> {
        [
            "trade-success.http",
            "refund-partial.http",
            "refund-full.http",
        ]
        .iter()
        .map(|name| {
            let (id, draft) = one_event_with(connector, &signed_with(connector, name));
            group_id(&unified(&id, draft))
        })
        .collect()
    };
    assert_eq!(groups(&alipay()), vec![format!("alipay:{APP_ID}:1001"); 3]);
    let linked = alipay_with(&[("orders_channel", json!("shopify"))]);
    assert_eq!(groups(&linked), vec![format!("shopify:{APP_ID}:1001"); 3]);
    let (_, draft) = one_event_with(&linked, &signed_with(&linked, "refund-partial.http"));
    let payment = draft.payment.expect("payment");
    assert_eq!(payment.order_channel.as_deref(), Some("shopify"));
    assert_eq!(payment.order_tenant, None);
    let shop = alipay_with(&[
        ("orders_channel", json!("shopify")),
        ("orders_tenant", json!("shop.myshopify.com")),
    ]);
    assert_eq!(
        groups(&shop),
        vec!["shopify:shop.myshopify.com:1001".to_owned(); 3]
    );
}

#[test]
fn the_settings_loader_refuses_unknown_keys() {
    let mut table = dev_table(&[]);
    table.insert("alipay_public_keys".into(), json!("x"));
    let error = parse_settings::<Settings>(&table, "channels.alipay")
        .map(|_| ())
        .expect_err("a typo");
    assert!(error.to_string().contains("alipay_public_keys"), "{error}");
    // A list of keys, and certificate mode, read as well.
    let listed = alipay_with(&[(
        "alipay_public_key",
        json!([
            key_file("other-public-key.pem"),
            key_file("dev-public-key.pem")
        ]),
    )]);
    assert!(listed.verify(&signed("trade-success.http")).is_ok());
    let cert_pem = fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys/dev-public-cert.pem"),
    )
    .expect("the test certificate");
    let mut cert_only = dev_table(&[("alipay_public_cert", json!(cert_pem))]);
    cert_only.remove("alipay_public_key");
    let settings: Settings = parse_settings(&cert_only, "channels.alipay").expect("parses");
    let cert_mode = Alipay::build(settings).expect("builds");
    assert!(cert_mode.verify(&signed("trade-success.http")).is_ok());
}
