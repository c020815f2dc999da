//! Every sample delivery in `events/douyin-shop/` is signed as the platform signs it, verified,
//! split into its records, parsed and normalised here, and checked field by field against the
//! sample's JSON (expected values typed by hand from the files, not from the connector).
//!
//! Trade messages are thin: a mapped record normalises to `Enrich` (the order itself is tested
//! in `tests/enrich.rs`). Ids above 2^53 (`p_id` 4837328765348566675) stay exact.

use std::path::{Path, PathBuf};

use o2o_core::connector::{Delivery, NormaliseContext, Normalised};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Credentials, Secret, Timestamp, WebhookRequest};
use o2o_douyin_shop::{ACK_BODY, DouyinShop};

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

fn credentials() -> Credentials {
    let mut c = Credentials {
        secrets: vec![Secret::new(APP_SECRET)],
        ..Credentials::default()
    };
    c.values.insert("app_key".into(), Secret::new(APP_KEY));
    c.values.insert(
        "access_token".into(),
        Secret::new("dev-douyin-access-token"),
    );
    c
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600).expect("2026-01-01T00:00:00Z")
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/douyin-shop")
}

/// The sample, signed with the dev credentials.
fn signed(name: &str) -> WebhookRequest {
    assert!(COVERED.contains(&name), "add {name} to COVERED");
    let bytes = std::fs::read(samples_dir().join(name)).expect("sample file");
    parse_sample(&bytes)
        .expect("an HTTP request")
        .signed(&DouyinShop, &credentials(), received_at())
        .expect("signed")
}

/// What one record of a delivery became.
struct Parsed {
    delivery: Delivery,
    normalised: Normalised,
}

/// Verifies, splits, parses and normalises a sample as the pipeline does.
fn run(name: &str) -> Vec<Parsed> {
    let req = signed(name);
    assert_eq!(req.headers.get("app-id"), Some(APP_KEY));
    assert_eq!(DouyinShop.verify(&req, &credentials()), Ok(()), "{name}");
    let records = DouyinShop
        .split_records(&req.body)
        .expect("the body is a JSON array");
    let ctx = NormaliseContext {
        received_at: received_at(),
    };
    records
        .into_iter()
        .map(|body| {
            let record = WebhookRequest {
                body,
                ..req.clone()
            };
            let delivery = DouyinShop
                .parse(&record, &credentials())
                .expect("a readable record");
            assert_eq!(delivery.payload, record.body, "the payload is the record");
            let normalised = DouyinShop.normalise(&delivery, &ctx).expect("normalised");
            Parsed {
                delivery,
                normalised,
            }
        })
        .collect()
}

/// A one-record sample: tenant, msg_id, tag and what it becomes.
fn single(name: &str, tenant: &str, msg_id: &str, tag: &str, normalised: Normalised) {
    let parsed = run(name);
    assert_eq!(parsed.len(), 1, "{name}: one record");
    let p = &parsed[0];
    assert_eq!(p.delivery.tenant, tenant, "{name}: tenant (data.shop_id)");
    assert_eq!(p.delivery.external_event_id, msg_id, "{name}: msg_id");
    assert_eq!(p.delivery.topic, tag, "{name}: tag");
    assert_eq!(p.normalised, normalised, "{name}");
}

#[test]
fn trade_create() {
    single(
        "trade-create.http",
        "77977",
        "7029318221542309675:100:1630373400:4837328765348566675",
        "100",
        Normalised::Enrich,
    );
}

#[test]
fn trade_paid_keeps_the_record_bytes_and_big_ids() {
    single(
        "trade-paid.http",
        "77977",
        "7029318221542309675:101:1630373504:4837328765348566675",
        "101",
        Normalised::Enrich,
    );
    let parsed = run("trade-paid.http");
    let payload = String::from_utf8(parsed[0].delivery.payload.clone()).expect("utf-8");
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
        Normalised::Enrich,
    );
}

#[test]
fn trade_success() {
    single(
        "trade-success.http",
        "77977",
        "7029318221542309675:103:1631064704:4837328765348566675",
        "103",
        Normalised::Enrich,
    );
}

#[test]
fn trade_canceled() {
    single(
        "trade-canceled.http",
        "77977",
        "7029318221542309676:106:1630374000:4837328765348566690",
        "106",
        Normalised::Enrich,
    );
}

#[test]
fn trade_amount_changed() {
    single(
        "trade-amount-changed.http",
        "77977",
        "7029318221542309677:109:1630373460:4837328765348566675",
        "109",
        Normalised::Enrich,
    );
}

#[test]
fn refund_success() {
    single(
        "refund-success.http",
        "77977",
        "7029318221542309678:206:1631151104:7006431234567890123",
        "206",
        Normalised::Enrich,
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
                p.delivery.tenant.as_str(),
                p.delivery.topic.as_str(),
                p.delivery.external_event_id.as_str(),
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
    let outcomes: Vec<&Normalised> = parsed.iter().map(|p| &p.normalised).collect();
    assert_eq!(
        outcomes,
        [
            &Normalised::Enrich,
            &Normalised::Enrich,
            &Normalised::Ignored("tag 400 is not mapped".into())
        ]
    );
    // Each record is exactly its bytes in the body, in order.
    let body = signed("batch-create-and-paid.http").body;
    let joined = format!(
        "[{}]",
        parsed
            .iter()
            .map(|p| String::from_utf8(p.delivery.payload.clone()).expect("utf-8"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(joined.as_bytes(), body.as_slice());
}

#[test]
fn the_test_push_is_answered_without_queueing() {
    let req = signed("test-push.http");
    let reply = DouyinShop
        .handshake(&req, &credentials())
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
        DouyinShop
            .handshake(&unsigned, &credentials())
            .map(|r| r.map(|r| r.body)),
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
        DouyinShop
            .handshake(&tampered, &credentials())
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
    assert!(
        DouyinShop
            .handshake(&signed("trade-paid.http"), &credentials())
            .is_none()
    );
}

#[test]
fn forged_tampered_wrong_app_and_unsigned_deliveries_are_refused() {
    let code = |req: &WebhookRequest, creds: &Credentials| {
        DouyinShop
            .verify(req, creds)
            .map_err(|r| (r.status, r.code))
    };
    let req = signed("trade-paid.http");
    // Tampered: one byte of the amount changed.
    let mut tampered = req.clone();
    let text = String::from_utf8(tampered.body).expect("utf-8");
    tampered.body = text.replace("1990", "1991").into_bytes();
    assert_eq!(
        code(&tampered, &credentials()),
        Err((401, "signature_mismatch"))
    );
    // Forged: signed with another secret.
    let mut forged_creds = credentials();
    forged_creds.secrets = vec![Secret::new("not-the-app-secret")];
    let forged = signed("trade-paid.http");
    let mut forged = forged;
    DouyinShop.sign(&mut forged, &forged_creds).expect("sign");
    assert_eq!(
        code(&forged, &credentials()),
        Err((401, "signature_mismatch"))
    );
    // Wrong app: the header names another app (the signature is right for that app's key).
    let mut other = credentials();
    other
        .values
        .insert("app_key".into(), Secret::new("7000000000000000002"));
    let mut wrong_app = signed("trade-paid.http");
    DouyinShop.sign(&mut wrong_app, &other).expect("sign");
    assert_eq!(code(&wrong_app, &credentials()), Err((401, "wrong_app")));
    // No signature.
    let mut unsigned = req.clone();
    let mut headers = o2o_core::Headers::new();
    headers.insert("app-id", APP_KEY);
    unsigned.headers = headers;
    assert_eq!(
        code(&unsigned, &credentials()),
        Err((401, "signature_missing"))
    );
    // Rotation: the old secret, still listed second, verifies.
    let mut rotated = credentials();
    rotated.secrets = vec![Secret::new("newer-secret"), Secret::new(APP_SECRET)];
    assert_eq!(code(&req, &rotated), Ok(()));
    // GET is not a delivery.
    let mut get = req.clone();
    get.method = "GET".into();
    assert_eq!(code(&get, &credentials()), Err((405, "method_not_allowed")));
}

#[test]
fn bodies_that_are_not_arrays_are_not_split_and_do_not_parse() {
    assert_eq!(DouyinShop.split_records(b"{\"tag\":\"101\"}"), None);
    assert_eq!(DouyinShop.split_records(b"not json"), None);
    assert_eq!(DouyinShop.split_records(b"[]"), Some(vec![]));
    let mut req = signed("trade-paid.http");
    req.body = b"not json".to_vec();
    assert!(DouyinShop.parse(&req, &credentials()).is_err());
    // A record whose data is not JSON: parse fails (quarantine).
    req.body = br#"{"tag":"101","msg_id":"m","data":"oops"}"#.to_vec();
    assert!(DouyinShop.parse(&req, &credentials()).is_err());
    // The URL's tenant wins over data.shop_id.
    req.body = br#"{"tag":"101","msg_id":"m","data":"{\"shop_id\":77977,\"p_id\":1}"}"#.to_vec();
    req.path_tenant = Some("my-shop".into());
    assert_eq!(
        DouyinShop.parse(&req, &credentials()).map(|d| d.tenant),
        Ok("my-shop".into())
    );
}

#[test]
fn the_ack_is_the_sdk_success_reply() {
    let reply = DouyinShop.ack();
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
    assert!(files.contains(&DouyinShop.info().default_sample.to_owned()));
}
