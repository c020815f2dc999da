//! The push of the unified queue to the order system over real HTTP on 127.0.0.1 (wiremock):
//! signed deliveries that are acknowledged, order per group under failure, bounded attempts that
//! end in `unified-dlq`, connection failures retried, and secrets that are refused without
//! being echoed.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use o2o_core::ports::{QueueMessage, QueueName, Queues};
use o2o_local::SqliteStore;
use o2o_local::push::{self, PushError, PushOptions, PushSummary};
use sha2::Sha256;
use tokio::time::Instant;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A `whsec_` secret of the test's own (not the official vector's).
const SECRET: &str = "whsec_dGVzdC1wdXNoLXNlY3JldC1mb3Itby1vLWxvY2Fs";

fn message(body: &str, group: &str, dedup: &str) -> QueueMessage {
    QueueMessage {
        body: body.to_owned(),
        group_id: Some(group.to_owned()),
        dedup_id: Some(dedup.to_owned()),
        attributes: vec![("event_type", "order.created".to_owned())],
    }
}

fn options(url: &str) -> PushOptions {
    let mut options = PushOptions::new(
        reqwest::Url::parse(url).expect("url"),
        push::decode_secret(SECRET).expect("secret"),
    );
    options.timeout = Duration::from_secs(2);
    options.first_retry = Duration::from_millis(50);
    options.max_retry = Duration::from_millis(200);
    options
}

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ASCII header")
}

fn body(request: &Request) -> String {
    String::from_utf8(request.body.clone()).expect("UTF-8 body")
}

/// The event inside a push's Standard Webhooks payload (`{"type","timestamp","data"}`), as the
/// bytes it arrived as.
fn data(request: &Request) -> String {
    #[derive(serde::Deserialize)]
    struct Payload<'a> {
        #[serde(borrow)]
        data: &'a serde_json::value::RawValue,
    }
    let payload: Payload = serde_json::from_slice(&request.body).expect("JSON payload");
    payload.data.get().to_owned()
}

/// The signature as a receiver computes it, with nothing of the pusher's code.
fn expected_signature(id: &str, timestamp: &str, body: &str) -> String {
    let key = BASE64
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

async fn bodies(store: &SqliteStore, queue: QueueName) -> Vec<String> {
    store
        .read(queue, 0, 100)
        .await
        .expect("read")
        .into_iter()
        .map(|m| m.body)
        .collect()
}

/// Runs rounds until `done` says so (or panics after 10 s); returns the rounds' total.
async fn rounds_until<F, Fut>(
    store: &SqliteStore,
    options: &PushOptions,
    mut done: F,
) -> PushSummary
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let client = push::client(options).expect("client");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut total = PushSummary::default();
    while !done().await {
        assert!(Instant::now() < deadline, "not done after 10 s: {total:?}");
        let round = push::push_once(store, options, &client)
            .await
            .expect("round");
        total.received += round.received;
        total.delivered += round.delivered;
        total.failed += round.failed;
        total.deferred += round.deferred;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_signed_events_and_deletes_them() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders/events"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let store = SqliteStore::in_memory().expect("db");
    // Bodies with odd spacing and non-ASCII text: they must arrive byte for byte.
    let sent = [
        message(
            r#"{"event_id":"evt-a1", "type":"order.created" ,"note":"café"}"#,
            "meituan:t1:A",
            "evt-a1",
        ),
        message(
            r#"{"event_id":"evt-b1","type":"order.created"}"#,
            "eleme:t1:B",
            "evt-b1",
        ),
        message(
            r#"{ "event_id":"evt-a2","type":"order.cancelled" }"#,
            "meituan:t1:A",
            "evt-a2",
        ),
    ];
    store
        .send(QueueName::Unified, sent.to_vec())
        .await
        .expect("send");
    let options = options(&format!("{}/orders/events", server.uri()));
    let client = push::client(&options).expect("client");

    let summary = push::push_once(&store, &options, &client)
        .await
        .expect("round");

    assert_eq!(
        summary,
        PushSummary {
            received: 3,
            delivered: 3,
            failed: 0,
            deferred: 0
        }
    );
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 3, "one POST per message");
    let now = o2o_core::Timestamp::now().unix_seconds();
    for request in &requests {
        let (body, data) = (body(request), data(request));
        let original = sent
            .iter()
            .find(|m| m.body == data)
            .unwrap_or_else(|| panic!("event changed on the way: {body}"));
        // The event type from the message's attribute (these test bodies carry none of their own).
        let payload: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(payload["type"], "order.created", "{body}");
        assert!(payload["timestamp"].is_string(), "{body}");
        let id = header(request, "webhook-id");
        assert_eq!(Some(id), original.dedup_id.as_deref(), "webhook-id");
        let timestamp = header(request, "webhook-timestamp");
        let seconds: i64 = timestamp.parse().expect("integer seconds");
        assert!((now - seconds).abs() < 60, "timestamp {seconds}, now {now}");
        assert_eq!(
            header(request, "webhook-signature"),
            expected_signature(id, timestamp, &body)
        );
        assert_eq!(header(request, "content-type"), "application/json");
        assert_eq!(header(request, "user-agent"), "o2o-connectors");
    }
    // The group's two events in order.
    let group_a: Vec<String> = requests
        .iter()
        .map(|r| header(r, "webhook-id").to_owned())
        .filter(|id| id.starts_with("evt-a"))
        .collect();
    assert_eq!(group_a, ["evt-a1", "evt-a2"]);
    assert!(
        store
            .read(QueueName::Unified, 0, 10)
            .await
            .expect("read")
            .is_empty(),
        "acknowledged messages are deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_event_holds_back_its_group_only() {
    let server = MockServer::start().await;
    let (a, b, c) = (
        r#"{"event_id":"A"}"#,
        r#"{"event_id":"B"}"#,
        r#"{"event_id":"C"}"#,
    );
    // A fails once; everything else is accepted.
    Mock::given(method("POST"))
        .and(body_string_contains(r#""data":{"event_id":"A"}"#))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let store = SqliteStore::in_memory().expect("db");
    store
        .send(
            QueueName::Unified,
            vec![
                message(a, "G", "A"),
                message(b, "G", "B"),
                message(c, "H", "C"),
            ],
        )
        .await
        .expect("send");
    let mut options = options(&server.uri());
    // Long enough that C, if it were held up by G, would arrive after A's retry.
    options.first_retry = Duration::from_millis(300);

    let pusher = tokio::spawn(push::run_pusher(store.clone(), options));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store
        .read(QueueName::Unified, 0, 10)
        .await
        .expect("read")
        .is_empty()
    {
        assert!(Instant::now() < deadline, "not delivered after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A little longer: nothing more is sent.
    tokio::time::sleep(Duration::from_millis(400)).await;
    pusher.abort();

    let arrivals: Vec<String> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(data)
        .collect();
    assert_eq!(arrivals.len(), 4, "A twice, B and C once: {arrivals:?}");
    let group_g: Vec<&str> = arrivals
        .iter()
        .map(String::as_str)
        .filter(|m| *m != c)
        .collect();
    // A (500), A (200), B (200): B never before A's success.
    assert_eq!(group_g, [a, a, b]);
    let c_at = arrivals.iter().position(|m| m == c).expect("C sent");
    let a_retry_at = arrivals.iter().rposition(|m| m == a).expect("A sent");
    assert!(c_at < a_retry_at, "C waited for G's retry: {arrivals:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_always_refused_ends_in_the_dead_letter_queue() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let store = SqliteStore::in_memory().expect("db");
    let body = r#"{"event_id":"evt-dead","type":"order.created"}"#;
    store
        .send(QueueName::Unified, vec![message(body, "G", "evt-dead")])
        .await
        .expect("send");
    let mut options = options(&server.uri());
    options.max_receives = 3;

    let summary = rounds_until(&store, &options, || async {
        !bodies(&store, QueueName::UnifiedDeadLetter)
            .await
            .is_empty()
    })
    .await;
    // One more round: nothing is sent any more.
    let client = push::client(&options).expect("client");
    let last = push::push_once(&store, &options, &client)
        .await
        .expect("round");

    assert_eq!(last.received, 0);
    assert_eq!(summary.failed, 3, "{summary:?}");
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 3, "exactly max_receives attempts");
    assert!(
        requests
            .iter()
            .all(|r| header(r, "webhook-id") == "evt-dead"),
        "the same webhook-id on every attempt"
    );
    assert_eq!(bodies(&store, QueueName::UnifiedDeadLetter).await, [body]);
    assert!(bodies(&store, QueueName::Unified).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_retried() {
    // A port nothing listens on (taken, then given back).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let store = SqliteStore::in_memory().expect("db");
    let body = r#"{"event_id":"evt-1"}"#;
    store
        .send(QueueName::Unified, vec![message(body, "G", "evt-1")])
        .await
        .expect("send");
    let options = options(&format!("http://{address}/hook"));
    let client = push::client(&options).expect("client");

    let first = push::push_once(&store, &options, &client)
        .await
        .expect("round");
    assert_eq!(
        first,
        PushSummary {
            received: 1,
            delivered: 0,
            failed: 1,
            deferred: 0
        }
    );
    assert_eq!(
        bodies(&store, QueueName::Unified).await,
        [body],
        "kept for a retry"
    );

    // The order system comes up on that port: the retry gets through.
    let listener = std::net::TcpListener::bind(address).expect("bind again");
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let summary = rounds_until(&store, &options, || async {
        bodies(&store, QueueName::Unified).await.is_empty()
    })
    .await;
    assert_eq!(summary.delivered, 1, "{summary:?}");
    assert!(
        bodies(&store, QueueName::UnifiedDeadLetter)
            .await
            .is_empty()
    );
    server.verify().await;
}

#[test]
fn a_bad_secret_is_refused_without_being_echoed() {
    let bad = [
        "",
        "   ",
        "whsec_",
        "whsec_!!n0t*base64!!",
        "s3cr3t-that-is-not-base64",
        "whsec_QUJD=", // bad padding
        "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    ];
    for input in bad {
        let error = push::decode_secret(input).expect_err(input);
        let shown = format!("{error} {error:?}");
        let material = input.trim().trim_start_matches("whsec_");
        if !material.is_empty() {
            assert!(!shown.contains(material), "{input:?} echoed in {shown}");
        }
        match input.trim().trim_start_matches("whsec_") {
            "" => assert!(matches!(error, PushError::SecretEmpty), "{input:?}"),
            _ => assert!(matches!(error, PushError::SecretNotBase64), "{input:?}"),
        }
    }
    // The good one, with or without its prefix.
    let key = push::decode_secret(SECRET).expect("secret");
    assert_eq!(key, b"test-push-secret-for-o-o-local");
    assert_eq!(
        push::decode_secret(SECRET.trim_start_matches("whsec_")).expect("bare"),
        key
    );
}
