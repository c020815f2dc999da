//! Verification against the official vectors, refusals, settings checks and the mapping.

use o2o_core::connector::EventDraft;
use o2o_core::event::{EventType, OrderStatus};
use o2o_core::money::{Currency, Money};
use o2o_core::settings::parse_settings;
use o2o_core::{Headers, Timestamp};
use serde_json::{Value, json};

use super::*;

/// The official libraries' secret, message id, time and payload: standard-webhooks
/// `libraries/go/webhook_test.go` @449485caf9c0303530c19524fbe4096680aafcf1 (`TestWebhookSign`,
/// `defaultSecret`, `defaultMsgID`, `defaultPayload`) and `libraries/javascript/src/webhook.test.ts`
/// @10d3e46d720c4e5861a792bec25792a04ad4e2b3 ("sign function works"); Svix documents the same
/// delivery with `svix-*` headers (docs.svix.com/receiving/verifying-payloads/how-manual, and
/// svix/svix-webhooks `go/webhook_test.go` @d7cf62fd0428f6ae925832e0f31af7fd9f54344a).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SENT_AT: i64 = 1_614_265_330;
const PAYLOAD: &str = r#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
/// The invalid `v1` signature of the same tests ("invalid signature is invalid", "valid multi sig
/// is valid").
const WRONG_V1: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

/// RFC 8032 §7.1 TEST 1's key pair as `whsk_`/`whpk_` (seed 9d61b19d…7f60, public d75a9801…511a).
const RFC8032_T1_SECRET: &str = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const RFC8032_T1_PUBLIC: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
/// The spec publishes no `v1a` vector (its example header's `v1a` comes without a key). This is
/// the ed25519 signature of the official delivery above (`{MSG_ID}.{SENT_AT}.{PAYLOAD}`) by the
/// RFC 8032 TEST 1 key, computed independently with Python's `cryptography` 48
/// (`Ed25519PrivateKey.sign`).
const V1A_OF_OFFICIAL: &str =
    "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw==";

/// Another secret, for rotation and wrong-key tests.
const OTHER_SECRET: &str = "whsec_bzJvLW9sZC1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ=";

fn base_table() -> serde_json::Map<String, Value> {
    let table = json!({
        "secrets": [SECRET],
        "event_map": {
            "payment.succeeded": "payment.succeeded",
            "payment.failed": "payment.failed",
            "refund.succeeded": "payment.refunded",
            "dispute.opened": "payment.disputed",
            "order.created": "order.created",
            "order.cancelled": "order.cancelled",
            "order.refunded": "order.refunded",
        },
        "order_ref_pointer": "/data/order_id",
        "payment_id_pointer": "/data/payment_id",
        "amount_pointer": "/data/amount",
        "amount_format": "minor",
        "currency_pointer": "/data/currency",
        "status_pointer": "/data/status",
        "failure_reason_pointer": "/data/failure_reason",
        "refund_id_pointer": "/data/refund_id",
        "refund_reason_pointer": "/data/reason",
        "dispute_id_pointer": "/data/dispute_id",
        "dispute_reason_pointer": "/data/reason",
    });
    match table {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

/// The table with `changes` (a `null` removes the setting).
fn table_with(changes: &[(&str, Value)]) -> serde_json::Map<String, Value> {
    let mut table = base_table();
    for (name, value) in changes {
        if value.is_null() {
            table.remove(*name);
        } else {
            table.insert((*name).to_owned(), value.clone());
        }
    }
    table
}

fn build(changes: &[(&str, Value)]) -> Result<StandardWebhooks, SettingsError> {
    let settings = parse_settings::<Settings>(&table_with(changes), "channels.standard-webhooks")?;
    StandardWebhooks::build(settings)
}

fn connector(changes: &[(&str, Value)]) -> StandardWebhooks {
    build(changes).unwrap_or_else(|e| panic!("{e}"))
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
        headers: headers.iter().copied().collect(),
        body: body.as_bytes().to_vec(),
        received_at: at(received_at),
    }
}

/// The official delivery with `signature`, received at `received_at`.
fn official(signature: &str, received_at: i64) -> WebhookRequest {
    let sent_at = SENT_AT.to_string();
    request(
        &[
            ("webhook-id", MSG_ID),
            ("webhook-timestamp", &sent_at),
            ("webhook-signature", signature),
        ],
        PAYLOAD,
        received_at,
    )
}

fn refusal(connector: &StandardWebhooks, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector.verify(req).err().map(|r| (r.status, r.code))
}

fn setting_error(changes: &[(&str, Value)]) -> String {
    match build(changes) {
        Ok(_) => panic!("{changes:?} should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_official_v1_vector_verifies_with_or_without_the_prefix_and_signs_identically() {
    for secret in [SECRET, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
        let connector = connector(&[("secrets", json!([secret]))]);
        assert_eq!(
            refusal(&connector, &official(SIGNATURE, SENT_AT)),
            None,
            "{secret}"
        );
    }
    let mut unsigned = request(&[("webhook-id", MSG_ID)], PAYLOAD, SENT_AT);
    connector(&[]).sign(&mut unsigned).expect("sign");
    assert_eq!(unsigned.headers.get("webhook-signature"), Some(SIGNATURE));
    assert_eq!(
        unsigned.headers.get("webhook-timestamp"),
        Some("1614265330")
    );
    assert_eq!(unsigned.headers.get("webhook-id"), Some(MSG_ID));
}

/// `TestWebhook` of the Go library and the JavaScript suite, case by case.
#[test]
fn the_official_refusals_are_refused() {
    let connector = connector(&[]);
    let without = |name: &str| {
        let mut req = official(SIGNATURE, SENT_AT);
        let kept: Headers = req.headers.iter().filter(|(n, _)| *n != name).collect();
        req.headers = kept;
        req
    };
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        assert_eq!(
            refusal(&connector, &without(name)),
            Some((401, "signature_missing")),
            "missing {name}"
        );
    }
    assert_eq!(
        refusal(&connector, &official(WRONG_V1, SENT_AT)),
        Some((401, "signature_mismatch")),
        "invalid signature is invalid"
    );
    // "invalid signature throws error" and "partial signature throws error" (JavaScript).
    for unreadable in [
        "v1,dawfeoifkpqwoekfpqoekf",
        &SIGNATURE[..8],
        "v1,",
        "v2,abc",
    ] {
        assert_eq!(
            refusal(&connector, &official(unreadable, SENT_AT)),
            Some((401, "signature_malformed")),
            "{unreadable}"
        );
    }
    // "valid multi sig is valid": other versions and wrong signatures around the right one.
    let multi = [
        WRONG_V1,
        "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        SIGNATURE,
        WRONG_V1,
    ]
    .join(" ");
    assert_eq!(refusal(&connector, &official(&multi, SENT_AT)), None);
    // "invalid timestamp throws error" (JavaScript).
    let mut hello = official(SIGNATURE, SENT_AT);
    hello.headers.set("webhook-timestamp", "hello");
    assert_eq!(
        refusal(&connector, &hello),
        Some((401, "signature_malformed"))
    );
}

/// "old timestamp fails" / "new timestamp fails": more than five minutes either way. The
/// JavaScript library compares whole seconds and accepts exactly 300 s; so does this.
#[test]
fn the_timestamp_must_be_within_the_window() {
    let connector = connector(&[]);
    for received_at in [SENT_AT - 300, SENT_AT, SENT_AT + 300] {
        assert_eq!(refusal(&connector, &official(SIGNATURE, received_at)), None);
    }
    for received_at in [SENT_AT - 301, SENT_AT + 301, 0] {
        assert_eq!(
            refusal(&connector, &official(SIGNATURE, received_at)),
            Some((401, "timestamp_outside_window")),
            "{received_at}"
        );
    }
    let lenient = self::connector(&[("tolerance_secs", json!(86_400))]);
    assert_eq!(
        refusal(&lenient, &official(SIGNATURE, SENT_AT + 3_600)),
        None
    );
}

/// "invalid timestamp fails when ignoring tolerance" (Go): the timestamp is signed, so moving it
/// breaks the signature even where the window would allow it.
#[test]
fn the_id_timestamp_and_body_are_all_signed() {
    let connector = connector(&[("tolerance_secs", json!(1_000_000_000_000_i64))]);
    let mut moved = official(SIGNATURE, SENT_AT);
    moved.headers.set("webhook-timestamp", "946684800");
    let mut other_id = official(SIGNATURE, SENT_AT);
    other_id
        .headers
        .set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJel");
    let mut tampered = official(SIGNATURE, SENT_AT);
    tampered.body = br#"{"test": 2432232315}"#.to_vec();
    for req in [moved, other_id, tampered] {
        assert_eq!(refusal(&connector, &req), Some((401, "signature_mismatch")));
    }
}

#[test]
fn any_listed_secret_verifies_and_another_does_not() {
    let rotating = connector(&[("secrets", json!([OTHER_SECRET, SECRET]))]);
    assert_eq!(refusal(&rotating, &official(SIGNATURE, SENT_AT)), None);
    let other = connector(&[("secrets", json!([OTHER_SECRET]))]);
    assert_eq!(
        refusal(&other, &official(SIGNATURE, SENT_AT)),
        Some((401, "signature_mismatch"))
    );
    // The newest secret signs.
    let mut req = request(&[], PAYLOAD, SENT_AT);
    rotating.sign(&mut req).expect("sign");
    assert_eq!(refusal(&other, &req), None);
    assert_eq!(
        refusal(&connector(&[]), &req),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn svix_headers_are_read_where_configured() {
    let sent_at = SENT_AT.to_string();
    let svix = request(
        &[
            ("svix-id", MSG_ID),
            ("svix-timestamp", &sent_at),
            ("svix-signature", SIGNATURE),
        ],
        PAYLOAD,
        SENT_AT,
    );
    let webhook = official(SIGNATURE, SENT_AT);
    let by_svix = connector(&[("header_prefix", json!("svix"))]);
    let by_any = connector(&[("header_prefix", json!("any"))]);
    let by_spec = connector(&[]);
    assert_eq!(refusal(&by_svix, &svix), None);
    assert_eq!(
        refusal(&by_svix, &webhook),
        Some((401, "signature_missing"))
    );
    assert_eq!(refusal(&by_spec, &svix), Some((401, "signature_missing")));
    assert_eq!(refusal(&by_any, &svix), None);
    assert_eq!(refusal(&by_any, &webhook), None);
    // `any` never mixes the sets: a svix-id with webhook-* timestamp and signature is missing
    // its svix-timestamp.
    let mut mixed = webhook.clone();
    mixed.headers.insert("svix-id", MSG_ID);
    assert_eq!(refusal(&by_any, &mixed), Some((401, "signature_missing")));
    let mut signed = request(&[], PAYLOAD, SENT_AT);
    by_svix.sign(&mut signed).expect("sign");
    assert!(signed.headers.get("svix-signature").is_some());
    assert!(signed.headers.get("webhook-signature").is_none());
}

/// RFC 8032 §7.1 TEST 2 (public key 3d4017c3…660c, message 0x72), through the same check that
/// `v1a` signatures take.
#[test]
fn ed25519_matches_rfc_8032_test_2() {
    let public = hex::decode("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        .expect("hex");
    let signature = hex::decode(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
         085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    )
    .expect("hex");
    let public: [u8; 32] = public.try_into().expect("32 bytes");
    let keys = Keys::new(Vec::new(), vec![public], None);
    assert!(keys.ed25519_verifies(&[0x72], &signature));
    assert!(!keys.ed25519_verifies(&[0x73], &signature));
}

#[test]
fn v1a_signatures_verify_with_a_listed_public_key() {
    let asymmetric = connector(&[
        ("secrets", Value::Null),
        ("public_keys", json!([RFC8032_T1_PUBLIC])),
    ]);
    assert_eq!(
        refusal(&asymmetric, &official(V1A_OF_OFFICIAL, SENT_AT)),
        None
    );
    // Both kinds in one header, as in the spec's example: each connector finds its own.
    let both = format!("{SIGNATURE} {V1A_OF_OFFICIAL}");
    assert_eq!(refusal(&asymmetric, &official(&both, SENT_AT)), None);
    assert_eq!(refusal(&connector(&[]), &official(&both, SENT_AT)), None);
    // A v1 signature means nothing to a connector with only public keys, and the reverse.
    assert_eq!(
        refusal(&asymmetric, &official(SIGNATURE, SENT_AT)),
        Some((401, "signature_mismatch"))
    );
    assert_eq!(
        refusal(&connector(&[]), &official(V1A_OF_OFFICIAL, SENT_AT)),
        Some((401, "signature_mismatch"))
    );
    let mut tampered = official(V1A_OF_OFFICIAL, SENT_AT);
    tampered.body = br#"{"test": 2432232315}"#.to_vec();
    assert_eq!(
        refusal(&asymmetric, &tampered),
        Some((401, "signature_mismatch"))
    );
    // Another public key (RFC 8032 TEST 2's) does not verify; listing both does (rotation).
    let test2 = "whpk_PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=";
    let other = connector(&[("secrets", Value::Null), ("public_keys", json!([test2]))]);
    assert_eq!(
        refusal(&other, &official(V1A_OF_OFFICIAL, SENT_AT)),
        Some((401, "signature_mismatch"))
    );
    let rotating = connector(&[
        ("secrets", Value::Null),
        ("public_keys", json!([test2, RFC8032_T1_PUBLIC])),
    ]);
    assert_eq!(
        refusal(&rotating, &official(V1A_OF_OFFICIAL, SENT_AT)),
        None
    );
}

#[test]
fn the_test_key_signs_what_the_independent_implementation_signs() {
    let signer = connector(&[
        ("secrets", Value::Null),
        ("public_keys", json!([RFC8032_T1_PUBLIC])),
        ("test_signing_key", json!(RFC8032_T1_SECRET)),
    ]);
    let mut req = request(&[("webhook-id", MSG_ID)], PAYLOAD, SENT_AT);
    signer.sign(&mut req).expect("sign");
    // ed25519 is deterministic (RFC 8032 §5.1.6): the same bytes as Python's.
    assert_eq!(req.headers.get("webhook-signature"), Some(V1A_OF_OFFICIAL));
    let both = connector(&[
        ("public_keys", json!([RFC8032_T1_PUBLIC])),
        ("test_signing_key", json!(RFC8032_T1_SECRET)),
    ]);
    let mut req = request(&[("webhook-id", MSG_ID)], PAYLOAD, SENT_AT);
    both.sign(&mut req).expect("sign");
    let expected = format!("{SIGNATURE} {V1A_OF_OFFICIAL}");
    assert_eq!(
        req.headers.get("webhook-signature"),
        Some(expected.as_str())
    );
    let unsignable = connector(&[
        ("secrets", Value::Null),
        ("public_keys", json!([RFC8032_T1_PUBLIC])),
    ]);
    assert_eq!(
        unsignable.sign(&mut request(&[], PAYLOAD, SENT_AT)),
        Err(SignatureError::NoSecret)
    );
}

#[test]
fn too_many_signatures_are_refused_unread() {
    let connector = connector(&[]);
    let many = vec![WRONG_V1; MAX_SIGNATURES_FOR_TESTS + 1].join(" ");
    assert_eq!(
        refusal(
            &connector,
            &official(&format!("{many} {SIGNATURE}"), SENT_AT)
        ),
        Some((401, "signature_malformed"))
    );
}

const MAX_SIGNATURES_FOR_TESTS: usize = scheme::MAX_SIGNATURES;

#[test]
fn settings_are_read_from_a_table_and_checked_naming_the_setting() {
    // Tables, lists and integers pass through the loader; unknown keys are refused.
    assert!(build(&[]).is_ok());
    let unknown = setting_error(&[("amount_pointr", json!("/x"))]);
    assert!(
        unknown.contains("unknown setting `amount_pointr`"),
        "{unknown}"
    );
    for (changes, setting) in [
        (
            vec![("order_ref_pointer", json!("data/order_id"))],
            "order_ref_pointer",
        ),
        (vec![("amount_pointer", json!("/a~2"))], "amount_pointer"),
        (
            vec![("event_type_pointer", json!("type"))],
            "event_type_pointer",
        ),
        (
            vec![("event_map", json!({ "payment.succeeded": "payment.paid" }))],
            "event_map.payment.succeeded",
        ),
        (vec![("event_map", json!({}))], "event_map"),
        (vec![("amount_format", json!("cents"))], "amount_format"),
        (vec![("amount_format", Value::Null)], "amount_format"),
        (
            vec![("amount_pointer", Value::Null)],
            "amount_format: needs amount_pointer",
        ),
        (vec![("currency_pointer", Value::Null)], "currency_pointer"),
        (vec![("currency", json!("usd"))], "currency"),
        (
            vec![("secrets", json!(["whsec_not base64!"]))],
            "secrets[0]",
        ),
        (vec![("secrets", json!([RFC8032_T1_PUBLIC]))], "secrets[0]"),
        (vec![("secrets", Value::Null)], "secrets"),
        (
            vec![("public_keys", json!(["whpk_AAAA"]))],
            "public_keys[0]",
        ),
        (vec![("public_keys", json!([SECRET]))], "public_keys[0]"),
        (
            vec![("test_signing_key", json!(RFC8032_T1_SECRET))],
            "test_signing_key",
        ),
        (vec![("header_prefix", json!("x-webhook"))], "header_prefix"),
        (vec![("orders_tenant", json!("t"))], "orders_tenant"),
    ] {
        let error = setting_error(&changes);
        assert!(error.contains(setting), "{changes:?}: {error}");
        for value in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "not base64"] {
            assert!(!error.contains(value), "{error} shows a value");
        }
    }
    // A fixed currency stands in for a currency pointer.
    assert!(
        build(&[
            ("currency_pointer", Value::Null),
            ("currency", json!("JPY"))
        ])
        .is_ok()
    );
    // Public keys alone are enough.
    assert!(
        build(&[
            ("secrets", Value::Null),
            ("public_keys", json!([RFC8032_T1_PUBLIC]))
        ])
        .is_ok()
    );
}

#[test]
fn the_settings_document_every_field() {
    let schema = schemars::schema_for!(Settings);
    let docs = o2o_core::settings::setting_docs(&schema);
    assert!(docs.iter().all(|d| !d.description.is_empty()), "{docs:?}");
    let find = |name: &str| docs.iter().find(|d| d.name == name).expect(name);
    assert!(find("secrets").secret && !find("secrets").required);
    assert!(find("test_signing_key").secret);
    assert!(find("event_map").required && find("order_ref_pointer").required);
    assert!(!find("public_keys").secret);
}

/// What `connector` makes of `body` (signed and verified first).
fn normalised(connector: &StandardWebhooks, body: &str) -> Result<Normalised<()>, NormaliseError> {
    let mut req = request(&[("webhook-id", "msg_1")], body, SENT_AT);
    connector.sign(&mut req).expect("sign");
    let verified = connector.verify(&req).expect("verifies");
    let parsed = connector.parse(&verified)?;
    assert_eq!(parsed.id.external_event_id, "msg_1");
    assert_eq!(parsed.content, None);
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    connector.normalise(&parsed.id, parsed.message, &ctx)
}

fn one(connector: &StandardWebhooks, body: &str) -> EventDraft {
    match normalised(connector, body) {
        Ok(Normalised::Events(mut events)) if events.len() == 1 => events.remove(0),
        other => panic!("expected one event, got {other:?}"),
    }
}

fn money(minor: i64, code: &str) -> Option<Money> {
    Some(Money::from_minor(
        minor,
        Currency::from_code(code).expect("a currency"),
    ))
}

#[test]
fn decimal_amounts_are_exact_in_each_currencys_exponent() {
    let decimal = connector(&[("amount_format", json!("decimal"))]);
    let body = |amount: &str, currency: &str| {
        format!(
            r#"{{"type":"payment.succeeded","timestamp":"2024-05-01T10:00:00Z","data":{{"order_id":"A1","amount":{amount},"currency":"{currency}"}}}}"#
        )
    };
    for (amount, currency, minor) in [
        ("19.99", "USD", 1999),
        ("\"19.99\"", "usd", 1999),
        ("1.234", "KWD", 1234),
        ("1500", "JPY", 1500),
        ("0.30", "EUR", 30),
    ] {
        let payment = one(&decimal, &body(amount, currency))
            .payment
            .expect("payment");
        assert_eq!(
            payment.amount,
            money(minor, &currency.to_ascii_uppercase()),
            "{amount}"
        );
    }
    for (amount, currency) in [("1500.5", "JPY"), ("0.001", "USD"), ("true", "USD")] {
        let error = normalised(&decimal, &body(amount, currency)).expect_err("refused");
        assert!(error.to_string().starts_with("/data/amount"), "{error}");
    }
    let error = normalised(&decimal, &body("1", "XYZ")).expect_err("refused");
    assert!(error.to_string().starts_with("/data/currency"), "{error}");
    let minor = connector(&[]);
    assert_eq!(
        one(&minor, &body("1500", "JPY")).payment.expect("p").amount,
        money(1500, "JPY")
    );
    for not_minor in ["19.99", "1e3", "\"12a\""] {
        assert!(
            normalised(&minor, &body(not_minor, "USD")).is_err(),
            "{not_minor}"
        );
    }
}

#[test]
fn unmapped_types_are_ignored_and_unreadable_payloads_refused() {
    let connector = connector(&[]);
    match normalised(&connector, r#"{"type":"subscription.renewed","data":{}}"#) {
        Ok(Normalised::Ignored(reason)) => assert!(reason.contains("subscription.renewed")),
        other => panic!("expected ignored, got {other:?}"),
    }
    let no_type = normalised(&connector, r#"{"data":{}}"#).expect_err("no type");
    assert_eq!(no_type.to_string(), "/type: missing");
    assert!(normalised(&connector, "not json").is_err());
    // An order event needs its order id; a payment does without.
    let error =
        normalised(&connector, r#"{"type":"order.created","data":{}}"#).expect_err("no order id");
    assert!(error.to_string().starts_with("/data/order_id"), "{error}");
    let orphan = one(
        &connector,
        r#"{"type":"payment.succeeded","timestamp":1714557600,"data":{"payment_id":7}}"#,
    );
    let payment = orphan.payment.expect("payment");
    assert_eq!(
        (
            payment.order_ref,
            payment.payment_id.as_deref(),
            payment.amount
        ),
        (None, Some("7"), None)
    );
    assert_eq!(orphan.occurred_at, at(1_714_557_600));
}

#[test]
fn the_event_type_and_time_can_live_elsewhere() {
    let connector = connector(&[
        ("event_type_pointer", json!("/event/name")),
        ("occurred_at_pointer", json!("/event/at")),
        ("event_map", json!({ "order.cancelled": "order.cancelled" })),
    ]);
    let event = one(
        &connector,
        r#"{"event":{"name":"order.cancelled","at":"2024-05-01T12:00:00+02:00"},"data":{"order_id":1001,"amount":2500,"currency":"EUR"}}"#,
    );
    assert_eq!(event.event_type, EventType::OrderCancelled);
    assert_eq!(
        event.occurred_at,
        Timestamp::parse_rfc3339("2024-05-01T10:00:00Z").expect("time")
    );
    let order = event.order.expect("order");
    assert_eq!(order.external_id, "1001");
    assert_eq!(order.status, Some(OrderStatus::Cancelled));
    assert_eq!(order.totals.total, money(2500, "EUR"));
    // Without a time in the payload, the signed attempt time.
    let no_time = one(
        &connector,
        r#"{"event":{"name":"order.cancelled"},"data":{"order_id":"1001"}}"#,
    );
    assert_eq!(no_time.occurred_at, at(SENT_AT));
}

#[test]
fn a_delivery_is_keyed_by_its_signed_id_under_the_url_tenant() {
    let connector = connector(&[]);
    let mut req = request(
        &[("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")],
        r#"{"type":"x","data":{}}"#,
        SENT_AT,
    );
    req.path_tenant = Some("eu-shop".into());
    connector.sign(&mut req).expect("sign");
    let verified = connector.verify(&req).expect("verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(
        parsed.id,
        DeliveryId {
            tenant: "eu-shop".into(),
            external_event_id: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".into(),
            topic: "x".into(),
        }
    );
    // An id or event type too long for the idempotency key is quarantined.
    let long = "x".repeat(MAX_KEY_PART_LEN + 1);
    let mut long_id = request(&[("webhook-id", &long)], r#"{"type":"x"}"#, SENT_AT);
    connector.sign(&mut long_id).expect("sign");
    let verified = connector.verify(&long_id).expect("verifies");
    assert!(connector.parse(&verified).is_err());
    let body = format!(r#"{{"type":"{long}"}}"#);
    let mut long_type = request(&[("webhook-id", "msg_1")], &body, SENT_AT);
    connector.sign(&mut long_type).expect("sign");
    let verified = connector.verify(&long_type).expect("verifies");
    assert!(connector.parse(&verified).is_err());
    // A sample without an id gets one made from its body.
    let mut anonymous = request(&[], "{}", SENT_AT);
    connector.sign(&mut anonymous).expect("sign");
    let id = anonymous.headers.get("webhook-id").expect("an id");
    assert!(id.starts_with("msg_") && id.len() == 31, "{id}");
}
