//! The Deliveroo Order API as order commands call it: a client-credentials token, cached per
//! instance, and one authorised JSON call that refreshes a refused token once.
//!
//! - Token (api-docs.deliveroo.com `docs/authentication`): `POST {auth_base}/oauth2/token` with
//!   `Authorization: Basic base64(client_id:client_secret)`, `Content-Type:
//!   application/x-www-form-urlencoded` and the form `grant_type=client_credentials` →
//!   `{"access_token", "expires_in": 300, "token_type": "Bearer"}`. "You must create a new
//!   access_token when the current one expires": there is no refresh token. One token is cached
//!   per connector instance until [`TOKEN_MARGIN`] before it expires, and fetched again when it
//!   expires or the API answers 401.
//! - Hosts (`docs/api-and-webhooks`): API `https://api.developers.deliveroo.com` (sandbox
//!   `https://api-sandbox.developers.deliveroo.com`), OAuth `https://auth.developers.deliveroo.com`
//!   (sandbox `https://auth-sandbox.developers.deliveroo.com`).
//! - Calls carry `Authorization: Bearer <access_token>` and a JSON body.

use std::time::{Duration, Instant};

use o2o_core::command::{CallFailure, FailureCode};
use o2o_core::settings::{Identifier, Secret};
use o2o_enrich::ApiClient;
use o2o_enrich::command::{Answer, send, send_refreshing};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

/// Deliveroo's API host (override with `api_base`).
pub const DEFAULT_API_BASE: &str = "https://api.developers.deliveroo.com";
/// Deliveroo's OAuth host (override with `auth_base`).
pub const DEFAULT_AUTH_BASE: &str = "https://auth.developers.deliveroo.com";
/// A cached token is dropped this long before Deliveroo says it expires (its tokens last 300 s).
pub const TOKEN_MARGIN: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct CachedToken {
    token: Secret,
    fresh_until: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// The Order API of one Deliveroo integration: its clients, its credentials (optional: an
/// instance that only takes webhooks has none) and its token.
#[derive(Debug)]
pub struct OrderApi {
    api: ApiClient,
    auth: ApiClient,
    client_id: Option<Identifier>,
    client_secret: Option<Secret>,
    // Held across a fetch: concurrent commands wait for one token request.
    token: Mutex<Option<CachedToken>>,
}

impl OrderApi {
    /// The API of the integration `client_id`, if it has one.
    pub fn new(
        api: ApiClient,
        auth: ApiClient,
        client_id: Option<Identifier>,
        client_secret: Option<Secret>,
    ) -> Self {
        Self {
            api,
            auth,
            client_id: client_id.filter(|id| !id.as_str().trim().is_empty()),
            client_secret,
            token: Mutex::new(None),
        }
    }

    /// The credentials, or a permanent `unauthorized` naming the settings that are missing.
    fn credentials(&self) -> Result<(&str, &Secret), CallFailure> {
        match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => Ok((id.as_str(), secret)),
            (id, secret) => {
                let missing: Vec<&str> = [
                    ("client_id", id.is_none()),
                    ("client_secret", secret.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                Err(CallFailure::permanent(
                    FailureCode::Unauthorized,
                    format!(
                        "deliveroo: order commands need the API credentials; set {} in the channel's settings",
                        missing.join(" and ")
                    ),
                ))
            }
        }
    }

    /// A token: the cached one unless `refresh`.
    async fn access_token(&self, refresh: bool) -> Result<Secret, CallFailure> {
        const API: &str = "deliveroo token";
        let (client_id, client_secret) = self.credentials()?;
        let mut cache = self.token.lock().await;
        if !refresh
            && let Some(cached) = cache.as_ref()
            && cached.fresh_until > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let request = self
            .auth
            .http()
            .post(self.auth.url("/oauth2/token"))
            .basic_auth(client_id, Some(client_secret.expose()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body("grant_type=client_credentials");
        let answer = send(API, request).await?;
        if !answer.is_success() {
            // A wrong client id or secret, or a disabled integration: ops must fix it; the
            // command waits (transient) and is redriven.
            let (code, _) = platform_error(&answer.body);
            return Err(CallFailure {
                code: FailureCode::Unauthorized,
                transient: true,
                platform_code: Some(code.unwrap_or_else(|| format!("HTTP {}", answer.status))),
                message: Some(format!(
                    "{API}: the client credentials are refused (HTTP {}): check client_id and client_secret",
                    answer.status
                )),
            });
        }
        let token: TokenAnswer = answer.json()?;
        let token = token_of(token)?;
        *cache = Some(CachedToken {
            token: token.0.clone(),
            fresh_until: Instant::now() + token.1,
        });
        Ok(token.0)
    }

    /// Sends `body` as JSON with `method` to `path` of the API, with a token; a 401 refreshes
    /// the token and sends once more, and a second 401 is a transient `unauthorized`. Every other
    /// answer is the caller's to read; transport failures, 408, 429 and 5xx are transient.
    pub async fn call<B: Serialize>(
        &self,
        api: &str,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<Answer, CallFailure> {
        let body = serde_json::to_vec(body).map_err(|_| {
            CallFailure::permanent(
                FailureCode::InvalidCommand,
                format!("{api}: body not built"),
            )
        })?;
        let url = self.api.url(path);
        let (method, url, body) = (&method, &url, &body);
        let (answer, _) = send_refreshing(
            api,
            |answer| answer.status == 401,
            |refreshed| async move {
                let token = self.access_token(refreshed).await?;
                Ok(self
                    .api
                    .http()
                    .request(method.clone(), url)
                    .bearer_auth(token.expose())
                    .header(CONTENT_TYPE, "application/json")
                    .header(ACCEPT, "application/json")
                    .body(body.clone()))
            },
        )
        .await?;
        if answer.status == 401 {
            // Refused after the refresh.
            let (code, _) = platform_error(&answer.body);
            return Err(CallFailure {
                code: FailureCode::Unauthorized,
                transient: true,
                platform_code: Some(code.unwrap_or_else(|| "HTTP 401".to_owned())),
                message: Some(format!(
                    "{api}: a fresh token is refused too (HTTP 401): check that the integration is enabled for the Order API"
                )),
            });
        }
        Ok(answer)
    }
}

/// The token and how long to keep it.
fn token_of(answer: TokenAnswer) -> Result<(Secret, Duration), CallFailure> {
    let token = answer
        .access_token
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            CallFailure::permanent(FailureCode::BadAnswer, "deliveroo token: no access_token")
        })?;
    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(0)).saturating_sub(TOKEN_MARGIN);
    Ok((Secret::new(token), lifetime))
}

/// An order id as a path segment: percent-encoded, except `:` (Deliveroo's ids are
/// `{market}:{order_uuid}`, and its examples show the colon as is; RFC 3986 allows it in a path).
pub fn order_segment(order_id: &str) -> String {
    let mut out = String::with_capacity(order_id.len());
    for byte in order_id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Deliveroo's error code and message from an error body: `{"error": {"code", "message"}}` (the
/// shape its Site and Signature APIs document), `{"code", "message"}`, or OAuth's `{"error",
/// "error_description"}`; `None` where the body has none (the Order API documents no shape).
pub fn platform_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let text = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let nested = value.get("error");
    let code = text(nested.and_then(|e| e.get("code")))
        .or_else(|| text(value.get("code")))
        .or_else(|| text(nested));
    let message = text(nested.and_then(|e| e.get("message")))
        .or_else(|| text(value.get("message")))
        .or_else(|| text(value.get("error_description")));
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_keep_their_colon_and_nothing_else_escapes_the_segment() {
        assert_eq!(
            order_segment("gb:ec75c356-65f8-4bc6-8b0b-76abfa991fbf"),
            "gb:ec75c356-65f8-4bc6-8b0b-76abfa991fbf"
        );
        assert_eq!(order_segment("../x?y#z"), "..%2Fx%3Fy%23z");
    }

    #[test]
    fn a_token_is_kept_until_shortly_before_it_expires() {
        let answer = TokenAnswer {
            access_token: Some("t".into()),
            expires_in: Some(300),
        };
        let (_, lifetime) = token_of(answer).expect("a token");
        assert_eq!(lifetime, Duration::from_secs(270));
        let short = TokenAnswer {
            access_token: Some("t".into()),
            expires_in: None,
        };
        assert_eq!(token_of(short).expect("a token").1, Duration::ZERO);
        let none = TokenAnswer {
            access_token: Some(String::new()),
            expires_in: Some(300),
        };
        assert_eq!(
            token_of(none).map(|_| ()).map_err(|e| e.code),
            Err(FailureCode::BadAnswer)
        );
    }
}
