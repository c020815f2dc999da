//! Test support for o2o-connectors (a dev-dependency only):
//!
//! - [`moto`]: uniquely named DynamoDB tables, SQS queues and Secrets Manager secrets on one
//!   shared moto server (`O2O_TEST_AWS_ENDPOINT`, started by `scripts/test`), and readers for
//!   what landed in a queue;
//! - [`runtime_api`]: a loopback AWS Lambda Runtime API server that drives a real function
//!   binary, as the Lambda service would;
//! - [`events`]: invocation payloads shaped like AWS's documented examples (API Gateway HTTP API
//!   payload v2, Function URLs, SQS);
//! - [`function`]: a connector's function binary driven end to end (webhook, enrichment queue,
//!   SQS event, unified queue);
//! - [`commands`]: order commands through the real command pipeline over an in-memory store,
//!   for the connectors' command tests;
//! - [`connector`]: a tiny connector whose body picks the pipeline path, for tests of the
//!   pipeline's adapters;
//! - [`samples`]: a connector built from the development settings, and a payload read through
//!   `parse` and `normalise` as the pipeline reads it.
//!
//! The cold-start harness (`examples/lambda_coldstart.rs` in the root package) measures a function
//! binary's cold start and warm latency with the first three.

pub mod commands;
pub mod connector;
pub mod events;
pub mod function;
pub mod moto;
pub mod runtime_api;
pub mod samples;

mod unique;

pub use unique::unique_name;

/// The fields of the one log line per delivery, the same on `o2o serve` and on Lambda
/// (`o2o_edge::observe::log_delivery`).
pub const DELIVERY_LOG_FIELDS: [&str; 9] = [
    "channel",
    "tenant",
    "outcome",
    "status",
    "key",
    "detail",
    "events",
    "records",
    "latency_ms",
];

/// Whether a JSON log line carries every delivery field.
pub fn has_delivery_fields(line: &serde_json::Value) -> bool {
    DELIVERY_LOG_FIELDS.iter().all(|f| !line[*f].is_null())
}

/// `req` with one byte in the middle of its body changed (inside the JSON, a signed string, or
/// the ciphertext): a digit becomes the next digit, anything else `A` (or `B` for an `A`), so the
/// body stays as parseable as it was and only its signature breaks.
pub fn tampered(mut req: o2o_core::WebhookRequest) -> o2o_core::WebhookRequest {
    let middle = req.body.len() / 2;
    if let Some(byte) = req.body.get_mut(middle) {
        *byte = if byte.is_ascii_digit() {
            b'0' + (*byte - b'0' + 1) % 10
        } else if *byte == b'A' {
            b'B'
        } else {
            b'A'
        };
    }
    req
}
