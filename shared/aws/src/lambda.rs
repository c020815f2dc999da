//! The Lambda entry point: one binary per channel serves the channel's webhooks (API Gateway
//! HTTP API payload v2, or a Function URL) and the enrichment queue's SQS batches.
//!
//! ```text
//! // functions/<channel>/src/main.rs
//! fn main() -> std::process::ExitCode {
//!     o2o_aws::lambda::run::<o2o_shopify::Shopify>()
//! }
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service as _, service_fn};
use o2o_core::{Connector, ConnectorEntry};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::function::Function;

/// Starts the function for connector `C`: logging, AWS clients and settings once per cold
/// start (a bad setting is reported to `/runtime/init/error`), then the Lambda runtime loop.
/// Returns only when the runtime stops or start-up fails.
pub fn run<C: Connector>() -> ExitCode {
    run_entry(ConnectorEntry::of::<C>())
}

/// [`run`] for a registry entry.
pub fn run_entry(connector: ConnectorEntry) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let function = match Function::from_env(connector).await {
            Ok(function) => Arc::new(function),
            Err(e) => {
                tracing::error!(channel = (connector.info)().id, error = %e, "cannot start");
                report_init_error(&e.to_string()).await;
                return ExitCode::FAILURE;
            }
        };
        let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| {
            let function = Arc::clone(&function);
            async move { invoke(&function, event).await }
        });
        match lambda_runtime::run(handler).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "runtime stopped");
                ExitCode::FAILURE
            }
        }
    })
}

/// The answer to one invocation, in the shape its event source expects.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// For API Gateway / Function URL events: the response object lambda_http built.
    Http(serde_json::Value),
    /// For SQS events: the messages to retry.
    Batch(SqsBatchResponse),
}

/// Handles one invocation: an SQS batch (it has `Records`) or an HTTP event.
pub async fn invoke(
    function: &Function,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Answer, lambda_runtime::Error> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "Records")]
        records: Option<serde::de::IgnoredAny>,
    }
    let LambdaEvent { payload, context } = event;
    let probe: Probe = serde_json::from_str(payload.get())?;
    if probe.records.is_some() {
        let batch: SqsEvent = serde_json::from_str(payload.get())?;
        return Ok(Answer::Batch(function.handle_sqs(batch).await));
    }
    let request: LambdaRequest = serde_json::from_str(payload.get())?;
    // lambda_http's adapter turns the event into an `http::Request` (decoding base64 bodies)
    // and the response into the event source's response shape.
    let mut adapter = Adapter::from(service_fn(|request| async move {
        Ok::<_, std::convert::Infallible>(Finished(function.handle_http(request).await))
    }));
    match adapter.call(LambdaEvent::new(request, context)).await {
        Ok(response) => Ok(Answer::Http(serde_json::to_value(response)?)),
        Err(never) => match never {},
    }
}

/// A response whose body is already text or bytes (`Function::handle_http` decides which).
/// lambda_http's own conversion for `Response<Body>` would look at the `Content-Type` again and
/// re-decode text through `encoding_rs`, whose tables are ~150 KB of the binary and of its
/// resident memory; this hands the response over as it is.
struct Finished(lambda_http::Response<lambda_http::Body>);

impl lambda_http::IntoResponse for Finished {
    fn into_response(
        self,
    ) -> std::pin::Pin<Box<dyn Future<Output = lambda_http::Response<lambda_http::Body>> + Send>>
    {
        Box::pin(std::future::ready(self.0))
    }
}

/// Tells the Lambda service why initialisation failed (`POST /runtime/init/error`), so the
/// invocation fails at once with the reason instead of waiting for a timeout. Best effort: the
/// process exits with a failure status either way. The message never holds a secret's value.
async fn report_init_error(message: &str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body =
        serde_json::json!({"errorMessage": message, "errorType": "o2o.InitError"}).to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: o2o.InitError\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let post = async {
        let mut stream = tokio::net::TcpStream::connect(&api).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.map(|_| ())
    };
    if let Err(e) = tokio::time::timeout(std::time::Duration::from_secs(2), post)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
    {
        tracing::warn!(error = %e, "could not report the init error to the runtime API");
    }
}

/// JSON log lines on stdout (CloudWatch Logs), with the invocation's `requestId` from the
/// runtime's span; level from `AWS_LAMBDA_LOG_LEVEL` or `O2O_LOG`, default info.
fn init_logging() {
    let level = ["AWS_LAMBDA_LOG_LEVEL", "O2O_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.to_ascii_lowercase().parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .with_max_level(level)
        .init();
}
