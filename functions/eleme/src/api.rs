//! The Ele.me API: a client-credentials token, cached, and signed JSON-RPC calls
//! ([`OrderApi::call`]), used by enrichment (`eleme.order.getOrder`, [`OrderApi::fetch_order`])
//! and by order commands (`crate::commands`).
//!
//! Sources: the official PHP SDK 1.87.0 (`qfz9527/eleme-openapi-php-sdk` @
//! `ce01c36936a5075caeb5adfccdb586f8767edfae`: `src/ElemeOpenApi/Protocol/RpcClient.php`,
//! `src/ElemeOpenApi/OAuth/OAuthClient.php`), the Java SDK (`dllen/eleme-openapi-java-sdk` @
//! `8f7ef6c0d9b8c49c7eebcf2f4b4e259303fcaa5d`: `SignatureUtil`, `config/BasicURL.java`), and the
//! official page "API调用协议 签名算法" (copy at http://dianj.com.cn/News/Detail/21195).
//!
//! - Token: `POST {host}/token`, `Authorization: Basic base64(urlencode(app_key):urlencode(secret))`,
//!   form `grant_type=client_credentials` (self-developed apps) → `{"access_token", "token_type",
//!   "expires_in"}`; errors are `{"error", "error_description"}`. Cached until 5 minutes before it
//!   expires, fetched again then or when the API answers `UNAUTHORIZED` (once per call).
//!   A refused grant, or a token refused again after the refresh, is a transient `unauthorized`.
//! - Call: `POST {host}/api/v1`, JSON `{nop: "1.0.0", id, action, token, metas: {app_key,
//!   timestamp (seconds)}, params, signature}`; the answer is `{id, result, error: null |
//!   {code, message}}`; its signature, request id and error codes: [`crate::rpc`].

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::command::{CallFailure, FailureCode};
use o2o_core::settings::Secret;
use o2o_core::{EnrichError, Timestamp};
use o2o_enrich::command::{Answer, send, send_refreshing};
use o2o_enrich::{ApiClient, percent_encode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::order::OOrder;
use crate::rpc::{CallAnswer, request_id};
pub use crate::rpc::{RpcAnswer, RpcError, call_signature, classify_code, shown_code};

/// Ele.me's production host (`api_base` overrides it).
pub const PRODUCTION_HOST: &str = "https://open-api.shop.ele.me";
/// Ele.me's sandbox host (`sandbox = true`).
pub const SANDBOX_HOST: &str = "https://open-api-sandbox.shop.ele.me";
/// The path of the API's calls under the host.
pub const RPC_PATH: &str = "/api/v1";
/// The path of the OAuth token endpoint under the host.
pub const TOKEN_PATH: &str = "/token";
/// The action that reads one order.
pub const GET_ORDER: &str = "eleme.order.getOrder";
/// A cached token is dropped this long before Ele.me says it expires.
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

/// A failure of the API as enrichment reports it: transient or permanent, with its message.
fn enrich_error(failure: CallFailure) -> EnrichError {
    let message = failure.message.unwrap_or_default();
    if failure.transient {
        EnrichError::Transient(message)
    } else {
        EnrichError::Permanent(message)
    }
}

/// The order API of one Ele.me app: its client, its credentials and its token.
pub struct OrderApi {
    client: ApiClient,
    app_key: String,
    secret: Secret,
    // Held across a fetch: concurrent enrichments wait for one token request.
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for OrderApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderApi")
            .field("client", &self.client)
            .field("app_key", &self.app_key)
            .finish_non_exhaustive()
    }
}

impl OrderApi {
    /// The API of the app `app_key`, signing with `secret`.
    pub fn new(client: ApiClient, app_key: String, secret: Secret) -> Self {
        Self {
            client,
            app_key,
            secret,
            token: Mutex::new(None),
        }
    }

    /// A token: the cached one unless `refresh`.
    async fn access_token(&self, refresh: bool) -> Result<Secret, CallFailure> {
        const API: &str = "eleme token";
        let mut cache = self.token.lock().await;
        if !refresh
            && let Some(cached) = cache.as_ref()
            && cached.fresh_until > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let basic = BASE64.encode(format!(
            "{}:{}",
            percent_encode(&self.app_key),
            percent_encode(self.secret.expose())
        ));
        let request = self
            .client
            .http()
            .post(self.client.url(TOKEN_PATH))
            .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body("grant_type=client_credentials");
        let answer = send(API, request).await?;
        let status = answer.status;
        let read = serde_json::from_slice::<TokenAnswer>(&answer.body).ok();
        let token = read
            .as_ref()
            .and_then(|a| a.access_token.clone())
            .filter(|t| !t.is_empty() && status == 200);
        let Some(token) = token else {
            // A refused app key or secret (`{"error": …}`): ops must fix it; the work waits.
            return Err(CallFailure::transient(
                FailureCode::Unauthorized,
                format!("{API}: no token (HTTP {status}): check app_key and the app secret"),
            ));
        };
        let expires_in = read.and_then(|a| a.expires_in).unwrap_or(0);
        let token = Secret::new(token);
        *cache = Some(CachedToken {
            token: token.clone(),
            fresh_until: Instant::now()
                + Duration::from_secs(expires_in).saturating_sub(TOKEN_MARGIN),
        });
        Ok(token)
    }

    /// Calls `action` with `params`, signed with the app's token, which is refreshed and the call
    /// made again once when Ele.me refuses it (`UNAUTHORIZED` or HTTP 401); refused again, a
    /// transient `unauthorized`. No answer, 5xx, 408 and 429 are transient
    /// `platform_unavailable`; every other answer is returned to be read.
    pub async fn call(
        &self,
        action: &str,
        params: &[(&str, Value)],
    ) -> Result<RpcAnswer, CallFailure> {
        let api = format!("eleme {action}");
        let (answer, _) = send_refreshing(&api, refused, |refreshed| async move {
            let token = self.access_token(refreshed).await?;
            let id = request_id();
            let timestamp = Timestamp::now().unix_seconds();
            let mut fields = vec![
                ("app_key", json!(self.app_key)),
                ("timestamp", json!(timestamp)),
            ];
            fields.extend(params.iter().cloned());
            let signature = call_signature(action, token.expose(), &fields, &self.secret);
            let params: Map<String, Value> = params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect();
            let body = json!({
                "nop": "1.0.0",
                "id": id,
                "action": action,
                "token": token.expose(),
                "metas": {"app_key": self.app_key, "timestamp": timestamp},
                "params": params,
                "signature": signature,
            });
            Ok(self
                .client
                .http()
                .post(self.client.url(RPC_PATH))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .header("x-eleme-requestid", &id)
                .body(body.to_string()))
        })
        .await?;
        let reply = read(answer);
        if refused(&reply.answer) {
            // Refused after the refresh.
            return Err(CallFailure::transient(
                FailureCode::Unauthorized,
                format!(
                    "{api}: the token is refused: check app_key, the app secret and the shop's authorisation"
                ),
            )
            .with_platform_code(
                reply
                    .error
                    .as_ref()
                    .and_then(|e| shown_code(&e.code))
                    .unwrap_or("HTTP 401"),
            ));
        }
        Ok(reply)
    }

    /// Fetches one order with `eleme.order.getOrder`.
    pub async fn fetch_order(&self, order_id: &str) -> Result<OOrder, EnrichError> {
        const API: &str = "eleme eleme.order.getOrder";
        let reply = self
            .call(GET_ORDER, &[("orderId", json!(order_id))])
            .await
            .map_err(enrich_error)?;
        if let Some(error) = &reply.error {
            return Err(classify(API, &error.code));
        }
        let status = reply.answer.status;
        if !reply.readable || status != 200 {
            return Err(EnrichError::Permanent(format!(
                "{API}: unexpected answer (HTTP {status})"
            )));
        }
        let result = reply
            .result
            .ok_or_else(|| EnrichError::Permanent(format!("{API}: the order does not exist")))?;
        let order: OOrder = serde_json::from_str(result.get()).map_err(|e| {
            EnrichError::Permanent(format!(
                "{API}: answer not understood ({})",
                o2o_core::connector::NormaliseError::from(e)
            ))
        })?;
        if order.external_id() != Some(order_id) {
            return Err(EnrichError::Permanent(format!(
                "{API}: answered for another order"
            )));
        }
        Ok(order)
    }
}

/// Sorts an API error code for enrichment ([`classify_code`]); the message names the code only
/// when it looks like one, never Ele.me's text.
fn classify(api: &str, code: &str) -> EnrichError {
    let shown = shown_code(code).unwrap_or("unrecognised");
    let message = format!("{api}: error {shown}");
    if classify_code(code).1 {
        EnrichError::Transient(message)
    } else {
        EnrichError::Permanent(message)
    }
}

/// Whether Ele.me refused the token: HTTP 401, or the protocol's `UNAUTHORIZED` error.
fn refused(answer: &Answer) -> bool {
    answer.status == 401
        || serde_json::from_slice::<CallAnswer>(&answer.body)
            .ok()
            .and_then(|read| read.error)
            .is_some_and(|e| e.code.as_deref() == Some("UNAUTHORIZED"))
}

/// The protocol's `{id, result, error}` read from `answer`, where it is that.
fn read(answer: Answer) -> RpcAnswer {
    let read = serde_json::from_slice::<CallAnswer>(&answer.body).ok();
    let readable = read.is_some();
    let (result, error) = match read {
        Some(read) => (
            read.result.filter(|r| r.get() != "null"),
            read.error.map(|e| RpcError {
                code: e.code.unwrap_or_default(),
                message: e.message,
            }),
        ),
        None => (None, None),
    };
    RpcAnswer {
        answer,
        readable,
        result,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_sorted_and_only_named_when_they_look_like_codes() {
        assert!(matches!(
            classify("x", "SERVER_ERROR"),
            EnrichError::Transient(_)
        ));
        assert!(matches!(
            classify("x", "EXCEED_LIMIT"),
            EnrichError::Transient(_)
        ));
        assert_eq!(
            classify("x", "BIZ_ORDER_NOT_FOUND"),
            EnrichError::Permanent("x: error BIZ_ORDER_NOT_FOUND".into())
        );
        assert_eq!(
            classify("x", "13800138000 张三"),
            EnrichError::Permanent("x: error unrecognised".into())
        );
    }
}
