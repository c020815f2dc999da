//! The `Connector` trait: everything one platform needs, and nothing else.
//!
//! A connector is built in two phases. At start-up, [`Connector::build`] turns one settings table
//! (typed as [`Connector::Settings`]) into an instance that owns its decoded keys, its HTTP client
//! and its token cache; a bad setting stops the process there, naming it. Then, per delivery, the
//! instance answers handshakes, [`verify`](Connector::verify)s the raw request into a
//! [`Verified`] delivery, [`parse`](Connector::parse)s that once into its identity and its
//! message, and [`normalise`](Connector::normalise)s the message into [`EventDraft`]s, or into a
//! thin reading that [`enrich`](Connector::enrich) completes from the platform's API. The
//! [`pipeline`](crate::pipeline) does everything else, the same way for every platform.

use std::borrow::Cow;

pub use crate::channel_info::{ChannelInfo, GetRequests, Route};
use crate::command::{CallDone, CallFailure, CommandKind, FailureCode, OrderCommand};
use crate::event::{EventType, Order, Payment, Refund};
use crate::request::{Rejection, Reply, WebhookRequest};
use crate::settings::SettingsError;
use crate::signature::SignatureError;
use crate::timestamp::Timestamp;

/// An authenticated delivery: the request it arrived in, the bytes its signature covers
/// (decrypted where the platform encrypts: WeChat's plaintext message), and `facts`, whatever
/// the connector learned while checking them (Youzan: the envelope it had to read). Everything
/// after `verify` reads these; none of it checks a signature again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'r, F = ()> {
    /// The request as received (its headers, query and tenant segment; its body is the raw one).
    pub request: &'r WebhookRequest,
    /// The authenticated payload: the raw body, a part of it (one record), or its plaintext.
    pub payload: Cow<'r, [u8]>,
    /// What the connector learned while verifying; its default where nothing was learned (a
    /// stored delivery read again, one record of several).
    pub facts: F,
}

impl<'r, F: Default> Verified<'r, F> {
    /// The request's own body is the authenticated payload (a MAC over the raw body).
    pub fn body(request: &'r WebhookRequest) -> Self {
        Self {
            request,
            payload: Cow::Borrowed(&request.body),
            facts: F::default(),
        }
    }

    /// The payload differs from the body (decrypted, or one record of several).
    pub fn with_payload(request: &'r WebhookRequest, payload: Cow<'r, [u8]>) -> Self {
        Self {
            request,
            payload,
            facts: F::default(),
        }
    }
}

impl<F> Verified<'_, F> {
    /// Whether the payload is something other than the raw body (then it is stored beside it,
    /// so enrichment and replay read it without the keys: see `StoredDelivery::payload_base64`).
    pub fn payload_differs(&self) -> bool {
        self.payload.as_ref() != self.request.body.as_slice()
    }
}

/// What identifies one delivery: the parts of its idempotency key and of its events' `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryId {
    /// The shop, store or merchant id on the platform.
    pub tenant: String,
    /// The platform's delivery or event id, or a content hash where it has none.
    pub external_event_id: String,
    /// The platform's event name.
    pub topic: String,
}

/// One parsed delivery: its identity and the connector's reading of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<M> {
    /// What identifies it.
    pub id: DeliveryId,
    /// The connector's typed reading of the payload, which `normalise` consumes.
    pub message: M,
    /// What identifies it by its authenticated content, where its platform event id is not
    /// authenticated (a header, an unsigned envelope field): the pipeline then claims a second
    /// key, [`IdempotencyKey::content`](crate::key::IdempotencyKey::content), and answers the
    /// same content arriving again under a fresh id as a duplicate. `None` where the signature
    /// covers the event id (a replayed body then carries its old id and is a duplicate anyway).
    pub content: Option<Content>,
}

/// Which authenticated bytes identify a delivery's content (see [`Parsed::content`]). With the
/// topic (cross-checked against them, see ARCHITECTURE.md) they form its content key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The authenticated payload itself: the signature covers the whole body (Shopify,
    /// WooCommerce), and a platform's retry repeats it byte for byte.
    Payload,
    /// The lower-case hex SHA-256 of the part the signature covers, where that is less than the
    /// payload and the rest changes between retries (Youzan's legacy `sign` covers `msg`, not
    /// the envelope with its retry counter).
    Sha256(String),
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

/// What a delivery becomes. `T` is the connector's thin reading: what `enrich` needs to fetch
/// the rest from the platform's API.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalised<T> {
    /// Unified events, in order.
    Events(Vec<EventDraft>),
    /// A thin webhook: the enrichment consumer fetches the full order from the platform API.
    Enrich(T),
    /// An event type we do not map; acknowledged and counted.
    Ignored(String),
}

/// Why an authenticated payload could not be parsed or normalised (it goes to the quarantine).
///
/// Messages name fields and problems only, never values: they end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    /// A named field is missing or unusable.
    #[error("{field}: {problem}")]
    Field {
        /// The field's path in the payload (`line_items[0].price`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The payload is not the JSON expected (category and position only).
    #[error("payload: {kind} (line {line}, column {column})")]
    Json {
        /// Syntax, data, truncation.
        kind: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An error inside a named part of the payload (a JSON string inside the JSON).
    #[error("{part}: {source}")]
    Within {
        /// The part (`msg`).
        part: &'static str,
        /// The error inside it.
        source: Box<NormaliseError>,
    },
    /// The platform's API said, for good, that the order cannot be had (enrichment).
    #[error("{0}")]
    Enrichment(String),
}

impl NormaliseError {
    /// An error about a named field.
    pub fn field(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::Field {
            field: field.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// This error, found inside `part` of the payload.
    pub fn within(self, part: &'static str) -> Self {
        Self::Within {
            part,
            source: Box::new(self),
        }
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
        Self::Json {
            kind,
            line: e.line(),
            column: e.column(),
        }
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
    /// Retrying cannot help (the platform says the order does not exist): the delivery goes to
    /// the quarantine.
    #[error("{0}")]
    Permanent(String),
}

impl From<NormaliseError> for EnrichError {
    /// An API answer that cannot be normalised will not change on a retry.
    fn from(e: NormaliseError) -> Self {
        Self::Permanent(e.to_string())
    }
}

/// One platform: settings, handshake, verification, parsing, normalisation and enrichment of its
/// webhooks, and signing of sample deliveries. One instance serves one channel table (a tenant).
#[async_trait::async_trait]
pub trait Connector: Send + Sync + Sized + 'static {
    /// The channel's settings table, read once at start-up. Its doc comments describe each
    /// setting in `o2o channels`; `Secret` fields are redacted everywhere.
    type Settings: serde::de::DeserializeOwned + schemars::JsonSchema;
    /// What `verify` learns beyond the payload and hands to `parse` (`()` for most).
    type Facts: Default + Send + Sync;
    /// The connector's reading of one authenticated payload (parsed once; it may borrow from
    /// the payload).
    type Message<'v>: Send + Sync;
    /// The thin reading of a delivery that [`enrich`](Self::enrich) completes; `()` for
    /// connectors whose webhooks are fat.
    type Thin: Send + Sync;

    /// The channel's static description.
    fn info() -> &'static ChannelInfo;

    /// Builds the instance for one settings table: decodes keys, builds the HTTP client. An error
    /// names the setting (`encoding_aes_key: must be 43 characters`) and never its value.
    fn build(settings: Self::Settings) -> Result<Self, SettingsError>;

    /// Answers URL-verification requests (no queueing); `None` when `req` is not a handshake.
    fn handshake(&self, _req: &WebhookRequest) -> Option<Result<Reply, Rejection>> {
        None
    }

    /// Fetches what [`verify`](Self::verify) needs from the platform before it runs, since
    /// `verify` itself does no I/O: PayPal's signing certificate, from an allowlisted host, cached.
    /// The default: nothing. An error is the answer (a certificate that cannot be fetched now:
    /// 503, which the platform retries); nothing has been recorded.
    async fn prepare_verify(&self, _req: &WebhookRequest) -> Result<(), Rejection> {
        Ok(())
    }

    /// Checks that a `POST` really comes from the platform, over the exact raw bytes, and returns
    /// what it authenticated (decrypted where the platform encrypts). Nothing else looks at an
    /// unverified request.
    ///
    /// A field outside the signature that decides what the delivery means (Shopify's topic
    /// header, Youzan's legacy envelope) must agree with the authenticated content: `verify`
    /// cross-checks it and refuses a disagreement like a bad signature (401, nothing stored),
    /// since the delivery as presented is not what the platform signed (ARCHITECTURE.md, "What
    /// the signature must cover").
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, Self::Facts>, Rejection>;

    /// Opens a delivery stored by an earlier version without its authenticated payload (see
    /// `StoredDelivery::payload_base64`): it was verified on receipt, so only what `verify`
    /// decrypts needs doing again. The default: the body is the payload.
    fn reopen<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, Self::Facts>, Rejection> {
        Ok(Verified::body(req))
    }

    /// Splits an authenticated payload that carries several independent records (Douyin's JSON
    /// array of messages) into one payload per record; each then goes through the pipeline on
    /// its own, with its own idempotency key (each record's bytes stand in for the body). `None`,
    /// the default: the payload is one delivery; also the answer for a payload that cannot be
    /// split, which [`parse`](Self::parse) then quarantines.
    fn split_records(&self, _verified: &Verified<'_, Self::Facts>) -> Option<Vec<Vec<u8>>> {
        None
    }

    /// Reads one authenticated payload: its identity and the connector's typed message.
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, Self::Facts>,
    ) -> Result<Parsed<Self::Message<'v>>, NormaliseError>;

    /// Turns a parsed message into unified events, a thin reading to enrich, or an ignore.
    fn normalise(
        &self,
        id: &DeliveryId,
        message: Self::Message<'_>,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<Self::Thin>, NormaliseError>;

    /// Fetches the full order for a thin reading from the platform's API and normalises it. Runs
    /// in the enrichment consumer, never while the platform waits for its acknowledgement.
    async fn enrich(
        &self,
        _thin: Self::Thin,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Self::Thin>, EnrichError> {
        Err(EnrichError::Permanent(format!(
            "{} does not enrich deliveries",
            Self::info().id
        )))
    }

    /// An event's identity by what it says, for platforms whose deliveries carry no id of their
    /// own: Mollie's classic webhook posts the same payment id on every change, so each post is a
    /// new delivery that fetches the payment, and the same fact may be reported twice. With an
    /// identity (`tr_…:paid`), the event id is derived from it rather than from the delivery's
    /// key, so the second report has the same event id and FIFO deduplication drops it. `None`,
    /// the default: the id comes from the delivery's key and the event's index.
    fn event_identity(&self, _draft: &EventDraft) -> Option<String> {
        None
    }

    /// A refusal or failure (any answer but a 2xx, built as `{"error","message"}` JSON) in the
    /// format the platform documents for one: WeChat Pay wants `{"code":"FAIL","message":…}`.
    /// The default keeps it as it is.
    fn failure_reply(&self, reply: Reply) -> Reply {
        reply
    }

    /// The order commands this channel carries out on its platform (default none: every
    /// command is answered `command.failed` with `unsupported`, without a call).
    fn command_kinds() -> &'static [CommandKind] {
        &[]
    }

    /// How long after its `requested_at` a command of `kind` can still be carried out: the
    /// platform's own window (Uber Eats cancels an order not accepted within 11.5 minutes).
    /// Past it, the command fails with `deadline_passed` and the platform is not called.
    fn command_window(&self, _kind: CommandKind) -> Option<std::time::Duration> {
        None
    }

    /// Carries out `command` on the platform's API (only kinds of [`command_kinds`]). A token
    /// the platform refuses is refreshed and the call made again once, here; a failure marked
    /// transient is retried later with backoff by the commands consumer.
    ///
    /// [`command_kinds`]: Connector::command_kinds
    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        Err(CallFailure::permanent(
            FailureCode::Unsupported,
            format!(
                "{} does not carry out {} commands",
                Self::info().name,
                command.action.kind().as_str()
            ),
        ))
    }

    /// The acknowledgement in the platform's exact format.
    fn ack(&self) -> Reply {
        Reply::empty_ok()
    }

    /// Signs an outgoing sample delivery as the platform would (`o2o send`, tests): sets the
    /// signature headers or query parameters and, where the platform encrypts, replaces the body
    /// with its encrypted envelope. Time-bound signatures use `req.received_at` as "now".
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError>;
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
