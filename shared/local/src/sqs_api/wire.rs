//! The SQS JSON protocol's envelope: reading a request (`X-Amz-Target`, a JSON object), writing
//! an answer or an error as the AWS SDKs parse them (`__type`, and `x-amzn-query-error` for the
//! SDKs that still map errors by their query-protocol codes).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use o2o_core::ports::QueueName;
use serde_json::{Map, Value, json};

/// The media type of requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    query_code: &'static str,
    message: String,
}

impl ApiError {
    /// The caller's fault (400).
    pub fn sender(code: &'static str, query_code: &'static str, message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            query_code,
            message: message.to_owned(),
        }
    }

    /// A parameter out of range or missing.
    pub fn invalid(message: &str) -> Self {
        Self::sender("InvalidParameterValue", "InvalidParameterValue", message)
    }

    /// The queue URL or name is not one of the local queues.
    pub fn no_such_queue() -> Self {
        Self::sender(
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            "the specified queue does not exist (the local queues are `unified` and `unified-dlq`)",
        )
    }

    /// The store failed (500): the consumer retries.
    pub fn internal(message: &str) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "InternalError",
            query_code: "InternalError",
            message: message.to_owned(),
        }
    }

    /// The error as a batch entry's failure.
    fn entry(&self, id: &str) -> Value {
        json!({
            "Id": id,
            "SenderFault": self.status.is_client_error(),
            "Code": self.query_code,
            "Message": self.message,
        })
    }
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// Writes the answer.
pub fn answer(result: Result<Value, ApiError>) -> Response {
    let request_id = format!("o2o-local-{}", REQUEST_IDS.fetch_add(1, Ordering::Relaxed));
    let (status, body, query_error) = match result {
        Ok(body) => (StatusCode::OK, body, None),
        Err(e) => (
            e.status,
            json!({ "__type": format!("com.amazonaws.sqs#{}", e.code), "message": e.message }),
            Some(format!(
                "{};{}",
                e.query_code,
                if e.status.is_client_error() {
                    "Sender"
                } else {
                    "Receiver"
                }
            )),
        ),
    };
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(Ok(value)) = query_error.map(|q| HeaderValue::from_str(&q)) {
        headers.insert("x-amzn-query-error", value);
    }
    response
}

/// A request: its action and its JSON object.
pub struct Request {
    /// `ReceiveMessage`, …
    pub action: String,
    /// The parameters.
    pub body: Map<String, Value>,
}

impl Request {
    /// Reads the action from `X-Amz-Target` and the parameters from the body.
    pub fn read(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        let Some(target) = headers.get("x-amz-target").and_then(|t| t.to_str().ok()) else {
            return Err(ApiError::sender(
                "InvalidAction",
                "InvalidAction",
                "no X-Amz-Target: only the SQS JSON protocol is served (AWS SDKs released since 2024 use it)",
            ));
        };
        let Some(action) = target.strip_prefix("AmazonSQS.") else {
            return Err(ApiError::sender(
                "InvalidAction",
                "InvalidAction",
                "X-Amz-Target must be AmazonSQS.<Action>",
            ));
        };
        let body = if body.is_empty() {
            Map::new()
        } else {
            match serde_json::from_slice(body) {
                Ok(Value::Object(map)) => map,
                _ => {
                    return Err(ApiError::sender(
                        "SerializationException",
                        "SerializationException",
                        "the body must be a JSON object",
                    ));
                }
            }
        };
        Ok(Self {
            action: action.to_owned(),
            body,
        })
    }

    /// A required string parameter.
    pub fn string(&self, name: &str) -> Result<String, ApiError> {
        entry_string(&self.body, name)
    }

    /// The queue `QueueUrl` names (its last path segment).
    pub fn queue(&self) -> Result<QueueName, ApiError> {
        let url = self.string("QueueUrl")?;
        let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        local_queue(name).ok_or_else(ApiError::no_such_queue)
    }

    /// A list of names (attribute selections); empty when absent.
    pub fn names(&self, name: &str) -> Vec<String> {
        self.body
            .get(name)
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs `each` on every entry of `Entries` (1 to 10, distinct ids), in order, and answers
    /// with the entries that succeeded and those that failed.
    pub async fn batch<F, Fut>(&self, each: F) -> Result<Value, ApiError>
    where
        F: Fn(Map<String, Value>) -> Fut,
        Fut: Future<Output = Result<(), ApiError>>,
    {
        let entries = match self.body.get("Entries").and_then(Value::as_array) {
            Some(entries) if entries.is_empty() => {
                return Err(ApiError::sender(
                    "EmptyBatchRequest",
                    "AWS.SimpleQueueService.EmptyBatchRequest",
                    "the batch has no entries",
                ));
            }
            Some(entries) if entries.len() > 10 => {
                return Err(ApiError::sender(
                    "TooManyEntriesInBatchRequest",
                    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                    "a batch has at most 10 entries",
                ));
            }
            Some(entries) => entries,
            None => return Err(ApiError::invalid("Entries is required")),
        };
        let mut ids = std::collections::HashSet::new();
        let mut parsed = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(entry) = entry.as_object() else {
                return Err(ApiError::invalid("every entry must be an object"));
            };
            let id = entry_string(entry, "Id")?;
            if !ids.insert(id.clone()) {
                return Err(ApiError::sender(
                    "BatchEntryIdsNotDistinct",
                    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                    "two entries share an Id",
                ));
            }
            parsed.push((id, entry.clone()));
        }
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for (id, entry) in parsed {
            match each(entry).await {
                Ok(()) => successful.push(json!({ "Id": id })),
                Err(e) => failed.push(e.entry(&id)),
            }
        }
        Ok(json!({ "Successful": successful, "Failed": failed }))
    }
}

/// Which local queue a queue name or URL's last segment names: `unified`, anything ending in
/// `-unified` (the deployed name, `o2o-<stage>-unified`), and their `-dlq`, with or without
/// `.fifo`.
pub fn local_queue(name: &str) -> Option<QueueName> {
    let name = name.strip_suffix(".fifo").unwrap_or(name);
    let is = |suffix: &str| name == suffix || name.ends_with(&format!("-{suffix}"));
    if is("unified-dlq") {
        Some(QueueName::UnifiedDeadLetter)
    } else if is("unified") {
        Some(QueueName::Unified)
    } else {
        None
    }
}

/// A required string parameter of a request or batch entry.
pub fn entry_string(map: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match map.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ApiError::sender(
            "MissingParameter",
            "MissingParameter",
            &format!("{name} is required"),
        )),
    }
}

/// A visibility timeout in seconds (0 to 12 hours, as SQS allows).
pub fn visibility(value: Option<&Value>) -> Result<Duration, ApiError> {
    match value.and_then(Value::as_u64) {
        Some(s @ 0..=43_200) => Ok(Duration::from_secs(s)),
        _ => Err(ApiError::invalid(
            "VisibilityTimeout must be 0 to 43200 seconds",
        )),
    }
}

/// Which attributes a receive asked for: `All`, `.*`, exact names, or `prefix.*`.
pub struct Selection(Vec<String>);

impl Selection {
    /// From the request's list.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        Self(names.into_iter().collect())
    }

    /// Whether `name` was asked for.
    pub fn wants(&self, name: &str) -> bool {
        self.0.iter().any(|want| {
            want == "All"
                || want == ".*"
                || want == name
                || want
                    .strip_suffix(".*")
                    .is_some_and(|prefix| name.starts_with(&format!("{prefix}.")))
        })
    }
}
