//! The push of the unified queue to the order system: `o2o serve` POSTs every unified event to
//! one URL, signed with the [Standard Webhooks] scheme, so the order system verifies it with any
//! Standard Webhooks library (`whsec_` secret; headers `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`) and needs no queue of its own. The body is the spec's payload structure,
//! `{"type": <event_type>, "timestamp": <occurred_at>, "data": <the UnifiedOrderEvent>}`
//! ([`payload`]), the shape the AWS template's pipe sends too.
//!
//! The pusher is a consumer of the unified queue with SQS FIFO's semantics ([`crate::fifo`]):
//!
//! - **Order.** Each round receives up to [`BATCH`] messages and groups them by message group
//!   (`{channel}:{tenant}:{order id}`), keeping their order. Groups are pushed concurrently (at
//!   most [`PushOptions::concurrency`] at once), a group's messages one after another: an
//!   order's events arrive in the order they were queued, and no later event of an order is
//!   sent before the earlier one was answered 2xx.
//! - **Retries.** A 2xx answer deletes the message. Anything else (another status, a timeout,
//!   no connection) leaves it in flight for a backoff — [`PushOptions::first_retry`], doubled
//!   per failed receive, at most [`PushOptions::max_retry`] — and hands the group's remaining
//!   messages of the round back at once; they stay behind the failed one, which is still in
//!   flight, so the order holds. Other groups go on.
//! - **Dead letters.** A message received [`PushOptions::max_receives`] times without a 2xx
//!   moves to `unified-dlq` on the next receive (SQS's redrive policy); `redrive` moves it back.
//!   Nothing is dropped.
//!
//! A message is delivered at least once: an answer lost on the way, or a crash between the
//! answer and the delete, sends it again with the same `webhook-id` (the event's deduplication
//! id), which is the receiver's idempotency key. Failures are logged with the status or the kind
//! of transport failure only, never the body, the secret or the URL.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::Timestamp;
use o2o_core::ports::QueueName;
use o2o_core::signature::hmac_sha256;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::fifo::{Leased, ReceiveOptions};
use crate::sqlite::{SqliteStore, StoreError};

/// The prefix of a Standard Webhooks symmetric secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// The `user-agent` of every push.
pub const USER_AGENT: &str = "o2o-connectors";
/// Messages received per round at most (SQS's maximum).
pub const BATCH: usize = 10;
/// How long a round waits for a message when the queue is idle.
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// Added to the visibility of a round's messages, for the store's writes around the requests.
const VISIBILITY_MARGIN: Duration = Duration::from_secs(5);
/// Pause after the store failed, before the next round.
const STORE_PAUSE: Duration = Duration::from_secs(1);

/// Where and how the unified queue is pushed.
#[derive(Clone)]
pub struct PushOptions {
    /// The order system's endpoint; every event is POSTed there.
    pub url: reqwest::Url,
    /// The HMAC key: the decoded `whsec_` secret (see [`decode_secret`]).
    pub key: Vec<u8>,
    /// Longest time one request may take, connection included (default 10 s).
    pub timeout: Duration,
    /// Receives of a message without a 2xx before it moves to `unified-dlq` (default 5).
    pub max_receives: u32,
    /// Wait before the first retry of a message; doubled per failed receive (default 1 s).
    pub first_retry: Duration,
    /// Longest wait between retries (default 60 s).
    pub max_retry: Duration,
    /// Message groups pushed at once (default 8; 0 counts as 1).
    pub concurrency: usize,
}

impl PushOptions {
    /// Pushes to `url`, signing with `key`, with the default timings: 10 s timeout, retries
    /// after 1 s, 2 s, 4 s … up to 60 s, 5 receives before `unified-dlq`, 8 groups at once.
    pub fn new(url: reqwest::Url, key: Vec<u8>) -> Self {
        Self {
            url,
            key,
            timeout: Duration::from_secs(10),
            max_receives: 5,
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(60),
            concurrency: 8,
        }
    }

    /// How long a message stays in flight after its `receive_count`-th failed receive:
    /// `first_retry × 2^(receive_count - 1)`, at most `max_retry`.
    pub fn backoff(&self, receive_count: u32) -> Duration {
        let doublings = receive_count.saturating_sub(1).min(20);
        self.first_retry
            .saturating_mul(1 << doublings)
            .min(self.max_retry)
    }
}

impl fmt::Debug for PushOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the origin: a path or query may carry a token. The key never.
        f.debug_struct("PushOptions")
            .field("url", &self.url.origin().ascii_serialization())
            .field("key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_receives", &self.max_receives)
            .field("first_retry", &self.first_retry)
            .field("max_retry", &self.max_retry)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

/// Why the pusher could not be set up. The messages never include the secret.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The secret is not `whsec_` (optional) followed by standard base64.
    #[error("the order system's secret is not `whsec_` followed by standard base64")]
    SecretNotBase64,
    /// The secret decodes to no bytes.
    #[error("the order system's secret is empty")]
    SecretEmpty,
    /// The HTTP client could not be built (the TLS backend did not initialise).
    #[error("the HTTP client for the order system could not be built")]
    Client(#[source] reqwest::Error),
}

/// Decodes a Standard Webhooks secret: standard base64 after an optional `whsec_` prefix
/// (surrounding whitespace ignored), as the official libraries take it. An empty key is refused.
pub fn decode_secret(text: &str) -> Result<Vec<u8>, PushError> {
    let text = text.trim();
    let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    // The decoder's error names the offending byte: not passed on.
    let key = BASE64
        .decode(encoded)
        .map_err(|_| PushError::SecretNotBase64)?;
    if key.is_empty() {
        return Err(PushError::SecretEmpty);
    }
    Ok(key)
}

/// The Standard Webhooks `v1` signature: `v1,` and the standard base64 of HMAC-SHA256 under
/// `key` over `{msg_id}.{timestamp}.{body}` (the `webhook-signature` header's value).
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(
        key,
        &[
            msg_id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            body.as_bytes(),
        ],
    );
    format!("v1,{}", BASE64.encode(mac))
}

/// The HTTP client of the pusher: no redirects (a redirect would turn the POST into a GET, or
/// send the event elsewhere), `options.timeout` per request, rustls.
pub fn client(options: &PushOptions) -> Result<reqwest::Client, PushError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.timeout)
        .user_agent(USER_AGENT)
        .build()
        .map_err(PushError::Client)
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushSummary {
    /// Messages received.
    pub received: usize,
    /// Answered 2xx (and deleted).
    pub delivered: usize,
    /// Not answered 2xx: left in flight for their backoff.
    pub failed: usize,
    /// Not sent, because an earlier message of their group failed: handed back at once.
    pub deferred: usize,
}

impl PushSummary {
    fn add(&mut self, other: PushSummary) {
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.deferred += other.deferred;
    }
}

/// Why a push was not a success; only what may be logged.
enum Failure {
    /// The order system answered something other than 2xx.
    Status(u16),
    /// No answer within the timeout.
    Timeout,
    /// No connection.
    Connect,
    /// The request failed otherwise.
    Request,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) => write!(f, "HTTP {status}"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Connect => f.write_str("could not connect"),
            Failure::Request => f.write_str("request failed"),
        }
    }
}

/// What every group task of a round shares.
struct Round {
    store: SqliteStore,
    options: PushOptions,
    client: reqwest::Client,
}

/// Runs the pusher until the task is aborted or dropped. A push cut short is sent again once
/// its visibility timeout passes (at least once; the receiver deduplicates on `webhook-id`).
pub async fn run_pusher(store: SqliteStore, options: PushOptions) {
    let client = match client(&options) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "the unified queue is not pushed");
            return;
        }
    };
    loop {
        // An idle round already waited for messages in `receive_waiting`.
        if let Err(e) = push_once(&store, &options, &client).await {
            tracing::warn!(error = %e, "unified queue unreadable");
            tokio::time::sleep(STORE_PAUSE).await;
        }
    }
}

/// One round (see the module docs): receives up to [`BATCH`] messages of the unified queue,
/// waiting up to a second for one, and pushes them with `client`. Fails only when the receive
/// does; a failed delete or visibility change is logged (the message is then handed out again
/// when its visibility timeout passes).
pub async fn push_once(
    store: &SqliteStore,
    options: &PushOptions,
    client: &reqwest::Client,
) -> Result<PushSummary, StoreError> {
    let receive = ReceiveOptions {
        max: BATCH,
        visibility: round_visibility(options.timeout),
        max_receives: options.max_receives,
    };
    let received = store
        .receive_waiting(QueueName::Unified, receive, IDLE_WAIT)
        .await?;
    let mut summary = PushSummary {
        received: received.len(),
        ..PushSummary::default()
    };
    if received.is_empty() {
        return Ok(summary);
    }
    let round = Arc::new(Round {
        store: store.clone(),
        options: options.clone(),
        client: client.clone(),
    });
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for group in group_in_order(received) {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break; // never closed
        };
        let round = Arc::clone(&round);
        tasks.spawn(async move {
            let _permit = permit;
            push_group(&round, group).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(group) => summary.add(group),
            // Its messages are handed out again when their visibility timeout passes.
            Err(e) => tracing::warn!(error = %e, "a push task failed"),
        }
    }
    Ok(summary)
}

/// How long a round's messages stay in flight: the time the largest group may take, one
/// request timeout per message, plus a margin. A receive hands out at most [`BATCH`] messages,
/// which is also the largest group it can return and (as the groups share
/// [`PushOptions::concurrency`] slots) the most requests one slot can make in a round.
fn round_visibility(timeout: Duration) -> Duration {
    timeout.saturating_mul(BATCH as u32) + VISIBILITY_MARGIN
}

/// The messages by group, the groups in the order of their first message, each group's
/// messages in order; a message without a group is a group of its own.
fn group_in_order(messages: Vec<Leased>) -> Vec<Vec<Leased>> {
    let mut groups: Vec<Vec<Leased>> = Vec::new();
    for message in messages {
        let same = message.group_id.as_ref().and_then(|id| {
            groups
                .iter_mut()
                .find(|g| g.first().and_then(|m| m.group_id.as_ref()) == Some(id))
        });
        match same {
            Some(group) => group.push(message),
            None => groups.push(vec![message]),
        }
    }
    groups
}

/// Pushes one group's messages one after another, stopping at the first failure.
async fn push_group(round: &Round, messages: Vec<Leased>) -> PushSummary {
    let mut summary = PushSummary::default();
    let mut messages = messages.into_iter();
    while let Some(message) = messages.next() {
        match deliver(round, &message).await {
            Ok(()) => {
                summary.delivered += 1;
                if let Err(e) = round
                    .store
                    .delete_received(QueueName::Unified, &message.receipt)
                    .await
                {
                    tracing::warn!(seq = message.seq, error = %e, "pushed, but not deleted: it will be pushed again");
                }
            }
            Err(failure) => {
                summary.failed += 1;
                let backoff = round.options.backoff(message.receive_count);
                tracing::warn!(
                    seq = message.seq,
                    attempt = message.receive_count,
                    failure = %failure,
                    retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                    "push to the order system failed"
                );
                if let Err(e) = round
                    .store
                    .change_visibility(QueueName::Unified, &message.receipt, backoff)
                    .await
                {
                    tracing::warn!(seq = message.seq, error = %e, "backoff not set: retried at once");
                }
                // The rest of the group waits behind the failed message, which is in flight.
                for rest in messages.by_ref() {
                    summary.deferred += 1;
                    if let Err(e) = round
                        .store
                        .change_visibility(QueueName::Unified, &rest.receipt, Duration::ZERO)
                        .await
                    {
                        tracing::warn!(seq = rest.seq, error = %e, "not handed back: waits for its visibility timeout");
                    }
                }
                break;
            }
        }
    }
    summary
}

/// POSTs one message, signed.
async fn deliver(round: &Round, message: &Leased) -> Result<(), Failure> {
    // The event's deduplication id is stable across retries: the receiver's idempotency key.
    let id = message.dedup_id.as_deref().unwrap_or(&message.message_id);
    let timestamp = Timestamp::now().unix_seconds();
    let payload = payload(message);
    let signature = sign(&round.options.key, id, timestamp, &payload);
    let response = round
        .client
        .post(round.options.url.clone())
        .timeout(round.options.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(payload)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                Failure::Timeout
            } else if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Request
            }
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::Status(status.as_u16()))
    }
}

/// The body of a push: the Standard Webhooks payload structure, `{"type", "timestamp", "data"}`,
/// with the event's `event_type`, its `occurred_at` and the event itself (the queued JSON, as it
/// is). The pipe of the AWS template sends the same shape.
pub fn payload(message: &Leased) -> String {
    #[derive(serde::Deserialize)]
    struct Head {
        event_type: Option<String>,
        occurred_at: Option<String>,
    }
    let head: Option<Head> = serde_json::from_str(&message.body).ok();
    let data = match serde_json::from_str::<&serde_json::value::RawValue>(&message.body) {
        Ok(_) => message.body.clone(),
        // Not JSON (nothing o2o queues): passed on as a string rather than corrupted.
        Err(_) => serde_json::Value::String(message.body.clone()).to_string(),
    };
    let kind = head
        .as_ref()
        .and_then(|h| h.event_type.clone())
        .or_else(|| {
            message
                .attributes
                .iter()
                .find(|(name, _)| name == "event_type")
                .map(|(_, value)| value.clone())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let at = head.and_then(|h| h.occurred_at).unwrap_or_else(|| {
        Timestamp::from_unix_seconds(message.sent_at_ms.div_euclid(1000))
            .map(|t| t.to_string())
            .unwrap_or_default()
    });
    format!(
        r#"{{"type":{},"timestamp":{},"data":{data}}}"#,
        serde_json::Value::String(kind),
        serde_json::Value::String(at)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official libraries' secret, message id, time and payload: standard-webhooks
    /// `libraries/go/webhook_test.go` @449485caf9c0303530c19524fbe4096680aafcf1
    /// (`TestWebhookSign`, `defaultSecret`, `defaultMsgID`, `defaultPayload`) and
    /// `libraries/javascript/src/webhook.test.ts` @10d3e46d720c4e5861a792bec25792a04ad4e2b3
    /// ("sign function works"); Svix documents the same delivery with `svix-*` headers
    /// (docs.svix.com/receiving/verifying-payloads/how-manual, and svix/svix-webhooks
    /// `go/webhook_test.go` @d7cf62fd0428f6ae925832e0f31af7fd9f54344a).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SENT_AT: i64 = 1_614_265_330;
    const PAYLOAD: &str = r#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_official_vector() {
        let key = decode_secret(SECRET).expect("secret");
        assert_eq!(sign(&key, MSG_ID, SENT_AT, PAYLOAD), SIGNATURE);
        // The prefix is optional.
        let bare = decode_secret(SECRET.trim_start_matches(SECRET_PREFIX)).expect("secret");
        assert_eq!(bare, key);
        // Any other input changes it.
        assert_ne!(sign(&key, MSG_ID, SENT_AT + 1, PAYLOAD), SIGNATURE);
    }

    #[test]
    fn the_payload_wraps_the_event_as_the_spec_structures_it() {
        let event = r#"{"schema_version":"1","event_id":"e1","event_type":"order.created","occurred_at":"2026-12-01T10:00:00Z","note":"café"}"#;
        let message = Leased {
            seq: 1,
            message_id: "m".into(),
            receipt: "1.1".into(),
            body: event.into(),
            group_id: Some("g".into()),
            dedup_id: Some("e1".into()),
            attributes: vec![("event_type".into(), "order.created".into())],
            receive_count: 1,
            sent_at_ms: 0,
            first_received_ms: 0,
        };
        assert_eq!(
            payload(&message),
            format!(
                r#"{{"type":"order.created","timestamp":"2026-12-01T10:00:00Z","data":{event}}}"#
            )
        );
        // Without the fields (nothing o2o queues), the attribute and the send time stand in.
        let bare = Leased {
            body: "not json".into(),
            ..message
        };
        assert_eq!(
            payload(&bare),
            r#"{"type":"order.created","timestamp":"1970-01-01T00:00:00Z","data":"not json"}"#
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut options = PushOptions::new(
            reqwest::Url::parse("http://127.0.0.1/").expect("url"),
            vec![1],
        );
        options.first_retry = Duration::from_millis(100);
        options.max_retry = Duration::from_millis(350);
        let waits: Vec<u128> = (1..=5).map(|n| options.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 350, 350, 350]);
        assert_eq!(options.backoff(u32::MAX), Duration::from_millis(350));
    }

    #[test]
    fn options_debug_hides_the_key_and_the_path() {
        let options = PushOptions::new(
            reqwest::Url::parse("https://orders.example/hook?token=t0ps3cret").expect("url"),
            b"k3y-bytes".to_vec(),
        );
        let debug = format!("{options:?}");
        assert!(debug.contains("https://orders.example"), "{debug}");
        assert!(
            !debug.contains("t0ps3cret") && !debug.contains("107, 51"),
            "{debug}"
        );
    }
}
