//! Every sample delivery in `events/adyen/` signed, verified, split, parsed and normalised, and
//! the result checked field by field.
//!
//! The expected values were read off the samples' JSON (times converted to UTC by hand), not
//! copied from what the connector prints: where the two disagree, the connector is wrong.

use std::fs;
use std::path::PathBuf;

use o2o_adyen::{ACK_BODY, Adyen, HMAC_SIGNATURE_KEY};
use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    ChannelKind, Dispute, EventType, Payment, Refund, SchemaVersion, Source, UnifiedOrderEvent,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::group_id;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp, Verified, WebhookRequest};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "authorisation-refused.http",
    "authorisation-success.http",
    "cancellation.http",
    "capture.http",
    "notification-of-chargeback.http",
    "refund-partial.http",
    "report-available.http",
];

/// The development HMAC key proposed for `o2o.toml` (64 hex digits, a test value).
const DEV_KEY: &str = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

/// 2025-11-26T16:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_764_172_800;

/// The development table (as proposed for `o2o.toml`), with `changes`.
fn adyen_with(changes: &[(&str, Value)]) -> Adyen {
    let mut table = json!({ "secrets": [DEV_KEY], "merchant_account": "O2OCafeECOM" })
        .as_object()
        .cloned()
        .expect("a table");
    for (name, value) in changes {
        table.insert((*name).to_owned(), value.clone());
    }
    let settings = parse_settings(&table, "channels.adyen").expect("settings");
    Adyen::build(settings).expect("builds")
}

fn adyen() -> Adyen {
    adyen_with(&[])
}

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/adyen")
}

/// The sample `name` as a request, unsigned as the file is.
fn unsigned(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/adyen"),
        "{name}"
    );
    assert!(
        !String::from_utf8_lossy(&sample.body).contains(HMAC_SIGNATURE_KEY),
        "{name}: unsigned"
    );
    sample.into_request(Timestamp::from_unix_seconds(RECEIVED_AT).expect("time"))
}

/// The sample `name`, signed by `connector` as Adyen would sign it.
fn signed_by(connector: &Adyen, name: &str) -> WebhookRequest {
    let mut req = unsigned(name);
    connector.sign(&mut req).expect("sign");
    req
}

/// Verifies, splits, parses and normalises `req` as the pipeline does: one reading per item.
fn read(connector: &Adyen, req: &WebhookRequest) -> Vec<(DeliveryId, Normalised<()>)> {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let records = connector.split_records(&verified).expect("items");
    records
        .into_iter()
        .map(|body| {
            let record = WebhookRequest {
                body,
                ..req.clone()
            };
            let parsed = connector.parse(&Verified::body(&record)).expect("parses");
            assert_eq!(parsed.content, None, "the event id is signed");
            let ctx = NormaliseContext {
                received_at: req.received_at,
            };
            let normalised = connector
                .normalise(&parsed.id, parsed.message, &ctx)
                .expect("normalises");
            (parsed.id, normalised)
        })
        .collect()
}

/// The one reading of sample `name` under `connector`.
fn one_reading(connector: &Adyen, name: &str) -> (DeliveryId, Normalised<()>) {
    let mut readings = read(connector, &signed_by(connector, name));
    assert_eq!(readings.len(), 1, "{name}");
    readings.remove(0)
}

/// The one event of sample `name` under `connector`.
fn one_event_of(connector: &Adyen, name: &str) -> (DeliveryId, EventDraft) {
    match one_reading(connector, name) {
        (id, Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        (_, other) => panic!("{name}: expected one event, got {other:?}"),
    }
}

fn one_event(name: &str) -> (DeliveryId, EventDraft) {
    one_event_of(&adyen(), name)
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn money(currency: &str, minor: i64) -> Option<Money> {
    Some(Money::from_minor(
        minor,
        Currency::from_code(currency).expect("a currency"),
    ))
}

fn id(event: &str, topic: &str) -> DeliveryId {
    DeliveryId {
        tenant: "O2OCafeECOM".into(),
        external_event_id: event.into(),
        topic: topic.into(),
    }
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/adyen")
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
    assert_eq!(Adyen::info().default_sample, "authorisation-success.http");
    assert!(COVERED.contains(&Adyen::info().default_sample));
}

#[test]
fn a_successful_authorisation_is_payment_succeeded() {
    let (id, event) = one_event("authorisation-success.http");
    assert_eq!(
        id,
        self::id("7914073381342284:AUTHORISATION:true", "AUTHORISATION")
    );
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    // 2019-06-28T18:03:50+01:00
    assert_eq!(event.occurred_at, time("2019-06-28T17:03:50Z"));
    assert_eq!(event.status.as_deref(), Some("AUTHORISATION"));
    assert_eq!((event.order, event.refund), (None, None));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "adyen".into(),
            payment_id: Some("7914073381342284".into()),
            order_ref: Some("order-1001".into()),
            amount: money("EUR", 1130),
            status: Some("AUTHORISATION".into()),
            method: Some("visa".into()),
            ..Payment::default()
        })
    );
}

#[test]
fn a_refused_authorisation_is_payment_failed_with_its_reason() {
    let (id, event) = one_event("authorisation-refused.http");
    assert_eq!(
        id,
        self::id("8815616612345671:AUTHORISATION:false", "AUTHORISATION")
    );
    assert_eq!(event.event_type, EventType::PaymentFailed);
    assert_eq!(event.occurred_at, time("2019-06-28T17:10:12Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "adyen".into(),
            payment_id: Some("8815616612345671".into()),
            order_ref: Some("order-1002".into()),
            amount: money("EUR", 2500),
            status: Some("AUTHORISATION".into()),
            method: Some("mc".into()),
            failure_reason: Some("CVC Declined".into()),
            ..Payment::default()
        })
    );
}

#[test]
fn a_capture_is_ignored_unless_capture_means_paid() {
    let (id, reading) = one_reading(&adyen(), "capture.http");
    assert_eq!(id, self::id("8825616612345682:CAPTURE:true", "CAPTURE"));
    assert_eq!(
        reading,
        Normalised::Ignored(
            "CAPTURE: payments count as paid on AUTHORISATION (capture_event)".into()
        )
    );
    let on_capture = adyen_with(&[("capture_event", json!("CAPTURE"))]);
    let (_, event) = one_event_of(&on_capture, "capture.http");
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    assert_eq!(event.occurred_at, time("2019-06-28T17:05:01Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "adyen".into(),
            // The capture names the payment in originalReference.
            payment_id: Some("7914073381342284".into()),
            order_ref: Some("order-1001".into()),
            amount: money("EUR", 1130),
            status: Some("CAPTURE".into()),
            method: Some("visa".into()),
            ..Payment::default()
        })
    );
    let (_, authorisation) = one_reading(&on_capture, "authorisation-success.http");
    assert_eq!(
        authorisation,
        Normalised::Ignored(
            "AUTHORISATION: payments count as paid on CAPTURE (capture_event)".into()
        )
    );
    // A refusal is a failure whichever event means paid.
    let (_, refused) = one_event_of(&on_capture, "authorisation-refused.http");
    assert_eq!(refused.event_type, EventType::PaymentFailed);
}

#[test]
fn a_cancellation_is_payment_failed_in_yen() {
    let (id, event) = one_event("cancellation.http");
    assert_eq!(
        id,
        self::id("8845616612345704:CANCELLATION:true", "CANCELLATION")
    );
    assert_eq!(event.event_type, EventType::PaymentFailed);
    // 2019-06-28T19:00:00+09:00
    assert_eq!(event.occurred_at, time("2019-06-28T10:00:00Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "adyen".into(),
            payment_id: Some("8835616612345693".into()),
            order_ref: Some("order-1003".into()),
            // JPY has no minor unit: 3000 yen.
            amount: money("JPY", 3000),
            status: Some("CANCELLATION".into()),
            method: Some("visa".into()),
            // `reason` is empty.
            failure_reason: Some("cancelled".into()),
            ..Payment::default()
        })
    );
}

#[test]
fn a_partial_refund_is_payment_refunded_by_its_amount() {
    let (id, event) = one_event("refund-partial.http");
    assert_eq!(id, self::id("8855616612345715:REFUND:true", "REFUND"));
    assert_eq!(event.event_type, EventType::PaymentRefunded);
    assert_eq!(event.occurred_at, time("2019-06-29T08:30:00Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "adyen".into(),
            payment_id: Some("7914073381342284".into()),
            order_ref: Some("order-1001".into()),
            // The notification's amount is the refund's: 5.00 of the payment's 11.30.
            amount: None,
            status: Some("REFUND".into()),
            method: Some("visa".into()),
            ..Payment::default()
        })
    );
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: Some("8855616612345715".into()),
            amount: money("EUR", 500),
            reason: None,
            items: Vec::new(),
        })
    );
}

#[test]
fn a_notification_of_chargeback_is_payment_disputed() {
    let (id, event) = one_event("notification-of-chargeback.http");
    assert_eq!(
        id,
        self::id(
            "9915616612345726:NOTIFICATION_OF_CHARGEBACK:true",
            "NOTIFICATION_OF_CHARGEBACK"
        )
    );
    assert_eq!(event.event_type, EventType::PaymentDisputed);
    assert_eq!(event.occurred_at, time("2019-07-05T09:12:13Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "adyen".into(),
            payment_id: Some("7914073381342284".into()),
            order_ref: Some("order-1001".into()),
            amount: None,
            status: Some("NOTIFICATION_OF_CHARGEBACK".into()),
            method: Some("visa".into()),
            dispute: Some(Dispute {
                external_id: Some("9915616612345726".into()),
                amount: money("EUR", 1130),
                reason: Some("Other Fraud-Card Absent Environment".into()),
                status: Some("Undefended".into()),
                // 2019-07-20T10:00:00+02:00
                evidence_due_by: Some(time("2019-07-20T08:00:00Z")),
            }),
            ..Payment::default()
        })
    );
}

#[test]
fn a_report_is_ignored() {
    let (id, reading) = one_reading(&adyen(), "report-available.http");
    assert_eq!(
        id,
        self::id(
            "test_REPORT_AVAILABLE:REPORT_AVAILABLE:true",
            "REPORT_AVAILABLE"
        )
    );
    assert_eq!(
        reading,
        Normalised::Ignored("eventCode REPORT_AVAILABLE is not mapped".into())
    );
}

#[test]
fn the_url_tenant_wins_and_the_ack_is_accepted() {
    let connector = adyen();
    let mut req = signed_by(&connector, "authorisation-success.http");
    req.path_tenant = Some("eu-shop".into());
    let (id, _) = read(&connector, &req).remove(0);
    assert_eq!(id.tenant, "eu-shop");
    let ack = connector.ack();
    assert_eq!((ack.status, ack.body.as_str()), (200, ACK_BODY));
}

#[test]
fn a_signed_sample_refuses_another_key_a_changed_amount_and_another_account() {
    let req = signed_by(&adyen(), "authorisation-success.http");
    let refusal = |connector: &Adyen, req: &WebhookRequest| {
        connector.verify(req).err().map(|r| (r.status, r.code))
    };
    assert_eq!(refusal(&adyen(), &req), None);
    let other_key = adyen_with(&[("secrets", json!(["ab".repeat(32)]))]);
    assert_eq!(refusal(&other_key, &req), Some((401, "signature_mismatch")));
    let rotated = adyen_with(&[("secrets", json!(["ab".repeat(32), DEV_KEY]))]);
    assert_eq!(refusal(&rotated, &req), None);
    let body = String::from_utf8(req.body.clone()).expect("UTF-8");
    assert!(body.contains("\"value\":1130"));
    let tampered = WebhookRequest {
        body: body
            .replace("\"value\":1130", "\"value\":11300")
            .into_bytes(),
        ..req.clone()
    };
    assert_eq!(
        refusal(&adyen(), &tampered),
        Some((401, "signature_mismatch"))
    );
    let other_account = adyen_with(&[("merchant_account", json!("AnotherECOM"))]);
    assert_eq!(
        refusal(&other_account, &req),
        Some((401, "wrong_merchant_account"))
    );
}

#[test]
fn a_batch_of_items_is_one_event_per_item() {
    let item = |name: &str| -> Value {
        let body: Value = serde_json::from_slice(&unsigned(name).body).expect("JSON");
        body["notificationItems"][0].clone()
    };
    let batch = json!({
        "live": "false",
        "notificationItems": [item("authorisation-success.http"), item("refund-partial.http")],
    });
    let connector = adyen();
    let mut req = unsigned("authorisation-success.http");
    req.body = batch.to_string().into_bytes();
    connector.sign(&mut req).expect("sign");
    let readings = read(&connector, &req);
    let summary: Vec<(String, Option<EventType>)> = readings
        .into_iter()
        .map(|(id, normalised)| {
            let event_type = match normalised {
                Normalised::Events(events) => events.first().map(|e| e.event_type),
                _ => None,
            };
            (id.external_event_id, event_type)
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "7914073381342284:AUTHORISATION:true".to_owned(),
                Some(EventType::PaymentSucceeded)
            ),
            (
                "8855616612345715:REFUND:true".to_owned(),
                Some(EventType::PaymentRefunded)
            ),
        ]
    );
}

/// The unified event of a draft, as the pipeline stamps it (for its message group).
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: "e".into(),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: draft.occurred_at,
        source: Source {
            channel: "adyen".into(),
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
fn a_payment_and_its_refund_share_the_orders_message_group() {
    let groups = |connector: &Adyen| {
        ["authorisation-success.http", "refund-partial.http"].map(|name| {
            let (id, draft) = one_event_of(connector, name);
            group_id(&unified(&id, draft))
        })
    };
    assert_eq!(
        groups(&adyen()),
        [
            "adyen:O2OCafeECOM:order-1001",
            "adyen:O2OCafeECOM:order-1001"
        ]
    );
    let shopify = adyen_with(&[("orders_channel", json!("shopify"))]);
    let (_, draft) = one_event_of(&shopify, "refund-partial.http");
    let payment = draft.payment.expect("payment");
    assert_eq!(payment.order_channel.as_deref(), Some("shopify"));
    assert_eq!(payment.order_tenant, None);
    assert_eq!(
        groups(&shopify),
        [
            "shopify:O2OCafeECOM:order-1001",
            "shopify:O2OCafeECOM:order-1001"
        ]
    );
    let shop = adyen_with(&[
        ("orders_channel", json!("shopify")),
        ("orders_tenant", json!("shop.myshopify.com")),
    ]);
    assert_eq!(
        groups(&shop),
        [
            "shopify:shop.myshopify.com:order-1001",
            "shopify:shop.myshopify.com:order-1001"
        ]
    );
}
