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
    // One shape for every delivery line, the same as on Lambda.
    let deliveries: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "delivery")
        .collect();
    assert_eq!(deliveries.len(), 2, "{logs}");
    assert!(
        deliveries
            .iter()
            .all(|l| o2o_testkit::has_delivery_fields(l)),
        "{logs}"
    );
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

#[test]
fn a_bad_setting_stops_serve_at_start_up_naming_it_and_never_its_value() {
    let dir = TempDir::new();
    let config = dir.path().join("bad.toml");
    let cases = [
        // A typo in a setting's name.
        (
            "[channels.shopify]\nsecret = [\"sekret-1\"]\n",
            "channels.shopify: unknown setting `secret`, expected one of admin_access_token, api_base, api_timeout_ms, api_version, client_id, secrets, shop_domain",
        ),
        // A required setting missing from a tenant's table.
        (
            "[channels.youzan.tenants.shop-b]\nsecrets = [\"sekret-1\"]\n",
            "channels.youzan.tenants.shop-b: missing field `client_id`",
        ),
        // A key that does not decode: named, its value not shown.
        (
            "[channels.wechat-channels-shop]\ntoken = \"t\"\nencoding_aes_key = \"sekret-1\"\napp_id = \"wx1\"\napp_secret = \"s\"\n",
            "channels.wechat-channels-shop.encoding_aes_key: is not 43 base64 characters",
        ),
        // The wrong type: the value is not quoted.
        (
            "[channels.shopify]\nsecrets = \"sekret-1\"\n",
            "channels.shopify.secrets: wrong type, expected a sequence",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&config, text).expect("write config");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
            .current_dir(dir.path())
            .args(["--config", config.to_str().expect("utf-8"), "serve"])
            .args(["--addr", "127.0.0.1:0", "--db", "never.db"])
            .output()
            .expect("run o2o serve");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text}: {stderr}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert!(!stderr.contains("sekret-1"), "{stderr}");
        assert!(!dir.path().join("never.db").exists(), "nothing was opened");
    }
}
