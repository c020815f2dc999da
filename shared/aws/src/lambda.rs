//! The Lambda entry point: one binary per channel serves the channel's webhooks (API Gateway
//! HTTP API payload v2, or a Function URL) and the enrichment queue's SQS batches.
//!
//! ```no_run
//! // functions/<channel>/src/main.rs
//! fn main() -> std::process::ExitCode {
//!     # let connector: &'static dyn o2o_core::Connector = unimplemented!();
//!     o2o_aws::lambda::run(connector)
//! }
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::lambda_runtime::{self, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service as _, service_fn};
use o2o_core::Connector;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::function::Function;

/// Starts the function for `connector`: logging, AWS clients and credentials once per cold
/// start, then the Lambda runtime loop. Returns only when the runtime stops or start-up fails.
pub fn run(connector: &'static dyn Connector) -> ExitCode {
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
                tracing::error!(channel = connector.info().id, error = %e, "cannot start");
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
        Ok::<_, std::convert::Infallible>(function.handle_http(request).await)
    }));
    match adapter.call(LambdaEvent::new(request, context)).await {
        Ok(response) => Ok(Answer::Http(serde_json::to_value(response)?)),
        Err(never) => match never {},
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
