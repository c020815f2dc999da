//! Mollie connector: the classic payment webhooks, unsigned and thin (`id=tr_…`, authenticated by
//! fetching the payment from the Payments API with the account's API key), and the signed
//! next-gen webhooks (`X-Mollie-Signature`, HMAC-SHA256 of the raw body).
//!
//! Sources: docs.mollie.com `reference/webhooks` (classic: "a single POST-parameter called `id`
//! … use that ID to fetch the payment status"; "Since the status is not transmitted in the
//! webhook, fake calls to your webhook will never result in orders being processed without being
//! actually paid"), `overview/webhooks` (when it is called: the statuses `paid`, `authorized`,
//! `expired`, `failed`, `canceled`; a refund reaching `processing`, `refunded` or `failed`; a
//! chargeback), `reference/webhooks-new` and `reference/webhooks-best-practices` (next-gen:
//! events, the signature), `reference/payments-api-webhooks` and the changelog "Add payment and
//! refund webhook events to the Webhooks API" (next-gen `payment.*` and `refund.*` events, "Each
//! event delivers the full entity payload"); mollie/mollie-api-php
//! `src/Webhooks/SignatureValidator.php` @0ab576ed (header `X-Mollie-Signature`, optional
//! `sha256=` prefix, lower-case hex `hash_hmac('sha256', $payload, $secret)`, several secrets
//! during a migration, several signatures). Details and open points: `docs/platforms/mollie.md`.
//!
//! **Dedup.** A classic webhook carries only the payment id, and Mollie posts the same id on
//! every change of the payment (paid, then each refund, each chargeback), so the id alone would
//! turn every later change into a duplicate. Its delivery id is the payment id and the time it
//! was received (`tr_…:{unix ms}`): every post is fetched, and the events of two posts of one
//! state are the same facts with different event ids. Each fact carries its natural key for the
//! consumer: `payment.payment_id` with the event type (a payment is paid or fails once),
//! `refund.external_id` (`re_…`), `payment.dispute.external_id` (`chb_…`). A next-gen event is
//! keyed by its signed `event_…` id.

pub mod api;
mod normalise;
pub mod payload;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, EnrichError, EventDraft, NormaliseContext, NormaliseError,
    Normalised, Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Secret, Secrets, SettingsError};
use o2o_core::signature::{DigestEncoding, SignatureError, sign_hmac_sha256, verify_hmac_sha256};
use o2o_core::{Rejection, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::normalise::{Focus, Mapper, PROVIDER, Thin};
pub use crate::payload::{
    Event, IdProblem, MAX_ID_LEN, PaymentObject, classic_payment_id, is_json, is_payment_id,
    metadata_value,
};

/// The header of the next-gen webhooks' signature.
pub const SIGNATURE_HEADER: &str = "X-Mollie-Signature";
/// The prefix of the signature in that header (optional when verifying, as in Mollie's SDK).
pub const SIGNATURE_PREFIX: &str = "sha256=";
/// The topic of a classic webhook, which names no event.
pub const CLASSIC_TOPIC: &str = "payment";
/// The metadata key of the merchant's order id unless `order_ref_metadata_key` says otherwise.
pub const DEFAULT_ORDER_REF_KEY: &str = "order_id";

static INFO: ChannelInfo = ChannelInfo {
    id: PROVIDER,
    name: "Mollie",
    kind: ChannelKind::Payment,
    default_sample: "payment-paid.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A Mollie channel table (`[channels.mollie]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The API key of the Mollie account (Dashboard → Developers → API keys: `live_…`, or
    /// `test_…` for test-mode payments, which a live key cannot see), or an organization access
    /// token with `payments.read`. Enrichment fetches every payment a classic webhook names with
    /// it: the fetch is what authenticates those unsigned webhooks.
    pub api_key: Secret,
    /// The signing secrets of the next-gen webhooks, newest first (Dashboard → Developers →
    /// Webhooks, shown once per webhook subscription; list the previous one too while rotating).
    /// Unset: only classic webhooks are accepted, and a signed one is refused.
    #[serde(default)]
    pub secrets: Option<Secrets>,
    /// The key of the payment's `metadata` that holds the merchant's order id (default
    /// `order_id`): it becomes `payment.order_ref`.
    #[serde(default)]
    pub order_ref_metadata_key: Option<String>,
    /// The Payments API's base URL (default `https://api.mollie.com`) and timeout.
    #[serde(flatten)]
    pub api: ApiSettings,
    /// The channel (and tenant) whose orders these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The Mollie connector for one account.
#[derive(Debug)]
pub struct Mollie {
    secrets: Option<Secrets>,
    payments: api::PaymentsApi,
    mapper: Mapper,
}

/// A Mollie delivery, read once.
#[derive(Debug, Clone)]
pub enum Message {
    /// A classic webhook: the payment it names.
    Classic {
        /// `tr_…`.
        payment_id: String,
    },
    /// A next-gen event.
    Event(Event),
}

#[async_trait::async_trait]
impl Connector for Mollie {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Message;
    type Thin = Thin;

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        settings.link.check()?;
        let key = settings.api_key.expose();
        if key.trim().is_empty() || key.trim() != key {
            return Err(SettingsError::setting(
                "api_key",
                "must not be empty or have spaces around it",
            ));
        }
        let order_ref_key = match settings.order_ref_metadata_key {
            None => DEFAULT_ORDER_REF_KEY.to_owned(),
            Some(key) if key.trim().is_empty() => {
                return Err(SettingsError::setting(
                    "order_ref_metadata_key",
                    "must not be empty",
                ));
            }
            Some(key) => key,
        };
        let client = ApiClient::new(&settings.api, api::DEFAULT_API_BASE)?;
        Ok(Self {
            secrets: settings.secrets,
            payments: api::PaymentsApi::new(client, settings.api_key),
            mapper: Mapper {
                order_ref_key,
                link: settings.link,
            },
        })
    }

    /// A delivery with an `X-Mollie-Signature`, or a JSON body, is a next-gen event: the
    /// signature must match the raw body under one of `secrets`. Anything else is a classic
    /// webhook, which Mollie does not sign: only its shape is checked here (a form whose `id` is
    /// a payment id), and nothing but that id is read from it; enrichment fetches the payment.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        let signatures: Vec<&str> = req
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(SIGNATURE_HEADER))
            // API Gateway joins repeated headers with commas.
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .collect();
        let has_header = req.headers.get(SIGNATURE_HEADER).is_some();
        if !has_header && !is_json(&req.body) {
            return match classic_payment_id(&req.body) {
                Ok(_) => Ok(Verified::body(req)),
                Err(IdProblem::Missing) => Err(Rejection::bad_request(
                    "payment_id_missing",
                    "the form body has no `id` field",
                )),
                Err(IdProblem::Malformed) => Err(Rejection::bad_request(
                    "payment_id_malformed",
                    "`id` is not a Mollie payment id (tr_ and letters or digits)",
                )),
            };
        }
        if signatures.is_empty() {
            return Err(SignatureError::Missing.into());
        }
        let Some(secrets) = &self.secrets else {
            return Err(Rejection::unauthorized(
                "next_gen_not_configured",
                "signed (next-gen) Mollie webhooks need `secrets` on this channel",
            ));
        };
        verify_signatures(secrets.all(), &req.body, &signatures)?;
        Ok(Verified::body(req))
    }

    /// A next-gen event is keyed by its signed `id` and `type`; a classic webhook by its
    /// payment id and the time it was received (see the crate docs). The tenant is the URL's,
    /// else `_`: a classic webhook names no account before the fetch, and both kinds of webhook
    /// of one payment must share its message group.
    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<Message>, NormaliseError> {
        let req = verified.request;
        let tenant = req.path_tenant.clone().unwrap_or_else(|| "_".to_owned());
        if is_json(&verified.payload) {
            let event: Event = serde_json::from_slice(&verified.payload)?;
            if event.id.trim().is_empty() {
                return Err(NormaliseError::field("id", "empty"));
            }
            if event.event_type.trim().is_empty() {
                return Err(NormaliseError::field("type", "empty"));
            }
            return Ok(Parsed {
                id: DeliveryId {
                    tenant,
                    external_event_id: event.id.clone(),
                    topic: event.event_type.clone(),
                },
                message: Message::Event(event),
                content: None,
            });
        }
        let payment_id = classic_payment_id(&verified.payload)
            .map_err(|_| NormaliseError::field("id", "not a payment id"))?;
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id: format!("{payment_id}:{}", req.received_at.unix_millis()),
                topic: CLASSIC_TOPIC.to_owned(),
            },
            message: Message::Classic { payment_id },
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        message: Message,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, NormaliseError> {
        match message {
            Message::Classic { payment_id } => Ok(Normalised::Enrich(Thin {
                payment_id,
                focus: Focus::Everything,
            })),
            Message::Event(event) => self.mapper.event(&event),
        }
    }

    /// Fetches the payment with its refunds and chargebacks; what it shows is the truth.
    async fn enrich(
        &self,
        thin: Thin,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, EnrichError> {
        let payment = self.payments.fetch_payment(&thin.payment_id).await?;
        Ok(self.mapper.fetched(&payment, &thin.focus)?)
    }

    /// A payment event is identified by what it reports: the payment, the event type, and the
    /// refund or chargeback. Classic webhooks repeat the same payment id on every change and
    /// each post is fetched, so the same fact can be reported twice (and by a next-gen event
    /// too): it then has one event id, and the queue drops the second.
    fn event_identity(&self, draft: &EventDraft) -> Option<String> {
        let payment = draft.payment.as_ref()?;
        let payment_id = payment.payment_id.as_deref()?;
        let detail = draft
            .refund
            .as_ref()
            .and_then(|refund| refund.external_id.as_deref())
            .or_else(|| {
                payment
                    .dispute
                    .as_ref()
                    .and_then(|dispute| dispute.external_id.as_deref())
            })
            .unwrap_or_default();
        Some(format!(
            "{payment_id}:{}:{detail}",
            draft.event_type.as_str()
        ))
    }

    // `ack`: the default empty 200 ("you only have to return the HTTP-status 200 OK").

    /// Signs a next-gen event (a JSON body) with the newest secret; a classic webhook is not
    /// signed.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        if !is_json(&req.body) {
            return Ok(());
        }
        let secrets = self.secrets.as_ref().ok_or(SignatureError::NoSecret)?;
        let digest = sign_hmac_sha256(secrets.newest(), &[&req.body], DigestEncoding::Hex);
        req.headers
            .set(SIGNATURE_HEADER, format!("{SIGNATURE_PREFIX}{digest}"));
        Ok(())
    }
}

/// Checks every signature (with or without its `sha256=` prefix) against every secret: any
/// match passes. The error is the most telling one: a mismatch, else a malformed value.
fn verify_signatures(
    secrets: &[Secret],
    body: &[u8],
    signatures: &[&str],
) -> Result<(), SignatureError> {
    let mut error = SignatureError::Missing;
    for signature in signatures {
        let hex = signature
            .strip_prefix(SIGNATURE_PREFIX)
            .unwrap_or(signature);
        match verify_hmac_sha256(secrets, &[body], Some(hex), DigestEncoding::Hex) {
            Ok(()) => return Ok(()),
            Err(SignatureError::Mismatch) => error = SignatureError::Mismatch,
            // A value that is there but is no digest (`sha256=` alone, not hex, too short).
            Err(_) if error == SignatureError::Missing => error = SignatureError::Malformed,
            Err(_) => {}
        }
    }
    Err(error)
}

#[cfg(test)]
mod tests;
