//! The local enrichment worker of `o2o serve`: a thin delivery is acknowledged at once, then
//! enriched and published; transient API failures are retried with backoff and, when they keep
//! failing, quarantined; an order the platform does not know is quarantined. Nothing is lost.
//! Driven over real HTTP with o2o-testkit's test connector (its body picks the API's answer).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use o2o_core::ports::{QueueName, StoredDelivery};
use o2o_core::{Connector, Headers, Registry};
use o2o_testkit::connector::{SECRET, TEST, channel_config};

static TEST_ONLY: &[&dyn Connector] = &[&TEST];

async fn server() -> TestServer {
    start(ServerSetup {
        registry: Registry(TEST_ONLY),
        channels: BTreeMap::from([("test".to_owned(), channel_config())]),
        ..ServerSetup::default()
    })
    .await
}

/// Posts a signed thin delivery for `order`; the platform gets its ack at once.
async fn post_thin(server: &TestServer, id: &str, order: &str) {
    let mut headers = Headers::new();
    headers.insert("x-test-signature", SECRET);
    let body = format!(r#"{{"id":"{id}","order":"{order}","mode":"thin"}}"#);
    let (status, reply) = post(&server.webhook_url("test"), &headers, body.into_bytes()).await;
    assert_eq!(
        (status, reply.as_str()),
        (200, r#"{"code":0,"msg":"success"}"#)
    );
}

/// Waits (at most 10 s) until the enrichment queue is empty; returns the other two queues.
async fn settled(server: &TestServer) -> (Vec<String>, Vec<String>) {
    for _ in 0..500 {
        if messages(&server.store, QueueName::Enrichment)
            .await
            .is_empty()
        {
            return (
                messages(&server.store, QueueName::Unified).await,
                messages(&server.store, QueueName::Quarantine).await,
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the enrichment queue did not drain within 10 s");
}

#[tokio::test]
async fn a_thin_delivery_is_enriched_and_published() {
    let server = server().await;
    post_thin(&server, "ev-1", "O-1").await;
    let (unified, quarantine) = settled(&server).await;
    assert_eq!(unified.len(), 1);
    let event: serde_json::Value = serde_json::from_str(&unified[0]).expect("event");
    assert_eq!(event["order"]["external_id"], "O-1");
    assert_eq!(event["source"]["external_event_id"], "ev-1");
    assert!(quarantine.is_empty());
}

#[tokio::test]
async fn a_transient_api_failure_is_retried() {
    let server = server().await;
    post_thin(&server, "ev-2", "flaky-once-local").await;
    let (unified, quarantine) = settled(&server).await;
    assert_eq!(unified.len(), 1, "published on the retry");
    assert!(quarantine.is_empty());
}

#[tokio::test]
async fn an_api_that_keeps_failing_ends_in_the_quarantine_not_lost() {
    let server = server().await;
    post_thin(&server, "ev-3", "flaky-always").await;
    let (unified, quarantine) = settled(&server).await;
    assert!(unified.is_empty());
    assert_eq!(quarantine.len(), 1);
    let stored: StoredDelivery = serde_json::from_str(&quarantine[0]).expect("stored delivery");
    assert_eq!(stored.idempotency_key, "test:shop:orders:ev-3");
    let error = stored.error.unwrap_or_default();
    assert!(
        error.starts_with("enrichment failed 3 times: enrichment: order API answered 503"),
        "{error}"
    );
}

#[tokio::test]
async fn an_order_the_platform_does_not_know_is_quarantined() {
    let server = server().await;
    post_thin(&server, "ev-4", "missing-4").await;
    let (unified, quarantine) = settled(&server).await;
    assert!(unified.is_empty());
    assert_eq!(quarantine.len(), 1);
    let stored: StoredDelivery = serde_json::from_str(&quarantine[0]).expect("stored delivery");
    assert_eq!(stored.error.as_deref(), Some("order API: no such order"));
}
