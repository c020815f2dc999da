//! Shopify connector: `X-Shopify-Hmac-Sha256` verification and normalisation of order and
//! refund webhooks (fat: the full REST resource is in the body).
//!
//! Sources: <https://shopify.dev/docs/apps/build/webhooks/verify-deliveries> (base64
//! HMAC-SHA256 of the raw body with the app's client secret) and
//! <https://shopify.dev/docs/apps/build/webhooks/delivery-structure> (headers).

mod normalise;
mod payload;

use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Secrets, SettingsError};
use o2o_core::signature::{BodyHmacHeader, DigestEncoding, SignatureError};
use o2o_core::{Rejection, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;

/// The header carrying the base64 HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "X-Shopify-Hmac-Sha256";

static INFO: ChannelInfo = ChannelInfo {
    id: "shopify",
    name: "Shopify",
    kind: ChannelKind::WebShop,
    default_sample: "orders-create.http",
    get_handshake: false,
};

/// A Shopify channel table (`[channels.shopify]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app's client secret (Partner Dashboard → app → Client credentials), newest first;
    /// keep the old one for an hour after rotating.
    pub secrets: Secrets,
}

/// The Shopify connector for one app.
#[derive(Debug)]
pub struct Shopify {
    signature: BodyHmacHeader,
}

#[async_trait::async_trait]
impl Connector for Shopify {
    type Settings = Settings;
    type Facts = ();
    /// The raw body: the REST resource of the topic, read by `normalise`.
    type Message<'v> = &'v [u8];
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        Ok(Self {
            signature: BodyHmacHeader {
                header: SIGNATURE_HEADER,
                encoding: DigestEncoding::Base64,
                secrets: settings.secrets,
            },
        })
    }

    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        self.signature.verify(req)?;
        Ok(Verified::body(req))
    }

    /// The identity is in the headers (shop domain, webhook id, topic); the body is read once,
    /// by `normalise`.
    fn parse<'v>(&self, verified: &'v Verified<'_>) -> Result<Parsed<&'v [u8]>, NormaliseError> {
        let header = |name: &str| {
            verified
                .request
                .headers
                .get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| NormaliseError::field(name, "missing header"))
        };
        Ok(Parsed {
            id: DeliveryId {
                tenant: header("X-Shopify-Shop-Domain")?,
                external_event_id: header("X-Shopify-Webhook-Id")?,
                topic: header("X-Shopify-Topic")?,
            },
            message: &verified.payload,
        })
    }

    fn normalise(
        &self,
        id: &DeliveryId,
        body: &[u8],
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&id.topic, body, ctx)
    }

    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        self.signature.sign(req)
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
            query: String::new(),
            headers,
            body: body.to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn shopify(secrets: &[&str]) -> Shopify {
        let secrets = secrets.iter().map(|s| Secret::new(*s)).collect();
        Shopify::build(Settings {
            secrets: Secrets::new(secrets).expect("a secret"),
        })
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
}
