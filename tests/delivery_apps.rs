//! The delivery apps end to end over real HTTP on 127.0.0.1: `o2o send` with each one's
//! samples, and Ele.me's refusals (forged, tampered, another app) and secret rotation, each
//! refusal queueing nothing. Meituan's own routes are in `tests/meituan.rs`.

mod common;

use std::process::Command;

use common::*;
use o2o_core::ports::QueueName;
use o2o_core::{Connector, WebhookRequest};
use o2o_eleme::Eleme;

fn o2o(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_o2o"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run o2o")
}

/// `o2o send` with each delivery app's default sample (and Meituan's GET cancellation): signed
/// as the platform signs, answered 200 with the platform's acknowledgement, and queued. No
/// enrichment worker runs, so Uber Eats' thin order waits on the enrichment queue.
#[tokio::test]
async fn o2o_send_signs_every_delivery_apps_samples_as_its_platform_does() {
    let server = start(ServerSetup {
        enrichment: false,
        ..ServerSetup::default()
    })
    .await;
    let cases = [
        ("deliveroo", None, "", QueueName::Unified, ""),
        ("doordash", None, "", QueueName::Unified, ""),
        ("uber-eats", None, "", QueueName::Enrichment, ""),
        (
            "meituan",
            None,
            "/order",
            QueueName::Unified,
            r#"{"data":"ok"}"#,
        ),
        (
            "meituan",
            Some("events/meituan/cancel.http"),
            "/cancel",
            QueueName::Unified,
            r#"{"data":"ok"}"#,
        ),
        ("eleme", None, "", QueueName::Unified, r#"{"message":"ok"}"#),
    ];
    for (channel, file, endpoint, queue, ack) in cases {
        let before = messages(&server.store, queue).await.len();
        let url = format!("{}{endpoint}", server.webhook_url(channel));
        let mut args = vec!["send".to_owned(), channel.to_owned()];
        args.extend(file.map(str::to_owned));
        args.extend(["--to".to_owned(), url]);
        let output = tokio::task::spawn_blocking(move || {
            o2o(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .await
        .expect("join");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{channel}: {stdout}");
        let mut lines = stdout.lines();
        assert_eq!(lines.next(), Some("200 OK"), "{channel}");
        assert_eq!(lines.next().unwrap_or_default(), ack, "{channel}");
        let queued = messages(&server.store, queue).await;
        assert_eq!(queued.len(), before + 1, "{channel}");
        assert!(queued[before].contains(channel), "{channel}");
    }
}

/// The Ele.me sample `file`, unsigned, with `edit` applied to its body.
fn eleme_sample(file: &str, edit: impl Fn(String) -> String) -> WebhookRequest {
    let bytes = std::fs::read(root().join("events/eleme").join(file)).expect("sample");
    let mut req = o2o_core::sample::parse_sample(&bytes)
        .expect("sample")
        .into_request(o2o_core::Timestamp::now());
    req.body = edit(String::from_utf8(req.body).expect("JSON text")).into_bytes();
    req
}

#[tokio::test]
async fn forged_tampered_and_other_app_eleme_pushes_get_401_and_queue_nothing() {
    let server = start(ServerSetup::default()).await;
    let url = server.webhook_url("eleme");
    let signed = signed_request("eleme", "order-created.http");
    let body = String::from_utf8(signed.body.clone()).expect("JSON text");

    let forged = WebhookRequest {
        body: eleme_sample("order-created.http", |body| body).body,
        ..signed.clone()
    };
    let (status, reply) = send(&url, &forged).await;
    assert_eq!(
        status, 401,
        "the sample's own placeholder signature: {reply}"
    );

    let tampered = WebhookRequest {
        body: body
            .replace(r#"\"totalPrice\":39.7"#, r#"\"totalPrice\":3.97"#)
            .into_bytes(),
        ..signed.clone()
    };
    assert_ne!(tampered.body, signed.body);
    let (status, reply) = send(&url, &tampered).await;
    assert_eq!(
        (status, reply.contains("signature_mismatch")),
        (401, true),
        "{reply}"
    );

    let mut other_app = eleme_sample("order-created.http", |body| {
        body.replace(r#""appId":62933118"#, r#""appId":62933119"#)
    });
    let dev: Eleme = o2o_testkit::samples::dev_connector();
    dev.sign(&mut other_app).expect("sign");
    let (status, reply) = send(&url, &other_app).await;
    assert_eq!(
        (status, reply.contains("wrong_app")),
        (401, true),
        "{reply}"
    );

    assert_all_queues_empty(&server.store).await;
    assert_eq!(send(&url, &signed).await.0, 200, "the signed push itself");
}

/// During a rotation both secrets verify: a push signed with the old one and another signed
/// with the new one are both queued.
#[tokio::test]
async fn both_secrets_verify_during_an_eleme_rotation() {
    let mut channels = dev_config().channels;
    let table = &mut channels.get_mut("eleme").expect("eleme").default;
    let old = table["secrets"][0].clone();
    table.insert(
        "secrets".to_owned(),
        serde_json::json!(["rotated-eleme-secret", old]),
    );
    let server = start(ServerSetup {
        channels,
        ..ServerSetup::default()
    })
    .await;
    let url = server.webhook_url("eleme");
    let with_old = signed_request("eleme", "order-created.http");
    let new_signer: Eleme = o2o_testkit::samples::dev_connector_with(&[(
        "secrets",
        serde_json::json!(["rotated-eleme-secret"]),
    )]);
    let mut with_new = eleme_sample("order-accepted.http", |body| body);
    new_signer.sign(&mut with_new).expect("sign");
    assert_eq!(send(&url, &with_old).await.0, 200);
    assert_eq!(send(&url, &with_new).await.0, 200);
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 2);
}
