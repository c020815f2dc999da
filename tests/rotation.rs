//! A stored delivery was authenticated when it was received: replaying it, or enriching it, after
//! the platform's keys were rotated still works. The WeChat Channels shop encrypts its pushes,
//! so the stored delivery keeps the decrypted message beside the raw body
//! (`StoredDelivery::payload_base64`) and nothing downstream needs the old keys.

mod common;

use std::sync::Arc;

use common::*;
use o2o::registry::CONNECTORS;
use o2o_core::Channels;
use o2o_core::ports::{QueueName, StoredDelivery};
use o2o_local::retry::{RetryOptions, RetryQueue};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WECHAT_ORDER: &str =
    include_str!("../functions/wechat-channels-shop/tests/fixtures/order-detail.json");

/// A mock of the WeChat APIs whose order API answers `order`.
async fn wechat_api(order: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"access_token":"rotation-token","expires_in":7200}"#),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/channels/ec/order/get"))
        .respond_with(ResponseTemplate::new(200).set_body_string(order))
        .mount(&server)
        .await;
    server
}

/// The development channel tables with WeChat pointed at `api_base`, under new keys when
/// `rotated` (the old ones no longer configured at all).
fn channels(
    api_base: &str,
    rotated: bool,
) -> std::collections::BTreeMap<String, o2o_core::ChannelConfig> {
    let mut channels = dev_channels_with_api_base(api_base);
    if rotated {
        let wechat = &mut channels
            .get_mut("wechat-channels-shop")
            .expect("wechat table")
            .default;
        wechat.insert("token".to_owned(), "rotated-token".into());
        wechat.insert(
            "encoding_aes_key".to_owned(),
            "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut".into(),
        );
    }
    channels
}

#[tokio::test]
async fn a_quarantined_encrypted_delivery_replays_and_enriches_after_the_keys_rotate() {
    // Received under the old keys; the order API then says the order does not exist (yet).
    let missing = wechat_api(r#"{"errcode":100002,"errmsg":"Not exist"}"#).await;
    let mut server = start(ServerSetup {
        channels: channels(&missing.uri(), false),
        ..ServerSetup::default()
    })
    .await;
    let req = signed_request("wechat-channels-shop", "order-new.http");
    assert_eq!(
        send(&server.webhook_url("wechat-channels-shop"), &req).await,
        (200, "success".to_owned())
    );
    let (unified, quarantine) = settled(&server).await;
    // From here the test works the queues itself: a running worker could take the replayed
    // delivery first and, with the old keys and the old API answer, quarantine it again.
    server.stop_enrichment().await;
    assert!(unified.is_empty());
    assert_eq!(quarantine.len(), 1);
    let stored: StoredDelivery = serde_json::from_str(&quarantine[0]).expect("stored delivery");
    assert!(
        stored
            .error
            .as_deref()
            .unwrap_or("")
            .contains("does not exist")
    );
    // The raw body is the encrypted envelope; the decrypted message is kept beside it.
    assert!(String::from_utf8_lossy(&req.body).contains("\"Encrypt\""));
    assert!(stored.payload_base64.is_some(), "the plaintext is stored");

    // The keys rotate (the old pair is gone from the configuration) and the order now exists.
    let found = wechat_api(WECHAT_ORDER).await;
    let rotated = Channels::build(CONNECTORS, &channels(&found.uri(), true)).expect("rotated");
    let summary = o2o_local::replay::replay_quarantine(&server.store, &rotated)
        .await
        .expect("replay");
    assert_eq!(summary.enrichment, 1, "{summary:?}");
    assert!(summary.still_failing.is_empty(), "{summary:?}");
    assert!(
        messages(&server.store, QueueName::Quarantine)
            .await
            .is_empty()
    );

    // The enrichment consumer, with only the new keys, publishes the order.
    let queue = RetryQueue::enrichment(
        server.store.clone(),
        Arc::new(server.store.clone()),
        RetryOptions::default(),
    );
    let pipeline = o2o_core::Pipeline::new(&server.store, &server.store, Default::default());
    let enriched = o2o_edge::consume::enrich_batch(&queue, &rotated, &pipeline, 10)
        .await
        .expect("enrichment");
    assert_eq!((enriched.received, enriched.enqueued), (1, 1));
    let unified = messages(&server.store, QueueName::Unified).await;
    assert_eq!(unified.len(), 1);
    let event: Value = serde_json::from_str(&unified[0]).expect("event");
    assert_eq!(event["event_type"], "order.created");
    assert_eq!(event["order"]["external_id"], "3722184519028736512");
    assert_eq!(event["source"]["channel"], "wechat-channels-shop");
}

#[tokio::test]
async fn a_record_stored_without_its_plaintext_is_decrypted_again_with_the_current_keys() {
    // Deliveries quarantined by an earlier version carry no `payload_base64`: they are opened
    // again, which works while the keys are the ones they were sent with, and is refused, named,
    // after a rotation (the record stays in the quarantine).
    let missing = wechat_api(r#"{"errcode":100002,"errmsg":"Not exist"}"#).await;
    let mut server = start(ServerSetup {
        channels: channels(&missing.uri(), false),
        ..ServerSetup::default()
    })
    .await;
    let req = signed_request("wechat-channels-shop", "order-new.http");
    assert_eq!(
        send(&server.webhook_url("wechat-channels-shop"), &req)
            .await
            .0,
        200
    );
    let (_, quarantine) = settled(&server).await;
    server.stop_enrichment().await;
    let mut stored: StoredDelivery = serde_json::from_str(&quarantine[0]).expect("stored");
    stored.payload_base64 = None;
    let legacy = serde_json::to_string(&stored).expect("json");
    let quarantined = o2o_core::ports::QueueMessage {
        body: legacy,
        group_id: None,
        dedup_id: None,
        attributes: Vec::new(),
    };
    let old = messages(&server.store, QueueName::Quarantine).await;
    assert_eq!(old.len(), 1);
    let seq = server
        .store
        .read(QueueName::Quarantine, 0, 1)
        .await
        .expect("read")[0]
        .seq;
    server
        .store
        .delete(QueueName::Quarantine, seq)
        .await
        .expect("delete");
    o2o_core::ports::Queues::send(&server.store, QueueName::Quarantine, vec![quarantined])
        .await
        .expect("requeue");

    let found = wechat_api(WECHAT_ORDER).await;
    let rotated = Channels::build(CONNECTORS, &channels(&found.uri(), true)).expect("rotated");
    let summary = o2o_local::replay::replay_quarantine(&server.store, &rotated)
        .await
        .expect("replay");
    assert_eq!(summary.enrichment, 0);
    assert_eq!(summary.still_failing.len(), 1, "{summary:?}");
    assert_eq!(summary.still_failing[0].1, "envelope: signature_mismatch");

    let same_keys = Channels::build(CONNECTORS, &channels(&found.uri(), false)).expect("same");
    let summary = o2o_local::replay::replay_quarantine(&server.store, &same_keys)
        .await
        .expect("replay");
    assert_eq!(summary.enrichment, 1, "{summary:?}");
}
