//! `o2o serve --backend aws` and `o2o replay --backend aws`: the real binary over the DynamoDB
//! and SQS adapters, against moto (`AWS_ENDPOINT_URL`), checked through the SDK. `scripts/test`
//! starts moto.

mod common;

use base64::Engine as _;
use common::*;
use o2o_core::Timestamp;
use o2o_core::ports::{QueueMessage, QueueName, Queues, StoredDelivery};
use o2o_testkit::moto::{self, AwsResources};

/// The environment that points the binary at moto and the resources.
fn aws_env(resources: &AwsResources) -> Vec<(&'static str, String)> {
    let mut env = resources.env();
    env.extend([
        ("AWS_ENDPOINT_URL", moto::endpoint()),
        ("AWS_REGION", moto::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ]);
    env
}

#[tokio::test]
async fn serve_with_the_aws_backend_enqueues_on_sqs_once_and_refuses_forgeries() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "serve-aws").await;
    let server = ServeProcess::start(&["--backend", "aws"], &aws_env(&resources)).await;
    let url = |channel: &str| format!("{}/webhooks/{channel}", server.base);

    let (headers, body) = signed_sample("shopify", "orders-create.http");
    assert_eq!(post(&url("shopify"), &headers, body.clone()).await.0, 200);
    // The redelivery is answered from DynamoDB's completed record and adds nothing.
    assert_eq!(post(&url("shopify"), &headers, body).await.0, 200);
    let (forged, body) = unsigned_sample("shopify", "orders-create.http");
    assert_eq!(post(&url("shopify"), &forged, body).await.0, 401);
    let (headers, body) = signed_sample("woocommerce", "order-created.http");
    assert_eq!(post(&url("woocommerce"), &headers, body).await.0, 200);

    let logs = server.stop().await;
    assert!(logs.contains("dynamodb:serve-aws"), "{logs}");

    let unified = moto::receive_all(&sdk, &resources.unified_queue_url).await;
    let mut channels: Vec<String> = unified
        .iter()
        .map(|m| m.attributes.get("channel").cloned().unwrap_or_default())
        .collect();
    channels.sort();
    assert_eq!(channels, ["shopify", "woocommerce"]);
    assert!(
        moto::receive_all(&sdk, &resources.enrichment_queue_url)
            .await
            .is_empty()
    );
    assert!(
        moto::receive_all(&sdk, &resources.quarantine_queue_url)
            .await
            .is_empty()
    );
}

/// A quarantined Shopify delivery, as the pipeline stores it, signed with the dev secret.
fn quarantined(sample: &str, body: Option<&[u8]>) -> QueueMessage {
    let (headers, sample_body) = signed_sample("shopify", sample);
    let stored = StoredDelivery {
        channel: "shopify".to_owned(),
        path_tenant: None,
        endpoint: None,
        idempotency_key: o2o_core::IdempotencyKey::from_stored(format!("shopify:test:{sample}")),
        received_at: Timestamp::now(),
        method: "POST".to_owned(),
        query: String::new(),
        headers,
        body_base64: base64::engine::general_purpose::STANDARD.encode(body.unwrap_or(&sample_body)),
        payload_base64: None,
        error: Some("simulated parser bug".to_owned()),
    };
    QueueMessage {
        body: serde_json::to_string(&stored).expect("JSON"),
        group_id: None,
        dedup_id: None,
        attributes: vec![("channel", "shopify".to_owned())],
    }
}

#[tokio::test]
async fn replay_with_the_aws_backend_moves_fixed_deliveries_on_and_keeps_the_rest() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "replay-aws").await;
    let prefix = format!("{}/", o2o_testkit::unique_name("o2o-replay"));
    // The deployed secret, as ops fill it: the same signing secret as the dev config.
    let dev_secret = dev_config().channels["shopify"].default["secrets"][0]
        .as_str()
        .expect("a secret")
        .to_owned();
    moto::create_secret_named(
        &sdk,
        &format!("{prefix}shopify"),
        &format!(r#"{{"secrets":["{dev_secret}"]}}"#),
    )
    .await;

    let (_, queues) = o2o_aws::ports(
        &sdk,
        &o2o_aws::Resources {
            idempotency_table: resources.table.clone(),
            unified_queue_url: resources.unified_queue_url.clone(),
            enrichment_queue_url: resources.enrichment_queue_url.clone(),
            quarantine_queue_url: resources.quarantine_queue_url.clone(),
        },
    );
    let messages = vec![
        // Quarantined by a parser bug that is fixed now: it replays.
        quarantined("orders-create.http", None),
        // Still not an order: it stays.
        quarantined("orders-paid.http", Some(b"{\"id\": \"not an order\"")),
    ];
    queues
        .send(QueueName::Quarantine, messages)
        .await
        .expect("quarantine");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
        .current_dir(root())
        .args(["replay", "--backend", "aws", "--secret-prefix", &prefix])
        .envs(aws_env(&resources))
        .output()
        .expect("run o2o replay");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("one JSON summary");
    assert_eq!(summary["enqueued"], 1, "{summary}");
    assert_eq!(
        summary["still_quarantined"].as_array().map(Vec::len),
        Some(1),
        "{summary}"
    );
    assert_eq!(
        summary["still_quarantined"][0]["idempotency_key"],
        "shopify:test:orders-paid.http"
    );

    let unified = moto::receive_all(&sdk, &resources.unified_queue_url).await;
    assert_eq!(unified.len(), 1);
    let event: serde_json::Value = serde_json::from_str(&unified[0].body).expect("event");
    assert_eq!(event["source"]["channel"], "shopify");
    // The one still failing is back in the quarantine, visible at once.
    let left = moto::receive_all(&sdk, &resources.quarantine_queue_url).await;
    assert_eq!(left.len(), 1);
    assert!(left[0].body.contains("shopify:test:orders-paid.http"));
}
