//! The built `shopify` function binary, end to end through the real Lambda Runtime API protocol:
//! the test serves the Runtime API on loopback, starts the binary with the usual Lambda
//! environment, feeds it signed API Gateway HTTP API (v2) events, and checks moto's queues
//! through the SDK. `scripts/test` starts moto and sets `O2O_TEST_AWS_ENDPOINT`.

use std::process::Stdio;
use std::time::Duration;

use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Secret, Secrets};
use o2o_shopify::{Settings, Shopify};
use o2o_testkit::moto::{self, AwsResources};
use o2o_testkit::runtime_api::{Invocation, RuntimeApi};
use serde_json::Value;

const SECRET: &str = "e2e-shopify-secret";

/// A sample delivery as API Gateway would pass it on: signed with `secret`, body base64-encoded.
fn event(sample: &str, secret: &str, webhook_id: &str) -> Value {
    let path = format!(
        "{}/../../events/shopify/{sample}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut sample = parse_sample(&std::fs::read(path).expect("sample file")).expect("sample");
    sample.headers.set("x-shopify-webhook-id", webhook_id);
    let secrets = Secrets::new(vec![Secret::new(secret)]).expect("a secret");
    let shopify = Shopify::build(Settings::from_secrets(secrets)).expect("builds");
    let req = sample
        .signed(&shopify, o2o_core::Timestamp::now())
        .expect("sign");
    let headers: Vec<(&str, &str)> = req.headers.iter().collect();
    o2o_testkit::events::http_v2("POST", "/webhooks/shopify", "", &headers, &req.body, true)
}

fn answer(invocation: Invocation) -> (u16, String) {
    match invocation {
        Invocation::Response(response) => (
            response["statusCode"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .expect("statusCode"),
            response["body"].as_str().unwrap_or_default().to_owned(),
        ),
        other => panic!("the function did not answer: {other:?}"),
    }
}

#[tokio::test]
async fn the_function_binary_enqueues_once_replays_the_ack_and_refuses_forgeries() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "shopify-e2e").await;
    let secret = moto::create_secret(
        &sdk,
        "shopify-e2e",
        &format!(r#"{{"secrets":["{SECRET}"]}}"#),
    )
    .await;
    let runtime = RuntimeApi::start().await;

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopify"))
        .env_clear()
        .envs(runtime.lambda_env("shopify"))
        .envs(resources.env())
        .env("O2O_SECRET_ID", &secret)
        .env("AWS_ENDPOINT_URL", moto::endpoint())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the function binary");

    let timeout = Duration::from_secs(30);
    let first = answer(
        runtime
            .invoke(event("orders-create.http", SECRET, "wh-1"), timeout)
            .await,
    );
    assert_eq!(first, (200, String::new()));
    // Shopify retries with the same webhook id: the ack is replayed, nothing is added.
    let again = answer(
        runtime
            .invoke(event("orders-create.http", SECRET, "wh-1"), timeout)
            .await,
    );
    assert_eq!(again, (200, String::new()));
    // Signed with a secret we do not hold: 401, nothing added.
    let (status, body) = answer(
        runtime
            .invoke(event("orders-create.http", "forged", "wh-2"), timeout)
            .await,
    );
    assert_eq!(status, 401);
    let reason: Value = serde_json::from_str(&body).expect("a JSON reason");
    assert_eq!(reason["error"], "signature_mismatch");

    let unified = moto::receive_all(&sdk, &resources.unified_queue_url).await;
    assert_eq!(unified.len(), 1, "exactly one unified event");
    let event: Value = serde_json::from_str(&unified[0].body).expect("event JSON");
    assert_eq!(event["source"]["channel"], "shopify");
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(
        unified[0].attributes.get("event_type").map(String::as_str),
        Some("order.created")
    );
    assert!(
        moto::receive_all(&sdk, &resources.quarantine_queue_url)
            .await
            .is_empty()
    );
    assert!(
        moto::receive_all(&sdk, &resources.enrichment_queue_url)
            .await
            .is_empty()
    );
    assert!(runtime.init_error().is_none());

    child.start_kill().expect("stop the function");
    let output = child.wait_with_output().await.expect("function output");
    let logs = String::from_utf8_lossy(&output.stdout);
    // JSON lines carrying the invocation's request id, EMF metrics, and never the secret.
    assert!(!logs.contains(SECRET));
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect();
    let deliveries: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "delivery")
        .collect();
    assert_eq!(deliveries.len(), 3, "{logs}");
    assert!(
        deliveries
            .iter()
            .all(|l| l["span"]["requestId"].is_string()),
        "{logs}"
    );
    // The same delivery fields as `o2o serve` writes (tests/serve.rs).
    assert!(
        deliveries
            .iter()
            .all(|l| o2o_testkit::has_delivery_fields(l)),
        "{logs}"
    );
    let metrics = lines
        .iter()
        .filter(|l| l["_aws"]["CloudWatchMetrics"].is_array())
        .count();
    assert_eq!(metrics, 3);
}

#[tokio::test]
async fn a_function_that_cannot_start_reports_an_init_error_and_exits() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "shopify-init").await;
    let runtime = RuntimeApi::start().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopify"))
        .env_clear()
        .envs(runtime.lambda_env("shopify"))
        .envs(resources.env())
        .env("O2O_SECRET_ID", "no-such-secret")
        .env("AWS_ENDPOINT_URL", moto::endpoint())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the function binary");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the function exits")
        .expect("exit status");
    assert!(!status.success());
    let error = runtime.init_error().expect("an init error was posted");
    let message = error["errorMessage"].as_str().expect("errorMessage");
    assert!(message.starts_with("secret no-such-secret:"), "{message}");
}

#[tokio::test]
async fn a_bad_setting_in_the_secret_is_reported_as_an_init_error_naming_it() {
    let sdk = moto::sdk_config().await;
    let resources = AwsResources::create(&sdk, "shopify-settings").await;
    // `secrets` must be a list: the error names it and does not quote the value.
    let secret = moto::create_secret(
        &sdk,
        "shopify-settings",
        r#"{"secrets":"sekret-in-the-wrong-shape"}"#,
    )
    .await;
    let runtime = RuntimeApi::start().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopify"))
        .env_clear()
        .envs(runtime.lambda_env("shopify"))
        .envs(resources.env())
        .env("O2O_SECRET_ID", &secret)
        .env("AWS_ENDPOINT_URL", moto::endpoint())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the function binary");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the function exits")
        .expect("exit status");
    assert!(!status.success());
    let error = runtime.init_error().expect("an init error was posted");
    let message = error["errorMessage"].as_str().expect("errorMessage");
    assert_eq!(
        message,
        "channels.shopify.secrets: wrong type, expected a sequence"
    );
    let output = child.wait_with_output().await.expect("output");
    let logs = String::from_utf8_lossy(&output.stdout);
    assert!(!logs.contains("sekret-in-the-wrong-shape"), "{logs}");
}
