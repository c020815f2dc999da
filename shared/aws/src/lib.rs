//! o2o-aws: the AWS side of o2o-connectors (ARCHITECTURE.md; the functions' contract is docs/aws.md).
//!
//! The same [`Pipeline`](o2o_core::Pipeline) as `o2o serve`, written through AWS adapters:
//! [`DynamoStore`] (idempotency, AWS Powertools semantics), [`SqsQueues`] (the unified FIFO queue,
//! the enrichment and quarantine queues), credentials from Secrets Manager ([`settings`]), and the
//! Lambda entry point ([`lambda::run`]) that serves API Gateway HTTP API / Function URL webhooks and
//! the enrichment queue's SQS batches from one binary.

pub mod dynamo;
pub mod function;
pub mod lambda;
pub mod metrics;
pub mod replay;
pub mod settings;
pub mod sqs;

pub use dynamo::DynamoStore;
pub use function::Function;
pub use settings::{AwsError, CredentialSource, Resources};
pub use sqs::SqsQueues;

/// The shared AWS configuration (region, credentials, `AWS_ENDPOINT_URL`) from the environment,
/// loaded once per process; every client is built from it.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The idempotency store and the queues named in `resources`, with clients built from `sdk`.
pub fn ports(sdk: &aws_config::SdkConfig, resources: &Resources) -> (DynamoStore, SqsQueues) {
    (
        DynamoStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            resources.idempotency_table.clone(),
        ),
        SqsQueues::new(aws_sdk_sqs::Client::new(sdk), resources),
    )
}
