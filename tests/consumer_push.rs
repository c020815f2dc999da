//! `[consumer] url`: `o2o serve` POSTs every unified event to the order system (a wiremock server
//! on 127.0.0.1), signed per Standard Webhooks, in order per order; an order system that keeps
//! failing gets each event `max_receives` times, then it waits on `unified-dlq` for a redrive.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use o2o_core::ports::QueueName;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The official libraries' test secret (standard-webhooks `libraries/go/webhook_test.go`).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// `o2o serve` with the development config plus `[consumer]` pushing to `url`.
async fn serve_pushing(url: &str, max_receives: u32, dir: &TempDir) -> ServeProcess {
    let config = std::fs::read_to_string(root().join("o2o.toml"))
        .expect("dev config")
        .replace(
            "max_receives = 5",
            &format!("max_receives = {max_receives}"),
        )
        .replace(
            "[consumer]\n",
            &format!("[consumer]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\ntimeout_ms = 2000\n"),
        );
    let path = dir.path().join("o2o.toml");
    std::fs::write(&path, config).expect("config");
    let db = dir.path().join("push.db");
    ServeProcess::start(
        &[
            "--config",
            path.to_str().expect("utf-8"),
            "--db",
            db.to_str().expect("utf-8"),
        ],
        &[],
    )
    .await
}

async fn deliver(server: &ServeProcess, channel: &str, file: &str) {
    let req = signed_request(channel, file);
    let url = endpoint_url(&format!("{}/webhooks/{channel}", server.base), &req);
    let (status, body) = send(&url, &req).await;
    assert_eq!(status, 200, "{channel} {file}: {body}");
}

/// The requests the order system has received, once there are `count` (15 s at most).
async fn received(order_system: &MockServer, count: usize) -> Vec<wiremock::Request> {
    for _ in 0..300 {
        let requests = order_system.received_requests().await.unwrap_or_default();
        if requests.len() >= count {
            return requests;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the order system did not receive {count} requests in 15 s");
}

fn header<'r>(request: &'r wiremock::Request, name: &str) -> &'r str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{name} missing"))
}

async fn local_queue(dir: &TempDir, queue: QueueName) -> Vec<String> {
    let store = o2o_local::SqliteStore::open(&dir.path().join("push.db")).expect("db");
    messages(&store, queue).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_pushed_signed_in_order_and_then_deleted() {
    let order_system = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&order_system)
        .await;
    let dir = TempDir::new();
    let server = serve_pushing(&format!("{}/orders", order_system.uri()), 5, &dir).await;
    deliver(&server, "shopify", "orders-create.http").await;
    deliver(&server, "shopify", "orders-updated.http").await;
    deliver(&server, "woocommerce", "order-created.http").await;

    let requests = received(&order_system, 3).await;
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("key");
    let mut shopify_types = Vec::new();
    for request in &requests {
        let body = std::str::from_utf8(&request.body).expect("utf-8");
        // The Standard Webhooks payload structure around the event.
        let payload: Value = serde_json::from_str(body).expect("JSON");
        let event = &payload["data"];
        assert_eq!(payload["type"], event["event_type"]);
        assert_eq!(payload["timestamp"], event["occurred_at"]);
        let (id, timestamp) = (
            header(request, "webhook-id"),
            header(request, "webhook-timestamp"),
        );
        assert_eq!(id, event["event_id"], "the event id: stable across retries");
        let sent: i64 = timestamp.parse().expect("unix seconds");
        assert!((sent - o2o_core::Timestamp::now().unix_seconds()).abs() < 60);
        let mac = o2o_core::signature::hmac_sha256(
            &key,
            &[format!("{id}.{timestamp}.{body}").as_bytes()],
        );
        assert_eq!(
            header(request, "webhook-signature"),
            format!(
                "v1,{}",
                base64::engine::general_purpose::STANDARD.encode(mac)
            )
        );
        assert_eq!(header(request, "content-type"), "application/json");
        if event["source"]["channel"] == "shopify" {
            shopify_types.push(event["event_type"].as_str().expect("type").to_owned());
        }
    }
    // The Shopify order's two events in the order they were delivered.
    assert_eq!(shopify_types.len(), 2);
    assert_eq!(shopify_types[0], "order.created");
    // Acknowledged by the 2xx: nothing left on the unified queue.
    for _ in 0..100 {
        if local_queue(&dir, QueueName::Unified).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(local_queue(&dir, QueueName::Unified).await.is_empty());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        order_system
            .received_requests()
            .await
            .unwrap_or_default()
            .len(),
        3,
        "each event once"
    );
    let _ = server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_system_that_keeps_failing_gets_max_receives_attempts_then_the_event_waits_on_the_dlq()
 {
    let order_system = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&order_system)
        .await;
    let dir = TempDir::new();
    let server = serve_pushing(&format!("{}/orders", order_system.uri()), 2, &dir).await;
    deliver(&server, "shopify", "orders-create.http").await;

    // Two attempts (1 s apart), then the third receive moves it to unified-dlq.
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = local_queue(&dir, QueueName::UnifiedDeadLetter).await;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dead.len(), 1, "on the dead-letter queue");
    assert!(local_queue(&dir, QueueName::Unified).await.is_empty());
    let attempts = order_system.received_requests().await.unwrap_or_default();
    assert_eq!(attempts.len(), 2, "max_receives attempts");
    assert_eq!(
        header(&attempts[0], "webhook-id"),
        header(&attempts[1], "webhook-id"),
        "a retry is the same message"
    );
    assert_eq!(attempts[0].body, attempts[1].body);
    let payload: Value = serde_json::from_slice(&attempts[0].body).expect("JSON");
    let dead: Value = serde_json::from_str(&dead[0]).expect("JSON");
    assert_eq!(
        payload["data"], dead,
        "the event that was pushed waits on the DLQ"
    );
    let _ = server.stop().await;
}
