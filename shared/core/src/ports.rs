//! The ports the pipeline writes through; adapters (SQLite locally, DynamoDB/SQS on AWS)
//! implement them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::key::IdempotencyKey;
use crate::request::{Headers, Reply};
use crate::timestamp::Timestamp;

/// A failure of a store or queue, or work to retry later; the pipeline turns it into a 5xx so
/// the platform retries, and a consumer leaves the message on its queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The store or queue backend failed, or answered something it should not have.
    #[error("{backend}: {message}")]
    Backend {
        /// `sqlite`, `dynamodb`, `sqs`.
        backend: &'static str,
        /// What failed (the SDK's or SQLite's message; never a body or a secret).
        message: String,
    },
    /// A queued message is not a delivery this version can read.
    #[error("unreadable message: {0}")]
    Unreadable(String),
    /// The delivery's channel or tenant is not configured in this process.
    #[error("no {0} configured for the delivery")]
    NotConfigured(&'static str),
    /// The platform's API failed for now (enrichment): retry later.
    #[error("enrichment: {0}")]
    RetryLater(String),
    /// A failure, and the release of the claim after it failed too (the claim then expires).
    #[error("{error}; release failed: {release}")]
    ReleaseFailed {
        /// The first failure.
        error: Box<PortError>,
        /// The release's failure.
        release: Box<PortError>,
    },
}

impl PortError {
    /// A backend failure.
    pub fn backend(backend: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Backend {
            backend,
            message: message.to_string(),
        }
    }
}

/// A request to claim an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The delivery's key.
    pub key: IdempotencyKey,
    /// SHA-256 of the raw body, to flag the same key arriving with different content.
    pub payload_hash: String,
    /// Now.
    pub now: Timestamp,
    /// Until when an `INPROGRESS` claim blocks others; after that it may be retaken.
    pub in_progress_until: Timestamp,
    /// When the record may be forgotten (TTL, at least 7 days after completion).
    pub expires_at: Timestamp,
}

/// The result of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The key is ours to process.
    Claimed,
    /// Already processed: answer the stored acknowledgement again.
    Completed {
        /// The stored acknowledgement.
        ack: Reply,
        /// The payload hash recorded when it was claimed.
        payload_hash: String,
    },
    /// Someone else is processing it right now.
    InProgress,
}

/// The idempotency store (Powertools semantics: `INPROGRESS` → `COMPLETED`, with expiry).
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `claim.key` if it is absent, expired, or an expired `INPROGRESS` claim.
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError>;
    /// Marks a claimed key `COMPLETED` with the acknowledgement to replay.
    async fn complete(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
    ) -> Result<(), PortError>;
    /// [`complete`](Self::complete) for a key that the same request completes another key
    /// right after (a content key, before the delivery's own): a store may leave this write's
    /// durability to that second completion (SQLite syncs only the second). The default is
    /// `complete`.
    async fn complete_before(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
    ) -> Result<(), PortError> {
        self.complete(key, ack, expires_at).await
    }
    /// Deletes an `INPROGRESS` claim so the platform's retry can take it.
    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError>;
}

/// The queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// The FIFO stream of `UnifiedOrderEvent`s.
    Unified,
    /// Unified events the order system received too often without deleting them (to redrive).
    UnifiedDeadLetter,
    /// Thin deliveries waiting for the platform API.
    Enrichment,
    /// Authenticated deliveries that could not be normalised.
    Quarantine,
    /// `OrderCommand`s waiting for their platform (FIFO per order).
    Commands,
    /// Commands whose platform kept failing until the attempts ran out (to redrive).
    CommandsDeadLetter,
}

impl QueueName {
    /// Every queue.
    pub const ALL: [QueueName; 6] = [
        QueueName::Unified,
        QueueName::UnifiedDeadLetter,
        QueueName::Enrichment,
        QueueName::Quarantine,
        QueueName::Commands,
        QueueName::CommandsDeadLetter,
    ];

    /// `unified`, `unified-dlq`, `enrichment`, `quarantine`, `commands` or `commands-dlq`.
    pub fn as_str(&self) -> &'static str {
        match self {
            QueueName::Unified => "unified",
            QueueName::UnifiedDeadLetter => "unified-dlq",
            QueueName::Enrichment => "enrichment",
            QueueName::Quarantine => "quarantine",
            QueueName::Commands => "commands",
            QueueName::CommandsDeadLetter => "commands-dlq",
        }
    }

    /// Parses a queue's name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == text)
    }

    /// The dead-letter queue of a queue consumers receive from, if it has one.
    pub fn dead_letter(self) -> Option<Self> {
        match self {
            QueueName::Unified => Some(QueueName::UnifiedDeadLetter),
            QueueName::Commands => Some(QueueName::CommandsDeadLetter),
            _ => None,
        }
    }

    /// The queue a dead-letter queue's messages are redriven to.
    pub fn redrive_target(self) -> Option<Self> {
        match self {
            QueueName::UnifiedDeadLetter => Some(QueueName::Unified),
            QueueName::CommandsDeadLetter => Some(QueueName::Commands),
            _ => None,
        }
    }
}

/// One message for a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The JSON body.
    pub body: String,
    /// FIFO group (`{channel}:{tenant}:{order id}`): order is kept per order.
    pub group_id: Option<String>,
    /// FIFO deduplication id: a second send with the same id is dropped.
    pub dedup_id: Option<String>,
    /// Message attributes: `channel`, `event_type`, `schema_version`.
    pub attributes: Vec<(&'static str, String)>,
}

/// The queues.
#[async_trait]
pub trait Queues: Send + Sync {
    /// Sends `messages` to `queue`, all or nothing from the caller's point of view.
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError>;
}

/// An authenticated delivery kept whole on the enrichment or quarantine queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDelivery {
    /// The channel id.
    pub channel: String,
    /// The `{tenant}` path segment it arrived on (selects credentials again on replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_tenant: Option<String>,
    /// The `{endpoint}` path segment it arrived on, for platforms that call one URL per kind
    /// of push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Its idempotency key.
    pub idempotency_key: IdempotencyKey,
    /// When it was received.
    pub received_at: Timestamp,
    /// HTTP method.
    pub method: String,
    /// Raw query string.
    pub query: String,
    /// Headers as received.
    pub headers: Headers,
    /// The raw body, base64 (for one record of a multi-record delivery: that record).
    pub body_base64: String,
    /// The authenticated payload, base64, where it is not the body (WeChat: the decrypted
    /// message). Enrichment and replay read it without the keys, so a key rotation after receipt
    /// does not strand the delivery. Absent in records written before it existed: those are
    /// opened again with the current keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_base64: Option<String>,
    /// Why it was quarantined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
