//! `o2o serve --backend aws`: the same server over the DynamoDB and SQS adapters, against moto
//! (`AWS_ENDPOINT_URL`), checked through the SDK. `scripts/test` starts moto.

mod common;

use common::*;
use o2o_testkit::moto::{self, AwsResources};

#[tokio::test]
async fn serve_with_the_aws_backend_enqueues_on_sqs_once_and_refuses_forgeries() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "serve-aws").await;
    let mut env: Vec<(&str, String)> = resources.env();
    env.extend([
        ("AWS_ENDPOINT_URL", moto::endpoint()),
        ("AWS_REGION", moto::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ]);
    let server = ServeProcess::start(&["--backend", "aws"], &env).await;
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
