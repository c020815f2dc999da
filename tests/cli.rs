//! The `o2o` binary's client commands against a real server on 127.0.0.1.

mod common;

use std::process::Command;

use common::*;
use o2o_core::ports::QueueName;

fn o2o(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_o2o"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run o2o")
}

#[tokio::test]
async fn o2o_send_signs_with_the_dev_config_and_puts_an_order_on_the_queue() {
    let server = start(ServerSetup::default()).await;
    for (channel, expected) in [
        ("shopify", "820982911946154508"),
        ("woocommerce", "\"channel\":\"woocommerce\""),
    ] {
        let url = server.webhook_url(channel);
        let output = tokio::task::spawn_blocking(move || o2o(&["send", channel, "--to", &url]))
            .await
            .expect("join");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).lines().next(),
            Some("200 OK")
        );
        let unified = messages(&server.store, QueueName::Unified).await;
        assert!(
            unified.last().is_some_and(|m| m.contains(expected)),
            "{unified:?}"
        );
    }
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 2);

    // `o2o queue` prints exactly one UnifiedOrderEvent per line.
    let db = server.db.to_string_lossy().into_owned();
    let output = tokio::task::spawn_blocking(move || o2o(&["queue", "--db", &db]))
        .await
        .expect("join");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let event: o2o_core::UnifiedOrderEvent =
            serde_json::from_str(&line).expect("one event per line");
        assert_eq!(event.schema_version, o2o_core::event::SchemaVersion::V1);
    }
}

/// `o2o send <channel>` with each social-shop channel's default sample: signed (for WeChat,
/// encrypted, with the signature in the query) and accepted. No enrichment worker runs, so the
/// thin channels' deliveries wait on the enrichment queue.
#[tokio::test]
async fn o2o_send_signs_every_social_shop_default_sample_as_its_platform_does() {
    let server = start(ServerSetup {
        enrichment: false,
        ..ServerSetup::default()
    })
    .await;
    for (channel, queue) in [
        ("wechat-channels-shop", QueueName::Enrichment),
        ("douyin-shop", QueueName::Enrichment),
        ("tiktok-shop", QueueName::Enrichment),
        ("youzan", QueueName::Unified),
    ] {
        let before = messages(&server.store, queue).await.len();
        let url = server.webhook_url(channel);
        let output = tokio::task::spawn_blocking(move || o2o(&["send", channel, "--to", &url]))
            .await
            .expect("join");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{channel}: {stdout}");
        assert_eq!(stdout.lines().next(), Some("200 OK"), "{channel}");
        let queued = messages(&server.store, queue).await;
        assert_eq!(queued.len(), before + 1, "{channel}");
        assert!(
            queued[before].contains(channel),
            "{channel}: {}",
            queued[before]
        );
    }
}

#[test]
fn o2o_send_reports_a_refusal_with_a_failing_exit_code() {
    // Nothing listens on port 9 of loopback: the error names the URL.
    let output = o2o(&[
        "send",
        "shopify",
        "--to",
        "http://127.0.0.1:9/webhooks/shopify",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("posting to http://127.0.0.1:9/webhooks/shopify")
    );
    let output = o2o(&["send", "no-such-channel"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown channel `no-such-channel`"));
}

#[test]
fn o2o_channels_lists_every_connector_and_its_settings() {
    let output = o2o(&["channels"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for entry in o2o::registry::CONNECTORS.iter() {
        let info = (entry.info)();
        // The channel's block: its heading line, then its indented setting lines.
        let block: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with(&format!("{} ", info.id)))
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .collect();
        let settings = entry.settings();
        assert!(!settings.is_empty(), "{} declares its settings", info.id);
        assert_eq!(block.len(), settings.len(), "{}: {block:?}", info.id);
        for setting in settings {
            // One line per setting: its name, whether it is required, whether it is a
            // credential, and its doc comment, all read from the settings schema.
            let line = block
                .iter()
                .find(|l| l.trim_start().starts_with(&format!("{} ", setting.name)))
                .unwrap_or_else(|| panic!("{}: no line for {}: {text}", info.id, setting.name));
            let required = if setting.required {
                "required"
            } else {
                "optional"
            };
            assert!(line.contains(required), "{line}");
            // The column after `required`/`optional` says `secret` for a credential (a
            // description may mention secrets too).
            let marked = line.split_whitespace().nth(2) == Some("secret");
            assert_eq!(marked, setting.secret, "{line}");
            assert!(
                !setting.description.is_empty(),
                "{}.{} has a doc comment",
                info.id,
                setting.name
            );
            assert!(line.ends_with(&setting.description), "{line}");
        }
    }
    // Credentials are marked, identifiers are not.
    let shopify_secrets = text
        .lines()
        .find(|l| l.trim_start().starts_with("secrets "))
        .expect("secrets");
    assert!(shopify_secrets.contains(" secret "), "{shopify_secrets}");
}
