//! Shopify connector: `X-Shopify-Hmac-Sha256` verification and normalisation of order and
//! refund webhooks (fat: the full REST resource is in the body).
//!
//! Sources: <https://shopify.dev/docs/apps/build/webhooks/verify-deliveries> (base64
//! HMAC-SHA256 of the raw body with the app's client secret) and
//! <https://shopify.dev/docs/apps/build/webhooks/delivery-structure> (headers).
//!
//! Order commands (`fulfil`) go to the GraphQL Admin API ([`commands`]).

pub mod admin;
pub mod body;
pub mod commands;
pub mod fulfil;
mod normalise;
mod payload;
mod topic;

use std::borrow::Cow;

use o2o_core::GetRequests;
use o2o_core::command::{CallDone, CallFailure, CommandKind, OrderCommand};
use o2o_core::connector::{
    ChannelInfo, Connector, Content, DeliveryId, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Secret, Secrets, SettingsError};
use o2o_core::signature::{BodyHmacHeader, DigestEncoding, SignatureError};
use o2o_core::{Rejection, WebhookRequest};
use o2o_enrich::ApiSettings;
use schemars::JsonSchema;
use serde::Deserialize;

/// The header carrying the base64 HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "X-Shopify-Hmac-Sha256";
/// The header naming the topic (`orders/create`); not covered by the signature.
pub const TOPIC_HEADER: &str = "X-Shopify-Topic";

pub use crate::body::Body;
pub use crate::topic::Topic;

static INFO: ChannelInfo = ChannelInfo {
    id: "shopify",
    name: "Shopify",
    kind: ChannelKind::WebShop,
    default_sample: "orders-create.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A Shopify channel table (`[channels.shopify]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app's client secret (Partner Dashboard → app → Client credentials), newest first;
    /// keep the old one for an hour after rotating.
    pub secrets: Secrets,
    /// Order commands: the shop's domain, e.g. `example.myshopify.com`, as Shopify sends it in
    /// `X-Shopify-Shop-Domain` (the `tenant` of its events and commands). Without it and a token
    /// (`admin_access_token` or `client_id`), commands fail with `unauthorized`.
    #[serde(default)]
    pub shop_domain: Option<String>,
    /// Order commands: an Admin API access token of the shop (`shpat_…`) with the scopes
    /// `read_orders`, `read_merchant_managed_fulfillment_orders` and
    /// `write_merchant_managed_fulfillment_orders`. Or set `client_id` instead.
    #[serde(default)]
    pub admin_access_token: Option<Secret>,
    /// Order commands: the app's client ID (Dev Dashboard → app → Settings), for an app of your
    /// own organisation installed on the shop: tokens then come from the client credentials
    /// grant with this ID and the client secret in `secrets`, cached for their 24 hours and
    /// fetched again when refused. Or set `admin_access_token` instead.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Order commands: the Admin API version (default `2026-10`, the latest stable version).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Order commands: the Admin API's base URL (default `https://{shop_domain}`) and timeout.
    #[serde(flatten)]
    pub api: ApiSettings,
}

impl Settings {
    /// A table with webhook secrets only (order commands then fail with `unauthorized`).
    pub fn from_secrets(secrets: Secrets) -> Self {
        Self {
            secrets,
            shop_domain: None,
            admin_access_token: None,
            client_id: None,
            api_version: None,
            api: ApiSettings::default(),
        }
    }
}

/// The Shopify connector for one app.
#[derive(Debug)]
pub struct Shopify {
    signature: BodyHmacHeader,
    commands: commands::Commands,
}

#[async_trait::async_trait]
impl Connector for Shopify {
    type Settings = Settings;
    /// The body, read by `verify` as the resource its topic names (to check that they agree);
    /// `None` for a stored delivery read again, whose body `parse` reads.
    type Facts = Option<Body>;
    /// The body as its topic names it: the REST resource, read once.
    type Message<'v> = Cow<'v, Body>;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        Ok(Self {
            commands: commands::build(&settings)?,
            signature: BodyHmacHeader {
                header: SIGNATURE_HEADER,
                encoding: DigestEncoding::Base64,
                secrets: settings.secrets,
            },
        })
    }

    /// The HMAC covers the body only; the topic header, which decides what the delivery means,
    /// must agree with it ([`body`]). A disagreement is refused with 401 `topic_mismatch`,
    /// like a bad signature: a captured body re-posted under another topic is not what Shopify
    /// signed, so nothing of it is stored (the quarantine is for authenticated content we
    /// cannot read, and this is not authenticated as presented).
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, Option<Body>>, Rejection> {
        self.signature.verify(req)?;
        let Some(topic) = req.headers.get(TOPIC_HEADER) else {
            // `parse` quarantines a delivery without the headers it is keyed on.
            return Ok(Verified::body(req));
        };
        let body = body::read(Topic::parse(topic), &req.body)
            .map_err(|mismatch| Rejection::unauthorized("topic_mismatch", mismatch.message()))?;
        Ok(Verified {
            facts: Some(body),
            ..Verified::body(req)
        })
    }

    /// The identity is in the headers (shop domain, webhook id, topic); the body is the one
    /// `verify` read. The webhook id is not signed either: the content key (topic and body)
    /// makes a captured body re-posted under a fresh id a duplicate of its first delivery.
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, Option<Body>>,
    ) -> Result<Parsed<Cow<'v, Body>>, NormaliseError> {
        let header = |name: &str| {
            verified
                .request
                .headers
                .get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| NormaliseError::field(name, "missing header"))
        };
        let id = DeliveryId {
            tenant: header("X-Shopify-Shop-Domain")?,
            external_event_id: header("X-Shopify-Webhook-Id")?,
            topic: header(TOPIC_HEADER)?,
        };
        let message = match &verified.facts {
            Some(body) => Cow::Borrowed(body),
            // A stored delivery read again: the same check, and a disagreement stays quarantined.
            None => Cow::Owned(
                body::read(Topic::parse(&id.topic), &verified.payload).unwrap_or_else(|mismatch| {
                    Body::Unreadable(NormaliseError::field(TOPIC_HEADER, mismatch.problem()))
                }),
            ),
        };
        Ok(Parsed {
            id,
            message,
            content: Some(Content::Payload),
        })
    }

    fn normalise(
        &self,
        id: &DeliveryId,
        body: Cow<'_, Body>,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&id.topic, &body, ctx)
    }

    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        self.signature.sign(req)
    }

    /// `fulfil` ([`commands`]).
    fn command_kinds() -> &'static [CommandKind] {
        commands::KINDS
    }

    /// Shopify documents no time limit for fulfilling an order.
    fn command_window(&self, _kind: CommandKind) -> Option<std::time::Duration> {
        None
    }

    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        commands::execute(&self.commands, command).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Headers, Secret, Timestamp};

    fn verify(shopify: &Shopify, req: &WebhookRequest) -> Result<(), Rejection> {
        shopify.verify(req).map(|_| ())
    }

    fn request(body: &[u8], signature: Option<&str>) -> WebhookRequest {
        let mut headers = Headers::new();
        if let Some(sig) = signature {
            headers.insert(SIGNATURE_HEADER, sig);
        }
        WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            endpoint: None,
            query: String::new(),
            headers,
            body: body.to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn shopify(secrets: &[&str]) -> Shopify {
        let secrets = secrets.iter().map(|s| Secret::new(*s)).collect();
        Shopify::build(Settings::from_secrets(
            Secrets::new(secrets).expect("a secret"),
        ))
        .expect("builds")
    }

    /// Official vectors: Shopify/shopify-api-js `packages/shopify-api/lib/webhooks/__tests__/validate.test.ts`
    /// (secret `test_secret_key` from `lib/__tests__/test-config.ts`) and Shopify/shopify-api-php
    /// `tests/Webhooks/RegistryTest.php` (secret `steffi` from `tests/BaseTestCase.php`).
    #[test]
    fn accepts_the_official_vectors() {
        let vectors = [
            (
                "test_secret_key",
                &b"{\"foo\": \"bar\"}"[..],
                "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
            ),
            (
                "steffi",
                &b"{\"foo\":\"bar\"}"[..],
                "/Redz4YXHLnSmmSN8grr5/Jl/Ua3d7yX3iWbjb8R8wo=",
            ),
        ];
        for (secret, body, signature) in vectors {
            assert_eq!(
                verify(&shopify(&[secret]), &request(body, Some(signature))),
                Ok(())
            );
            // During rotation the old secret still verifies, in either position.
            assert_eq!(
                verify(
                    &shopify(&["newer", secret]),
                    &request(body, Some(signature))
                ),
                Ok(())
            );
            let mut unsigned = request(body, None);
            shopify(&[secret]).sign(&mut unsigned).expect("sign");
            assert_eq!(unsigned.headers.get(SIGNATURE_HEADER), Some(signature));
        }
    }

    #[test]
    fn refuses_forged_missing_and_tampered_signatures() {
        let creds = shopify(&["test_secret_key"]);
        let forged = verify(
            &creds,
            &request(
                b"{\"foo\": \"bar\"}",
                Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ),
        );
        assert_eq!(
            forged.map_err(|r| (r.status, r.code)),
            Err((401, "signature_mismatch"))
        );
        let missing = verify(&creds, &request(b"{}", None));
        assert_eq!(
            missing.map_err(|r| (r.status, r.code)),
            Err((401, "signature_missing"))
        );
        let tampered = verify(
            &creds,
            &request(
                b"{\"foo\": \"baz\"}",
                Some("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
            ),
        );
        assert_eq!(tampered.map_err(|r| r.code), Err("signature_mismatch"));
    }

    fn signed(topic: &str, body: &str) -> WebhookRequest {
        let mut req = request(body.as_bytes(), None);
        req.headers.insert(TOPIC_HEADER, topic);
        req.headers
            .insert("X-Shopify-Shop-Domain", "shop.myshopify.com");
        req.headers.insert("X-Shopify-Webhook-Id", "w1");
        shopify(&["s"]).sign(&mut req).expect("sign");
        req
    }

    const OPEN_ORDER: &str = r#"{"id":1,"currency":"USD","financial_status":"paid","cancelled_at":null,"line_items":[]}"#;

    /// Issue 13: a signed order body under a topic it does not match is refused before anything
    /// else sees it; under its own topic it is read once and handed to `parse`.
    #[test]
    fn verify_refuses_a_topic_the_signed_body_does_not_match() {
        let connector = shopify(&["s"]);
        let forged = signed("orders/cancelled", OPEN_ORDER);
        let refused = connector.verify(&forged).map(|_| ()).expect_err("refused");
        assert_eq!(
            (refused.status, refused.code, refused.message.as_str()),
            (
                401,
                "topic_mismatch",
                "X-Shopify-Topic orders/cancelled does not match the signed body: cancelled_at is null"
            )
        );

        let genuine = signed("orders/paid", OPEN_ORDER);
        let verified = connector.verify(&genuine).expect("verifies");
        assert!(matches!(verified.facts, Some(Body::Order(_))));
        let parsed = connector.parse(&verified).expect("parse");
        assert!(
            matches!(parsed.message, Cow::Borrowed(Body::Order(_))),
            "parse reuses the body verify read"
        );
        assert_eq!(
            parsed.content,
            Some(Content::Payload),
            "the webhook id is unsigned"
        );

        // An unmapped topic is not read, and not refused.
        let other = signed("customers/create", r#"{"id":7}"#);
        let verified = connector.verify(&other).expect("verifies");
        assert!(matches!(verified.facts, Some(Body::Unmapped)));
    }

    /// A stored delivery read again (`o2o replay`: no facts) gets the same check; a mismatch
    /// stays in the quarantine with a reason naming the header.
    #[test]
    fn a_stored_delivery_is_checked_again_when_read() {
        let connector = shopify(&["s"]);
        let forged = signed("orders/cancelled", OPEN_ORDER);
        let stored = Verified::body(&forged);
        let parsed = connector.parse(&stored).expect("parse");
        let ctx = NormaliseContext {
            received_at: forged.received_at,
        };
        let error = connector
            .normalise(&parsed.id, parsed.message, &ctx)
            .expect_err("kept in the quarantine");
        assert_eq!(
            error.to_string(),
            "X-Shopify-Topic: orders/cancelled does not match the signed body: cancelled_at is null"
        );
    }
}
