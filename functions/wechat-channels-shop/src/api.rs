//! The platform API calls of enrichment: a stable access token, cached per app, and the order
//! detail.
//!
//! - Token: `POST {api_base}/cgi-bin/stable_token` with
//!   `{"grant_type":"client_credential","appid","secret","force_refresh"}` →
//!   `{"access_token","expires_in"}`
//!   (<https://developers.weixin.qq.com/doc/channels/api/basic/api_getstableaccesstoken.md>;
//!   "普通模式下平台会提前5分钟更新access_token", expires_in ≥ 300). Cached until 5 minutes
//!   before it expires; a forced refresh is limited to 20 a day, so it is used only when the
//!   order API refuses the cached token.
//! - Order: `POST {api_base}/channels/ec/order/get?access_token=…` with `{"order_id":"…"}`
//!   (string) (<https://developers.weixin.qq.com/doc/store/shop/API/channels-shop-order/api_getorder.md>).
//! - Error codes (<https://developers.weixin.qq.com/doc/channels/API/basics/commErrCode.html>):
//!   `-1` system busy, `45009`/`45011` quota, `40001`/`42001` invalid/expired token (plus
//!   `40014` invalid token); `100002` "Not exist" for an unknown order is [C-2] (WeChat
//!   developer community answers), not in the official table.

use std::time::{Duration, Instant};

use o2o_core::EnrichError;
use o2o_core::settings::Secret;
use o2o_enrich::{ApiClient, percent_encode, send_json};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::order::OrderDetail;

/// The platform's API base URL (override with the `api_base` setting).
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// A cached token is dropped this long before WeChat says it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(300);

/// Access-token errors: the token is invalid (`40001`), not the latest (`40014`) or expired
/// (`42001`). The call is retried once with a forcibly refreshed token.
const TOKEN_REFUSED: [i64; 3] = [40001, 40014, 42001];
/// Worth retrying later: system busy, quotas.
const BUSY: [i64; 3] = [-1, 45009, 45011];
/// Configuration the operator must fix (bad app id or secret, missing permission, IP
/// allow-list); transient like the 401/403 of `o2o_enrich::send_json`, so the message waits in
/// the queue or its dead-letter queue until credentials are fixed.
const CONFIGURATION: [i64; 7] = [40013, 40125, 40164, 41001, 48001, 61004, 45035];
/// The order does not exist ([C-2]).
const ORDER_NOT_FOUND: i64 = 100_002;

struct CachedToken {
    token: String,
    fresh_until: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    errcode: i64,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OrderAnswer {
    #[serde(default)]
    errcode: i64,
    order: Option<OrderDetail>,
}

fn classify(api: &str, errcode: i64) -> EnrichError {
    if BUSY.contains(&errcode) {
        EnrichError::Transient(format!("{api}: busy or throttled (errcode {errcode})"))
    } else if CONFIGURATION.contains(&errcode) || TOKEN_REFUSED.contains(&errcode) {
        EnrichError::Transient(format!(
            "{api}: credentials or permissions refused (errcode {errcode})"
        ))
    } else {
        EnrichError::Permanent(format!("{api}: refused (errcode {errcode})"))
    }
}

/// The order API of one shop: its client, its AppID and AppSecret, and its access token,
/// cached until 5 minutes before it expires.
pub struct OrderApi {
    client: ApiClient,
    app_id: String,
    app_secret: Secret,
    // Held across a fetch: concurrent enrichments wait for one token request.
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for OrderApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderApi")
            .field("client", &self.client)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl OrderApi {
    /// The API for the shop `app_id` with `app_secret`, through `client`.
    pub fn new(client: ApiClient, app_id: String, app_secret: Secret) -> Self {
        Self {
            client,
            app_id,
            app_secret,
            token: Mutex::new(None),
        }
    }

    fn json_post(&self, url: String, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.client
            .http()
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
    }

    /// A valid access token for the shop's app: the cached one unless `force`.
    async fn access_token(&self, force: bool) -> Result<String, EnrichError> {
        const API: &str = "wechat-channels-shop access token";
        let mut cache = self.token.lock().await;
        if !force
            && let Some(cached) = cache.as_ref()
            && cached.fresh_until > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self.app_secret.expose(),
            "force_refresh": force,
        });
        let url = self.client.url("/cgi-bin/stable_token");
        let answer: TokenAnswer = send_json(API, self.json_post(url, &body)).await?;
        let token = match answer.access_token.filter(|t| !t.is_empty()) {
            Some(token) if answer.errcode == 0 => token,
            _ if answer.errcode != 0 => return Err(classify(API, answer.errcode)),
            _ => {
                return Err(EnrichError::Transient(format!(
                    "{API}: no token in the answer"
                )));
            }
        };
        let lifetime =
            Duration::from_secs(answer.expires_in.unwrap_or(0)).saturating_sub(TOKEN_MARGIN);
        *cache = Some(CachedToken {
            token: token.clone(),
            fresh_until: Instant::now() + lifetime,
        });
        Ok(token)
    }

    /// Fetches one order's detail.
    pub async fn fetch_order(&self, order_id: &str) -> Result<OrderDetail, EnrichError> {
        const API: &str = "wechat-channels-shop order detail";
        let body = serde_json::json!({ "order_id": order_id });
        let mut token = self.access_token(false).await?;
        let mut refreshed = false;
        loop {
            let url = self.client.url(&format!(
                "/channels/ec/order/get?access_token={}",
                percent_encode(&token)
            ));
            let answer: OrderAnswer = send_json(API, self.json_post(url, &body)).await?;
            match answer.errcode {
                0 => {
                    let order = answer.order.ok_or_else(|| {
                        EnrichError::Permanent(format!("{API}: answer without an order"))
                    })?;
                    if order.order_id.0 != order_id {
                        return Err(EnrichError::Permanent(format!(
                            "{API}: answered for another order"
                        )));
                    }
                    return Ok(order);
                }
                code if TOKEN_REFUSED.contains(&code) && !refreshed => {
                    refreshed = true;
                    token = self.access_token(true).await?;
                }
                ORDER_NOT_FOUND => {
                    return Err(EnrichError::Permanent(format!(
                        "{API}: the order does not exist (errcode {ORDER_NOT_FOUND})"
                    )));
                }
                code => return Err(classify(API, code)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values_and_sorts_error_codes() {
        assert_eq!(percent_encode("AB-c_9.~"), "AB-c_9.~");
        assert_eq!(percent_encode("a+b/c="), "a%2Bb%2Fc%3D");
        assert!(matches!(classify("x", -1), EnrichError::Transient(_)));
        assert!(matches!(classify("x", 48001), EnrichError::Transient(_)));
        assert!(matches!(classify("x", 47001), EnrichError::Permanent(_)));
    }
}
