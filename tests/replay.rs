//! `o2o replay` re-runs quarantined deliveries through the current code.
//!
//! A server whose Shopify parser has a (simulated) bug quarantines a valid delivery; the real
//! `o2o` binary, built with the fixed parser, then replays it onto the unified queue.

mod common;

use common::*;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::ports::QueueName;
use o2o_core::signature::SignatureError;
use o2o_core::{ConnectorEntry, Headers, Registry, Rejection, WebhookRequest};
use o2o_shopify::{Body, Shopify};
use std::borrow::Cow;

/// Shopify with a parser bug: everything is delegated except normalisation, which fails.
struct BuggyShopify(Shopify);

#[async_trait::async_trait]
impl Connector for BuggyShopify {
    type Settings = o2o_shopify::Settings;
    type Facts = Option<Body>;
    type Message<'v> = Cow<'v, Body>;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        Shopify::info()
    }
    fn build(settings: o2o_shopify::Settings) -> Result<Self, o2o_core::SettingsError> {
        Shopify::build(settings).map(Self)
    }
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, Option<Body>>, Rejection> {
        self.0.verify(req)
    }
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, Option<Body>>,
    ) -> Result<Parsed<Cow<'v, Body>>, NormaliseError> {
        self.0.parse(verified)
    }
    fn normalise(
        &self,
        _: &DeliveryId,
        _: Cow<'_, Body>,
        _: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        Err(NormaliseError::field("payload", "simulated parser bug"))
    }
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        self.0.sign(req)
    }
}

static BUGGY: Registry = Registry(&[ConnectorEntry::of::<BuggyShopify>()]);

fn replay(db: &std::path::Path) -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
        .arg("replay")
        .arg("--config")
        .arg(root().join("o2o.toml"))
        .arg("--db")
        .arg(db)
        .output()
        .expect("run o2o replay");
    assert!(
        output.status.success(),
        "o2o replay failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("replay prints one JSON summary")
}

#[tokio::test]
async fn replay_moves_fixed_deliveries_to_the_unified_queue_and_keeps_the_rest() {
    let mut channels = dev_config().channels;
    channels.retain(|id, _| id == "shopify");
    let server = start(ServerSetup {
        registry: BUGGY,
        channels,
        ..ServerSetup::default()
    })
    .await;
    let url = server.webhook_url("shopify");
    let (headers, body) = signed_sample("shopify", "orders-create.http");
    assert_eq!(
        post(&url, &headers, body.clone()).await,
        (200, String::new())
    );
    // A body no parser will ever read stays quarantined.
    let mut garbage_headers = Headers::new();
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| !matches!(*n, "x-shopify-hmac-sha256" | "x-shopify-webhook-id"))
    {
        garbage_headers.insert(name, value);
    }
    garbage_headers.insert("X-Shopify-Webhook-Id", "another-delivery");
    let mut garbage = o2o_core::WebhookRequest {
        method: "POST".to_owned(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: garbage_headers,
        body: b"{\"truncated\": ".to_vec(),
        received_at: o2o_core::Timestamp::now(),
    };
    dev_channel("shopify").sign(&mut garbage).expect("sign");
    assert_eq!(post(&url, &garbage.headers, garbage.body).await.0, 200);
    assert_eq!(
        messages(&server.store, QueueName::Quarantine).await.len(),
        2
    );
    assert!(messages(&server.store, QueueName::Unified).await.is_empty());

    let summary = replay(&server.db);
    assert_eq!(summary["enqueued"], 1, "{summary}");
    assert_eq!(
        summary["still_quarantined"].as_array().map(Vec::len),
        Some(1),
        "{summary}"
    );
    let unified = messages(&server.store, QueueName::Unified).await;
    assert_eq!(unified.len(), 1);
    assert!(unified[0].contains("\"external_id\":\"820982911946154508\""));
    assert_eq!(
        messages(&server.store, QueueName::Quarantine).await.len(),
        1
    );

    // Replaying again adds nothing: the fixed delivery left the quarantine, the other still fails.
    let again = replay(&server.db);
    assert_eq!(again["enqueued"], 0, "{again}");
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);

    // The original delivery, retried by the platform, is a duplicate: its stored ack is replayed.
    assert_eq!(post(&url, &headers, body).await, (200, String::new()));
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);
}
