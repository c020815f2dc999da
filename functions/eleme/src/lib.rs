//! Ele.me (饿了么开放平台, open.shop.ele.me) connector: MD5-signed push envelopes, verified over
//! their raw JSON tokens, and enrichment of the thin order push (type 217) with
//! `eleme.order.getOrder` under a cached client-credentials token.
//!
//! The push is a JSON envelope `{requestId, type, appId, message, shopId, timestamp, signature,
//! userId}` whose `message` is a JSON document inside a JSON string ([`push`]). Ele.me wants
//! `{"message":"ok"}` back. Sources are cited in each module; details, mapping tables and what
//! remains unconfirmed: `docs/platforms/eleme.md`.
//!
//! Order commands (accept, reject, ready, cancel) use the same API and token ([`commands`]).

pub mod api;
pub mod commands;
mod items;
mod normalise;
mod order;
pub mod push;
pub mod rpc;

use o2o_core::GetRequests;
use o2o_core::command::{CallDone, CallFailure, CommandKind, OrderCommand};
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, EnrichError, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Identifier, Secrets, SettingsError};
use o2o_core::signature::{SignatureError, hex_digest_matches};
use o2o_core::{Rejection, Reply, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::normalise::Thin;
pub use crate::push::Envelope;

static INFO: ChannelInfo = ChannelInfo {
    id: "eleme",
    name: "Ele.me",
    kind: ChannelKind::Delivery,
    default_sample: "order-created.http",
    // The Python SDK's push server answers a GET on the push URL (Ele.me's reachability check).
    get_requests: GetRequests::Handshake,
    endpoints: &[],
};

/// An Ele.me channel table (`[channels.eleme]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app's id (开放平台 console → 应用 → appId). Every push names it in `appId`; a push for
    /// another app is refused (401 `wrong_app`).
    pub app_id: Identifier,
    /// The app's key (`app_key`, the OAuth client id), for the order API's token and calls.
    pub app_key: Identifier,
    /// The app's secret, newest first: it signs the pushes (every listed one verifies, for a
    /// rotation), and the newest signs the API calls and the token request.
    pub secrets: Secrets,
    /// Use Ele.me's sandbox host `https://open-api-sandbox.shop.ele.me` instead of the production
    /// `https://open-api.shop.ele.me` (default false; `api_base` overrides both).
    #[serde(default)]
    pub sandbox: bool,
    /// The API host (the calls, of enrichment and of order commands, go to `{api_base}/api/v1`,
    /// the token to `{api_base}/token`; a trailing `/api/v1` is accepted) and the timeout of each
    /// call.
    #[serde(flatten)]
    pub api: ApiSettings,
}

/// The Ele.me connector for one app.
#[derive(Debug)]
pub struct Eleme {
    app_id: String,
    secrets: Secrets,
    orders: api::OrderApi,
}

impl Eleme {
    /// Checks the signature of a push over its raw tokens with every listed secret, in constant
    /// time, then its `appId`.
    fn check(&self, body: &[u8]) -> Result<(), Rejection> {
        let envelope = push::RawEnvelope::parse(body)
            .map_err(|e| Rejection::bad_request("malformed_envelope", e.to_string()))?;
        let provided = envelope.signature().ok_or(SignatureError::Missing)?;
        if provided.len() != 32 || !provided.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SignatureError::Malformed.into());
        }
        let signed = envelope
            .signed_text()
            .map_err(|e| Rejection::bad_request("malformed_envelope", e.to_string()))?;
        // Every secret is tried, so the time taken does not tell which one matched.
        let mut matched = false;
        for secret in self.secrets.all() {
            matched |= hex_digest_matches(&push::digest(&signed, secret), &provided);
        }
        if !matched {
            return Err(SignatureError::Mismatch.into());
        }
        let app_id = envelope.text("appId").ok().flatten();
        if app_id.as_deref() != Some(self.app_id.as_str()) {
            return Err(Rejection::unauthorized(
                "wrong_app",
                "the push is for another Ele.me app (appId)",
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Connector for Eleme {
    type Settings = Settings;
    type Facts = ();
    /// The envelope, read once.
    type Message<'v> = Envelope;
    type Thin = Thin;

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        for (name, value) in [("app_id", &settings.app_id), ("app_key", &settings.app_key)] {
            if value.as_str().trim().is_empty() {
                return Err(SettingsError::setting(name, "must not be empty"));
            }
        }
        let default_host = if settings.sandbox {
            api::SANDBOX_HOST
        } else {
            api::PRODUCTION_HOST
        };
        let api = ApiSettings {
            api_base: settings.api.api_base.as_deref().map(|base| {
                let base = base.trim_end_matches('/');
                base.strip_suffix(api::RPC_PATH).unwrap_or(base).to_owned()
            }),
            api_timeout_ms: settings.api.api_timeout_ms,
        };
        let client = ApiClient::new(&api, default_host)?;
        Ok(Self {
            app_id: settings.app_id.as_str().to_owned(),
            orders: api::OrderApi::new(
                client,
                settings.app_key.as_str().to_owned(),
                settings.secrets.newest().clone(),
            ),
            secrets: settings.secrets,
        })
    }

    /// A `GET` on the push URL, and a `POST` with an empty body (the PHP SDK's `push.php`
    /// answers it before any check), are Ele.me's reachability checks: `{"message":"ok"}`.
    fn handshake(&self, req: &WebhookRequest) -> Option<Result<Reply, Rejection>> {
        let probe = req.method == "GET"
            || (req.method == "POST" && req.body.iter().all(u8::is_ascii_whitespace));
        probe.then(|| Ok(self.ack()))
    }

    /// The signature covers every envelope field: the type, the message, the shop, the app.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        self.check(&req.body)?;
        Ok(Verified::body(req))
    }

    /// The event id is `requestId`, the topic the `type` number, the tenant the shop
    /// (`shopId`), all signed; else the URL's tenant.
    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<Envelope>, NormaliseError> {
        let envelope: Envelope = serde_json::from_slice(&verified.payload)?;
        // Checked by `verify` too; again here for a stored delivery read after a change of app.
        if envelope.app_id.0 != self.app_id {
            return Err(NormaliseError::field("appId", "not this app"));
        }
        let tenant = envelope
            .shop_id
            .as_ref()
            .map(|shop| shop.0.clone())
            .or_else(|| verified.request.path_tenant.clone())
            .unwrap_or_else(|| "_".to_owned());
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id: envelope.request_id.0.clone(),
                topic: envelope.kind.0.clone(),
            },
            message: envelope,
            // `requestId` is signed: a replayed body carries its old id.
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        envelope: Envelope,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, NormaliseError> {
        normalise::normalise(&envelope, ctx)
    }

    /// Fetches the order of a type-217 push from `api_base` and maps it as a type-10 order.
    async fn enrich(
        &self,
        thin: Thin,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, EnrichError> {
        let order = self.orders.fetch_order(&thin.order_id).await?;
        Ok(Normalised::Events(vec![normalise::enriched(
            &thin, &order,
        )?]))
    }

    /// Accept (`eleme.order.confirmOrderLite`), reject and cancel (`eleme.order.cancelOrderLite`),
    /// ready (`eleme.order.setOrderPrepared`).
    fn command_kinds() -> &'static [CommandKind] {
        commands::KINDS
    }

    /// None: no source states how long Ele.me waits for a merchant to accept.
    fn command_window(&self, kind: CommandKind) -> Option<std::time::Duration> {
        commands::window(kind)
    }

    /// One signed call under the app's token (refreshed once when Ele.me refuses it).
    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        commands::execute(&self.orders, command).await
    }

    /// `{"message":"ok"}`, 200, as every official SDK demo answers.
    fn ack(&self) -> Reply {
        Reply::json(200, push::ACK_BODY)
    }

    /// Writes the upper-case signature of the body's fields with the newest secret into its
    /// `signature` field (added when absent), every other byte as it was.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let envelope =
            push::RawEnvelope::parse(&req.body).map_err(|_| SignatureError::Malformed)?;
        let signed = envelope
            .signed_text()
            .map_err(|_| SignatureError::Malformed)?;
        let signature = push::digest(&signed, self.secrets.newest()).to_ascii_uppercase();
        req.body =
            push::with_signature(&req.body, &signature).map_err(|_| SignatureError::Malformed)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
