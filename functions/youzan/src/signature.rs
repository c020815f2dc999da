//! Youzan's two push signatures, both a plain MD5 (not an HMAC) in lower-case hex:
//!
//! - **Newer**: header `Event-Sign` = `MD5(client_id + raw body + client_secret)`. Confirmed only
//!   from secondary sources [C-2]: the Go demo cuncle/youzanyun-push-demo `pushdemo.go`
//!   (`Verifysign`: `md5(ClientId + string(reqBody) + ClientSecret) == req.Header.Get("Event-Sign")`,
//!   citing <https://doc.youzanyun.com/resource/develop-guide/41355/41536>) and a support answer on
//!   <https://bbs.youzan.com/thread-699870-1-1.html> quoting doc 3032
//!   (`MD5.digest(CLIENT_ID + entity + CLIENT_SECRET)` compared with `eventSign`).
//! - **Legacy**: body field `sign` = `MD5(client_id + msg + client_secret)`, documented by Youzan
//!   itself in youzan/open-sdk-Csharp `Docs/消息推送/推送消息解析.md` (commit d90bdef, 2019:
//!   "防伪签名 ：MD5(client_id+msg+client_secrect)"). Which text `msg` means there is not spelled
//!   out; every implementation found hashes the JSON string value after JSON unescaping and
//!   *before* URL-decoding: Hanson/youzan-sdk `src/Push.php` (`md5($clientId . $data['msg'] .
//!   $secret)` on `json_decode`d data, then `urldecode`), the npm `yz-sdk` middleware
//!   (`md5.update(client_id + msg + client_secret)` on the parsed body, then `decodeURI`), and
//!   several PHP receivers. One bbs.youzan.com answer claims `msg` is URL-decoded first; it
//!   conflicts with all of them, so the raw (still encoded) `msg` is what we hash.
//!
//! No official test vector exists (no SDK ships push verification with a known secret); the tests
//! below use RFC 1321's MD5 suite to pin the concatenation and digests computed independently
//! with Python's `hashlib`.
//!
//! The legacy form covers only `msg`: the envelope around it (type, shop, test flag) is not
//! signed. Prefer the `Event-Sign` header, which Youzan also recommends ("不建议使用此字段，可以用
//! 请求头中的Event-Sign进行防伪验证" in the `sign` field description of
//! <https://doc.youzanyun.com/detail/MSG/201>, as quoted by third-party C# message models).

use md5::{Digest, Md5};
use o2o_core::settings::{Secret, Secrets};
use o2o_core::signature::{SignatureError, hex_digest_matches};
use o2o_core::{Rejection, WebhookRequest};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::payload::Envelope;

/// The header carrying the newer signature.
pub const EVENT_SIGN_HEADER: &str = "Event-Sign";

/// Lower-case hex `MD5(client_id + data + secret)`.
pub fn digest(client_id: &str, data: &[u8], secret: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(client_id.as_bytes());
    md5.update(data);
    md5.update(secret.as_bytes());
    hex::encode(md5.finalize())
}

/// Checks `provided` against the digest under every active secret, in constant time each and
/// without stopping at the first match.
fn matches_any(
    provided: &str,
    client_id: &str,
    data: &[u8],
    secrets: &[Secret],
) -> Result<(), SignatureError> {
    let provided = provided.trim();
    if provided.len() != 32 || !provided.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    for secret in secrets {
        matched |= hex_digest_matches(&digest(client_id, data, secret.expose()), provided);
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The non-blank `Event-Sign` header, if any.
pub fn event_sign(req: &WebhookRequest) -> Option<&str> {
    req.headers
        .get(EVENT_SIGN_HEADER)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Refuses a message addressed to another app. Only test messages (the `{"test":true}`
/// health check) may leave `client_id` out.
fn check_client_id(envelope: &Envelope, expected: &str) -> Result<(), Rejection> {
    let matches = match envelope.client_id.as_deref() {
        Some(id) => id == expected,
        None => envelope.test,
    };
    if matches {
        Ok(())
    } else {
        Err(Rejection::unauthorized(
            "client_id_mismatch",
            "the message is not addressed to the configured client_id",
        ))
    }
}

/// Verifies a delivery: `Event-Sign` when the header is present, else the body's `sign`; and
/// that the body's `client_id` is the configured one. Returns the envelope it read on the way
/// (`None` for an authentic body that is not one: `parse` quarantines it).
pub fn verify(
    req: &WebhookRequest,
    client_id: &str,
    secrets: &Secrets,
) -> Result<Option<Envelope>, Rejection> {
    let envelope = serde_json::from_slice::<Envelope>(&req.body).ok();
    // `client_id` is no secret (every message carries it): checking it first names the problem.
    if let Some(envelope) = &envelope {
        check_client_id(envelope, client_id)?;
    }
    if let Some(provided) = event_sign(req) {
        // An authentic body we cannot read is quarantined by `parse`, not refused here.
        matches_any(provided, client_id, &req.body, secrets.all())?;
        return Ok(envelope);
    }
    let envelope = envelope.ok_or_else(|| {
        Rejection::unauthorized(
            "signature_missing",
            "no Event-Sign header, and the body is not a Youzan push message",
        )
    })?;
    let provided = envelope.sign.as_deref().ok_or(SignatureError::Missing)?;
    let Some(Value::String(msg)) = &envelope.msg else {
        return Err(Rejection::unauthorized(
            "signature_missing",
            "no Event-Sign header, and the body's sign covers no msg string",
        ));
    };
    matches_any(provided, client_id, msg.as_bytes(), secrets.all())?;
    Ok(Some(envelope))
}

/// Where the legacy signature goes: the body's `sign` value, exactly as written.
#[derive(Deserialize)]
struct SignSlot<'a> {
    #[serde(borrow)]
    sign: Option<&'a RawValue>,
    msg: Option<Value>,
}

/// Signs a sample as Youzan would, with the newest secret.
///
/// The form is chosen by the sample: a sample that carries an `Event-Sign` header (an empty
/// `Event-Sign:` line marks it) or whose body has no top-level `sign` field (or no `msg` string)
/// gets the newer header; otherwise the body's `sign` value (`""` in the samples) is replaced
/// with the legacy digest, leaving every other byte of the body as it was.
pub fn sign(
    req: &mut WebhookRequest,
    client_id: &str,
    secret: &Secret,
) -> Result<(), SignatureError> {
    if req.headers.get(EVENT_SIGN_HEADER).is_none()
        && let Some(body) = legacy_signed(&req.body, client_id, secret.expose())
    {
        req.body = body;
        return Ok(());
    }
    let signature = digest(client_id, &req.body, secret.expose());
    req.headers.set(EVENT_SIGN_HEADER, signature);
    Ok(())
}

/// The body with its `sign` value replaced by the legacy digest; `None` when it has no `sign`
/// field or no `msg` string.
fn legacy_signed(body: &[u8], client_id: &str, secret: &str) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let slot: SignSlot<'_> = serde_json::from_str(text).ok()?;
    let (Some(raw), Some(Value::String(msg))) = (slot.sign, slot.msg) else {
        return None;
    };
    // `raw` borrows from `text`: its position is the distance between the two pointers.
    let start = (raw.get().as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start + raw.get().len();
    let signature = digest(client_id, msg.as_bytes(), secret);
    let mut signed = String::with_capacity(text.len() + 34);
    signed.push_str(text.get(..start)?);
    signed.push('"');
    signed.push_str(&signature);
    signed.push('"');
    signed.push_str(text.get(end..)?);
    Some(signed.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1321 appendix A.5 ("MD5 test suite"): the digest is over the plain concatenation,
    /// client_id first, secret last.
    #[test]
    fn concatenates_then_hashes_as_rfc_1321() {
        assert_eq!(digest("a", b"b", "c"), "900150983cd24fb0d6963f7d28e17f72"); // "abc"
        assert_eq!(
            digest("message", b" ", "digest"),
            "f96b697d7cb7938d525a2f31aaf161d0" // "message digest"
        );
        assert_eq!(digest("", b"", ""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            digest("abcdefghijklm", b"nopqrstuvwxyz", ""),
            "c3fcd3d76192e4007dfb496cca67e13b" // "abcdefghijklmnopqrstuvwxyz"
        );
    }

    /// Digests computed independently with Python:
    /// `hashlib.md5(b"cid123" + msg + b"sekret").hexdigest()`, `msg` being the still URL-encoded
    /// string of Youzan's documented TRADE_ORDER_STATE example (youzan/open-sdk-Csharp
    /// `Docs/消息推送/消息示例-交易消息.md`).
    #[test]
    fn matches_independently_computed_digests() {
        let msg = "%7B%22update_time%22:%222017-08-07%2018:19:05%22,%22payment%22:%2211.00%22,%22tid%22:%22E20170807181905034500002%22,%22status%22:%22TRADE_CLOSED%22%7D";
        assert_eq!(
            digest("cid123", msg.as_bytes(), "sekret"),
            "8acb6adafdd02a2c65f50030cc950f0c"
        );
    }

    #[test]
    fn rewrites_only_the_sign_value() {
        let body = br#"{"msg":"a%20b","sign": "" ,"x":"\"sign\""}"#;
        let signed = legacy_signed(body, "id", "s").expect("signable");
        let expected = format!(
            r#"{{"msg":"a%20b","sign": "{}" ,"x":"\"sign\""}}"#,
            digest("id", b"a%20b", "s")
        );
        assert_eq!(String::from_utf8(signed).expect("utf8"), expected);
        assert_eq!(legacy_signed(br#"{"msg":"a"}"#, "id", "s"), None);
        assert_eq!(
            legacy_signed(br#"{"sign":"","msg":{"a":1}}"#, "id", "s"),
            None
        );
        assert_eq!(legacy_signed(b"not json", "id", "s"), None);
    }

    #[test]
    fn refuses_malformed_digests() {
        let secrets = [Secret::new("s")];
        assert_eq!(
            matches_any("xyz", "id", b"", &secrets),
            Err(SignatureError::Malformed)
        );
        let good = digest("id", b"m", "s");
        assert_eq!(
            matches_any(&good.to_ascii_uppercase(), "id", b"m", &secrets),
            Ok(())
        );
        assert_eq!(
            matches_any(&good, "id", b"n", &secrets),
            Err(SignatureError::Mismatch)
        );
    }
}
