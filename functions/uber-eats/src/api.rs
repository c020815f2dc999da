//! The Uber Eats API calls of enrichment: a client-credentials token, cached, and the order. The
//! order commands ([`crate::commands`]) use the same token.
//!
//! - Token (developer.uber.com `docs/eats/guides/authentication`): `POST {auth_base}/oauth/v2/token`
//!   with the form `client_id`, `client_secret`, `grant_type=client_credentials`, `scope` →
//!   `{"access_token", "expires_in": 2592000, "token_type": "Bearer", "scope"}`. Tokens last 30
//!   days; "Client credentials grant type requests are limited to 100 requests per hour", and the
//!   101st token invalidates the oldest: "Cache and reuse tokens until expiration". One token is
//!   cached per connector instance until 5 minutes before it expires, and is fetched again only
//!   when it expires or the order API answers 401.
//! - Order (`docs/eats/references/api/v2/get-eats-order-orderid`): `GET {api_base}/v2/eats/order/{id}`
//!   with `Authorization: Bearer <token>` (scope `eats.order` or `eats.store.orders.read`).
//!   200: the order. 404: no such order (permanent). 401: the token is refused (refreshed once,
//!   then transient, for ops to fix). 408, 429, 5xx and transport failures: transient.

use std::time::{Duration, Instant};

use o2o_core::EnrichError;
use o2o_core::command::{CallFailure, FailureCode};
use o2o_core::settings::Secret;
use o2o_enrich::{ApiClient, percent_encode, transport};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::order::OrderV2;

/// Uber's API host (override with `api_base`).
pub const DEFAULT_API_BASE: &str = "https://api.uber.com";
/// Uber's OAuth host (override with `auth_base`).
pub const DEFAULT_AUTH_BASE: &str = "https://auth.uber.com";
/// A cached token is dropped this long before Uber says it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(300);

struct CachedToken {
    token: Secret,
    fresh_until: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// The order API of one Uber Eats app: its clients, its OAuth credentials and its token.
pub struct OrderApi {
    /// The API host.
    pub api: ApiClient,
    /// The OAuth host.
    pub auth: ApiClient,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: Secret,
    /// The scopes asked for, space-separated.
    pub scope: String,
    // Held across a fetch: concurrent enrichments wait for one token request.
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for OrderApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderApi")
            .field("api", &self.api)
            .field("auth", &self.auth)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl OrderApi {
    /// The API of the app `client_id`.
    pub fn new(
        api: ApiClient,
        auth: ApiClient,
        client_id: String,
        client_secret: Secret,
        scope: String,
    ) -> Self {
        Self {
            api,
            auth,
            client_id,
            client_secret,
            scope,
            token: Mutex::new(None),
        }
    }

    /// A token: the cached one unless `refresh` (after the API refused it). Order commands share
    /// it with enrichment: one token per app, as Uber asks.
    pub(crate) async fn access_token(&self, refresh: bool) -> Result<Secret, TokenError> {
        const API: &str = "uber-eats token";
        let mut cache = self.token.lock().await;
        if !refresh
            && let Some(cached) = cache.as_ref()
            && cached.fresh_until > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let form = form_encode(&[
            ("client_id", &self.client_id),
            ("client_secret", self.client_secret.expose()),
            ("grant_type", "client_credentials"),
            ("scope", &self.scope),
        ]);
        let request = self
            .auth
            .http()
            .post(self.auth.url("/oauth/v2/token"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        let (status, answer) = send::<TokenAnswer>(API, request)
            .await
            .map_err(|e| match e {
                EnrichError::Transient(message) => TokenError::Unavailable(message),
                EnrichError::Permanent(message) => TokenError::Unreadable(message),
            })?;
        let answer = match status {
            200 => answer.ok_or_else(|| TokenError::Unreadable(unexpected(API, status)))?,
            // A bad client id, secret or scope: ops must fix it; the delivery waits.
            400 | 401 | 403 => {
                return Err(TokenError::Refused(format!(
                    "{API}: credentials or scope refused (HTTP {status})"
                )));
            }
            _ => return Err(TokenError::Unreadable(unexpected(API, status))),
        };
        let token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| TokenError::Refused(format!("{API}: no token in the answer")))?;
        let lifetime =
            Duration::from_secs(answer.expires_in.unwrap_or(0)).saturating_sub(TOKEN_MARGIN);
        let token = Secret::new(token);
        *cache = Some(CachedToken {
            token: token.clone(),
            fresh_until: Instant::now() + lifetime,
        });
        Ok(token)
    }

    /// Fetches one order.
    pub async fn fetch_order(&self, order_id: &str) -> Result<OrderV2, EnrichError> {
        const API: &str = "uber-eats order";
        let url = self
            .api
            .url(&format!("/v2/eats/order/{}", percent_encode(order_id)));
        let mut refreshed = false;
        loop {
            let token = self
                .access_token(refreshed)
                .await
                .map_err(EnrichError::from)?;
            let request = self
                .api
                .http()
                .get(&url)
                .bearer_auth(token.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            let (status, answer) = send::<OrderV2>(API, request).await?;
            match status {
                200 => {
                    let order = answer.ok_or_else(|| unreadable(API, status))?;
                    if order.id != order_id {
                        return Err(EnrichError::Permanent(format!(
                            "{API}: answered for another order"
                        )));
                    }
                    return Ok(order);
                }
                401 if !refreshed => refreshed = true,
                401 | 403 => {
                    return Err(EnrichError::Transient(format!(
                        "{API}: the token is refused (HTTP {status}): check the client credentials and scopes"
                    )));
                }
                404 => {
                    return Err(EnrichError::Permanent(format!(
                        "{API}: the order does not exist (HTTP 404)"
                    )));
                }
                _ => return Err(unreadable(API, status)),
            }
        }
    }
}

/// Sends `request`: its status, and its JSON body as `T` when the status is 200. Transport
/// failures, 408, 429 and 5xx are transient here; other statuses are for the caller.
async fn send<T: DeserializeOwned>(
    api: &str,
    request: reqwest::RequestBuilder,
) -> Result<(u16, Option<T>), EnrichError> {
    let response = request.send().await.map_err(|e| transport(api, &e))?;
    let status = response.status().as_u16();
    if status >= 500 || matches!(status, 408 | 429) {
        return Err(EnrichError::Transient(format!("{api}: HTTP {status}")));
    }
    if status != 200 {
        return Ok((status, None));
    }
    let bytes = response.bytes().await.map_err(|e| transport(api, &e))?;
    let value = serde_json::from_slice(&bytes).map_err(|e| {
        EnrichError::Permanent(format!(
            "{api}: answer not understood ({})",
            o2o_core::connector::NormaliseError::from(e)
        ))
    })?;
    Ok((status, Some(value)))
}

fn unreadable(api: &str, status: u16) -> EnrichError {
    EnrichError::Permanent(unexpected(api, status))
}

fn unexpected(api: &str, status: u16) -> String {
    format!("{api}: unexpected answer (HTTP {status})")
}

/// Why no token could be had: the grant's answer, sorted for enrichment and for commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// No answer, 408, 429 or 5xx: worth trying again soon.
    Unavailable(String),
    /// The grant was refused (a bad client id, secret or scope) or gave no token: ops must fix
    /// the credentials.
    Refused(String),
    /// An answer that cannot be read.
    Unreadable(String),
}

impl From<TokenError> for EnrichError {
    /// Enrichment waits for an unavailable host or refused credentials (transient: the delivery
    /// is redelivered) and quarantines what it cannot read.
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Unavailable(message) | TokenError::Refused(message) => {
                EnrichError::Transient(message)
            }
            TokenError::Unreadable(message) => EnrichError::Permanent(message),
        }
    }
}

impl From<TokenError> for CallFailure {
    /// A command: `platform_unavailable` or `unauthorized` (both transient, retried with backoff
    /// and then redriven once ops fixed them), or `bad_answer`.
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Unavailable(message) => {
                CallFailure::transient(FailureCode::PlatformUnavailable, message)
            }
            TokenError::Refused(message) => {
                CallFailure::transient(FailureCode::Unauthorized, message)
            }
            TokenError::Unreadable(message) => {
                CallFailure::permanent(FailureCode::BadAnswer, message)
            }
        }
    }
}

/// `application/x-www-form-urlencoded`, each value percent-encoded.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_form_values_and_path_segments() {
        assert_eq!(
            form_encode(&[("scope", "eats.order eats.store"), ("a", "b/c+d")]),
            "scope=eats.order%20eats.store&a=b%2Fc%2Bd"
        );
        assert_eq!(percent_encode("../x?y"), "..%2Fx%3Fy");
    }
}
