//! Every sample delivery in `events/tiktok-shop/` is signed as TikTok would sign it, verified,
//! parsed and normalised here. The expected values are read from the files by hand.
//!
//! TikTok Shop webhooks are thin: a mapped type normalises to `Enrich`, and the unified events
//! (asserted field by field) come from `tests/enrich.rs`, which enriches every one of these
//! samples against a mock of Get Order Detail.

mod common;

use common::order_detail::{ORDER_A, ORDER_B};
use common::{
    APP_SECRET, SHOP_ID, build, connector, received_at, samples_dir, settings, signed_sample,
};
use o2o_core::connector::NormaliseContext;
use o2o_core::{Connector, Normalised, Secret, Secrets, WebhookRequest};
use o2o_tiktok_shop::{SIGNATURE_HEADER, TikTokShop};

/// (file, topic, tts_notification_id, mapped): every sample, in directory order.
const COVERED: &[(&str, &str, &str, bool)] = &[
    (
        "cancellation-status-success.http",
        "11",
        "7572101936415016101",
        true,
    ),
    (
        "order-status-awaiting-collection.http",
        "1",
        "7572101936415016004",
        true,
    ),
    (
        "order-status-awaiting-shipment.http",
        "1",
        "7572101936415016003",
        true,
    ),
    ("order-status-cancel.http", "1", "7572101936415016102", true),
    (
        "order-status-completed.http",
        "1",
        "7572101936415016007",
        true,
    ),
    (
        "order-status-delivered.http",
        "1",
        "7572101936415016006",
        true,
    ),
    (
        "order-status-in-transit.http",
        "1",
        "7572101936415016005",
        true,
    ),
    (
        "order-status-on-hold.http",
        "1",
        "7572101936415016002",
        true,
    ),
    ("order-status-unpaid.http", "1", "7572101936415016001", true),
    (
        "return-status-complete.http",
        "12",
        "7572101936415016201",
        true,
    ),
    (
        "seller-deauthorization.http",
        "6",
        "7572101936415016301",
        false,
    ),
];

#[test]
fn every_sample_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("events/tiktok-shop exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let covered: Vec<&str> = COVERED.iter().map(|c| c.0).collect();
    assert_eq!(files, covered);
    assert!(
        covered.contains(&TikTokShop::info().default_sample),
        "the default sample exists"
    );
}

#[test]
fn every_sample_verifies_parses_and_normalises() {
    let ctx = NormaliseContext {
        received_at: received_at(),
    };
    let connector = connector(None);
    for &(name, topic, notification_id, mapped) in COVERED {
        let req = signed_sample(name);
        assert_eq!(req.method, "POST", "{name}");
        let signature = req.headers.get(SIGNATURE_HEADER).expect("signed");
        assert_eq!(signature.len(), 64, "{name}: hex HMAC-SHA256");
        let verified = connector
            .verify(&req)
            .unwrap_or_else(|r| panic!("{name}: {r:?}"));
        assert_eq!(
            verified.payload.as_ref(),
            req.body.as_slice(),
            "{name}: the payload is the raw body"
        );

        let parsed = connector
            .parse(&verified)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let delivery = parsed.id.clone();
        assert_eq!(delivery.tenant, SHOP_ID, "{name}: tenant (shop_id)");
        assert_eq!(delivery.topic, topic, "{name}: topic (type)");
        assert_eq!(delivery.external_event_id, notification_id, "{name}");

        let normalised = connector.normalise(&parsed.id, parsed.message, &ctx);
        match normalised {
            Ok(Normalised::Enrich(thin)) if mapped => {
                // Order B is the cancelled one; every other sample is about order A.
                let order = if name.contains("cancel") {
                    ORDER_B
                } else {
                    ORDER_A
                };
                assert_eq!(thin.order_id, order, "{name}: the order to fetch");
                let status = format!("\"{}\"", thin.status);
                assert!(
                    String::from_utf8_lossy(&req.body).contains(&status),
                    "{name}: the webhook's own status {status}"
                );
            }
            Ok(Normalised::Ignored(reason)) if !mapped => {
                assert_eq!(reason, format!("type {topic} is not mapped"), "{name}")
            }
            other => panic!("{name}: mapped {mapped}, got {other:?}"),
        }
    }
}

#[test]
fn the_path_tenant_wins_over_shop_id() {
    let mut req = signed_sample("order-status-unpaid.http");
    req.path_tenant = Some("main-shop".into());
    let connector = connector(None);
    let verified = connector.verify(&req).expect("the tenant is not signed");
    let parsed = connector.parse(&verified).expect("parse");
    assert_eq!(parsed.id.tenant, "main-shop");
}

#[test]
fn tampered_forged_wrong_app_and_unsigned_samples_are_refused() {
    let creds = connector(None);
    let refused = |req: &WebhookRequest, connector: &TikTokShop| {
        connector
            .verify(req)
            .map(|_| ())
            .map_err(|r| (r.status, r.code))
    };

    let mut tampered = signed_sample("order-status-awaiting-shipment.http");
    let body = String::from_utf8(tampered.body.clone()).expect("utf-8");
    tampered.body = body
        .replace("577801526983463123", "577801526983463124")
        .into_bytes();
    assert_eq!(refused(&tampered, &creds), Err((401, "signature_mismatch")));

    // One byte of whitespace is enough: the signature covers the exact raw bytes.
    let mut reformatted = signed_sample("order-status-awaiting-shipment.http");
    reformatted.body.insert(1, b' ');
    assert_eq!(
        refused(&reformatted, &creds),
        Err((401, "signature_mismatch"))
    );

    let mut forged = signed_sample("order-status-awaiting-shipment.http");
    forged.headers.set(SIGNATURE_HEADER, "f".repeat(64));
    assert_eq!(refused(&forged, &creds), Err((401, "signature_mismatch")));

    let req = signed_sample("order-status-awaiting-shipment.http");
    let other_app = build(o2o_tiktok_shop::Settings {
        app_key: o2o_core::Identifier::new("another-app"),
        ..settings(None)
    });
    assert_eq!(refused(&req, &other_app), Err((401, "signature_mismatch")));
    let other_secret = build(o2o_tiktok_shop::Settings {
        secrets: Secrets::new(vec![Secret::new("another-secret")]).expect("one secret"),
        ..settings(None)
    });
    assert_eq!(
        refused(&req, &other_secret),
        Err((401, "signature_mismatch"))
    );

    let mut unsigned = signed_sample("order-status-awaiting-shipment.http");
    unsigned.headers.set(SIGNATURE_HEADER, "");
    assert_eq!(refused(&unsigned, &creds), Err((401, "signature_missing")));
}

#[test]
fn rotation_accepts_the_previous_secret() {
    let req = signed_sample("order-status-delivered.http");
    let rotated = build(o2o_tiktok_shop::Settings {
        secrets: Secrets::new(vec![Secret::new("the-new-secret"), Secret::new(APP_SECRET)])
            .expect("two secrets"),
        ..settings(None)
    });
    assert_eq!(rotated.verify(&req).map(|_| ()), Ok(()));
}
