//! The `o2o serve` binary itself: starts on the shipped config, answers, logs JSON lines without
//! bodies, secrets or customer data, and shuts down gracefully on SIGTERM.

mod common;

use common::*;

#[tokio::test]
async fn serve_answers_logs_safely_and_stops_on_sigterm() {
    let dir = TempDir::new();
    let db = dir.path().join("serve.db");
    let db = db.to_str().expect("utf-8 path");
    let server = ServeProcess::start(&["--db", db], &[]).await;
    let base = &server.base;

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

    let logs = server.stop().await;
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
