//! Acked means kept, once: `o2o serve` is killed with SIGKILL while 16 connections post distinct
//! signed Shopify orders, then started again on the same database, and every delivery is posted
//! again as Shopify would retry it. Every delivery that was answered 200 before the kill is on
//! the unified queue; after the retries every delivery is there; none is there twice. Writes go
//! through the group-commit writer (`o2o_local::writer`): claims unsynced, completions synced.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use o2o_core::ports::QueueName;
use serde_json::Value;
use tokio::sync::Mutex;

const DELIVERIES: usize = 400;
const CONNECTIONS: usize = 16;

/// Distinct signed `orders/create` deliveries: (order id, headers, body).
fn deliveries() -> Vec<(String, o2o_core::Headers, Vec<u8>)> {
    let bytes = std::fs::read(root().join("events/shopify/orders-create.http")).expect("sample");
    let sample = o2o_core::sample::parse_sample(&bytes).expect("sample");
    let shopify = dev_channel("shopify");
    let mut order: Value = serde_json::from_slice(&sample.body).expect("json");
    (0..DELIVERIES)
        .map(|i| {
            let id = 7_000_000_000 + i as u64;
            order["id"] = Value::from(id);
            let mut sample = sample.clone();
            sample.body = serde_json::to_vec(&order).expect("json");
            sample
                .headers
                .set("X-Shopify-Webhook-Id", format!("crash-{i}"));
            sample
                .headers
                .set("X-Shopify-Event-Id", format!("crash-{i}"));
            let req = sample
                .signed(shopify.as_ref(), o2o_core::Timestamp::now())
                .expect("signed");
            (id.to_string(), req.headers, req.body)
        })
        .collect()
}

/// Posts every delivery over `CONNECTIONS` concurrent clients until the server goes away;
/// returns the order ids answered 200.
async fn post_all(base: &str, all: &Arc<Vec<(String, o2o_core::Headers, Vec<u8>)>>) -> Vec<String> {
    let next = Arc::new(Mutex::new(0_usize));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (next, acked, all) = (Arc::clone(&next), Arc::clone(&acked), Arc::clone(all));
        let url = format!("{base}/webhooks/shopify");
        clients.spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            loop {
                let i = {
                    let mut next = next.lock().await;
                    let i = *next;
                    *next += 1;
                    i
                };
                let Some((id, headers, body)) = all.get(i) else {
                    return;
                };
                let mut request = client.post(&url).body(body.clone());
                for (name, value) in headers.iter() {
                    request = request.header(name, value);
                }
                match request.send().await {
                    Ok(response) if response.status().as_u16() == 200 => {
                        acked.lock().await.push(id.clone());
                    }
                    Ok(_) => {}
                    Err(_) => return, // the server is gone
                }
            }
        });
    }
    while clients.join_next().await.is_some() {}
    std::mem::take(&mut *acked.lock().await)
}

/// The unified queue's order ids, with how often each is there.
async fn queued_orders(db: &std::path::Path) -> HashMap<String, usize> {
    let store = o2o_local::SqliteStore::open(db).expect("open the database");
    let mut counts = HashMap::new();
    for body in messages(&store, QueueName::Unified).await {
        let event: Value = serde_json::from_str(&body).expect("an event");
        let id = event["order"]["external_id"]
            .as_str()
            .expect("order id")
            .to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acked_delivery_and_duplicates_none() {
    let dir = TempDir::new();
    let db = dir.path().join("crash.db");
    let db_arg = db.to_str().expect("utf-8").to_owned();
    let all = Arc::new(deliveries());

    // Quiet logs: the test reads the server's stderr only at the end.
    let quiet = [("O2O_LOG", "error".to_owned())];
    let server = ServeProcess::start(&["--db", &db_arg], &quiet).await;
    let base = server.base.clone();
    let load = tokio::spawn({
        let all = Arc::clone(&all);
        async move { post_all(&base, &all).await }
    });
    // Kill it mid-load: once some deliveries are through, none has had time to be all.
    for _ in 0..400 {
        if queued_orders(&db).await.len() >= 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let acked_before = load.await.expect("load");
    assert!(
        !acked_before.is_empty(),
        "some deliveries were acked before the kill"
    );
    assert!(
        acked_before.len() < DELIVERIES,
        "the kill came mid-load ({} of {DELIVERIES} acked)",
        acked_before.len()
    );

    // Nothing acked is lost.
    let after_kill = queued_orders(&db).await;
    for id in &acked_before {
        assert_eq!(
            after_kill.get(id),
            Some(&1),
            "acked order {id} is queued once"
        );
    }

    // Shopify retries everything it did not see acked (and, here, everything): each delivery
    // ends up queued exactly once. The restart released the claims the kill left behind, so
    // none of the retries waits for one to expire.
    let server = ServeProcess::start(&["--db", &db_arg], &quiet).await;
    let acked_after = post_all(&server.base, &all).await;
    let logs = server.stop().await;
    assert_eq!(
        acked_after.len(),
        DELIVERIES,
        "every retry is acknowledged: {logs}"
    );
    let finally = queued_orders(&db).await;
    assert_eq!(finally.len(), DELIVERIES, "every delivery is queued");
    assert!(
        finally.values().all(|count| *count == 1),
        "no delivery is queued twice"
    );
}
