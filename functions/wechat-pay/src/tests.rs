//! Verification: the official vector, the test key pairs, rotation of platform keys and APIv3
//! keys, probes, the window, the merchant check, and the settings.

use super::*;
use o2o_core::settings::parse_settings;
use o2o_core::{Headers, Timestamp};
use serde_json::{Value, json};

const PRIVATE_KEY: &str = include_str!("../tests/keys/test-platform-private-key.pem");
const PUBLIC_KEY: &str = include_str!("../tests/keys/test-platform-public-key.pem");
const ROTATED_PRIVATE_KEY: &str = include_str!("../tests/keys/test-rotated-private-key.pem");
const ROTATED_PUBLIC_KEY: &str = include_str!("../tests/keys/test-rotated-public-key.pem");
const CERTIFICATE: &str = include_str!("../tests/keys/test-platform-certificate.pem");
const PUB_KEY_ID: &str = "PUB_KEY_ID_0000000000000000000000000000000001";
const CERT_SERIAL: &str = "3B1F6E0C2A5D4F8E9C7B6A5D4E3F2A1B0C9D8E7F";
const API_V3_KEY: &str = "o2oTestApiV3Key0123456789abcdefg";
const OLD_API_V3_KEY: &str = "o2oOldApiV3Key00123456789abcdefg";
const MCH_ID: &str = "1900000109";
/// 2025-06-01T00:00:00Z.
const NOW: i64 = 1_748_736_000;

/// wechatpay-go `core/notify/notify_test.go` @10b581e9 (`TestHandler_ParseNotifyRequest`): a
/// real notification (`PAYSCORE.USER_OPEN_SERVICE`) with its platform certificate, headers and
/// APIv3 key; the test pins `time.Now` to 1624523846.
mod official {
    pub const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIDVzCCAj+gAwIBAgIJANfOWdH1ItcBMA0GCSqGSIb3DQEBCwUAMEIxCzAJBgNV
BAYTAlhYMRUwEwYDVQQHDAxEZWZhdWx0IENpdHkxHDAaBgNVBAoME0RlZmF1bHQg
Q29tcGFueSBMdGQwHhcNMjEwNDI3MDg1NTIzWhcNMzEwNDI1MDg1NTIzWjBCMQsw
CQYDVQQGEwJYWDEVMBMGA1UEBwwMRGVmYXVsdCBDaXR5MRwwGgYDVQQKDBNEZWZh
dWx0IENvbXBhbnkgTHRkMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA
2VCTd91fnUn73Xy9DLvt/V62TVxRTEEstVdeRaZ3B3leO0pldE806mXO4RwdHXag
HQ4vGeZN0yqm++rDsGK+U3AH7kejyD2pXshNP9Cq5YwbptiLGtjcquw4HNxJQUOm
DeJf2vg6byms9RUipiq4SzbJKqJFlUpbuIPDpSpWz10PYmyCNeDGUUK65E5h2B83
4uxl1zNLYQCrkdBzb8oUxwYeP5a2DNxmjL5lsJML7DGr5znsevnoqGRwTm9fxCGf
y8wus7hwKz6clt3Whmmda7UAdb1c08hEQFVRbF14AR73xbnd8N0obCWJPCbzMCtk
aSef4FdEEgEXJiw0VAJT8wIDAQABo1AwTjAdBgNVHQ4EFgQUT1c7nd/SUO76HSoZ
umNUJv1R5PwwHwYDVR0jBBgwFoAUT1c7nd/SUO76HSoZumNUJv1R5PwwDAYDVR0T
BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAfTjxKRQMzNB/U6ZoCUS+BSNfa2Oh
0plMN6ZuzwiVVZwg1jywvv5yv04koS7Pd4i9E4gt9ZBUQXlpq+A3oOCEEHNRR6b2
kyazGRM7s0OP5X21WrbpSmKmU6K7hkfx30yYs08LVs/Q8DIhvaj1FCFeJzUCzYn/
fHMq4tsbKO0dKAeydPM/nrUZBmaYQVKMVOORGLFjFKVO7JV6Kq/R86ouhjEPgJOe
2xulNBUcjicqtZlBdEh/PWCYP2SpGVDclKm8jeo175T3EVAkdKzzmfpxtMmnMlmq
cTJOU9TxuGvNASMtjj7pYIerTx+xgZDXEVBWFW9PjJ0TV06tCRsgSHItgg==
-----END CERTIFICATE-----";
    pub const SERIAL: &str = "D7CE59D1F522D701";
    pub const TIMESTAMP: &str = "1624523846";
    pub const NONCE: &str = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz";
    pub const SIGNATURE: &str = "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXFlbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1IBLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY406ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q==";
    pub const BODY: &str = "{\"id\":\"3119dfba-e649-5eec-ab1e-3412bc4d2e17\",\"create_time\":\"2021-06-24T16:37:26+08:00\",\"resource_type\":\"encrypt-resource\",\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\",\"summary\":\"签约成功\",\"resource\":{\"original_type\":\"payscore\",\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZttevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ==\",\"associated_data\":\"payscore\",\"nonce\":\"Kj7QIyUiYx1q\"}}";
    /// The test's `mchAPIv3Key`: 16 bytes, so Go's `aes.NewCipher` makes it AES-128-GCM.
    pub const API_V3_KEY: &str = "testMchAPIv3Key0";
    pub const PLAINTEXT: &str = "{\"mchid\":\"1234567890\",\"appid\":\"054aa7d7a2a54ab5898df65bd96f001c\",\"create_time\":\"2020-06-30T12:12:00+08:00\",\"out_contract_code\":\"21640bdbd08e473e828f3206a2741c6e\"}";
}

fn table(changes: &[(&str, Value)]) -> Value {
    let mut table = json!({
        "mch_id": MCH_ID,
        "app_id": "wxd678efh567hg6787",
        "api_v3_key": API_V3_KEY,
        "platform_public_keys": { PUB_KEY_ID: PUBLIC_KEY },
        "test_signing_key": PRIVATE_KEY,
        "test_signing_serial": PUB_KEY_ID,
    });
    if let Some(object) = table.as_object_mut() {
        for (name, value) in changes {
            match value {
                Value::Null => object.remove(*name),
                value => object.insert((*name).to_owned(), value.clone()),
            };
        }
    }
    table
}

fn build(table: &Value) -> Result<WeChatPay, SettingsError> {
    let settings = table.as_object().cloned().unwrap_or_default();
    WeChatPay::build(parse_settings::<Settings>(
        &settings,
        "channels.wechat-pay",
    )?)
}

fn connector(changes: &[(&str, Value)]) -> WeChatPay {
    build(&table(changes)).unwrap_or_else(|e| panic!("{e}"))
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).expect("a time")
}

fn request(headers: &[(&str, &str)], body: &str, received_at: i64) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: headers.iter().copied().collect::<Headers>(),
        body: body.as_bytes().to_vec(),
        received_at: at(received_at),
    }
}

/// A payment notification as a sample holds it, signed by `signer` at `NOW`.
fn signed_payment(signer: &WeChatPay, mchid: &str, appid: &str) -> WebhookRequest {
    let body = json!({
        "id": "EV-2018022511223320873",
        "create_time": "2025-06-01T08:00:01+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": {
            "original_type": "transaction",
            "algorithm": "AEAD_AES_256_GCM",
            "associated_data": "transaction",
            "nonce": "fdasflkja484",
            "plaintext": {
                "mchid": mchid, "appid": appid, "out_trade_no": "1217752501201407033233368018",
                "transaction_id": "4200000000000000000000000001", "trade_state": "SUCCESS",
                "trade_type": "JSAPI", "success_time": "2025-06-01T08:00:00+08:00",
                "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"}
            }
        }
    });
    let mut req = request(&[], &body.to_string(), NOW);
    signer.sign(&mut req).expect("signs");
    req
}

fn refusal(connector: &WeChatPay, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector.verify(req).err().map(|r| (r.status, r.code))
}

#[test]
fn the_official_notification_verifies_and_its_resource_decrypts() {
    let connector = connector(&[
        ("mch_id", json!("1234567890")),
        ("app_id", json!("054aa7d7a2a54ab5898df65bd96f001c")),
        (
            "platform_public_keys",
            json!({ official::SERIAL: official::CERTIFICATE }),
        ),
        ("test_signing_key", Value::Null),
        ("test_signing_serial", Value::Null),
    ]);
    let headers = [
        ("Content-Type", "application/json"),
        ("Wechatpay-Nonce", official::NONCE),
        ("Wechatpay-Timestamp", official::TIMESTAMP),
        ("Wechatpay-Serial", official::SERIAL),
        ("Wechatpay-Signature", official::SIGNATURE),
    ];
    let req = request(&headers, official::BODY, 1_624_523_846);
    assert_eq!(connector.check_signature(&req), Ok(()));
    // The serial is hex: its case does not matter.
    let mut lower = req.clone();
    lower
        .headers
        .set(SERIAL_HEADER, official::SERIAL.to_ascii_lowercase());
    assert_eq!(connector.check_signature(&lower), Ok(()));

    // The vector's APIv3 key has 16 bytes (AES-128-GCM in Go); a real one has 32, so the
    // connector refuses it as a setting and the resource is opened with it directly here.
    let notification = payload::notification(official::BODY.as_bytes()).expect("envelope");
    let ciphertext = crypto::base64_decode(&notification.resource.ciphertext).expect("base64");
    let plaintext = crypto::open(
        official::API_V3_KEY.as_bytes(),
        &notification.resource.nonce,
        &notification.resource.associated_data,
        &ciphertext,
    )
    .expect("decrypts");
    assert_eq!(plaintext, official::PLAINTEXT.as_bytes());
    connector.check_merchant(&plaintext).expect("names mch_id");
    assert_eq!(
        refusal(&connector, &req),
        Some((401, "decryption_failed")),
        "the configured 32-byte key does not open it"
    );

    for (name, mut bad) in [
        (
            "tampered body",
            request(
                &headers,
                &official::BODY.replace("签约", "解约"),
                1_624_523_846,
            ),
        ),
        (
            "other nonce",
            request(&headers, official::BODY, 1_624_523_846),
        ),
    ] {
        if name == "other nonce" {
            bad.headers
                .set(NONCE_HEADER, "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBZ");
        }
        let refused = connector.check_signature(&bad).expect_err(name);
        assert_eq!(
            (refused.status, refused.code),
            (401, "signature_mismatch"),
            "{name}"
        );
    }
    // The SDK's window: 300 s either side.
    for (received_at, ok) in [
        (1_624_523_846 + 300, true),
        (1_624_523_846 - 300, true),
        (1_624_523_846 + 301, false),
        (1_624_523_846 - 301, false),
    ] {
        let result = connector.check_signature(&request(&headers, official::BODY, received_at));
        match ok {
            true => assert_eq!(result, Ok(()), "{received_at}"),
            false => assert_eq!(
                result.map_err(|r| (r.status, r.code)),
                Err((401, "timestamp_outside_window")),
                "{received_at}"
            ),
        }
    }
}

#[test]
fn a_signed_sample_verifies_and_its_plaintext_is_the_payload() {
    let connector = connector(&[]);
    let req = signed_payment(&connector, MCH_ID, "wxd678efh567hg6787");
    for name in [
        TIMESTAMP_HEADER,
        NONCE_HEADER,
        SERIAL_HEADER,
        SIGNATURE_HEADER,
    ] {
        assert!(req.headers.get(name).is_some(), "{name}");
    }
    assert_eq!(req.headers.get(TIMESTAMP_HEADER), Some("1748736000"));
    assert_eq!(req.headers.get(SERIAL_HEADER), Some(PUB_KEY_ID));
    let body: Value = serde_json::from_slice(&req.body).expect("json");
    assert!(body["resource"].get("plaintext").is_none());
    assert_eq!(body["resource"]["nonce"], "fdasflkja484");
    assert_eq!(body["resource"]["associated_data"], "transaction");
    let verified = connector.verify(&req).expect("verifies");
    let plaintext: Value = serde_json::from_slice(&verified.payload).expect("json");
    assert_eq!(plaintext["out_trade_no"], "1217752501201407033233368018");
    assert!(verified.payload_differs());
    let reopened = connector.reopen(&req).expect("reopens");
    assert_eq!(reopened.payload, verified.payload);
    // Signing is deterministic (RSA PKCS#1 v1.5, nonces derived from the content).
    assert_eq!(
        signed_payment(&connector, MCH_ID, "wxd678efh567hg6787"),
        req
    );
}

#[test]
fn a_changed_body_or_header_is_refused() {
    let connector = connector(&[]);
    let req = signed_payment(&connector, MCH_ID, "wxd678efh567hg6787");
    let mut tampered = req.clone();
    let middle = tampered.body.len() / 2;
    tampered.body[middle] ^= 1;
    assert_eq!(
        refusal(&connector, &tampered),
        Some((401, "signature_mismatch"))
    );
    let mut trailing = req.clone();
    trailing.body.push(b' ');
    assert_eq!(
        refusal(&connector, &trailing),
        Some((401, "signature_mismatch"))
    );
    let mut nonce = req.clone();
    nonce.headers.set(NONCE_HEADER, "0".repeat(32));
    assert_eq!(
        refusal(&connector, &nonce),
        Some((401, "signature_mismatch"))
    );
    let mut timestamp = req.clone();
    timestamp
        .headers
        .set(TIMESTAMP_HEADER, (NOW + 1).to_string());
    assert_eq!(
        refusal(&connector, &timestamp),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn another_key_under_the_same_serial_is_refused() {
    let receiver = connector(&[]);
    let other = connector(&[
        (
            "platform_public_keys",
            json!({ PUB_KEY_ID: ROTATED_PUBLIC_KEY }),
        ),
        ("test_signing_key", json!(ROTATED_PRIVATE_KEY)),
    ]);
    let req = signed_payment(&other, MCH_ID, "wxd678efh567hg6787");
    assert_eq!(refusal(&receiver, &req), Some((401, "signature_mismatch")));
}

#[test]
fn certificate_and_public_key_both_verify_during_the_switch() {
    let keys = json!({ PUB_KEY_ID: PUBLIC_KEY, CERT_SERIAL: CERTIFICATE });
    let receiver = connector(&[
        ("platform_public_keys", keys.clone()),
        ("test_signing_key", Value::Null),
        ("test_signing_serial", Value::Null),
    ]);
    let by_public_key = connector(&[("platform_public_keys", keys.clone())]);
    let by_certificate = connector(&[
        ("platform_public_keys", keys),
        ("test_signing_key", json!(ROTATED_PRIVATE_KEY)),
        (
            "test_signing_serial",
            json!(CERT_SERIAL.to_ascii_lowercase()),
        ),
    ]);
    for signer in [&by_public_key, &by_certificate] {
        let req = signed_payment(signer, MCH_ID, "wxd678efh567hg6787");
        assert_eq!(refusal(&receiver, &req), None);
        // A key under the other serial does not verify it.
        let mut swapped = req.clone();
        let other = if req.headers.get(SERIAL_HEADER) == Some(PUB_KEY_ID) {
            CERT_SERIAL
        } else {
            PUB_KEY_ID
        };
        swapped.headers.set(SERIAL_HEADER, other);
        assert_eq!(
            refusal(&receiver, &swapped),
            Some((401, "signature_mismatch"))
        );
    }
    let mut unknown = signed_payment(&by_public_key, MCH_ID, "wxd678efh567hg6787");
    unknown.headers.set(
        SERIAL_HEADER,
        "PUB_KEY_ID_0000000000000000000000000000000002",
    );
    assert_eq!(refusal(&receiver, &unknown), Some((401, "unknown_serial")));
}

#[test]
fn every_api_v3_key_is_tried_and_the_newest_encrypts() {
    let old = connector(&[("api_v3_key", json!(OLD_API_V3_KEY))]);
    let rotating = connector(&[("api_v3_key", json!([API_V3_KEY, OLD_API_V3_KEY]))]);
    let new_only = connector(&[("api_v3_key", json!([API_V3_KEY]))]);
    let by_old = signed_payment(&old, MCH_ID, "wxd678efh567hg6787");
    assert_eq!(refusal(&rotating, &by_old), None);
    assert_eq!(
        refusal(&new_only, &by_old),
        Some((401, "decryption_failed"))
    );
    let by_rotating = signed_payment(&rotating, MCH_ID, "wxd678efh567hg6787");
    assert_eq!(refusal(&new_only, &by_rotating), None);
    assert_eq!(
        refusal(&old, &by_rotating),
        Some((401, "decryption_failed"))
    );
}

#[test]
fn missing_malformed_and_probe_signatures_are_refused() {
    let connector = connector(&[]);
    let req = signed_payment(&connector, MCH_ID, "wxd678efh567hg6787");
    let without = |name: &str| {
        let mut req = req.clone();
        let kept: Headers = req
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .collect();
        req.headers = kept;
        req
    };
    assert_eq!(
        refusal(&connector, &without(SIGNATURE_HEADER)),
        Some((401, "signature_missing"))
    );
    assert_eq!(
        refusal(&connector, &without(TIMESTAMP_HEADER)),
        Some((401, "signature_missing"))
    );
    assert_eq!(
        refusal(&connector, &without(NONCE_HEADER)),
        Some((401, "signature_missing"))
    );
    assert_eq!(
        refusal(&connector, &without(SERIAL_HEADER)),
        Some((401, "unknown_serial"))
    );
    let with = |name: &str, value: &str| {
        let mut req = req.clone();
        req.headers.set(name, value);
        req
    };
    assert_eq!(
        refusal(&connector, &with(SIGNATURE_HEADER, "not base64!")),
        Some((401, "signature_malformed"))
    );
    assert_eq!(
        refusal(&connector, &with(TIMESTAMP_HEADER, "yesterday")),
        Some((401, "signature_malformed"))
    );
    assert_eq!(
        refusal(&connector, &with(TIMESTAMP_HEADER, "-9223372036854775808")),
        Some((401, "timestamp_outside_window"))
    );
    // WeChat Pay's signature-test probes must never be acknowledged: they fail like any bad
    // signature, whether or not the rest decodes as base64.
    for probe in [
        "WECHATPAY/SIGNTEST/",
        "WECHATPAY/SIGNTEST/dGVzdA==",
        "WECHATPAY/SIGNTEST/tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6l",
    ] {
        let refused = connector
            .verify(&with(SIGNATURE_HEADER, probe))
            .expect_err("a probe is refused");
        assert_eq!(refused.status, 401, "{probe}");
        assert!(
            ["signature_malformed", "signature_mismatch"].contains(&refused.code),
            "{probe}: {}",
            refused.code
        );
    }
}

#[test]
fn a_notification_for_another_merchant_or_app_is_refused() {
    let connector = connector(&[]);
    let other_merchant = signed_payment(&connector, "1900000110", "wxd678efh567hg6787");
    assert_eq!(
        refusal(&connector, &other_merchant),
        Some((401, "wrong_merchant"))
    );
    let other_app = signed_payment(&connector, MCH_ID, "wx0000000000000000");
    assert_eq!(
        refusal(&connector, &other_app),
        Some((401, "wrong_merchant"))
    );
    let any_app = build(&table(&[("app_id", Value::Null)])).expect("builds");
    assert_eq!(refusal(&any_app, &other_app), None);
}

#[test]
fn a_signed_body_that_is_not_a_notification_is_refused_without_a_5xx() {
    let connector = connector(&[]);
    for body in [
        "",
        "{}",
        "not json",
        r#"{"id":"EV-1","resource":{"algorithm":"AEAD_AES_128_GCM","ciphertext":"","nonce":"","associated_data":""}}"#,
        r#"{"id":"EV-1","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"@@","nonce":"abc","associated_data":""}}"#,
        r#"{"id":"EV-1","resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","nonce":"abcdefghijkl","associated_data":""}}"#,
    ] {
        let mut req = request(&[], body, NOW);
        connector.sign(&mut req).expect("signs any body");
        assert_eq!(req.body, body.as_bytes(), "left as it is");
        let refused = connector.verify(&req).expect_err(body);
        assert!((400..500).contains(&refused.status), "{body}: {refused}");
        assert!(
            connector.reopen(&req).is_err(),
            "{body}: nothing to decrypt"
        );
    }
}

#[test]
fn without_a_test_key_nothing_is_signed() {
    let connector = connector(&[
        ("test_signing_key", Value::Null),
        ("test_signing_serial", Value::Null),
    ]);
    let mut req = request(&[], "{}", NOW);
    assert_eq!(connector.sign(&mut req), Err(SignatureError::NoSecret));
}

#[test]
fn settings_name_what_is_wrong_and_never_a_key() {
    let error =
        |changes: &[(&str, Value)]| build(&table(changes)).expect_err("refused").to_string();
    let short = error(&[("api_v3_key", json!("0123456789abcdef"))]);
    assert_eq!(
        short,
        "api_v3_key: key 1 must be 32 characters (the APIv3 key)"
    );
    assert!(error(&[("api_v3_key", json!([API_V3_KEY, "short"]))]).contains("key 2"));
    assert!(error(&[("api_v3_key", json!([]))]).contains("lists no key"));
    assert!(error(&[("api_v3_key", json!(7))]).contains("api_v3_key"));
    assert!(error(&[("platform_public_keys", json!({}))]).contains("lists no key"));
    let not_pem = error(&[("platform_public_keys", json!({ PUB_KEY_ID: "MIIBIjAN" }))]);
    assert!(
        not_pem.contains(&format!("platform_public_keys.{PUB_KEY_ID}")),
        "{not_pem}"
    );
    let private = error(&[("platform_public_keys", json!({ PUB_KEY_ID: PRIVATE_KEY }))]);
    assert!(!private.contains("MII"), "{private}");
    let serial = error(&[(
        "platform_public_keys",
        json!({ PUB_KEY_ID: PUBLIC_KEY, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1": CERTIFICATE }),
    )]);
    assert!(serial.contains("another serial number"), "{serial}");
    let twice = error(&[(
        "platform_public_keys",
        json!({ CERT_SERIAL: CERTIFICATE, CERT_SERIAL.to_ascii_lowercase(): CERTIFICATE }),
    )]);
    assert!(twice.contains("listed twice"), "{twice}");
    let mismatch = error(&[("test_signing_key", json!(ROTATED_PRIVATE_KEY))]);
    assert!(
        mismatch.starts_with("test_signing_key: is not the private key"),
        "{mismatch}"
    );
    assert!(error(&[("test_signing_serial", Value::Null)]).starts_with("test_signing_serial"));
    assert!(error(&[("test_signing_key", Value::Null)]).starts_with("test_signing_key"));
    assert!(error(&[("test_signing_serial", json!(CERT_SERIAL))]).contains("names no key"));
    assert!(error(&[("orders_tenant", json!("shop"))]).contains("orders_tenant"));
    let unknown = error(&[("secrets", json!(["x"]))]);
    assert!(unknown.contains("unknown setting `secrets`"), "{unknown}");
    let tolerance = connector(&[("tolerance_secs", json!(60))]);
    assert_eq!(tolerance.tolerance_secs, 60);
    assert_eq!(connector(&[]).tolerance_secs, 300);
}

#[test]
fn settings_are_documented_and_the_api_v3_key_is_secret() {
    let docs = o2o_core::settings::setting_docs(&schemars::schema_for!(Settings));
    let find = |name: &str| docs.iter().find(|d| d.name == name).expect(name);
    assert!(docs.iter().all(|d| !d.description.is_empty()), "{docs:?}");
    assert!(find("api_v3_key").secret && find("api_v3_key").required);
    assert!(find("test_signing_key").secret && !find("test_signing_key").required);
    assert!(find("mch_id").required && find("platform_public_keys").required);
    assert!(!find("orders_channel").required);
}
