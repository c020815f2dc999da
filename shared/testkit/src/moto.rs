//! AWS resources on the shared moto server (`O2O_TEST_AWS_ENDPOINT`).
//!
//! Parallel tests share one server; every helper here creates uniquely named resources, so tests
//! never see each other's items or messages. Helpers panic with a clear message on any AWS error:
//! they are test set-up, not code under test.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use crate::unique_name;

/// The variable naming the moto server the AWS tests use (`http://127.0.0.1:PORT`).
pub const ENDPOINT_VAR: &str = "O2O_TEST_AWS_ENDPOINT";

/// The region every test resource lives in.
pub const REGION: &str = "us-east-1";

/// The moto server's URL from `O2O_TEST_AWS_ENDPOINT`; panics when it is not set, so AWS tests
/// never skip silently.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "AWS tests need moto: run scripts/test (it starts moto) or set {ENDPOINT_VAR} \
             (e.g. .venv/bin/moto_server -H 127.0.0.1 -p 5000 and {ENDPOINT_VAR}=http://127.0.0.1:5000)"
        ),
    }
}

/// SDK configuration for the moto server at [`endpoint()`]: region `us-east-1`, static test
/// credentials; nothing is read from the ambient AWS environment except profile files.
pub async fn sdk_config() -> SdkConfig {
    sdk_config_for(&endpoint()).await
}

/// SDK configuration for the moto server at `endpoint_url` (see [`sdk_config`]).
pub async fn sdk_config_for(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "o2o-testkit"))
        .load()
        .await
}

fn fail(what: impl Display, error: impl std::error::Error) -> ! {
    panic!("moto: {what}: {}", DisplayErrorContext(error))
}

/// One function's AWS resources, uniquely named (docs/aws.md, "Environment").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsResources {
    /// The idempotency table: partition key `id` (string), TTL attribute `expiration`.
    pub table: String,
    /// The unified FIFO queue (content-based deduplication off: senders give the id).
    pub unified_queue_url: String,
    /// The enrichment queue (standard).
    pub enrichment_queue_url: String,
    /// The quarantine queue (standard).
    pub quarantine_queue_url: String,
    /// The channel's commands queue (FIFO, named `…-commands.fifo` as the template names it).
    pub commands_queue_url: String,
}

impl AwsResources {
    /// Creates a fresh table and three queues whose names start with `prefix` (keep it short:
    /// at most 32 characters of `[A-Za-z0-9_-]` are used).
    pub async fn create(config: &SdkConfig, prefix: &str) -> Self {
        let name = unique_name(prefix);
        let unified = format!("{name}-unified.fifo");
        let enrichment = format!("{name}-enrichment");
        let quarantine = format!("{name}-quarantine");
        let commands = format!("{name}-commands.fifo");
        let (table, unified, enrichment, quarantine, commands) = tokio::join!(
            create_table(config, &name),
            create_queue(config, &unified, true),
            create_queue(config, &enrichment, false),
            create_queue(config, &quarantine, false),
            create_queue(config, &commands, true),
        );
        Self {
            table,
            unified_queue_url: unified,
            enrichment_queue_url: enrichment,
            quarantine_queue_url: quarantine,
            commands_queue_url: commands,
        }
    }

    /// The function environment naming these resources (`O2O_IDEMPOTENCY_TABLE`, …).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("O2O_IDEMPOTENCY_TABLE", self.table.clone()),
            ("O2O_UNIFIED_QUEUE_URL", self.unified_queue_url.clone()),
            (
                "O2O_ENRICHMENT_QUEUE_URL",
                self.enrichment_queue_url.clone(),
            ),
            (
                "O2O_QUARANTINE_QUEUE_URL",
                self.quarantine_queue_url.clone(),
            ),
            ("O2O_COMMANDS_QUEUE_URL", self.commands_queue_url.clone()),
        ]
    }
}

async fn create_table(config: &SdkConfig, name: &str) -> String {
    let client = aws_sdk_dynamodb::Client::new(config);
    let key = "id";
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition has its required fields"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .expect("key schema element has its required fields"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("create table {name}"), e));
    // moto creates tables ACTIVE at once; wait anyway (bounded), as AWS would need.
    for _ in 0..600 {
        let status = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .unwrap_or_else(|e| fail(format_args!("describe table {name}"), e))
            .table()
            .and_then(|t| t.table_status().cloned());
        if status == Some(TableStatus::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expiration")
                .build()
                .expect("TTL specification has its required fields"),
        )
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("enable TTL on {name}"), e));
    name.to_owned()
}

async fn create_queue(config: &SdkConfig, name: &str, fifo: bool) -> String {
    let mut request = aws_sdk_sqs::Client::new(config)
        .create_queue()
        .queue_name(name);
    if fifo {
        request = request
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("create queue {name}"), e))
        .queue_url()
        .unwrap_or_else(|| panic!("moto: create queue {name}: no QueueUrl in the answer"))
        .to_owned()
}

/// Sends `command` to the FIFO commands queue at `queue_url` as an order system would: message
/// group `{channel}:{tenant}:{order}`, deduplication id the `command_id`.
pub async fn send_command(
    config: &SdkConfig,
    queue_url: &str,
    command: &o2o_core::command::OrderCommand,
) {
    send_command_as(config, queue_url, command, &command.command_id).await;
}

/// [`send_command`] under another deduplication id: the same command sent again after SQS's
/// five-minute deduplication window.
pub async fn send_command_as(
    config: &SdkConfig,
    queue_url: &str,
    command: &o2o_core::command::OrderCommand,
    dedup_id: &str,
) {
    aws_sdk_sqs::Client::new(config)
        .send_message()
        .queue_url(queue_url)
        .message_body(serde_json::to_string(command).expect("a command as JSON"))
        .message_group_id(command.group_id())
        .message_deduplication_id(dedup_id)
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("send a command to {queue_url}"), e));
}

/// Creates a Secrets Manager secret holding `json` and returns its ARN (the value for
/// `O2O_SECRET_ID`). `name` is a prefix: a unique suffix is added (as by
/// [`unique_name`]), so tests sharing one moto server, or a re-run against
/// the same server, never collide.
pub async fn create_secret(config: &SdkConfig, name: &str, json: &str) -> String {
    create_secret_named(config, &unique_name(name), json).await
}

/// Creates a Secrets Manager secret named exactly `name` (use a unique prefix) holding `json`;
/// returns its ARN.
pub async fn create_secret_named(config: &SdkConfig, name: &str, json: &str) -> String {
    let output = aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(name)
        .secret_string(json)
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("create secret {name}"), e));
    output
        .arn()
        .unwrap_or_else(|| panic!("moto: create secret {name}: no ARN in the answer"))
        .to_owned()
}

/// One message as received from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The body.
    pub body: String,
    /// Message attributes by name: string values as they are, binary values in base64.
    pub attributes: BTreeMap<String, String>,
    /// `MessageGroupId` (FIFO queues only).
    pub group_id: Option<String>,
    /// `MessageDeduplicationId` (FIFO queues only).
    pub dedup_id: Option<String>,
    /// SQS's message id.
    pub message_id: String,
}

const RECEIVE_ROUNDS: usize = 100;

/// Receives up to 10 messages from `queue_url` and keeps them, invisible for
/// `visibility_seconds` (0: visible again at once); returns each with its receipt handle, as an
/// event source mapping hands them to a function.
pub async fn receive_with_receipts(
    config: &SdkConfig,
    queue_url: &str,
    visibility_seconds: i32,
) -> Vec<(Received, String)> {
    let client = aws_sdk_sqs::Client::new(config);
    receive_batch_for(&client, queue_url, visibility_seconds).await
}

/// Deletes a received message.
pub async fn delete(config: &SdkConfig, queue_url: &str, receipt: &str) {
    aws_sdk_sqs::Client::new(config)
        .delete_message()
        .queue_url(queue_url)
        .receipt_handle(receipt)
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("delete from {queue_url}"), e));
}

async fn receive_batch(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<(Received, String)> {
    receive_batch_for(client, queue_url, 60).await
}

async fn receive_batch_for(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    visibility_seconds: i32,
) -> Vec<(Received, String)> {
    let output = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .visibility_timeout(visibility_seconds)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
        .message_system_attribute_names(MessageSystemAttributeName::MessageDeduplicationId)
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("receive from {queue_url}"), e));
    output
        .messages()
        .iter()
        .map(|m| {
            let system = m.attributes();
            let system =
                |name: MessageSystemAttributeName| system.and_then(|a| a.get(&name)).cloned();
            let attributes = m
                .message_attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| {
                    let text = match (value.string_value(), value.binary_value()) {
                        (Some(s), _) => s.to_owned(),
                        (None, Some(b)) => {
                            use base64::Engine as _;
                            base64::engine::general_purpose::STANDARD.encode(b.as_ref())
                        }
                        (None, None) => String::new(),
                    };
                    (name.clone(), text)
                })
                .collect();
            let received = Received {
                body: m.body().unwrap_or_default().to_owned(),
                attributes,
                group_id: system(MessageSystemAttributeName::MessageGroupId),
                dedup_id: system(MessageSystemAttributeName::MessageDeduplicationId),
                message_id: m.message_id().unwrap_or_default().to_owned(),
            };
            (received, m.receipt_handle().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Every message currently visible in `queue_url`, oldest first per FIFO group, without deleting
/// any: each is received once with a 60 s visibility timeout, so a second call shortly after
/// returns nothing.
///
/// A FIFO queue hands out no further message of a group while one of it is in flight, and moto
/// does the same: a group with more than 10 messages cannot be read this way. This function then
/// panics rather than return part of the queue; use [`drain`] for such queues.
pub async fn receive_all(config: &SdkConfig, queue_url: &str) -> Vec<Received> {
    let client = aws_sdk_sqs::Client::new(config);
    let mut all = Vec::new();
    for _ in 0..RECEIVE_ROUNDS {
        let batch = receive_batch(&client, queue_url).await;
        if batch.is_empty() {
            let left = visible_messages(&client, queue_url).await;
            assert!(
                left == 0,
                "receive_all({queue_url}): {left} message(s) are still visible but blocked behind \
                 in-flight messages of their FIFO group; use o2o_testkit::moto::drain"
            );
            return all;
        }
        all.extend(batch.into_iter().map(|(m, _)| m));
    }
    panic!("receive_all({queue_url}): still receiving after {RECEIVE_ROUNDS} rounds")
}

/// Like [`receive_all`], but deletes each batch once received, so it reads FIFO groups of any
/// length; the queue is empty afterwards (bounded: at most 100 batches).
pub async fn drain(config: &SdkConfig, queue_url: &str) -> Vec<Received> {
    let client = aws_sdk_sqs::Client::new(config);
    let mut all = Vec::new();
    for _ in 0..RECEIVE_ROUNDS {
        let batch = receive_batch(&client, queue_url).await;
        if batch.is_empty() {
            return all;
        }
        for (message, receipt) in batch {
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(receipt)
                .send()
                .await
                .unwrap_or_else(|e| fail(format_args!("delete from {queue_url}"), e));
            all.push(message);
        }
    }
    panic!("drain({queue_url}): still receiving after {RECEIVE_ROUNDS} rounds")
}

async fn queue_counts(client: &aws_sdk_sqs::Client, queue_url: &str) -> (usize, usize) {
    let output = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap_or_else(|e| fail(format_args!("queue attributes of {queue_url}"), e));
    let count = |name: QueueAttributeName| -> usize {
        let value = output
            .attributes()
            .and_then(|a| a.get(&name))
            .unwrap_or_else(|| panic!("moto: {queue_url}: no {} in the answer", name.as_str()));
        value
            .parse()
            .unwrap_or_else(|_| panic!("moto: {queue_url}: {} = {value:?}", name.as_str()))
    };
    (
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

async fn visible_messages(client: &aws_sdk_sqs::Client, queue_url: &str) -> usize {
    queue_counts(client, queue_url).await.0
}

/// How many messages `queue_url` holds, visible or in flight (`ApproximateNumberOfMessages` +
/// `ApproximateNumberOfMessagesNotVisible`; exact on moto). Receives nothing.
pub async fn queue_depth(config: &SdkConfig, queue_url: &str) -> usize {
    let (visible, in_flight) = queue_counts(&aws_sdk_sqs::Client::new(config), queue_url).await;
    visible + in_flight
}
