//! End to end over real HTTP on 127.0.0.1: the local server, the pipeline, the SQLite store and
//! queues, with the real connectors and the shipped development config.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use common::*;
use o2o_core::event::UnifiedOrderEvent;
use o2o_core::ports::{
    Claim, ClaimOutcome, IdempotencyStore, PortError, QueueMessage, QueueName, Queues,
};
use o2o_core::{Headers, IdempotencyKey, Reply, Timestamp};
use o2o_local::SqliteStore;

#[tokio::test]
async fn a_valid_delivery_is_acked_and_queued_exactly_once() {
    let server = start(ServerSetup::default()).await;
    let (headers, body) = signed_sample("shopify", "orders-create.http");
    let (status, reply) = post(&server.webhook_url("shopify"), &headers, body).await;
    assert_eq!((status, reply.as_str()), (200, ""));
    let unified = messages(&server.store, QueueName::Unified).await;
    assert_eq!(unified.len(), 1);
    let event: UnifiedOrderEvent = serde_json::from_str(&unified[0]).expect("a UnifiedOrderEvent");
    assert_eq!(event.source.channel, "shopify");
    assert_eq!(
        event.order.expect("order").external_id,
        "820982911946154508"
    );
    assert!(
        messages(&server.store, QueueName::Quarantine)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn forged_or_missing_signatures_get_401_and_queue_nothing() {
    let server = start(ServerSetup::default()).await;
    let (headers, body) = unsigned_sample("shopify", "orders-create.http");

    let (status, reply) = post(&server.webhook_url("shopify"), &headers, body.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(
        reply,
        r#"{"error":"signature_missing","message":"signature missing"}"#
    );

    let mut forged = headers.clone();
    forged.insert(
        "X-Shopify-Hmac-Sha256",
        "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
    );
    let (status, reply) = post(&server.webhook_url("shopify"), &forged, body.clone()).await;
    assert_eq!(status, 401);
    assert!(reply.contains("signature_mismatch"), "{reply}");

    // Signed correctly, then tampered with.
    let (signed, mut tampered) = signed_sample("shopify", "orders-create.http");
    let at = tampered
        .iter()
        .position(|b| *b == b'7')
        .expect("a digit to change");
    tampered[at] = b'8';
    let (status, _) = post(&server.webhook_url("shopify"), &signed, tampered).await;
    assert_eq!(status, 401);

    // WooCommerce: a body that merely looks like a ping but carries a bad signature is not a ping.
    let mut woo = Headers::new();
    woo.insert("X-WC-Webhook-Signature", "AAAA");
    let (status, _) = post(
        &server.webhook_url("woocommerce"),
        &woo,
        b"webhook_id=12".to_vec(),
    )
    .await;
    assert_eq!(status, 401);

    assert_all_queues_empty(&server.store).await;
}

#[tokio::test]
async fn the_same_delivery_twenty_times_concurrently_yields_one_event() {
    let server = start(ServerSetup::default()).await;
    let (headers, body) = signed_sample("shopify", "orders-paid.http");
    let url = server.webhook_url("shopify");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (url, headers, body) = (url.clone(), headers.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            // A platform retries a 409 (in progress) later; bounded to 50 attempts.
            for _ in 0..50 {
                let (status, _) = post(&url, &headers, body.clone()).await;
                if status != 409 {
                    return status;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            409
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), 200);
    }
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);
}

#[tokio::test]
async fn an_authenticated_malformed_body_is_quarantined_and_acked() {
    let server = start(ServerSetup::default()).await;
    let (mut headers, _) = unsigned_sample("shopify", "orders-create.http");
    let body =
        br#"{"id": 1, "currency": "USD", "line_items": [{"quantity": "two", "price": "1.00"}]}"#
            .to_vec();
    sign_shopify(&mut headers, &body);
    let (status, reply) = post(&server.webhook_url("shopify"), &headers, body.clone()).await;
    assert_eq!((status, reply.as_str()), (200, ""));
    assert!(messages(&server.store, QueueName::Unified).await.is_empty());
    let quarantined = messages(&server.store, QueueName::Quarantine).await;
    assert_eq!(quarantined.len(), 1);
    let record: serde_json::Value = serde_json::from_str(&quarantined[0]).expect("json");
    assert_eq!(record["channel"], "shopify");
    assert!(
        record["error"]
            .as_str()
            .expect("error")
            .contains("wrong type"),
        "{record}"
    );
    // The error names the problem, never the value.
    assert!(!record["error"].as_str().expect("error").contains("two"));

    // Invalid JSON, and a body without the headers we key on: both quarantined, once each.
    let mut bare = Headers::new();
    sign_shopify(&mut bare, b"not json");
    for _ in 0..2 {
        assert_eq!(
            post(&server.webhook_url("shopify"), &bare, b"not json".to_vec())
                .await
                .0,
            200
        );
    }
    assert_eq!(
        messages(&server.store, QueueName::Quarantine).await.len(),
        2
    );
}

fn sign_shopify(headers: &mut Headers, body: &[u8]) {
    let mut req = o2o_core::WebhookRequest {
        method: "POST".to_owned(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: std::mem::take(headers),
        body: body.to_vec(),
        received_at: o2o_core::Timestamp::now(),
    };
    dev_channel("shopify").sign(&mut req).expect("sign");
    *headers = req.headers;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_with_or_without_content_length() {
    let server = start(ServerSetup {
        max_body_bytes: 1024,
        ..ServerSetup::default()
    })
    .await;
    let big = vec![b'x'; 4096];
    let mut headers = Headers::new();
    headers.insert("X-Shopify-Hmac-Sha256", "AAAA");
    let (status, reply) = post(&server.webhook_url("shopify"), &headers, big.clone()).await;
    assert_eq!(status, 413);
    assert!(reply.contains("body_too_large"), "{reply}");

    // Chunked: no Content-Length, so the limit is enforced while reading.
    let status_line = chunked_post(&server.base, "/webhooks/shopify", &big).await;
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
    assert_all_queues_empty(&server.store).await;
}

/// Sends `body` with `Transfer-Encoding: chunked` over a raw TCP connection; returns the status line.
async fn chunked_post(base: &str, path: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in body.chunks(512) {
        // The server may answer and close before the whole body is sent.
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
            || stream.write_all(chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn unknown_channels_tenants_and_paths_get_404_json() {
    let server = start(ServerSetup::default()).await;
    for (path, code) in [
        ("/webhooks/not-a-channel", "unknown_channel"),
        ("/webhooks/shopify/unknown-tenant", "unknown_tenant"),
        // A third segment is an endpoint, and Shopify calls one URL.
        ("/webhooks/shopify/some-tenant/orders", "not_found"),
        ("/prod/webhooks/shopify/some-tenant/orders", "not_found"),
        ("/elsewhere", "not_found"),
    ] {
        let (status, reply) = post(
            &format!("{}{path}", server.base),
            &Headers::new(),
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(status, 404, "{path}");
        assert!(reply.contains(code), "{path}: {reply}");
    }
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    assert_all_queues_empty(&server.store).await;
}

#[tokio::test]
async fn the_woocommerce_ping_is_answered_without_queueing() {
    let server = start(ServerSetup::default()).await;
    let (headers, body) = unsigned_sample("woocommerce", "ping.http");
    let (status, _) = post(&server.webhook_url("woocommerce"), &headers, body).await;
    assert_eq!(status, 200);
    assert_all_queues_empty(&server.store).await;

    let (headers, body) = signed_sample("woocommerce", "order-created.http");
    let (status, _) = post(&server.webhook_url("woocommerce"), &headers, body).await;
    assert_eq!(status, 200);
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);
}

/// Ports that fail on demand, around the real SQLite store.
struct Flaky {
    inner: SqliteStore,
    fail_sends: AtomicUsize,
    fail_completes: AtomicUsize,
    releases: AtomicUsize,
}

fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl IdempotencyStore for Flaky {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        self.inner.claim(claim).await
    }
    async fn complete(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
    ) -> Result<(), PortError> {
        if take(&self.fail_completes) {
            return Err(PortError::backend("test", "injected store failure"));
        }
        self.inner.complete(key, ack, expires_at).await
    }
    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        self.releases.fetch_add(1, Ordering::SeqCst);
        self.inner.release(key).await
    }
}

#[async_trait]
impl Queues for Flaky {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        if take(&self.fail_sends) {
            return Err(PortError::backend("test", "injected queue failure"));
        }
        self.inner.send(queue, messages).await
    }
}

async fn flaky_server(fail_sends: usize, fail_completes: usize) -> (TestServer, Arc<Flaky>) {
    let slot: Arc<std::sync::Mutex<Option<Arc<Flaky>>>> = Arc::default();
    let slot_in = slot.clone();
    let server = start(ServerSetup {
        wrap: Some(Box::new(move |store| {
            let flaky = Arc::new(Flaky {
                inner: store,
                fail_sends: AtomicUsize::new(fail_sends),
                fail_completes: AtomicUsize::new(fail_completes),
                releases: AtomicUsize::new(0),
            });
            *slot_in.lock().expect("lock") = Some(flaky.clone());
            (flaky.clone(), flaky)
        })),
        ..ServerSetup::default()
    })
    .await;
    let flaky = slot.lock().expect("lock").clone().expect("flaky");
    (server, flaky)
}

#[tokio::test]
async fn a_queue_failure_releases_the_claim_and_the_retry_succeeds() {
    let (server, flaky) = flaky_server(1, 0).await;
    let (headers, body) = signed_sample("shopify", "orders-create.http");
    let (status, reply) = post(&server.webhook_url("shopify"), &headers, body.clone()).await;
    assert_eq!(status, 503);
    assert!(reply.contains("temporarily_unavailable"), "{reply}");
    assert!(
        !reply.contains("injected"),
        "internal errors stay out of replies: {reply}"
    );
    // Both claims are released: the delivery's key and its content key.
    assert_eq!(flaky.releases.load(Ordering::SeqCst), 2);
    assert_all_queues_empty(&server.store).await;

    let (status, _) = post(&server.webhook_url("shopify"), &headers, body).await;
    assert_eq!(status, 200);
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);
}

#[tokio::test]
async fn a_store_failure_after_enqueueing_is_retried_without_a_second_event() {
    let (server, flaky) = flaky_server(0, 1).await;
    let (headers, body) = signed_sample("shopify", "orders-create.http");
    assert_eq!(
        post(&server.webhook_url("shopify"), &headers, body.clone())
            .await
            .0,
        503
    );
    // The first completion (the content key's) failed: both claims are released.
    assert_eq!(flaky.releases.load(Ordering::SeqCst), 2);
    // The retry enqueues again; the queue's deduplication id drops the copy.
    assert_eq!(
        post(&server.webhook_url("shopify"), &headers, body.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        post(&server.webhook_url("shopify"), &headers, body).await.0,
        200
    );
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);
}

#[tokio::test]
async fn other_methods_get_405_with_allow_from_the_pipeline_and_queue_nothing() {
    let server = start(ServerSetup::default()).await;
    let client = reqwest::Client::new();
    // (channel, method, the methods it allows): GET only where the platform verifies its URL
    // with one (WeChat's echostr handshake).
    let cases = [
        ("shopify", reqwest::Method::GET, "POST"),
        ("shopify", reqwest::Method::PUT, "POST"),
        ("douyin-shop", reqwest::Method::DELETE, "POST"),
        ("wechat-channels-shop", reqwest::Method::PUT, "GET, POST"),
        // A GET that is not a handshake (no echostr) is not a delivery either.
        ("wechat-channels-shop", reqwest::Method::GET, "GET, POST"),
    ];
    for (channel, method, allow) in cases {
        let response = client
            .request(method.clone(), server.webhook_url(channel))
            .body("{}")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 405, "{channel} {method}");
        assert_eq!(
            response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok()),
            Some(allow),
            "{channel} {method}"
        );
        let reason: serde_json::Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("JSON reason");
        assert_eq!(reason["error"], "method_not_allowed");
    }
    assert_all_queues_empty(&server.store).await;
}
