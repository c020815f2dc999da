//! Every sample delivery in `events/wechat-channels-shop/` is signed and encrypted with the
//! connector's `sign` (as WeChat would push it), verified, decrypted, parsed and normalised here,
//! and the order topics are enriched against a mock of the order API.
//!
//! Expected values are read off the sample files by hand. Pushes are thin, so `normalise` says
//! `Enrich`; the unified events come from `enrich`, whose order mapping is asserted field by field
//! in `tests/enrich.rs` (the same fixture is used here for the topic → event-type mapping).

use std::path::{Path, PathBuf};

use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError, Normalised, Parsed};
use o2o_core::event::{EventType, OrderStatus, Payment, Refund};
use o2o_core::money::{Currency, Money};
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, ConnectorEntry, Outcome, Timestamp, WebhookRequest};
use o2o_testkit::samples::{dev_connector_with, dev_table};
use o2o_wechat_channels_shop::{Message, Settings, WeChatChannelsShop};
use serde_json::{Value, json};
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

/// The test settings the samples are signed with (also the end-to-end test values), over the
/// development table.
const SETTINGS: &[(&str, &str)] = &[
    ("token", "o2oChannelsShopToken"),
    (
        "encoding_aes_key",
        "o2oWeChatChannelsShopEncodingAesKey01234567",
    ),
    ("app_id", "wx5e3a9c7b1d2f4a60"),
    ("app_secret", "o2o-test-app-secret"),
];

/// The connector built from the test settings with `changes` on top.
fn connector_with(changes: &[(&str, &str)]) -> WeChatChannelsShop {
    let table: Vec<(&str, Value)> = SETTINGS
        .iter()
        .chain(changes)
        .map(|(k, v)| (*k, json!(v)))
        .collect();
    dev_connector_with::<WeChatChannelsShop>(&table)
}

fn connector() -> WeChatChannelsShop {
    connector_with(&[])
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

/// The sample as `connector` signs (and encrypts) it.
fn signed_with(name: &str, connector: &WeChatChannelsShop) -> WebhookRequest {
    assert!(COVERED.contains(&name), "add {name} to COVERED");
    let bytes = std::fs::read(samples_dir().join(name)).expect("sample file");
    parse_sample(&bytes)
        .expect("an HTTP request")
        .signed(connector, sent_at())
        .expect("signs")
}

fn signed(name: &str) -> WebhookRequest {
    signed_with(name, &connector())
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: sent_at(),
    }
}

/// Verifies (decrypts), parses and checks the envelope every sample shares.
fn delivery(name: &str, topic: &str, external_event_id: &str) -> Parsed<Message> {
    let connector = connector();
    let req = signed(name);
    let verified = connector.verify(&req).expect("verifies");
    assert_eq!(
        verified.payload.as_ref(),
        plaintext(name).as_slice(),
        "the payload is the decrypted message"
    );
    assert!(verified.payload_differs(), "stored beside the envelope");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(parsed.id.tenant, SHOP, "tenant (ToUserName)");
    assert_eq!(parsed.id.topic, topic, "topic (Event)");
    assert_eq!(parsed.id.external_event_id, external_event_id);
    parsed
}

/// What `normalise` made of a delivery, with the thin reading left out.
fn outcome(
    normalised: &Result<Normalised<Message>, NormaliseError>,
) -> Result<Normalised<()>, String> {
    match normalised {
        Ok(Normalised::Enrich(_)) => Ok(Normalised::Enrich(())),
        Ok(Normalised::Events(events)) => Ok(Normalised::Events(events.clone())),
        Ok(Normalised::Ignored(reason)) => Ok(Normalised::Ignored(reason.clone())),
        Err(e) => Err(e.to_string()),
    }
}

/// Normalises `delivery` as ingest does: it must be thin; the message to enrich.
fn thin(delivery: Parsed<Message>) -> Message {
    match connector().normalise(&delivery.id, delivery.message, &ctx()) {
        Ok(Normalised::Enrich(message)) => message,
        other => panic!("expected a thin reading, got {:?}", outcome(&other)),
    }
}

/// Enriches `message` against a mock serving the documented-shape order detail.
async fn enrich(message: Message) -> EventDraft {
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
    let connector = connector_with(&[("api_base", &server.uri())]);
    match connector.enrich(message, &ctx()).await {
        Ok(Normalised::Events(events)) => match events.as_slice() {
            [event] => event.clone(),
            more => panic!("expected one event, got {}", more.len()),
        },
        Ok(other) => panic!("expected events, got {:?}", outcome(&Ok(other))),
        Err(e) => panic!("expected events, got {e}"),
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
    let message = thin(delivery);
    assert_eq!(message.order_id(), Ok(ORDER), "the order to fetch");
    let event = enrich(message).await;
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
            ..Payment::default()
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
    let message = thin(delivery);
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
    let connector = connector_with(&[("api_base", &server.uri())]);
    let Ok(Normalised::Events(events)) = connector.enrich(message, &ctx()).await else {
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
    let event = enrich(thin(delivery)).await;
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
    let connector = connector();
    let processing = delivery(
        "aftersale-processing.http",
        "channels_ec_aftersale_update",
        "4000000041958725342:MERCHANT_PROCESSING:1767700000",
    );
    assert_eq!(
        outcome(&connector.normalise(&processing.id, processing.message, &ctx())),
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
        outcome(&connector.normalise(&audit.id, audit.message, &ctx())),
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
    let reply = connector()
        .handshake(&req)
        .expect("a handshake")
        .expect("verified");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "4375120948345356249")
    );
    let other_token = connector_with(&[("token", "someone-else")]);
    let refused = other_token.handshake(&req).expect("a handshake");
    assert_eq!(
        refused.map_err(|r| (r.status, r.code)),
        Err((401, "signature_mismatch"))
    );
}

#[test]
fn the_path_tenant_wins_over_to_user_name() {
    let connector = connector();
    let mut req = signed("order-new.http");
    req.path_tenant = Some("shop-hangzhou".into());
    let verified = connector.verify(&req).expect("verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(parsed.id.tenant, "shop-hangzhou");
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

fn rejection(connector: &WeChatChannelsShop, req: &WebhookRequest) -> (u16, &'static str) {
    let refused = connector
        .verify(req)
        .map(|_| ())
        .expect_err("must be refused");
    (refused.status, refused.code)
}

#[tokio::test]
async fn refuses_forged_tampered_wrong_app_wrong_key_unsigned_and_replayed_pushes() {
    let shop = connector();
    let good = signed("order-pay.http");
    assert_eq!(shop.verify(&good).map(|_| ()), Ok(()));

    let mut forged = good.clone();
    let sig = forged.query_param("msg_signature").expect("signed");
    forged.query = forged.query.replace(&sig, &"0".repeat(40));
    assert_eq!(rejection(&shop, &forged), (401, "signature_mismatch"));

    let mut tampered = good.clone();
    let mut envelope: serde_json::Value = serde_json::from_slice(&tampered.body).expect("json");
    let encrypt = envelope["Encrypt"].as_str().expect("Encrypt").to_owned();
    let flipped = if encrypt.starts_with('A') { "B" } else { "A" };
    envelope["Encrypt"] = format!("{flipped}{}", &encrypt[1..]).into();
    tampered.body = envelope.to_string().into_bytes();
    assert_eq!(rejection(&shop, &tampered), (401, "signature_mismatch"));

    let for_other_app = signed_with(
        "order-pay.http",
        &connector_with(&[("app_id", "wx0000000000000001")]),
    );
    assert_eq!(rejection(&shop, &for_other_app), (401, "wrong_app"));

    let other_key = connector_with(&[(
        "encoding_aes_key",
        "PreviousChannelsShopEncodingAesKey89abcdefg",
    )]);
    let under_other_key = signed_with("order-pay.http", &other_key);
    assert_eq!(
        rejection(&shop, &under_other_key),
        (401, "decryption_failed")
    );

    let mut unsigned = good.clone();
    unsigned.query = unsigned
        .query
        .split('&')
        .filter(|p| !p.starts_with("msg_signature="))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(rejection(&shop, &unsigned), (401, "signature_missing"));

    let mut plaintext_push = good.clone();
    plaintext_push.body = plaintext("order-pay.http");
    assert_eq!(
        rejection(&shop, &plaintext_push),
        (400, "plaintext_not_allowed")
    );

    let mut not_json = good.clone();
    not_json.body = b"<xml><Encrypt>x</Encrypt></xml>".to_vec();
    assert_eq!(rejection(&shop, &not_json), (400, "body_not_json"));

    let mut replayed = good.clone();
    replayed.received_at = sent_at().plus_seconds(301);
    assert_eq!(
        rejection(&shop, &replayed),
        (401, "timestamp_outside_window")
    );
    let mut early = good.clone();
    early.received_at = sent_at().plus_seconds(-301);
    assert_eq!(rejection(&shop, &early), (401, "timestamp_outside_window"));
    let mut in_window = good.clone();
    in_window.received_at = sent_at().plus_seconds(300);
    assert_eq!(shop.verify(&in_window).map(|_| ()), Ok(()));

    // A GET without `echostr` is no handshake and no delivery: the pipeline answers 405
    // (GET only for the URL verification) before the connector verifies anything.
    let mut get = good.clone();
    get.method = "GET".into();
    assert_eq!(
        WeChatChannelsShop::info().get_requests,
        o2o_core::GetRequests::Handshake
    );
    assert!(shop.handshake(&get).is_none());
    let pipeline = o2o_testkit::connector::untouched_pipeline();
    let handled = pipeline.ingest(&shop, &get).await;
    assert_eq!(
        handled.outcome,
        Outcome::Rejected(WeChatChannelsShop::info().method_not_allowed())
    );
    assert_eq!(handled.reply.status, 405);

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
    assert_eq!(rejection(&shop, &garbage), (401, "decryption_failed"));
}

/// A missing or malformed key used to be answered 500 `channel_misconfigured` per push; the
/// keys are now decoded when the channel is built, and a bad one stops start-up, named.
#[test]
fn a_cut_over_accepts_the_previous_pair_and_misconfiguration_stops_start_up() {
    let old = connector_with(&[
        ("token", "old-token"),
        (
            "encoding_aes_key",
            "PreviousChannelsShopEncodingAesKey89abcdefg",
        ),
    ]);
    let signed_with_old = signed_with("order-new.http", &old);
    let rotated = connector_with(&[
        ("previous_token", "old-token"),
        (
            "previous_encoding_aes_key",
            "PreviousChannelsShopEncodingAesKey89abcdefg",
        ),
    ]);
    let verified = rotated
        .verify(&signed_with_old)
        .expect("the old pair verifies");
    assert_eq!(
        verified.payload.as_ref(),
        plaintext("order-new.http").as_slice()
    );
    assert_eq!(
        rotated.parse(&verified).map(|p| p.id.external_event_id),
        Ok(format!("{ORDER}:1767170100"))
    );
    // After the cut-over the old pair is gone.
    assert_eq!(
        rejection(&connector(), &signed_with_old),
        (401, "signature_mismatch")
    );
    // New pushes still verify while the previous pair is listed.
    assert_eq!(
        rotated.verify(&signed("order-new.http")).map(|_| ()),
        Ok(())
    );

    let label = "channels.wechat-channels-shop";
    let build = |changes: &[(&str, Option<&str>)]| {
        let mut table = dev_table("wechat-channels-shop");
        for (name, value) in SETTINGS {
            table.insert((*name).to_owned(), json!(value));
        }
        for (name, value) in changes {
            match value {
                Some(value) => table.insert((*name).to_owned(), json!(value)),
                None => table.remove(*name),
            };
        }
        (ConnectorEntry::of::<WeChatChannelsShop>().build)(&table, label)
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(build(&[]), None, "the test settings build");
    assert_eq!(
        build(&[("encoding_aes_key", None)]),
        Some(format!("{label}: missing field `encoding_aes_key`"))
    );
    assert_eq!(
        build(&[("encoding_aes_key", Some("too-short"))]),
        Some(format!(
            "{label}.encoding_aes_key: is not 43 base64 characters"
        ))
    );
    assert_eq!(
        build(&[("previous_encoding_aes_key", Some("too-short"))]),
        Some(format!(
            "{label}.previous_encoding_aes_key: is not 43 base64 characters"
        ))
    );
    assert_eq!(
        build(&[("encoding_aes_key", Some(""))]),
        Some(format!("{label}.encoding_aes_key: is empty"))
    );
    // The typed settings alone say the same for a missing key.
    let mut table = dev_table("wechat-channels-shop");
    table.remove("encoding_aes_key");
    assert_eq!(
        parse_settings::<Settings>(&table, label)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(format!("{label}: missing field `encoding_aes_key`"))
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
