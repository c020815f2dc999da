//! The unit tests of the connector: the signature schemes against published and independent
//! vectors.

use super::*;
use o2o_core::{Secret, Timestamp};

fn deliveroo(secret: &str) -> Deliveroo {
    let secrets = Secrets::new(vec![Secret::new(secret)]).expect("a secret");
    Deliveroo::build(Settings {
        secrets,
        client_id: None,
        client_secret: None,
        auth_base: None,
        tablet_based: false,
        api: ApiSettings::default(),
    })
    .expect("builds")
}

fn request(guid: &str, body: &str, signature: &str) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: [(SEQUENCE_HEADER, guid), (SIGNATURE_HEADER, signature)]
            .into_iter()
            .collect(),
        body: body.as_bytes().to_vec(),
        received_at: Timestamp::now(),
    }
}

fn refusal(connector: &Deliveroo, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector
        .verify(req)
        .err()
        .map(|rejection| (rejection.status, rejection.code))
}

/// Deliveroo publishes no digest with its secret and body (its example header pair,
/// `1499765769` / `cc282516…8678` in developers.deliveroo.com/partner-api/webhook/validation,
/// comes without either). These digests are of the official code samples' own inputs
/// (api-docs.deliveroo.com `docs/securing-webhooks`: secret `your_webhook_secret`, GUID
/// `our_sequence_guid`, body `request_body`), computed independently with Python's `hmac`
/// and `openssl dgst -sha256 -hmac`, which agree.
#[test]
fn accepts_the_documented_inputs_under_both_schemes() {
    let connector = deliveroo("your_webhook_secret");
    let order_api = "2d1003bdface5b6af7954258379a9b612379fcc843707d615adc74ce2099d4c6";
    let legacy = "89646ab93aed14f4ac0e3cc4fea744db9e3d0dbedb4722f878dec9a0085288eb";
    for signature in [order_api, legacy, &order_api.to_uppercase()] {
        let req = request("our_sequence_guid", "request_body", signature);
        assert_eq!(refusal(&connector, &req), None, "{signature}");
    }
    let req = request("our_sequence_guid", "request_body", order_api);
    assert_eq!(
        refusal(&deliveroo("another_secret"), &req),
        Some((401, "signature_mismatch"))
    );
    let other_guid = request("our_sequence_guid2", "request_body", order_api);
    assert_eq!(
        refusal(&connector, &other_guid),
        Some((401, "signature_mismatch")),
        "the GUID is signed"
    );
}

/// A third party's test suite (a vitest suite of `@be-in-digital/integrations`, digests
/// computed with LibreSSL's `openssl dgst`), reproduced independently with Python: the
/// body-only digest, which a wrong implementation would produce, must not verify.
#[test]
fn accepts_an_independent_vector_and_refuses_the_body_only_digest() {
    let connector = deliveroo("whsec_deliveroo_test_secret");
    let guid = "4f1c1b7e-6a2b-4f4e-9a3a-2f6f0f9a1b2c";
    let body = r#"{"event":"order.new","body":{"order":{"id":"fr:1234","status":"placed"}}}"#;
    let order_api = "e02008372a70c2e636d8100488110fd93ddfe8984ad98cd4eebf2698d6487997";
    let body_only = "0fbeb244e6b8ecd5e6adeeee93f9117be1ce1b4d9d2e28daa51f49b3eda1794a";
    let legacy = "bb8dd054d28399596e1f37695f2ddd89813379085c424f12fcccb2bfe488248b";
    assert_eq!(refusal(&connector, &request(guid, body, order_api)), None);
    assert_eq!(
        refusal(&connector, &request(guid, body, body_only)),
        Some((401, "signature_mismatch"))
    );
    assert_eq!(
        refusal(&connector, &request(guid, body, legacy)),
        Some((401, "signature_mismatch")),
        "an order.new signed with the legacy scheme is not what Deliveroo sends"
    );
    let mut signed = request(guid, body, "");
    connector.sign(&mut signed).expect("sign");
    assert_eq!(signed.headers.get(SIGNATURE_HEADER), Some(order_api));
}

#[test]
fn a_legacy_event_must_carry_the_legacy_scheme() {
    let connector = deliveroo("s");
    let body = r#"{"event":"new_order","location_id":"33235","order":{"id":"1487734400-1234"}}"#;
    let mut legacy = request("1499765769", body, "");
    connector.sign(&mut legacy).expect("sign");
    assert_eq!(refusal(&connector, &legacy), None);
    let order_api = sign_hmac_sha256(
        &Secret::new("s"),
        &[b"1499765769", SEPARATOR, body.as_bytes()],
        DigestEncoding::Hex,
    );
    assert_eq!(
        refusal(&connector, &request("1499765769", body, &order_api)),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn refuses_a_delivery_without_its_guid_or_signature() {
    let connector = deliveroo("s");
    let mut req = request("g", "{}", "");
    connector.sign(&mut req).expect("sign");
    let mut without_guid = req.clone();
    without_guid.headers = [(
        SIGNATURE_HEADER,
        req.headers.get(SIGNATURE_HEADER).unwrap_or(""),
    )]
    .into_iter()
    .collect();
    assert_eq!(
        refusal(&connector, &without_guid),
        Some((401, "sequence_guid_missing"))
    );
    let without_signature = request("g", "{}", "");
    assert_eq!(
        refusal(&connector, &without_signature),
        Some((401, "signature_missing"))
    );
    assert_eq!(
        refusal(&connector, &request("g", "{}", "zz")),
        Some((401, "signature_malformed"))
    );
}
