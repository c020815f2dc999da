//! Sample deliveries (`events/<channel>/*.http`): one HTTP request per file, as the platform
//! sends it minus the signature, which `o2o send` and the tests add with the configured secret.
//!
//! Format: a request line (`POST /webhooks/shopify HTTP/1.1`), `Name: value` header lines, an
//! empty line, then the body bytes; one trailing newline at the end of the file is not part of it.

use crate::registry::Channel;
use crate::request::{Headers, WebhookRequest};
use crate::signature::SignatureError;
use crate::timestamp::Timestamp;

/// A parsed sample delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// HTTP method.
    pub method: String,
    /// Request path from the request line (with any query).
    pub path: String,
    /// Headers (without a signature).
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Sample {
    /// The request a connector sees for this sample: no path tenant, the query from the path,
    /// and as its endpoint the one path segment after `/webhooks/{channel}`, if there is one
    /// (samples of platforms that call one URL per kind of push: `/webhooks/meituan/order`).
    pub fn into_request(self, received_at: Timestamp) -> WebhookRequest {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let endpoint = match path.trim_matches('/').split('/').collect::<Vec<_>>()[..] {
            ["webhooks", _, endpoint] => Some(endpoint.to_owned()),
            _ => None,
        };
        let query = query.to_owned();
        WebhookRequest {
            method: self.method,
            path_tenant: None,
            endpoint,
            query,
            headers: self.headers,
            body: self.body,
            received_at,
        }
    }

    /// The request signed by `channel` as its platform would send it at `sent_at`
    /// (signature headers or query parameters, and an encrypted body where the platform encrypts).
    pub fn signed(
        self,
        channel: &dyn Channel,
        sent_at: Timestamp,
    ) -> Result<WebhookRequest, SignatureError> {
        let mut req = self.into_request(sent_at);
        channel.sign(&mut req)?;
        Ok(req)
    }
}

/// Why a sample file is not a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sample file: {0}")]
pub struct SampleError(&'static str);

/// Parses a sample file.
pub fn parse_sample(bytes: &[u8]) -> Result<Sample, SampleError> {
    let (head, body) =
        split_head(bytes).ok_or(SampleError("no empty line between headers and body"))?;
    let head = std::str::from_utf8(head).map_err(|_| SampleError("headers are not UTF-8"))?;
    let mut lines = head.lines();
    let request_line = lines.next().ok_or(SampleError("no request line"))?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().ok_or(SampleError("no method"))?.to_owned();
    let path = parts.next().ok_or(SampleError("no path"))?.to_owned();
    let mut headers = Headers::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(SampleError("header line without ':'"))?;
        headers.insert(name.trim(), value.trim());
    }
    let body = body
        .strip_suffix(b"\r\n")
        .or_else(|| body.strip_suffix(b"\n"))
        .unwrap_or(body);
    Ok(Sample {
        method,
        path,
        headers,
        body: body.to_vec(),
    })
}

fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    for sep in [&b"\r\n\r\n"[..], &b"\n\n"[..]] {
        if let Some(at) = bytes.windows(sep.len()).position(|w| w == sep) {
            return Some((&bytes[..at], &bytes[at + sep.len()..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_line_headers_and_exact_body() {
        let sample = parse_sample(
            b"POST /webhooks/shopify HTTP/1.1\nX-Shopify-Topic: orders/create\n\n{\"a\": 1}\n",
        )
        .expect("sample");
        assert_eq!(sample.method, "POST");
        assert_eq!(sample.path, "/webhooks/shopify");
        assert_eq!(sample.headers.get("x-shopify-topic"), Some("orders/create"));
        assert_eq!(sample.body, b"{\"a\": 1}");
        assert!(parse_sample(b"POST /x\nNoColon\n\nbody").is_err());
        let req = parse_sample(b"GET /webhooks/x?echostr=a%20b HTTP/1.1\n\n")
            .expect("sample")
            .into_request(Timestamp::now());
        assert_eq!(
            (req.method.as_str(), req.query_param("echostr").as_deref()),
            ("GET", Some("a b"))
        );
        assert!(parse_sample(b"no blank line").is_err());
    }
}
