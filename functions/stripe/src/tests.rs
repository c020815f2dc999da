//! Verification against the official libraries' test vectors and cases, and the settings.
//!
//! stripe-node `test/crypto/helpers.ts` @0d177684726390dfaee513d669222543fc5a2b5f (the HMAC
//! every crypto provider must produce), stripe-node `test/Webhook.spec.ts`
//! @0584b27f519857b03ab981caeae4d08739be9b7d and stripe-go `webhook/client_test.go`
//! @e67cf5e92db34550593a0fc583322b98f58c91fb (`TestTokenNew`). The two test suites compute
//! their digests at run time with the library under test; the digests below are of their own
//! inputs (secret `whsec_test_secret`, stripe-node's `EVENT_PAYLOAD_STRING`, timestamp
//! `1234567890` from its "should use provided timestamp" case), computed independently with
//! Python's `hmac` and `openssl dgst -sha256 -hmac`, which agree.

use super::*;
use o2o_core::settings::parse_settings;
use o2o_core::signature::hmac_sha256;
use o2o_core::{Headers, Secret, Timestamp};
use serde_json::json;

/// stripe-node `test/Webhook.spec.ts`: `JSON.stringify({id: 'evt_test_webhook', object:
/// 'event'}, null, 2)`.
const EVENT_PAYLOAD_STRING: &str = "{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"\n}";
/// stripe-node and stripe-go: the test secret.
const SECRET: &str = "whsec_test_secret";
/// stripe-go: the rolled secret, `testSecret + "_rolled_key"`.
const ROLLED: &str = "whsec_test_secret_rolled_key";
/// stripe-node: "should use provided timestamp when given".
const T: i64 = 1_234_567_890;
/// HMAC-SHA256(`SECRET`, `"1234567890." + EVENT_PAYLOAD_STRING`).
const V1: &str = "45969f456b3331a0f76e237ed33423d5f758908f1f0432d30e7d45ba89bb9edd";
/// HMAC-SHA256(`ROLLED`, the same).
const V1_ROLLED: &str = "e686dd5d80c2ff1ee83b7fa94b90e5730804f996e3f05db3f117fefa3134e5d8";

fn stripe_with(secrets: &[&str], tolerance_secs: u32) -> Stripe {
    let mut table = json!({ "secrets": secrets, "tolerance_secs": tolerance_secs });
    let table = table.as_object_mut().cloned().unwrap_or_default();
    let settings = parse_settings::<Settings>(&table, "channels.stripe").expect("settings");
    Stripe::build(settings).expect("builds")
}

fn stripe(secrets: &[&str]) -> Stripe {
    stripe_with(secrets, DEFAULT_TOLERANCE_SECS)
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).expect("a time")
}

fn request(header: Option<&str>, body: &str, received_at: i64) -> WebhookRequest {
    let mut headers = Headers::new();
    headers.insert("Content-Type", "application/json; charset=utf-8");
    if let Some(header) = header {
        headers.insert(SIGNATURE_HEADER, header);
    }
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers,
        body: body.as_bytes().to_vec(),
        received_at: at(received_at),
    }
}

fn refusal(connector: &Stripe, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector.verify(req).err().map(|r| (r.status, r.code))
}

#[test]
fn the_hmac_is_the_one_every_stripe_node_crypto_provider_must_produce() {
    // stripe-node test/crypto/helpers.ts: secret `test_secret`; the payloads '',
    // JSON.stringify({obj1: 'hello', obj2: 'world'}) and '\ud83d\ude00' (U+1F600 in UTF-8).
    let hex = |payload: &str| {
        o2o_core::signature::encode_digest(
            &hmac_sha256(b"test_secret", &[payload.as_bytes()]),
            o2o_core::signature::DigestEncoding::Hex,
        )
    };
    assert_eq!(
        hex(""),
        "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd"
    );
    assert_eq!(
        hex(r#"{"obj1":"hello","obj2":"world"}"#),
        "bebb1a643997f419b315ddba19e6f5411e1ce7f810ba6d3617ce72823092f363"
    );
    assert_eq!(
        hex("\u{1F600}"),
        "837da296d05c4fe31f61d5d7ead035099d9585a5bcde87de952012a78f0b0c43"
    );
    // The same primitive over `{t}.{body}` is what the header carries.
    let secret = Secret::new(SECRET);
    assert_eq!(
        header::hex_hmac(&secret, "1234567890", EVENT_PAYLOAD_STRING.as_bytes()),
        V1
    );
}

#[test]
fn accepts_the_official_payload_signed_at_the_official_timestamp() {
    let connector = stripe(&[SECRET]);
    let header = format!("t={T},v1={V1}");
    assert_eq!(
        refusal(&connector, &request(Some(&header), EVENT_PAYLOAD_STRING, T)),
        None
    );
    // Either case of hex, and any order of the header's items.
    let upper = format!("v1={},t={T}", V1.to_uppercase());
    assert_eq!(
        refusal(&connector, &request(Some(&upper), EVENT_PAYLOAD_STRING, T)),
        None
    );
    // sign() writes exactly that header at the time of receipt.
    let mut signed = request(None, EVENT_PAYLOAD_STRING, T);
    connector.sign(&mut signed).expect("sign");
    assert_eq!(signed.headers.get(SIGNATURE_HEADER), Some(header.as_str()));
}

#[test]
fn a_tampered_body_a_wrong_secret_or_a_moved_timestamp_is_a_mismatch() {
    let connector = stripe(&[SECRET]);
    let header = format!("t={T},v1={V1}");
    let tampered = EVENT_PAYLOAD_STRING.replace("evt_test_webhook", "evt_test_webhoo0");
    assert_eq!(
        refusal(&connector, &request(Some(&header), &tampered, T)),
        Some((401, "signature_mismatch"))
    );
    assert_eq!(
        refusal(
            &stripe(&["whsec_another_endpoint"]),
            &request(Some(&header), EVENT_PAYLOAD_STRING, T)
        ),
        Some((401, "signature_mismatch"))
    );
    // `t` is signed: the same digest under another time does not match.
    let moved = format!("t={},v1={V1}", T + 1);
    assert_eq!(
        refusal(&connector, &request(Some(&moved), EVENT_PAYLOAD_STRING, T)),
        Some((401, "signature_mismatch"))
    );
    // stripe-go: a syntactically valid but wrong digest (`deadbeef`, here at full length).
    let fake = format!("t={T},v1={}", "deadbeef".repeat(8));
    assert_eq!(
        refusal(&connector, &request(Some(&fake), EVENT_PAYLOAD_STRING, T)),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn every_v1_is_tried_against_every_secret_during_a_roll() {
    // stripe-go TestTokenNew: after a roll the header carries both signatures, and either
    // secret alone verifies it.
    let both = format!("t={T},v1={V1},v1={V1_ROLLED}");
    for secrets in [&[SECRET][..], &[ROLLED], &[ROLLED, SECRET]] {
        assert_eq!(
            refusal(
                &stripe(secrets),
                &request(Some(&both), EVENT_PAYLOAD_STRING, T)
            ),
            None,
            "{secrets:?}"
        );
    }
    // Our own rotation: the settings list the new secret first and keep the old one; a
    // delivery signed with either passes, and sign() uses the newest.
    let rotating = stripe(&[ROLLED, SECRET]);
    for header in [format!("t={T},v1={V1}"), format!("t={T},v1={V1_ROLLED}")] {
        assert_eq!(
            refusal(&rotating, &request(Some(&header), EVENT_PAYLOAD_STRING, T)),
            None
        );
    }
    let mut signed = request(None, EVENT_PAYLOAD_STRING, T);
    rotating.sign(&mut signed).expect("sign");
    assert_eq!(
        signed.headers.get(SIGNATURE_HEADER),
        Some(format!("t={T},v1={V1_ROLLED}").as_str())
    );
}

#[test]
fn unreadable_signatures_and_other_schemes_are_ignored_beside_a_valid_one() {
    let connector = stripe(&[SECRET]);
    // stripe-node: `header += ',v1=potato'`; stripe-go: `p.Header + ",v1=bad_signature"`;
    // a v0 is ignored.
    for extra in [",v1=potato", ",v1=bad_signature", ",v0=abcdef"] {
        let header = format!("t={T},v1={V1}{extra}");
        assert_eq!(
            refusal(&connector, &request(Some(&header), EVENT_PAYLOAD_STRING, T)),
            None,
            "{extra}"
        );
    }
}

#[test]
fn a_missing_or_unreadable_header_is_refused_before_any_digest() {
    let connector = stripe(&[SECRET]);
    for header in [None, Some(""), Some("   ")] {
        assert_eq!(
            refusal(&connector, &request(header, EVENT_PAYLOAD_STRING, T)),
            Some((401, "signature_missing")),
            "{header:?}"
        );
    }
    for header in [
        // stripe-node: "bad_header", "I'm not even a real signature header".
        "bad_header".to_owned(),
        "I'm not even a real signature header".to_owned(),
        // stripe-go: "v1,t=1", "t=".
        "v1,t=1".to_owned(),
        "t=".to_owned(),
        // stripe-node / stripe-go: only the v0 scheme.
        format!("t={T},v0={V1}"),
        // Only unreadable v1s.
        format!("t={T},v1=bad_signature"),
        // No timestamp.
        format!("v1={V1}"),
    ] {
        assert_eq!(
            refusal(&connector, &request(Some(&header), EVENT_PAYLOAD_STRING, T)),
            Some((401, "signature_malformed")),
            "{header}"
        );
    }
}

#[test]
fn the_timestamp_must_be_within_the_tolerance_of_the_time_of_receipt() {
    // stripe-node: receivedAt 20000000 ms, tolerance 10 s; t 15 s old is refused, 9 s accepted.
    let received = 20_000;
    let connector = stripe_with(&[SECRET], 10);
    let signed_at = |t: i64| {
        let mut req = request(None, EVENT_PAYLOAD_STRING, t);
        connector.sign(&mut req).expect("sign");
        req.received_at = at(received);
        req
    };
    assert_eq!(
        refusal(&connector, &signed_at(received - 15)),
        Some((401, "timestamp_outside_window"))
    );
    assert_eq!(refusal(&connector, &signed_at(received - 9)), None);
    assert_eq!(refusal(&connector, &signed_at(received - 10)), None);
    // stripe-go: 15 s old passes a 20 s tolerance.
    let wider = stripe_with(&[SECRET], 20);
    assert_eq!(refusal(&wider, &signed_at(received - 15)), None);
    // Unlike the libraries (age only), a time ahead of ours is held to the window too.
    assert_eq!(
        refusal(&connector, &signed_at(received + 11)),
        Some((401, "timestamp_outside_window"))
    );
    // The default window: 300 s.
    let default = stripe(&[SECRET]);
    let header = format!("t={T},v1={V1}");
    assert_eq!(
        refusal(
            &default,
            &request(Some(&header), EVENT_PAYLOAD_STRING, T + 300)
        ),
        None
    );
    assert_eq!(
        refusal(
            &default,
            &request(Some(&header), EVENT_PAYLOAD_STRING, T + 301)
        ),
        Some((401, "timestamp_outside_window"))
    );
    // A forged stale delivery is a mismatch, not a stale one.
    let forged = format!("t={},v1={V1}", T - 1000);
    assert_eq!(
        refusal(&default, &request(Some(&forged), EVENT_PAYLOAD_STRING, T)),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn parse_keys_on_the_event_id_and_takes_the_connected_account_as_tenant() {
    let connector = stripe(&[SECRET]);
    let body = r#"{"id":"evt_1","object":"event","type":"customer.created","account":"acct_1Nv0FGQ9RKHgCVdK","created":1700000000,"data":{"object":{}}}"#;
    let mut req = request(None, body, T);
    connector.sign(&mut req).expect("sign");
    let verified = connector.verify(&req).expect("verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(
        parsed.id,
        DeliveryId {
            tenant: "acct_1Nv0FGQ9RKHgCVdK".into(),
            external_event_id: "evt_1".into(),
            topic: "customer.created".into(),
        }
    );
    assert_eq!(parsed.content, None, "the event id is signed");
    req.path_tenant = Some("eu-shop".into());
    let verified = connector.verify(&req).expect("verifies");
    assert_eq!(
        connector.parse(&verified).expect("parses").id.tenant,
        "eu-shop"
    );
    let no_id = request(None, r#"{"id":"","type":"x"}"#, T);
    let err = connector.parse(&Verified::body(&no_id)).expect_err("no id");
    assert_eq!(err.to_string(), "id: missing");
    let not_json = request(None, "} I am not valid JSON; 123][", T);
    assert!(connector.parse(&Verified::body(&not_json)).is_err());
}

#[test]
fn settings_take_defaults_and_name_what_is_wrong() {
    let table = |value: serde_json::Value| value.as_object().cloned().unwrap_or_default();
    let settings =
        parse_settings::<Settings>(&table(json!({ "secrets": ["whsec_a"] })), "channels.stripe")
            .expect("settings");
    assert_eq!(settings.order_ref_metadata_key, "order_id");
    assert_eq!(settings.tolerance_secs, 300);
    assert_eq!(settings.link, OrderLink::default());
    let linked = parse_settings::<Settings>(
        &table(json!({
            "secrets": ["whsec_a"],
            "order_ref_metadata_key": "shop_order",
            "tolerance_secs": 120,
            "orders_channel": "shopify",
            "orders_tenant": "o2o-demo.myshopify.com",
        })),
        "channels.stripe",
    )
    .expect("settings");
    assert_eq!(linked.link.orders_channel.as_deref(), Some("shopify"));
    assert!(Stripe::build(linked).is_ok());

    let build_error = |value: serde_json::Value| {
        let settings =
            parse_settings::<Settings>(&table(value), "channels.stripe").expect("parses");
        Stripe::build(settings).expect_err("refused").to_string()
    };
    // stripe-node: "The provided signing secret contains whitespace".
    assert_eq!(
        build_error(json!({ "secrets": ["whsec_test_secret "] })),
        "secrets: contains whitespace"
    );
    let api_key =
        build_error(json!({ "secrets": ["whsec_new", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"] }));
    assert_eq!(
        api_key,
        "secrets: must be the endpoint's signing secret (whsec_…)"
    );
    assert!(!api_key.contains("sk_test"));
    assert_eq!(
        build_error(json!({ "secrets": ["whsec_a"], "tolerance_secs": 0 })),
        "tolerance_secs: must be at least 1"
    );
    assert_eq!(
        build_error(json!({ "secrets": ["whsec_a"], "order_ref_metadata_key": " " })),
        "order_ref_metadata_key: is empty"
    );
    assert_eq!(
        build_error(json!({ "secrets": ["whsec_a"], "orders_tenant": "t" })),
        "orders_tenant: needs orders_channel"
    );
    let unknown = parse_settings::<Settings>(
        &table(json!({ "secrets": ["whsec_a"], "api_key": "sk_x" })),
        "channels.stripe",
    )
    .expect_err("unknown setting");
    assert!(
        unknown.to_string().contains("unknown setting `api_key`"),
        "{unknown}"
    );
}
