//! Every sample delivery in `events/razorpay/` signed, verified, parsed and normalised, and the
//! result checked field by field.
//!
//! The expected values were read off the samples' JSON (times converted by hand from Unix
//! seconds), not copied from what the connector prints: where the two disagree, the connector is
//! wrong.

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
use o2o_core::{Connector, Content, Timestamp, WebhookRequest};
use o2o_razorpay::{Razorpay, SIGNATURE_HEADER};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "payment-authorized.http",
    "payment-captured.http",
    "payment-dispute-created.http",
    "payment-failed.http",
    "refund-processed-partial.http",
];

/// 2025-11-26T16:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_764_172_800;

/// The development table (as proposed for `o2o.toml`), with `changes`.
fn razorpay_with(changes: &[(&str, Value)]) -> Razorpay {
    let mut table = json!({ "secrets": ["dev-razorpay-webhook-secret"] })
        .as_object()
        .cloned()
        .expect("a table");
    for (name, value) in changes {
        table.insert((*name).to_owned(), value.clone());
    }
    let settings = parse_settings(&table, "channels.razorpay").expect("settings");
    Razorpay::build(settings).expect("builds")
}

fn razorpay() -> Razorpay {
    razorpay_with(&[])
}

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/razorpay")
}

/// The sample `name`, signed with the development secret as Razorpay would sign it.
fn signed(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/razorpay"),
        "{name}"
    );
    assert_eq!(
        sample.headers.get(SIGNATURE_HEADER),
        None,
        "{name}: unsigned"
    );
    let mut req = sample.into_request(Timestamp::from_unix_seconds(RECEIVED_AT).expect("time"));
    razorpay().sign(&mut req).expect("sign");
    req
}

/// Verifies, parses and normalises `req` as the pipeline does.
fn read(connector: &Razorpay, req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(
        parsed.content,
        Some(Content::Payload),
        "the event id is unsigned"
    );
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
fn one_event_of(connector: &Razorpay, name: &str) -> (DeliveryId, EventDraft) {
    match read(connector, &signed(name)) {
        (id, Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        (_, other) => panic!("expected one event, got {other:?}"),
    }
}

fn one_event(name: &str) -> (DeliveryId, EventDraft) {
    one_event_of(&razorpay(), name)
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn inr(paise: i64) -> Option<Money> {
    Some(Money::from_minor(
        paise,
        Currency::from_code("INR").expect("INR"),
    ))
}

fn id(tenant: &str, event_id: &str, topic: &str) -> DeliveryId {
    DeliveryId {
        tenant: tenant.into(),
        external_event_id: event_id.into(),
        topic: topic.into(),
    }
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/razorpay")
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
    assert!(COVERED.contains(&Razorpay::info().default_sample));
}

/// The captured payment of the Refunds page's sample: ₹5,000.00, its merchant order `1001` in
/// the notes.
fn captured_payment(status: &str) -> Payment {
    Payment {
        provider: "razorpay".into(),
        payment_id: Some("pay_FPoJKWQQ8lK13n".into()),
        // notes.order_id, before Razorpay's own `order_FPoIeimWki9j8A`.
        order_ref: Some("1001".into()),
        // 500000 paise.
        amount: inr(500_000),
        status: Some(status.into()),
        method: Some("netbanking".into()),
        ..Payment::default()
    }
}

#[test]
fn payment_captured_is_payment_succeeded() {
    let (id_, event) = one_event("payment-captured.http");
    assert_eq!(
        id_,
        id("acc_E7OQJcEANmBHTC", "FPoJKsOb7Jd1Fq", "payment.captured")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentSucceeded,
            // created_at 1597226386.
            occurred_at: time("2020-08-12T09:59:46Z"),
            status: Some("captured".into()),
            order: None,
            payment: Some(captured_payment("captured")),
            refund: None,
        }
    );
}

#[test]
fn without_the_notes_key_the_order_is_razorpays() {
    let connector = razorpay_with(&[("order_ref_notes_key", json!("merchant_order_id"))]);
    let (_, event) = one_event_of(&connector, "payment-captured.http");
    let payment = event.payment.expect("payment");
    assert_eq!(payment.order_ref.as_deref(), Some("order_FPoIeimWki9j8A"));
}

#[test]
fn payment_failed_names_its_error() {
    let (id_, event) = one_event("payment-failed.http");
    assert_eq!(
        id_,
        id("acc_BFQ7uQEaa7j2z7", "DEAU8Hn2W0yBbS", "payment.failed")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentFailed,
            // created_at 1567610215.
            occurred_at: time("2019-09-04T15:16:55Z"),
            status: Some("failed".into()),
            order: None,
            payment: Some(Payment {
                provider: "razorpay".into(),
                payment_id: Some("pay_DEAU825sJlCbGa".into()),
                // notes is [], so Razorpay's order.
                order_ref: Some("order_DEATVTRRctwEGb".into()),
                amount: inr(50_000),
                status: Some("failed".into()),
                method: Some("netbanking".into()),
                failure_reason: Some("BAD_REQUEST_ERROR: Payment failed".into()),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn refund_processed_is_payment_refunded_with_the_refunds_amount() {
    let (id_, event) = one_event("refund-processed-partial.http");
    assert_eq!(
        id_,
        id("acc_E7OQJcEANmBHTC", "FS8TWzVmCDqbgA", "refund.processed")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentRefunded,
            // created_at 1597734071.
            occurred_at: time("2020-08-18T07:01:11Z"),
            status: Some("processed".into()),
            order: None,
            payment: Some(captured_payment("captured")),
            // ₹500.00 of the ₹5,000.00 payment (its amount_refunded, 190000, counts earlier
            // refunds too).
            refund: Some(Refund {
                external_id: Some("rfnd_FS8TWyPrCsa0OB".into()),
                amount: inr(50_000),
                reason: None,
                items: Vec::new(),
            }),
        }
    );
}

#[test]
fn a_dispute_is_payment_disputed() {
    let (id_, event) = one_event("payment-dispute-created.http");
    assert_eq!(
        id_,
        id(
            "acc_CFvOKjkTwf3GQy",
            "EsIAlLzQ1DkIs2",
            "payment.dispute.created"
        )
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentDisputed,
            // created_at 1589907977.
            occurred_at: time("2020-05-19T17:06:17Z"),
            status: Some("open".into()),
            order: None,
            payment: Some(Payment {
                provider: "razorpay".into(),
                payment_id: Some("pay_EFtmUsbwpXwBHI".into()),
                order_ref: Some("order_EFtkA6f5jdkfud".into()),
                amount: inr(5_297_600),
                status: Some("captured".into()),
                method: Some("card".into()),
                dispute: Some(Dispute {
                    external_id: Some("disp_EsIAlDcoUr8CaQ".into()),
                    amount: inr(39_000),
                    reason: Some("processed_invalid_expired_card".into()),
                    status: Some("open".into()),
                    // respond_by 1590431400.
                    evidence_due_by: Some(time("2020-05-25T18:30:00Z")),
                }),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn payment_authorized_is_ignored() {
    let (id_, normalised) = read(&razorpay(), &signed("payment-authorized.http"));
    assert_eq!(
        id_,
        id("acc_BFQ7uQEaa7j2z7", "DESlfbY1sRzHvq", "payment.authorized")
    );
    assert_eq!(
        normalised,
        Normalised::Ignored("event payment.authorized is not mapped".into())
    );
}

#[test]
fn a_tampered_sample_is_refused() {
    let req = o2o_testkit::tampered(signed("payment-captured.http"));
    let refused = razorpay().verify(&req).expect_err("tampered");
    assert_eq!((refused.status, refused.code), (401, "signature_mismatch"));
}

/// The unified event the pipeline would stamp on a draft (ids and times do not matter to the
/// group).
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: "e".into(),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: draft.occurred_at,
        source: Source {
            channel: "razorpay".into(),
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
fn a_payment_and_its_later_refund_share_their_orders_group() {
    let groups = |connector: &Razorpay| {
        ["payment-captured.http", "refund-processed-partial.http"].map(|name| {
            let (id, draft) = one_event_of(connector, name);
            group_id(&unified(&id, draft))
        })
    };
    assert_eq!(
        groups(&razorpay()),
        [
            "razorpay:acc_E7OQJcEANmBHTC:1001",
            "razorpay:acc_E7OQJcEANmBHTC:1001"
        ]
    );
    let shopify = razorpay_with(&[("orders_channel", json!("shopify"))]);
    let (_, draft) = one_event_of(&shopify, "refund-processed-partial.http");
    let payment = draft.payment.expect("payment");
    assert_eq!(payment.order_channel.as_deref(), Some("shopify"));
    assert_eq!(payment.order_tenant, None);
    assert_eq!(
        groups(&shopify),
        [
            "shopify:acc_E7OQJcEANmBHTC:1001",
            "shopify:acc_E7OQJcEANmBHTC:1001"
        ]
    );
    let shop = razorpay_with(&[
        ("orders_channel", json!("shopify")),
        ("orders_tenant", json!("shop.myshopify.com")),
    ]);
    assert_eq!(
        groups(&shop),
        [
            "shopify:shop.myshopify.com:1001",
            "shopify:shop.myshopify.com:1001"
        ]
    );
}
