//! Every sample delivery in `events/paypal/` signed, verified, parsed and normalised, and the
//! result checked field by field.
//!
//! The expected values were read off the samples' JSON (amounts converted by hand), not copied
//! from what the connector prints: where the two disagree, the connector is wrong. The connector
//! is built from the test keys (`tests/keys/`), as the proposed development table would build it.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{Content, DeliveryId, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{
    ChannelKind, Dispute, EventType, Payment, Refund, SchemaVersion, Source, UnifiedOrderEvent,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::group_id;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::signature::sha256_hex;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_paypal::{
    CERT_URL_HEADER, PayPal, Settings, TRANSMISSION_ID_HEADER, TRANSMISSION_TIME_HEADER, crc32,
};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "checkout-order-approved.http",
    "customer-dispute-created.http",
    "payment-capture-completed.http",
    "payment-capture-denied.http",
    "payment-capture-refunded.http",
];

const CERT_URL: &str = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-o2o-dev";

/// 2024-07-01T00:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_719_792_000;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/paypal")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

/// The proposed development table (see docs/platforms/paypal.md), with `changes`.
fn table(changes: &[(&str, Value)]) -> Value {
    let mut table = json!({
        "webhook_id": "8PT597110X687430LKGECATA",
        "trust_roots": [include_str!("keys/root-ca.pem")],
        "certificates": { CERT_URL: include_str!("keys/signer.pem") },
        "signing_key": include_str!("keys/signer.key"),
        "signing_cert_url": CERT_URL,
    });
    for (name, value) in changes {
        table[*name] = value.clone();
    }
    table
}

fn paypal_with(changes: &[(&str, Value)]) -> PayPal {
    let table = table(changes).as_object().cloned().expect("a table");
    let settings =
        parse_settings::<Settings>(&table, "channels.paypal").unwrap_or_else(|e| panic!("{e}"));
    PayPal::build(settings).unwrap_or_else(|e| panic!("{e}"))
}

fn paypal() -> PayPal {
    paypal_with(&[])
}

/// The sample `name`, signed with the test key as PayPal would sign it.
fn signed_by(connector: &PayPal, name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/paypal"),
        "{name}"
    );
    let mut req = sample.into_request(received_at());
    connector.sign(&mut req).expect("sign");
    req
}

fn signed(name: &str) -> WebhookRequest {
    signed_by(&paypal(), name)
}

/// Verifies, parses and normalises `req` as the pipeline does.
fn read_with(connector: &PayPal, req: &WebhookRequest) -> (DeliveryId, Normalised<()>) {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let parsed = connector.parse(&verified).expect("parses");
    let id = parsed.id.clone();
    let expected_content = format!(
        "{}|{}|{}",
        req.headers.get(TRANSMISSION_ID_HEADER).expect("id"),
        req.headers.get(TRANSMISSION_TIME_HEADER).expect("time"),
        crc32(&req.body)
    );
    assert_eq!(
        parsed.content,
        Some(Content::Sha256(sha256_hex(expected_content.as_bytes())))
    );
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    let normalised = connector
        .normalise(&parsed.id, parsed.message, &ctx)
        .expect("normalises");
    (id, normalised)
}

fn one_event_with(connector: &PayPal, req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    match read_with(connector, req) {
        (id, Normalised::Events(mut events)) if events.len() == 1 => (id, events.remove(0)),
        other => panic!("expected one event, got {other:?}"),
    }
}

fn one_event(req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    one_event_with(&paypal(), req)
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

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/paypal")
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
        PayPal::info().default_sample,
        "payment-capture-completed.http"
    );
}

#[test]
fn signing_sets_every_transmission_header() {
    let req = signed("payment-capture-completed.http");
    assert_eq!(
        req.headers.get(TRANSMISSION_ID_HEADER),
        Some("b2384410-f8d2-11ee-8a56-1d1d7a1bd6a3"),
        "the sample's own id is kept"
    );
    assert_eq!(
        req.headers.get(TRANSMISSION_TIME_HEADER),
        Some("2024-05-14T21:50:07Z"),
        "the sample's own time is kept"
    );
    assert_eq!(req.headers.get(CERT_URL_HEADER), Some(CERT_URL));
}

#[test]
fn a_completed_capture_is_payment_succeeded() {
    let (id, event) = one_event(&signed("payment-capture-completed.http"));
    assert_eq!(
        id,
        DeliveryId {
            tenant: "7KNGBPH2U58GQ".into(),
            external_event_id: "WH-58D329510W468432D-8HN650336L201105X".into(),
            topic: "PAYMENT.CAPTURE.COMPLETED".into(),
        }
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentSucceeded,
            occurred_at: time("2024-05-14T21:50:07.940Z"),
            status: Some("COMPLETED".into()),
            order: None,
            payment: Some(Payment {
                provider: "paypal".into(),
                payment_id: Some("27M47624FP291604U".into()),
                // custom_id wins over invoice_id (INV-1001).
                order_ref: Some("1001".into()),
                // 25.10 USD.
                amount: money("USD", 2510),
                status: Some("COMPLETED".into()),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn a_denied_capture_is_payment_failed_in_yen_with_the_invoice_as_order() {
    let (id, event) = one_event(&signed("payment-capture-denied.http"));
    assert_eq!(id.topic, "PAYMENT.CAPTURE.DENIED");
    assert_eq!(
        id.external_event_id,
        "WH-6F207351SC284371F-0KX52201050121307"
    );
    assert_eq!(id.tenant, "7KNGBPH2U58GQ");
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentFailed,
            occurred_at: time("2024-06-03T08:15:42.117Z"),
            status: Some("DENIED".into()),
            order: None,
            payment: Some(Payment {
                provider: "paypal".into(),
                payment_id: Some("7NW873794T343360M".into()),
                // No custom_id: the invoice.
                order_ref: Some("INV-2002".into()),
                // 4500 JPY: exponent 0.
                amount: money("JPY", 4500),
                status: Some("DENIED".into()),
                // No status_details: the status.
                failure_reason: Some("DENIED".into()),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn a_partial_refund_is_payment_refunded_with_the_refunded_amount() {
    let (id, event) = one_event(&signed("payment-capture-refunded.http"));
    assert_eq!(
        id,
        DeliveryId {
            tenant: "7KNGBPH2U58GQ".into(),
            external_event_id: "WH-1GE84257G0350133W-6RW800890C634293G".into(),
            topic: "PAYMENT.CAPTURE.REFUNDED".into(),
        }
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentRefunded,
            // 2024-05-20T19:14:04.543Z: the event's time, not the refund's (12:13:29-07:00).
            occurred_at: time("2024-05-20T19:14:04.543Z"),
            status: Some("COMPLETED".into()),
            order: None,
            payment: Some(Payment {
                provider: "paypal".into(),
                // The capture: the refund's `up` link.
                payment_id: Some("27M47624FP291604U".into()),
                order_ref: Some("1001".into()),
                status: Some("COMPLETED".into()),
                ..Payment::default()
            }),
            refund: Some(Refund {
                external_id: Some("1Y107995YT783435V".into()),
                // 10.00 of the 25.10 captured.
                amount: money("USD", 1000),
                reason: Some("One item arrived damaged".into()),
                items: Vec::new(),
            }),
        }
    );
}

#[test]
fn a_dispute_is_payment_disputed_of_its_capture() {
    let (id, event) = one_event(&signed("customer-dispute-created.http"));
    assert_eq!(
        id,
        DeliveryId {
            tenant: "7KNGBPH2U58GQ".into(),
            external_event_id: "WH-4M0448861G563140B-9EX36365822141321".into(),
            topic: "CUSTOMER.DISPUTE.CREATED".into(),
        }
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentDisputed,
            occurred_at: time("2024-06-21T13:36:33Z"),
            status: Some("WAITING_FOR_SELLER_RESPONSE".into()),
            order: None,
            payment: Some(Payment {
                provider: "paypal".into(),
                payment_id: Some("27M47624FP291604U".into()),
                // The transaction's `custom`.
                order_ref: Some("1001".into()),
                amount: money("USD", 2510),
                status: Some("WAITING_FOR_SELLER_RESPONSE".into()),
                dispute: Some(Dispute {
                    external_id: Some("PP-R-NMW-10060094".into()),
                    amount: money("USD", 2510),
                    reason: Some("MERCHANDISE_OR_SERVICE_NOT_RECEIVED".into()),
                    status: Some("WAITING_FOR_SELLER_RESPONSE".into()),
                    evidence_due_by: Some(time("2024-07-01T13:35:44Z")),
                }),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn an_approved_checkout_order_is_ignored() {
    let req = signed("checkout-order-approved.http");
    let (id, normalised) = read_with(&paypal(), &req);
    assert_eq!(id.topic, "CHECKOUT.ORDER.APPROVED");
    assert_eq!(id.tenant, "_", "an unmapped resource is not read");
    assert_eq!(
        normalised,
        Normalised::Ignored("event CHECKOUT.ORDER.APPROVED is not mapped".into())
    );
}

#[test]
fn the_url_tenant_wins_and_a_mapped_event_without_its_amount_is_a_field_error() {
    let connector = paypal();
    let mut req = signed("payment-capture-completed.http");
    req.path_tenant = Some("eu-shop".into());
    assert_eq!(one_event(&req).0.tenant, "eu-shop");

    let mut broken = signed("payment-capture-completed.http");
    broken.body = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2024-05-14T21:50:07Z","resource":{"id":"C1","status":"COMPLETED"}}"#.to_vec();
    connector.sign(&mut broken).expect("sign");
    let verified = connector.verify(&broken).expect("verifies");
    let parsed = connector.parse(&verified).expect("parses");
    let ctx = NormaliseContext {
        received_at: received_at(),
    };
    let error = connector
        .normalise(&parsed.id, parsed.message, &ctx)
        .expect_err("no amount");
    assert_eq!(error.to_string(), "resource.amount: missing");
}

/// The unified event the pipeline would make of a draft (what `group_id` reads).
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: "e".into(),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: received_at(),
        source: Source {
            channel: "paypal".into(),
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
fn a_payment_and_its_refund_share_the_shopify_orders_group() {
    let linked = paypal_with(&[
        ("orders_channel", json!("shopify")),
        ("orders_tenant", json!("example.myshopify.com")),
    ]);
    let groups: Vec<String> = [
        "payment-capture-completed.http",
        "payment-capture-refunded.http",
        "customer-dispute-created.http",
    ]
    .iter()
    .map(|name| {
        let (id, draft) = one_event_with(&linked, &signed_by(&linked, name));
        let payment = draft.payment.as_ref().expect("payment");
        assert_eq!(payment.order_channel.as_deref(), Some("shopify"));
        assert_eq!(
            payment.order_tenant.as_deref(),
            Some("example.myshopify.com")
        );
        group_id(&unified(&id, draft))
    })
    .collect();
    assert_eq!(groups, ["shopify:example.myshopify.com:1001"; 3]);

    // Without orders_tenant, the order's tenant is the payment's (the merchant id).
    let channel_only = paypal_with(&[("orders_channel", json!("shopify"))]);
    let (id, draft) = one_event_with(
        &channel_only,
        &signed_by(&channel_only, "payment-capture-refunded.http"),
    );
    assert_eq!(group_id(&unified(&id, draft)), "shopify:7KNGBPH2U58GQ:1001");
}
