//! The two 抖店 signatures: `event-sign` on pushed messages and `sign` on API calls.
//!
//! Both are lower-case hex MD5, as the official Java SDK (`com.doudian.open.*`, "auto
//! generated, do not edit") computes them:
//!
//! - messages: `com.doudian.open.core.msg.DoudianOpMsgRequest#checkSign` —
//!   `SignUtil.stringToMD5(appKey + requestBody + appSecret).equals(eventSign)`, the comment there
//!   reading `signParam := "yourAppId" + string(body) + "yourSecret"`. The SDK has no other
//!   scheme for messages (no `sign_method`, no HMAC), so neither do we.
//! - API calls: `com.doudian.open.utils.SignUtil#sign` — `stringToMD5(appSecret + "app_key" +
//!   appKey + "method" + method + "param_json" + sortedParamJson + "timestamp" + timestamp + "v2"
//!   + appSecret)`, `param_json` with its keys sorted (`sortParamJson`). The same class offers
//!   HMAC-SHA256 of the same string (key = app secret) only for SPI callbacks (`spiSign`); the
//!   official Go SDK (copy in `zsmhub/doudian-sdk`, `utils/sign_util.go`) signs API calls with
//!   HMAC-SHA256 and `sign_method=hmac-sha256`. We send `sign_method=md5` with the MD5 sign.
//!
//! `stringToMD5` pads `BigInteger.toString(16)` to 32 digits: plain lower-case hex.

use md5::{Digest, Md5};
use o2o_core::Rejection;
use o2o_core::Secret;
use o2o_core::request::Headers;
use o2o_core::signature::{SignatureError, hex_digest_matches};

/// The header carrying the message signature.
pub const EVENT_SIGN_HEADER: &str = "event-sign";
/// The header carrying the app key the message was pushed for.
pub const APP_ID_HEADER: &str = "app-id";

/// Lower-case hex MD5 of the concatenation of `parts`.
fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// The `event-sign` of a message body: MD5(app_key ‖ raw body ‖ app_secret), lower-case hex.
pub fn event_sign(app_key: &str, body: &[u8], app_secret: &str) -> String {
    md5_hex(&[app_key.as_bytes(), body, app_secret.as_bytes()])
}

/// Checks `app-id` and `event-sign` over the exact raw body, trying every active secret.
///
/// `app_key` is the configured app key.
pub fn verify_event(
    headers: &Headers,
    body: &[u8],
    app_key: &str,
    secrets: &[Secret],
) -> Result<(), Rejection> {
    // The app key is a public id, not a secret: a plain comparison is fine.
    if headers.get(APP_ID_HEADER).map(str::trim) != Some(app_key) {
        return Err(Rejection::unauthorized(
            "wrong_app",
            "the app-id header does not name this channel's app",
        ));
    }
    let given = headers
        .get(EVENT_SIGN_HEADER)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::Missing)?;
    if given.len() != 32 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignatureError::Malformed.into());
    }
    let matches = secrets
        .iter()
        .any(|secret| hex_digest_matches(&event_sign(app_key, body, secret.expose()), given));
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch.into())
    }
}

/// The `sign` query parameter of an API call (MD5 variant, `sign_method=md5`, `v=2`).
///
/// `param_json` must already have its keys sorted, as the SDK signs it.
pub fn api_sign(
    app_key: &str,
    app_secret: &str,
    method: &str,
    param_json: &str,
    timestamp: &str,
) -> String {
    md5_hex(&[
        app_secret.as_bytes(),
        b"app_key",
        app_key.as_bytes(),
        b"method",
        method.as_bytes(),
        b"param_json",
        param_json.as_bytes(),
        b"timestamp",
        timestamp.as_bytes(),
        b"v2",
        app_secret.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::settings::parse_settings;

    /// No official test vector exists for either scheme: the official SDKs ship no tests and the
    /// 抖店 docs were not reachable. MD5 itself is checked against RFC 1321's own test suite
    /// (appendix A.5), and both constructions against values computed by independent tools —
    /// GNU coreutils `md5sum` and Python's `hashlib` — never by this code:
    ///
    /// ```text
    /// printf '%s' '7000000000000000001[{"tag":"101","msg_id":"m-1","data":"{}"}]dev-douyin-app-secret' | md5sum
    /// printf '%s' 'dev-douyin-app-secretapp_key7000000000000000001methodorder.orderDetailparam_json{"shop_order_id":"4781320682406083640"}timestamp1617355413v2dev-douyin-app-secret' | md5sum
    /// ```
    #[test]
    fn md5_matches_rfc_1321_and_independent_tools() {
        // RFC 1321, A.5 test suite.
        assert_eq!(md5_hex(&[b""]), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(&[b"abc"]), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(&[b"message ", b"digest"]),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            event_sign(
                "7000000000000000001",
                br#"[{"tag":"101","msg_id":"m-1","data":"{}"}]"#,
                "dev-douyin-app-secret"
            ),
            "bc7fc66d6d85495113d7de554f147ac2"
        );
        assert_eq!(
            api_sign(
                "7000000000000000001",
                "dev-douyin-app-secret",
                "order.orderDetail",
                r#"{"shop_order_id":"4781320682406083640"}"#,
                "1617355413"
            ),
            "48349683534f99d180ef0d86789826f8"
        );
    }

    fn headers(app_id: Option<&str>, sign: Option<&str>) -> Headers {
        let mut h = Headers::new();
        if let Some(a) = app_id {
            h.insert("App-Id", a);
        }
        if let Some(s) = sign {
            h.insert("Event-Sign", s);
        }
        h
    }

    #[test]
    fn verifies_with_any_active_secret_and_refuses_the_rest() {
        let body = br#"[{"tag":"101","msg_id":"m-1","data":"{}"}]"#;
        let key = "7000000000000000001";
        let secrets = [Secret::new("new-secret"), Secret::new("old-secret")];
        for secret in ["new-secret", "old-secret"] {
            let sign = event_sign(key, body, secret);
            assert_eq!(
                verify_event(&headers(Some(key), Some(&sign)), body, key, &secrets),
                Ok(())
            );
            let upper = sign.to_ascii_uppercase();
            assert_eq!(
                verify_event(&headers(Some(key), Some(&upper)), body, key, &secrets),
                Ok(())
            );
        }
        let sign = event_sign(key, body, "new-secret");
        let code = |h: Headers, b: &[u8], k: &str, s: &[Secret]| {
            verify_event(&h, b, k, s).map_err(|r| (r.status, r.code))
        };
        assert_eq!(
            code(headers(Some(key), Some(&sign)), b"[]", key, &secrets),
            Err((401, "signature_mismatch"))
        );
        assert_eq!(
            code(
                headers(Some("7000000000000000002"), Some(&sign)),
                body,
                key,
                &secrets
            ),
            Err((401, "wrong_app"))
        );
        assert_eq!(
            code(headers(None, Some(&sign)), body, key, &secrets),
            Err((401, "wrong_app"))
        );
        assert_eq!(
            code(headers(Some(key), None), body, key, &secrets),
            Err((401, "signature_missing"))
        );
        assert_eq!(
            code(headers(Some(key), Some("xyz")), body, key, &secrets),
            Err((401, "signature_malformed"))
        );
        // With no secret nothing verifies (fail closed); settings never get here without one.
        assert_eq!(
            code(headers(Some(key), Some(&sign)), body, key, &[]),
            Err((401, "signature_mismatch"))
        );
        // A secret that is no longer listed does not verify.
        assert_eq!(
            code(headers(Some(key), Some(&sign)), body, key, &secrets[1..]),
            Err((401, "signature_mismatch"))
        );
    }

    /// A missing app key or an empty secret list used to reach `verify_event` and answer 500
    /// `channel_misconfigured`; the settings now refuse them at start-up, naming the setting.
    #[test]
    fn a_missing_app_key_or_no_secret_stops_start_up() {
        let table = |json: serde_json::Value| match json {
            serde_json::Value::Object(map) => map,
            _ => panic!("a table"),
        };
        let err = parse_settings::<crate::Settings>(
            &table(serde_json::json!({
                "secrets": ["dev-douyin-app-secret"],
                "access_token": "t"
            })),
            "channels.douyin-shop",
        )
        .expect_err("no app key");
        assert_eq!(
            err.to_string(),
            "channels.douyin-shop: missing field `app_key`"
        );
        let err = parse_settings::<crate::Settings>(
            &table(serde_json::json!({
                "app_key": "7000000000000000001",
                "secrets": [],
                "access_token": "t"
            })),
            "channels.douyin-shop",
        )
        .expect_err("no secret");
        assert_eq!(
            err.to_string(),
            "channels.douyin-shop.secrets: lists no secret"
        );
    }
}
