//! Every sample delivery in `events/wechat-channels-shop/` is signed and encrypted with the
//! connector's `sign` (as WeChat would push it), verified, decrypted, parsed and normalised here,
//! and the order topics are enriched against a mock of the order API.
//!
//! Expected values are read off the sample files by hand. Pushes are thin, so `normalise` says
//! `Enrich`; the unified events come from `enrich`, whose order mapping is asserted field by field
//! in `tests/enrich.rs` (the same fixture is used here for the topic → event-type mapping).

use std::path::{Path, PathBuf};

use o2o_core::connector::{Delivery, EventDraft, NormaliseContext, Normalised};
use o2o_core::event::{EventType, OrderStatus, Payment, Refund};
use o2o_core::money::{Currency, Money};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Credentials, Secret, Timestamp, WebhookRequest};
use o2o_wechat_channels_shop::WeChatChannelsShop;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The sample files tested below ([`every_sample_has_a_test`] keeps this complete).
const COVERED: &[&str] = &[
    "aftersale-processing.http",
    "aftersale-refund-success.http",
    "order-cancel.http",
    "order-confirm.http",
    "order-deliver.http",
    "order-ext-info-update.http",
    "order-new.http",
    "order-pay.http",
    "order-settle.http",
    "order-wait-shipping.http",
    "product-spu-audit.http",
    "url-verification.http",
];

/// `ToUserName` of every sample: the tenant.
const SHOP: &str = "gh_6a1f3c9e2b7d";
/// The order of most samples (above 2^53: exact digits).
const ORDER: &str = "3722184519028736512";

/// Test credentials the samples are signed with (also the end-to-end test values).
fn credentials() -> Credentials {
    let mut c = Credentials::default();
    for (k, v) in [
        ("token", "o2oChannelsShopToken"),
        (
            "encoding_aes_key",
            "o2oWeChatChannelsShopEncodingAesKey01234567",
        ),
        ("app_id", "wx5e3a9c7b1d2f4a60"),
        ("app_secret", "o2o-test-app-secret"),
    ] {
        c.values.insert(k.to_owned(), Secret::new(v));
    }
    c
}

fn with(mut c: Credentials, key: &str, value: &str) -> Credentials {
    c.values.insert(key.to_owned(), Secret::new(value));
    c
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/wechat-channels-shop")
}

/// When the samples are pushed (and received: the replay window is checked against it).
fn sent_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600).expect("2026-01-01T00:00:00Z")
}

fn plaintext(name: &str) -> Vec<u8> {
    let bytes = std::fs::read(samples_dir().join(name)).expect("sample file");
    parse_sample(&bytes).expect("an HTTP request").body
}

fn signed_with(name: &str, creds: &Credentials) -> WebhookRequest {
    assert!(COVERED.contains(&name), "add {name} to COVERED");
    let bytes = std::fs::read(samples_dir().join(name)).expect("sample file");
    parse_sample(&bytes)
        .expect("an HTTP request")
        .signed(&WeChatChannelsShop, creds, sent_at())
        .expect("signs")
}

fn signed(name: &str) -> WebhookRequest {
    signed_with(name, &credentials())
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: sent_at(),
    }
}

/// Verifies, parses and checks the envelope every sample shares.
fn delivery(name: &str, topic: &str, external_event_id: &str) -> Delivery {
    let req = signed(name);
    assert_eq!(WeChatChannelsShop.verify(&req, &credentials()), Ok(()));
    let delivery = WeChatChannelsShop
        .parse(&req, &credentials())
        .expect("parses");
    assert_eq!(delivery.tenant, SHOP, "tenant (ToUserName)");
    assert_eq!(delivery.topic, topic, "topic (Event)");
    assert_eq!(delivery.external_event_id, external_event_id);
    assert_eq!(
        delivery.payload,
        plaintext(name),
        "the payload is the decrypted message"
    );
    delivery
}

/// Enriches `delivery` against a mock serving the documented-shape order detail.
async fn enrich(delivery: &Delivery, app_id: &str) -> EventDraft {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"access_token":"SAMPLES-TOKEN","expires_in":7200}"#),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/channels/ec/order/get"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(include_str!("fixtures/order-detail.json")),
        )
        .mount(&server)
        .await;
    let creds = with(
        with(credentials(), "api_base", &server.uri()),
        "app_id",
        app_id,
    );
    match WeChatChannelsShop.enrich(delivery, &creds, &ctx()).await {
        Ok(Normalised::Events(events)) => match events.as_slice() {
            [event] => event.clone(),
            more => panic!("expected one event, got {}", more.len()),
        },
        other => panic!("expected events, got {other:?}"),
    }
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).expect("time")
}

fn cny(fen: i64) -> Money {
    Money::from_minor(fen, Currency::from_code("CNY").expect("CNY"))
}

/// Checks a thin order topic: `Enrich` at ingest, then one event of `event_type` at `occurred`.
async fn order_topic(name: &str, topic: &str, occurred: i64, event_type: EventType) -> EventDraft {
    let delivery = delivery(name, topic, &format!("{ORDER}:{occurred}"));
    assert_eq!(
        WeChatChannelsShop.normalise(&delivery, &ctx()),
        Ok(Normalised::Enrich)
    );
    let event = enrich(&delivery, &format!("wx-sample-{topic}")).await;
    assert_eq!(event.event_type, event_type, "event_type");
    assert_eq!(event.occurred_at, at(occurred), "occurred_at (CreateTime)");
    assert_eq!(event.status.as_deref(), Some("20"), "status (order status)");
    let order = event.order.as_ref().expect("an order");
    assert_eq!(order.external_id, ORDER);
    assert_eq!(order.status, Some(OrderStatus::Placed));
    assert_eq!(order.version.as_deref(), Some("1767170161"));
    assert_eq!(order.totals.total, Some(cny(13_600)));
    event
}

#[tokio::test]
async fn order_new_becomes_order_created() {
    let event = order_topic(
        "order-new.http",
        "channels_ec_order_new",
        1_767_170_100,
        EventType::OrderCreated,
    )
    .await;
    assert_eq!((event.payment, event.refund), (None, None));
}

#[tokio::test]
async fn order_pay_becomes_payment_succeeded() {
    let event = order_topic(
        "order-pay.http",
        "channels_ec_order_pay",
        1_767_170_160,
        EventType::PaymentSucceeded,
    )
    .await;
    assert_eq!(
        event.payment,
        Some(Payment {
            provider: "wechat-pay".into(),
            payment_id: Some("4200002987202612311234567890".into()),
            order_ref: Some(ORDER.into()),
            amount: Some(cny(13_600)),
            status: Some("paid".into()),
            method: Some("wechat_pay".into()),
            failure_reason: None,
        })
    );
}

#[tokio::test]
async fn order_wait_shipping_and_ext_info_update_become_order_updated() {
    order_topic(
        "order-wait-shipping.http",
        "channels_ec_order_wait_shipping",
        1_767_170_161,
        EventType::OrderUpdated,
    )
    .await;
    order_topic(
        "order-ext-info-update.http",
        "channels_ec_order_ext_info_update",
        1_767_171_000,
        EventType::OrderUpdated,
    )
    .await;
}

#[tokio::test]
async fn order_deliver_becomes_fulfilment_updated() {
    order_topic(
        "order-deliver.http",
        "channels_ec_order_deliver",
        1_767_260_000,
        EventType::FulfilmentUpdated,
    )
    .await;
}

#[tokio::test]
async fn order_confirm_and_settle_become_order_completed() {
    order_topic(
        "order-confirm.http",
        "channels_ec_order_confirm",
        1_767_690_000,
        EventType::OrderCompleted,
    )
    .await;
    order_topic(
        "order-settle.http",
        "channels_ec_order_settle",
        1_768_294_800,
        EventType::OrderCompleted,
    )
    .await;
}

#[tokio::test]
async fn order_cancel_becomes_order_cancelled() {
    let delivery = delivery(
        "order-cancel.http",
        "channels_ec_order_cancel",
        "3722184519028736513:1767172000",
    );
    assert_eq!(
        WeChatChannelsShop.normalise(&delivery, &ctx()),
        Ok(Normalised::Enrich)
    );
    // The API answers for the cancelled order (…513) with status 250 (cancelled).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"access_token":"T","expires_in":7200}"#),
        )
        .mount(&server)
        .await;
    let mut answer: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/order-detail.json")).expect("fixture");
    answer["order"]["order_id"] = "3722184519028736513".into();
    answer["order"]["status"] = 250.into();
    Mock::given(method("POST"))
        .and(path("/channels/ec/order/get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let creds = with(
        with(credentials(), "api_base", &server.uri()),
        "app_id",
        "wx-sample-cancel",
    );
    let Ok(Normalised::Events(events)) = WeChatChannelsShop.enrich(&delivery, &creds, &ctx()).await
    else {
        panic!("expected events");
    };
    assert_eq!(events[0].event_type, EventType::OrderCancelled);
    assert_eq!(events[0].occurred_at, at(1_767_172_000));
    assert_eq!(events[0].status.as_deref(), Some("250"));
    let order = events[0].order.as_ref().expect("order");
    assert_eq!(order.external_id, "3722184519028736513");
    assert_eq!(order.status, Some(OrderStatus::Cancelled));
}

#[tokio::test]
async fn a_finished_refund_becomes_order_refunded() {
    let delivery = delivery(
        "aftersale-refund-success.http",
        "channels_ec_aftersale_update",
        "4000000041958725342:MERCHANT_REFUND_SUCCESS:1767800000",
    );
    assert_eq!(
        WeChatChannelsShop.normalise(&delivery, &ctx()),
        Ok(Normalised::Enrich)
    );
    let event = enrich(&delivery, "wx-sample-refund").await;
    assert_eq!(event.event_type, EventType::OrderRefunded);
    assert_eq!(event.occurred_at, at(1_767_800_000));
    assert_eq!(event.status.as_deref(), Some("MERCHANT_REFUND_SUCCESS"));
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: Some("4000000041958725342".into()),
            ..Refund::default()
        })
    );
    assert_eq!(event.order.map(|o| o.external_id).as_deref(), Some(ORDER));
}

#[test]
fn other_aftersale_statuses_and_non_order_events_are_ignored() {
    let processing = delivery(
        "aftersale-processing.http",
        "channels_ec_aftersale_update",
        "4000000041958725342:MERCHANT_PROCESSING:1767700000",
    );
    assert_eq!(
        WeChatChannelsShop.normalise(&processing, &ctx()),
        Ok(Normalised::Ignored(
            "after-sale status MERCHANT_PROCESSING does not change the order; only finished refunds are published".into()
        ))
    );
    let audit_body = plaintext("product-spu-audit.http");
    let audit = delivery(
        "product-spu-audit.http",
        "product_spu_audit",
        &o2o_core::signature::sha256_hex(&audit_body),
    );
    assert_eq!(
        WeChatChannelsShop.normalise(&audit, &ctx()),
        Ok(Normalised::Ignored(
            "event product_spu_audit is not an order event".into()
        ))
    );
}

#[test]
fn the_url_verification_sample_is_answered_with_its_echostr() {
    let req = signed("url-verification.http");
    assert_eq!(req.query_param("timestamp").as_deref(), Some("1767225600"));
    assert!(req.query_param("msg_signature").is_none());
    let reply = WeChatChannelsShop
        .handshake(&req, &credentials())
        .expect("a handshake")
        .expect("verified");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "4375120948345356249")
    );
    let other_token = with(credentials(), "token", "someone-else");
    let refused = WeChatChannelsShop
        .handshake(&req, &other_token)
        .expect("a handshake");
    assert_eq!(
        refused.map_err(|r| (r.status, r.code)),
        Err((401, "signature_mismatch"))
    );
}

#[test]
fn the_path_tenant_wins_over_to_user_name() {
    let mut req = signed("order-new.http");
    req.path_tenant = Some("shop-hangzhou".into());
    let delivery = WeChatChannelsShop
        .parse(&req, &credentials())
        .expect("parses");
    assert_eq!(delivery.tenant, "shop-hangzhou");
}

#[test]
fn signing_is_deterministic_and_safe_mode_shaped() {
    let a = signed("order-new.http");
    let b = signed("order-new.http");
    assert_eq!(a, b);
    let envelope: serde_json::Value = serde_json::from_slice(&a.body).expect("JSON envelope");
    assert_eq!(envelope["ToUserName"], SHOP);
    assert!(envelope["Encrypt"].as_str().is_some_and(|e| e.len() > 100));
    assert_eq!(a.query_param("encrypt_type").as_deref(), Some("aes"));
    for name in ["signature", "timestamp", "nonce", "msg_signature"] {
        assert!(a.query_param(name).is_some(), "{name}");
    }
}

fn rejection(req: &WebhookRequest, creds: &Credentials) -> (u16, &'static str) {
    let refused = WeChatChannelsShop
        .verify(req, creds)
        .expect_err("must be refused");
    (refused.status, refused.code)
}

#[test]
fn refuses_forged_tampered_wrong_app_wrong_key_unsigned_and_replayed_pushes() {
    let creds = credentials();
    let good = signed("order-pay.http");

    let mut forged = good.clone();
    let sig = forged.query_param("msg_signature").expect("signed");
    forged.query = forged.query.replace(&sig, &"0".repeat(40));
    assert_eq!(rejection(&forged, &creds), (401, "signature_mismatch"));

    let mut tampered = good.clone();
    let mut envelope: serde_json::Value = serde_json::from_slice(&tampered.body).expect("json");
    let encrypt = envelope["Encrypt"].as_str().expect("Encrypt").to_owned();
    let flipped = if encrypt.starts_with('A') { "B" } else { "A" };
    envelope["Encrypt"] = format!("{flipped}{}", &encrypt[1..]).into();
    tampered.body = envelope.to_string().into_bytes();
    assert_eq!(rejection(&tampered, &creds), (401, "signature_mismatch"));

    let for_other_app = signed_with(
        "order-pay.http",
        &with(creds.clone(), "app_id", "wx0000000000000001"),
    );
    assert_eq!(rejection(&for_other_app, &creds), (401, "wrong_app"));

    let other_key = with(
        creds.clone(),
        "encoding_aes_key",
        "PreviousChannelsShopEncodingAesKey89abcdefg",
    );
    let under_other_key = signed_with("order-pay.http", &other_key);
    assert_eq!(
        rejection(&under_other_key, &creds),
        (401, "decryption_failed")
    );

    let mut unsigned = good.clone();
    unsigned.query = unsigned
        .query
        .split('&')
        .filter(|p| !p.starts_with("msg_signature="))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(rejection(&unsigned, &creds), (401, "signature_missing"));

    let mut plaintext_push = good.clone();
    plaintext_push.body = plaintext("order-pay.http");
    assert_eq!(
        rejection(&plaintext_push, &creds),
        (400, "plaintext_not_allowed")
    );

    let mut not_json = good.clone();
    not_json.body = b"<xml><Encrypt>x</Encrypt></xml>".to_vec();
    assert_eq!(rejection(&not_json, &creds), (400, "body_not_json"));

    let mut replayed = good.clone();
    replayed.received_at = sent_at().plus_seconds(301);
    assert_eq!(
        rejection(&replayed, &creds),
        (401, "timestamp_outside_window")
    );
    let mut early = good.clone();
    early.received_at = sent_at().plus_seconds(-301);
    assert_eq!(rejection(&early, &creds), (401, "timestamp_outside_window"));
    let mut in_window = good.clone();
    in_window.received_at = sent_at().plus_seconds(300);
    assert_eq!(WeChatChannelsShop.verify(&in_window, &creds), Ok(()));

    let mut get = good.clone();
    get.method = "GET".into();
    assert_eq!(rejection(&get, &creds), (405, "method_not_allowed"));

    let mut garbage = good;
    let mut envelope: serde_json::Value = serde_json::from_slice(&garbage.body).expect("json");
    envelope["Encrypt"] = "AAAAAAAAAAAAAAAAAAAAAA==".into();
    garbage.body = envelope.to_string().into_bytes();
    // Re-sign the garbage so only decryption can fail.
    let token = "o2oChannelsShopToken";
    let ts = garbage.query_param("timestamp").expect("ts");
    let nonce = garbage.query_param("nonce").expect("nonce");
    let sig = o2o_wechat_channels_shop::crypto::sorted_sha1_hex(&[
        token,
        &ts,
        &nonce,
        "AAAAAAAAAAAAAAAAAAAAAA==",
    ]);
    let old = garbage.query_param("msg_signature").expect("sig");
    garbage.query = garbage.query.replace(&old, &sig);
    assert_eq!(rejection(&garbage, &creds), (401, "decryption_failed"));
}

#[test]
fn a_cut_over_accepts_the_previous_pair_and_misconfiguration_is_500() {
    let old = with(
        with(credentials(), "token", "old-token"),
        "encoding_aes_key",
        "PreviousChannelsShopEncodingAesKey89abcdefg",
    );
    let signed_with_old = signed_with("order-new.http", &old);
    let rotated = with(
        with(credentials(), "previous_token", "old-token"),
        "previous_encoding_aes_key",
        "PreviousChannelsShopEncodingAesKey89abcdefg",
    );
    assert_eq!(
        WeChatChannelsShop.verify(&signed_with_old, &rotated),
        Ok(())
    );
    assert_eq!(
        WeChatChannelsShop
            .parse(&signed_with_old, &rotated)
            .map(|d| d.external_event_id),
        Ok(format!("{ORDER}:1767170100"))
    );
    // After the cut-over the old pair is gone.
    assert_eq!(
        rejection(&signed_with_old, &credentials()),
        (401, "signature_mismatch")
    );
    // New pushes still verify while the previous pair is listed.
    assert_eq!(
        WeChatChannelsShop.verify(&signed("order-new.http"), &rotated),
        Ok(())
    );

    let mut no_key = credentials();
    no_key.values.remove("encoding_aes_key");
    assert_eq!(
        rejection(&signed("order-new.http"), &no_key),
        (500, "channel_misconfigured")
    );
    let bad_key = with(credentials(), "encoding_aes_key", "too-short");
    assert_eq!(
        rejection(&signed("order-new.http"), &bad_key),
        (500, "channel_misconfigured")
    );
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("samples dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, COVERED);
}
