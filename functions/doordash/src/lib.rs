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
//! 5xx only). Details and open points: `docs/platforms/doordash.md`.

mod normalise;
mod payload;

use std::borrow::Cow;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::money::Currency;
use o2o_core::settings::{Secrets, SettingsError};
use o2o_core::signature::{SignatureError, sha256_hex, token_matches};
use o2o_core::{Rejection, WebhookRequest};
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
}

/// The DoorDash connector for one developer account.
#[derive(Debug)]
pub struct DoorDash {
    tokens: Secrets,
    currency: Currency,
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
        Ok(Self {
            tokens: settings.secrets,
            currency,
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

    /// Sets `Authorization: Bearer <newest token>`, as DoorDash sends it.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let token = self.tokens.newest().expose();
        req.headers
            .set(AUTHORIZATION_HEADER, format!("Bearer {token}"));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Secret, Timestamp};

    fn doordash(tokens: &[&str]) -> DoorDash {
        let secrets =
            Secrets::new(tokens.iter().map(|t| Secret::new(*t)).collect()).expect("tokens");
        DoorDash::build(Settings {
            secrets,
            currency: "USD".into(),
        })
        .expect("builds")
    }

    fn request(authorization: Option<&str>) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            endpoint: None,
            query: String::new(),
            headers: authorization
                .map(|value| (AUTHORIZATION_HEADER, value))
                .into_iter()
                .collect(),
            body: br#"{"event":{"type":"OrderCreate","status":"NEW"},"order":{"id":"a"}}"#.to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn refusal(connector: &DoorDash, req: &WebhookRequest) -> Option<(u16, &'static str)> {
        connector.verify(req).err().map(|r| (r.status, r.code))
    }

    #[test]
    fn accepts_every_listed_token_with_or_without_bearer() {
        let connector = doordash(&["tok-new", "tok-old"]);
        for value in ["Bearer tok-new", "Bearer tok-old", "tok-new"] {
            assert_eq!(refusal(&connector, &request(Some(value))), None, "{value}");
        }
        assert_eq!(
            refusal(&connector, &request(Some("Bearer tok-gone"))),
            Some((401, "token_mismatch"))
        );
        assert_eq!(
            refusal(&connector, &request(None)),
            Some((401, "token_missing"))
        );
        let mut signed = request(None);
        connector.sign(&mut signed).expect("sign");
        assert_eq!(
            signed.headers.get(AUTHORIZATION_HEADER),
            Some("Bearer tok-new")
        );
    }

    #[test]
    fn a_currency_that_is_no_iso_code_stops_the_build_naming_it() {
        let secrets = Secrets::new(vec![Secret::new("t")]).expect("tokens");
        let error = DoorDash::build(Settings {
            secrets,
            currency: "DOLLARS".into(),
        })
        .expect_err("refused");
        assert!(error.to_string().starts_with("currency:"), "{error}");
    }
}
