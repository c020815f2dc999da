//! The AWS adapters against moto's server through the real aws-sdk clients: the idempotency
//! store's Powertools semantics, FIFO deduplication, quarantine, and the enrichment handler's
//! partial batch failures. `scripts/test` starts moto and sets `O2O_TEST_AWS_ENDPOINT`.

mod support;

use lambda_http::Body;
use std::sync::Arc;

use o2o_aws::Function;
use o2o_core::ports::{
    Claim, ClaimOutcome, IdempotencyStore, QueueMessage, QueueName, Queues, StoredDelivery,
};
use o2o_core::{IdempotencyKey, Reply, Timestamp};
use o2o_testkit::moto::{self, AwsResources};
use support::{SECRET, function, ports, webhook};

fn claim(key: &str, hash: &str, now: Timestamp) -> Claim {
    Claim {
        key: IdempotencyKey::from_stored(key.to_owned()),
        payload_hash: hash.to_owned(),
        now,
        in_progress_until: now.plus_seconds(30),
        expires_at: now.plus_seconds(7 * 24 * 3600),
    }
}

async fn store(prefix: &str) -> o2o_aws::DynamoStore {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, prefix).await;
    ports(&sdk, &resources).0
}

#[tokio::test]
async fn of_concurrent_claims_on_one_key_exactly_one_wins() {
    let store = store("claims").await;
    let now = Timestamp::now();
    let claims = (0..12).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim(&claim("shopify:s:orders/create:1", "h", now))
                .await
        })
    });
    let mut outcomes = Vec::new();
    for handle in claims {
        outcomes.push(handle.await.expect("task").expect("claim"));
    }
    let won = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::Claimed)
        .count();
    let blocked = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::InProgress)
        .count();
    assert_eq!((won, blocked), (1, 11), "{outcomes:?}");
}

#[tokio::test]
async fn a_completed_key_replays_its_stored_ack_and_payload_hash() {
    let store = store("completed").await;
    let now = Timestamp::now();
    let key = "woocommerce:s:order.created:9";
    assert_eq!(
        store
            .claim(&claim(key, "hash-a", now))
            .await
            .expect("claim"),
        ClaimOutcome::Claimed
    );
    let ack = Reply::json(200, r#"{"code":0,"msg":"success"}"#);
    store
        .complete(
            &IdempotencyKey::from_stored(key.to_owned()),
            &ack,
            now.plus_seconds(600),
        )
        .await
        .expect("complete");
    // A later delivery with a different body: the ack comes back with the first body's hash, so
    // the pipeline can flag "same key, different payload".
    let again = store
        .claim(&claim(key, "hash-b", now.plus_seconds(5)))
        .await
        .expect("claim");
    assert_eq!(
        again,
        ClaimOutcome::Completed {
            ack: ack.clone(),
            payload_hash: "hash-a".to_owned()
        }
    );
    // Releasing never deletes a completed record.
    store
        .release(&IdempotencyKey::from_stored(key.to_owned()))
        .await
        .expect("release");
    let after = store
        .claim(&claim(key, "hash-a", now.plus_seconds(6)))
        .await
        .expect("claim");
    assert!(matches!(after, ClaimOutcome::Completed { .. }), "{after:?}");
    // Past its TTL (DynamoDB deletes lazily) the key may be claimed afresh.
    let later = store
        .claim(&claim(key, "hash-a", now.plus_seconds(601)))
        .await
        .expect("claim");
    assert_eq!(later, ClaimOutcome::Claimed);
}

#[tokio::test]
async fn an_expired_in_progress_claim_can_be_retaken_and_a_live_one_cannot() {
    let store = store("inprogress").await;
    let now = Timestamp::now();
    let key = "shopify:s:orders/paid:2";
    assert_eq!(
        store.claim(&claim(key, "h", now)).await.expect("claim"),
        ClaimOutcome::Claimed
    );
    // Within the in-progress window (30 s here): blocked.
    let live = store
        .claim(&claim(key, "h", now.plus_seconds(29)))
        .await
        .expect("claim");
    assert_eq!(live, ClaimOutcome::InProgress);
    // The holder died: after the window the claim is retaken.
    let retaken = store
        .claim(&claim(key, "h", now.plus_seconds(31)))
        .await
        .expect("claim");
    assert_eq!(retaken, ClaimOutcome::Claimed);
}

#[tokio::test]
async fn a_released_claim_can_be_taken_again() {
    let store = store("release").await;
    let now = Timestamp::now();
    let key = "shopify:s:orders/create:3";
    assert_eq!(
        store.claim(&claim(key, "h", now)).await.expect("claim"),
        ClaimOutcome::Claimed
    );
    store
        .release(&IdempotencyKey::from_stored(key.to_owned()))
        .await
        .expect("release");
    assert_eq!(
        store.claim(&claim(key, "h", now)).await.expect("claim"),
        ClaimOutcome::Claimed
    );
}

fn unified(order: &str, dedup: &str) -> QueueMessage {
    QueueMessage {
        body: format!(r#"{{"order":"{order}","dedup":"{dedup}"}}"#),
        group_id: Some(format!("test:shop:{order}")),
        dedup_id: Some(dedup.to_owned()),
        attributes: vec![
            ("channel", "test".to_owned()),
            ("event_type", "order.created".to_owned()),
            ("schema_version", "1".to_owned()),
        ],
    }
}

#[tokio::test]
async fn the_fifo_queue_drops_a_second_send_with_the_same_deduplication_id() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "fifo").await;
    let (_, queues) = ports(&sdk, &resources);
    queues
        .send(QueueName::Unified, vec![unified("A1", "event-1")])
        .await
        .expect("send");
    queues
        .send(QueueName::Unified, vec![unified("A1", "event-1")])
        .await
        .expect("resend");
    queues
        .send(QueueName::Unified, vec![unified("A1", "event-2")])
        .await
        .expect("send");
    let received = moto::receive_all(&sdk, &resources.unified_queue_url).await;
    let dedups: Vec<_> = received
        .iter()
        .map(|m| m.dedup_id.clone().unwrap_or_default())
        .collect();
    assert_eq!(dedups, ["event-1", "event-2"]);
    let first = &received[0];
    assert_eq!(first.group_id.as_deref(), Some("test:shop:A1"));
    assert_eq!(
        first.attributes.get("channel").map(String::as_str),
        Some("test")
    );
    assert_eq!(
        first.attributes.get("event_type").map(String::as_str),
        Some("order.created")
    );
    assert_eq!(
        first.attributes.get("schema_version").map(String::as_str),
        Some("1")
    );
}

#[tokio::test]
async fn a_delivery_with_more_events_than_one_batch_arrives_whole() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "batch").await;
    let (_, queues) = ports(&sdk, &resources);
    let messages: Vec<_> = (0..23)
        .map(|i| unified(&format!("B{i}"), &format!("e-{i}")))
        .collect();
    queues
        .send(QueueName::Unified, messages)
        .await
        .expect("send");
    let received = moto::receive_all(&sdk, &resources.unified_queue_url).await;
    let mut dedups: Vec<_> = received.iter().filter_map(|m| m.dedup_id.clone()).collect();
    dedups.sort();
    let mut expected: Vec<_> = (0..23).map(|i| format!("e-{i}")).collect();
    expected.sort();
    assert_eq!(dedups, expected);
}

async fn assert_queues(
    sdk: &aws_config::SdkConfig,
    resources: &AwsResources,
    expected: [usize; 3],
) {
    let counts = [
        moto::receive_all(sdk, &resources.unified_queue_url)
            .await
            .len(),
        moto::receive_all(sdk, &resources.enrichment_queue_url)
            .await
            .len(),
        moto::receive_all(sdk, &resources.quarantine_queue_url)
            .await
            .len(),
    ];
    assert_eq!(counts, expected, "[unified, enrichment, quarantine]");
}

fn text(body: &Body) -> String {
    match body {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn a_signed_delivery_is_enqueued_once_and_a_redelivery_replays_the_ack() {
    let (sdk, resources, function) = function("http").await;
    let body = r#"{"id":"ev-1","order":"O-1"}"#;
    let first = function.handle_http(webhook(body, Some(SECRET))).await;
    assert_eq!(first.status(), 200);
    assert_eq!(text(first.body()), r#"{"code":0,"msg":"success"}"#);
    let again = function.handle_http(webhook(body, Some(SECRET))).await;
    assert_eq!(again.status(), 200);
    assert_eq!(text(again.body()), r#"{"code":0,"msg":"success"}"#);
    let unified = moto::receive_all(&sdk, &resources.unified_queue_url).await;
    assert_eq!(unified.len(), 1);
    let event: serde_json::Value = serde_json::from_str(&unified[0].body).expect("JSON event");
    assert_eq!(event["order"]["external_id"], "O-1");
    assert_eq!(event["source"]["channel"], "test");
}

#[tokio::test]
async fn forged_and_unsigned_deliveries_get_401_and_reach_no_queue() {
    let (sdk, resources, function) = function("forged").await;
    let body = r#"{"id":"ev-2","order":"O-2"}"#;
    for signature in [Some("wrong"), None] {
        let response = function.handle_http(webhook(body, signature)).await;
        assert_eq!(response.status(), 401);
        let reason: serde_json::Value = serde_json::from_str(&text(response.body())).expect("JSON");
        assert!(
            reason["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("signature_"))
        );
    }
    assert_queues(&sdk, &resources, [0, 0, 0]).await;
}

#[tokio::test]
async fn an_authenticated_delivery_that_cannot_be_normalised_is_quarantined_and_acked() {
    let (sdk, resources, function) = function("quarantine").await;
    let body = r#"{"id":"ev-3","order":"O-3","mode":"broken"}"#;
    let response = function.handle_http(webhook(body, Some(SECRET))).await;
    assert_eq!(
        response.status(),
        200,
        "acknowledged so the platform does not retry forever"
    );
    let quarantined = moto::receive_all(&sdk, &resources.quarantine_queue_url).await;
    assert_eq!(quarantined.len(), 1);
    let stored: StoredDelivery =
        serde_json::from_str(&quarantined[0].body).expect("stored delivery");
    assert_eq!(stored.channel, "test");
    assert_eq!(
        stored.error.as_deref(),
        Some("line_items: order has no line items")
    );
    assert_eq!(stored.idempotency_key.as_str(), "test:shop:orders:ev-3");
    assert_eq!(
        moto::receive_all(&sdk, &resources.unified_queue_url)
            .await
            .len(),
        0
    );
}

#[tokio::test]
async fn a_thin_delivery_goes_to_the_enrichment_queue() {
    let (sdk, resources, function) = function("thin").await;
    let body = r#"{"id":"ev-4","order":"O-4","mode":"thin"}"#;
    let response = function.handle_http(webhook(body, Some(SECRET))).await;
    assert_eq!(response.status(), 200);
    assert_queues(&sdk, &resources, [0, 1, 0]).await;
}

#[tokio::test]
async fn requests_the_function_does_not_serve_get_clear_4xx() {
    let (sdk, resources, function) = function("paths").await;
    let event = |path: &str, method: &str| {
        let event = o2o_testkit::events::http_v2(method, path, "", &[], b"{}", false);
        lambda_http::request::from_str(&event.to_string()).expect("event")
    };
    assert_eq!(
        function
            .handle_http(event("/webhooks/shopify", "POST"))
            .await
            .status(),
        404
    );
    assert_eq!(
        function
            .handle_http(event("/webhooks/test/unknown-shop", "POST"))
            .await
            .status(),
        404
    );
    assert_eq!(
        function
            .handle_http(event("/elsewhere", "POST"))
            .await
            .status(),
        404
    );
    assert_eq!(
        function
            .handle_http(event("/webhooks/test", "DELETE"))
            .await
            .status(),
        405
    );
    assert_queues(&sdk, &resources, [0, 0, 0]).await;
}

/// The stored delivery the pipeline puts on the enrichment queue for `body`.
fn thin(body: &str) -> String {
    use base64::Engine as _;
    let stored = StoredDelivery {
        channel: "test".to_owned(),
        path_tenant: None,
        endpoint: None,
        idempotency_key: o2o_core::IdempotencyKey::from_stored(format!(
            "test:shop:orders:{}",
            body.len()
        )),
        received_at: Timestamp::now(),
        method: "POST".to_owned(),
        query: String::new(),
        headers: o2o_core::Headers::new(),
        body_base64: base64::engine::general_purpose::STANDARD.encode(body),
        payload_base64: None,
        error: None,
    };
    serde_json::to_string(&stored).expect("JSON")
}

#[tokio::test]
async fn the_enrichment_handler_reports_only_the_messages_to_retry() {
    let (sdk, resources, function) = function("enrich").await;
    let ok = thin(r#"{"id":"ev-5","order":"O-5","mode":"thin"}"#);
    let flaky = thin(r#"{"id":"ev-66","order":"flaky-6","mode":"thin"}"#);
    let missing = thin(r#"{"id":"ev-777","order":"missing-7","mode":"thin"}"#);
    let event = o2o_testkit::events::sqs(
        &[
            ("m-ok", &ok),
            ("m-flaky", &flaky),
            ("m-missing", &missing),
            ("m-garbage", "not json"),
        ],
        "arn:aws:sqs:us-east-1:123456789012:enrichment",
    );
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event).expect("SQS event");
    let response = function.handle_sqs(event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    // Transient API failures and unreadable messages go back to the queue (then its DLQ); an
    // order the platform does not know is quarantined; the rest is published.
    assert_eq!(failed, ["m-flaky", "m-garbage"]);
    let unified = moto::receive_all(&sdk, &resources.unified_queue_url).await;
    assert_eq!(unified.len(), 1);
    let event: serde_json::Value = serde_json::from_str(&unified[0].body).expect("event");
    assert_eq!(event["order"]["external_id"], "O-5");
    let quarantined = moto::receive_all(&sdk, &resources.quarantine_queue_url).await;
    assert_eq!(quarantined.len(), 1);
    let stored: StoredDelivery = serde_json::from_str(&quarantined[0].body).expect("stored");
    assert_eq!(stored.error.as_deref(), Some("order API: no such order"));
}

#[tokio::test]
async fn a_function_url_event_with_a_plain_text_body_is_served_the_same_way() {
    let (sdk, resources, function) = function("url").await;
    let body = r#"{"id":"ev-8","order":"O-8"}"#;
    let headers = [
        ("content-type", "application/json"),
        ("x-test-signature", SECRET),
    ];
    let event = o2o_testkit::events::function_url(
        "POST",
        "/webhooks/test",
        "",
        &headers,
        body.as_bytes(),
        false,
    );
    let request = lambda_http::request::from_str(&event.to_string()).expect("Function URL event");
    let response = function.handle_http(request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response.body()), r#"{"code":0,"msg":"success"}"#);
    assert_queues(&sdk, &resources, [1, 0, 0]).await;
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_and_reaches_no_queue() {
    let (sdk, resources, function) = function("large").await;
    let filler = "x".repeat(o2o_core::request::DEFAULT_MAX_BODY_BYTES);
    let body = format!(r#"{{"id":"ev-9","order":"O-9","pad":"{filler}"}}"#);
    let response = function.handle_http(webhook(&body, Some(SECRET))).await;
    assert_eq!(response.status(), 413);
    assert_queues(&sdk, &resources, [0, 0, 0]).await;
}

#[tokio::test]
async fn credentials_come_from_secrets_manager_or_a_config_file_and_are_checked() {
    use o2o_aws::{AwsError, CredentialSource};
    let sdk = moto::sdk_config().await;
    let json = r#"{"secrets":["newest","previous"],"tenants":{"shop-b":{"secrets":["b"]}}}"#;
    let arn = moto::create_secret(&sdk, "creds", json).await;
    let config = CredentialSource::SecretsManager(arn)
        .load("test", &sdk)
        .await
        .expect("channel table from the secret");
    assert_eq!(
        config.default["secrets"],
        serde_json::json!(["newest", "previous"])
    );
    assert_eq!(
        config.tenants["shop-b"]["secrets"],
        serde_json::json!(["b"])
    );
    let resources = AwsResources::create(&sdk, "creds").await;
    let (store, queues) = support::ports(&sdk, &resources);
    let (store, queues): (
        Arc<dyn o2o_core::ports::IdempotencyStore>,
        Arc<dyn o2o_core::ports::Queues>,
    ) = (Arc::new(store), Arc::new(queues));
    assert!(Function::new(support::test_entry(), config, store.clone(), queues.clone()).is_ok());

    // A required setting missing from a tenant's table stops the function at start-up.
    let arn = moto::create_secret(
        &sdk,
        "creds",
        r#"{"secrets":["a"],"tenants":{"shop-c":{}}}"#,
    )
    .await;
    let missing = CredentialSource::SecretsManager(arn)
        .load("test", &sdk)
        .await
        .expect("the table is read");
    let refused = Function::new(support::test_entry(), missing, store, queues).map(|_| ());
    assert!(
        matches!(&refused, Err(AwsError::Settings(e)) if e.to_string() == "channels.test.tenants.shop-c: missing field `secrets`"),
        "{refused:?}"
    );
    // An unknown secret is named in the error; its value (none here) never is.
    let unknown = CredentialSource::SecretsManager("no-such-secret".to_owned())
        .load("test", &sdk)
        .await;
    assert!(
        matches!(&unknown, Err(AwsError::Secret { id, .. }) if id == "no-such-secret"),
        "{unknown:?}"
    );

    let dir = std::env::temp_dir().join(o2o_testkit::unique_name("o2o-aws-config"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("test.json");
    std::fs::write(&file, r#"{"secrets": ["from-file"]}"#).expect("write channel file");
    let config = CredentialSource::ChannelFile(file.clone())
        .load("test", &sdk)
        .await
        .expect("channel table from the file");
    assert_eq!(config.default["secrets"], serde_json::json!(["from-file"]));
    // Not a table: named by position, never by value.
    std::fs::write(&file, r#"["from-file"]"#).expect("write channel file");
    let not_table = CredentialSource::ChannelFile(file.clone())
        .load("test", &sdk)
        .await;
    assert!(
        matches!(&not_table, Err(AwsError::ChannelFile { reason, .. })
            if reason.starts_with("not a JSON channel table") && !reason.contains("from-file")),
        "{not_table:?}"
    );
    let absent = CredentialSource::ChannelFile(dir.join("absent.json"))
        .load("test", &sdk)
        .await;
    assert!(
        matches!(&absent, Err(AwsError::ChannelFile { .. })),
        "{absent:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
