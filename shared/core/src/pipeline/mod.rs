//! The pipeline: what happens to a delivery between the HTTP edge and the queues, the same for
//! every platform. Its rule: a delivery is either on a queue (unified, enrichment or quarantine)
//! or the platform was told to send it again.
//!
//! - [`ingest`]: a webhook request, from the handshake to the acknowledgement (steps 2–8).
//! - [`process`]: a stored delivery again, by the enrichment consumer or a replay.
//! - [`command`]: an order command from the commands queue, to the platform and its result back.
//! - [`route`]: where a normalised delivery goes, and the one function that sends it there.

mod command;
#[cfg(test)]
mod command_tests;
mod ingest;
mod process;
mod route;
#[cfg(test)]
mod tests;

use crate::key::IdempotencyKey;
use crate::ports::{IdempotencyStore, PortError, Queues};
use crate::request::{Rejection, Reply};

pub use command::{CommandProcessed, QueuedCommand};
pub use route::{group_id, unified_message};

/// Seconds an `INPROGRESS` claim blocks retries when the adapter gives no deadline.
pub const DEFAULT_IN_PROGRESS_SECONDS: i64 = 60;
/// Seconds a completed key is remembered: 7 days, longer than any platform retries.
pub const COMPLETED_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// Timing options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineOptions {
    /// How long an `INPROGRESS` claim blocks retries (on Lambda: the invocation's remaining time).
    pub in_progress_seconds: i64,
    /// How long a completed key is remembered.
    pub completed_ttl_seconds: i64,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            in_progress_seconds: DEFAULT_IN_PROGRESS_SECONDS,
            completed_ttl_seconds: COMPLETED_TTL_SECONDS,
        }
    }
}

/// The pipeline over an idempotency store and the queues.
pub struct Pipeline<'a> {
    store: &'a dyn IdempotencyStore,
    queues: &'a dyn Queues,
    options: PipelineOptions,
}

impl<'a> Pipeline<'a> {
    /// A pipeline writing through `store` and `queues`.
    pub fn new(
        store: &'a dyn IdempotencyStore,
        queues: &'a dyn Queues,
        options: PipelineOptions,
    ) -> Self {
        Self {
            store,
            queues,
            options,
        }
    }
}

/// Where a delivery went once it was authenticated, parsed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    /// This many unified events were enqueued.
    Enqueued {
        /// How many.
        events: usize,
    },
    /// Put on the enrichment queue.
    Enrichment,
    /// An event type we do not map: acknowledged, nothing queued.
    Ignored {
        /// Why (`topic orders/delete is not mapped`).
        reason: String,
    },
    /// Authenticated but not normalisable: quarantined (or, on replay, kept there).
    Quarantined {
        /// Why; names fields and problems, never values.
        error: String,
    },
}

impl Processed {
    /// Metric and log name: `enqueued`, `enrichment`, `ignored`, `quarantined`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Processed::Enqueued { .. } => "enqueued",
            Processed::Enrichment => "enrichment",
            Processed::Ignored { .. } => "ignored",
            Processed::Quarantined { .. } => "quarantined",
        }
    }

    /// Unified events enqueued.
    pub fn events(&self) -> usize {
        match self {
            Processed::Enqueued { events } => *events,
            _ => 0,
        }
    }

    /// The reason or error, for logs.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Processed::Ignored { reason } => Some(reason),
            Processed::Quarantined { error } => Some(error),
            _ => None,
        }
    }
}

/// What happened to one webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A URL-verification handshake was answered.
    Handshake,
    /// Refused before anything was stored (a 4xx; a 5xx when the channel is misconfigured).
    Rejected(Rejection),
    /// Already processed; the stored acknowledgement was replayed.
    Duplicate {
        /// The delivery's key.
        key: IdempotencyKey,
        /// The same key arrived with a different body (worth a look: a platform bug or a replay).
        payload_differs: bool,
        /// The content key that was already claimed, when the delivery's own key was new but its
        /// authenticated content had been processed under another id (a captured delivery
        /// replayed under a fresh id); `None` for a plain redelivery.
        content: Option<IdempotencyKey>,
    },
    /// Being processed by another request; the platform was told to retry (409).
    InProgress {
        /// The delivery's key.
        key: IdempotencyKey,
    },
    /// Authenticated and processed, then acknowledged.
    Accepted {
        /// The key of the (last) record; `None` for a delivery of no records.
        key: Option<IdempotencyKey>,
        /// Where it went.
        processed: Processed,
    },
    /// A store or queue failed; the claim was released and the platform told to retry (5xx).
    Failed {
        /// The delivery's key, once known.
        key: Option<IdempotencyKey>,
        /// What failed.
        error: PortError,
    },
}

impl Outcome {
    /// Metric and log name: `enqueued`, `duplicate`, `rejected` …
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Handshake => "handshake",
            Outcome::Rejected(r) if r.status >= 500 => "failed",
            Outcome::Rejected(_) => "rejected",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::InProgress { .. } => "in_progress",
            Outcome::Accepted { processed, .. } => processed.as_str(),
            Outcome::Failed { .. } => "failed",
        }
    }

    /// The idempotency key, once known.
    pub fn key(&self) -> Option<&IdempotencyKey> {
        match self {
            Outcome::Duplicate { key, .. } | Outcome::InProgress { key } => Some(key),
            Outcome::Accepted { key, .. } | Outcome::Failed { key, .. } => key.as_ref(),
            Outcome::Handshake | Outcome::Rejected(_) => None,
        }
    }

    /// Unified events enqueued.
    pub fn events(&self) -> usize {
        match self {
            Outcome::Accepted { processed, .. } => processed.events(),
            _ => 0,
        }
    }

    /// A short loggable reason (rejection code, quarantine error, port failure); never secrets
    /// or bodies.
    pub fn detail(&self) -> Option<String> {
        match self {
            Outcome::Rejected(r) => Some(r.code.to_owned()),
            Outcome::Duplicate {
                content: Some(_), ..
            } => Some("same signed content as an earlier delivery, under another id".to_owned()),
            Outcome::Duplicate {
                payload_differs: true,
                ..
            } => Some("same key, different payload".to_owned()),
            Outcome::Accepted { processed, .. } => processed.detail().map(str::to_owned),
            Outcome::Failed { error, .. } => Some(error.to_string()),
            _ => None,
        }
    }

    /// Whether it is worth a warning in the log (refused, quarantined, in progress, or signed
    /// content arriving again under a fresh id).
    pub fn is_warning(&self) -> bool {
        matches!(self.as_str(), "rejected" | "quarantined" | "in_progress")
            || matches!(
                self,
                Outcome::Duplicate {
                    content: Some(_),
                    ..
                }
            )
    }
}

/// The result of handling one webhook request: what to answer, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// The HTTP reply for the platform.
    pub reply: Reply,
    /// What happened.
    pub outcome: Outcome,
    /// How many records the delivery held (Douyin sends several in one; otherwise 1).
    pub records: usize,
}

impl Handled {
    /// An answer to a request that never reached a connector (404, 405, 413 at the edge).
    pub fn refused(rejection: Rejection) -> Self {
        Self {
            reply: rejection.to_reply(),
            outcome: Outcome::Rejected(rejection),
            records: 0,
        }
    }
}

/// What a replay of the quarantine did (`o2o replay`, locally or on AWS).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Deliveries that now produced unified events (removed from the quarantine).
    pub enqueued: usize,
    /// Deliveries that now went to the enrichment queue (removed).
    pub enrichment: usize,
    /// Deliveries that are now ignored (removed).
    pub ignored: usize,
    /// Deliveries that still fail, with their error (kept).
    pub still_failing: Vec<(String, String)>,
}

impl ReplaySummary {
    /// Counts one reprocessed delivery; `false` when it still fails (keep it quarantined).
    pub fn count(&mut self, key: &str, processed: Processed) -> bool {
        match processed {
            Processed::Quarantined { error } => {
                self.still_failing.push((key.to_owned(), error));
                return false;
            }
            Processed::Enqueued { .. } => self.enqueued += 1,
            Processed::Enrichment => self.enrichment += 1,
            Processed::Ignored { .. } => self.ignored += 1,
        }
        true
    }
}
