//! One channel's function: webhook requests and enrichment batches, through the pipeline.
//!
//! Transport-agnostic: [`lambda`](crate::lambda) feeds it Lambda events, and tests call it directly.

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::{Body, Request, RequestExt as _, Response};
use o2o_core::pipeline::{DEFAULT_IN_PROGRESS_SECONDS, Handled, PipelineOptions};
use o2o_core::ports::{IdempotencyStore, PortError, Queues, StoredDelivery};
use o2o_core::request::DEFAULT_MAX_BODY_BYTES;
use o2o_core::{
    ChannelConfig, Connector, Headers, Outcome, Pipeline, Rejection, Reply, Timestamp,
    WebhookRequest,
};

use crate::metrics::{Record, Unit};
use crate::settings::{AwsError, CredentialSource, Resources};

/// A channel's connector with its credentials and the ports it writes through.
pub struct Function {
    connector: &'static dyn Connector,
    channel: ChannelConfig,
    store: Arc<dyn IdempotencyStore>,
    queues: Arc<dyn Queues>,
    max_body_bytes: usize,
}

impl Function {
    /// A function over explicit parts (tests, `o2o serve --backend aws` reuses the adapters).
    pub fn new(
        connector: &'static dyn Connector,
        channel: ChannelConfig,
        store: Arc<dyn IdempotencyStore>,
        queues: Arc<dyn Queues>,
    ) -> Self {
        Self {
            connector,
            channel,
            store,
            queues,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The function as deployed: resources and credentials from the environment (DESIGN.md,
    /// "AWS shape"), AWS clients built once from one shared configuration.
    pub async fn from_env(connector: &'static dyn Connector) -> Result<Self, AwsError> {
        let resources = Resources::from_env()?;
        let source = CredentialSource::from_env()?;
        let sdk = crate::load_sdk_config().await;
        let channel = source.load(connector, &sdk).await?;
        let (store, queues) = crate::ports(&sdk, &resources);
        let mut function = Self::new(connector, channel, Arc::new(store), Arc::new(queues));
        if let Ok(limit) = std::env::var("O2O_MAX_BODY_BYTES") {
            function.max_body_bytes = limit.parse().map_err(|_| AwsError::InvalidEnv {
                name: "O2O_MAX_BODY_BYTES",
                reason: "not a number of bytes".to_owned(),
            })?;
        }
        Ok(function)
    }

    /// The channel id this function serves.
    pub fn channel(&self) -> &'static str {
        self.connector.info().id
    }

    /// Handles one webhook request (`POST|GET …/webhooks/{channel}[/{tenant}]`) and answers in
    /// the platform's exact format, logging one line and emitting one metrics record.
    pub async fn handle_http(&self, request: Request) -> Response<Body> {
        let started = Instant::now();
        let handled = self.ingest(request).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        log_delivery(self.channel(), &handled, latency_ms);
        Record::delivery(
            self.channel(),
            handled.outcome,
            handled.reply.status,
            latency_ms,
        )
        .emit();
        response(&handled.reply)
    }

    async fn ingest(&self, request: Request) -> Handled {
        let received_at = Timestamp::now();
        let Some((channel, tenant)) = webhook_path(request.raw_http_path()) else {
            return refused(Rejection::new(404, "not_found", "no such endpoint"));
        };
        if channel != self.channel() {
            return refused(Rejection::new(
                404,
                "unknown_channel",
                "this function serves another channel",
            ));
        }
        let Some(credentials) = self.channel.credentials(tenant.as_deref()) else {
            return refused(Rejection::new(
                404,
                "unknown_tenant",
                "no credentials for this tenant",
            ));
        };
        let method = request.method().as_str().to_owned();
        if method != "POST" && method != "GET" {
            return refused(Rejection::new(
                405,
                "method_not_allowed",
                "webhooks are POST (or GET for handshakes)",
            ));
        }
        let in_progress_seconds = remaining_seconds(&request);
        let query = request.uri().query().unwrap_or_default().to_owned();
        let headers: Headers = request
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?.to_owned())))
            .collect();
        // lambda_http has already decoded a base64 body (`isBase64Encoded`).
        let body = match request.into_body() {
            Body::Text(text) => text.into_bytes(),
            Body::Binary(bytes) => bytes,
            _ => Vec::new(),
        };
        if body.len() > self.max_body_bytes {
            return refused(Rejection::new(
                413,
                "body_too_large",
                format!(
                    "the body exceeds the limit of {} bytes",
                    self.max_body_bytes
                ),
            ));
        }
        let req = WebhookRequest {
            method,
            path_tenant: tenant,
            query,
            headers,
            body,
            received_at,
        };
        let options = PipelineOptions {
            in_progress_seconds,
            ..PipelineOptions::default()
        };
        Pipeline::new(self.store.as_ref(), self.queues.as_ref(), options)
            .handle(self.connector, credentials, &req)
            .await
    }

    /// Handles a batch from the enrichment queue: each delivery is enriched through the
    /// platform's API and published. Failed messages are reported as partial batch failures, so
    /// only they return to the queue (and, past its receive limit, to its dead-letter queue).
    pub async fn handle_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        let started = Instant::now();
        let mut response = SqsBatchResponse::default();
        let (mut enqueued, mut quarantined, mut retried) = (0_usize, 0_usize, 0_usize);
        for message in &event.records {
            let message_id = message.message_id.clone().unwrap_or_default();
            match self.enrich(message).await {
                Ok((outcome, detail)) => {
                    match outcome {
                        Outcome::Enqueued(n) => enqueued += n,
                        Outcome::Quarantined => quarantined += 1,
                        _ => {}
                    }
                    tracing::info!(
                        channel = self.channel(),
                        message_id,
                        outcome = outcome.as_str(),
                        detail = detail.as_deref().unwrap_or(""),
                        "enrichment"
                    );
                }
                Err(e) => {
                    retried += 1;
                    tracing::warn!(channel = self.channel(), message_id, error = %e.0, "enrichment failed; will retry");
                    response.add_failure(message_id);
                }
            }
        }
        Record::new(self.channel())
            .with("enriched", Unit::Count, enqueued as f64)
            .with("enrichment_quarantined", Unit::Count, quarantined as f64)
            .with("enrichment_retried", Unit::Count, retried as f64)
            .with(
                "enrichment_latency",
                Unit::Milliseconds,
                started.elapsed().as_secs_f64() * 1000.0,
            )
            .emit();
        response
    }

    async fn enrich(&self, message: &SqsMessage) -> Result<(Outcome, Option<String>), PortError> {
        let body = message.body.as_deref().unwrap_or_default();
        let stored: StoredDelivery = serde_json::from_str(body)
            .map_err(|e| PortError(format!("not a stored delivery: {e}")))?;
        if stored.channel != self.channel() {
            return Err(PortError(format!(
                "a delivery for channel {}",
                stored.channel
            )));
        }
        let credentials = self
            .channel
            .credentials(stored.path_tenant.as_deref())
            .ok_or_else(|| PortError("no credentials for the delivery's tenant".to_owned()))?;
        Pipeline::new(
            self.store.as_ref(),
            self.queues.as_ref(),
            PipelineOptions::default(),
        )
        .enrich(self.connector, credentials, &stored)
        .await
    }
}

/// `(channel, tenant)` from `…/webhooks/{channel}[/{tenant}]`; anything may precede `webhooks`
/// (an API Gateway stage name), nothing may follow the tenant.
pub fn webhook_path(path: &str) -> Option<(String, Option<String>)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let at = segments.iter().position(|s| *s == "webhooks")?;
    match &segments[at + 1..] {
        [channel] => Some(((*channel).to_owned(), None)),
        [channel, tenant] => Some(((*channel).to_owned(), Some((*tenant).to_owned()))),
        _ => None,
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

fn refused(rejection: Rejection) -> Handled {
    Handled {
        reply: rejection.to_reply(),
        outcome: Outcome::Rejected,
        detail: Some(rejection.code.to_owned()),
        idempotency_key: None,
    }
}

fn response(reply: &Reply) -> Response<Body> {
    let mut response = Response::new(Body::Text(reply.body.clone()));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(reply.status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = reply.content_type.parse() {
        response
            .headers_mut()
            .insert(lambda_http::http::header::CONTENT_TYPE, value);
    }
    response
}

/// One JSON line per delivery; the request id comes from the runtime's span.
fn log_delivery(channel: &str, handled: &Handled, latency_ms: f64) {
    let status = handled.reply.status;
    let outcome = handled.outcome.as_str();
    let key = handled.idempotency_key.as_deref().unwrap_or("");
    let detail = handled.detail.as_deref().unwrap_or("");
    match handled.outcome {
        Outcome::Failed => {
            tracing::error!(
                channel,
                outcome,
                status,
                key,
                detail,
                latency_ms,
                "delivery failed"
            )
        }
        Outcome::Rejected | Outcome::Quarantined | Outcome::InProgress => {
            tracing::warn!(
                channel, outcome, status, key, detail, latency_ms, "delivery"
            )
        }
        _ => tracing::info!(
            channel, outcome, status, key, detail, latency_ms, "delivery"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_paths() {
        let some = |c: &str, t: Option<&str>| Some((c.to_owned(), t.map(str::to_owned)));
        assert_eq!(webhook_path("/webhooks/shopify"), some("shopify", None));
        assert_eq!(webhook_path("/webhooks/shopify/"), some("shopify", None));
        assert_eq!(
            webhook_path("/webhooks/shopify/shop-a"),
            some("shopify", Some("shop-a"))
        );
        assert_eq!(
            webhook_path("/prod/webhooks/shopify"),
            some("shopify", None)
        );
        assert_eq!(webhook_path("/webhooks"), None);
        assert_eq!(webhook_path("/webhooks/a/b/c"), None);
        assert_eq!(webhook_path("/other/shopify"), None);
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
