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
    use wiremock::matchers::{method, path};
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
