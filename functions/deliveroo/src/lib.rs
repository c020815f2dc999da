//! Deliveroo connector: the Order API's webhooks (order events, rider events) and the legacy POS
//! webhooks (`new_order`, `cancel_order`), verified with `X-Deliveroo-Hmac-Sha256`.
//!
//! Source: api-docs.deliveroo.com `docs/securing-webhooks`: the signature is the hex
//! HMAC-SHA256, keyed with the webhook secret (not the API client secret), of
//! `X-Deliveroo-Sequence-Guid` + `" "` + the raw body; the legacy POS `new_order` and
//! `cancel_order` webhooks put `" \n "` (space, newline, space) between the two instead.
//! Events: `reference/order-events-webhook-1`, `reference/rider-events-webhook-1`.
//!
//! Order commands (`accept`, `reject`, `ready`) go to the Order API with a cached
//! client-credentials token ([`api`], `commands.rs`). Details and what remains unconfirmed:
//! `docs/platforms/deliveroo.md`.

pub mod api;
mod commands;
mod normalise;
mod payload;

use std::borrow::Cow;
use std::time::Duration;

use o2o_core::GetRequests;
use o2o_core::command::{CallDone, CallFailure, CommandKind, OrderCommand};
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Identifier, Secret, Secrets, SettingsError};
use o2o_core::signature::{
    DigestEncoding, SignatureError, sha256_hex, sign_hmac_sha256, verify_hmac_sha256,
};
use o2o_core::{Rejection, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;

pub use payload::Envelope;

/// The header carrying the hex HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "X-Deliveroo-Hmac-Sha256";
/// The header carrying the delivery's sequence GUID, which the signature covers.
pub const SEQUENCE_HEADER: &str = "X-Deliveroo-Sequence-Guid";
/// Between the GUID and the body in what Order API webhooks sign.
pub const SEPARATOR: &[u8] = b" ";
/// Between the GUID and the body in what the legacy POS webhooks sign.
pub const LEGACY_SEPARATOR: &[u8] = b" \n ";
/// The events of the legacy POS webhooks.
const LEGACY_EVENTS: [&str; 2] = ["new_order", "cancel_order"];

static INFO: ChannelInfo = ChannelInfo {
    id: "deliveroo",
    name: "Deliveroo",
    kind: ChannelKind::Delivery,
    default_sample: "order-new.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A Deliveroo channel table (`[channels.deliveroo]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The webhook secret (Developer Portal → your integration → Webhooks; not the API client
    /// secret), newest first.
    pub secrets: Secrets,
    /// The API client id (Developer Portal → your application's credentials), for order
    /// commands (accept, reject, ready). Optional: without it and `client_secret`, webhooks work
    /// and every command fails with `unauthorized`.
    #[serde(default)]
    pub client_id: Option<Identifier>,
    /// The API client secret (not the webhook secret), exchanged with `client_id` for the Order
    /// API's OAuth token.
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The OAuth host (default `https://auth.developers.deliveroo.com`; sandbox credentials:
    /// `https://auth-sandbox.developers.deliveroo.com`).
    #[serde(default)]
    pub auth_base: Option<String>,
    /// The sites run Deliveroo's tablet (tablet-based flow): staff accept on the tablet, and an
    /// `accept` command reports that the order reached the till (sync status `succeeded`, within
    /// 3 minutes) instead of accepting it. Default false: tablet-less, `accept` accepts the order.
    #[serde(default)]
    pub tablet_based: bool,
    /// The Order API's base URL (default `https://api.developers.deliveroo.com`; sandbox
    /// credentials: `https://api-sandbox.developers.deliveroo.com`) and timeout.
    #[serde(flatten)]
    pub api: ApiSettings,
}

/// The Deliveroo connector for one integration.
#[derive(Debug)]
pub struct Deliveroo {
    secrets: Secrets,
    orders: api::OrderApi,
    tablet_based: bool,
}

/// Whether `event` is one of the legacy POS webhook's.
fn is_legacy(event: &str) -> bool {
    LEGACY_EVENTS.contains(&event)
}

#[async_trait::async_trait]
impl Connector for Deliveroo {
    type Settings = Settings;
    /// The body, read once while checking which scheme signed it; `None` when it is not an
    /// envelope (it goes to the quarantine) or for a stored delivery read again.
    type Facts = Option<Envelope>;
    type Message<'v> = Cow<'v, Envelope>;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        // The API client first: it reports `api_base` and `api_timeout_ms`, which the OAuth
        // client shares; a failure of the OAuth client after it can only be `auth_base`.
        let api = ApiClient::new(&settings.api, api::DEFAULT_API_BASE)?;
        let auth = ApiSettings {
            api_base: settings.auth_base,
            api_timeout_ms: settings.api.api_timeout_ms,
        };
        let auth = ApiClient::new(&auth, api::DEFAULT_AUTH_BASE)
            .map_err(|_| SettingsError::setting("auth_base", "not an http(s) URL"))?;
        Ok(Self {
            secrets: settings.secrets,
            orders: api::OrderApi::new(api, auth, settings.client_id, settings.client_secret),
            tablet_based: settings.tablet_based,
        })
    }

    fn command_kinds() -> &'static [CommandKind] {
        commands::KINDS
    }

    /// Accept and reject: 10 minutes; a tablet-based site's accept (its sync status): 3
    /// minutes; ready (its prep stage time): an hour. Counted from `requested_at`, which is after
    /// the order was placed, so the platform's own limit can come first.
    fn command_window(&self, kind: CommandKind) -> Option<Duration> {
        commands::window(kind, self.tablet_based)
    }

    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        commands::execute(&self.orders, self.tablet_based, command).await
    }

    /// The signature covers the sequence GUID and the whole body, and the body names the event,
    /// so everything that decides what a delivery means is signed. The two separators are two
    /// schemes: a legacy event (`new_order`, `cancel_order`) must have been signed with the
    /// legacy one and every other event with `" "`, else 401 `signature_mismatch` (without this,
    /// a GUID ending in `" \n"` could stand in for the other scheme).
    fn verify<'r>(
        &self,
        req: &'r WebhookRequest,
    ) -> Result<Verified<'r, Option<Envelope>>, Rejection> {
        let guid = req
            .headers
            .get(SEQUENCE_HEADER)
            .filter(|guid| !guid.trim().is_empty())
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "sequence_guid_missing",
                    format!("{SEQUENCE_HEADER} is missing; the signature covers it"),
                )
            })?;
        let provided = req.headers.get(SIGNATURE_HEADER);
        let check = |separator: &[u8]| {
            verify_hmac_sha256(
                self.secrets.all(),
                &[guid.as_bytes(), separator, &req.body],
                provided,
                DigestEncoding::Hex,
            )
        };
        let legacy = match check(SEPARATOR) {
            Ok(()) => false,
            Err(SignatureError::Mismatch) => {
                check(LEGACY_SEPARATOR)?;
                true
            }
            Err(e) => return Err(e.into()),
        };
        let envelope = payload::read(&req.body).ok();
        if let Some(envelope) = &envelope
            && is_legacy(&envelope.event) != legacy
        {
            return Err(Rejection::unauthorized(
                "signature_mismatch",
                "the signature's scheme (Order API or legacy POS) is not the event's",
            ));
        }
        Ok(Verified {
            request: req,
            payload: Cow::Borrowed(&req.body),
            facts: envelope,
        })
    }

    /// Deliveroo has no event id, and may send a callback more than once: the key is the SHA-256
    /// of the signed body, so a repeat is a duplicate and any change is a new delivery. The
    /// tenant is the URL's, else the order's site (`location_id`); rider events name no site.
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, Option<Envelope>>,
    ) -> Result<Parsed<Cow<'v, Envelope>>, NormaliseError> {
        let envelope = match &verified.facts {
            Some(envelope) => Cow::Borrowed(envelope),
            None => Cow::Owned(payload::read(&verified.payload)?),
        };
        let order = envelope
            .body
            .as_ref()
            .and_then(|body| body.order.as_ref())
            .or(envelope.order.as_ref());
        let location = order
            .and_then(|order| order.location_id.as_deref())
            .or(envelope.location_id.as_deref())
            .filter(|location| !location.is_empty());
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(location)
            .unwrap_or("_");
        Ok(Parsed {
            id: DeliveryId {
                tenant: tenant.to_owned(),
                external_event_id: format!("sha256:{}", sha256_hex(&verified.payload)),
                topic: envelope.event.clone(),
            },
            message: envelope,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        envelope: Cow<'_, Envelope>,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&envelope, ctx)
    }

    /// Signs as Deliveroo would: the legacy scheme for a legacy event. A request without a
    /// sequence GUID gets one made from its body.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        if req.headers.get(SEQUENCE_HEADER).is_none() {
            let guid = sha256_hex(&req.body)[..32].to_owned();
            req.headers.set(SEQUENCE_HEADER, guid);
        }
        let guid = req
            .headers
            .get(SEQUENCE_HEADER)
            .unwrap_or_default()
            .to_owned();
        let legacy = payload::read(&req.body).is_ok_and(|envelope| is_legacy(&envelope.event));
        let separator = if legacy { LEGACY_SEPARATOR } else { SEPARATOR };
        let digest = sign_hmac_sha256(
            self.secrets.newest(),
            &[guid.as_bytes(), separator, &req.body],
            DigestEncoding::Hex,
        );
        req.headers.set(SIGNATURE_HEADER, digest);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
