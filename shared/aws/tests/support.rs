//! Helpers shared by the o2o-aws integration tests, around o2o-testkit's test connector.

#![allow(dead_code)]

use std::sync::Arc;

use o2o_aws::{DynamoStore, Function, Resources, SqsQueues};
pub use o2o_testkit::connector::{SECRET, TestConnector};
use o2o_testkit::moto::AwsResources;

/// Fresh moto resources and a function for the test connector over them.
pub async fn function(prefix: &str) -> (aws_config::SdkConfig, AwsResources, Function) {
    let sdk = o2o_testkit::moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, prefix).await;
    let (store, queues) = ports(&sdk, &resources);
    let channel = o2o_testkit::connector::channel_config();
    let function = Function::new(test_entry(), channel, Arc::new(store), Arc::new(queues))
        .expect("the test channel builds");
    (sdk, resources, function)
}

/// The test connector as a registry entry.
pub fn test_entry() -> o2o_core::ConnectorEntry {
    o2o_core::ConnectorEntry::of::<TestConnector>()
}

/// The o2o-aws adapters over test resources.
pub fn ports(sdk: &aws_config::SdkConfig, resources: &AwsResources) -> (DynamoStore, SqsQueues) {
    o2o_aws::ports(
        sdk,
        &Resources {
            idempotency_table: resources.table.clone(),
            unified_queue_url: resources.unified_queue_url.clone(),
            enrichment_queue_url: resources.enrichment_queue_url.clone(),
            quarantine_queue_url: resources.quarantine_queue_url.clone(),
        },
    )
}

/// A signed API Gateway HTTP API (payload v2) request for the test channel, as lambda_http
/// hands it to the function.
pub fn webhook(body: &str, signature: Option<&str>) -> lambda_http::Request {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(signature) = signature {
        headers.push(("x-test-signature", signature));
    }
    let event = o2o_testkit::events::http_v2(
        "POST",
        "/webhooks/test",
        "",
        &headers,
        body.as_bytes(),
        true,
    );
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}
