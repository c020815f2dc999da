//! A loopback server speaking the AWS Lambda Runtime API (version 2018-06-01), to drive a real
//! function binary the way the Lambda service does:
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>.
//!
//! ```no_run
//! # async fn demo() {
//! use o2o_testkit::runtime_api::{Invocation, RuntimeApi};
//! let api = RuntimeApi::start().await;
//! let child = std::process::Command::new("target/debug/shopify")
//!     .env_clear()
//!     .envs(api.lambda_env("shopify"))
//!     .spawn()
//!     .expect("spawn the function");
//! let event = serde_json::json!({"Records": []});
//! match api.invoke(event, std::time::Duration::from_secs(10)).await {
//!     Invocation::Response(answer) => println!("{answer}"),
//!     other => panic!("{other:?}; init error: {:?}", api.init_error()),
//! }
//! # drop(child);
//! # }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::unique::{hex_id, uuid_like};

/// How long a function has for one invocation, as told in `Lambda-Runtime-Deadline-Ms`.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The account id in the invoked function's ARN.
pub const ACCOUNT_ID: &str = "123456789012";

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function posted a response (the body as JSON; a non-JSON body as a JSON string).
    Response(Value),
    /// The function posted an invocation error (`{"errorMessage": …, "errorType": …}`).
    Error(Value),
    /// No answer within the timeout (see also [`RuntimeApi::init_error`]).
    TimedOut,
}

struct Queued {
    request_id: String,
    event: Value,
}

struct Shared {
    sender: mpsc::UnboundedSender<Queued>,
    receiver: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Invocation>>>,
    init_error: Mutex<Option<Value>>,
    first_poll: Mutex<Option<std::time::Instant>>,
    function_name: Mutex<String>,
}

impl Shared {
    fn answer(&self, request_id: &str, invocation: Invocation) -> Response {
        let waiter = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(request_id);
        match waiter {
            Some(waiter) => {
                // The invoker may have timed out and gone; the answer is then dropped.
                let _ = waiter.send(invocation);
                accepted()
            }
            None => json_response(
                StatusCode::BAD_REQUEST,
                HeaderMap::new(),
                &json!({
                    "errorMessage": format!("unknown or already answered request id {request_id}"),
                    "errorType": "InvalidRequestID",
                }),
            ),
        }
    }
}

/// A Runtime API server on `127.0.0.1:<free port>`; stops when dropped.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Starts the server (on the current tokio runtime).
    pub async fn start() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            sender,
            receiver: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            first_poll: Mutex::new(None),
            function_name: Mutex::new("o2o-test".to_owned()),
        });
        let base = "/2018-06-01/runtime";
        let app = Router::new()
            .route(&format!("{base}/invocation/next"), get(next))
            .route(
                &format!("{base}/invocation/{{request_id}}/response"),
                post(response),
            )
            .route(
                &format!("{base}/invocation/{{request_id}}/error"),
                post(invocation_error),
            )
            .route(&format!("{base}/init/error"), post(init_error))
            // Lambda accepts responses up to 6 MB; axum's default limit is 2 MB.
            .layer(DefaultBodyLimit::max(8 * 1024 * 1024))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("runtime api: bind 127.0.0.1:0");
        let address = listener
            .local_addr()
            .expect("runtime api: local address of the listener");
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("runtime api server stopped: {e}");
            }
        });
        Self {
            address,
            shared,
            server,
        }
    }

    /// `127.0.0.1:PORT`: the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// The environment a Lambda process sees (`provided.al2023`, 128 MB, `us-east-1`, dummy
    /// credentials), pointed at this server. Add the function's own variables (resources,
    /// `AWS_ENDPOINT_URL`); start the process with `env_clear()` so nothing else leaks in.
    /// Also names the function in the ARN the server hands out.
    pub fn lambda_env(&self, function_name: &str) -> Vec<(&'static str, String)> {
        function_name.clone_into(
            &mut self
                .shared
                .function_name
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let date = time::OffsetDateTime::now_utc().date();
        let stream = format!(
            "{:04}/{:02}/{:02}/[$LATEST]{}",
            date.year(),
            u8::from(date.month()),
            date.day(),
            hex_id(32)
        );
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
            ("AWS_REGION", crate::moto::REGION.to_owned()),
            ("AWS_DEFAULT_REGION", crate::moto::REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_SESSION_TOKEN", "test".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        ]
    }

    /// Queues `event` for the function's next `GET …/invocation/next` and waits up to `timeout`
    /// for its response or error. A timed-out event may still be handed out later.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Invocation {
        let request_id = uuid_like();
        let (waiter, answer) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request_id.clone(), waiter);
        let queued = Queued {
            request_id: request_id.clone(),
            event,
        };
        if self.shared.sender.send(queued).is_err() {
            unreachable!("the runtime api holds its own receiver");
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(invocation)) => invocation,
            Ok(Err(_)) | Err(_) => {
                self.shared
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&request_id);
                Invocation::TimedOut
            }
        }
    }

    /// When the function first asked for an invocation (`GET …/invocation/next`): the end of its
    /// initialisation.
    pub fn first_poll(&self) -> Option<std::time::Instant> {
        *self
            .shared
            .first_poll
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What the function posted to `…/init/error`, if it did.
    pub fn init_error(&self) -> Option<Value> {
        self.shared
            .init_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn json_response(status: StatusCode, mut headers: HeaderMap, value: &Value) -> Response {
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, headers, value.to_string()).into_response()
}

fn accepted() -> Response {
    json_response(
        StatusCode::ACCEPTED,
        HeaderMap::new(),
        &json!({"status": "OK"}),
    )
}

fn body_json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn unix_millis(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// `GET /2018-06-01/runtime/invocation/next`: long-polls until an event is queued.
async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .first_poll
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(std::time::Instant::now);
    let queued = shared.receiver.lock().await.recv().await;
    let Some(Queued { request_id, event }) = queued else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let now = SystemTime::now();
    let function_name = shared
        .function_name
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let headers = [
        ("lambda-runtime-aws-request-id", request_id),
        (
            "lambda-runtime-deadline-ms",
            unix_millis(now + DEADLINE).to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            format!(
                "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{function_name}",
                crate::moto::REGION
            ),
        ),
        (
            "lambda-runtime-trace-id",
            format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                secs & 0xffff_ffff,
                hex_id(24),
                hex_id(16)
            ),
        ),
    ];
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(name, value);
        }
    }
    json_response(StatusCode::OK, map, &event)
}

/// `POST /2018-06-01/runtime/invocation/{request_id}/response`.
async fn response(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    shared.answer(&request_id, Invocation::Response(body_json(&body)))
}

/// `POST /2018-06-01/runtime/invocation/{request_id}/error`.
async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    shared.answer(&request_id, Invocation::Error(body_json(&body)))
}

/// `POST /2018-06-01/runtime/init/error`.
async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    *shared
        .init_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(body_json(&body));
    accepted()
}
