//! The order system's consumer API of `o2o serve`: the subset of the SQS JSON protocol
//! (`application/x-amz-json-1.0`, `X-Amz-Target: AmazonSQS.<Action>`) that consumers use, over
//! the local unified queue, so a consumer written with an AWS SDK runs unchanged against the
//! SQS FIFO queue in production and against `o2o serve` with its endpoint URL pointed here.
//!
//! Actions: `GetQueueUrl`, `ReceiveMessage` (long poll, max messages, visibility timeout, system
//! and message attributes with their MD5s as SQS computes them), `DeleteMessage`,
//! `DeleteMessageBatch`, `ChangeMessageVisibility` and `ChangeMessageVisibilityBatch`. The
//! semantics are fifo.rs's. Requests are not authenticated (any SigV4 signature is accepted), so
//! the API listens on loopback addresses only.

mod md5;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use o2o_core::ports::QueueName;
use serde_json::{Value, json};

use crate::fifo::{LeaseError, Leased, ReceiveOptions};
use crate::sqlite::SqliteStore;
pub use wire::local_queue;
use wire::{ApiError, Request, answer};

/// The queue's settings, as the template gives the unified queue on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Visibility timeout when a receive names none.
    pub visibility: Duration,
    /// Receives before a message moves to the dead-letter queue.
    pub max_receives: u32,
}

impl Default for QueueSettings {
    /// 60 s and 5 receives, as `infra/template.yaml` sets the unified queue.
    fn default() -> Self {
        Self {
            visibility: Duration::from_secs(60),
            max_receives: 5,
        }
    }
}

/// The account id in local queue URLs (SQS's own local emulators use the same).
pub const LOCAL_ACCOUNT: &str = "000000000000";

struct Api {
    store: SqliteStore,
    settings: QueueSettings,
}

/// The API's router, answering at `/`.
pub fn router(store: SqliteStore, settings: QueueSettings) -> Router {
    Router::new()
        .route("/", post(handle))
        .fallback(|| async {
            answer(Err(ApiError::sender(
                "UnsupportedOperation",
                "AWS.SimpleQueueService.UnsupportedOperation",
                "this endpoint answers the SQS JSON protocol with POST /",
            )))
        })
        .with_state(Arc::new(Api { store, settings }))
}

async fn handle(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    answer(dispatch(&api, &headers, &body).await)
}

async fn dispatch(api: &Api, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let request = Request::read(headers, body)?;
    match request.action.as_str() {
        "GetQueueUrl" => get_queue_url(&request, headers),
        "ReceiveMessage" => receive(api, &request).await,
        "DeleteMessage" => {
            let queue = request.queue()?;
            let receipt = request.string("ReceiptHandle")?;
            delete(api, queue, &receipt).await.map(|()| json!({}))
        }
        "DeleteMessageBatch" => {
            let queue = request.queue()?;
            request
                .batch(|entry| async move {
                    let receipt = wire::entry_string(&entry, "ReceiptHandle")?;
                    delete(api, queue, &receipt).await
                })
                .await
        }
        "ChangeMessageVisibility" => {
            let queue = request.queue()?;
            let receipt = request.string("ReceiptHandle")?;
            let timeout = wire::visibility(request.body.get("VisibilityTimeout"))?;
            change_visibility(api, queue, &receipt, timeout)
                .await
                .map(|()| json!({}))
        }
        "ChangeMessageVisibilityBatch" => {
            let queue = request.queue()?;
            request
                .batch(|entry| async move {
                    let receipt = wire::entry_string(&entry, "ReceiptHandle")?;
                    let timeout = wire::visibility(entry.get("VisibilityTimeout"))?;
                    change_visibility(api, queue, &receipt, timeout).await
                })
                .await
        }
        other => Err(ApiError::sender(
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            &format!(
                "{other} is not served locally (GetQueueUrl, ReceiveMessage, DeleteMessage(Batch) and ChangeMessageVisibility(Batch) are)"
            ),
        )),
    }
}

fn get_queue_url(request: &Request, headers: &HeaderMap) -> Result<Value, ApiError> {
    let name = request.string("QueueName")?;
    if local_queue(&name).is_none() {
        return Err(ApiError::no_such_queue());
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    Ok(json!({ "QueueUrl": format!("http://{host}/{LOCAL_ACCOUNT}/{name}") }))
}

async fn receive(api: &Api, request: &Request) -> Result<Value, ApiError> {
    let queue = request.queue()?;
    let max = match request.body.get("MaxNumberOfMessages") {
        None | Some(Value::Null) => 1,
        Some(n) => match n.as_u64() {
            Some(n @ 1..=10) => n as usize,
            _ => return Err(ApiError::invalid("MaxNumberOfMessages must be 1 to 10")),
        },
    };
    let visibility = match request.body.get("VisibilityTimeout") {
        None | Some(Value::Null) => api.settings.visibility,
        given => wire::visibility(given)?,
    };
    let wait = match request.body.get("WaitTimeSeconds") {
        None | Some(Value::Null) => 0,
        Some(n) => match n.as_u64() {
            Some(n @ 0..=20) => n,
            _ => return Err(ApiError::invalid("WaitTimeSeconds must be 0 to 20")),
        },
    };
    let options = ReceiveOptions {
        max,
        visibility,
        max_receives: api.settings.max_receives,
    };
    let received = api
        .store
        .receive_waiting(queue, options, Duration::from_secs(wait))
        .await
        .map_err(|e| ApiError::internal(&e.to_string()))?;
    let system = wire::Selection::new(
        request
            .names("MessageSystemAttributeNames")
            .into_iter()
            .chain(request.names("AttributeNames")),
    );
    let user = wire::Selection::new(request.names("MessageAttributeNames"));
    let messages: Vec<Value> = received
        .iter()
        .map(|m| message_json(m, &system, &user))
        .collect();
    Ok(json!({ "Messages": messages }))
}

/// One received message as SQS writes it.
fn message_json(m: &Leased, system: &wire::Selection, user: &wire::Selection) -> Value {
    let mut out = json!({
        "MessageId": m.message_id,
        "ReceiptHandle": m.receipt,
        "MD5OfBody": md5::of_body(&m.body),
        "Body": m.body,
    });
    let mut attributes = serde_json::Map::new();
    let mut system_attribute = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|_| system.wants(name)) {
            attributes.insert(name.to_owned(), Value::String(value));
        }
    };
    system_attribute("SenderId", Some("o2o-local".to_owned()));
    system_attribute("SentTimestamp", Some(m.sent_at_ms.to_string()));
    system_attribute("ApproximateReceiveCount", Some(m.receive_count.to_string()));
    system_attribute(
        "ApproximateFirstReceiveTimestamp",
        Some(m.first_received_ms.to_string()),
    );
    system_attribute("SequenceNumber", Some(format!("{:020}", m.seq)));
    system_attribute("MessageGroupId", m.group_id.clone());
    system_attribute("MessageDeduplicationId", m.dedup_id.clone());
    if !attributes.is_empty() {
        out["Attributes"] = Value::Object(attributes);
    }
    let chosen: Vec<&(String, String)> =
        m.attributes.iter().filter(|(k, _)| user.wants(k)).collect();
    if !chosen.is_empty() {
        out["MD5OfMessageAttributes"] = Value::String(md5::of_string_attributes(&chosen));
        out["MessageAttributes"] = chosen
            .iter()
            .map(|(k, v)| (k.clone(), json!({ "DataType": "String", "StringValue": v })))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    out
}

async fn delete(api: &Api, queue: QueueName, receipt: &str) -> Result<(), ApiError> {
    api.store
        .delete_received(queue, receipt)
        .await
        .map_err(lease_error)
}

async fn change_visibility(
    api: &Api,
    queue: QueueName,
    receipt: &str,
    timeout: Duration,
) -> Result<(), ApiError> {
    api.store
        .change_visibility(queue, receipt, timeout)
        .await
        .map_err(lease_error)
}

fn lease_error(e: LeaseError) -> ApiError {
    match e {
        LeaseError::ReceiptInvalid => ApiError::sender(
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            &e.to_string(),
        ),
        LeaseError::NotInFlight => ApiError::sender(
            "MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            &e.to_string(),
        ),
        LeaseError::Store(e) => ApiError::internal(&e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_and_urls_map_to_the_local_queues() {
        for name in [
            "unified",
            "unified.fifo",
            "o2o-prod-unified.fifo",
            "o2o-local-unified",
        ] {
            assert_eq!(local_queue(name), Some(QueueName::Unified), "{name}");
        }
        for name in ["unified-dlq", "o2o-prod-unified-dlq.fifo"] {
            assert_eq!(
                local_queue(name),
                Some(QueueName::UnifiedDeadLetter),
                "{name}"
            );
        }
        for name in ["commands", "o2o-prod-quarantine", "nounified", ""] {
            assert_eq!(local_queue(name), None, "{name}");
        }
    }
}
