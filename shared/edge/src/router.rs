//! The one router: every path the edge answers, and the handler of each.

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};
use o2o_core::{Rejection, Reply};

use crate::commands::post_command;
use crate::http::{Edge, response, webhook};

/// The router: webhooks (also behind a stage prefix, as API Gateway's named stages send them),
/// order commands where the host takes them (`POST /commands`), the health check, and a JSON
/// 404 for anything else.
pub fn router(edge: Arc<Edge>) -> Router {
    Router::new()
        .route("/webhooks/{channel}", any(webhook))
        .route("/webhooks/{channel}/{tenant}", any(webhook))
        .route("/webhooks/{channel}/{tenant}/{endpoint}", any(webhook))
        .route("/{stage}/webhooks/{channel}", any(webhook))
        .route("/{stage}/webhooks/{channel}/{tenant}", any(webhook))
        .route(
            "/{stage}/webhooks/{channel}/{tenant}/{endpoint}",
            any(webhook),
        )
        .route("/commands", post(post_command))
        .route(
            "/healthz",
            get(|| async { response(&Reply::json(200, r#"{"status":"ok"}"#)) }),
        )
        .fallback(|| async {
            response(&Rejection::new(404, "not_found", "no such endpoint").to_reply())
        })
        .with_state(edge)
}
