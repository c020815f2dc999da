//! `order.orderDetail`: the full order behind a thin message.
//!
//! Request, as the official Java SDK sends it (`com.doudian.open.core.DefaultDoudianOpClient`):
//! `POST {api_base}/order/orderDetail?app_key=…&method=order.orderDetail&v=2&sign=…&timestamp=…
//! &access_token=…` with the JSON param as the body and the header `x-open-no-old-err-code: 1`
//! (new error codes). We add `sign_method=md5` (the scheme of [`crate::signature::api_sign`]).
//! The timestamp is Unix seconds as in the official Go SDK (`core/doudian_op_api_client.go` in
//! `zsmhub/doudian-sdk`, `time.Now().Unix()`). Default host `https://openapi-fxg.jinritemai.com`
//! (`core/doudian_op_config.go` there, `OpenRequestUrl`).
//!
//! Answer: `{"code":10000,"msg":"success","sub_code":"","sub_msg":"","log_id":…,
//! "data":{"shop_order_detail":{…}}}` (`BaseDoudianOpApiResponse` + `OrderOrderDetailData`).
//! Error codes of this API [C-2] (a C# SDK generated from the API docs, type
//! `OrderOrderDetailReq`): `40004 isv.parameter-invalid:20001` 订单不存在 and `:20014` 查询订单
//! 不存在, `50002 isv.business-failed:20015` 订单不是该店铺下的订单, `40002
//! isv.missing-parameter:20000` → permanent; `50002 isv.business-failed:20004` 系统繁忙 and
//! `:20045`/`:20055` (查询失败, "重试") → transient. Platform codes: `20000` service error,
//! `30001` no permission / authorization gone, `60000` throttled, `90000` other →
//! transient; `sub_code` `isv.access-token-expired` / `-no-existed` (the official Java SDK's
//! `DoudianOpRequest` refreshes the token on exactly these) and the other credential
//! sub_codes → transient (ops refresh the token, then the message is redriven).

use std::collections::BTreeMap;

use o2o_core::settings::{Identifier, Secret};
use o2o_core::{EnrichError, Timestamp};
use o2o_enrich::{ApiClient, send_json};
use serde::Deserialize;

use crate::order::ShopOrderDetail;
use crate::payload::Num;
use crate::signature::api_sign;

/// The production API host.
pub const DEFAULT_API_BASE: &str = "https://openapi-fxg.jinritemai.com";
/// The API method (the URL path with `/` for `.`).
pub const ORDER_DETAIL_METHOD: &str = "order.orderDetail";
/// Names the call in error messages.
const API: &str = "douyin-shop order detail";
/// `code` of a successful answer.
const SUCCESS: i64 = 10_000;

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    code: Option<Num>,
    #[serde(default)]
    sub_code: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(default)]
    shop_order_detail: Option<ShopOrderDetail>,
}

/// The signed request's query parameters and body for `shop_order_id` at `now`.
pub fn signed_query(
    app_key: &str,
    app_secret: &str,
    access_token: &str,
    shop_order_id: &str,
    now: Timestamp,
) -> (Vec<(&'static str, String)>, String) {
    // One key: sorted as the SDK sorts `param_json` before signing.
    let param_json = serde_json::json!({ "shop_order_id": shop_order_id }).to_string();
    let timestamp = now.unix_seconds().to_string();
    let sign = api_sign(
        app_key,
        app_secret,
        ORDER_DETAIL_METHOD,
        &param_json,
        &timestamp,
    );
    let query = vec![
        ("app_key", app_key.to_owned()),
        ("method", ORDER_DETAIL_METHOD.to_owned()),
        ("v", "2".to_owned()),
        ("sign", sign),
        ("timestamp", timestamp),
        ("access_token", access_token.to_owned()),
        ("sign_method", "md5".to_owned()),
    ];
    (query, param_json)
}

/// The `order.orderDetail` call of one app: its client and credentials, built once.
#[derive(Debug)]
pub struct OrderApi {
    /// The API's base URL and HTTP client.
    pub client: ApiClient,
    /// The app key.
    pub app_key: Identifier,
    /// The app secret the calls are signed with (the newest listed).
    pub app_secret: Secret,
    /// The shop's access token.
    pub access_token: Secret,
    /// Access tokens by shop id, for an app that serves several shops on one push URL (each
    /// shop authorises the app with its own token); they win over `access_token`.
    pub shop_tokens: BTreeMap<String, Secret>,
}

impl OrderApi {
    /// The access token for `shop_id`: its own when configured, else `access_token`.
    pub fn access_token(&self, shop_id: Option<&str>) -> &Secret {
        shop_id
            .and_then(|shop| self.shop_tokens.get(shop))
            .unwrap_or(&self.access_token)
    }

    /// Fetches the detail of parent order `shop_order_id` of shop `shop_id`, signed at `now`.
    pub async fn order_detail(
        &self,
        shop_id: Option<&str>,
        shop_order_id: &str,
        now: Timestamp,
    ) -> Result<ShopOrderDetail, EnrichError> {
        let (query, body) = signed_query(
            self.app_key.as_str(),
            self.app_secret.expose(),
            self.access_token(shop_id).expose(),
            shop_order_id,
            now,
        );
        let mut url = reqwest::Url::parse(&self.client.url("/order/orderDetail"))
            .map_err(|_| EnrichError::Transient("setting `api_base` is not a URL".into()))?;
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        let request = self
            .client
            .http()
            .post(url)
            .header("content-type", "application/json")
            .header("x-open-no-old-err-code", "1")
            .body(body);
        let answer: Answer = send_json(API, request).await?;
        classify(answer)
    }
}

/// Sorts an answer into the detail, a transient or a permanent failure. Messages carry the
/// codes only (never `msg`/`sub_msg`, which may echo request values).
fn classify(answer: Answer) -> Result<ShopOrderDetail, EnrichError> {
    let code = answer.code.map(|c| c.0);
    let sub_code = answer.sub_code.as_deref().unwrap_or_default();
    if code == Some(SUCCESS) {
        return answer
            .data
            .and_then(|d| d.shop_order_detail)
            .ok_or_else(|| {
                EnrichError::Permanent(format!("{API}: answer has no shop_order_detail"))
            });
    }
    let described = format!(
        "{API}: code {} sub_code {}",
        code.map_or_else(|| "?".to_owned(), |c| c.to_string()),
        if sub_code.is_empty() { "-" } else { sub_code }
    );
    const PERMANENT: &[&str] = &[
        "isv.parameter-invalid:20001",
        "isv.parameter-invalid:20014",
        "isv.business-failed:20015",
        "isv.missing-parameter:20000",
    ];
    const TRANSIENT_PREFIXES: &[&str] = &[
        "isv.access-token",
        "isv.signature",
        "isv.timestamp",
        "isv.app-id",
        "isv.traffic-limited",
        "isp.",
        "dop.",
    ];
    if PERMANENT.contains(&sub_code) {
        return Err(EnrichError::Permanent(described));
    }
    if TRANSIENT_PREFIXES.iter().any(|p| sub_code.starts_with(p)) {
        return Err(EnrichError::Transient(described));
    }
    match code {
        // Parameter errors other than the credential ones above: retrying cannot help.
        Some(40_001..=40_004) => Err(EnrichError::Permanent(described)),
        // Service errors, permissions (ops re-authorise), throttling, busy, unknown: retry.
        _ => Err(EnrichError::Transient(described)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Result<ShopOrderDetail, EnrichError> {
        classify(serde_json::from_str(json).expect("answer"))
    }

    #[test]
    fn sorts_documented_error_codes() {
        let permanent = [
            r#"{"code":40004,"msg":"非法的参数","sub_code":"isv.parameter-invalid:20001","sub_msg":"订单不存在"}"#,
            r#"{"code":40004,"sub_code":"isv.parameter-invalid:20014"}"#,
            r#"{"code":50002,"sub_code":"isv.business-failed:20015"}"#,
            r#"{"code":40003,"sub_code":"isv.parameter-invalid"}"#,
        ];
        for json in permanent {
            assert!(
                matches!(answer(json), Err(EnrichError::Permanent(_))),
                "{json}"
            );
        }
        let transient = [
            r#"{"code":50002,"sub_code":"isv.business-failed:20004","sub_msg":"系统繁忙，请稍后重试"}"#,
            r#"{"code":40003,"sub_code":"isv.access-token-expired"}"#,
            r#"{"code":40003,"sub_code":"isv.access-token-no-existed"}"#,
            r#"{"code":60000,"sub_code":"isv.traffic-limited"}"#,
            r#"{"code":20000,"sub_code":"isp.service-error:255"}"#,
            r#"{"code":30001,"sub_code":"dop.authorization-no-existed"}"#,
            r#"{"msg":"?"}"#,
        ];
        for json in transient {
            assert!(
                matches!(answer(json), Err(EnrichError::Transient(_))),
                "{json}"
            );
        }
        assert_eq!(
            answer(r#"{"code":40004,"sub_code":"isv.parameter-invalid:20001","sub_msg":"订单4781320682406083640不存在"}"#).err(),
            Some(EnrichError::Permanent(
                "douyin-shop order detail: code 40004 sub_code isv.parameter-invalid:20001".into()
            ))
        );
        assert!(matches!(
            answer(r#"{"code":10000,"msg":"success","data":{}}"#),
            Err(EnrichError::Permanent(_))
        ));
    }

    #[test]
    fn signs_the_query_like_the_sdk() {
        let now = Timestamp::from_unix_seconds(1_617_355_413).expect("time");
        let (query, body) = signed_query(
            "7000000000000000001",
            "dev-douyin-app-secret",
            "token-1",
            "4781320682406083640",
            now,
        );
        assert_eq!(body, r#"{"shop_order_id":"4781320682406083640"}"#);
        let get = |k: &str| query.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("timestamp"), Some("1617355413"));
        assert_eq!(get("method"), Some("order.orderDetail"));
        assert_eq!(get("v"), Some("2"));
        assert_eq!(get("sign_method"), Some("md5"));
        // md5sum of the signing string, see signature.rs.
        assert_eq!(get("sign"), Some("48349683534f99d180ef0d86789826f8"));
    }
}
