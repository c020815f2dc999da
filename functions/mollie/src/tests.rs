//! Verification, settings and dedup of the Mollie connector.

use o2o_core::Timestamp;
use o2o_core::settings::parse_settings;
use serde_json::{Value, json};

use super::*;

/// mollie/mollie-api-php `tests/Webhooks/SignatureValidatorTest.php` @eff0aa3f: its
/// `SIGNING_SECRET`, `ALTERNATE_SECRET` and `PAYLOAD`. The test computes the digests with PHP's
/// `hash_hmac('sha256', PAYLOAD, secret)`; these were computed independently with
/// `openssl dgst -sha256 -hmac` and Python's `hmac`, which agree.
const SDK_SECRET: &str = "test_webhook_secret";
const SDK_ALTERNATE_SECRET: &str = "alternate_webhook_secret";
const SDK_PAYLOAD: &[u8] = br#"{"id":"tr_12345","event_type":"payment-link.paid"}"#;
const SDK_DIGEST: &str = "e479a5e4aaa17db94cfc546071e10e91c0b37f21e464e751ebdd7d7ad2ffd146";
const SDK_ALTERNATE_DIGEST: &str =
    "d9a3b662172fdc140ac73ce937f49edcb72552dfbb8dfeb1696118a2c18386ef";

fn mollie_with(table: Value) -> Result<Mollie, SettingsError> {
    let mut base = json!({ "api_key": "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM" });
    if let (Some(base), Some(table)) = (base.as_object_mut(), table.as_object()) {
        base.extend(table.clone());
    }
    let table = base.as_object().cloned().unwrap_or_default();
    Mollie::build(parse_settings::<Settings>(&table, "channels.mollie")?)
}

fn mollie(secrets: &[&str]) -> Mollie {
    mollie_with(json!({ "secrets": secrets })).expect("builds")
}

fn request(body: &[u8], signatures: &[&str]) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: signatures.iter().map(|s| (SIGNATURE_HEADER, *s)).collect(),
        body: body.to_vec(),
        received_at: Timestamp::from_unix_seconds(1_764_172_800).expect("time"),
    }
}

fn refusal(connector: &Mollie, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector.verify(req).err().map(|r| (r.status, r.code))
}

#[test]
fn accepts_the_sdk_vectors_with_or_without_the_prefix() {
    let connector = mollie(&[SDK_SECRET]);
    for signature in [
        SDK_DIGEST.to_owned(),
        format!("sha256={SDK_DIGEST}"),
        SDK_DIGEST.to_uppercase(),
    ] {
        assert_eq!(
            refusal(&connector, &request(SDK_PAYLOAD, &[&signature])),
            None,
            "{signature}"
        );
    }
    // `verifies_valid_signature_from_different_header_formats`: one valid signature among others.
    let among = request(
        SDK_PAYLOAD,
        &["invalid_signature", SDK_DIGEST, "another_invalid_signature"],
    );
    assert_eq!(refusal(&connector, &among), None);
    let joined = request(SDK_PAYLOAD, &[&format!("deadbeef, sha256={SDK_DIGEST}")]);
    assert_eq!(refusal(&connector, &joined), None, "joined by a gateway");
    // `throws_exception_for_invalid_signature`.
    assert_eq!(
        refusal(&connector, &request(SDK_PAYLOAD, &["invalid_signature"])),
        Some((401, "signature_malformed"))
    );
    // `sign` writes what Mollie's SDK computes, with the prefix.
    let mut signed = request(SDK_PAYLOAD, &[]);
    connector.sign(&mut signed).expect("sign");
    assert_eq!(
        signed.headers.get(SIGNATURE_HEADER),
        Some(format!("sha256={SDK_DIGEST}").as_str())
    );
}

#[test]
fn any_listed_secret_verifies_during_a_rotation() {
    // `verifies_valid_signature_from_multiple_secrets`, `accepts_any_valid_signature_during_migration`.
    let rotating = mollie(&[SDK_SECRET, SDK_ALTERNATE_SECRET]);
    for digest in [SDK_DIGEST, SDK_ALTERNATE_DIGEST] {
        assert_eq!(refusal(&rotating, &request(SDK_PAYLOAD, &[digest])), None);
    }
    let three = mollie(&["invalid_secret", SDK_SECRET, "another_invalid_secret"]);
    assert_eq!(refusal(&three, &request(SDK_PAYLOAD, &[SDK_DIGEST])), None);
    // The newest secret signs.
    let mut signed = request(SDK_PAYLOAD, &[]);
    mollie(&[SDK_ALTERNATE_SECRET, SDK_SECRET])
        .sign(&mut signed)
        .expect("sign");
    assert_eq!(
        signed.headers.get(SIGNATURE_HEADER),
        Some(format!("sha256={SDK_ALTERNATE_DIGEST}").as_str())
    );
}

#[test]
fn refuses_a_tampered_body_a_wrong_key_and_a_missing_or_malformed_signature() {
    let connector = mollie(&[SDK_SECRET]);
    let tampered = br#"{"id":"tr_12346","event_type":"payment-link.paid"}"#;
    assert_eq!(
        refusal(&connector, &request(tampered, &[SDK_DIGEST])),
        Some((401, "signature_mismatch"))
    );
    assert_eq!(
        refusal(
            &mollie(&["another_secret"]),
            &request(SDK_PAYLOAD, &[SDK_DIGEST])
        ),
        Some((401, "signature_mismatch"))
    );
    // A JSON body without a signature is a next-gen event that is not signed.
    assert_eq!(
        refusal(&connector, &request(SDK_PAYLOAD, &[])),
        Some((401, "signature_missing"))
    );
    assert_eq!(
        refusal(&connector, &request(SDK_PAYLOAD, &["  "])),
        Some((401, "signature_missing"))
    );
    for malformed in ["sha256=", "sha256=zz", &SDK_DIGEST[..62], "sha1=abcd"] {
        assert_eq!(
            refusal(&connector, &request(SDK_PAYLOAD, &[malformed])),
            Some((401, "signature_malformed")),
            "{malformed}"
        );
    }
    // A signature that does not match wins over a malformed one.
    let both = request(tampered, &["zz", SDK_DIGEST]);
    assert_eq!(
        refusal(&connector, &both),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn a_signed_webhook_without_secrets_is_refused_not_trusted() {
    let classic_only = mollie_with(json!({})).expect("builds without secrets");
    assert_eq!(
        refusal(&classic_only, &request(SDK_PAYLOAD, &[SDK_DIGEST])),
        Some((401, "next_gen_not_configured"))
    );
    let mut req = request(SDK_PAYLOAD, &[]);
    assert_eq!(classic_only.sign(&mut req), Err(SignatureError::NoSecret));
    // A classic webhook needs no secret, and is not signed.
    let mut classic = request(b"id=tr_5B8cwPMGnU6qLbRvo7qEZo", &[]);
    assert_eq!(classic_only.sign(&mut classic), Ok(()));
    assert_eq!(classic.headers.get(SIGNATURE_HEADER), None);
    assert_eq!(refusal(&classic_only, &classic), None);
}

#[test]
fn a_classic_webhook_is_checked_for_its_shape_only() {
    let connector = mollie(&[SDK_SECRET]);
    // docs.mollie.com `reference/webhooks`: the example body.
    let req = request(b"id=tr_5B8cwPMGnU6qLbRvo7qEZo", &[]);
    assert_eq!(refusal(&connector, &req), None);
    assert_eq!(
        refusal(&connector, &request(b"", &[])),
        Some((400, "payment_id_missing"))
    );
    assert_eq!(
        refusal(&connector, &request(b"foo=bar", &[])),
        Some((400, "payment_id_missing"))
    );
    for bad in [
        &b"id=ord_kEn1PlbGa"[..],
        b"id=tr_../../v2/refunds",
        b"id=tr_",
        b"id=tr_1&id=tr_2",
    ] {
        assert_eq!(
            refusal(&connector, &request(bad, &[])),
            Some((400, "payment_id_malformed")),
            "{bad:?}"
        );
    }
}

#[test]
fn every_classic_post_is_a_new_delivery_of_its_payment() {
    let connector = mollie(&[SDK_SECRET]);
    let at = |seconds: i64| {
        let mut req = request(b"id=tr_WDqYK6vllg", &[]);
        req.received_at = Timestamp::from_unix_seconds(seconds).expect("time");
        req
    };
    let id = |req: &WebhookRequest| connector.parse(&Verified::body(req)).expect("parses").id;
    let first = id(&at(1_764_172_800));
    assert_eq!(
        first,
        DeliveryId {
            tenant: "_".into(),
            external_event_id: "tr_WDqYK6vllg:1764172800000".into(),
            topic: "payment".into(),
        }
    );
    assert_ne!(
        first,
        id(&at(1_764_172_801)),
        "a later post is fetched again"
    );
    let mut tenant = at(1_764_172_800);
    tenant.path_tenant = Some("shop-nl".into());
    assert_eq!(id(&tenant).tenant, "shop-nl");
}

#[test]
fn settings_name_what_is_wrong() {
    assert!(mollie_with(json!({})).is_ok());
    for (table, setting) in [
        (json!({ "api_key": "" }), "api_key"),
        (json!({ "api_key": " test_x" }), "api_key"),
        (json!({ "secrets": [] }), "secrets"),
        (
            json!({ "order_ref_metadata_key": " " }),
            "order_ref_metadata_key",
        ),
        (json!({ "api_base": "api.mollie.com" }), "api_base"),
        (json!({ "api_timeout_ms": 0 }), "api_timeout_ms"),
        (json!({ "orders_tenant": "x" }), "orders_tenant"),
        (json!({ "webhook_secret": "x" }), "webhook_secret"),
    ] {
        let error = mollie_with(table).expect_err("refused").to_string();
        assert!(error.contains(setting), "{setting}: {error}");
        assert!(!error.contains("test_dHar4XY7"), "{error}");
    }
    let debug = format!("{:?}", mollie(&["s3cr3t-signing"]));
    assert!(
        !debug.contains("s3cr3t-signing") && !debug.contains("test_dHar4XY7"),
        "{debug}"
    );
}

#[test]
fn the_channel_is_a_payment_provider_answering_an_empty_200() {
    let info = Mollie::info();
    assert_eq!(
        (info.id, info.kind, info.get_requests),
        ("mollie", ChannelKind::Payment, GetRequests::Never)
    );
    let ack = mollie(&[SDK_SECRET]).ack();
    assert_eq!((ack.status, ack.body.as_str()), (200, ""));
}
