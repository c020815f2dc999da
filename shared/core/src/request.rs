//! The transport-neutral request a connector sees, and the replies it gives.

use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

/// Request headers with case-insensitive lookup (names are stored lower-case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header (the name is lower-cased).
    pub fn insert(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_ascii_lowercase(), value.into()));
    }

    /// Replaces every value of `name` (ignoring case) with one `value`.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.insert(name, value);
    }

    /// The first value of `name`, ignoring case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All headers in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl<N: AsRef<str>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        let mut headers = Headers::new();
        for (n, v) in iter {
            headers.insert(n.as_ref(), v);
        }
        headers
    }
}

/// The default limit on a webhook body: 1 MiB; larger bodies get 413 at the edge.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// One webhook delivery as received, before anything is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// The `{tenant}` path segment, when the URL has one (selects the tenant's credentials).
    pub path_tenant: Option<String>,
    /// The `{endpoint}` path segment, for platforms that call one URL per kind of push
    /// ([`ChannelInfo::endpoints`](crate::ChannelInfo::endpoints)); `None` for the rest.
    pub endpoint: Option<String>,
    /// The raw query string, without `?`.
    pub query: String,
    /// Request headers.
    pub headers: Headers,
    /// The exact raw body bytes (already base64-decoded where the gateway encoded them).
    pub body: Vec<u8>,
    /// When the edge received it.
    pub received_at: Timestamp,
}

impl WebhookRequest {
    /// Looks up a query parameter, percent-decoded (`+` as space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k)? == name)
                .then(|| percent_decode(v))
                .flatten()
        })
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters: a query value, a form
/// value or a path segment.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text; `None` when it is not valid UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The HTTP answer to a platform: status, content type and body, in the platform's exact format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// The body.
    pub body: String,
    /// Further response headers (`Allow` on a 405).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// `200` with an empty body: what most platforms expect.
    pub fn empty_ok() -> Self {
        Self::text(200, "")
    }

    /// A plain-text reply (`success`).
    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// A JSON reply (`{"code":0,"msg":"success"}`).
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: "application/json".into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }
}

/// A delivery refused before anything was stored: an HTTP status and a short JSON reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct Rejection {
    /// HTTP status (4xx, or 5xx for our own failures).
    pub status: u16,
    /// A stable machine-readable code, e.g. `signature_mismatch`.
    pub code: &'static str,
    /// A short human-readable reason, free of secrets and customer data.
    pub message: String,
    /// The methods to list in `Allow` (on a 405).
    pub allow: Option<&'static str>,
}

impl Rejection {
    /// Builds a rejection.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    /// 401: the delivery is not authentic.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(401, code, message)
    }

    /// 400: the request is malformed in a way that prevents authentication.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// The JSON reply `{"error": code, "message": message}`.
    pub fn to_reply(&self) -> Reply {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        let mut reply = Reply::json(self.status, &body.to_string());
        if let Some(allow) = self.allow {
            reply.headers.push(("allow".to_owned(), allow.to_owned()));
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive() {
        let h: Headers = [("X-Shopify-Hmac-SHA256", "abc")].into_iter().collect();
        assert_eq!(h.get("x-shopify-hmac-sha256"), Some("abc"));
        assert_eq!(h.get("X-SHOPIFY-HMAC-SHA256"), Some("abc"));
        assert_eq!(h.get("x-other"), None);
    }

    #[test]
    fn query_params_are_decoded() {
        let req = WebhookRequest {
            method: "GET".into(),
            path_tenant: None,
            endpoint: None,
            query: "signature=ab%2Bc&echostr=a+b%20c&empty=&bad=%zz&flag".into(),
            headers: Headers::new(),
            body: vec![],
            received_at: Timestamp::now(),
        };
        assert_eq!(req.query_param("signature").as_deref(), Some("ab+c"));
        assert_eq!(req.query_param("echostr").as_deref(), Some("a b c"));
        assert_eq!(req.query_param("empty").as_deref(), Some(""));
        assert_eq!(req.query_param("bad").as_deref(), Some("%zz"));
        assert_eq!(req.query_param("flag").as_deref(), Some(""));
        assert_eq!(req.query_param("missing"), None);
        assert_eq!(percent_decode("%"), Some("%".into()));
        assert_eq!(percent_decode("%4"), Some("%4".into()));
        assert_eq!(percent_decode("%e4%b8%ad"), Some("中".into()));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[test]
    fn rejections_render_as_short_json() {
        let reply =
            Rejection::unauthorized("signature_mismatch", "signature does not match").to_reply();
        assert_eq!(reply.status, 401);
        assert_eq!(reply.content_type, "application/json");
        assert_eq!(
            reply.body,
            r#"{"error":"signature_mismatch","message":"signature does not match"}"#
        );
    }
}
