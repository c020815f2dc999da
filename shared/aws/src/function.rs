//! One channel's function: API Gateway webhook events through the edge's router, the
//! enrichment queue's SQS batches through the edge's enrichment consumer, and the commands
//! queue's batches through the edge's commands consumer.
//!
//! Transport-agnostic: [`lambda`](crate::lambda) feeds it Lambda events, and tests call it
//! directly.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::{Body, Request, RequestExt as _, Response};
use o2o_core::pipeline::{DEFAULT_IN_PROGRESS_SECONDS, PipelineOptions};
use o2o_core::ports::{IdempotencyStore, PortError, Queues};
use o2o_core::request::DEFAULT_MAX_BODY_BYTES;
use o2o_core::{ChannelConfig, Channels, ConnectorEntry, Handled, Registry, Timestamp};
use o2o_edge::{Consumer, Edge, InProgressSeconds, Observer, Received};

use crate::metrics::{Record, Unit};
use crate::settings::{AwsError, CredentialSource, Resources};

/// A channel's function: its edge (connector instances per tenant, ports, metrics).
pub struct Function {
    channel: &'static str,
    command_max_attempts: u32,
    /// The commands queue, to space a failed command's retries out (`O2O_COMMANDS_QUEUE_URL`).
    command_backoff: Option<Backoff>,
    edge: Arc<Edge>,
    router: axum::Router,
}

/// Per-delivery metrics as CloudWatch embedded-metric-format lines on stdout.
struct EmfMetrics;

impl Observer for EmfMetrics {
    fn delivery(&self, channel: &str, handled: &Handled, latency_ms: f64) {
        Record::delivery(channel, handled, latency_ms).emit();
    }
}

impl Function {
    /// A function over explicit parts (tests; the deployed function comes from [`from_env`]).
    /// Every table of `config` is built now: a bad setting is an error here, not at run time.
    ///
    /// [`from_env`]: Self::from_env
    pub fn new(
        connector: ConnectorEntry,
        config: ChannelConfig,
        store: Arc<dyn IdempotencyStore>,
        queues: Arc<dyn Queues>,
    ) -> Result<Self, AwsError> {
        Self::with_body_limit(connector, config, store, queues, DEFAULT_MAX_BODY_BYTES)
    }

    fn with_body_limit(
        connector: ConnectorEntry,
        config: ChannelConfig,
        store: Arc<dyn IdempotencyStore>,
        queues: Arc<dyn Queues>,
        max_body_bytes: usize,
    ) -> Result<Self, AwsError> {
        let channel = (connector.info)().id;
        // The registry of a function is its own connector: other channels are unknown here.
        let registry = Registry(Box::leak(Box::new([connector])));
        let configs = std::iter::once((channel.to_owned(), config)).collect();
        let channels = Channels::build(registry, &configs)?;
        let mut edge = Edge::new(registry, channels, store, queues);
        edge.observer = Some(Arc::new(EmfMetrics));
        edge.max_body_bytes = max_body_bytes;
        let edge = Arc::new(edge);
        Ok(Self {
            channel,
            command_max_attempts: DEFAULT_COMMAND_MAX_ATTEMPTS,
            command_backoff: None,
            router: o2o_edge::router(Arc::clone(&edge)),
            edge,
        })
    }

    /// The function as deployed: resources and settings from the environment (docs/aws.md),
    /// AWS clients built once from one shared configuration.
    pub async fn from_env(connector: ConnectorEntry) -> Result<Self, AwsError> {
        let resources = Resources::from_env()?;
        let source = CredentialSource::from_env()?;
        let max_body_bytes = match std::env::var("O2O_MAX_BODY_BYTES") {
            Ok(limit) => limit.parse().map_err(|_| AwsError::InvalidEnv {
                name: "O2O_MAX_BODY_BYTES",
                reason: "not a number of bytes".to_owned(),
            })?,
            Err(_) => DEFAULT_MAX_BODY_BYTES,
        };
        let command_max_attempts = match std::env::var("O2O_COMMAND_MAX_ATTEMPTS") {
            Ok(n) => n
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(AwsError::InvalidEnv {
                    name: "O2O_COMMAND_MAX_ATTEMPTS",
                    reason: "not a positive number".to_owned(),
                })?,
            Err(_) => DEFAULT_COMMAND_MAX_ATTEMPTS,
        };
        let sdk = crate::load_sdk_config().await;
        let config = source.load((connector.info)().id, &sdk).await?;
        let (store, queues) = crate::ports(&sdk, &resources);
        let mut function = Self::with_body_limit(
            connector,
            config,
            Arc::new(store),
            Arc::new(queues),
            max_body_bytes,
        )?;
        function.command_max_attempts = command_max_attempts;
        function.command_backoff = std::env::var("O2O_COMMANDS_QUEUE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .map(|queue_url| Backoff {
                sqs: aws_sdk_sqs::Client::new(&sdk),
                queue_url,
            });
        Ok(function)
    }

    /// The channel id this function serves.
    pub fn channel(&self) -> &'static str {
        self.channel
    }

    /// Handles one webhook request (`POST|GET [/{stage}]/webhooks/{channel}[/{tenant}]`) through
    /// the edge's router, which answers in the platform's exact format, logs one line and emits
    /// one metrics record.
    pub async fn handle_http(&self, request: Request) -> Response<Body> {
        use tower_service::Service as _;
        let in_progress = InProgressSeconds(remaining_seconds(&request));
        // The raw path keeps the stage prefix, and a trailing slash is not a different route.
        let path = request.raw_http_path().trim_end_matches('/').to_owned();
        let query = request.uri().query().map(str::to_owned);
        let (mut parts, body) = request.into_parts();
        let target = match query {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(uri) = target.parse() {
            parts.uri = uri;
        }
        parts.extensions.insert(in_progress);
        // lambda_http has already decoded a base64 body (`isBase64Encoded`).
        let body = match body {
            Body::Text(text) => axum::body::Body::from(text),
            Body::Binary(bytes) => axum::body::Body::from(bytes),
            _ => axum::body::Body::empty(),
        };
        let request = axum::http::Request::from_parts(parts, body);
        let mut router = self.router.clone();
        let response = match router.call(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        // The edge's replies are small strings already in memory: this cannot fail or wait.
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let body = match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        };
        Response::from_parts(parts, body)
    }

    /// Handles a batch from the enrichment queue through the edge's enrichment consumer. Failed
    /// messages are reported as partial batch failures, so only they return to the queue (and,
    /// past its receive limit, to its dead-letter queue).
    pub async fn handle_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        // One event source mapping delivers one queue's batch: the commands queue is named
        // `…-commands.fifo` (infra/template.yaml), the enrichment queue is not.
        let commands = event.records.first().is_some_and(|m| {
            m.event_source_arn
                .as_deref()
                .is_some_and(|arn| arn.ends_with(COMMANDS_QUEUE_SUFFIX))
        });
        if commands {
            return self.handle_commands(event).await;
        }
        let started = Instant::now();
        let batch = SqsBatch::new(event.records);
        let pipeline = self.edge.pipeline(PipelineOptions::default());
        let max = batch.len();
        let summary = o2o_edge::consume::enrich_batch(&batch, &self.edge.channels, &pipeline, max)
            .await
            .unwrap_or_default();
        Record::new(self.channel)
            .with("enriched", Unit::Count, summary.enqueued as f64)
            .with(
                "enrichment_quarantined",
                Unit::Count,
                summary.quarantined as f64,
            )
            .with("enrichment_retried", Unit::Count, summary.retried as f64)
            .with(
                "enrichment_latency",
                Unit::Milliseconds,
                started.elapsed().as_secs_f64() * 1000.0,
            )
            .emit();
        batch.response()
    }
}

impl Function {
    /// Carries out a batch from the channel's commands queue. A command to retry is a batch
    /// item failure: it comes back after the queue's visibility timeout, and after
    /// `O2O_COMMAND_MAX_ATTEMPTS` receives (the redrive policy's `maxReceiveCount`) the queue
    /// moves it to its dead-letter queue, its `command.failed` published first.
    pub async fn handle_commands(&self, event: SqsEvent) -> SqsBatchResponse {
        let started = Instant::now();
        let mut batch = SqsBatch::new(event.records);
        batch.backoff = self.command_backoff.clone();
        let pipeline = self.edge.pipeline(PipelineOptions::default());
        let max = batch.len();
        let summary = o2o_edge::consume::command_batch(
            &batch,
            &self.edge.channels,
            &pipeline,
            max,
            self.command_max_attempts,
        )
        .await
        .unwrap_or_default();
        Record::new(self.channel)
            .with("commands_succeeded", Unit::Count, summary.succeeded as f64)
            .with("commands_failed", Unit::Count, summary.failed as f64)
            .with("commands_retried", Unit::Count, summary.retried as f64)
            .with(
                "command_latency",
                Unit::Milliseconds,
                started.elapsed().as_secs_f64() * 1000.0,
            )
            .emit();
        batch.response()
    }
}

/// The commands queue as the function changes its messages' visibility.
#[derive(Debug, Clone)]
struct Backoff {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// Seconds a command waits before its next attempt after its `attempt`-th failed: 10, 20, 40, 80
/// … at most 300 (the queue's own visibility timeout applies when this cannot be set).
pub fn command_retry_delay(attempt: u32) -> i32 {
    (10_i32 << attempt.saturating_sub(1).min(5)).min(300)
}

/// The end of a commands queue's name (and ARN): `o2o-<stage>-<channel>-commands.fifo`.
pub const COMMANDS_QUEUE_SUFFIX: &str = "-commands.fifo";

/// Receives of a command before its queue moves it to the dead-letter queue, unless
/// `O2O_COMMAND_MAX_ATTEMPTS` says otherwise (the template's `maxReceiveCount`).
pub const DEFAULT_COMMAND_MAX_ATTEMPTS: u32 = 5;

/// An SQS event's records as a [`Consumer`]: handed out once; a message to retry becomes a
/// batch item failure, the others are deleted by the event source mapping.
struct SqsBatch {
    records: Mutex<Vec<SqsMessage>>,
    failures: Mutex<Vec<String>>,
    /// Receipt handles by message id, for a visibility change.
    receipts: Mutex<Vec<(String, String)>>,
    /// Where set, a message to retry waits [`command_retry_delay`] before its next receive.
    backoff: Option<Backoff>,
}

impl SqsBatch {
    fn new(records: Vec<SqsMessage>) -> Self {
        Self {
            records: Mutex::new(records),
            failures: Mutex::new(Vec::new()),
            receipts: Mutex::new(Vec::new()),
            backoff: None,
        }
    }

    fn len(&self) -> usize {
        lock(&self.records).len()
    }

    /// The messages to retry: those that failed, and any the consumer never took.
    fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for id in lock(&self.failures).drain(..) {
            response.add_failure(id);
        }
        for message in lock(&self.records).drain(..) {
            response.add_failure(message.message_id.unwrap_or_default());
        }
        response
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait::async_trait]
impl Consumer for SqsBatch {
    async fn receive(&self, max: usize) -> Result<Vec<Received>, PortError> {
        let mut records = lock(&self.records);
        let take = max.min(records.len());
        let mut receipts = lock(&self.receipts);
        Ok(records
            .drain(..take)
            .map(|m| {
                if let (Some(id), Some(receipt)) = (&m.message_id, &m.receipt_handle) {
                    receipts.push((id.clone(), receipt.clone()));
                }
                let attribute = |name: &str| m.attributes.get(name).and_then(|v| v.parse().ok());
                Received {
                    attempt: attribute("ApproximateReceiveCount")
                        .and_then(|n: i64| u32::try_from(n).ok())
                        .unwrap_or(1),
                    sent_at: attribute("SentTimestamp")
                        .and_then(|ms: i64| Timestamp::from_unix_seconds(ms / 1000).ok())
                        .unwrap_or_else(Timestamp::now),
                    id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                }
            })
            .collect())
    }

    async fn ack(&self, _: &Received) -> Result<(), PortError> {
        Ok(())
    }

    async fn retry_later(&self, message: &Received, _: &PortError) -> Result<(), PortError> {
        lock(&self.failures).push(message.id.clone());
        let receipt = lock(&self.receipts)
            .iter()
            .find(|(id, _)| *id == message.id)
            .map(|(_, receipt)| receipt.clone());
        if let (Some(backoff), Some(receipt)) = (&self.backoff, receipt) {
            let delay = command_retry_delay(message.attempt);
            let changed = backoff
                .sqs
                .change_message_visibility()
                .queue_url(&backoff.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(delay)
                .send()
                .await;
            if let Err(e) = changed {
                // The queue's own visibility timeout then spaces the retry out.
                tracing::warn!(
                    message_id = message.id,
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                    "retry delay not set"
                );
            }
        }
        Ok(())
    }
}

/// Seconds left in this invocation: an `INPROGRESS` claim blocks retries no longer than the
/// invocation that holds it can live (Powertools does the same).
fn remaining_seconds(request: &Request) -> i64 {
    let Some(context) = request.lambda_context_ref() else {
        return DEFAULT_IN_PROGRESS_SECONDS;
    };
    let deadline_ms = i64::try_from(context.deadline).unwrap_or(i64::MAX);
    let left_ms = deadline_ms.saturating_sub(Timestamp::now().unix_millis());
    (left_ms.saturating_add(999) / 1000).clamp(1, DEFAULT_IN_PROGRESS_SECONDS * 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_waits_longer_after_each_attempt() {
        let delays: Vec<i32> = (1..=8).map(command_retry_delay).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(command_retry_delay(0), 10);
    }

    #[test]
    fn an_in_progress_claim_lasts_as_long_as_the_invocation_can() {
        let request = || {
            let event = r#"{"version":"2.0","routeKey":"$default","rawPath":"/webhooks/x",
                "rawQueryString":"","headers":{},"requestContext":{"http":{"method":"POST",
                "path":"/webhooks/x","protocol":"HTTP/1.1","sourceIp":"127.0.0.1",
                "userAgent":"t"}},"isBase64Encoded":false}"#;
            lambda_http::request::from_str(event).expect("API Gateway v2 event")
        };
        // No Lambda context (tests, local use): the default window.
        assert_eq!(remaining_seconds(&request()), DEFAULT_IN_PROGRESS_SECONDS);
        let with_deadline = |left_ms: i64| {
            let mut context = lambda_http::Context::default();
            context.deadline = u64::try_from(Timestamp::now().unix_millis() + left_ms).unwrap_or(0);
            remaining_seconds(&request().with_lambda_context(context))
        };
        // Rounded up to whole seconds, never below one.
        assert!(
            (12..=13).contains(&with_deadline(12_300)),
            "{}",
            with_deadline(12_300)
        );
        assert_eq!(with_deadline(-5_000), 1);
    }
}
