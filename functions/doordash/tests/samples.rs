//! Every sample delivery in `events/doordash/` authenticated, parsed and normalised, and the
//! result checked field by field; and a new order acknowledged only once it is durably queued.
//!
//! The expected values were read off the samples' JSON (sums worked out by hand), not copied from
//! what the connector prints: where the two disagree, the connector is wrong.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, NormaliseError, Normalised};
use o2o_core::event::{
    Address, Courier, Customer, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order,
    OrderStatus, Totals,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::PipelineOptions;
use o2o_core::ports::{PortError, QueueMessage, QueueName, Queues};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Outcome, Pipeline, Processed, Timestamp, WebhookRequest};
use o2o_doordash::{AUTHORIZATION_HEADER, DoorDash};
use o2o_local::SqliteStore;

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "dasher-status-update.http",
    "drive-dasher-dropped-off.http",
    "order-cancellation.http",
    "order-create-self-delivery.http",
    "order-create.http",
    "order-release.http",
];

/// 2025-11-26T16:00:00Z, after every time in the samples.
const RECEIVED_AT: i64 = 1_764_172_800;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/doordash")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

fn doordash() -> DoorDash {
    o2o_testkit::samples::dev_connector()
}

/// The sample `name` with the development token in `Authorization`, as DoorDash sends it.
fn signed(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/doordash"),
        "{name}"
    );
    let mut req = sample.into_request(received_at());
    doordash().sign(&mut req).expect("sign");
    req
}

fn read(req: &WebhookRequest) -> (DeliveryId, Result<Normalised<()>, NormaliseError>) {
    let doordash = doordash();
    let verified = doordash
        .verify(req)
        .expect("the token is the registered one");
    let parsed = doordash.parse(&verified).expect("parses");
    let id = parsed.id.clone();
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    (id, doordash.normalise(&parsed.id, parsed.message, &ctx))
}

fn one_event(req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    match read(req) {
        (id, Ok(Normalised::Events(mut events))) if events.len() == 1 => (id, events.remove(0)),
        (_, other) => panic!("expected one event, got {other:?}"),
    }
}

fn usd(cents: i64) -> Option<Money> {
    Some(Money::from_minor(
        cents,
        Currency::from_code("USD").expect("USD"),
    ))
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/doordash")
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

/// developer.doordash.com `docs/marketplace/reference/sample_order`, in the envelope of
/// `docs/marketplace/how_to/order_integration`.
#[test]
fn the_official_sample_order_is_order_created_in_the_configured_currency() {
    let (id, event) = one_event(&signed("order-create.http"));
    assert_eq!(
        (
            id.topic.as_str(),
            id.external_event_id.as_str(),
            id.tenant.as_str()
        ),
        ("OrderCreate", "abc12345", "abc12345")
    );
    assert_eq!(event.event_type, EventType::OrderCreated);
    assert_eq!(
        event.occurred_at,
        received_at(),
        "no time in an OrderCreate"
    );
    assert_eq!(event.status.as_deref(), Some("NEW"));
    assert_eq!(
        event.order,
        Some(Order {
            external_id: "abc12345".into(),
            display_id: Some("string".into()),
            status: Some(OrderStatus::Placed),
            currency: Currency::from_code("USD").ok(),
            totals: Totals {
                subtotal: usd(2000),
                tax: usd(300),
                // tip_amount 0 and merchant_tip_amount 0.
                tip: usd(0),
                ..Totals::default()
            },
            items: vec![Item {
                sku: Some("26d3fce0-efd2-46d3-832c-ced5bc956401".into()),
                name: "Burrito Scram-Bowl".into(),
                quantity: 1,
                unit_price: usd(0),
                modifiers: vec![
                    Modifier {
                        name: "Signature Sauces: KETCHUP".into(),
                        quantity: Some(1),
                        price: usd(0),
                    },
                    // Nested under KETCHUP as `extra` (singular) in the sample.
                    Modifier {
                        name: "Breakfast Condiments: Salt".into(),
                        quantity: Some(1),
                        price: usd(0),
                    },
                ],
                ..Item::default()
            }],
            customer: Some(Customer {
                name: Some("Kelley W.".into()),
                phone: Some("855-973-1040".into()),
                email: Some("kelley.w@example.com".into()),
            }),
            // `fulfillment_type` decides over the sample's contradicting `is_pickup: true`.
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Delivery),
                ..Fulfilment::default()
            }),
            ..Order::default()
        })
    );
}

/// As published, the sample order lacks a comma after `"tax": 300`: not JSON, so it is
/// quarantined with its exact bytes (and acknowledged), never guessed at.
#[tokio::test]
async fn the_sample_order_as_published_is_not_json_and_is_quarantined() {
    let mut req = signed("order-create.http");
    let body = String::from_utf8(req.body).expect("UTF-8");
    assert_eq!(body.matches("\"tax\":300,").count(), 1);
    req.body = body.replace("\"tax\":300,", "\"tax\":300").into_bytes();
    let store = SqliteStore::in_memory().expect("SQLite");
    let pipeline = Pipeline::new(&store, &store, PipelineOptions::default());
    let handled = pipeline.ingest(&doordash(), &req).await;
    assert_eq!(handled.reply.status, 200);
    assert!(matches!(
        handled.outcome,
        Outcome::Accepted {
            processed: Processed::Quarantined { .. },
            ..
        }
    ));
    let quarantined = store
        .read(QueueName::Quarantine, 0, 10)
        .await
        .expect("read");
    assert_eq!(quarantined.len(), 1);
    assert!(
        quarantined[0].body.contains("payload: not valid JSON"),
        "{}",
        quarantined[0].body
    );
    let unified = store.read(QueueName::Unified, 0, 10).await.expect("read");
    assert!(unified.is_empty());
}

#[test]
fn a_self_delivery_order_has_fees_tip_address_and_survives_its_repeated_key() {
    let (id, event) = one_event(&signed("order-create-self-delivery.http"));
    assert_eq!(id.tenant, "store-42");
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "5b9f6c1e-8d2a-4c3b-9e7f-1a2b3c4d5e6f");
    assert_eq!(
        order.totals,
        Totals {
            // 18.99 (with its extra cheese) + 5.99.
            subtotal: usd(2498),
            tax: usd(231),
            delivery_fee: usd(299),
            tip: usd(100),
            ..Totals::default()
        }
    );
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.items[0].external_id.as_deref(), Some("li-1"));
    assert_eq!(order.items[0].unit_price, usd(1899));
    assert_eq!(order.items[0].note.as_deref(), Some("Well done"));
    assert_eq!(
        order.items[0].modifiers,
        vec![
            Modifier {
                name: "Crust: Thin".into(),
                quantity: Some(1),
                price: usd(0),
            },
            Modifier {
                name: "Toppings: Extra cheese".into(),
                quantity: Some(1),
                price: usd(150),
            },
        ]
    );
    assert_eq!(
        order.fulfilment,
        Some(Fulfilment {
            kind: Some(FulfilmentType::Delivery),
            address: Some(Address {
                lines: vec!["901 Market Street".into(), "Suite 600".into()],
                city: Some("San Francisco".into()),
                region: Some("CA".into()),
                postal_code: Some("94103".into()),
                country_code: Some("US".into()),
                ..Address::default()
            }),
            ..Fulfilment::default()
        })
    );
    assert_eq!(order.note.as_deref(), Some("Gate code 1234"));
}

/// `docs/marketplace/how_to/order_cancellation_webhook`: no envelope, no reason.
#[test]
fn a_cancellation_is_order_cancelled() {
    let (id, event) = one_event(&signed("order-cancellation.http"));
    assert_eq!(
        (id.topic.as_str(), id.tenant.as_str()),
        ("order_cancellation", "location1")
    );
    assert_eq!(id.external_event_id, "0da8b530-7c4c-4925-8785-cd843b797d64");
    assert_eq!(event.event_type, EventType::OrderCancelled);
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "0da8b530-7c4c-4925-8785-cd843b797d64");
    assert_eq!(order.status, Some(OrderStatus::Cancelled));
}

/// `docs/marketplace/reference/sample_auto_order_release_event`.
#[test]
fn a_release_is_fulfilment_updated_with_the_dasher() {
    let (id, event) = one_event(&signed("order-release.http"));
    assert_eq!(
        (id.topic.as_str(), id.tenant.as_str()),
        ("order_release", "location1")
    );
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    let fulfilment = event.order.and_then(|o| o.fulfilment).expect("fulfilment");
    assert_eq!(fulfilment.status.as_deref(), Some("order_release"));
    assert_eq!(
        fulfilment.courier,
        Some(Courier {
            name: Some("Kelley".into()),
            phone: Some("1234567890".into()),
            ..Courier::default()
        })
    );
}

/// `docs/marketplace/how_to/dasher_status_webhooks`.
#[test]
fn a_dasher_status_update_is_fulfilment_updated_at_its_time() {
    let (id, event) = one_event(&signed("dasher-status-update.http"));
    assert_eq!(
        id.tenant, "123852",
        "DoorDash's location id: the only store id it has"
    );
    assert_eq!(
        id.external_event_id,
        "7424215690108_2:arrived_at_store@2021-06-02T17:41:29.996321Z"
    );
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    assert_eq!(event.occurred_at, time("2021-06-02T17:41:29.996321Z"));
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "7424215690108_2");
    assert_eq!(order.status, None, "at the store: not yet out for delivery");
    let fulfilment = order.fulfilment.expect("fulfilment");
    assert_eq!(fulfilment.status.as_deref(), Some("arrived_at_store"));
    assert_eq!(
        fulfilment.courier.and_then(|c| c.name),
        Some("Jude D.".into())
    );
}

/// `docs/drive/how_to/Drive_DSX/how_to_dsx_delivery_tracking`: amounts as strings, which are not
/// read (they are what the merchant pays DoorDash, not the customer's order).
#[test]
fn a_drive_drop_off_completes_the_delivery() {
    let (id, event) = one_event(&signed("drive-dasher-dropped-off.http"));
    assert_eq!(
        (id.topic.as_str(), id.tenant.as_str()),
        ("DASHER_DROPPED_OFF", "STORE 1")
    );
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    assert_eq!(event.occurred_at, time("2025-03-06T01:41:30.266973Z"));
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "ORDER1");
    assert_eq!(order.status, Some(OrderStatus::Completed));
    assert_eq!(
        order.fulfilment.and_then(|f| f.courier),
        Some(Courier {
            name: Some("JOHN SMITH".into()),
            phone: Some("6055551234".into()),
            tracking_url: Some("REDACTED".into()),
            ..Courier::default()
        })
    );
}

#[test]
fn a_body_of_no_known_shape_is_unreadable_and_a_menu_event_is_ignored() {
    let mut req = signed("order-create.http");
    req.body = br#"{"hello":"world"}"#.to_vec();
    let doordash = doordash();
    let verified = doordash.verify(&req).expect("token");
    assert!(doordash.parse(&verified).is_err());
    req.body = br#"{"event":{"type":"MenuUpdate","status":"SUCCESS"}}"#.to_vec();
    let (id, normalised) = read(&req);
    assert_eq!(id.topic, "MenuUpdate");
    assert_eq!(
        normalised,
        Ok(Normalised::Ignored("event MenuUpdate is not mapped".into()))
    );
}

/// The SQLite store's queues, failing the first `failures` sends.
struct FailingQueues {
    store: SqliteStore,
    failures: AtomicUsize,
}

#[async_trait::async_trait]
impl Queues for FailingQueues {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(PortError::backend("test", "the queue is down"));
        }
        self.store.send(queue, messages).await
    }
}

/// DoorDash reads a 200 as "the order is accepted" and retries a 5xx (up to 3 times). The
/// pipeline answers 200 only after the event is on the queue: when the queue fails, the answer
/// is 503 with nothing kept, and DoorDash's retry is accepted once the event is queued.
#[tokio::test]
async fn a_new_order_is_acknowledged_only_once_it_is_durably_queued() {
    let store = SqliteStore::in_memory().expect("SQLite");
    let queues = FailingQueues {
        store: store.clone(),
        failures: AtomicUsize::new(1),
    };
    let pipeline = Pipeline::new(&store, &queues, PipelineOptions::default());
    let req = signed("order-create.http");
    let doordash = doordash();
    let queued = || async {
        store
            .read(QueueName::Unified, 0, 10)
            .await
            .expect("read")
            .len()
    };

    let first = pipeline.ingest(&doordash, &req).await;
    assert_eq!(
        first.reply.status, 503,
        "not accepted while nothing is queued"
    );
    assert_eq!(queued().await, 0);

    let retry = pipeline.ingest(&doordash, &req).await;
    assert_eq!(retry.reply.status, 200);
    assert!(matches!(
        retry.outcome,
        Outcome::Accepted {
            processed: Processed::Enqueued { events: 1 },
            ..
        }
    ));
    assert_eq!(queued().await, 1, "the 200 came after the event was queued");

    let again = pipeline.ingest(&doordash, &req).await;
    assert_eq!(again.reply.status, 200);
    assert!(matches!(again.outcome, Outcome::Duplicate { .. }));
    assert_eq!(queued().await, 1);

    let mut forged = req.clone();
    forged
        .headers
        .set(AUTHORIZATION_HEADER, "Bearer not-the-token");
    let refused = pipeline.ingest(&doordash, &forged).await;
    assert_eq!(refused.reply.status, 401);
    assert_eq!(queued().await, 1, "nothing more queued");
}
