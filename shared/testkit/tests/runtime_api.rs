//! The Runtime API server, driven by a minimal HTTP/1.1 client standing in for a function.

use std::time::Duration;

use o2o_testkit::runtime_api::{Invocation, RuntimeApi};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// One request on a fresh connection (`Connection: close`; the reply is read to the end).
async fn request(address: &str, method: &str, path: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read reply");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP head");
    let head = std::str::from_utf8(&raw[..split]).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = usize::from_str_radix(
            std::str::from_utf8(&raw[..line_end])
                .expect("UTF-8 chunk size")
                .trim(),
            16,
        )
        .expect("hex chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 2 + size + 2..];
    }
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// A fake function: takes the next event and answers as `answer` says, returning the /next reply.
async fn serve_one(address: String, answer: fn(&Value) -> (&'static str, Value)) -> Reply {
    let next = request(&address, "GET", NEXT, b"").await;
    assert_eq!(next.status, 200);
    let id = next
        .header("Lambda-Runtime-Aws-Request-Id")
        .expect("request id header")
        .to_owned();
    let (route, body) = answer(&next.json());
    let posted = request(
        &address,
        "POST",
        &format!("/2018-06-01/runtime/invocation/{id}/{route}"),
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(posted.status, 202, "{route} for {id}");
    next
}

#[tokio::test]
async fn a_response_and_an_error_reach_invoke() {
    let api = RuntimeApi::start().await;
    let env = api.lambda_env("shopify");
    let var = |name: &str| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} in lambda_env"))
    };
    assert_eq!(var("AWS_LAMBDA_RUNTIME_API"), api.address());
    assert_eq!(var("AWS_LAMBDA_FUNCTION_NAME"), "shopify");
    assert_eq!(var("AWS_LAMBDA_FUNCTION_VERSION"), "$LATEST");
    assert_eq!(var("AWS_REGION"), "us-east-1");
    for name in [
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
    ] {
        assert!(!var(name).is_empty(), "{name}");
    }

    // The function polls first (long poll), the event comes later.
    let function = tokio::spawn(serve_one(api.address(), |event| {
        ("response", json!({"statusCode": 200, "echo": event}))
    }));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let answer = api
        .invoke(json!({"hello": "world"}), Duration::from_secs(10))
        .await;
    assert_eq!(
        answer,
        Invocation::Response(json!({"statusCode": 200, "echo": {"hello": "world"}}))
    );
    let next = function.await.expect("fake function");
    let deadline: u128 = next
        .header("Lambda-Runtime-Deadline-Ms")
        .and_then(|d| d.parse().ok())
        .expect("deadline header");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    assert!(
        deadline > now + 20_000 && deadline <= now + 30_000,
        "{deadline} vs {now}"
    );
    assert_eq!(
        next.header("Lambda-Runtime-Invoked-Function-Arn"),
        Some("arn:aws:lambda:us-east-1:123456789012:function:shopify")
    );
    assert!(
        next.header("Lambda-Runtime-Trace-Id")
            .is_some_and(|t| t.starts_with("Root=1-"))
    );

    // The event is queued first, the function polls later; it reports an error.
    let invoke = api.invoke(json!({"n": 2}), Duration::from_secs(10));
    let function = serve_one(api.address(), |_| {
        (
            "error",
            json!({"errorMessage": "boom", "errorType": "Handler"}),
        )
    });
    let (answer, _) = tokio::join!(invoke, function);
    assert_eq!(
        answer,
        Invocation::Error(json!({"errorMessage": "boom", "errorType": "Handler"}))
    );

    // Nobody polls: the invocation times out, and a late answer is refused.
    assert_eq!(
        api.invoke(json!({"n": 3}), Duration::from_millis(100))
            .await,
        Invocation::TimedOut
    );
    let late = request(
        &api.address(),
        "POST",
        "/2018-06-01/runtime/invocation/no-such-id/response",
        b"{}",
    )
    .await;
    assert_eq!(late.status, 400);
}

#[tokio::test]
async fn init_errors_are_recorded() {
    let api = RuntimeApi::start().await;
    assert_eq!(api.init_error(), None);
    let posted = request(
        &api.address(),
        "POST",
        "/2018-06-01/runtime/init/error",
        br#"{"errorMessage":"no table","errorType":"Runtime.InitError"}"#,
    )
    .await;
    assert_eq!(posted.status, 202);
    assert_eq!(
        api.init_error(),
        Some(json!({"errorMessage": "no table", "errorType": "Runtime.InitError"}))
    );
}
