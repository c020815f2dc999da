//! Signature vectors and verification of the push envelope.
//!
//! Ele.me publishes no push signature with its secret: every official sample carries one, but
//! the secret is not given (and the doc pages reuse one value on different bodies, so they are
//! placeholders). The vectors below are the **official sample envelopes verbatim** (the doc's
//! whitespace, field order and signatures kept) signed with the secret `test_secret`; each digest
//! was computed independently with Python's `hashlib` (numbers parsed as text) and the type-60
//! one with `openssl md5` too. The type-12 digest also appears in the research notes.

use super::*;
use o2o_core::Timestamp;
use o2o_core::settings::Secret;

/// Type 12, "完整的推送消息示例" of 消息推送 消息体结构定义 (copy: http://www.dianj.com.cn/News/Detail/21258).
const STATUS_12: &str = r#"{ "appId":62933118, "requestId": "10135", "type": 12, "message": "{\"orderId\":\"100027500485933656\",\"state\":\"settled\",\"shopId\":968861,\"updateTime\":1482161481,\"role\":3}", "shopId": 968861, "timestamp": 1482161482053, "signature": "A6A1E1FD9D880E184EEC8BFF19DE45D6", "userId": 62864532 }"#;
const STATUS_12_SIGNATURE: &str = "CC1586E404AF74522DB25A6283DD804B";
/// Type 60, 运单状态变更消息 (copy: http://dianj.com.cn/News/Detail/21260): non-ASCII in `message`.
const DELIVERY_60: &str = r#"{ "appId":62933118, "requestId": "8526", "type": 60, "message": "{\"orderId\":\"100027491787995736\",\"shopId\":968861,\"state\":\"exception\",\"subState\":\"merchantCallLateError\",\"name\":\"张 三丰\",\"phone\":\"13988886666\",\"updateAt\":1481964780000,\"remark\":null}", "shopId": 968861, "timestamp": 1481971920742, "signature": "C95089013EC8024621AF75985FAED580", "userId": 62864532 }"#;
const DELIVERY_60_SIGNATURE: &str = "5F5B87E1FD9B9B2678E2CA958906D83C";
/// Type 71 of the same page: `userId` a 19-digit string, `requestId` 19 digits, signature first.
const SELF_71: &str = r#"{ "signature": "F87BDBE9F8E78CBF8434B2F037E2C67D", "requestId": "2311582597839852666", "appId": 25446666, "shopId": 508098428, "type": 71, "message": "{\"name\":\"\",\"orderId\":\"8076190120874666666\",\"phone\":\"\",\"shopId\":508098666,\"state\":\"selfDelivery\",\"subState\":\"noSubstate\",\"updateAt\":1690300832000}", "userId": "5486031036067039666", "timestamp": 1690300772790 }"#;
const SELF_71_SIGNATURE: &str = "7D984C31527F134E22C3BB8B8BBFC930";

fn eleme(app_id: &str, secrets: &[&str]) -> Eleme {
    Eleme::build(Settings {
        app_id: Identifier::new(app_id),
        app_key: Identifier::new("key"),
        secrets: Secrets::new(secrets.iter().map(|s| Secret::new(*s)).collect()).expect("secrets"),
        sandbox: false,
        api: ApiSettings::default(),
    })
    .expect("builds")
}

fn request(method: &str, body: &str) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: o2o_core::Headers::new(),
        body: body.as_bytes().to_vec(),
        received_at: Timestamp::now(),
    }
}

fn with_signature(body: &str, signature: &str) -> String {
    String::from_utf8(push::with_signature(body.as_bytes(), signature).expect("envelope"))
        .expect("utf-8")
}

fn refusal(connector: &Eleme, body: &str) -> Option<(u16, &'static str)> {
    connector
        .verify(&request("POST", body))
        .err()
        .map(|r| (r.status, r.code))
}

#[test]
fn the_signed_text_keeps_raw_numbers_and_the_decoded_message() {
    let envelope = push::RawEnvelope::parse(STATUS_12.as_bytes()).expect("envelope");
    assert_eq!(
        envelope.signed_text().expect("text"),
        r#"appId=62933118message={"orderId":"100027500485933656","state":"settled","shopId":968861,"updateTime":1482161481,"role":3}requestId=10135shopId=968861timestamp=1482161482053type=12userId=62864532"#
    );
    let envelope = push::RawEnvelope::parse(SELF_71.as_bytes()).expect("envelope");
    let text = envelope.signed_text().expect("text");
    assert!(
        text.ends_with("type=71userId=5486031036067039666"),
        "{text}"
    );
    assert!(text.contains("requestId=2311582597839852666shopId=508098428"));
}

#[test]
fn the_official_sample_envelopes_verify_with_their_computed_signatures() {
    for (body, signature, app) in [
        (STATUS_12, STATUS_12_SIGNATURE, "62933118"),
        (DELIVERY_60, DELIVERY_60_SIGNATURE, "62933118"),
        (SELF_71, SELF_71_SIGNATURE, "25446666"),
    ] {
        let connector = eleme(app, &["test_secret"]);
        let signed = with_signature(body, signature);
        assert_eq!(refusal(&connector, &signed), None, "{body}");
        let lower = with_signature(body, &signature.to_ascii_lowercase());
        assert_eq!(refusal(&connector, &lower), None, "either case");
        // `sign` writes the same signature into the same place.
        let mut req = request("POST", body);
        connector.sign(&mut req).expect("sign");
        assert_eq!(String::from_utf8(req.body).expect("utf-8"), signed);
        // The doc's own (placeholder) signature does not verify with this secret.
        assert_eq!(refusal(&connector, body), Some((401, "signature_mismatch")));
    }
}

#[test]
fn tampering_refuses_the_push() {
    let connector = eleme("62933118", &["test_secret"]);
    let signed = with_signature(STATUS_12, STATUS_12_SIGNATURE);
    for tampered in [
        signed.replace("\\\"settled\\\"", "\\\"invalid\\\""),
        signed.replace("\"type\": 12", "\"type\": 14"),
        signed.replace("62864532", "62864533"),
        // The same value written as another JSON token is another signed text.
        signed.replace("\"type\": 12", "\"type\": 12.0"),
    ] {
        assert_ne!(tampered, signed);
        assert_eq!(
            refusal(&connector, &tampered),
            Some((401, "signature_mismatch"))
        );
    }
    let tampered = o2o_testkit::tampered(request("POST", &signed));
    assert!(connector.verify(&tampered).is_err());
}

#[test]
fn any_listed_secret_verifies() {
    let signed = with_signature(STATUS_12, STATUS_12_SIGNATURE);
    assert_eq!(
        refusal(&eleme("62933118", &["newer", "test_secret"]), &signed),
        None
    );
    assert_eq!(
        refusal(&eleme("62933118", &["test_secret", "older"]), &signed),
        None
    );
    assert_eq!(
        refusal(&eleme("62933118", &["other"]), &signed),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn another_app_is_refused_after_its_signature() {
    let signed = with_signature(STATUS_12, STATUS_12_SIGNATURE);
    assert_eq!(
        refusal(&eleme("25446666", &["test_secret"]), &signed),
        Some((401, "wrong_app"))
    );
}

#[test]
fn missing_malformed_and_unreadable_signatures_are_refused() {
    let connector = eleme("62933118", &["test_secret"]);
    let without = STATUS_12.replace(r#""signature": "A6A1E1FD9D880E184EEC8BFF19DE45D6", "#, "");
    assert_eq!(
        refusal(&connector, &without),
        Some((401, "signature_missing"))
    );
    assert_eq!(
        refusal(&connector, &with_signature(STATUS_12, "")),
        Some((401, "signature_missing"))
    );
    assert_eq!(
        refusal(&connector, &with_signature(STATUS_12, "not hex")),
        Some((401, "signature_malformed"))
    );
    assert_eq!(
        refusal(&connector, "[1, 2]"),
        Some((400, "malformed_envelope"))
    );
    let twice = STATUS_12.replace(r#""type": 12,"#, r#""type": 12, "type": 14,"#);
    assert_eq!(
        refusal(&connector, &twice),
        Some((400, "malformed_envelope"))
    );
    let object = with_signature(STATUS_12, STATUS_12_SIGNATURE)
        .replace("\"userId\": 62864532", "\"userId\": {}");
    assert_eq!(
        refusal(&connector, &object),
        Some((400, "malformed_envelope"))
    );
}

#[test]
fn probes_and_the_ack_are_ok_json() {
    let connector = eleme("62933118", &["test_secret"]);
    let ok = Reply::json(200, r#"{"message":"ok"}"#);
    assert_eq!(connector.ack(), ok);
    assert_eq!(
        connector.handshake(&request("GET", "")),
        Some(Ok(ok.clone()))
    );
    assert_eq!(connector.handshake(&request("POST", " \n")), Some(Ok(ok)));
    assert_eq!(connector.handshake(&request("POST", STATUS_12)), None);
}

#[test]
fn sign_adds_a_missing_signature_field() {
    let connector = eleme("62933118", &["test_secret"]);
    let without = STATUS_12.replace(r#""signature": "A6A1E1FD9D880E184EEC8BFF19DE45D6", "#, "");
    let mut req = request("POST", &without);
    connector.sign(&mut req).expect("sign");
    let body = String::from_utf8(req.body.clone()).expect("utf-8");
    assert!(
        body.starts_with(&format!(
            "{{\"signature\":\"{STATUS_12_SIGNATURE}\", \"appId\""
        )),
        "{body}"
    );
    assert!(connector.verify(&req).is_ok());
}

#[test]
fn settings_errors_name_the_setting() {
    let build = |app_id: &str, api_base: Option<&str>| {
        Eleme::build(Settings {
            app_id: Identifier::new(app_id),
            app_key: Identifier::new("key"),
            secrets: Secrets::new(vec![Secret::new("s")]).expect("secrets"),
            sandbox: true,
            api: ApiSettings {
                api_base: api_base.map(str::to_owned),
                api_timeout_ms: None,
            },
        })
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    assert_eq!(build("1", None), Ok(()));
    assert_eq!(
        build("1", Some("https://open-api.shop.ele.me/api/v1/")),
        Ok(())
    );
    assert!(build(" ", None).expect_err("empty").starts_with("app_id:"));
    assert!(
        build("1", Some("nope"))
            .expect_err("no URL")
            .starts_with("api_base:")
    );
}
