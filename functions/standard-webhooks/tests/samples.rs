//! Every sample delivery in `events/standard-webhooks/` signed, verified, parsed and normalised
//! with the development table, and the result checked field by field.
//!
//! The expected values were read off the samples' JSON by hand (amounts in minor units by each
//! currency's ISO 4217 exponent), not copied from what the connector prints.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    ChannelKind, Dispute, EventType, Order, Payment, Refund, SchemaVersion, Source, Totals,
    UnifiedOrderEvent,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::group_id;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_standard_webhooks::{Settings, StandardWebhooks};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "dispute-opened.http",
    "order-created.http",
    "payment-failed.http",
    "payment-succeeded.http",
    "refund-succeeded-partial.http",
    "subscription-renewed.http",
];

/// 2025-11-26T16:00:00Z: when the samples are signed and received.
const RECEIVED_AT: i64 = 1_764_172_800;

/// The development table proposed for `o2o.toml` (`[channels.standard-webhooks]`): a `v1`
/// secret, and an ed25519 test key pair so samples carry a `v1a` signature too.
fn dev_table() -> Value {
    json!({
        "secrets": ["whsec_bzJvLWRldi1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ="],
        "public_keys": ["whpk_rTJQVA3yfyavo3H775xpGAhVJc4tpgZ7Yu7WbIMCcG4="],
        "test_signing_key": "whsk_1VJHGuvME51YYbrMj7O32YK5lZmkAQR6OSAJl9x9I10=",
        "event_map": {
            "payment.succeeded": "payment.succeeded",
            "payment.failed": "payment.failed",
            "refund.succeeded": "payment.refunded",
            "dispute.opened": "payment.disputed",
            "order.created": "order.created",
        },
        "order_ref_pointer": "/data/order_id",
        "payment_id_pointer": "/data/payment_id",
        "amount_pointer": "/data/amount",
        "amount_format": "minor",
        "currency_pointer": "/data/currency",
        "status_pointer": "/data/status",
        "failure_reason_pointer": "/data/failure_reason",
        "refund_id_pointer": "/data/refund_id",
        "refund_reason_pointer": "/data/reason",
        "dispute_id_pointer": "/data/dispute_id",
        "dispute_reason_pointer": "/data/reason",
    })
}

fn connector_with(changes: Value) -> StandardWebhooks {
    let mut table = dev_table().as_object().cloned().expect("a table");
    if let Value::Object(changes) = changes {
        table.extend(changes);
    }
    let settings = parse_settings::<Settings>(&table, "channels.standard-webhooks")
        .unwrap_or_else(|e| panic!("{e}"));
    StandardWebhooks::build(settings).unwrap_or_else(|e| panic!("{e}"))
}

fn connector() -> StandardWebhooks {
    connector_with(json!({}))
}

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/standard-webhooks")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

/// The sample `name`, signed with the development keys as a sender would sign it.
fn signed(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/standard-webhooks"),
        "{name}"
    );
    let mut req = sample.into_request(received_at());
    connector().sign(&mut req).expect("sign");
    req
}

/// Verifies, parses and normalises `req` as the pipeline does.
fn read(connector: &StandardWebhooks, req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(parsed.content, None, "the id is signed");
    let id = parsed.id.clone();
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    let normalised = connector
        .normalise(&parsed.id, parsed.message, &ctx)
        .expect("normalises");
    (id, normalised)
}

fn one_event_with(connector: &StandardWebhooks, req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    match read(connector, req) {
        (id, Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        (_, other) => panic!("expected one event, got {other:?}"),
    }
}

fn one_event(req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    one_event_with(&connector(), req)
}

fn id(external_event_id: &str, topic: &str) -> DeliveryId {
    DeliveryId {
        tenant: "_".into(),
        external_event_id: external_event_id.into(),
        topic: topic.into(),
    }
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn money(minor: i64, code: &str) -> Option<Money> {
    Some(Money::from_minor(
        minor,
        Currency::from_code(code).expect("a currency"),
    ))
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/standard-webhooks")
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
    assert!(COVERED.contains(&StandardWebhooks::info().default_sample));
}

#[test]
fn samples_carry_both_signatures_and_each_verifies_alone() {
    let req = signed("payment-succeeded.http");
    let header = req.headers.get("webhook-signature").expect("signed");
    let signatures: Vec<&str> = header.split(' ').collect();
    assert_eq!(signatures.len(), 2, "{header}");
    assert!(signatures[0].starts_with("v1,") && signatures[1].starts_with("v1a,"));
    assert_eq!(req.headers.get("webhook-timestamp"), Some("1764172800"));
    for signature in signatures {
        let mut alone = req.clone();
        alone.headers.set("webhook-signature", signature);
        assert!(connector().verify(&alone).is_ok(), "{signature}");
    }
    let tampered = o2o_testkit::tampered(req);
    let refused = connector().verify(&tampered).expect_err("tampered");
    assert_eq!((refused.status, refused.code), (401, "signature_mismatch"));
}

#[test]
fn payment_succeeded_is_a_payment_of_its_order() {
    let (delivery, event) = one_event(&signed("payment-succeeded.http"));
    assert_eq!(
        delivery,
        id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "payment.succeeded")
    );
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    assert_eq!(event.occurred_at, time("2025-11-26T15:42:10.344522Z"));
    assert_eq!(event.status.as_deref(), Some("succeeded"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "standard-webhooks".into(),
            payment_id: Some("pay_2Kx8vQ1nT4mZ".into()),
            order_ref: Some("1001".into()),
            // 4999 cents.
            amount: money(4999, "USD"),
            status: Some("succeeded".into()),
            ..Payment::default()
        })
    );
    assert_eq!((event.order, event.refund), (None, None));
}

#[test]
fn payment_failed_carries_its_reason() {
    let (delivery, event) = one_event(&signed("payment-failed.http"));
    assert_eq!(
        delivery,
        id("msg_2KWPBhT0y3mXq9Lb5cVn8RzJd1a", "payment.failed")
    );
    assert_eq!(event.event_type, EventType::PaymentFailed);
    assert_eq!(event.occurred_at, time("2025-11-26T15:40:02Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "standard-webhooks".into(),
            payment_id: Some("pay_2Kx8tN7rB1wE".into()),
            order_ref: Some("1001".into()),
            // `usd`, read case-insensitively.
            amount: money(4999, "USD"),
            status: Some("failed".into()),
            failure_reason: Some("card_declined".into()),
            ..Payment::default()
        })
    );
}

#[test]
fn a_partial_refund_is_payment_refunded_with_the_refunded_amount() {
    let (delivery, event) = one_event(&signed("refund-succeeded-partial.http"));
    assert_eq!(
        delivery,
        id("msg_2KWPCq8sLw4Yk2Hn7Ft3Ge6Ub0p", "refund.succeeded")
    );
    assert_eq!(event.event_type, EventType::PaymentRefunded);
    assert_eq!(event.occurred_at, time("2025-11-26T15:55:31.5Z"));
    assert_eq!(event.status.as_deref(), Some("succeeded"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "standard-webhooks".into(),
            payment_id: Some("pay_2Kx8vQ1nT4mZ".into()),
            order_ref: Some("1001".into()),
            // The event's amount is the refund's.
            amount: None,
            status: Some("succeeded".into()),
            ..Payment::default()
        })
    );
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: Some("rfd_7Gh2Lp9Qx".into()),
            // 15.00 of the 49.99 paid.
            amount: money(1500, "USD"),
            reason: Some("requested_by_customer".into()),
            items: Vec::new(),
        })
    );
}

#[test]
fn a_dispute_is_payment_disputed_with_its_amount_and_reason() {
    let (delivery, event) = one_event(&signed("dispute-opened.http"));
    assert_eq!(
        delivery,
        id("msg_2KWPDx1cVb5Nm8Jq3Ws6Er9Ty2u", "dispute.opened")
    );
    assert_eq!(event.event_type, EventType::PaymentDisputed);
    // Unix seconds 1764170100.
    assert_eq!(event.occurred_at, time("2025-11-26T15:15:00Z"));
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "standard-webhooks".into(),
            payment_id: Some("pay_2Kx3aZ5sD8fG".into()),
            order_ref: Some("998".into()),
            status: Some("needs_response".into()),
            dispute: Some(Dispute {
                external_id: Some("dsp_4Rt8Yu1Io".into()),
                // "2599" (a string) cents.
                amount: money(2599, "EUR"),
                reason: Some("fraudulent".into()),
                status: Some("needs_response".into()),
                evidence_due_by: None,
            }),
            ..Payment::default()
        })
    );
}

#[test]
fn order_created_is_an_order_with_its_total_in_yen() {
    let (delivery, event) = one_event(&signed("order-created.http"));
    assert_eq!(
        delivery,
        id("msg_2KWPEa4fGh7Jk0Lz3Xc6Vb9Nm2q", "order.created")
    );
    assert_eq!(event.event_type, EventType::OrderCreated);
    // 06:30 at +09:00.
    assert_eq!(event.occurred_at, time("2025-11-25T21:30:00Z"));
    assert_eq!(event.status.as_deref(), Some("placed"));
    assert_eq!(
        event.order,
        Some(Order {
            external_id: "A-20251126-0042".into(),
            currency: Currency::from_code("JPY").ok(),
            // JPY has no minor unit: 12900 is 12,900 yen.
            totals: Totals {
                total: money(12900, "JPY"),
                ..Totals::default()
            },
            ..Order::default()
        })
    );
    assert_eq!((event.payment, event.refund), (None, None));
}

#[test]
fn an_unmapped_event_type_is_ignored() {
    let (delivery, normalised) = read(&connector(), &signed("subscription-renewed.http"));
    assert_eq!(
        delivery,
        id("msg_2KWPFb5gHi8Kl1Ma4Yd7Wc0On3r", "subscription.renewed")
    );
    match normalised {
        Normalised::Ignored(reason) => assert!(reason.contains("event_map"), "{reason}"),
        other => panic!("expected ignored, got {other:?}"),
    }
}

fn unified(delivery: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: "00000000-0000-5000-8000-000000000000".into(),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: received_at(),
        source: Source {
            channel: "standard-webhooks".into(),
            channel_kind: ChannelKind::Payment,
            tenant: delivery.tenant.clone(),
            external_event_id: delivery.external_event_id.clone(),
            topic: delivery.topic.clone(),
            status: draft.status,
        },
        order: draft.order,
        payment: draft.payment,
        refund: draft.refund,
        command: None,
    }
}

#[test]
fn a_payment_and_its_later_refund_share_their_orders_message_group() {
    let group = |connector: &StandardWebhooks, sample: &str| {
        let (delivery, draft) = one_event_with(connector, &signed(sample));
        group_id(&unified(&delivery, draft))
    };
    let samples = [
        "payment-succeeded.http",
        "refund-succeeded-partial.http",
        "payment-failed.http",
    ];
    let linked = connector_with(json!({
        "orders_channel": "shopify",
        "orders_tenant": "o2o-demo.myshopify.com",
    }));
    let (_, paid) = one_event_with(&linked, &signed("payment-succeeded.http"));
    let payment = paid.payment.expect("payment");
    assert_eq!(payment.order_channel.as_deref(), Some("shopify"));
    assert_eq!(
        payment.order_tenant.as_deref(),
        Some("o2o-demo.myshopify.com")
    );
    for sample in samples {
        assert_eq!(
            group(&linked, sample),
            "shopify:o2o-demo.myshopify.com:1001",
            "{sample}"
        );
    }
    // Without orders_tenant, the order channel's tenant is the payment's own (`_`).
    let channel_only = connector_with(json!({ "orders_channel": "shopify" }));
    for sample in samples {
        assert_eq!(group(&channel_only, sample), "shopify:_:1001", "{sample}");
    }
    // Unlinked: the payment channel's own group, still shared by the payment and its refund.
    for sample in samples {
        assert_eq!(
            group(&connector(), sample),
            "standard-webhooks:_:1001",
            "{sample}"
        );
    }
}
