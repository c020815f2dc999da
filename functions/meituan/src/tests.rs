//! The connector's checks of a push: its URL, `sig`, app, decoding and the probe.

use super::*;
use o2o_core::{Secret, Timestamp};

const BASE: &str = "https://hooks.example.com";

fn meituan(secrets: &[&str]) -> Meituan {
    let secrets = Secrets::new(secrets.iter().map(|s| Secret::new(*s)).collect()).expect("secrets");
    Meituan::build(Settings {
        app_id: Identifier::new("1234"),
        secrets,
        public_base_url: format!("{BASE}/"),
        api: ApiSettings::default(),
    })
    .expect("builds")
}

fn request(method: &str, tenant: Option<&str>, endpoint: &str, body: &str) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        path_tenant: tenant.map(str::to_owned),
        endpoint: Some(endpoint.to_owned()),
        query: String::new(),
        headers: Default::default(),
        body: body.as_bytes().to_vec(),
        received_at: Timestamp::now(),
    }
}

fn refusal(connector: &Meituan, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector
        .verify(req)
        .err()
        .map(|rejection| (rejection.status, rejection.code))
}

/// The parameters of a verified request, as `parse` reads them.
fn verified_params(connector: &Meituan, req: &WebhookRequest) -> Params {
    let verified = connector.verify(req).expect("verifies");
    serde_json::from_slice(&verified.payload).expect("a JSON object")
}

const ORDER: &str = "app_id=1234&timestamp=1553709856&order_id=28983933726634026&status=2\
                     &detail=%5B%7B%22food_name%22%3A%22%E5%AE%AB%E4%BF%9D%22%2C%22price%22%3A0.01%2C%22quantity%22%3A1%7D%5D\
                     &caution=&recipient_phone=13800000000_1234";

/// The push from `form::tests` (made and signed in Python, not by this code) arrives at the
/// tenant URL it was signed for.
#[test]
fn verifies_an_independently_signed_push_at_its_url() {
    let body = "app_id=1234&timestamp=1553709856&order_id=28983933726634026&status=2&detail=\
        %255B%257B%2522food_name%2522%253A%2522%25E5%25AE%25AB%25E4%25BF%259D%25E9%25B8%25A1\
        %25E4%25B8%2581%2522%252C%2522price%2522%253A0.01%252C%2522quantity%2522%253A1%257D\
        %255D&caution=&recipient_phone=13800000000_1234&sig=83c888580d8cb7982cd9ec0bdb6e2528";
    let connector = meituan(&["test_secret_do_not_use"]);
    let params = verified_params(&connector, &request("POST", Some("t1"), "order", body));
    assert_eq!(params["order_id"], "28983933726634026");
    assert_eq!(params.get(SIG), None, "sig is not part of the payload");
    for (tenant, endpoint) in [
        (None, "order"),
        (Some("t2"), "order"),
        (Some("t1"), "cancel"),
    ] {
        assert_eq!(
            refusal(&connector, &request("POST", tenant, endpoint, body)),
            Some((401, "signature_mismatch")),
            "the URL is signed: {tenant:?} {endpoint}"
        );
    }
    let elsewhere = Meituan::build(Settings {
        app_id: Identifier::new("1234"),
        secrets: Secrets::new(vec![Secret::new("test_secret_do_not_use")]).expect("one"),
        public_base_url: "http://hooks.example.com".into(),
        api: ApiSettings::default(),
    })
    .expect("builds");
    assert_eq!(
        refusal(&elsewhere, &request("POST", Some("t1"), "order", body)),
        Some((401, "signature_mismatch")),
        "the scheme is part of the signed URL"
    );
}

#[test]
fn signs_and_verifies_with_every_listed_secret() {
    let mut req = request("POST", None, "order", ORDER);
    meituan(&["old"]).sign(&mut req).expect("sign");
    assert_eq!(refusal(&meituan(&["new", "old"]), &req), None, "rotation");
    assert_eq!(
        refusal(&meituan(&["new"]), &req),
        Some((401, "signature_mismatch"))
    );
    let params = verified_params(&meituan(&["new", "old"]), &req);
    assert_eq!(
        params["detail"],
        r#"[{"food_name":"宫保","price":0.01,"quantity":1}]"#
    );
}

#[test]
fn refuses_tampering_another_app_and_bad_signatures() {
    let connector = meituan(&["s"]);
    let mut req = request("POST", None, "order", ORDER);
    connector.sign(&mut req).expect("sign");
    let body = String::from_utf8(req.body.clone()).expect("text");
    let tampered = request("POST", None, "order", &body.replace("status=2", "status=9"));
    assert_eq!(
        refusal(&connector, &tampered),
        Some((401, "signature_mismatch"))
    );
    let mut other_app = request(
        "POST",
        None,
        "order",
        &ORDER.replace("app_id=1234", "app_id=99"),
    );
    connector.sign(&mut other_app).expect("sign");
    assert_eq!(
        refusal(&connector, &other_app),
        Some((401, "app_id_mismatch"))
    );
    assert_eq!(
        refusal(&connector, &request("POST", None, "order", ORDER)),
        Some((401, "signature_missing"))
    );
    let short = format!("{ORDER}&sig=abc");
    assert_eq!(
        refusal(&connector, &request("POST", None, "order", &short)),
        Some((401, "signature_malformed"))
    );
    let twice = format!("{body}&status=2");
    assert_eq!(
        refusal(&connector, &request("POST", None, "order", &twice)),
        Some((400, "duplicate_parameter"))
    );
    let nowhere = request("POST", None, "remind", &body);
    assert_eq!(
        refusal(&connector, &nowhere),
        Some((404, "unknown_endpoint"))
    );
}

/// Pushes by GET carry their parameters in the query, signed the same way.
#[test]
fn verifies_a_get_push_from_its_query() {
    let connector = meituan(&["s"]);
    let mut req = request("GET", Some("t1"), "cancel", "");
    req.query = "app_id=1234&timestamp=1553709900&order_id=28983933726634026&reason_code=1102\
                 &reason=%E7%94%A8%E6%88%B7%E5%8F%96%E6%B6%88"
        .into();
    connector.sign(&mut req).expect("sign");
    assert!(req.body.is_empty() && req.query.contains("sig="));
    let params = verified_params(&connector, &req);
    assert_eq!(params["reason"], "用户取消");
}

/// A field sent without the extra encoding (two SDKs read the partial refund's `food` as plain
/// JSON): when the doubly decoded values do not verify, the singly decoded ones are tried.
#[test]
fn falls_back_to_values_decoded_once() {
    let connector = meituan(&["s"]);
    let food = r#"[{"food_name":"鸡腿+可乐","count":1}]"#;
    let mut params = Params::new();
    for (name, value) in [
        ("app_id", "1234"),
        ("order_id", "1"),
        ("notify_type", "agree"),
        ("food", food),
    ] {
        params.insert(name.to_owned(), value.to_owned());
    }
    let url = connector.called_url(None, "refund-part");
    let sig = form::sig(&url, &params, &Secret::new("s"));
    // Encoded once only: decoded a second time, `+` would become a space.
    let body = params
        .iter()
        .chain([(&SIG.to_owned(), &sig)])
        .map(|(k, v)| format!("{k}={}", o2o_core::request::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = request("POST", None, "refund-part", &body);
    let wire = form::wire_params(&req).expect("a form");
    let twice = form::decoded_again(&wire).expect("UTF-8");
    assert!(
        !form::matches(&url, &twice, &[Secret::new("s")], &sig),
        "needs the fallback"
    );
    assert_eq!(verified_params(&connector, &req)["food"], food);
}

#[test]
fn answers_the_console_probe_without_recording() {
    let connector = meituan(&["s"]);
    for method in ["POST", "GET"] {
        let reply = connector
            .handshake(&request(method, None, "order", ""))
            .expect("a probe")
            .expect("answered");
        assert_eq!((reply.status, reply.body.as_str()), (200, ACK));
    }
    assert!(
        connector
            .handshake(&request("POST", None, "order", ORDER))
            .is_none()
    );
    assert!(
        connector
            .handshake(&request("PUT", None, "order", ""))
            .is_none()
    );
}

#[test]
fn settings_name_what_is_wrong() {
    for (url, problem) in [
        ("hooks.example.com", "must start with"),
        ("https://", "has no host"),
        ("https://h.example.com/x?y=1", "no query"),
    ] {
        let error = Meituan::build(Settings {
            app_id: Identifier::new("1"),
            secrets: Secrets::new(vec![Secret::new("s")]).expect("one"),
            public_base_url: url.into(),
            api: ApiSettings::default(),
        })
        .expect_err(url)
        .to_string();
        assert!(
            error.contains("public_base_url") && error.contains(problem),
            "{error}"
        );
    }
    assert_eq!(
        meituan(&["s"]).called_url(Some("t"), "order"),
        "https://hooks.example.com/webhooks/meituan/t/order"
    );
}

#[test]
fn the_order_api_base_is_checked_and_its_api_prefix_accepted() {
    let build = |api_base: &str| {
        Meituan::build(Settings {
            app_id: Identifier::new("1"),
            secrets: Secrets::new(vec![Secret::new("s")]).expect("one"),
            public_base_url: BASE.into(),
            api: ApiSettings {
                api_base: Some(api_base.into()),
                api_timeout_ms: None,
            },
        })
    };
    let error = build("ftp://waimaiopen.meituan.com")
        .expect_err("not http")
        .to_string();
    assert!(error.contains("api_base"), "{error}");
    let connector = build("https://waimaiopen.meituan.com/api/v1/").expect("builds");
    assert_eq!(
        connector.api.url(commands::CONFIRM),
        "https://waimaiopen.meituan.com/api/v1/order/confirm"
    );
}
