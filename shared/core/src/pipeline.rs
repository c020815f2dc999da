//! The ingest pipeline: one delivery, the same eight steps for every platform
//! (DESIGN.md, "The ingest pipeline"). Its rule: a delivery is either on a queue (unified,
//! enrichment or quarantine) or the platform was told to send it again.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use uuid::Uuid;

use std::collections::BTreeMap;

use crate::config::{ChannelConfig, Credentials};
use crate::connector::{
    ChannelInfo, Connector, Delivery, EnrichError, EventDraft, NormaliseContext, NormaliseError,
    Normalised,
};
use crate::event::{SchemaVersion, Source, UnifiedOrderEvent};
use crate::ports::{
    Claim, ClaimOutcome, IdempotencyStore, PortError, QueueMessage, QueueName, Queues,
    StoredDelivery,
};
use crate::registry::Registry;
use crate::request::{Rejection, Reply, WebhookRequest};
use crate::signature::sha256_hex;

/// Seconds an `INPROGRESS` claim blocks retries when the adapter gives no deadline.
pub const DEFAULT_IN_PROGRESS_SECONDS: i64 = 60;
/// Seconds a completed key is remembered: 7 days, longer than any platform retries.
pub const COMPLETED_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// What happened to one delivery (a log field and a metric name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A URL-verification handshake was answered.
    Handshake,
    /// Refused with a 4xx before anything was stored.
    Rejected,
    /// Already processed; the stored ack was replayed.
    Duplicate,
    /// Being processed by another request; the platform was told to retry (409).
    InProgress,
    /// Unified events were enqueued.
    Enqueued(usize),
    /// Put on the enrichment queue.
    Enrichment,
    /// Authenticated but not normalisable: quarantined and acknowledged.
    Quarantined,
    /// An event type we do not map: acknowledged.
    Ignored,
    /// A store or queue failed; the claim was released and the platform told to retry (5xx).
    Failed,
}

impl Outcome {
    /// Metric and log name: `enqueued`, `duplicate`, `rejected` …
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Handshake => "handshake",
            Outcome::Rejected => "rejected",
            Outcome::Duplicate => "duplicate",
            Outcome::InProgress => "in_progress",
            Outcome::Enqueued(_) => "enqueued",
            Outcome::Enrichment => "enrichment",
            Outcome::Quarantined => "quarantined",
            Outcome::Ignored => "ignored",
            Outcome::Failed => "failed",
        }
    }
}

/// What a replay of the quarantine did (`o2o replay`, locally or on AWS).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Deliveries that now produced unified events (removed from the quarantine).
    pub enqueued: usize,
    /// Deliveries that now went to the enrichment queue (removed).
    pub enrichment: usize,
    /// Deliveries that are now ignored (removed).
    pub ignored: usize,
    /// Deliveries that still fail, with their error (kept).
    pub still_failing: Vec<(String, String)>,
}

impl ReplaySummary {
    /// Counts one reprocessed delivery; `false` when it still fails (keep it quarantined).
    pub fn count(&mut self, key: &str, outcome: (Outcome, Option<String>)) -> bool {
        match outcome {
            (Outcome::Quarantined, error) => {
                self.still_failing
                    .push((key.to_owned(), error.unwrap_or_default()));
                return false;
            }
            (Outcome::Enqueued(_), _) => self.enqueued += 1,
            (Outcome::Enrichment, _) => self.enrichment += 1,
            _ => self.ignored += 1,
        }
        true
    }
}

/// The result of handling one delivery: what to answer, what happened, and a loggable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// The HTTP reply for the platform.
    pub reply: Reply,
    /// What happened.
    pub outcome: Outcome,
    /// A short reason (rejection code, quarantine error, port failure); never secrets or bodies.
    pub detail: Option<String>,
    /// The idempotency key, once known.
    pub idempotency_key: Option<String>,
}

/// Timing options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineOptions {
    /// How long an `INPROGRESS` claim blocks retries (on Lambda: the invocation's remaining time).
    pub in_progress_seconds: i64,
    /// How long a completed key is remembered.
    pub completed_ttl_seconds: i64,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            in_progress_seconds: DEFAULT_IN_PROGRESS_SECONDS,
            completed_ttl_seconds: COMPLETED_TTL_SECONDS,
        }
    }
}

/// The pipeline over an idempotency store and the queues.
pub struct Pipeline<'a> {
    store: &'a dyn IdempotencyStore,
    queues: &'a dyn Queues,
    options: PipelineOptions,
}

/// Where a normalised delivery goes.
enum Route {
    Unified(Vec<QueueMessage>, usize),
    Enrichment,
    Quarantine(String),
    Ignored(String),
}

impl<'a> Pipeline<'a> {
    /// A pipeline writing through `store` and `queues`.
    pub fn new(
        store: &'a dyn IdempotencyStore,
        queues: &'a dyn Queues,
        options: PipelineOptions,
    ) -> Self {
        Self {
            store,
            queues,
            options,
        }
    }

    /// Handles one delivery for `connector` with the tenant's `credentials` (steps 2–8).
    pub async fn handle(
        &self,
        connector: &dyn Connector,
        credentials: &Credentials,
        req: &WebhookRequest,
    ) -> Handled {
        // 2. Handshake.
        if let Some(answer) = connector.handshake(req, credentials) {
            return match answer {
                Ok(reply) => handled(reply, Outcome::Handshake, None, None),
                Err(rejection) => rejected(rejection),
            };
        }
        // 3. Verify.
        if let Err(rejection) = connector.verify(req, credentials) {
            return rejected(rejection);
        }
        match connector.split_records(&req.body) {
            None => self.handle_verified(connector, credentials, req).await,
            Some(records) => {
                self.handle_records(connector, credentials, req, records)
                    .await
            }
        }
    }

    /// Steps 4–8 for each record of a multi-record delivery, in order. The first record that
    /// fails or is in progress ends the run and is answered, so the platform sends the whole
    /// delivery again; the records already done then answer as duplicates.
    async fn handle_records(
        &self,
        connector: &dyn Connector,
        credentials: &Credentials,
        req: &WebhookRequest,
        records: Vec<Vec<u8>>,
    ) -> Handled {
        let count = records.len();
        let mut enqueued = 0;
        let mut last = None;
        for body in records {
            let record = WebhookRequest {
                body,
                ..req.clone()
            };
            let handled = self.handle_verified(connector, credentials, &record).await;
            match handled.outcome {
                Outcome::Failed | Outcome::InProgress => return handled,
                Outcome::Enqueued(n) => enqueued += n,
                _ => {}
            }
            last = Some(handled);
        }
        let Some(mut handled) = last else {
            return handled(
                connector.ack(),
                Outcome::Ignored,
                Some("no records".to_owned()),
                None,
            );
        };
        if enqueued > 0 {
            handled.outcome = Outcome::Enqueued(enqueued);
        }
        if count > 1 {
            handled.detail = Some(format!("{count} records"));
        }
        handled
    }

    /// Steps 4–8 for one authenticated delivery (or one record of it).
    async fn handle_verified(
        &self,
        connector: &dyn Connector,
        credentials: &Credentials,
        req: &WebhookRequest,
    ) -> Handled {
        // 4. Parse; an authenticated envelope we cannot read is quarantined under a content key.
        let info = connector.info();
        let (delivery, parse_error) = match connector.parse(req, credentials) {
            Ok(delivery) => (delivery, None),
            Err(e) => (content_addressed_delivery(req), Some(e)),
        };
        let key = idempotency_key(info.id, &delivery);

        // 5. Claim.
        let now = req.received_at;
        let claim = Claim {
            key: key.clone(),
            payload_hash: sha256_hex(&req.body),
            now,
            in_progress_until: now.plus_seconds(self.options.in_progress_seconds),
            expires_at: now.plus_seconds(self.options.completed_ttl_seconds),
        };
        match self.store.claim(&claim).await {
            Ok(ClaimOutcome::Claimed) => {}
            Ok(ClaimOutcome::Completed { ack, payload_hash }) => {
                let detail = (payload_hash != claim.payload_hash)
                    .then(|| "same key, different payload".to_owned());
                return handled(ack, Outcome::Duplicate, detail, Some(key));
            }
            Ok(ClaimOutcome::InProgress) => {
                let rejection = Rejection::new(
                    409,
                    "in_progress",
                    "this delivery is being processed; retry later",
                );
                return handled(rejection.to_reply(), Outcome::InProgress, None, Some(key));
            }
            Err(e) => return failed(e, Some(key)),
        }

        // 6. Normalise.
        let route = match parse_error {
            Some(e) => Route::Quarantine(e.0),
            None => route(
                info,
                &delivery,
                &key,
                req,
                connector.normalise(&delivery, &NormaliseContext { received_at: now }),
            ),
        };

        // 7. Enqueue.
        let (sent, outcome, detail) = match route {
            Route::Unified(messages, count) => (
                self.queues.send(QueueName::Unified, messages).await,
                Outcome::Enqueued(count),
                None,
            ),
            Route::Enrichment => {
                let message = stored_message(info, &key, req, None);
                (
                    self.queues.send(QueueName::Enrichment, vec![message]).await,
                    Outcome::Enrichment,
                    None,
                )
            }
            Route::Quarantine(error) => {
                let message = stored_message(info, &key, req, Some(error.clone()));
                (
                    self.queues.send(QueueName::Quarantine, vec![message]).await,
                    Outcome::Quarantined,
                    Some(error),
                )
            }
            Route::Ignored(reason) => (Ok(()), Outcome::Ignored, Some(reason)),
        };
        if let Err(e) = sent {
            return self.release_and_fail(e, key).await;
        }

        // 8. Complete, then acknowledge.
        let ack = connector.ack();
        if let Err(e) = self.store.complete(&key, &ack, claim.expires_at).await {
            return self.release_and_fail(e, key).await;
        }
        handled(ack, outcome, detail, Some(key))
    }

    /// Re-runs a quarantined delivery through the current parser (`o2o replay`): no signature
    /// check (it was authenticated on arrival) and no claim (its key is completed); the unified
    /// queue's deduplication ids make a second replay harmless. Returns [`Outcome::Quarantined`]
    /// with the error when it still fails; the caller then keeps it in the quarantine.
    pub async fn reprocess(
        &self,
        connector: &dyn Connector,
        credentials: &Credentials,
        stored: &StoredDelivery,
    ) -> Result<(Outcome, Option<String>), PortError> {
        let req = stored_request(stored)?;
        let delivery = match connector.parse(&req, credentials) {
            Ok(delivery) => delivery,
            Err(e) => return Ok((Outcome::Quarantined, Some(e.0))),
        };
        let ctx = NormaliseContext {
            received_at: req.received_at,
        };
        let normalised = connector.normalise(&delivery, &ctx);
        self.forward(connector, stored, &req, &delivery, normalised)
            .await
    }

    /// Replays one quarantine record (`body`, a [`StoredDelivery`] as JSON; `label` names it
    /// when it cannot be read) with the channel tables in `channels`, and counts the result in
    /// `summary`. `Ok(true)` when the delivery left the quarantine (the caller deletes the
    /// record), `Ok(false)` when it stays.
    pub async fn replay_record(
        &self,
        registry: Registry,
        channels: &BTreeMap<String, ChannelConfig>,
        label: &str,
        body: &str,
        summary: &mut ReplaySummary,
    ) -> Result<bool, PortError> {
        let stored: StoredDelivery = match serde_json::from_str(body) {
            Ok(stored) => stored,
            Err(e) => {
                let error = format!("unreadable quarantine record: {e}");
                summary.still_failing.push((label.to_owned(), error));
                return Ok(false);
            }
        };
        let connector = registry.get(&stored.channel);
        let credentials = channels
            .get(&stored.channel)
            .and_then(|c| c.credentials(stored.path_tenant.as_deref()));
        let (Some(connector), Some(credentials)) = (connector, credentials) else {
            let error = "channel or tenant not configured for this replay".to_owned();
            summary.still_failing.push((stored.idempotency_key, error));
            return Ok(false);
        };
        let outcome = self.reprocess(connector, credentials, &stored).await?;
        Ok(summary.count(&stored.idempotency_key, outcome))
    }

    /// Enriches a thin delivery taken from the enrichment queue: the connector fetches the full
    /// order from the platform's API, and the events go to the unified queue (their ids are the
    /// same on every attempt, so a redelivered message adds nothing inside the FIFO window).
    ///
    /// `Err` means "try again later" (a transient API failure, or a queue failure): the message
    /// stays on the enrichment queue and ends in its dead-letter queue if it keeps failing. A
    /// permanent failure moves the delivery to the quarantine and returns
    /// [`Outcome::Quarantined`].
    pub async fn enrich(
        &self,
        connector: &dyn Connector,
        credentials: &Credentials,
        stored: &StoredDelivery,
    ) -> Result<(Outcome, Option<String>), PortError> {
        let req = stored_request(stored)?;
        let delivery = match connector.parse(&req, credentials) {
            Ok(delivery) => delivery,
            Err(e) => return self.quarantine(connector, stored, &req, e.0).await,
        };
        let ctx = NormaliseContext {
            received_at: req.received_at,
        };
        let normalised = match connector.enrich(&delivery, credentials, &ctx).await {
            Ok(Normalised::Enrich) => Err(NormaliseError(
                "enrichment asked for enrichment again".to_owned(),
            )),
            Ok(normalised) => Ok(normalised),
            Err(EnrichError::Transient(reason)) => {
                return Err(PortError(format!("enrichment: {reason}")));
            }
            Err(EnrichError::Permanent(reason)) => Err(NormaliseError(reason)),
        };
        match self
            .forward(connector, stored, &req, &delivery, normalised)
            .await?
        {
            (Outcome::Quarantined, Some(error)) => {
                self.quarantine(connector, stored, &req, error).await
            }
            done => Ok(done),
        }
    }

    /// Sends a stored delivery's normalisation result where it belongs; a result that belongs in
    /// the quarantine is returned as [`Outcome::Quarantined`] for the caller to handle.
    async fn forward(
        &self,
        connector: &dyn Connector,
        stored: &StoredDelivery,
        req: &WebhookRequest,
        delivery: &Delivery,
        normalised: Result<Normalised, NormaliseError>,
    ) -> Result<(Outcome, Option<String>), PortError> {
        let info = connector.info();
        match route(info, delivery, &stored.idempotency_key, req, normalised) {
            Route::Unified(messages, count) => {
                self.queues.send(QueueName::Unified, messages).await?;
                Ok((Outcome::Enqueued(count), None))
            }
            Route::Enrichment => {
                let message = stored_message(info, &stored.idempotency_key, req, None);
                self.queues
                    .send(QueueName::Enrichment, vec![message])
                    .await?;
                Ok((Outcome::Enrichment, None))
            }
            Route::Quarantine(error) => Ok((Outcome::Quarantined, Some(error))),
            Route::Ignored(reason) => Ok((Outcome::Ignored, Some(reason))),
        }
    }

    async fn quarantine(
        &self,
        connector: &dyn Connector,
        stored: &StoredDelivery,
        req: &WebhookRequest,
        error: String,
    ) -> Result<(Outcome, Option<String>), PortError> {
        let message = stored_message(
            connector.info(),
            &stored.idempotency_key,
            req,
            Some(error.clone()),
        );
        self.queues
            .send(QueueName::Quarantine, vec![message])
            .await?;
        Ok((Outcome::Quarantined, Some(error)))
    }

    async fn release_and_fail(&self, error: PortError, key: String) -> Handled {
        // If the release fails too, the claim still expires after `in_progress_seconds`.
        let detail = match self.store.release(&key).await {
            Ok(()) => error.0,
            Err(release) => format!("{}; release failed: {}", error.0, release.0),
        };
        failed(PortError(detail), Some(key))
    }
}

/// `{channel}:{tenant}:{topic}:{platform delivery/event id}`.
///
/// The topic is part of the key because some platforms share one id across the deliveries of
/// one merchant action (Shopify's event id spans `orders/create` and `orders/paid`).
pub fn idempotency_key(channel: &str, delivery: &Delivery) -> String {
    format!(
        "{channel}:{}:{}:{}",
        delivery.tenant, delivery.topic, delivery.external_event_id
    )
}

/// The stable event id: UUIDv5 of the idempotency key and the event's index.
pub fn event_id(idempotency_key: &str, index: usize) -> String {
    let namespace = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"https://github.com/o2o-connectors/o2o-connectors/event",
    );
    Uuid::new_v5(&namespace, format!("{idempotency_key}#{index}").as_bytes()).to_string()
}

/// Builds the unified event for the `index`-th draft of a delivery.
pub fn unified_event(
    info: &ChannelInfo,
    delivery: &Delivery,
    key: &str,
    index: usize,
    req: &WebhookRequest,
    draft: EventDraft,
) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: event_id(key, index),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: req.received_at,
        source: Source {
            channel: info.id.to_owned(),
            channel_kind: info.kind,
            tenant: delivery.tenant.clone(),
            external_event_id: delivery.external_event_id.clone(),
            topic: delivery.topic.clone(),
            status: draft.status,
        },
        order: draft.order,
        payment: draft.payment,
        refund: draft.refund,
    }
}

fn route(
    info: &ChannelInfo,
    delivery: &Delivery,
    key: &str,
    req: &WebhookRequest,
    normalised: Result<Normalised, NormaliseError>,
) -> Route {
    match normalised {
        Err(e) => Route::Quarantine(e.0),
        Ok(Normalised::Ignored(reason)) => Route::Ignored(reason),
        Ok(Normalised::Enrich) => Route::Enrichment,
        Ok(Normalised::Events(drafts)) if drafts.is_empty() => Route::Ignored("no events".into()),
        Ok(Normalised::Events(drafts)) => {
            let count = drafts.len();
            let mut messages = Vec::with_capacity(count);
            for (index, draft) in drafts.into_iter().enumerate() {
                let event = unified_event(info, delivery, key, index, req, draft);
                match unified_message(&event) {
                    Ok(message) => messages.push(message),
                    Err(e) => return Route::Quarantine(format!("cannot serialise event: {e}")),
                }
            }
            Route::Unified(messages, count)
        }
    }
}

/// The unified-queue message for an event: FIFO group per order, dedup on the event id.
pub fn unified_message(event: &UnifiedOrderEvent) -> Result<QueueMessage, serde_json::Error> {
    let order_ref = event
        .order
        .as_ref()
        .map(|o| o.external_id.as_str())
        .or_else(|| event.payment.as_ref().and_then(|p| p.order_ref.as_deref()))
        .unwrap_or(&event.source.external_event_id);
    Ok(QueueMessage {
        body: serde_json::to_string(event)?,
        group_id: Some(format!(
            "{}:{}:{}",
            event.source.channel, event.source.tenant, order_ref
        )),
        // The event id is a hash of the idempotency key and the event's index: one delivery may
        // yield several events, and each must survive FIFO deduplication.
        dedup_id: Some(event.event_id.clone()),
        attributes: vec![
            ("channel", event.source.channel.clone()),
            ("event_type", event.event_type.as_str().to_owned()),
            ("schema_version", "1".to_owned()),
        ],
    })
}

fn stored_message(
    info: &ChannelInfo,
    key: &str,
    req: &WebhookRequest,
    error: Option<String>,
) -> QueueMessage {
    let stored = StoredDelivery {
        channel: info.id.to_owned(),
        path_tenant: req.path_tenant.clone(),
        idempotency_key: key.to_owned(),
        received_at: req.received_at,
        method: req.method.clone(),
        query: req.query.clone(),
        headers: req.headers.clone(),
        body_base64: BASE64.encode(&req.body),
        error,
    };
    QueueMessage {
        // Serialising plain strings cannot fail.
        body: serde_json::to_string(&stored).unwrap_or_default(),
        group_id: None,
        dedup_id: Some(sha256_hex(key.as_bytes())),
        attributes: vec![("channel", info.id.to_owned())],
    }
}

/// The request a stored delivery was made from.
fn stored_request(stored: &StoredDelivery) -> Result<WebhookRequest, PortError> {
    Ok(WebhookRequest {
        method: stored.method.clone(),
        path_tenant: stored.path_tenant.clone(),
        query: stored.query.clone(),
        headers: stored.headers.clone(),
        body: BASE64
            .decode(&stored.body_base64)
            .map_err(|e| PortError(format!("stored body is not base64: {e}")))?,
        received_at: stored.received_at,
    })
}

/// A stand-in envelope for an authenticated body we cannot parse: keyed by its content hash.
fn content_addressed_delivery(req: &WebhookRequest) -> Delivery {
    Delivery {
        tenant: req.path_tenant.clone().unwrap_or_else(|| "_".to_owned()),
        external_event_id: format!("sha256:{}", sha256_hex(&req.body)),
        topic: "unparsed".to_owned(),
        payload: Vec::new(),
    }
}

fn handled(
    reply: Reply,
    outcome: Outcome,
    detail: Option<String>,
    idempotency_key: Option<String>,
) -> Handled {
    Handled {
        reply,
        outcome,
        detail,
        idempotency_key,
    }
}

fn rejected(rejection: Rejection) -> Handled {
    let detail = Some(rejection.code.to_owned());
    let outcome = if rejection.status >= 500 {
        Outcome::Failed
    } else {
        Outcome::Rejected
    };
    handled(rejection.to_reply(), outcome, detail, None)
}

fn failed(error: PortError, key: Option<String>) -> Handled {
    let reply = Rejection::new(
        503,
        "temporarily_unavailable",
        "could not record the delivery; retry later",
    )
    .to_reply();
    handled(reply, Outcome::Failed, Some(error.0), key)
}
