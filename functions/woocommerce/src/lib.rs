//! WooCommerce connector: `X-WC-Webhook-Signature` verification, the unsigned activation ping,
//! and normalisation of order webhooks (fat: the REST v3 order, built at delivery time).
//!
//! Source: woocommerce/woocommerce `plugins/woocommerce/includes/class-wc-webhook.php`
//! (`generate_signature`: base64 HMAC-SHA256 of the raw body; `deliver_ping`: form-encoded
//! `webhook_id=<id>`, unsigned, anything but 200 fails activation).

mod normalise;
mod payload;

use o2o_core::connector::{
    ChannelInfo, Connector, Delivery, NormaliseContext, NormaliseError, Normalised, Setting,
};
use o2o_core::event::ChannelKind;
use o2o_core::signature::{
    DigestEncoding, SignatureError, sha256_hex, sign_body_hmac_header, verify_body_hmac_header,
};
use o2o_core::{Credentials, Rejection, Reply, WebhookRequest};

/// The header carrying the base64 HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "X-WC-Webhook-Signature";

static INFO: ChannelInfo = ChannelInfo {
    id: "woocommerce",
    name: "WooCommerce",
    kind: ChannelKind::WebShop,
    settings: &[Setting {
        name: "secrets",
        required: true,
        description: "the webhook's Secret (WooCommerce → Settings → Advanced → Webhooks); newest first",
    }],
    default_sample: "order-created.http",
};

/// The WooCommerce connector.
pub struct WooCommerce;

/// True for the activation ping: an unsigned form body `webhook_id=<digits>`.
fn is_ping(req: &WebhookRequest) -> bool {
    req.headers.get(SIGNATURE_HEADER).is_none()
        && req
            .body
            .strip_prefix(b"webhook_id=")
            .is_some_and(|id| !id.is_empty() && id.iter().all(u8::is_ascii_digit))
}

impl Connector for WooCommerce {
    fn info(&self) -> &'static ChannelInfo {
        &INFO
    }

    fn handshake(&self, req: &WebhookRequest, _: &Credentials) -> Option<Result<Reply, Rejection>> {
        is_ping(req).then(|| Ok(Reply::empty_ok()))
    }

    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection> {
        if req.method != "POST" {
            return Err(Rejection::new(
                405,
                "method_not_allowed",
                "WooCommerce webhooks are POST requests",
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

    /// WooCommerce's delivery id changes on every attempt, so the key is derived from the content:
    /// the same order snapshot delivered twice on one topic is one delivery.
    fn parse(&self, req: &WebhookRequest, _: &Credentials) -> Result<Delivery, NormaliseError> {
        let source = req
            .headers
            .get("X-WC-Webhook-Source")
            .ok_or_else(|| NormaliseError::field("X-WC-Webhook-Source", "missing header"))?;
        let topic = req
            .headers
            .get("X-WC-Webhook-Topic")
            .filter(|t| !t.is_empty());
        Ok(Delivery {
            tenant: site_id(source),
            external_event_id: format!("sha256:{}", sha256_hex(&req.body)),
            topic: topic
                .ok_or_else(|| NormaliseError::field("X-WC-Webhook-Topic", "missing header"))?
                .to_owned(),
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

/// The site's home URL without scheme or trailing slash: `shop.example.com/fr`.
fn site_id(source: &str) -> String {
    let without_scheme = source.split_once("://").map_or(source, |(_, rest)| rest);
    without_scheme.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Secret, Timestamp};

    fn request(body: &[u8], headers: &[(&str, &str)]) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            query: String::new(),
            headers: headers.iter().copied().collect(),
            body: body.to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn credentials(secret: &str) -> Credentials {
        Credentials {
            secrets: vec![Secret::new(secret)],
            ..Default::default()
        }
    }

    /// Official vector: woocommerce/woocommerce `plugins/woocommerce/tests/legacy/unit-tests/webhooks/crud.php`
    /// (`test_generate_signature`: empty secret, payload `secret`).
    #[test]
    fn accepts_the_official_vector() {
        let signature = "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=";
        let req = request(b"secret", &[(SIGNATURE_HEADER, signature)]);
        assert_eq!(WooCommerce.verify(&req, &credentials("")), Ok(()));
        let mut unsigned = request(b"secret", &[]);
        WooCommerce
            .sign(&mut unsigned, &credentials(""))
            .expect("sign");
        assert_eq!(unsigned.headers.get(SIGNATURE_HEADER), Some(signature));
        let wrong = WooCommerce.verify(&req, &credentials("not-empty"));
        assert_eq!(
            wrong.map_err(|r| (r.status, r.code)),
            Err((401, "signature_mismatch"))
        );
    }

    #[test]
    fn answers_only_the_unsigned_ping_as_a_handshake() {
        let creds = credentials("s");
        assert_eq!(
            WooCommerce.handshake(&request(b"webhook_id=12", &[]), &creds),
            Some(Ok(Reply::empty_ok()))
        );
        assert_eq!(
            WooCommerce.handshake(
                &request(b"webhook_id=12", &[(SIGNATURE_HEADER, "x")]),
                &creds
            ),
            None
        );
        assert_eq!(
            WooCommerce.handshake(&request(b"webhook_id=", &[]), &creds),
            None
        );
        assert_eq!(
            WooCommerce.handshake(&request(b"webhook_id=1&x=2", &[]), &creds),
            None
        );
        assert_eq!(
            WooCommerce.handshake(&request(b"{\"id\":1}", &[]), &creds),
            None
        );
    }

    #[test]
    fn derives_the_key_from_content_not_the_delivery_id() {
        let creds = credentials("s");
        let headers = |delivery: &'static str| {
            [
                ("X-WC-Webhook-Source", "https://shop.example.com/"),
                ("X-WC-Webhook-Topic", "order.updated"),
                ("X-WC-Webhook-Delivery-ID", delivery),
            ]
        };
        let a = WooCommerce
            .parse(&request(b"{\"id\":1}", &headers("aaa")), &creds)
            .expect("parse");
        let b = WooCommerce
            .parse(&request(b"{\"id\":1}", &headers("bbb")), &creds)
            .expect("parse");
        let c = WooCommerce
            .parse(&request(b"{\"id\":2}", &headers("aaa")), &creds)
            .expect("parse");
        assert_eq!(a.tenant, "shop.example.com");
        assert_eq!(a.external_event_id, b.external_event_id);
        assert_ne!(a.external_event_id, c.external_event_id);
    }
}
