//! The local enrichment worker of `o2o serve`: a thin delivery is acknowledged at once, then
//! enriched and published; transient API failures are retried with backoff and, when they keep
//! failing, quarantined; an order the platform does not know is quarantined. Nothing is lost.
//! Driven over real HTTP with o2o-testkit's test connector (its body picks the API's answer).

mod common;

use std::collections::BTreeMap;

use common::*;
use o2o_core::ports::{QueueName, StoredDelivery};
use o2o_core::{ConnectorEntry, Headers, Registry};
use o2o_testkit::connector::{SECRET, TestConnector, channel_config};

static TEST_ONLY: Registry = Registry(&[ConnectorEntry::of::<TestConnector>()]);

async fn server() -> TestServer {
    start(ServerSetup {
        registry: TEST_ONLY,
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
    assert_eq!(stored.idempotency_key.as_str(), "test:shop:orders:ev-3");
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

/// Posts a signed body; returns status and reply.
async fn post_signed(server: &TestServer, body: &str) -> (u16, String) {
    let mut headers = Headers::new();
    headers.insert("x-test-signature", SECRET);
    post(
        &server.webhook_url("test"),
        &headers,
        body.as_bytes().to_vec(),
    )
    .await
}

fn orders(unified: &[String]) -> Vec<String> {
    let mut orders: Vec<String> = unified
        .iter()
        .map(|m| {
            let event: serde_json::Value = serde_json::from_str(m).expect("event");
            event["order"]["external_id"]
                .as_str()
                .unwrap_or("?")
                .to_owned()
        })
        .collect();
    orders.sort();
    orders
}

/// A multi-record delivery (Douyin's shape): every record is claimed, deduplicated and routed
/// on its own, and one acknowledgement answers the whole delivery.
#[tokio::test]
async fn each_record_of_a_multi_record_delivery_is_deduplicated_and_routed_on_its_own() {
    let server = server().await;
    let first = r#"[{"id":"m-1","order":"A"},{"id":"m-2","order":"B","mode":"thin"}]"#;
    assert_eq!(
        post_signed(&server, first).await,
        (200, r#"{"code":0,"msg":"success"}"#.to_owned())
    );
    let (unified, quarantine) = settled(&server).await;
    assert_eq!(orders(&unified), ["A", "B"]);
    assert!(quarantine.is_empty());

    // The platform sends m-2 again with a new record and a broken one: only m-3 is new, and
    // the broken record is quarantined without holding back the others.
    let second = r#"[{"id":"m-2","order":"B","mode":"thin"},{"id":"m-3","order":"C"},{"id":"m-4","order":"D","mode":"broken"}]"#;
    assert_eq!(post_signed(&server, second).await.0, 200);
    let (unified, quarantine) = settled(&server).await;
    assert_eq!(orders(&unified), ["A", "B", "C"]);
    assert_eq!(quarantine.len(), 1);
    let stored: StoredDelivery = serde_json::from_str(&quarantine[0]).expect("stored delivery");
    assert_eq!(stored.idempotency_key.as_str(), "test:shop:orders:m-4");

    // An unsigned multi-record delivery stores nothing.
    let mut unsigned = Headers::new();
    unsigned.insert("x-test-signature", "wrong");
    let (status, _) = post(
        &server.webhook_url("test"),
        &unsigned,
        br#"[{"id":"m-9","order":"Z"}]"#.to_vec(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        orders(&messages(&server.store, QueueName::Unified).await),
        ["A", "B", "C"]
    );

    // An empty array is acknowledged and adds nothing.
    assert_eq!(post_signed(&server, "[]").await.0, 200);
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 3);
}

#[tokio::test]
async fn a_batch_that_enqueued_events_is_logged_as_enqueued_even_when_its_last_record_was_a_duplicate()
 {
    use o2o_core::{Connector, Outcome, Pipeline, Processed, WebhookRequest};
    let store = o2o_local::SqliteStore::in_memory().expect("store");
    let pipeline = Pipeline::new(&store, &store, Default::default());
    let secrets = o2o_core::Secrets::new(vec![o2o_core::Secret::new(SECRET)]).expect("a secret");
    let connector = TestConnector::build(o2o_testkit::connector::Settings {
        secrets,
        api: Default::default(),
    })
    .expect("builds");
    let delivery = |body: &str| {
        let mut req = WebhookRequest {
            method: "POST".to_owned(),
            path_tenant: None,
            endpoint: None,
            query: String::new(),
            headers: Headers::new(),
            body: body.as_bytes().to_vec(),
            received_at: o2o_core::Timestamp::now(),
        };
        connector.sign(&mut req).expect("sign");
        req
    };
    let b = r#"{"id":"last-b","order":"B"}"#;
    let first = pipeline
        .ingest(&connector, &delivery(&format!("[{b}]")))
        .await;
    assert_eq!(first.outcome.events(), 1);
    // Redelivered with a new record in front: one event more, the last record a duplicate.
    let again = pipeline
        .ingest(
            &connector,
            &delivery(&format!(r#"[{{"id":"first-a","order":"A"}},{b}]"#)),
        )
        .await;
    assert_eq!(again.records, 2);
    assert!(
        matches!(
            &again.outcome,
            Outcome::Accepted { key: Some(key), processed: Processed::Enqueued { events: 1 } }
                if key.as_str() == "test:shop:orders:last-b"
        ),
        "{:?}",
        again.outcome
    );
}
