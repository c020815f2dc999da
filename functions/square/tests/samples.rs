//! Every sample delivery in `events/square/` signed, verified, parsed and normalised, and the
//! result checked field by field.
//!
//! The expected values were read off the samples' JSON, not copied from what the connector
//! prints: where the two disagree, the connector is wrong.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    ChannelKind, Dispute, EventType, Payment, Refund, SchemaVersion, Source, UnifiedOrderEvent,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::group_id;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_square::{SIGNATURE_HEADER, Square};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "dispute-created.http",
    "payment-updated-completed.http",
    "payment-updated-failed.http",
    "refund-updated-completed-partial.http",
    "webhooks-test-notification.http",
];

/// 2025-11-26T16:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_764_172_800;

/// The development table (as proposed for `o2o.toml`), with `changes`.
fn square_with(changes: &[(&str, Value)]) -> Square {
    let mut table = json!({
        "secrets": ["dev-square-signature-key"],
        "notification_url": "http://127.0.0.1:8080/webhooks/square",
    })
    .as_object()
    .cloned()
    .expect("a table");
    for (name, value) in changes {
        table.insert((*name).to_owned(), value.clone());
    }
    let settings = parse_settings(&table, "channels.square").expect("settings");
    Square::build(settings).expect("builds")
}

fn square() -> Square {
    square_with(&[])
}

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/square")
}

/// The sample `name` as a request, unsigned.
fn unsigned(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/square"),
        "{name}"
    );
    assert_eq!(
        sample.headers.get(SIGNATURE_HEADER),
        None,
        "{name}: unsigned"
    );
    sample.into_request(Timestamp::from_unix_seconds(RECEIVED_AT).expect("time"))
}

/// The sample `name`, signed by `connector` as Square would sign it.
fn signed_by(connector: &Square, name: &str) -> WebhookRequest {
    let mut req = unsigned(name);
    connector.sign(&mut req).expect("sign");
    req
}

/// Verifies, parses and normalises `req` as the pipeline does.
fn read(connector: &Square, req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(parsed.content, None, "the event id is signed");
    let id = parsed.id.clone();
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    let normalised = connector
        .normalise(&parsed.id, parsed.message, &ctx)
        .expect("normalises");
    (id, normalised)
}

fn one_event_of(connector: &Square, name: &str) -> (DeliveryId, EventDraft) {
    match read(connector, &signed_by(connector, name)) {
        (id, Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        (_, other) => panic!("expected one event, got {other:?}"),
    }
}

fn one_event(name: &str) -> (DeliveryId, EventDraft) {
    one_event_of(&square(), name)
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn usd(cents: i64) -> Option<Money> {
    Some(Money::from_minor(
        cents,
        Currency::from_code("USD").expect("USD"),
    ))
}

fn id(event_id: &str, topic: &str) -> DeliveryId {
    DeliveryId {
        tenant: "6SSW7HV8K2ST5".into(),
        external_event_id: event_id.into(),
        topic: topic.into(),
    }
}

const PAYMENT_ID: &str = "hYy9pRFVxpDsO1FB05SunFWUe9JZY";

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/square")
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
fn the_default_sample_exists() {
    assert!(COVERED.contains(&Square::info().default_sample));
}

#[test]
fn a_completed_payment_is_payment_succeeded() {
    let (id_, event) = one_event("payment-updated-completed.http");
    assert_eq!(
        id_,
        id("6a8f5f28-54a1-4eb0-a98a-3111513fd4fc", "payment.updated")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentSucceeded,
            occurred_at: time("2020-11-22T21:19:00.914Z"),
            status: Some("COMPLETED".into()),
            order: None,
            payment: Some(Payment {
                provider: "square".into(),
                payment_id: Some(PAYMENT_ID.into()),
                // reference_id, before Square's order 03O3USaPaAaFnI6kkwB1JxGgBsUZY.
                order_ref: Some("1001".into()),
                // total_money: $1.00.
                amount: usd(100),
                status: Some("COMPLETED".into()),
                method: Some("card".into()),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn a_declined_payment_is_payment_failed_with_the_cards_error() {
    let (id_, event) = one_event("payment-updated-failed.http");
    assert_eq!(
        id_,
        id("5f1ac0c4-7b1e-4c61-93b4-0f0d8ec0d6a2", "payment.updated")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentFailed,
            occurred_at: time("2020-11-23T15:02:12.181Z"),
            status: Some("FAILED".into()),
            order: None,
            payment: Some(Payment {
                provider: "square".into(),
                payment_id: Some("bP9mAsEMYPUGjjGNaNO5ZDVyLhSZY".into()),
                // No reference_id: Square's order.
                order_ref: Some("Lq8bx5MEdn2ThEGgVsTkVb8xr8aZY".into()),
                amount: usd(2500),
                status: Some("FAILED".into()),
                method: Some("card".into()),
                failure_reason: Some("CARD_DECLINED: Authorization error: 'CARD_DECLINED'".into()),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn a_completed_refund_is_payment_refunded_with_its_amount() {
    let (id_, event) = one_event("refund-updated-completed-partial.http");
    assert_eq!(
        id_,
        id("bc316346-6691-4243-88ed-6d651a0d0c47", "refund.updated")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentRefunded,
            occurred_at: time("2020-11-24T10:15:01.421Z"),
            status: Some("COMPLETED".into()),
            order: None,
            payment: Some(Payment {
                provider: "square".into(),
                payment_id: Some(PAYMENT_ID.into()),
                // The refund's order_id is its return order, not the payment's.
                order_ref: None,
                ..Payment::default()
            }),
            // $0.40 of the $1.00 payment.
            refund: Some(Refund {
                external_id: Some(format!(
                    "{PAYMENT_ID}_ptNBVqHYxt5gAdfcobBe4u1AZsXhoz06KTtuq9Ls24P"
                )),
                amount: usd(40),
                reason: Some("Returned one item".into()),
                items: Vec::new(),
            }),
        }
    );
}

#[test]
fn a_new_dispute_is_payment_disputed() {
    let (id_, event) = one_event("dispute-created.http");
    assert_eq!(
        id_,
        id("9b6f0a5e-3c1d-4a8e-8f5b-2d7c4e1a9f30", "dispute.created")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentDisputed,
            occurred_at: time("2020-11-30T08:00:02.219Z"),
            status: Some("EVIDENCE_REQUIRED".into()),
            order: None,
            payment: Some(Payment {
                provider: "square".into(),
                payment_id: Some(PAYMENT_ID.into()),
                dispute: Some(Dispute {
                    external_id: Some("XDgyFu7yo1E2S5lQGGpYn".into()),
                    amount: usd(100),
                    reason: Some("NOT_AS_DESCRIBED".into()),
                    status: Some("EVIDENCE_REQUIRED".into()),
                    evidence_due_by: Some(time("2020-12-14T00:00:00Z")),
                }),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

/// The SDK's own vector as a sample: signed with its key and URL it carries its signature.
#[test]
fn the_test_notification_is_the_sdk_vector_and_is_ignored() {
    let sdk = square_with(&[
        ("secrets", json!(["Ibxx_5AKakO-3qeNVR61Dw"])),
        (
            "notification_url",
            json!("https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"),
        ),
    ]);
    let req = signed_by(&sdk, "webhooks-test-notification.http");
    assert_eq!(
        req.headers.get(SIGNATURE_HEADER),
        Some("GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=")
    );
    let (id_, normalised) = read(&sdk, &req);
    assert_eq!(
        id_,
        DeliveryId {
            tenant: "MLEFBHHSJGVHD".into(),
            external_event_id: "ac3ac95b-f97d-458c-a6e6-18981597e05f".into(),
            topic: "webhooks.test_notification".into(),
        }
    );
    assert_eq!(
        normalised,
        Normalised::Ignored("event webhooks.test_notification is not mapped".into())
    );
    let (_, dev) = read(
        &square(),
        &signed_by(&square(), "webhooks-test-notification.http"),
    );
    assert_eq!(dev, normalised);
}

#[test]
fn a_tampered_sample_or_another_url_is_refused() {
    let req = signed_by(&square(), "payment-updated-completed.http");
    let tampered = o2o_testkit::tampered(req.clone());
    let refused = square().verify(&tampered).expect_err("tampered");
    assert_eq!((refused.status, refused.code), (401, "signature_mismatch"));
    let elsewhere = square_with(&[(
        "notification_url",
        json!("https://edge.example.com/webhooks/square"),
    )]);
    let refused = elsewhere.verify(&req).expect_err("signed for another URL");
    assert_eq!((refused.status, refused.code), (401, "signature_mismatch"));
}

/// The unified event the pipeline would stamp on a draft.
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: "e".into(),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: draft.occurred_at,
        source: Source {
            channel: "square".into(),
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

/// The payment joins its order's group. Square's refund webhook names the payment but not its
/// order (its `order_id` is the refund's return order), so the refund cannot share that group
/// without fetching the payment: it keeps its own, and names the payment for the consumer to
/// join on (docs/platforms/square.md, "Known limits").
#[test]
fn the_payment_joins_its_orders_group_and_the_refund_names_the_payment() {
    let shopify = square_with(&[("orders_channel", json!("shopify"))]);
    let (payment_id, payment) = one_event_of(&shopify, "payment-updated-completed.http");
    let (refund_id, refund) = one_event_of(&shopify, "refund-updated-completed-partial.http");
    let paid = payment.payment.clone().expect("payment");
    assert_eq!(paid.order_channel.as_deref(), Some("shopify"));
    assert_eq!(
        group_id(&unified(&payment_id, payment)),
        "shopify:6SSW7HV8K2ST5:1001"
    );
    let refunded = refund.payment.clone().expect("payment");
    assert_eq!(refunded.payment_id, paid.payment_id);
    assert_eq!((refunded.order_ref, refunded.order_channel), (None, None));
    assert_eq!(
        group_id(&unified(&refund_id, refund)),
        "square:6SSW7HV8K2ST5:bc316346-6691-4243-88ed-6d651a0d0c47"
    );
    let shop = square_with(&[
        ("orders_channel", json!("shopify")),
        ("orders_tenant", json!("shop.myshopify.com")),
    ]);
    let (payment_id, payment) = one_event_of(&shop, "payment-updated-completed.http");
    assert_eq!(
        group_id(&unified(&payment_id, payment)),
        "shopify:shop.myshopify.com:1001"
    );
}
