//! The local HTTP server: every registered connector at `/webhooks/{channel}[/{tenant}]`,
//! `GET /healthz`, a body-size limit, graceful shutdown, and one JSON log line per delivery
//! (never bodies, secrets or customer data).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use o2o_core::pipeline::{Handled, Outcome, PipelineOptions};
use o2o_core::ports::{IdempotencyStore, Queues};
use o2o_core::{
    ChannelConfig, Headers, Pipeline, Registry, Rejection, Reply, Timestamp, WebhookRequest,
};
use tokio::net::TcpListener;

pub use o2o_core::request::DEFAULT_MAX_BODY_BYTES;

/// What the server needs: connectors, their configuration, and the ports.
pub struct ServerState {
    /// Every hosted connector.
    pub registry: Registry,
    /// Channel tables from the config file, by channel id.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// The idempotency store.
    pub store: Arc<dyn IdempotencyStore>,
    /// The queues.
    pub queues: Arc<dyn Queues>,
    /// Pipeline timing.
    pub options: PipelineOptions,
    /// Bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
}

/// The router: webhooks, health check, JSON 404 for anything else.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/webhooks/{channel}", any(webhook))
        .route("/webhooks/{channel}/{tenant}", any(tenant_webhook))
        .route(
            "/healthz",
            get(|| async { json_response(&Reply::json(200, r#"{"status":"ok"}"#)) }),
        )
        .fallback(|| async { rejection(404, "not_found", "no such endpoint") })
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn webhook(
    State(state): State<Arc<ServerState>>,
    Path(channel): Path<String>,
    request: Request<Body>,
) -> Response {
    ingest(&state, &channel, None, request).await
}

async fn tenant_webhook(
    State(state): State<Arc<ServerState>>,
    Path((channel, tenant)): Path<(String, String)>,
    request: Request<Body>,
) -> Response {
    ingest(&state, &channel, Some(tenant), request).await
}

async fn ingest(
    state: &ServerState,
    channel: &str,
    tenant: Option<String>,
    request: Request<Body>,
) -> Response {
    let started = Instant::now();
    let Some(connector) = state.registry.get(channel) else {
        return rejection(404, "unknown_channel", "no connector with this channel id");
    };
    let Some(credentials) = state
        .channels
        .get(channel)
        .and_then(|c| c.credentials(tenant.as_deref()))
    else {
        let (code, message) = match tenant {
            Some(_) => ("unknown_tenant", "no credentials for this tenant"),
            None => (
                "channel_not_configured",
                "this channel has no configuration",
            ),
        };
        return rejection(404, code, message);
    };
    let (parts, body) = request.into_parts();
    if parts.method != Method::POST && parts.method != Method::GET {
        return rejection(
            405,
            "method_not_allowed",
            "webhooks are POST (or GET for handshakes)",
        );
    }
    if declared_length(&parts.headers).is_some_and(|len| len > state.max_body_bytes) {
        return too_large(state.max_body_bytes);
    }
    let body = match axum::body::to_bytes(body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(e) if is_length_limit(&e) => return too_large(state.max_body_bytes),
        Err(_) => return rejection(400, "unreadable_body", "the request body could not be read"),
    };
    let req = WebhookRequest {
        method: parts.method.as_str().to_owned(),
        path_tenant: tenant,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?.to_owned())))
            .collect::<Headers>(),
        body: body.to_vec(),
        received_at: Timestamp::now(),
    };
    let pipeline = Pipeline::new(state.store.as_ref(), state.queues.as_ref(), state.options);
    let handled = pipeline.handle(connector, credentials, &req).await;
    log(channel, &req, &handled, started.elapsed().as_micros());
    json_response(&handled.reply)
}

/// One JSON line per delivery: channel, tenant segment, outcome, status, key and a short detail.
fn log(channel: &str, req: &WebhookRequest, handled: &Handled, elapsed_us: u128) {
    let status = handled.reply.status;
    let tenant = req.path_tenant.as_deref().unwrap_or("");
    let key = handled.idempotency_key.as_deref().unwrap_or("");
    let detail = handled.detail.as_deref().unwrap_or("");
    let outcome = handled.outcome.as_str();
    let events = match handled.outcome {
        Outcome::Enqueued(n) => n,
        _ => 0,
    };
    let elapsed_us = u64::try_from(elapsed_us).unwrap_or(u64::MAX);
    match handled.outcome {
        Outcome::Failed => tracing::error!(
            channel,
            tenant,
            outcome,
            status,
            key,
            detail,
            events,
            "delivery failed"
        ),
        Outcome::Quarantined | Outcome::Rejected | Outcome::InProgress => {
            tracing::warn!(
                channel, tenant, outcome, status, key, detail, events, elapsed_us, "delivery"
            )
        }
        _ => tracing::info!(
            channel, tenant, outcome, status, key, detail, events, elapsed_us, "delivery"
        ),
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.to_string().contains("length limit exceeded") {
            return true;
        }
        source = e.source();
    }
    false
}

fn too_large(limit: usize) -> Response {
    rejection(
        413,
        "body_too_large",
        format!("the body exceeds the limit of {limit} bytes"),
    )
}

fn rejection(status: u16, code: &'static str, message: impl Into<String>) -> Response {
    json_response(&Rejection::new(status, code, message).to_reply())
}

fn json_response(reply: &Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, reply.content_type.clone())],
        reply.body.clone(),
    )
        .into_response()
}
