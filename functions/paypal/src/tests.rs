//! Verification: PayPal's official vector, and every way a delivery is refused.

use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Headers, Timestamp, WebhookRequest};
use serde_json::{Value, json};

use super::*;

/// The official vector: PayPal-Java-SDK
/// `rest-api-sdk/src/test/java/com/paypal/base/ValidateCertTest.java` @ccaa336b (a real sandbox
/// delivery; `testValidEndpoint` expects it to verify, `testInvalidWebhookId` expects
/// `NotToBeFound` to fail). Its certificate, `…/src/test/resources/clientCertTest.crt` @ccaa336b,
/// expired on 2021-05-24, so the clock is the transmission's. Its chain: the DigiCert SHA2
/// Extended Validation Server CA (bundled, from the SDKs) to the DigiCert High Assurance EV Root
/// CA of PayPal-Python-SDK `paypalrestsdk/data/DigiCertHighAssuranceEVRootCA.crt.pem` @28becaf2
/// (no longer in Mozilla's store, so configured here as `trust_roots`).
mod vector {
    pub const CERT_URL: &str =
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270";
    pub const TRANSMISSION_ID: &str = "afa30d40-ca4a-11e9-ab68-7d4e2605c70c";
    pub const TRANSMISSION_TIME: &str = "2019-08-29T10:49:33Z";
    pub const WEBHOOK_ID: &str = "0FV983392A0531201";
    pub const SIGNATURE: &str = "K7DF5+hOyGS6v0xTZ9PkEO+BFNQmpryxw2hFlXbHgmxpu+883ldEC9HcL6ccEmB8sfy80y/Q3qcZZL1MR8Qi0e1ysylVj/yROgKK6zBsQPoNmgXC8yTiNoAjULuhk5Aoau0Itk3nrkgAfji1zvADlErMFM9VZe2nDvhM3nDMLjCi/K5fRjWp3eGo6Nx17GX/WIEibeKDyS+YdJMex3i+KO4aWmm9zznC/FJ5Y/ntd0MxOJNrM0r0f3y7c3e3sO5pB3oPgN6KzKVS5P6AWHqtS8acD3DjgCKZ1uqKz7q954G1aBz2/m0wRGOFFsv0/D3FE2uIheRRmoQtVSOAX7Aupg==";
    /// The test's `requestBody`, unescaped (3241 bytes; Python's `binascii.crc32` of it is
    /// 3674300368, and `openssl dgst -sha256 -verify` with the certificate's key accepts the
    /// signature over the message built from it).
    pub const BODY: &str = include_str!("../tests/vectors/ValidateCertTest.body.json");
    pub const CERT: &str = include_str!("../tests/vectors/clientCertTest.crt");
    pub const ROOT: &str = include_str!("../tests/vectors/DigiCertHighAssuranceEVRootCA.crt.pem");
}

const ROOT: &str = include_str!("../tests/keys/root-ca.pem");
const SIGNER: &str = include_str!("../tests/keys/signer.pem");
const SIGNER_KEY: &str = include_str!("../tests/keys/signer.key");
const NEXT: &str = include_str!("../tests/keys/signer-next.pem");
const NEXT_KEY: &str = include_str!("../tests/keys/signer-next.key");
const WRONG_NAME: &str = include_str!("../tests/keys/wrong-name.pem");
const WRONG_NAME_KEY: &str = include_str!("../tests/keys/wrong-name.key");

const SIGNER_URL: &str = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-o2o-test";
const NEXT_URL: &str = "https://api.paypal.com/v1/notifications/certs/CERT-o2o-test-next";
const WRONG_NAME_URL: &str = "https://api.paypal.com/v1/notifications/certs/CERT-wrong-name";

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn paypal_at(table: Value, now: Timestamp) -> Result<PayPal, SettingsError> {
    let table = table.as_object().cloned().expect("a table");
    let settings = parse_settings::<Settings>(&table, "channels.paypal")?;
    PayPal::build_at(settings, now)
}

fn vector_connector(webhook_id: Value) -> PayPal {
    paypal_at(
        json!({
            "webhook_id": webhook_id,
            "trust_roots": [vector::ROOT],
            "certificates": { vector::CERT_URL: vector::CERT },
        }),
        at(vector::TRANSMISSION_TIME),
    )
    .expect("builds")
}

fn vector_request() -> WebhookRequest {
    let headers: Headers = [
        (CERT_URL_HEADER, vector::CERT_URL),
        (TRANSMISSION_ID_HEADER, vector::TRANSMISSION_ID),
        (TRANSMISSION_TIME_HEADER, vector::TRANSMISSION_TIME),
        (AUTH_ALGO_HEADER, "SHA256withRSA"),
        (SIGNATURE_HEADER, vector::SIGNATURE),
    ]
    .into_iter()
    .collect();
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers,
        body: vector::BODY.as_bytes().to_vec(),
        received_at: at(vector::TRANSMISSION_TIME),
    }
}

/// The development-style table: the test root, the two test signing certificates preloaded.
fn test_table() -> Value {
    json!({
        "webhook_id": "WH0O2OTEST",
        "trust_roots": [ROOT],
        "certificates": { SIGNER_URL: SIGNER, NEXT_URL: NEXT },
        "signing_key": SIGNER_KEY,
        "signing_cert_url": SIGNER_URL,
    })
}

fn with(changes: &[(&str, Value)]) -> PayPal {
    let mut table = test_table();
    for (name, value) in changes {
        table[*name] = value.clone();
    }
    paypal_at(table, Timestamp::now()).expect("builds")
}

const BODY: &str = r#"{"id":"WH-TEST","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2024-05-01T10:00:00Z","resource":{"id":"CAP1","status":"COMPLETED","amount":{"currency_code":"USD","value":"1.00"}}}"#;

fn signed_by(connector: &PayPal, body: &str, received_at: Timestamp) -> WebhookRequest {
    let mut req = WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: Headers::new(),
        body: body.as_bytes().to_vec(),
        received_at,
    };
    connector.sign(&mut req).expect("signs");
    req
}

fn refusal(connector: &PayPal, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector.verify(req).err().map(|r| (r.status, r.code))
}

#[test]
fn the_java_sdk_vector_verifies_at_its_own_time() {
    let connector = vector_connector(json!(vector::WEBHOOK_ID));
    let req = vector_request();
    assert_eq!(crc32(vector::BODY.as_bytes()), 3_674_300_368);
    assert_eq!(
        signed_message(
            vector::TRANSMISSION_ID,
            vector::TRANSMISSION_TIME,
            vector::WEBHOOK_ID,
            vector::BODY.as_bytes()
        ),
        "afa30d40-ca4a-11e9-ab68-7d4e2605c70c|2019-08-29T10:49:33Z|0FV983392A0531201|3674300368"
    );
    assert_eq!(refusal(&connector, &req), None);
    let parsed = connector
        .parse(&connector.verify(&req).expect("verifies"))
        .expect("parses");
    assert_eq!(
        parsed.id,
        DeliveryId {
            tenant: "_".into(),
            external_event_id: "WH-7MU294299R542214K-4N1831857K851783H".into(),
            topic: "PAYMENTS.PAYMENT.CREATED".into(),
        }
    );
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    assert_eq!(
        connector.normalise(&parsed.id, parsed.message, &ctx),
        Ok(Normalised::Ignored(
            "event PAYMENTS.PAYMENT.CREATED is not mapped".into()
        ))
    );
}

#[test]
fn the_vector_fails_for_another_webhook_id_a_changed_body_or_header() {
    // `testInvalidWebhookId`.
    let other = vector_connector(json!("NotToBeFound"));
    assert_eq!(
        refusal(&other, &vector_request()),
        Some((401, "signature_mismatch"))
    );
    let connector = vector_connector(json!(vector::WEBHOOK_ID));
    let tampered = o2o_testkit::tampered(vector_request());
    assert_eq!(
        refusal(&connector, &tampered),
        Some((401, "signature_mismatch"))
    );
    for (name, value) in [
        (
            TRANSMISSION_ID_HEADER,
            "afa30d40-ca4a-11e9-ab68-7d4e2605c70d",
        ),
        (TRANSMISSION_TIME_HEADER, "2019-08-29T10:49:34Z"),
    ] {
        let mut req = vector_request();
        req.headers.set(name, value);
        assert_eq!(
            refusal(&connector, &req),
            Some((401, "signature_mismatch")),
            "{name}"
        );
    }
}

#[test]
fn the_vector_certificate_is_refused_once_expired() {
    // Built at the transmission's time; received after 2021-05-24.
    let connector = vector_connector(json!(vector::WEBHOOK_ID));
    let mut req = vector_request();
    req.received_at = at("2021-05-25T00:00:00Z");
    assert_eq!(
        refusal(&connector, &req),
        Some((401, "certificate_expired"))
    );
    // And an expired certificate is not accepted as a setting today.
    let today = paypal_at(
        json!({
            "webhook_id": vector::WEBHOOK_ID,
            "trust_roots": [vector::ROOT],
            "certificates": { vector::CERT_URL: vector::CERT },
        }),
        Timestamp::now(),
    )
    .expect_err("expired");
    assert!(
        today.to_string().contains("is expired or not yet valid"),
        "{today}"
    );
}

#[test]
fn the_vector_certificate_needs_its_root() {
    // Mozilla's store (the default) no longer holds the DigiCert High Assurance EV Root CA.
    let error = paypal_at(
        json!({
            "webhook_id": vector::WEBHOOK_ID,
            "certificates": { vector::CERT_URL: vector::CERT },
        }),
        at(vector::TRANSMISSION_TIME),
    )
    .expect_err("untrusted");
    assert!(error.to_string().contains("trust root"), "{error}");
}

#[test]
fn a_signed_delivery_verifies_and_its_tampered_copy_does_not() {
    let connector = with(&[]);
    let req = signed_by(&connector, BODY, Timestamp::now());
    assert_eq!(refusal(&connector, &req), None);
    assert_eq!(req.headers.get(CERT_URL_HEADER), Some(SIGNER_URL));
    assert_eq!(req.headers.get(AUTH_ALGO_HEADER), Some("SHA256withRSA"));
    assert_eq!(
        refusal(&connector, &o2o_testkit::tampered(req)),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn another_key_or_webhook_does_not_verify() {
    let signer = with(&[]);
    let req = signed_by(&signer, BODY, Timestamp::now());
    // The next certificate's URL with the first one's signature.
    let mut other_cert = req.clone();
    other_cert.headers.set(CERT_URL_HEADER, NEXT_URL);
    assert_eq!(
        refusal(&signer, &other_cert),
        Some((401, "signature_mismatch"))
    );
    // Another webhook (the wrong app's): its id is signed.
    let other_webhook = with(&[("webhook_id", json!("WH0OTHER"))]);
    assert_eq!(
        refusal(&other_webhook, &req),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn rotation_two_certificates_and_two_webhook_ids_are_accepted() {
    let receiver = with(&[("webhook_id", json!(["WH0NEW", "WH0O2OTEST"]))]);
    let old = with(&[]);
    let new = with(&[
        ("webhook_id", json!("WH0NEW")),
        ("signing_key", json!(NEXT_KEY)),
        ("signing_cert_url", json!(NEXT_URL)),
    ]);
    for signer in [&old, &new] {
        let req = signed_by(signer, BODY, Timestamp::now());
        assert_eq!(refusal(&receiver, &req), None);
    }
    // The new id signs: the receiver that only knows the old one refuses it.
    let req = signed_by(&new, BODY, Timestamp::now());
    assert_eq!(refusal(&old, &req), Some((401, "signature_mismatch")));
}

#[test]
fn missing_or_malformed_headers_are_refused() {
    let connector = with(&[]);
    let req = signed_by(&connector, BODY, Timestamp::now());
    for (name, code) in [
        (SIGNATURE_HEADER, "signature_missing"),
        (TRANSMISSION_ID_HEADER, "transmission_id_missing"),
        (TRANSMISSION_TIME_HEADER, "transmission_time_missing"),
        (AUTH_ALGO_HEADER, "auth_algo_missing"),
        (CERT_URL_HEADER, "cert_url_missing"),
    ] {
        let mut without = req.clone();
        without.headers.set(name, "  ");
        assert_eq!(refusal(&connector, &without), Some((401, code)), "{name}");
    }
    for (name, value, code) in [
        (SIGNATURE_HEADER, "not base64!", "signature_malformed"),
        (SIGNATURE_HEADER, "YWJj", "signature_malformed"),
        (AUTH_ALGO_HEADER, "SHA1withRSA", "auth_algo_unsupported"),
        (CERT_URL_HEADER, "not a url", "cert_url_not_allowed"),
        (
            CERT_URL_HEADER,
            "https://evil.example/v1/notifications/certs/CERT-o2o-test",
            "cert_url_not_allowed",
        ),
        (
            CERT_URL_HEADER,
            "http://api.sandbox.paypal.com/v1/notifications/certs/CERT-o2o-test",
            "cert_url_not_allowed",
        ),
    ] {
        let mut changed = req.clone();
        changed.headers.set(name, value);
        assert_eq!(
            refusal(&connector, &changed),
            Some((401, code)),
            "{name}: {value}"
        );
    }
}

#[test]
fn an_allowlisted_certificate_not_yet_downloaded_is_a_503() {
    let connector = with(&[]);
    let mut req = signed_by(&connector, BODY, Timestamp::now());
    req.headers.set(
        CERT_URL_HEADER,
        "https://api.paypal.com/v1/notifications/certs/CERT-not-fetched",
    );
    assert_eq!(
        refusal(&connector, &req),
        Some((503, "certificate_unavailable"))
    );
}

#[test]
fn a_certificate_with_another_name_or_root_is_refused() {
    // Built with the wrong-name certificate refused at start-up.
    let mut table = test_table();
    table["certificates"] = json!({ WRONG_NAME_URL: WRONG_NAME });
    let error = paypal_at(table, Timestamp::now()).expect_err("wrong name");
    assert!(
        error.to_string().contains("messageverificationcerts"),
        "{error}"
    );
    // Trusting Mozilla's roots (the default), the test certificates are refused.
    let mut table = test_table();
    table.as_object_mut().map(|t| t.remove("trust_roots"));
    let error = paypal_at(table, Timestamp::now()).expect_err("untrusted");
    assert!(error.to_string().contains("trust root"), "{error}");
    // A key other than the certificate's does not verify.
    let wrong = with(&[
        ("certificates", json!({ SIGNER_URL: SIGNER })),
        ("signing_key", json!(WRONG_NAME_KEY)),
    ]);
    let req = signed_by(&wrong, BODY, Timestamp::now());
    assert_eq!(refusal(&wrong, &req), Some((401, "signature_mismatch")));
}

#[test]
fn the_window_applies_when_configured() {
    let connector = with(&[("tolerance_secs", json!(300))]);
    let sent = at("2024-05-01T10:00:00Z");
    let mut req = signed_by(&connector, BODY, sent);
    req.received_at = sent.plus_seconds(300);
    assert_eq!(refusal(&connector, &req), None);
    req.received_at = sent.plus_seconds(301);
    assert_eq!(
        refusal(&connector, &req),
        Some((401, "timestamp_outside_window"))
    );
    // Without a window, the same late delivery verifies.
    assert_eq!(refusal(&with(&[]), &req), None);
    let mut garbled = signed_by(&connector, BODY, sent);
    garbled.headers.set(TRANSMISSION_TIME_HEADER, "yesterday");
    garbled.received_at = sent;
    assert_eq!(
        refusal(&connector, &garbled),
        Some((401, "signature_malformed"))
    );
}

#[test]
fn the_test_certificates_expire_at_the_end_of_2049() {
    let connector = with(&[]);
    let req = signed_by(&connector, BODY, at("2050-01-01T00:00:00Z"));
    assert_eq!(
        refusal(&connector, &req),
        Some((401, "certificate_expired"))
    );
}

#[test]
fn settings_name_what_is_wrong() {
    for (change, setting) in [
        (("webhook_id", json!([])), "webhook_id"),
        (
            ("cert_hosts", json!(["https://user@api.paypal.com"])),
            "cert_hosts",
        ),
        (("trust_roots", json!(["not a pem"])), "trust_roots[0]"),
        (("trust_roots", json!([])), "trust_roots"),
        (("intermediates", json!(["not a pem"])), "intermediates[0]"),
        (("signing_key", json!("not a key")), "signing_key"),
        (("signing_cert_url", Value::Null), "signing_cert_url"),
        (("cert_timeout_ms", json!(0)), "cert_timeout_ms"),
        (("orders_tenant", json!("t")), "orders_tenant"),
        (
            ("certificates", json!({ "not a url": SIGNER })),
            "certificates",
        ),
    ] {
        let mut table = test_table();
        table[change.0] = change.1;
        if table["signing_cert_url"].is_null() {
            table.as_object_mut().map(|t| t.remove("signing_cert_url"));
        }
        let error = paypal_at(table, Timestamp::now())
            .expect_err(setting)
            .to_string();
        assert!(error.contains(setting), "{setting}: {error}");
        assert!(!error.contains("MII"), "no key material: {error}");
    }
    let error = paypal_at(json!({ "secrets": ["x"] }), Timestamp::now())
        .expect_err("unknown")
        .to_string();
    assert!(error.contains("unknown setting `secrets`"), "{error}");
}

#[test]
fn signing_needs_the_test_key() {
    let mut table = test_table();
    let object = table.as_object_mut().expect("table");
    object.remove("signing_key");
    object.remove("signing_cert_url");
    let connector = paypal_at(table, Timestamp::now()).expect("builds");
    let mut req = signed_by(&with(&[]), BODY, Timestamp::now());
    assert_eq!(connector.sign(&mut req), Err(SignatureError::NoSecret));
    // It still verifies what the test key signed.
    assert_eq!(refusal(&connector, &req), None);
}
