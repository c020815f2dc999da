//! Shopify connector: `X-Shopify-Hmac-Sha256` verification and normalisation of order and
//! refund webhooks (fat: the full REST resource is in the body).
//!
//! Sources: <https://shopify.dev/docs/apps/build/webhooks/verify-deliveries> (base64
//! HMAC-SHA256 of the raw body with the app's client secret) and
//! <https://shopify.dev/docs/apps/build/webhooks/delivery-structure> (headers).

mod normalise;
mod payload;

use o2o_core::connector::{
    ChannelInfo, Connector, Delivery, NormaliseContext, NormaliseError, Normalised, Setting,
};
use o2o_core::event::ChannelKind;
use o2o_core::signature::{
    DigestEncoding, SignatureError, sign_body_hmac_header, verify_body_hmac_header,
};
use o2o_core::{Credentials, Rejection, WebhookRequest};

/// The header carrying the base64 HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "X-Shopify-Hmac-Sha256";

static INFO: ChannelInfo = ChannelInfo {
    id: "shopify",
    name: "Shopify",
    kind: ChannelKind::WebShop,
    settings: &[Setting {
        name: "secrets",
        required: true,
        description: "the app's client secret (newest first; keep the old one for an hour after rotating)",
    }],
    default_sample: "orders-create.http",
};

/// The Shopify connector.
pub struct Shopify;

impl Connector for Shopify {
    fn info(&self) -> &'static ChannelInfo {
        &INFO
    }

    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection> {
        if req.method != "POST" {
            return Err(Rejection::new(
                405,
                "method_not_allowed",
                "Shopify webhooks are POST requests",
            ));
        }
        verify_body_hmac_header(
            &req.headers,
            &req.body,
            SIGNATURE_HEADER,
            &credentials.secrets,
            DigestEncoding::Base64,
        )?;
        Ok(())
    }

    fn parse(&self, req: &WebhookRequest, _: &Credentials) -> Result<Delivery, NormaliseError> {
        let header = |name: &str| {
            req.headers
                .get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| NormaliseError::field(name, "missing header"))
        };
        Ok(Delivery {
            tenant: header("X-Shopify-Shop-Domain")?,
            external_event_id: header("X-Shopify-Webhook-Id")?,
            topic: header("X-Shopify-Topic")?,
            payload: req.body.clone(),
        })
    }

    fn normalise(
        &self,
        delivery: &Delivery,
        ctx: &NormaliseContext,
    ) -> Result<Normalised, NormaliseError> {
        normalise::normalise(delivery, ctx)
    }

    fn sign(
        &self,
        req: &mut WebhookRequest,
        credentials: &Credentials,
    ) -> Result<(), SignatureError> {
        sign_body_hmac_header(
            &mut req.headers,
            &req.body,
            SIGNATURE_HEADER,
            &credentials.secrets,
            DigestEncoding::Base64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Headers, Secret, Timestamp};

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

    fn credentials(secrets: &[&str]) -> Credentials {
        Credentials {
            secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
            ..Default::default()
        }
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
                Shopify.verify(&request(body, Some(signature)), &credentials(&[secret])),
                Ok(())
            );
            // During rotation the old secret still verifies, in either position.
            assert_eq!(
                Shopify.verify(
                    &request(body, Some(signature)),
                    &credentials(&["newer", secret])
                ),
                Ok(())
            );
            let mut unsigned = request(body, None);
            Shopify
                .sign(&mut unsigned, &credentials(&[secret]))
                .expect("sign");
            assert_eq!(unsigned.headers.get(SIGNATURE_HEADER), Some(signature));
        }
    }

    #[test]
    fn refuses_forged_missing_and_tampered_signatures() {
        let creds = credentials(&["test_secret_key"]);
        let forged = Shopify.verify(
            &request(
                b"{\"foo\": \"bar\"}",
                Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ),
            &creds,
        );
        assert_eq!(
            forged.map_err(|r| (r.status, r.code)),
            Err((401, "signature_mismatch"))
        );
        let missing = Shopify.verify(&request(b"{}", None), &creds);
        assert_eq!(
            missing.map_err(|r| (r.status, r.code)),
            Err((401, "signature_missing"))
        );
        let tampered = Shopify.verify(
            &request(
                b"{\"foo\": \"baz\"}",
                Some("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
            ),
            &creds,
        );
        assert_eq!(tampered.map_err(|r| r.code), Err("signature_mismatch"));
    }
}
