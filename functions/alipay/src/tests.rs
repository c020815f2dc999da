//! Verification against Alipay's official SDK test vectors, and the refusals.

use o2o_core::event::EventType;
use o2o_core::{Money, Timestamp};

use super::*;
use crate::form::encode;

const DEV_PUBLIC_KEY: &str = include_str!("../tests/keys/dev-public-key.pem");
const DEV_PRIVATE_KEY: &str = include_str!("../tests/keys/dev-private-key.pem");
const DEV_PUBLIC_CERT: &str = include_str!("../tests/keys/dev-public-cert.pem");
const OTHER_PUBLIC_KEY: &str = include_str!("../tests/keys/other-public-key.pem");
const OTHER_PRIVATE_KEY: &str = include_str!("../tests/keys/other-private-key.pem");

/// alipay/alipay-sdk-nodejs-all `test/alipay.test.ts` @e1676390871eb7a69b4f81aa15de8327ac15738a,
/// `checkNotifySign()` › "verify sign should delete sign_type" (`notifyAlipayPublicKeyV1`).
const NODE_V1_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPHR5knm2jnnz/YGIXIofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdPkO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqHWkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/FdcWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXfZHraG5NCF1+XioL5JwIDAQAB";

/// alipay/alipay-sdk-nodejs-all `test/fixtures/alipay-notify-sign-public-key-v2.pem`
/// @e1676390871eb7a69b4f81aa15de8327ac15738a.
const NODE_V2_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAk6DCsBIUhWriFohzRV8F
ic6oQWNnLKKILNk97VU5qcHEuxYzCujKoyva5gy1170mFJw4IcgJF8AyS7iDUwzA
wF4Pp9CpWxDhUhe7mdQJhjBmvTcPLGFFrzlj6unO5lAcbdwaxPUtSxOaNxPJGrTK
/wnKQSbjTMMltp1J68q2Tfgrsn/NdZ6lrxO9rvmky8kowqaH5NjntyHO59jCGabM
j5sI14z8N61wB/QuIJrDuzIPMPrSNbq0cOWcSCDG09oUHTp9fk7suDB8UiFcmVTX
OvK3d4HbeX8V9YsEMxrwxEoYgRRj6K2qrC6oxw480cqf2ueumCmHg6xrcgkyXK81
hwIDAQAB
-----END PUBLIC KEY-----";

/// alipay/alipay-sdk-java-all `src/test/resources/fixture/appCertPublicKey_2019091767145019.crt`
/// (the key `RSACheckTest` verifies with, `TestAccount.ProdCert`), as stored at
/// 9b90dcce54eed850078cd1bbac67d27bed424d56 and unchanged at 078e14a8.
const JAVA_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIDejCCAmKgAwIBAgIQIBkJF4/u3N03Ui3OAdhIszANBgkqhkiG9w0BAQsFADCBgjELMAkGA1UE
BhMCQ04xFjAUBgNVBAoMDUFudCBGaW5hbmNpYWwxIDAeBgNVBAsMF0NlcnRpZmljYXRpb24gQXV0
aG9yaXR5MTkwNwYDVQQDDDBBbnQgRmluYW5jaWFsIENlcnRpZmljYXRpb24gQXV0aG9yaXR5IENs
YXNzIDIgUjEwHhcNMTkwOTE3MTI1NDI0WhcNMjEwOTE2MTI1NDI0WjBbMQswCQYDVQQGEwJDTjEP
MA0GA1UECgwG6ZKf6ZuoMQ8wDQYDVQQLDAZBbGlwYXkxKjAoBgNVBAMMITIwODgwMDI2NTY3MTg5
MjAtMjAxOTA5MTc2NzE0NTAxOTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAI7lqNEh
M+zmuofduwxRC/HeAcYW1S1/YmoREF71EV2bt4xexcs0p3hPGExM1IXur7HEZfc1jsq+7U2khRoN
EVsadBZMsVPTtc3aiuiHWN/gUiSb4uM/hnARQSUt1M7mEXxpJRz0kWJsSUqjcx2Bovu00cGFbIZG
Xv/H86QzBfPpRd9qAT30rfSiZb3CjtieVMTq60wmWIdd8/1rZpGy+EEXBGGkXOQoGTBgUXofQIzw
rWigATNt/+Ngx60uONMeJTLk1RYo+1F/V2iWNgsECqhU6283iQ6ScjmUhrOVVuh20TOSaFx2xczN
C1Cw5qP+hGtITnYuGITDVxSho1k+04UCAwEAAaMSMBAwDgYDVR0PAQH/BAQDAgP4MA0GCSqGSIb3
DQEBCwUAA4IBAQA3EhSYXqVMWw9VJiLGigBgbSDJdrX0lMa2uRNB2X1n+SsRLK5MzXNx5oGZykgO
WFoCH1rTO7mP7hCOjWROCgdn7mcttkyWHUFKaQjuAXh2UjmKiKkfzkDBe47DwpWtMNZI6d4aosxB
asoNhXY8k2WtJvlGfdgsNYDIKpamjL3XAKRohSn6kNmTOaRsrOethJWsgClKIe7FDGLO8XBOSdyd
7KClfLY8AEg7sCvIUjA5FhIpZML8SoClD11zb5ENH43vONQveQACzFkkYu4DiyCFCBfxt5uALVGs
vV1qhwcQX35kmhYxuTdXwU5xJ8owS9abd5fu3dY1k34fY2L5M8oa
-----END CERTIFICATE-----";

fn settings(app_id: &str) -> Settings {
    Settings {
        app_id: Identifier::new(app_id),
        seller_id: None,
        alipay_public_key: None,
        alipay_public_cert: None,
        sign_types: default_sign_types(),
        trade_finished_succeeds: false,
        test_signing_key: None,
        link: OrderLink::default(),
    }
}

fn with_key(app_id: &str, key: &str) -> Settings {
    Settings {
        alipay_public_key: Some(OneOrMany::One(key.to_owned())),
        ..settings(app_id)
    }
}

fn alipay(settings: Settings) -> Alipay {
    Alipay::build(settings).unwrap_or_else(|e| panic!("{e}"))
}

/// The development connector: app `2021000000000001`, the dev key pair.
fn dev() -> Alipay {
    alipay(Settings {
        test_signing_key: Some(Secret::new(DEV_PRIVATE_KEY)),
        ..with_key(DEV_APP, DEV_PUBLIC_KEY)
    })
}

const DEV_APP: &str = "2021000000000001";

/// A form body of `params`, encoded as Alipay encodes them.
fn form_body(params: &[(&str, &str)]) -> Vec<u8> {
    params
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name.as_bytes()), encode(value.as_bytes())))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn request(body: Vec<u8>) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: [(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )]
        .into_iter()
        .collect(),
        body,
        received_at: Timestamp::now(),
    }
}

fn refusal(connector: &Alipay, req: &WebhookRequest) -> Option<(u16, &'static str)> {
    connector.verify(req).err().map(|r| (r.status, r.code))
}

/// The payment notification of the Node SDK's v1 vectors (its `fund_bill_list` is the JSON text
/// Alipay sends, which the test gives as an array that the SDK stringifies).
fn node_v1_params(with_sign_type: bool) -> Vec<(&'static str, &'static str)> {
    let mut params = vec![
        ("gmt_create", "2019-08-15 15:56:22"),
        ("charset", "utf-8"),
        ("seller_email", "z97-yuquerevenue@service.aliyun.com"),
        ("subject", "语雀空间 500人规模"),
        (
            "sign",
            "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ==",
        ),
        ("buyer_id", "2088102534368455"),
        ("invoice_amount", "0.10"),
        ("notify_id", "2019081500222155624068450559358070"),
        (
            "fund_bill_list",
            r#"[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]"#,
        ),
        ("notify_type", "trade_status_sync"),
        ("trade_status", "TRADE_SUCCESS"),
        ("receipt_amount", "0.10"),
        ("buyer_pay_amount", "0.10"),
        ("app_id", "2019073166072302"),
        ("seller_id", "2088531891668739"),
        ("gmt_payment", "2019-08-15 15:56:24"),
        ("notify_time", "2019-08-15 15:56:25"),
        ("version", "1.0"),
        ("out_trade_no", "20190815155618536-564-57"),
        ("total_amount", "0.10"),
        ("trade_no", "2019081522001468450512505578"),
        ("auth_app_id", "2019073166072302"),
        ("buyer_logon_id", "xud***@126.com"),
        ("point_amount", "0.00"),
    ];
    if with_sign_type {
        params.push(("sign_type", "RSA2"));
    }
    params
}

/// The service-market notification of the Node SDK's v2 vectors ("verify sign should not
/// delete sign_type"): `sign_type` is signed.
fn node_v2_params(service_code: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("app_id", "2017122801303261"),
        ("charset", "UTF-8"),
        ("commodity_order_id", "2019030800000018079639"),
        ("contactor", "技术支持测试的公司"),
        ("merchant_pid", "2088721996721370"),
        ("method", "alipay.open.servicemarket.order.notify"),
        ("name", "技术支持测试的公司"),
        ("notify_id", "2019030800222102023008121054923345"),
        ("notify_time", "2019-03-08 10:20:23"),
        ("notify_type", "servicemarket_order_notify"),
        ("order_item_num", "1"),
        ("order_ticket", "29b1c37d99ab48c5bd5bdaeaeaefbB37"),
        ("order_time", "2019-03-08 10:20:08"),
        ("phone", "17826894615"),
        ("service_code", service_code),
        (
            "sign",
            "MsK5SCw8oqLw4f0hiNSd5OVGXxBY3wnQeT8vn5PklJSZFWSZbK4hQbNvkp4ZezeXQH514cEv0ul6Qow8yh6e6yM06LfEL+EZjcpZ0nxzFGRNQ5qq2AUc1OaXQdk92AGvxh+Iq4NGpPQFBd4D8EBJa3NJd8+czMfQskceosOQFqUtLQMYa5DPs+VpN7VM5BdXjaVIuKn5d9Wm2B9dI9ObIM+YRySDkZZPv14DVmUvcrcqJfOR8aHvtSd7B4l92wUQPQgQKNcOQho7xOHS/Bk+Y74AZL2y7TkNmdDoq9OGsThuF5tDW9rI9nVwXxOtsuB+bstra+W7aw9x9DvkKgdSRw==",
        ),
        ("sign_type", "RSA2"),
        ("timestamp", "2019-03-08 10:20:23"),
        ("title", "麦禾商城模版"),
        ("total_price", "0.00"),
        ("version", "1.0"),
    ]
}

#[test]
fn node_sdk_payment_vector_verifies_by_v1_and_normalises() {
    let connector = alipay(Settings {
        seller_id: Some(Identifier::new("2088531891668739")),
        ..with_key("2019073166072302", NODE_V1_KEY)
    });
    for with_sign_type in [true, false] {
        let req = request(form_body(&node_v1_params(with_sign_type)));
        assert_eq!(refusal(&connector, &req), None, "{with_sign_type}");
        // Only v1 (without sign_type) matches: the other content must not.
        let form = Form::parse(&req.body).expect("form");
        let signature = BASE64.decode(form.text(SIGN).expect("sign")).expect("b64");
        let key = &connector.keys[0];
        assert!(key.verifies(SignType::Rsa2, &form.signed_content(true), &signature));
        assert_eq!(
            key.verifies(SignType::Rsa2, &form.signed_content(false), &signature),
            !with_sign_type,
            "v2 equals v1 only without sign_type"
        );
    }
    // The official notification, read through.
    let req = request(form_body(&node_v1_params(true)));
    let verified = connector.verify(&req).expect("verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(
        parsed.id,
        DeliveryId {
            tenant: "2019073166072302".into(),
            external_event_id: "2019081500222155624068450559358070".into(),
            topic: "trade_status_sync.TRADE_SUCCESS".into(),
        }
    );
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    let Ok(Normalised::Events(events)) = connector.normalise(&parsed.id, parsed.message, &ctx)
    else {
        panic!("one event");
    };
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, EventType::PaymentSucceeded);
    // 2019-08-15 15:56:24 in Asia/Shanghai.
    assert_eq!(
        event.occurred_at,
        Timestamp::parse_rfc3339("2019-08-15T07:56:24Z").expect("time")
    );
    let payment = event.payment.as_ref().expect("payment");
    assert_eq!(payment.provider, "alipay");
    assert_eq!(
        payment.payment_id.as_deref(),
        Some("2019081522001468450512505578")
    );
    assert_eq!(
        payment.order_ref.as_deref(),
        Some("20190815155618536-564-57")
    );
    let cny = o2o_core::Currency::from_code("CNY").expect("CNY");
    assert_eq!(payment.amount, Some(Money::from_minor(10, cny)));
    assert_eq!(event.refund, None);
}

#[test]
fn node_sdk_service_market_vector_verifies_by_v2_only() {
    let connector = alipay(with_key("2017122801303261", NODE_V2_KEY));
    let req = request(form_body(&node_v2_params("58621634")));
    assert_eq!(refusal(&connector, &req), None);
    let form = Form::parse(&req.body).expect("form");
    let signature = BASE64.decode(form.text(SIGN).expect("sign")).expect("b64");
    assert!(!connector.keys[0].verifies(SignType::Rsa2, &form.signed_content(true), &signature));
    // The SDK's "verify fail": one value changed.
    let forged = request(form_body(&node_v2_params("58621634111")));
    assert_eq!(
        refusal(&connector, &forged),
        Some((401, "signature_mismatch"))
    );
    // Authentic, but not a trade notification: acknowledged and ignored.
    let verified = connector.verify(&req).expect("verifies");
    let parsed = connector.parse(&verified).expect("parses");
    assert_eq!(parsed.id.topic, "servicemarket_order_notify");
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    assert!(matches!(
        connector.normalise(&parsed.id, parsed.message, &ctx),
        Ok(Normalised::Ignored(_))
    ));
}

/// The Node SDK's "verify fail" under the v1 key: another app's notification with a signature
/// that is not the v1 key's.
#[test]
fn node_sdk_failing_vector_is_refused() {
    let connector = alipay(with_key("2018121762595097", NODE_V1_KEY));
    let params = [
        ("app_id", "2018121762595097"),
        ("auth_app_id", "2018121762595097"),
        ("buyer_id", "2088512613526436"),
        ("buyer_logon_id", "152****6706"),
        ("buyer_pay_amount", "0.01"),
        ("charset", "utf-8"),
        (
            "fund_bill_list",
            r#"[{"amount":"0.01","fundChannel":"PCREDIT"}]"#,
        ),
        ("gmt_create", "2019-05-23 14:13:56"),
        ("gmt_payment", "2019-05-23 14:17:13"),
        ("invoice_amount", "0.01"),
        ("notify_id", "2019052300222141714026431019971405"),
        ("notify_time", "2019-05-23 14:17:14"),
        ("notify_type", "trade_status_sync"),
        ("out_trade_no", "tpxy23962362669658"),
        ("point_amount", "0.00"),
        ("receipt_amount", "0.01"),
        ("seller_email", "myapp@alitest.com"),
        ("seller_id", "2088331578818800"),
        (
            "sign",
            "T946S2qyNFAXLhAaRgNMmatxH6SO3MyWYFnTamQOgW1iAcheL/Zz+VoizwvEc6mTEwYewvvKS1wNkMQ1oEajMUHv9+cXQ9IFvU/qKS9Ktvw5xHvCaK0fj7LsVcQ7VxfyT3kSvXUDfKDP4cHSPuSZKwM2ybkzr53bIH9OUTpTQd2d3J0rbdf76OoUt+XF9vwqj7OVE7AGjH2HPWp842DgL/YVy4qeA9N2uFKRevT3YUskjaRxuI/E66reNjTMFhbjEqGLKvMcDD4BaQXnibq9ojAj60589fBwzKk3yWsVQmqGfksMQoheVMtZ3lAw4o2ty3TFngbVFFLwgx8FDpBZ9Q==",
        ),
        ("sign_type", "RSA2"),
        ("subject", "tpxy2222896485"),
        ("total_amount", "0.01"),
        ("trade_no", "111111112019052322001426431037869358"),
        ("trade_status", "TRADE_SUCCESS"),
        ("version", "1.0"),
    ];
    assert_eq!(
        refusal(&connector, &request(form_body(&params))),
        Some((401, "signature_mismatch"))
    );
}

/// alipay/alipay-sdk-java-all `src/test/java/com/alipay/api/RSACheckTest.java`
/// @078e14a8a66aae328f6871b6db79e78e721187a3 (`rsaCheckV2`, so `sign_type` is signed), checked
/// in certificate mode with the certificate the test reads its key from.
#[test]
fn java_sdk_vectors_verify_in_certificate_mode() {
    const APP: &str = "2019090366875133";
    const METHOD: &str = "koubei.marketing.data.indicator.query";
    let rsa2 = "JzoDc8VxY1/w6yN9WdWV10aipS3YcRpK+jw4xfLybf90ZK9L3AHLUJbNLWVnHW3IuLoJbBeSGVxSbPBhe4ggPklcYUkPowgtlZ6YlthuQDtjF23h2obXuXkQRd+RPbDWvOA5AYQjsKH8uSHil5aRARewPIPhukl9Mn4HEovUccsBR/RirQFSGmGYiMM0zvhVSR7pXZDEhiADzvzAkvVVTI1/HbNqcoBU4ctSPAGsuDPO/mah1+IwGQAuPP6xoEPL+3zQ0wztQCwHT2o8aQmxFJ9a09q8ybRprHaNjCgTaLDeTWE0o1pllZIE8c7wnG3cOuj6quYjTcQyLm6P4M87Zw==";
    let utf8 = "KrRGUY3/2JX3KtlLgus8CbK0xuUIBDCpOdJkVzJDefez6HvlA8RA6uCVj2rrMd7DgVfarG5SROdSnkZbf8MLKHbVoFqi9w0QCvto9mc8n3ezfWejZECJVCZhbJ3OslB+4gij9+F70usrnCNEJZm02ntyNdVzcqMbgdRMB93BJIRC1jjmCotpXgXWrRdTb/SfhIAkoHqgGi2aCUHuLDInLGZCn8NeziGWMnFOic6/sE/nMpwriOmwLb2nyzD0fGiolwuuxlOGMcBHAb22J8XqchFHyCpbs2A/rWdJMjhUfqsErbtZQM93fi1xfL2pUa9RMWX0Q81Qk7iSEeHCR+NGyQ==";
    let rsa = "RkEZgdCVF4TF48+tVZlPLEUMgrOoff3TGynWtXRUmzMXxmsCX8Y9YtpZE+NNg/JGpYQ5htTDd8PXVqiG5fqvzE2g4ugDutr++BeQ2eJQ1uhasp6VIPTSAPWHRD7FSXqZfOoWvxeFHF9WGnzXw5eueOdGMZYXdjhR6srj+ZAeJxyR402FVNbRuI/hDZVq27xWi4CQ2ffdV0lf7E2V/HMUPXECbIKkTnLXrwJBmsLgTGbTDGf7pGo0y0rkRvdsg9BmPPswfTeq/o2rlxD0XxrK1MPZ4uSPFhpdWVEyNchtXEfKoVsaYeVXV3cMfZi9zcKc6RCE8ezF9LxRJp1R0BxKEg==";
    let cert = |sign_types: &[&str]| {
        alipay(Settings {
            alipay_public_cert: Some(OneOrMany::One(JAVA_CERT.to_owned())),
            sign_types: sign_types.iter().map(|t| (*t).to_owned()).collect(),
            ..settings(APP)
        })
    };
    let rsa2_only = cert(&["RSA2"]);
    let both = cert(&["RSA2", "RSA"]);
    let rsa2_req = request(form_body(&[
        ("method", METHOD),
        ("app_id", APP),
        ("sign_type", "RSA2"),
        ("sign", rsa2),
    ]));
    let utf8_req = request(form_body(&[
        ("method", METHOD),
        ("app_id", APP),
        ("extra", "中文测试"),
        ("sign_type", "RSA2"),
        ("sign", utf8),
    ]));
    let rsa_req = request(form_body(&[
        ("method", METHOD),
        ("app_id", APP),
        ("sign_type", "RSA"),
        ("sign", rsa),
    ]));
    for connector in [&rsa2_only, &both] {
        assert_eq!(refusal(connector, &rsa2_req), None);
        assert_eq!(refusal(connector, &utf8_req), None);
    }
    assert_eq!(refusal(&both, &rsa_req), None, "legacy RSA when allowed");
    assert_eq!(
        refusal(&rsa2_only, &rsa_req),
        Some((401, "sign_type_not_allowed")),
        "legacy RSA is off by default"
    );
    // Relabelling an RSA2 signature as RSA (v1 does not sign sign_type) does not help.
    let relabelled = request(form_body(&[
        ("method", METHOD),
        ("app_id", APP),
        ("sign_type", "RSA"),
        ("sign", rsa2),
    ]));
    assert_eq!(
        refusal(&both, &relabelled),
        Some((401, "signature_mismatch"))
    );
}

fn dev_notification() -> Vec<(&'static str, &'static str)> {
    vec![
        ("notify_time", "2025-03-01 12:00:05"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", "2025030100222120005012345678901234"),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("app_id", DEV_APP),
        ("trade_no", "2025030122001400001234567890"),
        ("out_trade_no", "1001"),
        ("seller_id", "2088000000000001"),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "88.80"),
        ("gmt_payment", "2025-03-01 12:00:03"),
    ]
}

fn signed_by(connector: &Alipay, params: &[(&str, &str)]) -> WebhookRequest {
    let mut req = request(form_body(params));
    connector.sign(&mut req).expect("sign");
    req
}

#[test]
fn signed_notifications_verify_and_tampering_is_refused() {
    let connector = dev();
    let req = signed_by(&connector, &dev_notification());
    assert_eq!(refusal(&connector, &req), None);
    let body = String::from_utf8(req.body.clone()).expect("text");
    let tampered = request(body.replace("88.80", "88.81").into_bytes());
    assert_eq!(
        refusal(&connector, &tampered),
        Some((401, "signature_mismatch"))
    );
    let wrong_key = alipay(with_key(DEV_APP, OTHER_PUBLIC_KEY));
    assert_eq!(refusal(&wrong_key, &req), Some((401, "signature_mismatch")));
    // An extra signed-looking parameter changes the signed text; an extra blank one does not
    // (Alipay leaves blank values out) and reads as absent.
    let extra = request(format!("{body}&refund_fee=1.00").into_bytes());
    assert_eq!(
        refusal(&connector, &extra),
        Some((401, "signature_mismatch"))
    );
    let blank = request(format!("{body}&refund_fee=").into_bytes());
    assert_eq!(refusal(&connector, &blank), None);
    let duplicate = request(format!("{body}&trade_status=TRADE_CLOSED").into_bytes());
    assert_eq!(
        refusal(&connector, &duplicate),
        Some((400, "duplicate_parameter"))
    );
}

#[test]
fn any_listed_key_verifies() {
    let newest = dev();
    let older = alipay(Settings {
        test_signing_key: Some(Secret::new(OTHER_PRIVATE_KEY)),
        ..with_key(DEV_APP, OTHER_PUBLIC_KEY)
    });
    let rotating = alipay(Settings {
        alipay_public_key: Some(OneOrMany::Many(vec![
            DEV_PUBLIC_KEY.to_owned(),
            OTHER_PUBLIC_KEY.to_owned(),
        ])),
        ..settings(DEV_APP)
    });
    let in_cert_mode = alipay(Settings {
        alipay_public_cert: Some(OneOrMany::Many(vec![DEV_PUBLIC_CERT.to_owned()])),
        ..settings(DEV_APP)
    });
    let by_newest = signed_by(&newest, &dev_notification());
    let by_older = signed_by(&older, &dev_notification());
    assert_eq!(refusal(&rotating, &by_newest), None);
    assert_eq!(refusal(&rotating, &by_older), None);
    assert_eq!(refusal(&in_cert_mode, &by_newest), None);
    assert_eq!(
        refusal(&in_cert_mode, &by_older),
        Some((401, "signature_mismatch"))
    );
}

#[test]
fn refuses_missing_or_malformed_signatures() {
    let connector = dev();
    let unsigned = request(form_body(&dev_notification()));
    assert_eq!(
        refusal(&connector, &unsigned),
        Some((401, "signature_missing"))
    );
    let mut params = dev_notification();
    params.push(("sign", " "));
    assert_eq!(
        refusal(&connector, &request(form_body(&params))),
        Some((401, "signature_missing"))
    );
    params.pop();
    params.push(("sign", "not base64!"));
    assert_eq!(
        refusal(&connector, &request(form_body(&params))),
        Some((401, "signature_malformed"))
    );
    params.pop();
    params.push(("sign", "AAAA"));
    assert_eq!(
        refusal(&connector, &request(form_body(&params))),
        Some((401, "signature_mismatch"))
    );
    let mut other_type = dev_notification();
    other_type.retain(|(name, _)| *name != "sign_type");
    other_type.push(("sign_type", "SM2"));
    other_type.push(("sign", "AAAA"));
    assert_eq!(
        refusal(&connector, &request(form_body(&other_type))),
        Some((401, "sign_type_not_allowed"))
    );
    assert_eq!(
        refusal(&connector, &request(b"a=%zz".to_vec())),
        Some((400, "body_not_form"))
    );
}

#[test]
fn refuses_another_app_or_seller() {
    let signer = dev();
    let mut params = dev_notification();
    params.retain(|(name, _)| *name != "app_id");
    params.push(("app_id", "2021000000000002"));
    assert_eq!(
        refusal(&signer, &signed_by(&signer, &params)),
        Some((401, "wrong_app"))
    );
    let with_seller = |seller: &str| {
        alipay(Settings {
            seller_id: Some(Identifier::new(seller)),
            ..with_key(DEV_APP, DEV_PUBLIC_KEY)
        })
    };
    let req = signed_by(&signer, &dev_notification());
    assert_eq!(refusal(&with_seller("2088000000000001"), &req), None);
    assert_eq!(
        refusal(&with_seller("2088000000000009"), &req),
        Some((401, "wrong_seller"))
    );
    let mut no_seller = dev_notification();
    no_seller.retain(|(name, _)| *name != "seller_id");
    let req = signed_by(&signer, &no_seller);
    assert_eq!(refusal(&with_seller("2088000000000001"), &req), None);
}

#[test]
fn signing_needs_the_test_key() {
    let connector = alipay(with_key(DEV_APP, DEV_PUBLIC_KEY));
    let mut req = request(form_body(&dev_notification()));
    assert_eq!(connector.sign(&mut req), Err(SignatureError::NoSecret));
    assert_eq!(dev().ack(), Reply::text(200, "success"));
}

#[test]
fn settings_name_what_is_wrong() {
    let error = |settings: Settings| Alipay::build(settings).expect_err("refused").to_string();
    assert!(error(settings(DEV_APP)).contains("alipay_public_key"));
    assert!(error(with_key(DEV_APP, "bm90IGEga2V5")).contains("alipay_public_key"));
    assert!(
        error(Settings {
            alipay_public_key: Some(OneOrMany::Many(vec![
                DEV_PUBLIC_KEY.to_owned(),
                "%%%".to_owned()
            ])),
            ..settings(DEV_APP)
        })
        .contains("alipay_public_key[1]")
    );
    assert!(
        error(Settings {
            alipay_public_cert: Some(OneOrMany::One(DEV_PUBLIC_KEY.to_owned())),
            ..settings(DEV_APP)
        })
        .contains("alipay_public_cert")
    );
    // A 1024-bit key (generated for this test) suits only the legacy RSA type.
    let short = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCwHAAZTbOJBCvS7DZOe9/FKKyPjmAPrf9qYQTz454IbNwMHXtS0ecWJgOlh5crmpoB7uRxM5/AKya9y7LMbm6K2fp2IMVgMkc2OHBzx8klwkJ1ERp1yX30pzEUjumBgekJiF/ojiDyzhIUkUhgT1OIiG/4WfBtIx4P64E6pxKA3QIDAQAB";
    assert!(error(with_key(DEV_APP, short)).contains("2048 bits"));
    assert!(
        Alipay::build(Settings {
            sign_types: vec!["RSA2".into(), "RSA".into()],
            ..with_key(DEV_APP, short)
        })
        .is_ok()
    );
    assert!(
        error(Settings {
            sign_types: vec!["SM2".into()],
            ..with_key(DEV_APP, DEV_PUBLIC_KEY)
        })
        .contains("sign_types")
    );
    assert!(
        error(Settings {
            test_signing_key: Some(Secret::new(DEV_PUBLIC_KEY)),
            ..with_key(DEV_APP, DEV_PUBLIC_KEY)
        })
        .contains("test_signing_key")
    );
    let message = error(Settings {
        test_signing_key: Some(Secret::new(
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----",
        )),
        ..with_key(DEV_APP, DEV_PUBLIC_KEY)
    });
    assert!(!message.contains("c2VjcmV0"), "{message}");
}

/// A GBK notification (`charset=GBK`): signed and verified over its GBK bytes; the fields read
/// are ASCII, and one that is not is a named error, not a guess.
#[test]
fn gbk_notifications_verify_over_their_bytes() {
    let connector = dev();
    let mut params = dev_notification();
    params.retain(|(name, _)| !matches!(*name, "charset" | "out_trade_no"));
    params.push(("charset", "GBK"));
    let gbk = |extra: &str| {
        let mut body = form_body(&params);
        body.extend_from_slice(extra.as_bytes());
        let mut req = request(body);
        connector.sign(&mut req).expect("sign");
        req
    };
    // 中文 in GBK.
    let req = gbk("&out_trade_no=1001&subject=%D6%D0%CE%C4");
    assert_eq!(refusal(&connector, &req), None);
    let verified = connector.verify(&req).expect("verifies");
    assert!(connector.parse(&verified).is_ok());
    // Changing one GBK byte breaks the signature.
    let body = String::from_utf8(req.body.clone()).expect("ASCII on the wire");
    let changed = request(body.replace("%D6%D0%CE%C4", "%D6%D0%CE%C5").into_bytes());
    assert_eq!(
        refusal(&connector, &changed),
        Some((401, "signature_mismatch"))
    );
    let req = gbk("&out_trade_no=%D6%D0%CE%C4");
    let verified = connector.verify(&req).expect("verifies");
    let error = connector
        .parse(&verified)
        .map(|_| ())
        .expect_err("not UTF-8");
    assert_eq!(error.to_string(), "out_trade_no: is not UTF-8 text");
}
