//! The HTTP side of order commands: one call to a platform's API, its answer sorted the way the
//! commands consumer needs it.
//!
//! [`send`] returns every answer the platform gave (2xx or 4xx) as an [`Answer`], so the
//! connector can read the platform's own error code from the body; what no answer can fix is a
//! transient [`CallFailure`] at once: no answer (timeout, connection), 408, 429 and 5xx.
//! [`Answer::failure`] then sorts a 4xx the usual way, for connectors whose platform adds no
//! detail the status does not say. Messages name the API and the failure, never a credential
//! or a URL (which may carry one).

use o2o_core::command::{CallFailure, FailureCode};
use serde::de::DeserializeOwned;

/// A platform's answer that is not a transient failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The API's name, for messages (`uber-eats accept_pos_order`).
    pub api: String,
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// Sends `request` for the API named `api`.
pub async fn send(api: &str, request: reqwest::RequestBuilder) -> Result<Answer, CallFailure> {
    let response = request.send().await.map_err(|e| unreachable(api, &e))?;
    let status = response.status().as_u16();
    if status >= 500 || matches!(status, 408 | 429) {
        return Err(CallFailure::transient(
            FailureCode::PlatformUnavailable,
            format!("{api}: HTTP {status}"),
        )
        .with_platform_code(format!("HTTP {status}")));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| unreachable(api, &e))?
        .to_vec();
    Ok(Answer {
        api: api.to_owned(),
        status,
        body,
    })
}

/// Sends the request `request` builds for the API named `api`, and once more when the platform
/// refuses the credentials: `request(false)` builds the first request (with the current token);
/// when `refused` says its answer is a refusal, `request(true)` builds a second one (with a
/// refreshed token, or a newly minted one) and its answer is returned, whatever it is. At most
/// two calls, the second only after a refusal; a failure of [`send`] (no answer, 408, 429, 5xx)
/// or of `request` is returned at once.
///
/// `refused` is usually `|answer| answer.status == 401`; a connector that cannot refresh its
/// token says `false`, and one whose platform refuses in the body says so too. The answer comes
/// with whether the request was made again: a refused answer with `true` was refused after a
/// refresh, which each connector reports its own way.
pub async fn send_refreshing<R, F, Fut>(
    api: &str,
    refused: R,
    mut request: F,
) -> Result<(Answer, bool), CallFailure>
where
    R: Fn(&Answer) -> bool,
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = Result<reqwest::RequestBuilder, CallFailure>>,
{
    let answer = send(api, request(false).await?).await?;
    if !refused(&answer) {
        return Ok((answer, false));
    }
    let answer = send(api, request(true).await?).await?;
    Ok((answer, true))
}

/// The transient failure of a request that got no answer.
pub fn unreachable(api: &str, e: &reqwest::Error) -> CallFailure {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    CallFailure::transient(FailureCode::PlatformUnavailable, format!("{api}: {kind}"))
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body read as `T`; a body that is not `T` is `bad_answer`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CallFailure> {
        serde_json::from_slice(&self.body).map_err(|e| {
            CallFailure::permanent(
                FailureCode::BadAnswer,
                format!(
                    "{}: HTTP {} answer not understood ({})",
                    self.api,
                    self.status,
                    o2o_core::NormaliseError::from(e)
                ),
            )
        })
    }

    /// A non-2xx answer by its status alone: 401 and 403 `unauthorized` (transient: ops fix the
    /// credentials, then the command is redriven), 404 and 410 `not_found`, any other 4xx
    /// `rejected`. `platform_code` and `message` are the platform's, where the connector read them.
    pub fn failure(&self, platform_code: Option<String>, message: Option<String>) -> CallFailure {
        let (code, transient) = match self.status {
            401 | 403 => (FailureCode::Unauthorized, true),
            404 | 410 => (FailureCode::NotFound, false),
            _ => (FailureCode::Rejected, false),
        };
        CallFailure {
            code,
            transient,
            platform_code: platform_code.or_else(|| Some(format!("HTTP {}", self.status))),
            message: message.or_else(|| Some(format!("{}: HTTP {}", self.api, self.status))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ApiClient, ApiSettings};
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn call(template: ResponseTemplate) -> Result<Answer, CallFailure> {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/accept"))
            .respond_with(template)
            .mount(&server)
            .await;
        let api = ApiClient::new(&ApiSettings::default(), &server.uri()).expect("client");
        send("test accept", api.http().post(api.url("/accept"))).await
    }

    #[tokio::test]
    async fn sorts_answers_into_answers_and_transient_failures() {
        let ok = call(ResponseTemplate::new(204)).await.expect("answer");
        assert!(ok.is_success());
        for status in [500, 502, 503, 408, 429] {
            let failure = call(ResponseTemplate::new(status))
                .await
                .expect_err("transient");
            assert!(failure.transient, "{status}");
            assert_eq!(failure.code, FailureCode::PlatformUnavailable);
        }
        let expectations = [
            (401, FailureCode::Unauthorized, true),
            (403, FailureCode::Unauthorized, true),
            (404, FailureCode::NotFound, false),
            (409, FailureCode::Rejected, false),
            (422, FailureCode::Rejected, false),
        ];
        for (status, code, transient) in expectations {
            let answer = call(ResponseTemplate::new(status).set_body_string(r#"{"code":"x"}"#))
                .await
                .expect("an answer");
            assert!(!answer.is_success());
            let failure = answer.failure(Some("x".into()), None);
            assert_eq!(
                (failure.code, failure.transient),
                (code, transient),
                "{status}"
            );
            assert_eq!(failure.platform_code.as_deref(), Some("x"));
        }
        // A redirect is not followed (it would turn the POST into a GET elsewhere).
        let moved = call(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
            .await
            .expect("an answer");
        assert_eq!(moved.status, 302);
        assert_eq!(moved.failure(None, None).code, FailureCode::Rejected);
        let garbage = call(ResponseTemplate::new(200).set_body_string("<html>"))
            .await
            .expect("answer");
        let failure = garbage.json::<serde_json::Value>().expect_err("not json");
        assert_eq!(failure.code, FailureCode::BadAnswer);
    }

    /// Calls a server that answers `first` to the first token and `second` to the refreshed one
    /// (each expected at most once, exactly once when given), with `refused`; returns the result
    /// and the `refreshed` flags the requests were built with.
    async fn refreshing(
        first: u16,
        second: Option<u16>,
        refused: impl Fn(&Answer) -> bool,
    ) -> (Result<(Answer, bool), CallFailure>, Vec<bool>) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/accept"))
            .and(header("authorization", "Bearer first"))
            .respond_with(ResponseTemplate::new(first))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/accept"))
            .and(header("authorization", "Bearer refreshed"))
            .respond_with(ResponseTemplate::new(second.unwrap_or(200)))
            .expect(u64::from(second.is_some()))
            .mount(&server)
            .await;
        let api = ApiClient::new(&ApiSettings::default(), &server.uri()).expect("client");
        let mut built = Vec::new();
        let api = &api;
        let result = send_refreshing("test accept", refused, |refreshed| {
            built.push(refreshed);
            let token = if refreshed { "refreshed" } else { "first" };
            async move { Ok(api.http().post(api.url("/accept")).bearer_auth(token)) }
        })
        .await;
        server.verify().await;
        (result, built)
    }

    #[tokio::test]
    async fn a_refused_token_is_refreshed_once() {
        let is_401 = |answer: &Answer| answer.status == 401;
        let (result, built) = refreshing(401, Some(200), is_401).await;
        let (answer, refreshed) = result.expect("answer");
        assert_eq!((answer.status, refreshed), (200, true));
        assert_eq!(built, [false, true]);

        let (result, built) = refreshing(401, Some(401), is_401).await;
        let (answer, refreshed) = result.expect("answer");
        assert_eq!((answer.status, refreshed), (401, true));
        assert_eq!(built, [false, true]);

        let (result, built) = refreshing(500, None, is_401).await;
        let failure = result.expect_err("transient");
        assert!(failure.transient);
        assert_eq!(failure.code, FailureCode::PlatformUnavailable);
        assert_eq!(built, [false]);

        for status in [200, 403, 404] {
            let (result, built) = refreshing(status, None, is_401).await;
            let (answer, refreshed) = result.expect("answer");
            assert_eq!((answer.status, refreshed), (status, false));
            assert_eq!(built, [false]);
        }

        // A token that cannot be refreshed: its 401 is returned at once.
        let (result, built) = refreshing(401, None, |_| false).await;
        let (answer, refreshed) = result.expect("answer");
        assert_eq!((answer.status, refreshed), (401, false));
        assert_eq!(built, [false]);
    }

    #[tokio::test]
    async fn a_token_that_cannot_be_had_is_the_failure() {
        let failure = send_refreshing(
            "test accept",
            |_| true,
            |_| async {
                Err::<reqwest::RequestBuilder, _>(CallFailure::transient(
                    FailureCode::Unauthorized,
                    "no token",
                ))
            },
        )
        .await
        .expect_err("no token");
        assert_eq!(failure.message.as_deref(), Some("no token"));
    }

    #[tokio::test]
    async fn no_answer_is_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let api = ApiClient::new(&ApiSettings::default(), &format!("http://127.0.0.1:{port}"))
            .expect("client");
        let failure = send("test accept", api.http().post(api.url("/accept")))
            .await
            .expect_err("refused");
        assert!(failure.transient);
        assert_eq!(
            failure.message.as_deref(),
            Some("test accept: could not connect")
        );
    }
}
