//! Stripe connector: webhook endpoint events (snapshot events) verified with `Stripe-Signature`.
//!
//! Sources: docs.stripe.com/webhooks ("Verify webhook signatures with official libraries",
//! "Verify signatures manually"); stripe/stripe-go `webhook/client.go` @0d4b3764
//! (`ComputeSignature`: HMAC-SHA256 keyed with the signing secret's bytes over
//! `{t}.{payload}`; `parseSignatureHeader`; `DefaultTolerance` 300 s; every `v1` is tried, "multiple
//! signatures will be sent temporarily in the case of a rolled signature secret"), and
//! stripe/stripe-node `src/Webhooks.ts` @0584b27f. Events: docs.stripe.com/api/events. Money:
//! docs.stripe.com/currencies (see [`amount`]). Details, the mapping and what remains unconfirmed:
//! `docs/platforms/stripe.md`.

pub mod amount;
pub mod header;
mod normalise;
pub mod payload;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Secrets, SettingsError};
use o2o_core::signature::{SignatureError, check_timestamp_window};
use o2o_core::{Rejection, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;

pub use header::{SIGNATURE_HEADER, SignatureHeader};
pub use payload::Event;

/// The default replay window, as Stripe's libraries (`DefaultTolerance`, 300 s).
pub const DEFAULT_TOLERANCE_SECS: u32 = 300;
/// The default metadata key of the merchant's order id.
pub const DEFAULT_ORDER_REF_METADATA_KEY: &str = "order_id";
/// Every endpoint signing secret starts with this.
const SECRET_PREFIX: &str = "whsec_";

static INFO: ChannelInfo = ChannelInfo {
    id: "stripe",
    name: "Stripe",
    kind: ChannelKind::Payment,
    default_sample: "payment-intent-succeeded.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

fn default_order_ref_metadata_key() -> String {
    DEFAULT_ORDER_REF_METADATA_KEY.to_owned()
}

fn default_tolerance_secs() -> u32 {
    DEFAULT_TOLERANCE_SECS
}

/// A Stripe channel table (`[channels.stripe]`): one webhook endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The endpoint's signing secrets (`whsec_…`: Dashboard → Developers → Webhooks → the
    /// endpoint → Signing secret; `stripe listen` prints its own), newest first. After a roll
    /// Stripe signs with the old and the new one until the old expires: list both until then.
    pub secrets: Secrets,
    /// The PaymentIntent (and Charge) metadata key holding the merchant's order id; Checkout
    /// Sessions use `client_reference_id` first. Default `order_id`.
    #[serde(default = "default_order_ref_metadata_key")]
    pub order_ref_metadata_key: String,
    /// How far `Stripe-Signature`'s `t` may be from the time of receipt, in seconds (either way).
    /// Default 300, as Stripe's libraries.
    #[serde(default = "default_tolerance_secs")]
    pub tolerance_secs: u32,
    /// The orders these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The Stripe connector for one webhook endpoint.
#[derive(Debug)]
pub struct Stripe {
    secrets: Secrets,
    order_ref_metadata_key: String,
    tolerance_secs: u32,
    link: OrderLink,
}

#[async_trait::async_trait]
impl Connector for Stripe {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Event;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    /// Refuses a secret that is not an endpoint signing secret (an API key `sk_…` pasted by
    /// mistake) or that carries whitespace, an empty metadata key, and a zero window.
    fn build(settings: Settings) -> Result<Self, SettingsError> {
        for secret in settings.secrets.all() {
            let value = secret.expose();
            if !value.starts_with(SECRET_PREFIX) {
                return Err(SettingsError::setting(
                    "secrets",
                    "must be the endpoint's signing secret (whsec_…)",
                ));
            }
            if value.chars().any(char::is_whitespace) {
                return Err(SettingsError::setting("secrets", "contains whitespace"));
            }
        }
        if settings.order_ref_metadata_key.trim().is_empty() {
            return Err(SettingsError::setting("order_ref_metadata_key", "is empty"));
        }
        if settings.tolerance_secs == 0 {
            return Err(SettingsError::setting(
                "tolerance_secs",
                "must be at least 1",
            ));
        }
        settings.link.check()?;
        Ok(Self {
            secrets: settings.secrets,
            order_ref_metadata_key: settings.order_ref_metadata_key,
            tolerance_secs: settings.tolerance_secs,
            link: settings.link,
        })
    }

    /// The signature covers `t` and every byte of the body, and the body names the event, its
    /// id and its account: nothing outside it decides what a delivery means. Checked in this
    /// order: the header is there (`signature_missing`) and readable (`signature_malformed`),
    /// some `v1` matches some secret (`signature_mismatch`), then `t` is within
    /// `tolerance_secs` of the time of receipt (`timestamp_outside_window`), so that a stale
    /// time is only reported for an authentic delivery.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        let value = req
            .headers
            .get(SIGNATURE_HEADER)
            .ok_or(SignatureError::Missing)?;
        let header = SignatureHeader::parse(value)?;
        if !header.matches(self.secrets.all(), &req.body) {
            return Err(SignatureError::Mismatch.into());
        }
        check_timestamp_window(
            header.timestamp,
            req.received_at,
            i64::from(self.tolerance_secs),
        )?;
        Ok(Verified::body(req))
    }

    /// The key is the event's `id` (`evt_…`, signed, the same on every retry); the topic its
    /// `type`; the tenant the URL's, else the connected account a Connect event names, else `_`.
    fn parse(&self, verified: &Verified<'_, ()>) -> Result<Parsed<Event>, NormaliseError> {
        let event: Event = serde_json::from_slice(&verified.payload)?;
        if event.id.trim().is_empty() {
            return Err(NormaliseError::field("id", "missing"));
        }
        if event.kind.trim().is_empty() {
            return Err(NormaliseError::field("type", "missing"));
        }
        let account = event.account.as_deref().filter(|a| !a.trim().is_empty());
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(account)
            .unwrap_or("_");
        Ok(Parsed {
            id: DeliveryId {
                tenant: tenant.to_owned(),
                external_event_id: event.id.clone(),
                topic: event.kind.clone(),
            },
            message: event,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        event: Event,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        let options = normalise::Options {
            order_ref_metadata_key: &self.order_ref_metadata_key,
            link: &self.link,
        };
        normalise::normalise(&event, &options)
    }

    /// Stripe's answer: any 2xx; an empty 200.
    fn ack(&self) -> o2o_core::Reply {
        o2o_core::Reply::empty_ok()
    }

    /// Signs as Stripe would at `req.received_at`, with the newest secret:
    /// `Stripe-Signature: t=<seconds>,v1=<hex>`.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let value = header::header_value(
            self.secrets.newest(),
            req.received_at.unix_seconds(),
            &req.body,
        );
        req.headers.set(SIGNATURE_HEADER, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
