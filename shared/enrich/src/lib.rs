//! o2o-enrich: the HTTP side of enrichment, shared by the thin-webhook connectors (WeChat
//! Channels shop, Douyin shop, TikTok Shop).
//!
//! One pooled [`reqwest`] client per connector instance ([`ApiClient`], from the shared
//! [`ApiSettings`]) with bounded timeouts, and one way to read a platform's JSON
//! answer that sorts failures the way the enrichment worker needs them: worth retrying
//! ([`EnrichError::Transient`]: timeouts, connection failures, 5xx, throttling, credentials the
//! platform refuses) or not ([`EnrichError::Permanent`]: an answer we cannot read). Whether an
//! order "does not exist" is in each platform's own error codes, so each connector decides that.
//!
//! [`command`] does the same for order commands (accept, reject, fulfil …).
//!
//! Error messages name the API and the failure, never a response body or a credential.

pub mod command;

use std::sync::OnceLock;
use std::time::Duration;

use o2o_core::EnrichError;
use o2o_core::settings::SettingsError;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Connect timeout for platform APIs.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-request timeout for platform APIs, unless `api_timeout_ms` says otherwise; a slower
/// answer is a transient failure.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings every enriching connector shares; `#[serde(flatten)]` them into its own.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ApiSettings {
    /// The platform API's base URL (default: the platform's production host); a sandbox, a
    /// proxy, or a local mock in tests.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Timeout of each platform-API request in milliseconds (default 10000).
    #[serde(default)]
    pub api_timeout_ms: Option<u64>,
}

/// One platform API as a connector instance calls it: its base URL and a pooled HTTP client
/// with bounded timeouts. The settings are checked at start-up; the client itself is built on
/// the first call (building one loads the TLS roots, ~30 ms in a debug build), so a Lambda cold
/// start that only answers webhooks never pays for it.
#[derive(Debug)]
pub struct ApiClient {
    base: String,
    timeout: Duration,
    http: OnceLock<reqwest::Client>,
}

impl ApiClient {
    /// The client for `settings`, defaulting to `default_base`. A base URL that is not an
    /// `http(s)` URL, or a zero timeout, is a settings error.
    pub fn new(settings: &ApiSettings, default_base: &str) -> Result<Self, SettingsError> {
        let base = settings
            .api_base
            .as_deref()
            .unwrap_or(default_base)
            .trim_end_matches('/');
        let url = reqwest::Url::parse(base)
            .map_err(|_| SettingsError::setting("api_base", "not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SettingsError::setting("api_base", "not an http(s) URL"));
        }
        let timeout = match settings.api_timeout_ms {
            Some(0) => return Err(SettingsError::setting("api_timeout_ms", "must be above 0")),
            Some(ms) => Duration::from_millis(ms),
            None => REQUEST_TIMEOUT,
        };
        Ok(Self {
            base: base.to_owned(),
            timeout,
            http: OnceLock::new(),
        })
    }

    /// The base URL followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The pooled HTTP client, built on first use.
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            // No redirects: platform APIs answer where they are asked, and following one would
            // turn a command's POST into a GET (or send it to another host).
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(CONNECT_TIMEOUT.min(self.timeout))
                .timeout(self.timeout)
                .user_agent(concat!("o2o-connectors/", env!("CARGO_PKG_VERSION")))
                .build()
                // Building fails only if the TLS backend cannot initialise; a default client
                // then still works for plain HTTP and reports the TLS failure per request.
                .unwrap_or_default()
        })
    }
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

/// The transient error of a request that got no answer: timed out, could not connect, or failed
/// on the way (named without the URL, which may carry a token).
pub fn transport(api: &str, e: &reqwest::Error) -> EnrichError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    EnrichError::Transient(format!("{api}: {kind}"))
}

/// Percent-encodes a query value, a form value or a path segment (`o2o_core`'s, re-exported
/// for the connectors that call APIs).
pub use o2o_core::request::percent_encode;

#[cfg(test)]
mod tests {
    use super::*;
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
        let api = ApiClient::new(&ApiSettings::default(), &server.uri()).expect("client");
        send_json("test api", api.http().get(api.url("/x"))).await
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
        let api = ApiClient::new(&ApiSettings::default(), &format!("http://127.0.0.1:{port}"))
            .expect("client");
        let result: Result<Answer, _> = send_json("test api", api.http().get(api.url("/x"))).await;
        assert_eq!(
            result,
            Err(EnrichError::Transient("test api: could not connect".into()))
        );
    }

    #[test]
    fn the_base_url_comes_from_the_settings_and_bad_ones_stop_start_up() {
        let default =
            ApiClient::new(&ApiSettings::default(), "https://api.example.com/").expect("client");
        assert_eq!(default.url("/o"), "https://api.example.com/o");
        let settings = ApiSettings {
            api_base: Some("http://127.0.0.1:9/".into()),
            api_timeout_ms: Some(250),
        };
        let local = ApiClient::new(&settings, "https://api.example.com").expect("client");
        assert_eq!(local.url("/o"), "http://127.0.0.1:9/o");
        let not_url = ApiSettings {
            api_base: Some("api.example.com".into()),
            ..ApiSettings::default()
        };
        let err = ApiClient::new(&not_url, "https://x").expect_err("no scheme");
        assert_eq!(err.to_string(), "api_base: not a URL");
        let zero = ApiSettings {
            api_timeout_ms: Some(0),
            ..ApiSettings::default()
        };
        let err = ApiClient::new(&zero, "https://x").expect_err("zero");
        assert_eq!(err.to_string(), "api_timeout_ms: must be above 0");
    }
}
