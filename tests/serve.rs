//! The `o2o serve` binary itself: starts on the shipped config, answers, logs JSON lines without
//! bodies, secrets or customer data, and shuts down gracefully on SIGTERM.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[tokio::test]
async fn serve_answers_logs_safely_and_stops_on_sigterm() {
    let dir = TempDir::new();
    let db = dir.path().join("serve.db");
    // Find a free loopback port, then hand it to the binary.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_o2o"))
        .current_dir(root())
        .args(["serve", "--addr", &addr, "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn o2o serve");

    // Wait for /healthz, bounded to ~10 s.
    let base = format!("http://{addr}");
    let mut healthy = false;
    for _ in 0..200 {
        if let Ok(response) = reqwest::get(format!("{base}/healthz")).await {
            healthy = response.status().as_u16() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "o2o serve did not become healthy");

    let (headers, body) = signed_sample("shopify", "orders-create.http");
    assert_eq!(
        post(&format!("{base}/webhooks/shopify"), &headers, body)
            .await
            .0,
        200
    );
    let (forged, body) = unsigned_sample("shopify", "orders-create.http");
    assert_eq!(
        post(&format!("{base}/webhooks/shopify"), &forged, body)
            .await
            .0,
        401
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut exited = None;
    for _ in 0..200 {
        if let Some(status) = child.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(exit) = exited else {
        let _ = child.kill();
        panic!("o2o serve did not stop within 10 s of SIGTERM");
    };
    assert!(exit.success(), "exit status {exit}");

    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("read logs");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    assert!(lines.iter().any(|l| l["message"] == "listening"));
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "enqueued" && l["status"] == 200)
    );
    assert!(
        lines
            .iter()
            .any(|l| l["outcome"] == "rejected" && l["detail"] == "signature_missing")
    );
    assert!(lines.iter().any(|l| l["message"] == "stopped"));
    for secret_or_personal in [
        "dev-shopify-client-secret",
        "ava.thompson@example.com",
        "Ava",
        "Massachusetts",
        "72.93",
    ] {
        assert!(
            !logs.contains(secret_or_personal),
            "logs must not contain {secret_or_personal:?}:\n{logs}"
        );
    }
}
