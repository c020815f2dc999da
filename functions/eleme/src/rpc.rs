//! The protocol of Ele.me's API calls: their signature, their request ids, the answer and how its
//! error codes are sorted. The token and the HTTP calls are in [`crate::api`].
//!
//! Sources: the official page "API调用协议 签名算法" (copy at http://dianj.com.cn/News/Detail/21195),
//! PHP SDK 1.87.0 (`qfz9527/eleme-openapi-php-sdk` @ `ce01c36936a5075caeb5adfccdb586f8767edfae`:
//! `src/ElemeOpenApi/Protocol/RpcClient.php`, `generate_signature`, `generate_reqId`, the error
//! codes of `call`) and the Java SDK (`dllen/eleme-openapi-java-sdk` @
//! `8f7ef6c0d9b8c49c7eebcf2f4b4e259303fcaa5d`: `SignatureUtil`, `utils/WebUtils.toException`).
//!
//! - Signature: `UPPER(md5(action + token + concat(sorted by key: key "=" json(value)) + secret))`
//!   over `metas` and `params` merged, `json` compact with non-ASCII and `/` unescaped.
//! - Answer: `{id, result, error: null | {code, message}}`.

use std::sync::atomic::{AtomicU64, Ordering};

use md5::{Digest, Md5};
use o2o_core::command::FailureCode;
use o2o_core::settings::Secret;
use o2o_enrich::command::Answer;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// The signature of an API call: `fields` are `metas` and `params` merged.
pub fn call_signature(
    action: &str,
    token: &str,
    fields: &[(&str, Value)],
    secret: &Secret,
) -> String {
    let mut sorted: Vec<&(&str, Value)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut md5 = Md5::new();
    md5.update(action.as_bytes());
    md5.update(token.as_bytes());
    for (key, value) in sorted {
        // `Value`'s `Display` is compact JSON that leaves non-ASCII and `/` as they are.
        md5.update(format!("{key}={value}").as_bytes());
    }
    md5.update(secret.expose().as_bytes());
    hex::encode_upper(md5.finalize())
}

/// The protocol's answer `{id, result, error}`.
#[derive(Deserialize)]
pub(crate) struct CallAnswer {
    pub(crate) result: Option<Box<RawValue>>,
    pub(crate) error: Option<CallError>,
}

/// The protocol's `error`.
#[derive(Deserialize)]
pub(crate) struct CallError {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
}

/// Ele.me's `error` of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// `error.code` (`BIZ_…`, `VALIDATION_FAILED` …); empty when the error named none.
    pub code: String,
    /// `error.message`, Ele.me's text (may be Chinese).
    pub message: Option<String>,
}

/// What the API answered to one call, once a refused token has been refreshed.
#[derive(Debug)]
pub struct RpcAnswer {
    /// The HTTP answer (a 2xx or a 4xx other than a refused token; 5xx, 408 and 429 are
    /// transient failures before this).
    pub answer: Answer,
    /// Whether the body was the protocol's JSON `{id, result, error}`.
    pub readable: bool,
    /// `result` (`None` when absent or `null`).
    pub result: Option<Box<RawValue>>,
    /// `error`, when Ele.me gave one.
    pub error: Option<RpcError>,
}

/// How an API error `code` is sorted, for enrichment and commands alike: the failure class and
/// whether retrying later can help (the platform, throttling, a clock or credential problem ops
/// can fix), or not (the request, the order or its state).
pub fn classify_code(code: &str) -> (FailureCode, bool) {
    match code {
        "SERVER_ERROR" | "EXCEED_LIMIT" | "INVALID_TIMESTAMP" => {
            (FailureCode::PlatformUnavailable, true)
        }
        "UNAUTHORIZED" | "ACCESS_DENIED" | "PERMISSION_DENIED" | "METHOD_NOT_ALLOWED"
        | "INVALID_SIGNATURE" => (FailureCode::Unauthorized, true),
        // A business error about an order that does not exist (the exact code is not
        // documented; `BIZ_ORDER_NOT_EXIST` is assumed).
        c if c.starts_with("BIZ_") && (c.contains("NOT_EXIST") || c.contains("NOT_FOUND")) => {
            (FailureCode::NotFound, false)
        }
        // ILLEGAL_REQUEST, VALIDATION_FAILED and the other business errors (`BIZ_…`, such as an
        // order in a state that does not allow it): the same request gets the same answer.
        _ => (FailureCode::Rejected, false),
    }
}

/// `code` when it looks like one of Ele.me's codes (`BIZ_…`), else `None`: it is echoed into
/// logs and results.
pub fn shown_code(code: &str) -> Option<&str> {
    (!code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'))
    .then_some(code)
}

/// A request id as the SDKs write it: 32 upper-case hex digits, `|`, the time in milliseconds.
pub(crate) fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut md5 = Md5::new();
    md5.update(now.as_nanos().to_le_bytes());
    md5.update(count.to_le_bytes());
    md5.update(std::process::id().to_le_bytes());
    format!("{}|{}", hex::encode_upper(md5.finalize()), now.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The official worked example of "API调用协议 签名算法" (copy of the open.shop.ele.me page
    /// at http://dianj.com.cn/News/Detail/21195): app key `wYO4C8ZLzB`, secret
    /// `8e81ef8b73593d6b24e0cd9f11cbe3132d11ab8e`, token `ed72bdaef7b635ecf9279147d76d6a55`,
    /// `eleme.order.getOrder` of `100027526535707064` at `1486217703`; step 6 gives the MD5
    /// `b450d7598455d163488a2abeb1e0e0c5`, which the SDKs upper-case.
    #[test]
    fn reproduces_the_official_api_signature_example() {
        let signature = call_signature(
            crate::api::GET_ORDER,
            "ed72bdaef7b635ecf9279147d76d6a55",
            &[
                ("timestamp", json!(1_486_217_703)),
                ("orderId", json!("100027526535707064")),
                ("app_key", json!("wYO4C8ZLzB")),
            ],
            &Secret::new("8e81ef8b73593d6b24e0cd9f11cbe3132d11ab8e"),
        );
        assert_eq!(signature, "B450D7598455D163488A2ABEB1E0E0C5");
    }

    #[test]
    fn request_ids_look_like_the_sdks_and_differ() {
        let (a, b) = (request_id(), request_id());
        assert_ne!(a, b);
        let (hex, ms) = a.split_once('|').expect("a bar");
        assert_eq!(hex.len(), 32);
        assert!(
            hex.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert!(ms.parse::<u64>().is_ok());
    }
}
