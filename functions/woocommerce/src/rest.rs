//! The store's REST API as order commands call it: JSON over HTTPS, HTTP Basic with the API key.
//!
//! Sources (see `docs/platforms/woocommerce.md`, "Order commands"):
//! - Authentication: "Authentication over HTTPS: you may use HTTP Basic Auth by providing the
//!   REST API Consumer Key as the username and the REST API Consumer Secret as the password";
//!   over plain HTTP only OAuth 1.0a one-legged signatures
//!   (woocommerce/woocommerce-rest-api-docs `source/includes/wp-api-v3/_authentication.md` @
//!   `13d61967911cb312a27be2dc57b12d5949f40016`). The server takes Basic only when `is_ssl()`
//!   (woocommerce/woocommerce `plugins/woocommerce/includes/class-wc-rest-authentication.php` @
//!   `170a893915f9b3318ad7784b78955fd29a955434`, `authenticate`), and answers a refused key with
//!   401 `woocommerce_rest_authentication_error`; a read-only key's write with the same code.
//! - Errors: `{"code", "message", "data": {"status"}}` with 400, 401, 404 or 500
//!   (`_introduction.md`, "Errors"). An unknown order is `woocommerce_rest_shop_order_invalid_id`
//!   (400 on update, 404 on read: `class-wc-rest-crud-controller.php`) or
//!   `woocommerce_rest_order_invalid_id` (404, order notes: `class-wc-rest-order-notes-v1-controller.php`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::command::{CallFailure, FailureCode};
use o2o_core::settings::Secret;
use o2o_enrich::ApiClient;
use o2o_enrich::command::send;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The store's REST API with one API key.
pub struct StoreApi {
    client: ApiClient,
    site: String,
    consumer_key: Secret,
    consumer_secret: Secret,
    /// Whether fulfilments are also recorded with the Shipment Tracking extension.
    pub shipment_tracking: bool,
}

impl std::fmt::Debug for StoreApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreApi")
            .field("client", &self.client)
            .field("site", &self.site)
            .field("shipment_tracking", &self.shipment_tracking)
            .finish_non_exhaustive()
    }
}

/// A REST method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Read.
    Get,
    /// Create.
    Post,
    /// Update.
    Put,
}

#[derive(Deserialize)]
struct WooError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl StoreApi {
    /// The API of `site` (its id as in `source.tenant`) through `client`.
    pub fn new(
        client: ApiClient,
        site: String,
        consumer_key: Secret,
        consumer_secret: Secret,
        shipment_tracking: bool,
    ) -> Self {
        Self {
            client,
            site,
            consumer_key,
            consumer_secret,
            shipment_tracking,
        }
    }

    /// The site, as `source.tenant` names it (`shop.example.com/fr`).
    pub fn site(&self) -> &str {
        &self.site
    }

    /// Calls `path` (under the site's URL) and reads its 2xx answer as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        api: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, CallFailure> {
        let http = self.client.http();
        let url = self.client.url(path);
        let request = match method {
            Method::Get => http.get(url),
            Method::Post => http.post(url),
            Method::Put => http.put(url),
        };
        let basic = BASE64.encode(format!(
            "{}:{}",
            self.consumer_key.expose(),
            self.consumer_secret.expose()
        ));
        let mut request = request
            .header("Authorization", format!("Basic {basic}"))
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let answer = send(api, request).await?;
        if answer.is_success() {
            return answer.json();
        }
        let error = serde_json::from_slice::<WooError>(&answer.body).ok();
        let code = error.as_ref().and_then(|e| e.code.clone());
        let message = error.and_then(|e| e.message).map(|m| format!("{api}: {m}"));
        let failure = match code.as_deref() {
            _ if matches!(answer.status, 401 | 403) => answer.failure(code, message),
            Some(c) if c.ends_with("_invalid_id") => CallFailure {
                code: FailureCode::NotFound,
                ..answer.failure(code.clone(), message)
            },
            Some("rest_no_route") => CallFailure::permanent(
                FailureCode::Rejected,
                format!(
                    "{api}: no such route on {}: check site_url (pretty permalinks on), or that the extension is active",
                    self.site
                ),
            )
            .with_platform_code("rest_no_route"),
            _ => answer.failure(code, message),
        };
        Err(failure)
    }
}
