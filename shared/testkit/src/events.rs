//! Invocation payloads shaped like AWS's documented examples.
//!
//! - API Gateway HTTP API, payload format 2.0:
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>
//! - Lambda Function URLs (the same format 2.0, with `routeKey`/`stage` `$default`, the
//!   `<url-id>.lambda-url.<region>.on.aws` domain and account `anonymous` for auth type `NONE`):
//!   <https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads>
//! - SQS (standard queue): <https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::moto::REGION;
use crate::runtime_api::ACCOUNT_ID;
use crate::unique::{hex_id, uuid_like};

/// The API id in [`http_v2`] events (its domain is `<id>.execute-api.us-east-1.amazonaws.com`).
pub const API_ID: &str = "o2oapi0001";

/// The URL id in [`function_url`] events (its domain is `<id>.lambda-url.us-east-1.on.aws`).
pub const FUNCTION_URL_ID: &str = "o2ofunctionurl0000000000000000001";

/// The client address in HTTP events (a documentation address, RFC 5737).
pub const SOURCE_IP: &str = "192.0.2.1";

/// An API Gateway HTTP API event (payload format 2.0, the catch-all route `$default`) for one
/// request. `headers` may use any case (names are lower-cased; repeated names are joined with
/// `,` and `Cookie` goes to `cookies`, as API Gateway does); `host`, `content-length`,
/// `x-amzn-trace-id` and `x-forwarded-*` are added unless given. The body is base64 when `base64`
/// (what API Gateway does for binary bodies), else the bytes as UTF-8 (lossily); no `body` when
/// empty.
pub fn http_v2(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    base64: bool,
) -> Value {
    http_event(
        HttpSource::ApiGateway,
        method,
        raw_path,
        raw_query,
        headers,
        body,
        base64,
    )
}

/// A Lambda Function URL event for one request (see [`http_v2`] for the arguments).
pub fn function_url(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    base64: bool,
) -> Value {
    http_event(
        HttpSource::FunctionUrl,
        method,
        raw_path,
        raw_query,
        headers,
        body,
        base64,
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HttpSource {
    ApiGateway,
    FunctionUrl,
}

fn http_event(
    source: HttpSource,
    method: &str,
    raw_path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    base64: bool,
) -> Value {
    let (account_id, api_id, domain_name) = match source {
        HttpSource::ApiGateway => (
            ACCOUNT_ID,
            API_ID,
            format!("{API_ID}.execute-api.{REGION}.amazonaws.com"),
        ),
        HttpSource::FunctionUrl => (
            "anonymous",
            FUNCTION_URL_ID,
            format!("{FUNCTION_URL_ID}.lambda-url.{REGION}.on.aws"),
        ),
    };
    let now = SystemTime::now();
    let epoch_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let time = time::OffsetDateTime::from(now)
        .format(time::macros::format_description!(
            "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
        ))
        .expect("formatting a UTC time with a static description");

    let mut header_map = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_owned())),
            );
            continue;
        }
        match header_map.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                header_map.insert(name, Value::String((*value).to_owned()));
            }
        }
    }
    let mut defaults = vec![
        ("host", domain_name.clone()),
        (
            "x-amzn-trace-id",
            format!(
                "Root=1-{:08x}-{}",
                (epoch_ms / 1000) as u64 & 0xffff_ffff,
                hex_id(24)
            ),
        ),
        ("x-forwarded-for", SOURCE_IP.to_owned()),
        ("x-forwarded-port", "443".to_owned()),
        ("x-forwarded-proto", "https".to_owned()),
    ];
    if !body.is_empty() {
        defaults.push(("content-length", body.len().to_string()));
    }
    for (name, value) in defaults {
        header_map
            .entry(name)
            .or_insert_with(|| Value::String(value));
    }
    let user_agent = header_map
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();

    let mut http = Map::new();
    http.insert("method".into(), method.to_ascii_uppercase().into());
    http.insert("path".into(), raw_path.into());
    http.insert("protocol".into(), "HTTP/1.1".into());
    http.insert("sourceIp".into(), SOURCE_IP.into());
    http.insert("userAgent".into(), user_agent.into());

    let mut event = Map::new();
    event.insert("version".into(), "2.0".into());
    event.insert("routeKey".into(), "$default".into());
    event.insert("rawPath".into(), raw_path.into());
    event.insert("rawQueryString".into(), raw_query.into());
    if !cookies.is_empty() {
        event.insert("cookies".into(), Value::Array(cookies));
    }
    event.insert("headers".into(), Value::Object(header_map));
    if !raw_query.is_empty() {
        event.insert(
            "queryStringParameters".into(),
            Value::Object(query_parameters(raw_query)),
        );
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": account_id,
            "apiId": api_id,
            "domainName": domain_name,
            "domainPrefix": api_id,
            "http": http,
            "requestId": uuid_like(),
            "routeKey": "$default",
            "stage": "$default",
            "time": time,
            "timeEpoch": epoch_ms as u64,
        }),
    );
    if !body.is_empty() {
        let body = if base64 {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            String::from_utf8_lossy(body).into_owned()
        };
        event.insert("body".into(), body.into());
    }
    event.insert("isBase64Encoded".into(), Value::Bool(base64));
    Value::Object(event)
}

/// `queryStringParameters`: decoded values, repeated names joined with `,` (as API Gateway does).
fn query_parameters(raw_query: &str) -> Map<String, Value> {
    let mut map = Map::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name), percent_decode(value));
        match map.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                map.insert(name, Value::String(value));
            }
        }
    }
    map
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or_default() * 16 + hex(l).unwrap_or_default();
                out.push(value as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An SQS event from a standard queue `queue_arn` with one record per `(message id, body)`, each
/// received for the first time, with no message attributes.
pub fn sqs(records: &[(&str, &str)], queue_arn: &str) -> Value {
    sqs_received(records, queue_arn, 1)
}

/// [`sqs`], each record received for the `receive_count`-th time (`ApproximateReceiveCount`).
pub fn sqs_received(records: &[(&str, &str)], queue_arn: &str, receive_count: u32) -> Value {
    let region = queue_arn.split(':').nth(3).unwrap_or(REGION);
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let records: Vec<Value> = records
        .iter()
        .map(|(message_id, body)| {
            let receipt = base64::engine::general_purpose::STANDARD
                .encode(format!("o2o-testkit receipt {message_id} {}", uuid_like()));
            json!({
                "messageId": message_id,
                "receiptHandle": receipt,
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": receive_count.to_string(),
                    "SentTimestamp": now_ms.saturating_sub(2).to_string(),
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": now_ms.to_string(),
                },
                "messageAttributes": {},
                "md5OfBody": md5_hex(body.as_bytes()),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The ARN of the SQS queue at `queue_url` (`https://host/ACCOUNT/NAME` or moto's
/// `http://host/ACCOUNT/NAME`), for [`sqs`] events.
pub fn queue_arn(queue_url: &str) -> String {
    let mut parts = queue_url.trim_end_matches('/').rsplit('/');
    let name = parts.next().unwrap_or_default();
    let account = parts.next().unwrap_or(ACCOUNT_ID);
    format!("arn:aws:sqs:{REGION}:{account}:{name}")
}

/// MD5 (RFC 1321) in lower-case hex: SQS's `md5OfBody`. Not for anything security-related.
fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let mut state: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for chunk in message.chunks_exact(64) {
        let mut m = [0u32; 16];
        for (word, bytes) in m.iter_mut().zip(chunk.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(K[i])
                .wrapping_add(m[g])
                .rotate_left(S[i]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    state
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_rfc_1321_and_the_sqs_doc_example() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        // with-sqs.html: body "Test message." has md5OfBody e4e68fb7bd0e697a0ae8f1bb342846b3.
        assert_eq!(
            md5_hex(b"Test message."),
            "e4e68fb7bd0e697a0ae8f1bb342846b3"
        );
    }

    #[test]
    fn http_v2_has_the_documented_shape() {
        let event = http_v2(
            "post",
            "/webhooks/shopify",
            "a=1&a=2&b=x%20y",
            &[
                ("X-Shopify-Topic", "orders/create"),
                ("User-Agent", "Shopify-Captain-Hook"),
                ("Cookie", "c1=v1; c2=v2"),
                ("Accept", "a"),
                ("accept", "b"),
            ],
            b"{\"id\":1}",
            false,
        );
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "$default");
        assert_eq!(event["rawPath"], "/webhooks/shopify");
        assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y");
        assert_eq!(
            event["queryStringParameters"],
            json!({"a": "1,2", "b": "x y"})
        );
        assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
        assert_eq!(event["headers"]["x-shopify-topic"], "orders/create");
        assert_eq!(event["headers"]["accept"], "a,b");
        assert_eq!(event["headers"]["content-length"], "8");
        assert!(event["headers"].get("cookie").is_none());
        let ctx = &event["requestContext"];
        assert_eq!(ctx["accountId"], ACCOUNT_ID);
        assert_eq!(
            ctx["domainName"],
            "o2oapi0001.execute-api.us-east-1.amazonaws.com"
        );
        assert_eq!(ctx["http"]["method"], "POST");
        assert_eq!(ctx["http"]["path"], "/webhooks/shopify");
        assert_eq!(ctx["http"]["protocol"], "HTTP/1.1");
        assert_eq!(ctx["http"]["userAgent"], "Shopify-Captain-Hook");
        assert_eq!(ctx["stage"], "$default");
        assert!(
            ctx["timeEpoch"]
                .as_u64()
                .is_some_and(|t| t > 1_700_000_000_000)
        );
        let time = ctx["time"].as_str().expect("time");
        assert_eq!(
            (time.len(), &time[time.len() - 5..]),
            (26, "+0000"),
            "{time}"
        );
        assert_eq!(event["body"], "{\"id\":1}");
        assert_eq!(event["isBase64Encoded"], false);

        let binary = http_v2("GET", "/x", "", &[], &[0xff, 0x00], true);
        assert_eq!(binary["body"], "/wA=");
        assert_eq!(binary["isBase64Encoded"], true);
        assert!(binary.get("queryStringParameters").is_none());
        let empty = http_v2("GET", "/x", "", &[], b"", false);
        assert!(empty.get("body").is_none());
    }

    #[test]
    fn function_url_events_use_the_lambda_url_domain() {
        let event = function_url("POST", "/webhooks/shopify", "", &[], b"{}", false);
        let ctx = &event["requestContext"];
        assert_eq!(event["routeKey"], "$default");
        assert_eq!(ctx["accountId"], "anonymous");
        assert_eq!(
            ctx["domainName"],
            format!("{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws")
        );
        assert_eq!(ctx["domainPrefix"], FUNCTION_URL_ID);
        assert_eq!(event["headers"]["host"], ctx["domainName"]);
    }

    #[test]
    fn sqs_events_have_the_documented_shape() {
        let arn = queue_arn("http://127.0.0.1:5000/123456789012/enrich-1");
        assert_eq!(arn, "arn:aws:sqs:us-east-1:123456789012:enrich-1");
        let event = sqs(&[("m-1", "Test message."), ("m-2", "{}")], &arn);
        let records = event["Records"].as_array().expect("Records");
        assert_eq!(records.len(), 2);
        let r = &records[0];
        assert_eq!(r["messageId"], "m-1");
        assert_eq!(r["body"], "Test message.");
        assert_eq!(r["md5OfBody"], "e4e68fb7bd0e697a0ae8f1bb342846b3");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["eventSourceARN"], arn);
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(r["messageAttributes"], json!({}));
        assert_ne!(r["receiptHandle"], records[1]["receiptHandle"]);
    }
}
