//! o2o-enrich: the HTTP side of enrichment, shared by the thin-webhook connectors (WeChat
//! Channels shop, Douyin shop, TikTok Shop).
//!
//! One pooled [`reqwest`] client with bounded timeouts, and one way to read a platform's JSON
//! answer that sorts failures the way the enrichment worker needs them: worth retrying
//! ([`EnrichError::Transient`]: timeouts, connection failures, 5xx, throttling, credentials the
//! platform refuses) or not ([`EnrichError::Permanent`]: an answer we cannot read). Whether an
//! order "does not exist" is in each platform's own error codes, so each connector decides that.
//!
//! Error messages name the API and the failure, never a response body or a credential.

use std::sync::OnceLock;
use std::time::Duration;

use o2o_core::{Credentials, EnrichError};
use serde::de::DeserializeOwned;

/// The credential setting that overrides a platform's API base URL (tests, sandboxes, proxies).
pub const API_BASE_SETTING: &str = "api_base";
/// The credential setting that shortens or lengthens [`REQUEST_TIMEOUT`], in milliseconds.
pub const TIMEOUT_SETTING: &str = "api_timeout_ms";
/// Connect timeout for platform APIs.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-request timeout for platform APIs; a slower answer is a transient failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The process-wide HTTP client: connection pooling across enrichments, rustls, bounded timeouts.
pub fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("o2o-connectors/", env!("CARGO_PKG_VERSION")))
            .build()
            // Building fails only if the TLS backend cannot initialise; a default client then
            // still works for plain-HTTP tests and reports the TLS failure per request.
            .unwrap_or_default()
    })
}

/// The platform API's base URL: the tenant's `api_base` setting, else `default`; without a
/// trailing slash, so callers append `/path`.
pub fn api_base(credentials: &Credentials, default: &str) -> String {
    credentials
        .value(API_BASE_SETTING)
        .map_or(default, |v| v.expose())
        .trim_end_matches('/')
        .to_owned()
}

/// The whole-request timeout for this tenant's API calls: `api_timeout_ms`, else
/// [`REQUEST_TIMEOUT`]. Set it on each request (`RequestBuilder::timeout`).
pub fn request_timeout(credentials: &Credentials) -> Duration {
    credentials
        .value(TIMEOUT_SETTING)
        .and_then(|v| v.expose().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(REQUEST_TIMEOUT, Duration::from_millis)
}

/// A required credential value, or a transient error naming the missing setting (a fixed
/// configuration lets the redelivered message through; the dead-letter queue keeps it meanwhile).
pub fn required<'c>(credentials: &'c Credentials, name: &str) -> Result<&'c str, EnrichError> {
    credentials
        .value(name)
        .map(|s| s.expose())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| EnrichError::Transient(format!("setting `{name}` is not configured")))
}

/// The newest signing secret (the first of `secrets`), which API requests are signed with; a
/// transient error while none is configured.
pub fn newest_secret(credentials: &Credentials) -> Result<&str, EnrichError> {
    credentials
        .secrets
        .first()
        .map(|s| s.expose())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| EnrichError::Transient("setting `secrets` is not configured".into()))
}

/// Sends `request` and reads its JSON answer as `T`.
///
/// `api` names the call in error messages (`tiktok-shop order detail`). Transport failures,
/// timeouts, 408, 429 and 5xx are transient; so are 401 and 403 (credentials are fixed by ops,
/// then the message is redriven). A 2xx (or another 4xx) body that is not the expected JSON is
/// permanent: retrying returns the same body.
pub async fn send_json<T: DeserializeOwned>(
    api: &str,
    request: reqwest::RequestBuilder,
) -> Result<T, EnrichError> {
    let response = request.send().await.map_err(|e| transport(api, &e))?;
    let status = response.status();
    if status.is_server_error() || matches!(status.as_u16(), 401 | 403 | 408 | 429) {
        return Err(EnrichError::Transient(format!(
            "{api}: HTTP {}",
            status.as_u16()
        )));
    }
    let bytes = response.bytes().await.map_err(|e| transport(api, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        EnrichError::Permanent(format!(
            "{api}: HTTP {} answer not understood ({})",
            status.as_u16(),
            o2o_core::connector::NormaliseError::from(e)
        ))
    })
}

fn transport(api: &str, e: &reqwest::Error) -> EnrichError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    EnrichError::Transient(format!("{api}: {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::Secret;
    use serde::Deserialize;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[derive(Debug, Deserialize, PartialEq)]
    struct Answer {
        code: i64,
    }

    async fn answer(template: ResponseTemplate) -> Result<Answer, EnrichError> {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/x"))
            .respond_with(template)
            .mount(&server)
            .await;
        send_json("test api", http().get(format!("{}/x", server.uri()))).await
    }

    #[tokio::test]
    async fn sorts_answers_into_ok_transient_and_permanent() {
        let ok = answer(ResponseTemplate::new(200).set_body_string(r#"{"code":7}"#)).await;
        assert_eq!(ok, Ok(Answer { code: 7 }));
        for status in [500, 502, 503, 429, 401, 403, 408] {
            let failed = answer(ResponseTemplate::new(status)).await;
            assert_eq!(
                failed,
                Err(EnrichError::Transient(format!("test api: HTTP {status}")))
            );
        }
        let garbage =
            answer(ResponseTemplate::new(200).set_body_string("<html>secret</html>")).await;
        match garbage {
            Err(EnrichError::Permanent(message)) => {
                assert!(message.starts_with("test api: HTTP 200 answer not understood"));
                assert!(!message.contains("secret"), "{message}");
            }
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient() {
        // Bind then drop a listener: the port is closed for the request.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let result: Result<Answer, _> =
            send_json("test api", http().get(format!("http://127.0.0.1:{port}/x"))).await;
        assert_eq!(
            result,
            Err(EnrichError::Transient("test api: could not connect".into()))
        );
    }

    #[test]
    fn api_base_prefers_the_setting_and_drops_the_trailing_slash() {
        let mut credentials = Credentials::default();
        assert_eq!(
            api_base(&credentials, "https://api.example.com"),
            "https://api.example.com"
        );
        credentials
            .values
            .insert(API_BASE_SETTING.into(), Secret::new("http://127.0.0.1:9/"));
        assert_eq!(
            api_base(&credentials, "https://api.example.com"),
            "http://127.0.0.1:9"
        );
        assert!(
            matches!(required(&credentials, "app_key"), Err(EnrichError::Transient(m)) if m.contains("app_key"))
        );
        assert!(matches!(
            newest_secret(&credentials),
            Err(EnrichError::Transient(_))
        ));
        credentials.secrets = vec![Secret::new("newest"), Secret::new("older")];
        assert_eq!(newest_secret(&credentials), Ok("newest"));
    }
}
