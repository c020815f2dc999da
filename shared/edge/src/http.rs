//! The HTTP edge: one router for every channel and every host.
//!
//! Per request: the channel must be registered (else 404 `unknown_channel`) and configured for
//! the `{tenant}` segment (404 `channel_not_configured` / `unknown_tenant`); the body is read up
//! to the limit (413 `body_too_large`) and, on `o2o serve`, before its deadline (408
//! `body_timeout`); then the channel's pipeline answers, and one log line
//! and one metrics record are written. Method rules (405 with `Allow`) are the pipeline's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use o2o_core::pipeline::PipelineOptions;
use o2o_core::ports::{IdempotencyStore, Queues};
use o2o_core::{
    Channels, Handled, Headers, Pipeline, Registry, Rejection, Reply, Route, Timestamp,
};
use o2o_core::{WebhookRequest, request::DEFAULT_MAX_BODY_BYTES};

use crate::observe::{Observer, log_delivery};

/// Everything the edge needs: which channels exist and are configured, and the ports.
pub struct Edge {
    /// Every connector type this host knows (a Lambda function: its own).
    pub registry: Registry,
    /// The built channel instances, per channel and tenant.
    pub channels: Channels,
    /// The idempotency store.
    pub store: Arc<dyn IdempotencyStore>,
    /// The queues.
    pub queues: Arc<dyn Queues>,
    /// Pipeline timing.
    pub options: PipelineOptions,
    /// Bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// Where per-delivery metrics go, if anywhere.
    pub observer: Option<Arc<dyn Observer>>,
    /// Whether `POST /commands` takes order commands (`o2o serve`); `None`: 404.
    pub commands: Option<CommandIntake>,
}

impl Edge {
    /// An edge over `store` and `queues` with the default options and no metrics.
    pub fn new(
        registry: Registry,
        channels: Channels,
        store: Arc<dyn IdempotencyStore>,
        queues: Arc<dyn Queues>,
    ) -> Self {
        Self {
            registry,
            channels,
            store,
            queues,
            options: PipelineOptions::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            observer: None,
            commands: None,
        }
    }

    /// The pipeline over this edge's ports.
    pub fn pipeline(&self, options: PipelineOptions) -> Pipeline<'_> {
        Pipeline::new(self.store.as_ref(), self.queues.as_ref(), options)
    }
}

/// Whether and how the edge takes order commands over HTTP (`POST /commands`, o2o-edge's
/// `commands` module).
#[derive(Debug, Clone, Default)]
pub struct CommandIntake {
    /// When set, `Authorization: Bearer <token>` is required.
    pub token: Option<o2o_core::Secret>,
}

/// A request extension: how long this request's `INPROGRESS` claim may block retries. A Lambda
/// host sets it to the invocation's remaining time; without it the edge's options decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InProgressSeconds(pub i64);

pub(crate) async fn webhook(
    State(edge): State<Arc<Edge>>,
    Path(params): Path<HashMap<String, String>>,
    request: Request<Body>,
) -> Response {
    let started = Instant::now();
    let channel = params.get("channel").map(String::as_str).unwrap_or("");
    // `{tenant}` and `{endpoint}` are the segments after the channel; the connector's
    // `ChannelInfo::route` says which is which.
    let segments: Vec<&str> = ["tenant", "endpoint"]
        .iter()
        .filter_map(|name| params.get(*name).map(String::as_str))
        .collect();
    let route = edge
        .registry
        .get(channel)
        .map(|entry| (entry.info)().route(&segments));
    let tenant = match &route {
        Some(Ok(route)) => route.tenant.clone(),
        _ => None,
    };
    let handled = match route {
        Some(Ok(route)) => handle(&edge, channel, route, request).await,
        Some(Err(rejection)) => Handled::refused(rejection),
        None => Handled::refused(Rejection::new(
            404,
            "unknown_channel",
            "no connector with this channel id",
        )),
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    log_delivery(channel, tenant.as_deref(), &handled, latency_ms);
    if let Some(observer) = &edge.observer {
        observer.delivery(channel, &handled, latency_ms);
    }
    response(&handled.reply)
}

async fn handle(edge: &Edge, channel: &str, route: Route, request: Request<Body>) -> Handled {
    let received_at = Timestamp::now();
    let Route { tenant, endpoint } = route;
    let instance = match edge.channels.get(channel, tenant.as_deref()) {
        Ok(instance) => instance,
        Err(rejection) => return Handled::refused(rejection),
    };
    let (parts, body) = request.into_parts();
    if declared_length(&parts.headers).is_some_and(|len| len > edge.max_body_bytes) {
        return Handled::refused(too_large(edge.max_body_bytes));
    }
    let body = match axum::body::to_bytes(body, edge.max_body_bytes).await {
        Ok(body) => body,
        Err(e) if is_length_limit(&e) => return Handled::refused(too_large(edge.max_body_bytes)),
        Err(e) => {
            if let Some(BodyTimedOut(limit)) = timed_out(&e) {
                return Handled::refused(Rejection::new(
                    408,
                    "body_timeout",
                    format!("the body did not arrive within {} s", limit.as_secs()),
                ));
            }
            return Handled::refused(Rejection::bad_request(
                "unreadable_body",
                "the request body could not be read",
            ));
        }
    };
    let options = match parts.extensions.get::<InProgressSeconds>() {
        Some(InProgressSeconds(seconds)) => PipelineOptions {
            in_progress_seconds: *seconds,
            ..edge.options
        },
        None => edge.options,
    };
    let req = WebhookRequest {
        method: parts.method.as_str().to_owned(),
        path_tenant: tenant,
        endpoint,
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?.to_owned())))
            .collect::<Headers>(),
        body: body.to_vec(),
        received_at,
    };
    instance.ingest(&edge.pipeline(options), &req).await
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

/// The error a request body gives when the listener's whole-body deadline (`o2o serve`'s
/// `body_read_timeout`) passes before the body is complete: the edge answers 408
/// `body_timeout`, before anything is claimed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

fn timed_out(error: &axum::Error) -> Option<&BodyTimedOut> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(timed_out) = e.downcast_ref::<BodyTimedOut>() {
            return Some(timed_out);
        }
        source = e.source();
    }
    None
}

fn too_large(limit: usize) -> Rejection {
    Rejection::new(
        413,
        "body_too_large",
        format!("the body exceeds the limit of {limit} bytes"),
    )
}

/// The HTTP response for a reply: status, content type, extra headers, body.
pub fn response(reply: &Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, reply.content_type.clone())],
        reply.body.clone(),
    )
        .into_response();
    for (name, value) in &reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
