//! o2o-edge: where requests and queued messages meet the pipeline, the same code for `o2o serve`
//! and for every Lambda function.
//!
//! - [`http`]: one axum [`Router`](axum::Router) for every channel: `/webhooks/{channel}[/{tenant}]`
//!   (also behind an API Gateway stage prefix) and `/healthz`, with the body limit and one log
//!   line per delivery ([`observe`]). `o2o serve` serves it with hyper; a Lambda function feeds it
//!   API Gateway events through lambda_http's adapter.
//! - [`commands`]: `POST /commands`, order commands onto the commands queue (`o2o serve`).
//! - [`consume`]: the enrichment and commands consumers and the replay loop, over a [`Consumer`]
//!   port that the SQLite and SQS adapters implement (receive, ack, retry later).

pub mod commands;
pub mod consume;
pub mod http;
pub mod observe;
mod router;

pub use consume::{Consumer, Received};
pub use http::{CommandIntake, Edge, InProgressSeconds};
pub use observe::Observer;
pub use router::router;
