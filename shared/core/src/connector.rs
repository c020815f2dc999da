//! The `Connector` trait: everything one platform needs, and nothing else.
//!
//! A connector is pure: it answers handshakes, verifies signatures, parses the envelope into a
//! [`Delivery`] (with the id the idempotency key is built from) and normalises it into
//! [`EventDraft`]s. The [`Pipeline`](crate::Pipeline) does the rest, the same way for every platform.

use crate::config::Credentials;
use crate::event::{ChannelKind, EventType, Order, Payment, Refund};
use crate::request::{Rejection, Reply, WebhookRequest};
use crate::signature::SignatureError;
use crate::timestamp::Timestamp;

/// A setting a channel reads from its config table (listed by `o2o channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The key, e.g. `secrets` or `app_key`.
    pub name: &'static str,
    /// Whether the channel cannot work without it.
    pub required: bool,
    /// What it is and where the platform shows it.
    pub description: &'static str,
}

/// What a channel is: its id, kind and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The kebab-case channel id used in URLs and config (`shopify`).
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Kind of platform.
    pub kind: ChannelKind,
    /// The settings it reads.
    pub settings: &'static [Setting],
    /// The sample `o2o send <channel>` posts when no file is given (in `events/<channel>/`).
    pub default_sample: &'static str,
}

/// An authenticated delivery, parsed far enough to deduplicate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The shop, store or merchant id on the platform.
    pub tenant: String,
    /// The platform's delivery or event id, or a content hash where it has none.
    pub external_event_id: String,
    /// The platform's event name.
    pub topic: String,
    /// The payload to normalise: the raw body, or its decrypted content.
    pub payload: Vec<u8>,
}

/// One unified event before the pipeline stamps ids, times and source.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    /// What happened.
    pub event_type: EventType,
    /// When, by the platform's clock.
    pub occurred_at: Timestamp,
    /// The platform's own status string.
    pub status: Option<String>,
    /// The order.
    pub order: Option<Order>,
    /// The payment.
    pub payment: Option<Payment>,
    /// The refund.
    pub refund: Option<Refund>,
}

/// What a delivery becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalised {
    /// Unified events, in order.
    Events(Vec<EventDraft>),
    /// A thin webhook: the enrichment worker fetches the full order from the platform API.
    Enrich,
    /// An event type we do not map; acknowledged and counted.
    Ignored(String),
}

/// Why an authenticated payload could not be parsed or normalised (it goes to the quarantine).
///
/// Messages name fields and problems only, never values: they end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NormaliseError(pub String);

impl NormaliseError {
    /// An error about a named field.
    pub fn field(field: &str, problem: impl std::fmt::Display) -> Self {
        Self(format!("{field}: {problem}"))
    }
}

impl From<serde_json::Error> for NormaliseError {
    /// Keeps only the error's category and position: serde_json's own message may quote the
    /// offending value (`invalid type: string "Jane Doe"`), which is customer data.
    fn from(e: serde_json::Error) -> Self {
        let kind = match e.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not valid JSON",
            serde_json::error::Category::Data => "a field has the wrong type or is missing",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        Self(format!(
            "payload: {kind} (line {}, column {})",
            e.line(),
            e.column()
        ))
    }
}

/// Context for normalising one delivery.
#[derive(Debug, Clone)]
pub struct NormaliseContext {
    /// When the delivery was received.
    pub received_at: Timestamp,
}

/// Why a thin delivery could not be enriched from the platform's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrichError {
    /// Worth retrying later: a timeout, a 5xx, throttling, a token being refreshed. The queue
    /// redelivers it and, after its receive limit, moves it to its dead-letter queue.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help (the platform says the order does not exist, or the connector does
    /// not enrich): the delivery goes to the quarantine.
    #[error("{0}")]
    Permanent(String),
}

/// One platform: handshake, verification, parsing and normalisation of its webhooks.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// The channel's static description.
    fn info(&self) -> &'static ChannelInfo;

    /// Answers URL-verification requests (no queueing); `None` when `req` is not a handshake.
    fn handshake(
        &self,
        _req: &WebhookRequest,
        _credentials: &Credentials,
    ) -> Option<Result<Reply, Rejection>> {
        None
    }

    /// Checks that the delivery really comes from the platform, over the exact raw bytes.
    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection>;

    /// Splits an authenticated body that carries several independent records (Douyin's JSON
    /// array of messages) into one body per record. Each then goes through the pipeline on its
    /// own, with its own idempotency key. `None`, the default: the body is one delivery; also
    /// the answer for a body that cannot be split, which [`parse`](Self::parse) then quarantines.
    fn split_records(&self, _body: &[u8]) -> Option<Vec<Vec<u8>>> {
        None
    }

    /// Reads the envelope of an authenticated delivery (decrypting where the platform encrypts).
    fn parse(
        &self,
        req: &WebhookRequest,
        credentials: &Credentials,
    ) -> Result<Delivery, NormaliseError>;

    /// Turns a parsed delivery into unified events, an enrichment request, or an ignore.
    fn normalise(
        &self,
        delivery: &Delivery,
        ctx: &NormaliseContext,
    ) -> Result<Normalised, NormaliseError>;

    /// Fetches the full order for a thin delivery (one [`normalise`](Self::normalise) answered
    /// with [`Normalised::Enrich`]) from the platform's API, and normalises it. Runs in the
    /// enrichment worker, never while the platform waits for its acknowledgement.
    async fn enrich(
        &self,
        _delivery: &Delivery,
        _credentials: &Credentials,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised, EnrichError> {
        Err(EnrichError::Permanent(format!(
            "{} does not enrich deliveries",
            self.info().id
        )))
    }

    /// The acknowledgement in the platform's exact format.
    fn ack(&self) -> Reply {
        Reply::empty_ok()
    }

    /// Signs an outgoing sample delivery as the platform would (`o2o send`, tests): sets the
    /// signature headers or query parameters and, where the platform encrypts, replaces the body
    /// with its encrypted envelope. Time-bound signatures use `req.received_at` as "now".
    fn sign(
        &self,
        req: &mut WebhookRequest,
        credentials: &Credentials,
    ) -> Result<(), SignatureError>;
}

impl From<SignatureError> for Rejection {
    fn from(e: SignatureError) -> Self {
        let code = match e {
            SignatureError::Missing => "signature_missing",
            SignatureError::Malformed => "signature_malformed",
            SignatureError::Mismatch => "signature_mismatch",
            SignatureError::Stale => "timestamp_outside_window",
            SignatureError::NoSecret => {
                return Rejection::new(500, "channel_misconfigured", e.to_string());
            }
        };
        Rejection::unauthorized(code, e.to_string())
    }
}
