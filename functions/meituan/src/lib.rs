//! Meituan Waimai connector (美团外卖开放平台; 美团闪购 pushes the same way): order, cancellation,
//! full and partial refund, and delivery-status pushes, each to its own URL, verified by `sig`.
//!
//! Meituan calls one URL per kind of push, registered in its developer console:
//! `{public_base_url}/webhooks/meituan[/{tenant}]/{endpoint}` with `endpoint` one of `order`,
//! `cancel`, `refund`, `refund-part`, `logistics`. Pushes are forms (POST bodies, or GET queries
//! for some kinds) whose values are percent-encoded twice; `sig` is the MD5 of the called URL,
//! the sorted parameters and the app secret ([`form`]). The URL is rebuilt from the configured
//! `public_base_url` and the request path, never from `Host`, which the caller chooses. The
//! answer is `{"data":"ok"}`, also to the empty request Meituan sends when a URL is saved in
//! its console. Sources and open points: docs/platforms/meituan.md.
//!
//! Order commands (accept, reject, ready, cancel) go the other way, to Meituan's signed order API
//! ([`commands`]), signed with the same app secret and the same `sig` rule.

pub mod commands;
pub mod form;
mod normalise;
pub mod payload;

use std::borrow::Cow;

use o2o_core::GetRequests;
use o2o_core::command::{CallDone, CallFailure, CommandKind, OrderCommand};
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Identifier, Secrets, SettingsError};
use o2o_core::signature::SignatureError;
use o2o_core::{Rejection, Reply, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::form::{Params, SIG};
pub use crate::payload::{Endpoint, Push};

/// The channel id, which is also the path segment after `/webhooks`.
const CHANNEL: &str = "meituan";

static INFO: ChannelInfo = ChannelInfo {
    id: CHANNEL,
    name: "Meituan Waimai",
    kind: ChannelKind::Delivery,
    default_sample: "order.http",
    get_requests: GetRequests::Deliveries,
    endpoints: &Endpoint::NAMES,
};

/// The acknowledgement Meituan expects, byte for byte.
pub const ACK: &str = r#"{"data":"ok"}"#;

/// A Meituan channel table (`[channels.meituan]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app's `app_id` (开发者中心 → 应用信息); every push names it.
    pub app_id: Identifier,
    /// The app secret (`consumer_secret`), newest first.
    pub secrets: Secrets,
    /// The scheme and host (and any path prefix, such as an API Gateway stage) of the URLs
    /// registered in Meituan's console, exactly as registered: `https://hooks.example.com`.
    /// Meituan signs the URL it called; it is rebuilt from this and the request path.
    pub public_base_url: String,
    /// The order API's host for order commands (default `https://waimaiopen.meituan.com`; the
    /// calls go to `{api_base}/api/v1/order/…`, and a trailing `/api/v1` is accepted), and the
    /// timeout of each call. The app secret above signs the calls.
    #[serde(flatten)]
    pub api: ApiSettings,
}

/// The Meituan connector for one app.
#[derive(Debug)]
pub struct Meituan {
    app_id: Identifier,
    secrets: Secrets,
    public_base_url: String,
    api: ApiClient,
}

impl Meituan {
    /// The URL Meituan called for a push to `endpoint`, as it signed it.
    pub fn called_url(&self, tenant: Option<&str>, endpoint: &str) -> String {
        match tenant {
            Some(tenant) => format!(
                "{}/webhooks/{CHANNEL}/{tenant}/{endpoint}",
                self.public_base_url
            ),
            None => format!("{}/webhooks/{CHANNEL}/{endpoint}", self.public_base_url),
        }
    }

    /// The endpoint of a request, which must be one Meituan calls.
    fn endpoint(req: &WebhookRequest) -> Result<&str, Rejection> {
        req.endpoint
            .as_deref()
            .filter(|segment| Endpoint::from_segment(segment).is_some())
            .ok_or_else(|| {
                Rejection::new(
                    404,
                    "unknown_endpoint",
                    format!(
                        "Meituan pushes go to /webhooks/meituan[/{{tenant}}]/{{endpoint}}, with one \
                         of: {}",
                        Endpoint::NAMES.join(", ")
                    ),
                )
            })
    }
}

/// Checks `public_base_url`: an http(s) URL without query or fragment; a trailing `/` is dropped
/// (Meituan's signed URL has one `/` before `webhooks`).
fn public_base_url(text: &str) -> Result<String, SettingsError> {
    let problem = |problem: &str| SettingsError::setting("public_base_url", problem);
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| problem("must start with https:// or http://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(problem("has no host"));
    }
    if rest.contains(['?', '#', ' ']) {
        return Err(problem("must have no query, fragment or space"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[async_trait::async_trait]
impl Connector for Meituan {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Push;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        if settings.app_id.as_str().trim().is_empty() {
            return Err(SettingsError::setting("app_id", "must not be empty"));
        }
        let api = ApiSettings {
            api_base: settings.api.api_base.as_deref().map(|base| {
                let base = base.trim_end_matches('/');
                base.strip_suffix(commands::API_PREFIX)
                    .unwrap_or(base)
                    .to_owned()
            }),
            api_timeout_ms: settings.api.api_timeout_ms,
        };
        Ok(Self {
            app_id: settings.app_id,
            secrets: settings.secrets,
            public_base_url: public_base_url(&settings.public_base_url)?,
            api: ApiClient::new(&api, commands::PRODUCTION_HOST)?,
        })
    }

    /// The empty request Meituan sends when a URL is saved in its console (no parameters at
    /// all, by POST or GET) is answered `{"data":"ok"}` and nothing is recorded. Anything with a
    /// parameter must carry a valid `sig`.
    fn handshake(&self, req: &WebhookRequest) -> Option<Result<Reply, Rejection>> {
        let empty = req.query.trim().is_empty() && req.body.iter().all(u8::is_ascii_whitespace);
        (empty && INFO.is_delivery_method(&req.method)).then(|| Ok(self.ack()))
    }

    /// Checks `sig` over the URL Meituan called (rebuilt from `public_base_url`) and every
    /// parameter, decoded twice as documented, else decoded once (the fields Meituan may send
    /// without the extra encoding); then that the push is for this app. The authenticated
    /// payload is the decoded parameters as a JSON object (without `sig`), which is what is
    /// stored and read again.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        let endpoint = Self::endpoint(req)?;
        let wire = form::wire_params(req)?;
        let provided = wire
            .get(SIG)
            .map(|sig| sig.trim())
            .filter(|sig| !sig.is_empty())
            .ok_or(SignatureError::Missing)?;
        if provided.len() != 32 || !provided.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SignatureError::Malformed.into());
        }
        let url = self.called_url(req.path_tenant.as_deref(), endpoint);
        let secrets = self.secrets.all();
        let mut params = match form::decoded_again(&wire) {
            Some(twice) if form::matches(&url, &twice, secrets, provided) => twice,
            _ if form::matches(&url, &wire, secrets, provided) => wire,
            _ => return Err(SignatureError::Mismatch.into()),
        };
        if params.get("app_id").map(String::as_str) != Some(self.app_id.as_str()) {
            return Err(Rejection::unauthorized(
                "app_id_mismatch",
                "the push is signed for another Meituan app",
            ));
        }
        params.remove(SIG);
        let payload = serde_json::to_vec(&params).map_err(|_| {
            Rejection::bad_request("body_not_form", "the parameters cannot be kept")
        })?;
        Ok(Verified::with_payload(req, Cow::Owned(payload)))
    }

    /// Meituan gives no push id, and its retries' `timestamp` and `sig` are not documented to
    /// stay the same, so the key comes from what the push says: the endpoint, the order, and
    /// what changed (the order's `status`; the refund's id and step; the rider's status and
    /// time). A repeat of the same change is a duplicate. The tenant is the URL's, else the app.
    fn parse(&self, verified: &Verified<'_, ()>) -> Result<Parsed<Push>, NormaliseError> {
        let params: Params = serde_json::from_slice(&verified.payload)?;
        let endpoint = verified
            .request
            .endpoint
            .as_deref()
            .and_then(Endpoint::from_segment)
            .ok_or_else(|| NormaliseError::field("endpoint", "not a Meituan push URL"))?;
        let push = Push { endpoint, params };
        let order = push.required("order_id")?;
        let change = match endpoint {
            Endpoint::Order => push.required("status")?.to_owned(),
            Endpoint::Cancel => push.get("reason_code").unwrap_or_default().to_owned(),
            Endpoint::Refund | Endpoint::RefundPart => format!(
                "{}:{}:{}",
                push.get("refund_id").unwrap_or_default(),
                push.get("notify_type")
                    .or(push.get("status"))
                    .unwrap_or_default(),
                push.get("res_type").unwrap_or_default(),
            ),
            Endpoint::Logistics => format!(
                "{}:{}",
                push.required("logistics_status")?,
                push.get("time").unwrap_or_default()
            ),
        };
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(push.get("app_id"))
            .unwrap_or("_")
            .to_owned();
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id: format!("{}:{order}:{change}", endpoint.segment()),
                topic: endpoint.segment().to_owned(),
            },
            message: push,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        push: Push,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&push, ctx)
    }

    fn ack(&self) -> Reply {
        Reply::json(200, ACK)
    }

    /// Accept (`order/confirm`), reject and cancel (`order/cancel`, with a reason code), ready
    /// (`order/preparationMealComplete`).
    fn command_kinds() -> &'static [CommandKind] {
        commands::KINDS
    }

    /// None: Meituan cancels an order that is not confirmed in time (cancel reason 1001, 系统取消，
    /// 超时未确认), but no source states how long it waits; Meituan itself refuses a late call.
    fn command_window(&self, kind: CommandKind) -> Option<std::time::Duration> {
        commands::window(kind)
    }

    /// One signed `GET` to the order API, with the app's `app_id` and newest secret.
    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        commands::execute(
            &self.api,
            self.app_id.as_str(),
            self.secrets.newest(),
            command,
        )
        .await
    }

    /// Signs a sample as Meituan would: its parameters (body or query, written with each value
    /// encoded once, as a normal form) get `sig` for the URL the sample is sent to, and go on the
    /// wire encoded twice.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let endpoint = req.endpoint.clone().unwrap_or_default();
        let mut params = form::wire_params(req).map_err(|_| SignatureError::Malformed)?;
        params.remove(SIG);
        let url = self.called_url(req.path_tenant.as_deref(), &endpoint);
        let sig = form::sig(&url, &params, self.secrets.newest());
        params.insert(SIG.to_owned(), sig);
        let wire = form::wire_text(&params);
        if req.body.is_empty() && !req.query.is_empty() {
            req.query = wire;
        } else {
            req.body = wire.into_bytes();
            req.query.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
