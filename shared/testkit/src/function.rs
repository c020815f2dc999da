//! A connector's real Lambda function binary driven end to end, as AWS would: webhooks arrive as
//! API Gateway events through the loopback Runtime API, thin deliveries land on the channel's
//! enrichment queue in moto, and that queue's messages come back as an SQS event (what the
//! event-source mapping does), so the enrichment handler runs in the same binary.

use std::process::Stdio;
use std::time::Duration;

use aws_config::SdkConfig;
use o2o_core::WebhookRequest;
use serde_json::Value;

use crate::events;
use crate::moto::{self, AwsResources};
use crate::runtime_api::{Invocation, RuntimeApi};

/// How long one invocation may take before the test fails.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// A running function binary with its moto resources and Runtime API.
pub struct FunctionUnderTest {
    /// moto's SDK configuration.
    pub sdk: SdkConfig,
    /// The function's table and queues.
    pub resources: AwsResources,
    /// The Runtime API the binary polls.
    pub runtime: RuntimeApi,
    child: tokio::process::Child,
}

impl FunctionUnderTest {
    /// Creates resources named after `prefix` (made unique), stores `secret_json` (the channel table) in
    /// Secrets Manager and spawns `binary` with the Lambda environment, as the template does.
    pub async fn spawn(binary: &str, channel: &str, prefix: &str, secret_json: &str) -> Self {
        let sdk = moto::sdk_config().await;
        let resources = AwsResources::create(&sdk, prefix).await;
        let secret = moto::create_secret(&sdk, prefix, secret_json).await;
        let runtime = RuntimeApi::start().await;
        let child = tokio::process::Command::new(binary)
            .env_clear()
            .envs(runtime.lambda_env(channel))
            .envs(resources.env())
            .env("O2O_SECRET_ID", &secret)
            .env("AWS_ENDPOINT_URL", moto::endpoint())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the function binary");
        Self {
            sdk,
            resources,
            runtime,
            child,
        }
    }

    /// Posts `req` to `/webhooks/<channel>[/<tenant>][/<endpoint>]` as an API Gateway HTTP API
    /// event (body base64, as API Gateway encodes binary bodies); returns the status and body the
    /// function answered.
    pub async fn webhook(&self, channel: &str, req: &WebhookRequest) -> (u16, String) {
        let headers: Vec<(&str, &str)> = req.headers.iter().collect();
        let path = [
            Some(channel),
            req.path_tenant.as_deref(),
            req.endpoint.as_deref(),
        ]
        .into_iter()
        .flatten()
        .fold("/webhooks".to_owned(), |path, segment| path + "/" + segment);
        let event = events::http_v2(&req.method, &path, &req.query, &headers, &req.body, true);
        match self.runtime.invoke(event, INVOCATION_TIMEOUT).await {
            Invocation::Response(response) => (
                response["statusCode"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(0),
                response["body"].as_str().unwrap_or_default().to_owned(),
            ),
            other => panic!("the function did not answer the webhook: {other:?}"),
        }
    }

    /// Takes every message off the enrichment queue and invokes the function with them as one
    /// SQS event; returns the ids of the messages it reported as failed (to be retried).
    pub async fn run_enrichment(&self) -> Vec<String> {
        let messages = moto::drain(&self.sdk, &self.resources.enrichment_queue_url).await;
        assert!(!messages.is_empty(), "nothing on the enrichment queue");
        let ids: Vec<String> = (0..messages.len()).map(|i| format!("msg-{i}")).collect();
        let records: Vec<(&str, &str)> = ids
            .iter()
            .zip(&messages)
            .map(|(id, m)| (id.as_str(), m.body.as_str()))
            .collect();
        let event = events::sqs(
            &records,
            &events::queue_arn(&self.resources.enrichment_queue_url),
        );
        failed_ids(self.runtime.invoke(event, INVOCATION_TIMEOUT).await)
    }

    /// Hands the commands queue's messages to the function as the event source mapping does: an
    /// SQS event from that queue with their real receipt handles, each received for the
    /// `receive_count`-th time. The messages the function did not report as failed are deleted;
    /// the failed ones stay on the queue (their visibility as the function left it: this
    /// receive makes them visible again at once, so any delay is the function's). Returns the
    /// ids of the failed ones.
    pub async fn run_commands(&self, receive_count: u32) -> Vec<String> {
        let url = &self.resources.commands_queue_url;
        let messages = moto::receive_with_receipts(&self.sdk, url, 0).await;
        assert!(!messages.is_empty(), "nothing on the commands queue");
        let records: Vec<(&str, &str)> = messages
            .iter()
            .map(|(m, _)| (m.message_id.as_str(), m.body.as_str()))
            .collect();
        let mut event = events::sqs_received(&records, &events::queue_arn(url), receive_count);
        for (record, (_, receipt)) in event["Records"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .zip(&messages)
        {
            record["receiptHandle"] = Value::String(receipt.clone());
        }
        let failed = failed_ids(self.runtime.invoke(event, INVOCATION_TIMEOUT).await);
        for (message, receipt) in &messages {
            if !failed.contains(&message.message_id) {
                moto::delete(&self.sdk, url, receipt).await;
            }
        }
        failed
    }

    /// Takes the unified events off the FIFO queue, as JSON (the queue is empty afterwards).
    pub async fn take_unified_events(&self) -> Vec<Value> {
        moto::drain(&self.sdk, &self.resources.unified_queue_url)
            .await
            .iter()
            .map(|m| serde_json::from_str(&m.body).expect("a unified event"))
            .collect()
    }

    /// How many messages the unified, enrichment and quarantine queues hold (nothing received).
    pub async fn depths(&self) -> [usize; 3] {
        [
            moto::queue_depth(&self.sdk, &self.resources.unified_queue_url).await,
            moto::queue_depth(&self.sdk, &self.resources.enrichment_queue_url).await,
            moto::queue_depth(&self.sdk, &self.resources.quarantine_queue_url).await,
        ]
    }

    /// Stops the binary and returns its stdout (the JSON log lines).
    pub async fn stop(mut self) -> String {
        let _ = self.child.start_kill();
        let output = self
            .child
            .wait_with_output()
            .await
            .expect("function output");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The result of [`round_trip`]: the unified events published and the function's log lines.
pub struct RoundTrip {
    /// The unified events on the FIFO queue at the end, as JSON.
    pub events: Vec<Value>,
    /// The function's stdout.
    pub logs: String,
}

/// A sample delivery through a function binary, as on AWS: `sample` (an `events/<channel>/`
/// file) is signed with `table` (the channel's secret JSON, whose `api_base` points at the
/// caller's mock of the platform API) and posted; the answer must be `(200, ack)`. A thin
/// delivery must wait on the enrichment queue until its messages come back as an SQS event and
/// are enriched without a failure. Then the redelivery must add nothing, a tampered copy must be
/// refused with a 4xx, the side queues must be empty, and no credential value may appear in the
/// logs.
pub async fn round_trip(
    binary: &str,
    connector: o2o_core::ConnectorEntry,
    sample: &[u8],
    table: &Value,
    ack: &str,
    thin: bool,
) -> RoundTrip {
    round_trip_with_forgery(binary, connector, sample, table, ack, thin, crate::tampered).await
}

/// [`round_trip`], with `forge` making the copy that must be refused from the signed request
/// (a platform that authenticates with a token rather than a signature: another token).
pub async fn round_trip_with_forgery(
    binary: &str,
    connector: o2o_core::ConnectorEntry,
    sample: &[u8],
    table: &Value,
    ack: &str,
    thin: bool,
    forge: fn(WebhookRequest) -> WebhookRequest,
) -> RoundTrip {
    let channel = (connector.info)().id;
    let settings = table.as_object().cloned().expect("a channel table");
    let instance = (connector.build)(&settings, channel).expect("the table builds");
    let req = o2o_core::sample::parse_sample(sample)
        .expect("sample")
        .signed(instance.as_ref(), o2o_core::Timestamp::now())
        .expect("sign");
    let function = FunctionUnderTest::spawn(binary, channel, channel, &table.to_string()).await;

    assert_eq!(function.webhook(channel, &req).await, (200, ack.to_owned()));
    if thin {
        assert_eq!(function.depths().await, [0, 1, 0], "waits for enrichment");
        assert_eq!(function.run_enrichment().await, Vec::<String>::new());
    }
    let [published, waiting, quarantined] = function.depths().await;
    assert!(published > 0, "published");
    assert_eq!((waiting, quarantined), (0, 0));

    assert_eq!(function.webhook(channel, &req).await, (200, ack.to_owned()));
    let forged = forge(req.clone());
    let (status, reason) = function.webhook(channel, &forged).await;
    assert!((400..500).contains(&status), "forged: {status} {reason}");
    assert_eq!(function.depths().await, [published, 0, 0], "nothing added");
    let events = function.take_unified_events().await;

    let logs = function.stop().await;
    for value in credential_values(table) {
        assert!(!logs.contains(&value), "a credential value is in the logs");
    }
    RoundTrip { events, logs }
}

/// The message ids an SQS invocation reported as failed (`batchItemFailures`).
fn failed_ids(invocation: Invocation) -> Vec<String> {
    match invocation {
        Invocation::Response(response) => response["batchItemFailures"]
            .as_array()
            .map(|failures| {
                failures
                    .iter()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        other => panic!("the function did not answer the SQS event: {other:?}"),
    }
}

/// The secret values of a channel table: signing secrets and every key naming a secret or token.
fn credential_values(table: &Value) -> Vec<String> {
    let Some(object) = table.as_object() else {
        return Vec::new();
    };
    let mut values = Vec::new();
    for (key, value) in object {
        let secret = key == "secrets"
            || [
                "secret",
                "token",
                "aes_key",
                "api_key",
                "api_v3_key",
                "private_key",
            ]
            .iter()
            .chain(&["signing_key", "password"])
            .any(|word| key.contains(word));
        match value {
            Value::String(s) if secret => values.push(s.clone()),
            Value::Array(items) if secret => {
                values.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            _ => {}
        }
    }
    values
}
