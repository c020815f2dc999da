//! DoorDash connector: Marketplace order webhooks (new orders, adjustments, cancellations, the
//! release when the Dasher is near, Dasher status updates) and Drive delivery events.
//!
//! DoorDash signs nothing: it sends the token registered with the webhook subscription in
//! `Authorization` (developer.doordash.com, `docs/marketplace/how_to/order_integration`: the
//! orders webhook "will contain the same authentication header" as the menu-status one, whose page
//! gives `"Authorization": Bearer "your-token"`; Drive, `docs/drive/how_to/webhooks`: "the
//! contents that you'd like DoorDash to send in the HTTP Authorization header"). The token is
//! compared in constant time against every configured one. A 200 to a new order tells DoorDash
//! the order is accepted (`order_integration`, "Confirming Orders"): the pipeline answers 200 only
//! once the event is durably queued, and 503 otherwise, which DoorDash retries (up to 3 times, on
//! 5xx only). With `confirm_by_command` the answer is 202 instead, and the order waits for an
//! `accept` or `reject` command ([`commands`]), sent with a JWT of the developer's access key
//! ([`jwt`]). Details and open points: `docs/platforms/doordash.md`.

pub mod commands;
pub mod jwt;
mod normalise;
mod payload;

use std::borrow::Cow;

use o2o_core::GetRequests;
use o2o_core::command::{CallDone, CallFailure, CommandKind, OrderCommand};
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::money::Currency;
use o2o_core::settings::{Secret, Secrets, SettingsError};
use o2o_core::signature::{SignatureError, sha256_hex, token_matches};
use o2o_core::{Rejection, Reply, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;

pub use payload::{Body, Kind};

/// The header carrying the registered token.
pub const AUTHORIZATION_HEADER: &str = "Authorization";

static INFO: ChannelInfo = ChannelInfo {
    id: "doordash",
    name: "DoorDash",
    kind: ChannelKind::Delivery,
    default_sample: "order-create.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A DoorDash channel table (`[channels.doordash]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The webhook subscriptions' auth tokens (Developer Portal → Webhook Subscriptions →
    /// Auth token; Drive: the `Authorization` contents you entered), newest first. DoorDash sends
    /// one in `Authorization`, with or without `Bearer `.
    pub secrets: Secrets,
    /// The ISO 4217 currency of the stores' amounts (`USD`): DoorDash sends cents without one.
    pub currency: String,
    /// Answer new orders `202` instead of `200`, so that DoorDash waits for the order system's
    /// `accept` or `reject` command (the asynchronous order confirmation) instead of taking the
    /// webhook's answer as the acceptance. Default `false`. Needs `developer_id`, `key_id` and
    /// `signing_secret`.
    #[serde(default)]
    pub confirm_by_command: bool,
    /// The access key's developer id (Developer Portal → Credentials → Access keys), for the order
    /// commands (the JWT's `iss`).
    #[serde(default)]
    pub developer_id: Option<String>,
    /// The access key's key id, for the order commands (the JWT's `kid`).
    #[serde(default)]
    pub key_id: Option<String>,
    /// The access key's signing secret (base64url, as the portal shows it), which signs the JWT of
    /// the order commands.
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    /// The API's base URL (default `https://openapi.doordash.com`) and timeout, for the order
    /// commands.
    #[serde(flatten)]
    pub api: ApiSettings,
}

/// The DoorDash connector for one developer account.
#[derive(Debug)]
pub struct DoorDash {
    tokens: Secrets,
    currency: Currency,
    confirm_by_command: bool,
    commands: commands::Commands,
}

impl DoorDash {
    /// The currency this channel's amounts are in.
    pub fn currency(&self) -> Currency {
        self.currency
    }
}

#[async_trait::async_trait]
impl Connector for DoorDash {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Cow<'v, Body>;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        let currency = Currency::from_code(settings.currency.trim())
            .map_err(|e| SettingsError::setting("currency", e))?;
        let api = ApiClient::new(&settings.api, commands::DEFAULT_API_BASE)?;
        let key = match (
            settings.developer_id.as_deref(),
            settings.key_id.as_deref(),
            settings.signing_secret.as_ref(),
        ) {
            (Some(developer_id), Some(key_id), Some(secret)) => {
                Ok(jwt::AccessKey::new(developer_id, key_id, secret)?)
            }
            (developer_id, key_id, secret) => Err([
                ("developer_id", developer_id.is_none()),
                ("key_id", key_id.is_none()),
                ("signing_secret", secret.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, missing)| missing.then_some(name))
            .collect::<Vec<_>>()),
        };
        if settings.confirm_by_command
            && let Err(missing) = &key
        {
            // A 202 nobody can follow with a confirmation fails every order at DoorDash.
            return Err(SettingsError::setting(
                "confirm_by_command",
                format!("needs {} to confirm orders", missing.join(", ")),
            ));
        }
        Ok(Self {
            tokens: settings.secrets,
            currency,
            confirm_by_command: settings.confirm_by_command,
            commands: commands::Commands { api, key },
        })
    }

    /// The token is the whole authentication: nothing in the body is signed, so whoever holds
    /// it can send anything (see "What the token covers" in the platform doc).
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        let provided = req.headers.get(AUTHORIZATION_HEADER).unwrap_or_default();
        match token_matches(self.tokens.all(), provided) {
            Ok(()) => Ok(Verified::body(req)),
            Err(SignatureError::Missing) => Err(Rejection::unauthorized(
                "token_missing",
                "the Authorization header with the registered token is missing",
            )),
            Err(SignatureError::NoSecret) => Err(SignatureError::NoSecret.into()),
            Err(_) => Err(Rejection::unauthorized(
                "token_mismatch",
                "the Authorization header is not a registered token",
            )),
        }
    }

    /// DoorDash's webhooks carry no event id: each kind is keyed by what identifies it (a new
    /// order by its id; a Dasher status by order, status and time; a Drive event by delivery,
    /// event and time), and an unmapped event by its content. DoorDash retries on 5xx with the
    /// same body, so a retry is a duplicate. The tenant is the URL's, else the merchant's store
    /// id (`store.merchant_supplied_id`; Drive: `pickup_external_store_id`; a Dasher status
    /// update has only DoorDash's `location_id`).
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_>,
    ) -> Result<Parsed<Cow<'v, Body>>, NormaliseError> {
        let body = payload::read(&verified.payload)?;
        let kind = body.kind().ok_or_else(|| {
            NormaliseError::field(
                "payload",
                "not an order, cancellation, release, Dasher status or Drive event",
            )
        })?;
        let content = || format!("sha256:{}", sha256_hex(&verified.payload));
        let text = |id: Option<&o2o_core::ids::IdText>| id.map(|id| id.0.clone());
        let order_id = body.order.as_ref().map(|order| order.id.0.clone());
        let (topic, event_id, store) = match kind {
            Kind::OrderCreate => (
                "OrderCreate".to_owned(),
                order_id.ok_or_else(|| NormaliseError::field("order.id", "missing"))?,
                body.order.as_ref().and_then(|o| o.store.as_ref()),
            ),
            Kind::OrderAdjustment => {
                let at = body.event.as_ref().and_then(|e| e.event_timestamp.clone());
                let id = match (order_id, at) {
                    (Some(order), Some(at)) => format!("{order}@{at}"),
                    _ => content(),
                };
                (
                    "OrderAdjustment".to_owned(),
                    id,
                    body.order.as_ref().and_then(|o| o.store.as_ref()),
                )
            }
            Kind::Cancellation | Kind::Release => (
                if kind == Kind::Cancellation {
                    "order_cancellation"
                } else {
                    "order_release"
                }
                .to_owned(),
                text(body.external_order_id.as_ref()).unwrap_or_else(content),
                body.store.as_ref(),
            ),
            Kind::DasherStatus => {
                let delivery = body.delivery.as_ref();
                let id = match (
                    delivery.and_then(|d| d.external_order_id.as_ref()),
                    delivery.and_then(|d| d.dasher_status.as_deref()),
                    body.created_at.as_deref(),
                ) {
                    (Some(order), Some(status), Some(at)) => format!("{}:{status}@{at}", order.0),
                    _ => content(),
                };
                ("dasher_status_update".to_owned(), id, None)
            }
            Kind::Drive => {
                let name = body.event_name.clone().unwrap_or_default();
                let id = match (&body.external_delivery_id, body.created_at.as_deref()) {
                    (Some(delivery), Some(at)) => format!("{}:{name}@{at}", delivery.0),
                    _ => content(),
                };
                (name, id, None)
            }
            Kind::OtherEvent => (
                body.event
                    .as_ref()
                    .map(|e| e.kind.clone())
                    .unwrap_or_default(),
                content(),
                None,
            ),
        };
        let store = store
            .and_then(|s| text(s.merchant_supplied_id.as_ref()))
            .or_else(|| text(body.pickup_external_store_id.as_ref()))
            .or_else(|| text(body.delivery.as_ref().and_then(|d| d.location_id.as_ref())));
        let tenant = verified
            .request
            .path_tenant
            .clone()
            .or(store)
            .unwrap_or_else(|| "_".to_owned());
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id: event_id,
                topic,
            },
            message: Cow::Owned(body),
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        body: Cow<'_, Body>,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&body, self.currency, ctx)
    }

    /// Accept and reject (the order confirmation), ready (the order ready signal) and cancel.
    fn command_kinds() -> &'static [CommandKind] {
        commands::KINDS
    }

    // `command_window`: none. DoorDash's public pages give no confirmation deadline; past its
    // own, DoorDash answers 400 "order has expired", reported as `rejected`.

    /// Calls the Marketplace API with a JWT of the access key; a command on a channel without
    /// one fails `unauthorized`, naming the missing settings, without a call.
    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        self.commands.execute(command).await
    }

    /// An empty 200, which DoorDash takes as the order's acceptance; with `confirm_by_command`,
    /// an empty 202: the order waits for the `accept` or `reject` command. Every delivery gets
    /// the same answer (the acknowledgement does not depend on the webhook), and DoorDash retries
    /// only on a 5xx, so a 202 to its other webhooks is a plain acknowledgement.
    fn ack(&self) -> Reply {
        if self.confirm_by_command {
            Reply::text(202, "")
        } else {
            Reply::empty_ok()
        }
    }

    /// Sets `Authorization: Bearer <newest token>`, as DoorDash sends it.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let token = self.tokens.newest().expose();
        req.headers
            .set(AUTHORIZATION_HEADER, format!("Bearer {token}"));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
