//! `prepare_verify`: the certificate at `PAYPAL-CERT-URL` downloaded from an allowlisted host (a
//! wiremock server on 127.0.0.1, allowlisted as `http://127.0.0.1:<port>`), checked, cached, and
//! every way a download fails.

use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Headers, Rejection, Timestamp, WebhookRequest};
use o2o_paypal::{CERT_URL_HEADER, PayPal, SIGNATURE_HEADER, Settings};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROOT: &str = include_str!("keys/root-ca.pem");
const SIGNER: &str = include_str!("keys/signer.pem");
const SIGNER_KEY: &str = include_str!("keys/signer.key");
const WRONG_NAME: &str = include_str!("keys/wrong-name.pem");
const CERT_PATH: &str = "/v1/notifications/certs/CERT-o2o-fetch";
const BODY: &str = r#"{"id":"WH-FETCH","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2024-05-01T10:00:00Z","resource":{"id":"CAP1","status":"COMPLETED","amount":{"currency_code":"USD","value":"1.00"}}}"#;

fn build(table: Value) -> PayPal {
    let table = table.as_object().cloned().expect("a table");
    let settings =
        parse_settings::<Settings>(&table, "channels.paypal").unwrap_or_else(|e| panic!("{e}"));
    PayPal::build(settings).unwrap_or_else(|e| panic!("{e}"))
}

/// A receiver that knows no certificate and may download from `mock` only.
fn receiver(mock: &MockServer) -> PayPal {
    build(json!({
        "webhook_id": "WH0FETCH",
        "trust_roots": [ROOT],
        "cert_hosts": [mock.uri()],
        "cert_timeout_ms": 2000,
    }))
}

/// A request signed with the test key, naming `cert_url`.
fn signed(cert_url: &str) -> WebhookRequest {
    let signer = build(json!({
        "webhook_id": "WH0FETCH",
        "trust_roots": [ROOT],
        "signing_key": SIGNER_KEY,
        "signing_cert_url": cert_url,
    }));
    let mut req = WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: Headers::new(),
        body: BODY.as_bytes().to_vec(),
        received_at: Timestamp::now(),
    };
    signer.sign(&mut req).expect("signs");
    req
}

fn code(result: Result<(), Rejection>) -> Option<(u16, &'static str)> {
    result.err().map(|r| (r.status, r.code))
}

async fn serve(mock: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(CERT_PATH))
        .respond_with(response)
        .expect(times)
        .mount(mock)
        .await;
}

#[tokio::test]
async fn a_certificate_is_downloaded_once_checked_and_cached() {
    let mock = MockServer::start().await;
    // The leaf and its root, as a download with its chain would be.
    serve(
        &mock,
        ResponseTemplate::new(200).set_body_string(format!("{SIGNER}{ROOT}")),
        1,
    )
    .await;
    let paypal = receiver(&mock);
    let req = signed(&format!("{}{CERT_PATH}", mock.uri()));
    assert_eq!(
        paypal.verify(&req).map(|_| ()).map_err(|r| r.code),
        Err("certificate_unavailable"),
        "not downloaded yet"
    );
    assert_eq!(code(paypal.prepare_verify(&req).await), None);
    assert!(paypal.verify(&req).is_ok());
    // Cached: no second download (the mock expects exactly one).
    assert_eq!(code(paypal.prepare_verify(&req).await), None);
    assert!(paypal.verify(&req).is_ok());
    let tampered = o2o_testkit::tampered(req);
    assert_eq!(
        paypal.verify(&tampered).err().map(|r| r.code),
        Some("signature_mismatch")
    );
}

#[tokio::test]
async fn failed_downloads_are_503_and_missing_certificates_401() {
    let cases = [
        (ResponseTemplate::new(500), (503, "certificate_unavailable")),
        // A redirect is not followed (the mock below expects no request there).
        (
            ResponseTemplate::new(302).insert_header("location", "/elsewhere"),
            (503, "certificate_unavailable"),
        ),
        (
            ResponseTemplate::new(200).set_body_string("not a certificate"),
            (503, "certificate_unavailable"),
        ),
        (
            ResponseTemplate::new(200).set_body_string("x".repeat(70 * 1024)),
            (503, "certificate_unavailable"),
        ),
        (ResponseTemplate::new(404), (401, "certificate_not_found")),
        (
            ResponseTemplate::new(200).set_body_string(WRONG_NAME),
            (401, "certificate_untrusted"),
        ),
    ];
    for (response, expected) in cases {
        let mock = MockServer::start().await;
        serve(&mock, response, 1).await;
        Mock::given(path("/elsewhere"))
            .respond_with(ResponseTemplate::new(200).set_body_string(SIGNER))
            .expect(0)
            .mount(&mock)
            .await;
        let paypal = receiver(&mock);
        let req = signed(&format!("{}{CERT_PATH}", mock.uri()));
        assert_eq!(
            code(paypal.prepare_verify(&req).await),
            Some(expected),
            "{expected:?}"
        );
        assert_eq!(
            paypal.verify(&req).err().map(|r| (r.status, r.code)),
            Some((503, "certificate_unavailable")),
            "nothing was cached"
        );
    }
}

#[tokio::test]
async fn nothing_is_downloaded_from_elsewhere_or_for_a_malformed_delivery() {
    let mock = MockServer::start().await;
    serve(&mock, ResponseTemplate::new(200).set_body_string(SIGNER), 0).await;
    // The mock's host, but https (the allowlist says http), another port, another path.
    let port = mock.address().port();
    for url in [
        format!("https://127.0.0.1:{port}{CERT_PATH}"),
        format!("http://127.0.0.1:{}{CERT_PATH}", port.wrapping_add(1)),
        format!("{}/v1/oauth2/token", mock.uri()),
        format!("http://localhost:{port}{CERT_PATH}"),
    ] {
        let paypal = receiver(&mock);
        let req = signed(&url);
        assert_eq!(code(paypal.prepare_verify(&req).await), None, "{url}");
        assert_eq!(
            paypal.verify(&req).err().map(|r| (r.status, r.code)),
            Some((401, "cert_url_not_allowed")),
            "{url}"
        );
    }
    // An unsigned delivery naming the allowlisted URL causes no download either.
    let paypal = receiver(&mock);
    let mut unsigned = signed(&format!("{}{CERT_PATH}", mock.uri()));
    unsigned.headers.set(SIGNATURE_HEADER, "");
    assert_eq!(code(paypal.prepare_verify(&unsigned).await), None);
    assert_eq!(
        unsigned.headers.get(CERT_URL_HEADER).map(str::to_owned),
        Some(format!("{}{CERT_PATH}", mock.uri()))
    );
}
