//! Every sample delivery in `events/mollie/` signed, verified, parsed and normalised (and, where
//! it is thin, enriched against a local mock of the Payments API serving `tests/fixtures/`), and
//! the result checked field by field.
//!
//! The expected values were read off the samples' and fixtures' JSON (amounts and times worked
//! out by hand), not copied from what the connector prints: where the two disagree, the
//! connector is wrong.

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
use o2o_mollie::{Focus, Mollie, SIGNATURE_HEADER, Settings, Thin};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "classic-canceled.http",
    "classic-charged-back.http",
    "classic-paid.http",
    "classic-refunded.http",
    "payment-failed.http",
    "payment-link-paid.http",
    "payment-paid.http",
    "refund-refunded.http",
];

/// The development table proposed for `o2o.toml` (`[channels.mollie]`).
const DEV_API_KEY: &str = "test_dev_mollie_api_key_000000000";
const DEV_SECRET: &str = "dev_mollie_webhook_signing_secret";

/// The payments the mock API knows: `tests/fixtures/{id}.json`.
const FIXTURES: &[&str] = &[
    "tr_5B8cwPMGnU6qLbRvo7qEZo",
    "tr_7UhSN1zuXS",
    "tr_HdQrGb6N3r",
    "tr_d0b0E3EA3v",
];

/// 2025-11-26T16:00:00Z: when the samples are signed and received.
const RECEIVED_AT: i64 = 1_764_172_800;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/mollie")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

fn mollie_with(extra: Value) -> Mollie {
    let mut table = json!({ "api_key": DEV_API_KEY, "secrets": [DEV_SECRET] });
    if let (Some(table), Some(extra)) = (table.as_object_mut(), extra.as_object()) {
        table.extend(extra.clone());
    }
    let table = table.as_object().cloned().unwrap_or_default();
    let settings = parse_settings::<Settings>(&table, "channels.mollie").expect("settings");
    Mollie::build(settings).expect("builds")
}

/// The Payments API, answering only `GET /v2/payments/{id}?embed=refunds,chargebacks` with the
/// development key, for the fixtures' payments.
async fn payments_api() -> MockServer {
    let server = MockServer::start().await;
    for id in FIXTURES {
        let fixture = fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{id}.json")),
        )
        .expect("fixture");
        Mock::given(method("GET"))
            .and(path(format!("/v2/payments/{id}")))
            .and(query_param("embed", "refunds,chargebacks"))
            .and(header(
                "authorization",
                format!("Bearer {DEV_API_KEY}").as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/hal+json")
                    .set_body_string(fixture),
            )
            .mount(&server)
            .await;
    }
    server
}

/// The sample `name`, signed with the development secret as Mollie would sign it.
fn signed(connector: &Mollie, name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/mollie"),
        "{name}"
    );
    assert_eq!(
        sample.headers.get(SIGNATURE_HEADER),
        None,
        "{name} is unsigned"
    );
    let mut req = sample.into_request(received_at());
    connector.sign(&mut req).expect("sign");
    req
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: received_at(),
    }
}

/// Verifies, parses and normalises `req` as the pipeline does.
fn read(connector: &Mollie, req: &WebhookRequest) -> (DeliveryId, Normalised<Thin>) {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let parsed = connector.parse(&verified).expect("parses");
    let id = parsed.id.clone();
    let normalised = connector
        .normalise(&parsed.id, parsed.message, &ctx())
        .expect("normalises");
    (id, normalised)
}

/// The events of sample `name`, enriched from the mock API when it is thin, with its thin
/// reading when it was thin.
async fn events_with(
    connector: &Mollie,
    name: &str,
) -> (DeliveryId, Option<Thin>, Vec<EventDraft>) {
    let (id, normalised) = read(connector, &signed(connector, name));
    match normalised {
        Normalised::Events(events) => (id, None, events),
        Normalised::Enrich(thin) => match connector.enrich(thin.clone(), &ctx()).await {
            Ok(Normalised::Events(events)) => (id, Some(thin), events),
            other => panic!("{name}: expected events from the fetched payment, got {other:?}"),
        },
        Normalised::Ignored(reason) => panic!("{name}: ignored ({reason})"),
    }
}

async fn events(name: &str) -> (DeliveryId, Option<Thin>, Vec<EventDraft>) {
    let api = payments_api().await;
    events_with(&mollie_with(json!({ "api_base": api.uri() })), name).await
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

fn payment(id: &str, order: &str, currency: &str, minor: i64, method: &str) -> Payment {
    Payment {
        provider: "mollie".into(),
        payment_id: Some(id.into()),
        order_ref: Some(order.into()),
        amount: money(currency, minor),
        status: Some("paid".into()),
        method: Some(method.into()),
        ..Payment::default()
    }
}

fn classic_id(payment_id: &str) -> DeliveryId {
    DeliveryId {
        tenant: "_".into(),
        external_event_id: format!("{payment_id}:{}", RECEIVED_AT * 1000),
        topic: "payment".into(),
    }
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/mollie")
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
    assert!(COVERED.contains(&Mollie::info().default_sample));
}

#[tokio::test]
async fn payment_paid_is_a_signed_snapshot_and_succeeds_without_a_fetch() {
    let (id, thin, events) = events("payment-paid.http").await;
    assert_eq!(
        id,
        DeliveryId {
            tenant: "_".into(),
            external_event_id: "event_GvJ8WHrp5isUdRub9CJyH".into(),
            topic: "payment.paid".into(),
        }
    );
    assert_eq!(thin, None);
    assert_eq!(
        events,
        vec![EventDraft {
            event_type: EventType::PaymentSucceeded,
            // The event's createdAt.
            occurred_at: time("2024-03-20T09:30:11Z"),
            status: Some("paid".into()),
            order: None,
            // metadata is the JSON string "{\"order_id\":12345}"; 10.00 EUR.
            payment: Some(payment(
                "tr_5B8cwPMGnU6qLbRvo7qEZo",
                "12345",
                "EUR",
                1000,
                "ideal"
            )),
            refund: None,
        }]
    );
}

#[tokio::test]
async fn payment_failed_names_the_cards_failure_reason() {
    let (id, thin, events) = events("payment-failed.http").await;
    assert_eq!(
        (id.external_event_id.as_str(), id.topic.as_str()),
        ("event_Kx7dQm2pWz9bRt4sYv1aN", "payment.failed")
    );
    assert_eq!(thin, None);
    assert_eq!(
        events,
        vec![EventDraft {
            event_type: EventType::PaymentFailed,
            occurred_at: time("2024-03-21T14:05:43Z"),
            status: Some("failed".into()),
            order: None,
            payment: Some(Payment {
                // JPY has no minor unit: "1500" is 1500.
                status: Some("failed".into()),
                failure_reason: Some("card_declined".into()),
                ..payment("tr_QvgGzVDb3f", "1236", "JPY", 1500, "creditcard")
            }),
            refund: None,
        }]
    );
}

#[tokio::test]
async fn refund_refunded_fetches_its_payment_for_the_order() {
    let (id, thin, events) = events("refund-refunded.http").await;
    assert_eq!(
        id,
        DeliveryId {
            tenant: "_".into(),
            external_event_id: "event_Rf3nD8sLq2xWcZ6tHb0pE".into(),
            topic: "refund.refunded".into(),
        }
    );
    assert_eq!(
        thin,
        Some(Thin {
            payment_id: "tr_7UhSN1zuXS".into(),
            focus: Focus::Refund("re_4qqhO89gsT".into()),
        })
    );
    assert_eq!(
        events,
        vec![EventDraft {
            event_type: EventType::PaymentRefunded,
            // The fetched refund's createdAt, 2023-03-14T17:09:02.0Z.
            occurred_at: time("2023-03-14T17:09:02Z"),
            status: Some("refunded".into()),
            order: None,
            payment: Some(payment("tr_7UhSN1zuXS", "1234", "EUR", 2000, "creditcard")),
            // A partial refund: 5.95 of 20.00.
            refund: Some(Refund {
                external_id: Some("re_4qqhO89gsT".into()),
                amount: money("EUR", 595),
                reason: Some("Order".into()),
                items: Vec::new(),
            }),
        }]
    );
}

#[test]
fn payment_link_paid_is_ignored() {
    let connector = mollie_with(json!({}));
    let (id, normalised) = read(&connector, &signed(&connector, "payment-link-paid.http"));
    assert_eq!(
        (id.external_event_id.as_str(), id.topic.as_str()),
        ("whe_gQMMaGqAVA", "payment-link.paid")
    );
    assert_eq!(
        normalised,
        Normalised::Ignored("event payment-link.paid is not mapped".into())
    );
}

#[tokio::test]
async fn classic_paid_is_thin_and_the_fetched_payment_succeeds() {
    let (id, thin, events) = events("classic-paid.http").await;
    assert_eq!(id, classic_id("tr_5B8cwPMGnU6qLbRvo7qEZo"));
    assert_eq!(
        thin,
        Some(Thin {
            payment_id: "tr_5B8cwPMGnU6qLbRvo7qEZo".into(),
            focus: Focus::Everything,
        })
    );
    assert_eq!(
        events,
        vec![EventDraft {
            event_type: EventType::PaymentSucceeded,
            // paidAt.
            occurred_at: time("2024-03-20T09:30:10Z"),
            status: Some("paid".into()),
            order: None,
            payment: Some(payment(
                "tr_5B8cwPMGnU6qLbRvo7qEZo",
                "12345",
                "EUR",
                1000,
                "ideal"
            )),
            refund: None,
        }]
    );
}

#[tokio::test]
async fn classic_canceled_fails_with_the_status_as_its_reason() {
    let (id, _, events) = events("classic-canceled.http").await;
    assert_eq!(id, classic_id("tr_d0b0E3EA3v"));
    assert_eq!(
        events,
        vec![EventDraft {
            event_type: EventType::PaymentFailed,
            // canceledAt.
            occurred_at: time("2024-03-20T10:04:12Z"),
            status: Some("canceled".into()),
            order: None,
            payment: Some(Payment {
                status: Some("canceled".into()),
                failure_reason: Some("canceled".into()),
                ..payment("tr_d0b0E3EA3v", "1235", "EUR", 2000, "ideal")
            }),
            refund: None,
        }]
    );
}

#[tokio::test]
async fn classic_refunded_reports_the_payment_and_its_refund_but_not_a_failed_one() {
    let (id, _, events) = events("classic-refunded.http").await;
    assert_eq!(id, classic_id("tr_7UhSN1zuXS"));
    let paid = payment("tr_7UhSN1zuXS", "1234", "EUR", 2000, "creditcard");
    assert_eq!(
        events,
        vec![
            EventDraft {
                event_type: EventType::PaymentSucceeded,
                occurred_at: time("2023-03-14T16:03:51Z"),
                status: Some("paid".into()),
                order: None,
                payment: Some(paid.clone()),
                refund: None,
            },
            // re_9aZbXcYdWe failed: it refunded nothing.
            EventDraft {
                event_type: EventType::PaymentRefunded,
                occurred_at: time("2023-03-14T17:09:02Z"),
                status: Some("refunded".into()),
                order: None,
                payment: Some(paid),
                refund: Some(Refund {
                    external_id: Some("re_4qqhO89gsT".into()),
                    amount: money("EUR", 595),
                    reason: Some("Order".into()),
                    items: Vec::new(),
                }),
            },
        ]
    );
}

#[tokio::test]
async fn classic_charged_back_reports_the_chargeback_as_a_dispute() {
    let (id, _, events) = events("classic-charged-back.http").await;
    assert_eq!(id, classic_id("tr_HdQrGb6N3r"));
    // metadata.order_id is the number 1237.
    let paid = payment("tr_HdQrGb6N3r", "1237", "EUR", 1000, "creditcard");
    assert_eq!(
        events,
        vec![
            EventDraft {
                event_type: EventType::PaymentSucceeded,
                occurred_at: time("2022-01-03T13:28:10Z"),
                status: Some("paid".into()),
                order: None,
                payment: Some(paid.clone()),
                refund: None,
            },
            EventDraft {
                event_type: EventType::PaymentDisputed,
                occurred_at: time("2022-01-03T13:28:13Z"),
                status: Some("paid".into()),
                order: None,
                payment: Some(Payment {
                    dispute: Some(Dispute {
                        external_id: Some("chb_xg7414".into()),
                        amount: money("EUR", 1000),
                        reason: Some("AC01".into()),
                        status: None,
                        evidence_due_by: None,
                    }),
                    ..paid
                }),
                refund: None,
            },
        ]
    );
}

#[test]
fn a_tampered_next_gen_sample_is_refused() {
    let connector = mollie_with(json!({}));
    for name in COVERED.iter().filter(|n| !n.starts_with("classic-")) {
        let forged = o2o_testkit::tampered(signed(&connector, name));
        let refused = connector.verify(&forged).expect_err("tampered");
        assert_eq!(
            (refused.status, refused.code),
            (401, "signature_mismatch"),
            "{name}"
        );
    }
}

/// The unified event the pipeline makes of a draft (what `group_id` reads).
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: "e".into(),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: received_at(),
        source: Source {
            channel: "mollie".into(),
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

#[tokio::test]
async fn a_payment_and_its_later_refund_share_their_orders_message_group() {
    let api = payments_api().await;
    let groups = |connector: Mollie| async move {
        let mut groups = Vec::new();
        for sample in ["classic-refunded.http", "refund-refunded.http"] {
            let (id, _, events) = events_with(&connector, sample).await;
            for event in events {
                groups.push(group_id(&unified(&id, event)));
            }
        }
        groups
    };
    // classic-refunded: the payment and its refund; refund-refunded: the refund again.
    let linked = mollie_with(json!({
        "api_base": api.uri(),
        "orders_channel": "shopify",
        "orders_tenant": "o2o-demo.myshopify.com",
    }));
    assert_eq!(
        groups(linked).await,
        vec!["shopify:o2o-demo.myshopify.com:1234"; 3]
    );
    let channel_only = mollie_with(json!({ "api_base": api.uri(), "orders_channel": "shopify" }));
    assert_eq!(groups(channel_only).await, vec!["shopify:_:1234"; 3]);
    let unlinked = mollie_with(json!({ "api_base": api.uri() }));
    assert_eq!(groups(unlinked).await, vec!["mollie:_:1234"; 3]);
}
