//! The pipeline's second claim, the content key ([`Parsed::content`]), over an in-memory store
//! and queues with a connector that says in its headers what it authenticated.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::connector::{
    ChannelInfo, Connector, Content, DeliveryId, EventDraft, GetRequests, NormaliseContext,
    NormaliseError, Normalised, Parsed, Verified,
};
use crate::event::{ChannelKind, EventType, Order};
use crate::key::IdempotencyKey;
use crate::pipeline::{Outcome, Pipeline, PipelineOptions, Processed};
use crate::ports::{
    Claim, ClaimOutcome, IdempotencyStore, PortError, QueueMessage, QueueName, Queues,
};
use crate::request::{Headers, Rejection, Reply, WebhookRequest};
use crate::settings::SettingsError;
use crate::signature::{SignatureError, sha256_hex};
use crate::timestamp::Timestamp;

/// Runs a future that never waits: the in-memory ports below answer at once.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// One idempotency record: `None` ack while `INPROGRESS`.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    ack: Option<Reply>,
    payload_hash: String,
}

/// An in-memory store and queues (expiry is not modelled); `fail_sends` sends fail first.
#[derive(Default)]
pub(super) struct Memory {
    records: Mutex<BTreeMap<String, Record>>,
    pub(super) queued: Mutex<Vec<(QueueName, QueueMessage)>>,
    pub(super) fail_sends: AtomicUsize,
    releases: AtomicUsize,
}

impl Memory {
    pub(super) fn keys(&self) -> Vec<(String, bool)> {
        let records = self.records.lock().expect("lock");
        records
            .iter()
            .map(|(key, record)| (key.clone(), record.ack.is_some()))
            .collect()
    }

    pub(super) fn queued(&self) -> usize {
        self.queued.lock().expect("lock").len()
    }
}

#[async_trait]
impl IdempotencyStore for Memory {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        let mut records = self.records.lock().expect("lock");
        Ok(match records.get(claim.key.as_str()) {
            Some(Record {
                ack: Some(ack),
                payload_hash,
            }) => ClaimOutcome::Completed {
                ack: ack.clone(),
                payload_hash: payload_hash.clone(),
            },
            Some(_) => ClaimOutcome::InProgress,
            None => {
                records.insert(
                    claim.key.as_str().to_owned(),
                    Record {
                        ack: None,
                        payload_hash: claim.payload_hash.clone(),
                    },
                );
                ClaimOutcome::Claimed
            }
        })
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        _expires_at: Timestamp,
    ) -> Result<(), PortError> {
        let mut records = self.records.lock().expect("lock");
        let record = records
            .get_mut(key.as_str())
            .ok_or_else(|| PortError::backend("memory", "completing an unclaimed key"))?;
        record.ack = Some(ack.clone());
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        self.releases.fetch_add(1, Ordering::SeqCst);
        let mut records = self.records.lock().expect("lock");
        if records.get(key.as_str()).is_some_and(|r| r.ack.is_none()) {
            records.remove(key.as_str());
        }
        Ok(())
    }
}

#[async_trait]
impl Queues for Memory {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        let fail = self
            .fail_sends
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(PortError::backend("memory", "injected queue failure"));
        }
        let mut queued = self.queued.lock().expect("lock");
        queued.extend(messages.into_iter().map(|m| (queue, m)));
        Ok(())
    }
}

static INFO: ChannelInfo = ChannelInfo {
    id: "echo",
    name: "Echo",
    kind: ChannelKind::WebShop,
    default_sample: "",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// Authenticates everything; the headers name the delivery (`id`, `topic`) and what identifies
/// its content (`content`: `payload`, or a hex hash standing for a signed part); the body is
/// the order id.
struct Echo;

/// No settings.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Settings {}

#[async_trait]
impl Connector for Echo {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = String;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(_settings: Settings) -> Result<Self, SettingsError> {
        Ok(Self)
    }

    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        Ok(Verified::body(req))
    }

    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<String>, NormaliseError> {
        let header = |name: &str| {
            verified
                .request
                .headers
                .get(name)
                .map(str::to_owned)
                .ok_or_else(|| NormaliseError::field(name, "missing header"))
        };
        let content = match verified.request.headers.get("content") {
            None => None,
            Some("payload") => Some(Content::Payload),
            Some(hex) => Some(Content::Sha256(hex.to_owned())),
        };
        Ok(Parsed {
            id: DeliveryId {
                tenant: "shop".to_owned(),
                external_event_id: header("id")?,
                topic: header("topic")?,
            },
            message: String::from_utf8_lossy(&verified.payload).into_owned(),
            content,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        order: String,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        Ok(Normalised::Events(vec![EventDraft {
            event_type: EventType::OrderCreated,
            occurred_at: ctx.received_at,
            status: None,
            order: Some(Order {
                external_id: order,
                ..Order::default()
            }),
            payment: None,
            refund: None,
        }]))
    }

    fn ack(&self) -> Reply {
        Reply::text(200, "ok")
    }

    fn sign(&self, _req: &mut WebhookRequest) -> Result<(), SignatureError> {
        Ok(())
    }
}

fn delivery(id: &str, topic: &str, content: Option<&str>, body: &str) -> WebhookRequest {
    let mut headers = Headers::new();
    headers.insert("id", id);
    headers.insert("topic", topic);
    if let Some(content) = content {
        headers.insert("content", content);
    }
    WebhookRequest {
        method: "POST".to_owned(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers,
        body: body.as_bytes().to_vec(),
        received_at: Timestamp::from_unix_seconds(1_767_225_600).expect("a time"),
    }
}

fn ingest(memory: &Memory, req: &WebhookRequest) -> crate::pipeline::Handled {
    let pipeline = Pipeline::new(memory, memory, PipelineOptions::default());
    block_on(pipeline.ingest(&Echo, req))
}

fn content_key(topic: &str, body: &str) -> String {
    IdempotencyKey::content("echo", topic, &sha256_hex(body.as_bytes()))
        .as_str()
        .to_owned()
}

#[test]
fn signed_content_under_a_fresh_id_is_a_duplicate_of_its_first_delivery() {
    let memory = Memory::default();
    let first = ingest(
        &memory,
        &delivery("a", "orders", Some("payload"), "order-1"),
    );
    assert_eq!(
        first.outcome,
        Outcome::Accepted {
            key: Some(IdempotencyKey::from_stored("echo:shop:orders:a".to_owned())),
            processed: Processed::Enqueued { events: 1 },
        }
    );
    // Both keys are completed, the content key named by topic and hash, without the tenant.
    let content = content_key("orders", "order-1");
    assert_eq!(
        memory.keys(),
        vec![
            (content.clone(), true),
            ("echo:shop:orders:a".to_owned(), true)
        ]
    );

    // The same body under a fresh id: the stored ack, nothing queued, and the fresh id is not
    // kept (its claim is released).
    let replay = ingest(
        &memory,
        &delivery("b", "orders", Some("payload"), "order-1"),
    );
    assert_eq!(replay.reply, Reply::text(200, "ok"));
    assert_eq!(
        replay.outcome,
        Outcome::Duplicate {
            key: IdempotencyKey::from_stored("echo:shop:orders:b".to_owned()),
            payload_differs: false,
            content: Some(IdempotencyKey::from_stored(content.clone())),
        }
    );
    assert!(replay.outcome.is_warning(), "a replay is worth a warning");
    assert_eq!(memory.queued(), 1);
    assert_eq!(memory.keys().len(), 2, "nothing records the replayed id");

    // A plain redelivery is answered from the delivery's own key, as before.
    let again = ingest(
        &memory,
        &delivery("a", "orders", Some("payload"), "order-1"),
    );
    assert!(matches!(
        again.outcome,
        Outcome::Duplicate { content: None, .. }
    ));
    assert!(!again.outcome.is_warning());

    // The same body on another topic is other content (a platform may send one snapshot on
    // several topics); another body is other content.
    for (id, topic, body) in [("c", "orders/paid", "order-1"), ("d", "orders", "order-2")] {
        let other = ingest(&memory, &delivery(id, topic, Some("payload"), body));
        assert_eq!(other.outcome.events(), 1, "{id}");
    }
    assert_eq!(memory.queued(), 3);
}

#[test]
fn a_connector_hash_stands_for_the_signed_part() {
    let memory = Memory::default();
    let signed = "ab12";
    // Two envelopes (different bodies) around one signed part: one delivery.
    let first = ingest(&memory, &delivery("a", "t", Some(signed), "envelope-1"));
    assert_eq!(first.outcome.events(), 1);
    let second = ingest(&memory, &delivery("b", "t", Some(signed), "envelope-2"));
    match &second.outcome {
        Outcome::Duplicate {
            content: Some(key),
            payload_differs,
            ..
        } => {
            assert_eq!(key.as_str(), "echo#content:t:sha256:ab12");
            assert!(*payload_differs, "the bodies differ");
        }
        other => panic!("expected a duplicate of the content, got {other:?}"),
    }
    assert_eq!(memory.queued(), 1);
}

#[test]
fn without_a_content_key_every_fresh_id_is_processed() {
    let memory = Memory::default();
    for id in ["a", "b"] {
        let handled = ingest(&memory, &delivery(id, "orders", None, "order-1"));
        assert_eq!(handled.outcome.events(), 1, "{id}");
    }
    assert_eq!(memory.queued(), 2);
    assert_eq!(memory.keys().len(), 2, "no content keys");
}

#[test]
fn content_in_progress_elsewhere_answers_409_and_lets_the_id_go() {
    let memory = Memory::default();
    memory.records.lock().expect("lock").insert(
        content_key("orders", "order-1"),
        Record {
            ack: None,
            payload_hash: String::new(),
        },
    );
    let handled = ingest(
        &memory,
        &delivery("a", "orders", Some("payload"), "order-1"),
    );
    assert_eq!(handled.reply.status, 409);
    assert!(matches!(handled.outcome, Outcome::InProgress { .. }));
    assert_eq!(memory.queued(), 0);
    assert_eq!(
        memory.keys(),
        vec![(content_key("orders", "order-1"), false)],
        "the delivery's own claim is released"
    );
}

#[test]
fn a_failure_after_both_claims_releases_both_and_the_retry_succeeds() {
    let memory = Memory {
        fail_sends: AtomicUsize::new(1),
        ..Memory::default()
    };
    let req = delivery("a", "orders", Some("payload"), "order-1");
    let failed = ingest(&memory, &req);
    assert_eq!(failed.reply.status, 503);
    assert_eq!(memory.releases.load(Ordering::SeqCst), 2);
    assert_eq!(memory.keys(), vec![], "both claims released");
    assert_eq!(memory.queued(), 0);
    let retried = ingest(&memory, &req);
    assert_eq!(retried.outcome.events(), 1);
    assert_eq!(memory.queued(), 1);
}
