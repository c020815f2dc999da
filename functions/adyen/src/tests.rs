//! The official vectors, and every way a delivery is refused.

use super::*;
use o2o_core::Timestamp;
use o2o_core::event::EventType;
use serde_json::json;

/// Adyen/adyen-python-api-library `test/test_util.py` @ 87ae0f7f65541d575c91c8be7f48b9f135cba237,
/// `test_notification_request_item_hmac`: its key and expected signature.
const PY_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
const PY_SIGNATURE: &str = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=";

/// The same test's item (its `request` dict), as JSON.
const PY_ITEM: &str = r#"{
    "pspReference": "7914073381342284",
    "merchantReference": "TestPayment-1407325143704",
    "merchantAccountCode": "TestMerchant",
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "success": "true",
    "eventDate": "2019-05-06T17:15:34.121+02:00",
    "operations": ["CANCEL", "CAPTURE", "REFUND"],
    "paymentMethod": "visa"
}"#;

/// The key of `test_webhooks_with_slashes` in the same file, which validates four real
/// deliveries (`test/mocks/util/*_notification.json` at the same commit, below byte for byte)
/// whose `merchantReference` holds `\\`, `:` and `/`: nothing is escaped.
const SLASH_KEY: &str = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174";

/// `test/mocks/util/backslash_notification.json` (merchantReference `\\\\slashes are fun`).
const BACKSLASH: &str = r#"{
  "additionalData": {
    "acquirerCode": "TestPmmAcquirer",
    "acquirerReference": "DZMKWLXW6N6",
    "authCode": "076181",
    "avsResult": "5 No AVS data provided",
    "avsResultRaw": "5",
    "cardSummary": "1111",
    "checkout.cardAddedBrand": "visa",
    "cvcResult": "1 Matches",
    "cvcResultRaw": "M",
    "expiryDate": "03/2030",
    "hmacSignature": "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo=",
    "paymentMethod": "visa",
    "refusalReasonRaw": "AUTHORISED",
    "retry.attempt1.acquirer": "TestPmmAcquirer",
    "retry.attempt1.acquirerAccount": "TestPmmAcquirerAccount",
    "retry.attempt1.avsResultRaw": "5",
    "retry.attempt1.rawResponse": "AUTHORISED",
    "retry.attempt1.responseCode": "Approved",
    "retry.attempt1.scaExemptionRequested": "lowValue",
    "scaExemptionRequested": "lowValue"
  },
  "amount": {
    "currency": "EUR",
    "value": 1000
  },
  "eventCode": "AUTHORISATION",
  "eventDate": "2023-01-09T16:27:29+01:00",
  "merchantAccountCode": "AntoniStroinski",
  "merchantReference": "\\\\slashes are fun",
  "operations": [
    "CANCEL",
    "CAPTURE",
    "REFUND"
  ],
  "paymentMethod": "visa",
  "pspReference": "T7FD4VM4D3RZNN82",
  "reason": "076181:1111:03/2030",
  "success": "true"
}"#;
/// `test/mocks/util/colon_notification.json` (merchantReference `:slashes are fun`).
const COLON: &str = r#"{
  "additionalData": {
    "acquirerCode": "TestPmmAcquirer",
    "acquirerReference": "8NQH5BNF58M",
    "authCode": "039404",
    "avsResult": "5 No AVS data provided",
    "avsResultRaw": "5",
    "cardSummary": "1111",
    "checkout.cardAddedBrand": "visa",
    "cvcResult": "1 Matches",
    "cvcResultRaw": "M",
    "expiryDate": "03/2030",
    "hmacSignature": "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA=",
    "paymentMethod": "visa",
    "refusalReasonRaw": "AUTHORISED",
    "retry.attempt1.acquirer": "TestPmmAcquirer",
    "retry.attempt1.acquirerAccount": "TestPmmAcquirerAccount",
    "retry.attempt1.avsResultRaw": "5",
    "retry.attempt1.rawResponse": "AUTHORISED",
    "retry.attempt1.responseCode": "Approved",
    "retry.attempt1.scaExemptionRequested": "lowValue",
    "scaExemptionRequested": "lowValue"
  },
  "amount": {
    "currency": "EUR",
    "value": 1000
  },
  "eventCode": "AUTHORISATION",
  "eventDate": "2023-01-10T13:40:54+01:00",
  "merchantAccountCode": "AntoniStroinski",
  "merchantReference": ":slashes are fun",
  "operations": [
    "CANCEL",
    "CAPTURE",
    "REFUND"
  ],
  "paymentMethod": "visa",
  "pspReference": "M8NB66SBZSGLNK82",
  "reason": "039404:1111:03/2030",
  "success": "true"
}"#;
/// `test/mocks/util/forwardslash_notification.json`.
const FORWARDSLASH: &str = r#"{
  "amount": {
    "value": 1000,
    "currency": "EUR"
  },
  "reason": "087330:1111:03/2030",
  "success": "true",
  "eventCode": "AUTHORISATION",
  "eventDate": "2023-01-10T13:37:30+01:00",
  "operations": [
    "CANCEL",
    "CAPTURE",
    "REFUND"
  ],
  "pspReference": "X3GWNS6KJ8NKGK82",
  "paymentMethod": "visa",
  "additionalData": {
    "authCode": "087330",
    "avsResult": "5 No AVS data provided",
    "cvcResult": "1 Matches",
    "expiryDate": "03/2030",
    "cardSummary": "1111",
    "acquirerCode": "TestPmmAcquirer",
    "avsResultRaw": "5",
    "cvcResultRaw": "M",
    "hmacSignature": "9Z0xdpG9Xi3zcmXv14t/BvMBut77O/Xq9D4CQXSDUi4=",
    "paymentMethod": "visa",
    "refusalReasonRaw": "AUTHORISED",
    "acquirerReference": "HHCCC326PH6",
    "scaExemptionRequested": "lowValue",
    "checkout.cardAddedBrand": "visa",
    "retry.attempt1.acquirer": "TestPmmAcquirer",
    "retry.attempt1.rawResponse": "AUTHORISED",
    "retry.attempt1.avsResultRaw": "5",
    "retry.attempt1.responseCode": "Approved",
    "retry.attempt1.acquirerAccount": "TestPmmAcquirerAccount",
    "retry.attempt1.scaExemptionRequested": "lowValue"
  },
  "merchantReference": "//slashes are fun",
  "merchantAccountCode": "AntoniStroinski"
}"#;
/// `test/mocks/util/mixed_notification.json`; also, byte for byte,
/// Adyen/adyen-java-api-library `src/test/resources/mocks/hmac-validation-webhook.json` @
/// 15b1f17567b5b9bc8f615409e0d889e8b972ce72, which `HMACValidatorTest.testValidateHMACWithoutEscaping`
/// validates with the same key.
const MIXED: &str = r#"{
  "additionalData": {
    "acquirerCode": "TestPmmAcquirer",
    "acquirerReference": "J8DXDJ2PV6P",
    "authCode": "052095",
    "avsResult": "5 No AVS data provided",
    "avsResultRaw": "5",
    "cardSummary": "1111",
    "checkout.cardAddedBrand": "visa",
    "cvcResult": "1 Matches",
    "cvcResultRaw": "M",
    "expiryDate": "03/2030",
    "hmacSignature": "CZErGCNQaSsxbaQfZaJlakqo7KPP+mIa8a+wx3yNs9A=",
    "paymentMethod": "visa",
    "refusalReasonRaw": "AUTHORISED",
    "retry.attempt1.acquirer": "TestPmmAcquirer",
    "retry.attempt1.acquirerAccount": "TestPmmAcquirerAccount",
    "retry.attempt1.avsResultRaw": "5",
    "retry.attempt1.rawResponse": "AUTHORISED",
    "retry.attempt1.responseCode": "Approved",
    "retry.attempt1.scaExemptionRequested": "lowValue",
    "scaExemptionRequested": "lowValue"
  },
  "amount": {
    "currency": "EUR",
    "value": 1000
  },
  "eventCode": "AUTHORISATION",
  "eventDate": "2023-01-10T13:42:29+01:00",
  "merchantAccountCode": "AntoniStroinski",
  "merchantReference": "\\:/\\/slashes are fun",
  "operations": [
    "CANCEL",
    "CAPTURE",
    "REFUND"
  ],
  "paymentMethod": "visa",
  "pspReference": "ZVWN7D3WSMK2WN82",
  "reason": "052095:1111:03/2030",
  "success": "true"
}"#;

/// Adyen/adyen-java-api-library `src/test/java/com/adyen/util/HMACValidatorTest.java` @
/// 15b1f17567b5b9bc8f615409e0d889e8b972ce72: `HMAC_KEY`, and `testValidateHMAC`'s item (a
/// `REPORT_AVAILABLE` whose `amount.value` is the string `"0"`).
const JAVA_KEY: &str = "9064450A8892A093D9E97EFCC9639DE31B74F3A7803135555A3C96F5A57915D6";
const JAVA_ITEM: &str = r#"{
    "additionalData": {
        "hmacSignature": "NuEkADFmlCC6VgX+wcoPAegIWxVPNBPCuKlM4Hzo5qc="
    },
    "amount": {
        "currency": "EUR",
        "value": "0"
    },
    "eventCode": "REPORT_AVAILABLE",
    "eventDate": "2019-11-20T14:35:36+01:00",
    "merchantAccountCode": "Magento2Rik",
    "merchantReference": "testMerchantRef1",
    "pspReference": "test_REPORT_AVAILABLE",
    "reason": "will contain the url to the report",
    "success": "true"
}"#;

/// Another 64-hex key, for rotation and wrong-key tests.
const OTHER_KEY: &str = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";

fn settings(keys: &[&str]) -> Settings {
    Settings {
        secrets: Secrets::new(keys.iter().map(|k| Secret::new(*k)).collect()).expect("a key"),
        merchant_account: None,
        basic_auth_username: None,
        basic_auth_password: None,
        capture_event: CaptureEvent::Authorisation,
        link: OrderLink::default(),
    }
}

fn adyen(keys: &[&str]) -> Adyen {
    Adyen::build(settings(keys)).expect("builds")
}

/// The envelope of `items` (each an item's JSON).
fn envelope(items: &[&str]) -> String {
    let wrapped: Vec<String> = items
        .iter()
        .map(|item| format!(r#"{{"NotificationRequestItem":{item}}}"#))
        .collect();
    format!(
        r#"{{"live":"false","notificationItems":[{}]}}"#,
        wrapped.join(",")
    )
}

/// `item` with `additionalData.hmacSignature` set to `signature`.
fn with_signature(item: &str, signature: &str) -> String {
    let mut value: Value = serde_json::from_str(item).expect("JSON");
    value["additionalData"] = json!({ "hmacSignature": signature });
    value.to_string()
}

fn request(body: &str) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: [("Content-Type", "application/json")].into_iter().collect(),
        body: body.as_bytes().to_vec(),
        received_at: Timestamp::now(),
    }
}

fn refusal(connector: &Adyen, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector
        .verify(req)
        .err()
        .map(|rejection| (rejection.status, rejection.code))
}

#[test]
fn the_python_library_vector_signs_and_verifies() {
    let item = payload::item(PY_ITEM).expect("an item");
    assert_eq!(
        item.signed_text(),
        "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
    );
    let connector = adyen(&[PY_KEY]);
    assert_eq!(connector.signature(&item).as_deref(), Some(PY_SIGNATURE));
    let req = request(&envelope(&[&with_signature(PY_ITEM, PY_SIGNATURE)]));
    assert_eq!(refusal(&connector, &req), None);
    // The key is hex-decoded: its text as the key does not verify.
    let text_key = BASE64.encode(hmac_sha256(
        PY_KEY.as_bytes(),
        &[item.signed_text().as_bytes()],
    ));
    let req = request(&envelope(&[&with_signature(PY_ITEM, &text_key)]));
    assert_eq!(refusal(&connector, &req), Some((401, "signature_mismatch")));
}

#[test]
fn the_real_deliveries_with_colons_and_backslashes_verify_unescaped() {
    let connector = adyen(&[SLASH_KEY]);
    for (name, item) in [
        ("backslash", BACKSLASH),
        ("colon", COLON),
        ("forwardslash", FORWARDSLASH),
        ("mixed", MIXED),
    ] {
        let req = request(&envelope(&[item]));
        assert_eq!(refusal(&connector, &req), None, "{name}");
    }
    let mixed = payload::item(MIXED).expect("an item");
    assert_eq!(
        mixed.signed_text(),
        r"ZVWN7D3WSMK2WN82::AntoniStroinski:\:/\/slashes are fun:1000:EUR:AUTHORISATION:true"
    );
    // Escaping `\` and `:` (what Adyen's old HPP signatures did) gives another text, which
    // must not be what is signed.
    let escaped = mixed.signed_text().replace('\\', "\\\\");
    assert_ne!(escaped, mixed.signed_text());
    assert_eq!(
        refusal(&adyen(&[PY_KEY]), &request(&envelope(&[MIXED]))),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn the_java_library_vectors_verify() {
    let connector = adyen(&[JAVA_KEY]);
    let req = request(&envelope(&[JAVA_ITEM]));
    assert_eq!(refusal(&connector, &req), None);
    // `testValidateHMACMissingOptionalField`: without `amount`, value and currency are empty.
    let mut without_amount: Value = serde_json::from_str(JAVA_ITEM).expect("JSON");
    if let Some(item) = without_amount.as_object_mut() {
        item.remove("amount");
    }
    let item = payload::item(&without_amount.to_string()).expect("an item");
    assert_eq!(
        item.signed_text(),
        "test_REPORT_AVAILABLE::Magento2Rik:testMerchantRef1:::REPORT_AVAILABLE:true"
    );
    // `testCalculateHMAC`: the primitive on its own.
    let key = hex::decode(JAVA_KEY).expect("hex");
    assert_eq!(
        BASE64.encode(hmac_sha256(&key, &[b"TestPayload"])),
        "YA9/UDjldIO4Gq68X4ATYYoEaPYH4f4k2uzBBzEF1PA="
    );
    // A REPORT_AVAILABLE is not a payment event.
    let parsed = connector.parse(&Verified::body(&req)).expect("parses");
    assert_eq!(parsed.id.topic, "REPORT_AVAILABLE");
    assert_eq!(
        parsed.id.external_event_id,
        "test_REPORT_AVAILABLE:REPORT_AVAILABLE:true"
    );
    assert_eq!(parsed.id.tenant, "Magento2Rik");
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    assert_eq!(
        connector.normalise(&parsed.id, parsed.message, &ctx),
        Ok(Normalised::Ignored(
            "eventCode REPORT_AVAILABLE is not mapped".into()
        ))
    );
}

#[test]
fn a_change_to_a_signed_field_is_refused_and_to_an_unsigned_one_is_not() {
    let connector = adyen(&[SLASH_KEY]);
    for (from, to) in [
        ("\"value\": 1000", "\"value\": 1001"),
        ("\"currency\": \"EUR\"", "\"currency\": \"USD\""),
        (
            "\"eventCode\": \"AUTHORISATION\"",
            "\"eventCode\": \"CAPTURE\"",
        ),
        ("\"success\": \"true\"", "\"success\": \"false\""),
        (
            "\"pspReference\": \"ZVWN7D3WSMK2WN82\"",
            "\"pspReference\": \"ZVWN7D3WSMK2WN83\"",
        ),
        (
            "\"merchantAccountCode\": \"AntoniStroinski\"",
            "\"merchantAccountCode\": \"Other\"",
        ),
        ("slashes are fun", "slashes are fun!"),
    ] {
        assert!(MIXED.contains(from), "{from}");
        let tampered = MIXED.replace(from, to);
        assert_eq!(
            refusal(&connector, &request(&envelope(&[&tampered]))),
            Some((401, "signature_mismatch")),
            "{from}"
        );
    }
    // Adding an originalReference changes the signed text too.
    let with_original = MIXED.replacen('{', r#"{"originalReference": "X","#, 1);
    assert_eq!(
        refusal(&connector, &request(&envelope(&[&with_original]))),
        Some((401, "signature_mismatch"))
    );
    // The event date and the reason are not signed (docs/platforms/adyen.md).
    let unsigned = MIXED.replace("2023-01-10T13:42:29+01:00", "2024-01-10T13:42:29+01:00");
    assert_eq!(refusal(&connector, &request(&envelope(&[&unsigned]))), None);
}

#[test]
fn any_listed_key_verifies_and_the_newest_signs() {
    let req = request(&envelope(&[MIXED]));
    assert_eq!(refusal(&adyen(&[OTHER_KEY, SLASH_KEY]), &req), None);
    assert_eq!(refusal(&adyen(&[SLASH_KEY, OTHER_KEY]), &req), None);
    assert_eq!(
        refusal(&adyen(&[OTHER_KEY]), &req),
        Some((401, "signature_mismatch"))
    );
    // Lower-case hex is the same key.
    assert_eq!(refusal(&adyen(&[&SLASH_KEY.to_lowercase()]), &req), None);
    let mut unsigned = request(&envelope(&[PY_ITEM]));
    adyen(&[PY_KEY, OTHER_KEY])
        .sign(&mut unsigned)
        .expect("sign");
    let signed = payload::read(&unsigned.body).expect("an item");
    assert_eq!(signed.hmac_signature(), Some(PY_SIGNATURE));
    assert_eq!(refusal(&adyen(&[PY_KEY]), &unsigned), None);
}

#[test]
fn a_missing_or_malformed_signature_is_refused() {
    let connector = adyen(&[PY_KEY]);
    let cases = [
        (PY_ITEM.to_owned(), "signature_missing"),
        (with_signature(PY_ITEM, ""), "signature_missing"),
        (
            with_signature(PY_ITEM, "not base64!"),
            "signature_malformed",
        ),
        (with_signature(PY_ITEM, "c2hvcnQ="), "signature_malformed"),
        (
            PY_ITEM.replacen('{', r#"{"additionalData": {"hmacSignature": 7},"#, 1),
            "signature_missing",
        ),
        (
            PY_ITEM.replace("\"success\": \"true\"", "\"success\": 1"),
            "signature_malformed",
        ),
        ("\"an item\"".to_owned(), "signature_malformed"),
    ];
    for (item, code) in cases {
        assert_eq!(
            refusal(&connector, &request(&envelope(&[&item]))),
            Some((401, code)),
            "{item}"
        );
    }
    for body in [
        "",
        "[accepted]",
        "{}",
        r#"{"notificationItems":[]}"#,
        r#"{"notificationItems":{}}"#,
    ] {
        assert_eq!(
            refusal(&connector, &request(body)),
            Some((401, "signature_missing")),
            "{body}"
        );
    }
}

#[test]
fn a_batch_is_all_or_nothing_and_splits_into_its_items() {
    let connector = adyen(&[SLASH_KEY]);
    let body = envelope(&[COLON, BACKSLASH]);
    let req = request(&body);
    let verified = connector.verify(&req).expect("both verify");
    let records = connector.split_records(&verified).expect("records");
    assert_eq!(records.len(), 2);
    let ids: Vec<String> = records
        .iter()
        .map(|record| {
            let record = WebhookRequest {
                body: record.clone(),
                ..req.clone()
            };
            let parsed = connector.parse(&Verified::body(&record)).expect("parses");
            assert_eq!(parsed.content, None, "the id is signed");
            parsed.id.external_event_id
        })
        .collect();
    assert_eq!(
        ids,
        [
            "M8NB66SBZSGLNK82:AUTHORISATION:true",
            "T7FD4VM4D3RZNN82:AUTHORISATION:true"
        ]
    );
    let one_bad = envelope(&[COLON, &BACKSLASH.replace("1000", "1")]);
    assert_eq!(
        refusal(&connector, &request(&one_bad)),
        Some((401, "signature_mismatch"))
    );
    let one_unsigned = envelope(&[COLON, PY_ITEM]);
    assert_eq!(
        refusal(&connector, &request(&one_unsigned)),
        Some((401, "signature_missing"))
    );
}

#[test]
fn another_merchant_account_is_refused_after_the_signature() {
    let mut with_account = settings(&[SLASH_KEY]);
    with_account.merchant_account = Some(Identifier::new("AntoniStroinski"));
    let connector = Adyen::build(with_account).expect("builds");
    assert_eq!(refusal(&connector, &request(&envelope(&[MIXED]))), None);
    let mut other = settings(&[SLASH_KEY]);
    other.merchant_account = Some(Identifier::new("AnotherAccount"));
    let connector = Adyen::build(other).expect("builds");
    assert_eq!(
        refusal(&connector, &request(&envelope(&[MIXED]))),
        Some((401, "wrong_merchant_account"))
    );
    // An unsigned item is refused for its signature first.
    assert_eq!(
        refusal(&connector, &request(&envelope(&[PY_ITEM]))),
        Some((401, "signature_missing"))
    );
}

fn with_basic_auth(user: Option<&str>, password: Option<&str>) -> Result<Adyen, SettingsError> {
    let mut settings = settings(&[SLASH_KEY]);
    settings.basic_auth_username = user.map(Identifier::new);
    settings.basic_auth_password = password.map(Secret::new);
    Adyen::build(settings)
}

#[test]
fn basic_auth_when_configured_must_match() {
    let connector = with_basic_auth(Some("adyen-hook"), Some("s3cret")).expect("builds");
    let mut req = request(&envelope(&[MIXED]));
    assert_eq!(refusal(&connector, &req), Some((401, "basic_auth_missing")));
    // base64("adyen-hook:s3cret")
    let right = "Basic YWR5ZW4taG9vazpzM2NyZXQ=";
    for (header, expected) in [
        (right, None),
        ("basic YWR5ZW4taG9vazpzM2NyZXQ=", None),
        (
            "Basic YWR5ZW4taG9vazpzM2NyZXQy",
            Some((401, "basic_auth_mismatch")),
        ),
        (
            "Bearer YWR5ZW4taG9vazpzM2NyZXQ=",
            Some((401, "basic_auth_mismatch")),
        ),
        ("Basic !!!", Some((401, "basic_auth_mismatch"))),
        (
            "YWR5ZW4taG9vazpzM2NyZXQ=",
            Some((401, "basic_auth_mismatch")),
        ),
    ] {
        req.headers.set(AUTHORIZATION_HEADER, header);
        assert_eq!(refusal(&connector, &req), expected, "{header}");
    }
    // Right credentials do not excuse a bad signature.
    let mut tampered = request(&envelope(&[&MIXED.replace("1000", "1")]));
    tampered.headers.set(AUTHORIZATION_HEADER, right);
    assert_eq!(
        refusal(&connector, &tampered),
        Some((401, "signature_mismatch"))
    );
    // `sign` adds the header.
    let mut signed = request(&envelope(&[PY_ITEM]));
    connector.sign(&mut signed).expect("sign");
    assert_eq!(signed.headers.get(AUTHORIZATION_HEADER), Some(right));
    assert_eq!(refusal(&connector, &signed), None);
    assert!(!format!("{connector:?}").contains("s3cret"));
}

#[test]
fn settings_name_what_is_wrong() {
    let error = |result: Result<Adyen, SettingsError>| {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    };
    assert!(error(with_basic_auth(Some("u"), None)).contains("basic_auth_password"));
    assert!(error(with_basic_auth(None, Some("p"))).contains("basic_auth_username"));
    assert!(error(with_basic_auth(Some("u:v"), Some("p"))).contains("basic_auth_username"));
    for (key, problem) in [
        ("ABC", "secrets[1]: has an odd number of hex digits"),
        ("whsec_not_hex_0000", "secrets[1]: is not hex"),
        ("  ", "secrets[1]: is not an HMAC key"),
    ] {
        let message = error(Adyen::build(settings(&[SLASH_KEY, key])));
        assert!(message.starts_with(problem), "{message}");
        assert!(!message.contains("whsec"), "{message}");
    }
    let mut linked = settings(&[SLASH_KEY]);
    linked.link.orders_tenant = Some("t".into());
    assert!(error(Adyen::build(linked)).contains("orders_tenant"));
    let debug = format!("{:?}", adyen(&[SLASH_KEY]));
    assert!(
        !debug.contains("74F4") && !debug.to_lowercase().contains("74f4"),
        "{debug}"
    );
}

#[test]
fn settings_read_from_a_table() {
    let table = json!({
        "secrets": [SLASH_KEY],
        "merchant_account": "AntoniStroinski",
        "capture_event": "CAPTURE",
        "orders_channel": "shopify",
    });
    let table = table.as_object().cloned().expect("a table");
    let settings: Settings =
        o2o_core::settings::parse_settings(&table, "channels.adyen").expect("settings");
    assert_eq!(settings.capture_event, CaptureEvent::Capture);
    let mut wrong = table.clone();
    wrong.insert("capture_event".into(), json!("CAPTURED"));
    assert!(o2o_core::settings::parse_settings::<Settings>(&wrong, "channels.adyen").is_err());
    let mut typo = table;
    typo.insert("hmac_keys".into(), json!([SLASH_KEY]));
    let error = o2o_core::settings::parse_settings::<Settings>(&typo, "channels.adyen")
        .expect_err("unknown key")
        .to_string();
    assert!(error.contains("unknown setting `hmac_keys`"), "{error}");
}

#[test]
fn the_ack_is_accepted_in_plain_text() {
    let reply = adyen(&[PY_KEY]).ack();
    assert_eq!((reply.status, reply.body.as_str()), (200, "[accepted]"));
    assert!(reply.content_type.starts_with("text/plain"));
}

#[test]
fn the_python_item_is_a_payment_of_its_order() {
    let connector = adyen(&[PY_KEY]);
    let req = request(&envelope(&[&with_signature(PY_ITEM, PY_SIGNATURE)]));
    let parsed = connector.parse(&Verified::body(&req)).expect("parses");
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    let Ok(Normalised::Events(events)) = connector.normalise(&parsed.id, parsed.message, &ctx)
    else {
        panic!("one event expected");
    };
    let [event] = events.as_slice() else {
        panic!("one event expected");
    };
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    // 2019-05-06T17:15:34.121+02:00
    assert_eq!(
        event.occurred_at,
        Timestamp::parse_rfc3339("2019-05-06T15:15:34.121Z").expect("time")
    );
    let payment = event.payment.as_ref().expect("payment");
    assert_eq!(payment.payment_id.as_deref(), Some("7914073381342284"));
    assert_eq!(
        payment.order_ref.as_deref(),
        Some("TestPayment-1407325143704")
    );
    assert_eq!(payment.amount.map(|m| m.amount_minor), Some(1130));
}
