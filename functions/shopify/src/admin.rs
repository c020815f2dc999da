//! The GraphQL Admin API as order commands call it: one shop, one API version, one access token.
//!
//! Sources (see `docs/platforms/shopify.md`, "Order commands"):
//! - The call: `POST https://{shop}/admin/api/{version}/graphql.json`, JSON `{"query",
//!   "variables"}`, header `X-Shopify-Access-Token`
//!   (<https://shopify.dev/docs/api/admin-graphql>; Shopify/shopify-app-js
//!   `packages/api-clients/admin-api-client/src/graphql/client.ts` and
//!   `packages/api-clients/graphql-client/src/graphql-client/graphql-client.ts` @
//!   `ef2043d4a8c4ca0adb9020d76090b2fb94979dab`).
//! - Errors: HTTP 401 (credentials), 402 (shop frozen), 403 (scope), 404, 423 (shop locked), 429,
//!   5xx; otherwise HTTP 200 with top-level `errors[].extensions.code` `THROTTLED`,
//!   `ACCESS_DENIED`, `SHOP_INACTIVE`, `INTERNAL_SERVER_ERROR`
//!   (<https://shopify.dev/docs/api/usage/response-codes>).
//! - Tokens: a fixed Admin API access token, or the client credentials grant
//!   (`POST https://{shop}/admin/oauth/access_token`, form `grant_type=client_credentials`,
//!   `client_id`, `client_secret` → `{"access_token", "scope", "expires_in"}`;
//!   <https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant>,
//!   shopify-app-js `packages/apps/shopify-api/lib/auth/oauth/client-credentials.ts` @ the same
//!   commit). A granted token is cached until 5 minutes before `expires_in`, and fetched again
//!   once when the API answers 401.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use o2o_core::command::{CallFailure, FailureCode};
use o2o_core::settings::Secret;
use o2o_enrich::command::{Answer, send, send_refreshing};
use o2o_enrich::{ApiClient, percent_encode};
use serde::Deserialize;
use serde_json::{Value, json};

/// The Admin API version called unless `api_version` says otherwise: the latest stable version
/// (released 2026-10-01, supported at least until 2027-10-01).
pub const DEFAULT_API_VERSION: &str = "2026-10";
/// The header carrying the access token.
pub const ACCESS_TOKEN_HEADER: &str = "X-Shopify-Access-Token";
/// The client credentials grant's endpoint under the shop's host.
pub const TOKEN_PATH: &str = "/admin/oauth/access_token";
/// A granted token is dropped this long before Shopify says it expires.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(300);

/// How the connector gets its access token.
#[derive(Debug)]
pub enum Credentials {
    /// A fixed Admin API access token (`admin_access_token`): nothing to refresh.
    Token(Secret),
    /// The client credentials grant with the app's client ID and client secret; the token is
    /// cached and fetched again when it expires or is refused.
    ClientCredentials {
        /// The app's client ID.
        client_id: String,
        /// The app's client secret (the newest of `secrets`).
        client_secret: Secret,
        /// The granted token.
        cache: Mutex<Option<CachedToken>>,
    },
}

/// A token from the client credentials grant.
#[derive(Debug, Clone)]
pub struct CachedToken {
    token: Secret,
    fresh_until: Option<Instant>,
}

/// The Admin API of one shop.
#[derive(Debug)]
pub struct AdminApi {
    client: ApiClient,
    shop_domain: String,
    version: String,
    credentials: Credentials,
}

#[derive(Deserialize)]
struct GraphqlAnswer {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    error: Option<String>,
}

impl AdminApi {
    /// The API of `shop_domain` through `client`, at `version`.
    pub fn new(
        client: ApiClient,
        shop_domain: String,
        version: String,
        credentials: Credentials,
    ) -> Self {
        Self {
            client,
            shop_domain,
            version,
            credentials,
        }
    }

    /// The shop's `myshopify.com` domain.
    pub fn shop_domain(&self) -> &str {
        &self.shop_domain
    }

    /// Runs one GraphQL operation and returns its `data`. The operation's own `userErrors` are
    /// the caller's to read.
    pub async fn graphql(
        &self,
        api: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, CallFailure> {
        let body = json!({"query": query, "variables": variables}).to_string();
        let url = self
            .client
            .url(&format!("/admin/api/{}/graphql.json", self.version));
        let (url, body) = (&url, &body);
        let (answer, _) = send_refreshing(
            api,
            |answer| answer.status == 401 && self.can_refresh(),
            |refreshed| async move {
                let token = self.token(refreshed).await?;
                Ok(self
                    .client
                    .http()
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json")
                    .header(ACCESS_TOKEN_HEADER, token.expose())
                    .body(body.clone()))
            },
        )
        .await?;
        if answer.status == 401 {
            // Refused after a refresh, or a fixed token refused.
            return Err(CallFailure::transient(
                FailureCode::Unauthorized,
                format!(
                    "{api}: the access token is refused (HTTP 401): check admin_access_token or client_id, and that the app is installed on {}",
                    self.shop_domain
                ),
            )
            .with_platform_code("HTTP 401"));
        }
        if !answer.is_success() {
            let (code, message) = first_error(&answer);
            return Err(answer.failure(code, message.map(|m| format!("{api}: {m}"))));
        }
        read_data(api, &answer)
    }

    fn can_refresh(&self) -> bool {
        matches!(self.credentials, Credentials::ClientCredentials { .. })
    }

    /// The access token: the fixed one, or the cached grant unless `refresh`.
    async fn token(&self, refresh: bool) -> Result<Secret, CallFailure> {
        let (client_id, client_secret, cache) = match &self.credentials {
            Credentials::Token(token) => return Ok(token.clone()),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
                cache,
            } => (client_id, client_secret, cache),
        };
        if !refresh {
            let cached = cache
                .lock()
                .map(|c| c.clone())
                .unwrap_or_else(|p| p.into_inner().clone());
            if let Some(cached) = cached
                && cached
                    .fresh_until
                    .is_none_or(|until| until > Instant::now())
            {
                return Ok(cached.token);
            }
        }
        const API: &str = "shopify access_token";
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            percent_encode(client_id),
            percent_encode(client_secret.expose())
        );
        let request = self
            .client
            .http()
            .post(self.client.url(TOKEN_PATH))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(form);
        let answer = send(API, request).await?;
        let read = serde_json::from_slice::<TokenAnswer>(&answer.body).ok();
        let token = read
            .as_ref()
            .and_then(|t| t.access_token.clone())
            .filter(|t| !t.is_empty() && answer.is_success());
        let Some(token) = token else {
            let code = read
                .and_then(|t| t.error)
                .unwrap_or_else(|| format!("HTTP {}", answer.status));
            return Err(CallFailure::transient(
                FailureCode::Unauthorized,
                format!(
                    "{API}: no token (HTTP {}): check client_id, the client secret (secrets) and that the app is installed on {}",
                    answer.status, self.shop_domain
                ),
            )
            .with_platform_code(code));
        };
        let token = Secret::new(token);
        let fresh_until = read
            .and_then(|t| t.expires_in)
            .map(|s| Instant::now() + Duration::from_secs(s).saturating_sub(TOKEN_MARGIN));
        let entry = CachedToken {
            token: token.clone(),
            fresh_until,
        };
        match cache.lock() {
            Ok(mut slot) => *slot = Some(entry),
            Err(poisoned) => *poisoned.into_inner() = Some(entry),
        }
        Ok(token)
    }
}

/// `data` of a 2xx answer, after its top-level `errors`.
fn read_data(api: &str, answer: &Answer) -> Result<Value, CallFailure> {
    let read: GraphqlAnswer = answer.json()?;
    if read.errors.as_ref().is_some_and(|e| !is_empty(e)) {
        let (code, message) = first_error(answer);
        let message = format!(
            "{api}: {}",
            message.unwrap_or_else(|| "GraphQL error".to_owned())
        );
        let failure = match code.as_deref() {
            Some("THROTTLED" | "INTERNAL_SERVER_ERROR") => {
                CallFailure::transient(FailureCode::PlatformUnavailable, message)
            }
            Some("ACCESS_DENIED") => CallFailure::transient(FailureCode::Unauthorized, message),
            _ => CallFailure::permanent(FailureCode::Rejected, message),
        };
        return Err(failure.with_platform_code(code.unwrap_or_else(|| "GRAPHQL_ERROR".to_owned())));
    }
    read.data.filter(|d| !d.is_null()).ok_or_else(|| {
        CallFailure::permanent(
            FailureCode::BadAnswer,
            format!("{api}: an answer without data"),
        )
    })
}

fn is_empty(errors: &Value) -> bool {
    match errors {
        Value::Null => true,
        Value::Array(list) => list.is_empty(),
        Value::String(text) => text.is_empty(),
        _ => false,
    }
}

/// The code and message of the first error in an answer's `errors`: a string (`{"errors":
/// "[API] Invalid API key …"}`) or a list of `{message, extensions: {code}}`.
fn first_error(answer: &Answer) -> (Option<String>, Option<String>) {
    let errors = serde_json::from_slice::<GraphqlAnswer>(&answer.body)
        .ok()
        .and_then(|a| a.errors);
    match errors {
        Some(Value::String(message)) => (None, Some(message)),
        Some(Value::Array(list)) => {
            let first = list.first();
            let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
            (
                text(first.and_then(|e| e.pointer("/extensions/code"))),
                text(first.and_then(|e| e.get("message"))),
            )
        }
        _ => (None, None),
    }
}
