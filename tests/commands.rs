//! Order commands through `o2o serve`: `POST /commands` onto the SQLite commands queue, the
//! command worker carrying each one out on the platform (a wiremock API on 127.0.0.1), and the
//! result on the unified queue. Driven over real HTTP with o2o-testkit's test connector, whose
//! commands are `POST {api_base}/orders/{id}/{kind}`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use o2o_core::ports::QueueName;
use o2o_core::{ChannelConfig, ConnectorEntry, Registry};
use o2o_edge::CommandIntake;
use o2o_testkit::connector::{TestConnector, channel_config};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

static TEST_ONLY: Registry = Registry(&[ConnectorEntry::of::<TestConnector>()]);

/// The test channel with its API at `api`.
fn channels(api: &str) -> BTreeMap<String, ChannelConfig> {
    let mut config = channel_config();
    config.default.insert("api_base".into(), json!(api));
    BTreeMap::from([("test".to_owned(), config)])
}

async fn server(api: &MockServer, commands: Option<CommandIntake>) -> TestServer {
    start(ServerSetup {
        registry: TEST_ONLY,
        channels: channels(&api.uri()),
        commands,
        ..ServerSetup::default()
    })
    .await
}

fn command(id: &str, order: &str, kind: &str) -> Value {
    let mut command = json!({
        "schema_version": "1", "command_id": id, "channel": "test", "tenant": "shop",
        "order": {"external_id": order}, "kind": kind,
        "requested_at": o2o_core::Timestamp::now().to_string(),
    });
    if matches!(kind, "reject" | "cancel") {
        command["reason"] = json!("busy");
    }
    command
}

async fn post_command(server: &TestServer, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/commands", server.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("post /commands");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The unified events (at most 10 s of waiting for `count` of them).
async fn results(server: &TestServer, count: usize) -> Vec<Value> {
    for _ in 0..500 {
        let events = messages(&server.store, QueueName::Unified).await;
        if events.len() >= count {
            return events
                .iter()
                .map(|e| serde_json::from_str(e).expect("json"))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{count} results did not arrive within 10 s");
}

#[tokio::test]
async fn a_command_reaches_the_platform_once_and_its_result_joins_the_orders_group() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders/o-1/accept"))
        .and(body_partial_json(json!({"command_id": "c-1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "acc-9"})))
        .expect(1)
        .mount(&api)
        .await;
    let server = server(&api, Some(CommandIntake::default())).await;
    let body = command("c-1", "o-1", "accept").to_string();
    for _ in 0..2 {
        let (status, answer) = post_command(&server, &body, None).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer, json!({"command_id": "c-1", "status": "queued"}));
    }
    let events = results(&server, 1).await;
    // The copy sent again was dropped by the queue's deduplication; give it time to show.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);
    let event = &events[0];
    assert_eq!(event["event_type"], "command.succeeded");
    assert_eq!(event["command"]["command_id"], "c-1");
    assert_eq!(event["command"]["kind"], "accept");
    assert_eq!(event["command"]["attempts"], 1);
    assert_eq!(event["command"]["platform_reference"], "acc-9");
    assert_eq!(event["order"]["external_id"], "o-1");
    assert_eq!(event["source"]["tenant"], "shop");
    let groups: Vec<Option<String>> = server
        .store
        .read(QueueName::Unified, 0, 10)
        .await
        .expect("read")
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    assert_eq!(groups, [Some("test:shop:o-1".to_owned())]);
    assert!(
        messages(&server.store, QueueName::Commands)
            .await
            .is_empty()
    );
    // The same command again, after it was done: acknowledged, and no second call.
    let (status, _) = post_command(&server, &body, None).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.verify().await;
}

#[tokio::test]
async fn bad_commands_are_refused_with_a_reason_and_nothing_is_queued() {
    let api = MockServer::start().await;
    let server = server(&api, Some(CommandIntake::default())).await;
    let mut unknown_channel = command("c-2", "o-1", "accept");
    unknown_channel["channel"] = json!("nowhere");
    let mut bad_id = command("c 2", "o-1", "accept");
    bad_id["command_id"] = json!("c 2");
    let reject_without_reason = {
        let mut c = command("c-3", "o-1", "reject");
        c.as_object_mut().map(|o| o.remove("reason"));
        c
    };
    let cases = [
        ("not json".to_owned(), 400, "invalid_command"),
        (bad_id.to_string(), 400, "invalid_command"),
        (reject_without_reason.to_string(), 400, "invalid_command"),
        (unknown_channel.to_string(), 404, "unknown_channel"),
        ("x".repeat(70_000), 413, "body_too_large"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = post_command(&server, &body, None).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(queued(&server.store).await, 0, "nothing reached any queue");
    assert!(api.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn a_token_guards_commands_and_no_intake_means_no_endpoint() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&api)
        .await;
    let guarded = server(
        &api,
        Some(CommandIntake {
            token: Some(o2o_core::Secret::new("s3cret-token")),
        }),
    )
    .await;
    let body = command("c-4", "o-1", "accept").to_string();
    for token in [None, Some("wrong")] {
        let (status, answer) = post_command(&guarded, &body, token).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (401, Some("unauthorized"))
        );
    }
    assert_eq!(queued(&guarded.store).await, 0);
    let (status, _) = post_command(&guarded, &body, Some("s3cret-token")).await;
    assert_eq!(status, 202);
    assert_eq!(
        results(&guarded, 1).await[0]["event_type"],
        "command.succeeded"
    );

    let closed = server(&api, None).await;
    let (status, answer) = post_command(&closed, &body, None).await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("not_found")));
    assert_eq!(queued(&closed.store).await, 0);
}

#[tokio::test]
async fn unsupported_kinds_and_passed_deadlines_fail_at_once_without_a_call() {
    let api = MockServer::start().await;
    let server = server(&api, Some(CommandIntake::default())).await;
    let ready = command("c-5", "o-1", "ready");
    let mut late = command("c-6", "o-2", "accept");
    late["requested_at"] = json!(o2o_core::Timestamp::now().plus_seconds(-601).to_string());
    let mut own_deadline = command("c-7", "o-3", "cancel");
    own_deadline["deadline"] = json!(o2o_core::Timestamp::now().plus_seconds(-5).to_string());
    for body in [&ready, &late, &own_deadline] {
        assert_eq!(post_command(&server, &body.to_string(), None).await.0, 202);
    }
    let events = results(&server, 3).await;
    let codes: BTreeMap<String, String> = events
        .iter()
        .map(|e| {
            assert_eq!(e["event_type"], "command.failed");
            assert_eq!(e["command"]["attempts"], 0);
            assert_eq!(e["command"]["error"]["retryable"], false);
            (
                e["command"]["command_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["command"]["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(codes["c-5"], "unsupported");
    assert_eq!(codes["c-6"], "deadline_passed");
    assert_eq!(codes["c-7"], "deadline_passed");
    assert!(
        api.received_requests().await.unwrap_or_default().is_empty(),
        "no call"
    );
}

#[tokio::test]
async fn a_platform_that_keeps_failing_gets_retries_then_the_dead_letter_queue() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders/o-8/accept"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&api)
        .await;
    let server = server(&api, Some(CommandIntake::default())).await;
    let body = command("c-8", "o-8", "accept").to_string();
    assert_eq!(post_command(&server, &body, None).await.0, 202);
    let events = results(&server, 1).await;
    assert_eq!(events[0]["event_type"], "command.failed");
    assert_eq!(events[0]["command"]["attempts"], 3);
    assert_eq!(
        events[0]["command"]["error"]["code"],
        "platform_unavailable"
    );
    assert_eq!(events[0]["command"]["error"]["retryable"], true);
    assert_eq!(events[0]["command"]["error"]["platform_code"], "HTTP 503");
    for _ in 0..250 {
        if !messages(&server.store, QueueName::CommandsDeadLetter)
            .await
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = messages(&server.store, QueueName::CommandsDeadLetter).await;
    assert_eq!(dead.len(), 1, "kept for a redrive");
    assert_eq!(
        serde_json::from_str::<Value>(&dead[0]).expect("json")["command_id"],
        "c-8"
    );
    assert!(
        messages(&server.store, QueueName::Commands)
            .await
            .is_empty()
    );
    api.verify().await;
}

#[tokio::test]
async fn an_orders_commands_run_in_order_even_when_the_first_is_retried() {
    let api = MockServer::start().await;
    // The accept fails once, then succeeds; the cancel behind it must wait for it.
    Mock::given(method("POST"))
        .and(path("/orders/o-9/accept"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&api)
        .await;
    let server = server(&api, Some(CommandIntake::default())).await;
    for (id, kind) in [("c-9", "accept"), ("c-10", "cancel")] {
        let body = command(id, "o-9", kind).to_string();
        assert_eq!(post_command(&server, &body, None).await.0, 202);
    }
    let events = results(&server, 2).await;
    let order: Vec<&str> = events
        .iter()
        .map(|e| e["command"]["command_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(order, ["c-9", "c-10"]);
    let calls: Vec<String> = api
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        calls,
        [
            "/orders/o-9/accept",
            "/orders/o-9/accept",
            "/orders/o-9/cancel"
        ]
    );
}

/// `o2o command` as a person runs it: the tenant read from the order's event on the local queue,
/// the command posted to `o2o serve`, and the result waited for and printed.
#[tokio::test]
async fn o2o_command_finds_the_tenant_posts_and_prints_the_result() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders/o-11/reject"))
        .and(body_partial_json(json!({"reason": "item_unavailable"})))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"code": "ALREADY_ACCEPTED"})))
        .expect(1)
        .mount(&api)
        .await;
    let server = server(&api, Some(CommandIntake::default())).await;
    // The order's event, as the webhook would have queued it.
    let mut headers = o2o_core::Headers::new();
    headers.insert("x-test-signature", o2o_testkit::connector::SECRET);
    let (status, _) = post(
        &server.webhook_url("test"),
        &headers,
        br#"{"id":"d-11","order":"o-11"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let run = |args: Vec<String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
            .args(args)
            .output()
            .expect("run o2o command")
    };
    let (base, db) = (server.base.clone(), server.db.display().to_string());
    let args = move |kind: &str, order: &str| -> Vec<String> {
        [
            "command",
            "test",
            kind,
            order,
            "--reason",
            "item_unavailable",
            "--command-id",
            "cli-11",
            "--wait",
            "10",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([
            "--to".to_owned(),
            format!("{base}/commands"),
            "--db".to_owned(),
            db.clone(),
        ])
        .collect()
    };
    let output = tokio::task::spawn_blocking(move || run(args("reject", "o-11")))
        .await
        .expect("joined");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "a failed command exits non-zero: {stdout}"
    );
    assert!(stdout.starts_with("202 Accepted"), "{stdout}");
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .expect("the result event as the last line");
    assert_eq!(result["event_type"], "command.failed");
    assert_eq!(
        result["source"]["tenant"], "shop",
        "found from the order's event"
    );
    assert_eq!(result["command"]["error"]["code"], "rejected");
    assert_eq!(
        result["command"]["error"]["platform_code"],
        "ALREADY_ACCEPTED"
    );
    // An order the queue has never seen needs --tenant; nothing is sent.
    let base = server.base.clone();
    let db = server.db.display().to_string();
    let output = tokio::task::spawn_blocking(move || {
        run(vec![
            "command".into(),
            "test".into(),
            "accept".into(),
            "o-unknown".into(),
            "--to".into(),
            format!("{base}/commands"),
            "--db".into(),
            db,
        ])
    })
    .await
    .expect("joined");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("give --tenant"), "{stderr}");
    api.verify().await;
}
