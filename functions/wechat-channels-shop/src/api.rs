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

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use o2o_core::{Credentials, EnrichError};
use o2o_enrich::{api_base, http, request_timeout, required, send_json};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::order::OrderDetail;

/// The platform's API base URL (override with the `api_base` setting).
pub const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com";
/// Setting: the shop's AppSecret, for the access token.
pub const APP_SECRET: &str = "app_secret";
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

/// Tokens per (API base, app id): one process serves one app in production; tests point
/// several apps at several mock servers.
fn tokens() -> &'static Mutex<HashMap<String, CachedToken>> {
    static TOKENS: OnceLock<Mutex<HashMap<String, CachedToken>>> = OnceLock::new();
    TOKENS.get_or_init(|| Mutex::new(HashMap::new()))
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

fn json_post(
    url: String,
    body: &serde_json::Value,
    credentials: &Credentials,
) -> reqwest::RequestBuilder {
    http()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .timeout(request_timeout(credentials))
}

/// A valid access token for the tenant's app: the cached one unless `force`.
async fn access_token(credentials: &Credentials, force: bool) -> Result<String, EnrichError> {
    const API: &str = "wechat-channels-shop access token";
    let base = api_base(credentials, DEFAULT_API_BASE);
    let app_id = required(credentials, crate::auth::APP_ID)?;
    let secret = required(credentials, APP_SECRET)?;
    let key = format!("{base}\n{app_id}");
    // Held across the fetch: concurrent enrichments wait for one token request.
    let mut cache = tokens().lock().await;
    if !force
        && let Some(cached) = cache.get(&key)
        && cached.fresh_until > Instant::now()
    {
        return Ok(cached.token.clone());
    }
    let body = serde_json::json!({
        "grant_type": "client_credential",
        "appid": app_id,
        "secret": secret,
        "force_refresh": force,
    });
    let answer: TokenAnswer = send_json(
        API,
        json_post(format!("{base}/cgi-bin/stable_token"), &body, credentials),
    )
    .await?;
    let token = match answer.access_token.filter(|t| !t.is_empty()) {
        Some(token) if answer.errcode == 0 => token,
        _ if answer.errcode != 0 => return Err(classify(API, answer.errcode)),
        _ => {
            return Err(EnrichError::Transient(format!(
                "{API}: no token in the answer"
            )));
        }
    };
    let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(0)).saturating_sub(TOKEN_MARGIN);
    cache.insert(
        key,
        CachedToken {
            token: token.clone(),
            fresh_until: Instant::now() + lifetime,
        },
    );
    Ok(token)
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Fetches one order's detail.
pub async fn fetch_order(
    credentials: &Credentials,
    order_id: &str,
) -> Result<OrderDetail, EnrichError> {
    const API: &str = "wechat-channels-shop order detail";
    let base = api_base(credentials, DEFAULT_API_BASE);
    let body = serde_json::json!({ "order_id": order_id });
    let mut token = access_token(credentials, false).await?;
    let mut refreshed = false;
    loop {
        let url = format!(
            "{base}/channels/ec/order/get?access_token={}",
            encode_query_value(&token)
        );
        let answer: OrderAnswer = send_json(API, json_post(url, &body, credentials)).await?;
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
                token = access_token(credentials, true).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values_and_sorts_error_codes() {
        assert_eq!(encode_query_value("AB-c_9.~"), "AB-c_9.~");
        assert_eq!(encode_query_value("a+b/c="), "a%2Bb%2Fc%3D");
        assert!(matches!(classify("x", -1), EnrichError::Transient(_)));
        assert!(matches!(classify("x", 48001), EnrichError::Transient(_)));
        assert!(matches!(classify("x", 47001), EnrichError::Permanent(_)));
    }
}
