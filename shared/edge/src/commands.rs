//! `POST /commands` on `o2o serve`: an `OrderCommand` checked and put on the commands queue,
//! answered 202. The commands consumer then carries it out, as a channel's Lambda function does
//! from its commands queue on AWS, where the order system sends to that queue itself.
//!
//! Answers: 202 `{"command_id","status":"queued"}` (also for a command sent again: the queue's
//! deduplication keeps one); 400 `invalid_command` naming the field; 401 `unauthorized` without
//! the configured bearer token; 404 `unknown_channel` / `channel_not_configured`; 413 over
//! 64 KiB; 503 when the queue cannot take it. Nothing is queued unless the answer is 202.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, header};
use axum::response::Response;
use o2o_core::command::OrderCommand;
use o2o_core::ports::{QueueMessage, QueueName};
use o2o_core::signature::sha256_hex;
use o2o_core::{IdempotencyKey, Rejection, Reply};
use subtle::ConstantTimeEq as _;

use crate::http::{Edge, response};

/// The largest command body taken.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

pub(crate) async fn post_command(
    State(edge): State<Arc<Edge>>,
    request: Request<Body>,
) -> Response {
    let reply = match take(&edge, request).await {
        Ok(reply) => reply,
        Err(rejection) => {
            tracing::warn!(outcome = "rejected", detail = rejection.code, "command");
            rejection.to_reply()
        }
    };
    response(&reply)
}

async fn take(edge: &Edge, request: Request<Body>) -> Result<Reply, Rejection> {
    let Some(intake) = &edge.commands else {
        return Err(Rejection::new(404, "not_found", "no such endpoint"));
    };
    if let Some(token) = &intake.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return Err(Rejection::unauthorized(
                "unauthorized",
                "a bearer token is required for /commands",
            ));
        }
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_COMMAND_BYTES)
        .await
        .map_err(|_| {
            Rejection::new(
                413,
                "body_too_large",
                format!("a command is at most {MAX_COMMAND_BYTES} bytes"),
            )
        })?;
    let command = OrderCommand::from_json(&body)
        .map_err(|e| Rejection::bad_request("invalid_command", e.0))?;
    if edge.registry.get(&command.channel).is_none() {
        return Err(Rejection::new(
            404,
            "unknown_channel",
            "no connector with this channel id",
        ));
    }
    if edge
        .channels
        .for_command(&command.channel, &command.tenant)
        .is_none()
    {
        return Err(Rejection::new(
            404,
            "channel_not_configured",
            "this channel has no configuration",
        ));
    }
    let key = IdempotencyKey::command(&command.channel, &command.tenant, &command.command_id);
    let message = QueueMessage {
        body: serde_json::to_string(&command).unwrap_or_default(),
        group_id: Some(command.group_id()),
        dedup_id: Some(sha256_hex(key.as_str().as_bytes())),
        attributes: vec![
            ("channel", command.channel.clone()),
            ("kind", command.action.kind().as_str().to_owned()),
        ],
    };
    if let Err(e) = edge.queues.send(QueueName::Commands, vec![message]).await {
        tracing::warn!(error = %e, "command not queued");
        return Err(Rejection::new(
            503,
            "queue_unavailable",
            "the commands queue cannot take the command now; send it again",
        ));
    }
    tracing::info!(
        channel = command.channel,
        command_id = command.command_id,
        kind = command.action.kind().as_str(),
        outcome = "queued",
        "command"
    );
    let answer = serde_json::json!({"command_id": command.command_id, "status": "queued"});
    Ok(Reply::json(202, &answer.to_string()))
}
