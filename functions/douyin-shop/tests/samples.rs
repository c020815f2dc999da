//! Every sample delivery in `events/douyin-shop/` is signed as the platform signs it, verified,
//! split into its records, parsed and normalised here, and checked field by field against the
//! sample's JSON (expected values typed by hand from the files, not from the connector).
//!
//! Trade messages are thin: a mapped record normalises to `Enrich` (the order itself is tested
//! in `tests/enrich.rs`). Ids above 2^53 (`p_id` 4837328765348566675) stay exact.

use std::path::{Path, PathBuf};

use o2o_core::connector::{DeliveryId, Normalised, Verified};
use o2o_core::event::EventType;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, ConnectorEntry, Outcome, Timestamp, WebhookRequest};
use o2o_douyin_shop::{ACK_BODY, DouyinShop, Settings};
use o2o_testkit::samples::{dev_connector, dev_connector_with, dev_table, read};
use serde_json::json;

/// The sample files, one test each ([`every_sample_has_a_test`] keeps this complete).
const COVERED: &[&str] = &[
    "batch-create-and-paid.http",
    "product-change.http",
    "refund-success.http",
    "test-push.http",
    "trade-amount-changed.http",
    "trade-canceled.http",
    "trade-create.http",
    "trade-paid.http",
    "trade-seller-ship.http",
    "trade-success.http",
];

/// The values of `[channels.douyin-shop]` in o2o.toml.
const APP_KEY: &str = "7000000000000000001";
const APP_SECRET: &str = "dev-douyin-app-secret";

/// The connector built from `[channels.douyin-shop]` in o2o.toml.
fn connector() -> DouyinShop {
    dev_connector::<DouyinShop>()
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600).expect("2026-01-01T00:00:00Z")
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/douyin-shop")
}

/// The sample, signed by `connector` (its app key and newest secret).
fn signed_by(name: &str, connector: &DouyinShop) -> WebhookRequest {
    assert!(COVERED.contains(&name), "add {name} to COVERED");
    let bytes = std::fs::read(samples_dir().join(name)).expect("sample file");
    parse_sample(&bytes)
        .expect("an HTTP request")
        .signed(connector, received_at())
        .expect("signed")
}

/// The sample, signed with the dev settings.
fn signed(name: &str) -> WebhookRequest {
    signed_by(name, &connector())
}

/// What `normalise` made of a record; a thin reading as (event type, p_id to fetch).
type Reading = Normalised<(EventType, String)>;

/// What one record of a delivery became.
struct Parsed {
    /// The record's bytes, as split from the body.
    record: Vec<u8>,
    id: DeliveryId,
    normalised: Reading,
}

/// Verifies, splits, parses and normalises a sample as the pipeline does.
fn run(name: &str) -> Vec<Parsed> {
    let connector = connector();
    let req = signed(name);
    assert_eq!(req.headers.get("app-id"), Some(APP_KEY));
    let verified = connector.verify(&req).expect(name);
    assert_eq!(verified.payload.as_ref(), req.body.as_slice(), "{name}");
    let records = connector
        .split_records(&verified)
        .expect("the body is a JSON array");
    records
        .into_iter()
        .map(|body| {
            let record = WebhookRequest {
                body,
                ..req.clone()
            };
            let (id, normalised) = read(&connector, &record).expect("a readable record");
            let normalised = match normalised.expect("normalised") {
                Normalised::Enrich(thin) => Normalised::Enrich((thin.event_type, thin.p_id)),
                Normalised::Events(events) => Normalised::Events(events),
                Normalised::Ignored(reason) => Normalised::Ignored(reason),
            };
            Parsed {
                record: record.body,
                id,
                normalised,
            }
        })
        .collect()
}

/// A mapped record: enriched later, from the order `p_id`.
fn enrich(event_type: EventType, p_id: &str) -> Reading {
    Normalised::Enrich((event_type, p_id.to_owned()))
}

/// A one-record sample: tenant, msg_id, tag and what it becomes.
fn single(name: &str, tenant: &str, msg_id: &str, tag: &str, normalised: Reading) {
    let parsed = run(name);
    assert_eq!(parsed.len(), 1, "{name}: one record");
    let p = &parsed[0];
    assert_eq!(p.id.tenant, tenant, "{name}: tenant (data.shop_id)");
    assert_eq!(p.id.external_event_id, msg_id, "{name}: msg_id");
    assert_eq!(p.id.topic, tag, "{name}: tag");
    assert_eq!(p.normalised, normalised, "{name}");
}

#[test]
fn trade_create() {
    single(
        "trade-create.http",
        "77977",
        "7029318221542309675:100:1630373400:4837328765348566675",
        "100",
        enrich(EventType::OrderCreated, "4837328765348566675"),
    );
}

#[test]
fn trade_paid_keeps_the_record_bytes_and_big_ids() {
    single(
        "trade-paid.http",
        "77977",
        "7029318221542309675:101:1630373504:4837328765348566675",
        "101",
        enrich(EventType::PaymentSucceeded, "4837328765348566675"),
    );
    let parsed = run("trade-paid.http");
    let payload = String::from_utf8(parsed[0].record.clone()).expect("utf-8");
    assert!(
        payload.starts_with(r#"{"tag":"101","msg_id":"#),
        "{payload}"
    );
    assert!(payload.contains(r#"\"p_id\":4837328765348566675"#));
    assert!(payload.contains(r#"\"pay_amount\":1990"#));
}

#[test]
fn trade_seller_ship() {
    single(
        "trade-seller-ship.http",
        "77977",
        "7029318221542309675:102:1630459904:4837328765348566675",
        "102",
        enrich(EventType::FulfilmentUpdated, "4837328765348566675"),
    );
}

#[test]
fn trade_success() {
    single(
        "trade-success.http",
        "77977",
        "7029318221542309675:103:1631064704:4837328765348566675",
        "103",
        enrich(EventType::OrderCompleted, "4837328765348566675"),
    );
}

#[test]
fn trade_canceled() {
    single(
        "trade-canceled.http",
        "77977",
        "7029318221542309676:106:1630374000:4837328765348566690",
        "106",
        enrich(EventType::OrderCancelled, "4837328765348566690"),
    );
}

#[test]
fn trade_amount_changed() {
    single(
        "trade-amount-changed.http",
        "77977",
        "7029318221542309677:109:1630373460:4837328765348566675",
        "109",
        enrich(EventType::OrderUpdated, "4837328765348566675"),
    );
}

#[test]
fn refund_success() {
    single(
        "refund-success.http",
        "77977",
        "7029318221542309678:206:1631151104:7006431234567890123",
        "206",
        enrich(EventType::OrderRefunded, "4837328765348566675"),
    );
}

#[test]
fn product_change_is_ignored() {
    single(
        "product-change.http",
        "77977",
        "7029318221542309681:400:1630380200:3473196049974326153",
        "400",
        Normalised::Ignored("tag 400 is not mapped".into()),
    );
}

#[test]
fn a_multi_record_delivery_becomes_one_delivery_per_msg_id() {
    let parsed = run("batch-create-and-paid.http");
    let summary: Vec<(&str, &str, &str)> = parsed
        .iter()
        .map(|p| {
            (
                p.id.tenant.as_str(),
                p.id.topic.as_str(),
                p.id.external_event_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "77977",
                "100",
                "7029318221542309679:100:1630380000:4837328765348566700"
            ),
            (
                "77977",
                "101",
                "7029318221542309679:101:1630380060:4837328765348566700"
            ),
            (
                "77977",
                "400",
                "7029318221542309680:400:1630380100:3473196049974326153"
            ),
        ]
    );
    let outcomes: Vec<&Reading> = parsed.iter().map(|p| &p.normalised).collect();
    assert_eq!(
        outcomes,
        [
            &enrich(EventType::OrderCreated, "4837328765348566700"),
            &enrich(EventType::PaymentSucceeded, "4837328765348566700"),
            &Normalised::Ignored("tag 400 is not mapped".into())
        ]
    );
    // Each record is exactly its bytes in the body, in order.
    let body = signed("batch-create-and-paid.http").body;
    let joined = format!(
        "[{}]",
        parsed
            .iter()
            .map(|p| String::from_utf8(p.record.clone()).expect("utf-8"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(joined.as_bytes(), body.as_slice());
}

#[test]
fn the_test_push_is_answered_without_queueing() {
    let connector = connector();
    let req = signed("test-push.http");
    let reply = connector
        .handshake(&req)
        .expect("a handshake")
        .expect("accepted");
    assert_eq!((reply.status, reply.body.as_str()), (200, ACK_BODY));
    assert_eq!(reply.content_type, "application/json");
    // Unsigned (the platform may not sign it): still answered, nothing else happens.
    let mut unsigned = req.clone();
    let mut headers = o2o_core::Headers::new();
    headers.insert("Content-Type", "application/json");
    unsigned.headers = headers;
    assert_eq!(
        connector.handshake(&unsigned).map(|r| r.map(|r| r.body)),
        Some(Ok(ACK_BODY.to_owned()))
    );
    // Signed but tampered: refused.
    let mut tampered = req.clone();
    tampered.body = tampered
        .body
        .iter()
        .map(|b| if *b == b'7' { b'8' } else { *b })
        .collect();
    assert_eq!(
        connector
            .handshake(&tampered)
            .map(|r| r.map_err(|e| (e.status, e.code))),
        Some(Err((401, "signature_mismatch")))
    );
    // As a record of a normal delivery it is ignored.
    single(
        "test-push.http",
        APP_KEY,
        "0",
        "0",
        Normalised::Ignored("test message".into()),
    );
    // Real messages are no handshake.
    assert!(connector.handshake(&signed("trade-paid.http")).is_none());
}

#[tokio::test]
async fn forged_tampered_wrong_app_and_unsigned_deliveries_are_refused() {
    let connector = connector();
    let code = |connector: &DouyinShop, req: &WebhookRequest| {
        connector
            .verify(req)
            .map(|_| ())
            .map_err(|r| (r.status, r.code))
    };
    let req = signed("trade-paid.http");
    assert_eq!(code(&connector, &req), Ok(()));
    // Tampered: one byte of the amount changed.
    let mut tampered = req.clone();
    let text = String::from_utf8(tampered.body).expect("utf-8");
    tampered.body = text.replace("1990", "1991").into_bytes();
    assert_eq!(
        code(&connector, &tampered),
        Err((401, "signature_mismatch"))
    );
    // Forged: signed with another secret.
    let forger = dev_connector_with::<DouyinShop>(&[("secrets", json!(["not-the-app-secret"]))]);
    let forged = signed_by("trade-paid.http", &forger);
    assert_eq!(code(&connector, &forged), Err((401, "signature_mismatch")));
    // Wrong app: the header names another app (the signature is right for that app's key).
    let other = dev_connector_with::<DouyinShop>(&[("app_key", json!("7000000000000000002"))]);
    let wrong_app = signed_by("trade-paid.http", &other);
    assert_eq!(wrong_app.headers.get("app-id"), Some("7000000000000000002"));
    assert_eq!(code(&other, &wrong_app), Ok(()));
    assert_eq!(code(&connector, &wrong_app), Err((401, "wrong_app")));
    // No signature.
    let mut unsigned = req.clone();
    let mut headers = o2o_core::Headers::new();
    headers.insert("app-id", APP_KEY);
    unsigned.headers = headers;
    assert_eq!(code(&connector, &unsigned), Err((401, "signature_missing")));
    // Rotation: the old secret, still listed second, verifies.
    let rotated =
        dev_connector_with::<DouyinShop>(&[("secrets", json!(["newer-secret", APP_SECRET]))]);
    assert_eq!(code(&rotated, &req), Ok(()));
    // ... and the newest one signs.
    assert_eq!(
        code(&connector, &signed_by("trade-paid.http", &rotated)),
        Err((401, "signature_mismatch"))
    );
    // GET is not a delivery: the pipeline answers 405 (POST only: no GET handshake) before
    // the connector verifies anything.
    let mut get = req.clone();
    get.method = "GET".into();
    assert_eq!(
        DouyinShop::info().get_requests,
        o2o_core::GetRequests::Never
    );
    assert!(connector.handshake(&get).is_none());
    let pipeline = o2o_testkit::connector::untouched_pipeline();
    let handled = pipeline.ingest(&connector, &get).await;
    assert_eq!(
        handled.outcome,
        Outcome::Rejected(DouyinShop::info().method_not_allowed())
    );
    assert_eq!(handled.reply.status, 405);
}

#[test]
fn bodies_that_are_not_arrays_are_not_split_and_do_not_parse() {
    let connector = connector();
    let split = |body: &[u8]| {
        let mut req = signed("trade-paid.http");
        req.body = body.to_vec();
        connector.split_records(&Verified::body(&req))
    };
    assert_eq!(split(b"{\"tag\":\"101\"}"), None);
    assert_eq!(split(b"not json"), None);
    assert_eq!(split(b"[]"), Some(vec![]));
    let mut req = signed("trade-paid.http");
    req.body = b"not json".to_vec();
    assert!(read(&connector, &req).is_err());
    // A record whose data is not JSON: parse fails (quarantine).
    req.body = br#"{"tag":"101","msg_id":"m","data":"oops"}"#.to_vec();
    assert!(read(&connector, &req).is_err());
    // The URL's tenant wins over data.shop_id.
    req.body = br#"{"tag":"101","msg_id":"m","data":"{\"shop_id\":77977,\"p_id\":1}"}"#.to_vec();
    req.path_tenant = Some("my-shop".into());
    assert_eq!(
        read(&connector, &req).map(|(id, _)| id.tenant),
        Ok("my-shop".into())
    );
}

/// A missing or malformed setting used to surface per delivery (a 500, or a transient
/// enrichment error); the settings now refuse it when the channel is built, naming it.
#[test]
fn bad_settings_stop_start_up_and_name_the_setting() {
    let label = "channels.douyin-shop";
    let build = |changes: &[(&str, Option<serde_json::Value>)]| {
        let mut table = dev_table("douyin-shop");
        for (name, value) in changes {
            match value {
                Some(value) => table.insert((*name).to_owned(), value.clone()),
                None => table.remove(*name),
            };
        }
        (ConnectorEntry::of::<DouyinShop>().build)(&table, label)
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(build(&[]), None, "the dev table builds");
    for missing in ["app_key", "secrets", "access_token"] {
        assert_eq!(
            build(&[(missing, None)]),
            Some(format!("{label}: missing field `{missing}`"))
        );
    }
    assert_eq!(
        build(&[("secrets", Some(json!([])))]),
        Some(format!("{label}.secrets: lists no secret"))
    );
    assert_eq!(
        build(&[("app_key", Some(json!("")))]),
        Some(format!("{label}.app_key: is empty"))
    );
    // A per-shop token names its shop; a key without one is a typo, refused.
    assert_eq!(build(&[("access_token_77977", Some(json!("t")))]), None);
    assert_eq!(
        build(&[("access_token_", Some(json!("t")))]),
        Some(format!(
            "{label}.access_token_: unknown setting (per-shop tokens are access_token_<shop_id>)"
        ))
    );
    assert_eq!(
        build(&[("acces_token", Some(json!("t")))]),
        Some(format!(
            "{label}.acces_token: unknown setting (per-shop tokens are access_token_<shop_id>)"
        ))
    );
    assert_eq!(
        build(&[("api_base", Some(json!("not a url")))]),
        Some(format!("{label}.api_base: not a URL"))
    );
    // The typed settings say the same without the registry.
    let mut table = dev_table("douyin-shop");
    table.remove("app_key");
    assert_eq!(
        parse_settings::<Settings>(&table, label)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(format!("{label}: missing field `app_key`"))
    );
}

#[test]
fn the_ack_is_the_sdk_success_reply() {
    let reply = connector().ack();
    assert_eq!(
        (
            reply.status,
            reply.content_type.as_str(),
            reply.body.as_str()
        ),
        (200, "application/json", r#"{"code":0,"msg":"success"}"#)
    );
}

#[test]
fn every_sample_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("samples dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".http"))
        .collect();
    files.sort();
    assert_eq!(files, COVERED);
    assert!(files.contains(&DouyinShop::info().default_sample.to_owned()));
}
