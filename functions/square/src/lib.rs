//! Square connector: payment, refund and dispute webhooks, verified with
//! `x-square-hmacsha256-signature`.
//!
//! Source: square/square-python-sdk `square/utilities/webhooks_helper.py` @243f83b2 (and
//! developer.squareup.com/docs/webhooks/step3validate): the signature is the base64
//! HMAC-SHA256, keyed with the subscription's signature key (its UTF-8 bytes, as given), of the
//! notification URL exactly as registered followed by the raw body. The URL comes from the
//! settings, never from the request's `Host`. Details and what remains unconfirmed:
//! `docs/platforms/square.md`.

mod normalise;
mod payload;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Secrets, SettingsError};
use o2o_core::signature::{
    DigestEncoding, SignatureError, sha256_hex, sign_hmac_sha256, verify_hmac_sha256,
};
use o2o_core::{Rejection, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;

pub use payload::Envelope;

/// The header carrying the base64 HMAC-SHA256 of the notification URL and the body.
pub const SIGNATURE_HEADER: &str = "x-square-hmacsha256-signature";

static INFO: ChannelInfo = ChannelInfo {
    id: "square",
    name: "Square",
    kind: ChannelKind::Payment,
    default_sample: "payment-updated-completed.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A Square channel table (`[channels.square]`): one webhook subscription.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The subscription's signature key (Developer Console → your application → Webhooks →
    /// Subscriptions → the subscription → Signature key), newest first: list the old one too
    /// while you rotate it.
    pub secrets: Secrets,
    /// The subscription's notification URL, exactly as registered with Square (scheme, host,
    /// path, any query; byte for byte): Square signs it with the body. It is never read from
    /// the request's `Host`.
    pub notification_url: String,
    /// The orders channel these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The Square connector for one webhook subscription.
#[derive(Debug)]
pub struct Square {
    secrets: Secrets,
    notification_url: String,
    link: OrderLink,
}

/// Checks that `url` is an absolute `http(s)` URL with a host, and nothing that Square's
/// console would not have kept as typed (spaces, control characters, a fragment).
fn check_notification_url(url: &str) -> Result<(), SettingsError> {
    let invalid = |problem: &str| SettingsError::setting("notification_url", problem);
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("must be an http:// or https:// URL"))?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(invalid("must name a host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain spaces or control characters"));
    }
    if url.contains('#') {
        return Err(invalid("must not have a fragment"));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Connector for Square {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Envelope;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        settings.link.check()?;
        check_notification_url(&settings.notification_url)?;
        Ok(Self {
            secrets: settings.secrets,
            notification_url: settings.notification_url,
            link: settings.link,
        })
    }

    /// The signature covers the configured URL and every byte of the body; the body names the
    /// event type, its id, the merchant, the payment, its status and amounts. Nothing outside it
    /// decides what a delivery means.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        verify_hmac_sha256(
            self.secrets.all(),
            &[self.notification_url.as_bytes(), &req.body],
            req.headers.get(SIGNATURE_HEADER),
            DigestEncoding::Base64,
        )?;
        Ok(Verified::body(req))
    }

    /// The event id is the body's `event_id` (signed; a retry repeats it), else the body's
    /// SHA-256; the topic is its `type`; the tenant is the URL's, else `merchant_id`.
    fn parse(&self, verified: &Verified<'_, ()>) -> Result<Parsed<Envelope>, NormaliseError> {
        let envelope = payload::read(&verified.payload)?;
        let external_event_id = envelope
            .event_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map_or_else(
                || format!("sha256:{}", sha256_hex(&verified.payload)),
                str::to_owned,
            );
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(envelope.merchant_id.as_deref())
            .filter(|tenant| !tenant.is_empty())
            .unwrap_or("_")
            .to_owned();
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id,
                topic: envelope.event_type.clone(),
            },
            message: envelope,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        envelope: Envelope,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&envelope, &self.link, ctx)
    }

    /// Signs as Square does: the base64 HMAC-SHA256 of the configured URL and the body, with the
    /// newest key.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let digest = sign_hmac_sha256(
            self.secrets.newest(),
            &[self.notification_url.as_bytes(), &req.body],
            DigestEncoding::Base64,
        );
        req.headers.set(SIGNATURE_HEADER, digest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Content, Secret, Timestamp};

    // square/square-python-sdk `tests/utilities/test_webhooks_helper.py` @
    // 243f83b2f6f730d67433494acc69d6a9ead11421: its body, signature, key and URL.
    const SDK_BODY: &str = r#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    const SDK_SIGNATURE: &str = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    const SDK_KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
    const SDK_URL: &str = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";

    fn square(keys: &[&str], url: &str) -> Square {
        let secrets = Secrets::new(keys.iter().map(|k| Secret::new(*k)).collect()).expect("a key");
        Square::build(Settings {
            secrets,
            notification_url: url.to_owned(),
            link: OrderLink::default(),
        })
        .expect("builds")
    }

    fn request(body: &str, signature: Option<&str>) -> WebhookRequest {
        let mut headers = o2o_core::Headers::new();
        if let Some(signature) = signature {
            headers.insert("X-Square-HmacSha256-Signature", signature);
        }
        WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            endpoint: None,
            query: String::new(),
            headers,
            body: body.as_bytes().to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn refusal(connector: &Square, req: &WebhookRequest) -> Option<(u16, &'static str)> {
        connector
            .verify(req)
            .err()
            .map(|rejection| (rejection.status, rejection.code))
    }

    /// `test_signature_validation_pass`, and the vector read as what it is: Square's test
    /// notification, ignored.
    #[test]
    fn accepts_the_sdk_vector_and_ignores_the_test_notification() {
        let connector = square(&[SDK_KEY], SDK_URL);
        let req = request(SDK_BODY, Some(SDK_SIGNATURE));
        let verified = connector.verify(&req).expect("the SDK's vector verifies");
        let parsed = connector.parse(&verified).expect("parses");
        assert_eq!(
            parsed.id,
            DeliveryId {
                tenant: "MLEFBHHSJGVHD".into(),
                external_event_id: "ac3ac95b-f97d-458c-a6e6-18981597e05f".into(),
                topic: "webhooks.test_notification".into(),
            }
        );
        assert_eq!(parsed.content, None::<Content>, "the event id is signed");
        let ctx = NormaliseContext {
            received_at: req.received_at,
        };
        assert_eq!(
            connector.normalise(&parsed.id, parsed.message, &ctx),
            Ok(Normalised::Ignored(
                "event webhooks.test_notification is not mapped".into()
            ))
        );
        let mut signed = request(SDK_BODY, None);
        connector.sign(&mut signed).expect("sign");
        assert_eq!(signed.headers.get(SIGNATURE_HEADER), Some(SDK_SIGNATURE));
    }

    /// `test_signature_validation_url_mismatch`: the URL is signed (here one character short).
    #[test]
    fn another_notification_url_does_not_verify() {
        let other = square(
            &[SDK_KEY],
            "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9",
        );
        let req = request(SDK_BODY, Some(SDK_SIGNATURE));
        assert_eq!(refusal(&other, &req), Some((401, "signature_mismatch")));
        let trailing_slash = square(&[SDK_KEY], &format!("{SDK_URL}/"));
        assert_eq!(
            refusal(&trailing_slash, &req),
            Some((401, "signature_mismatch"))
        );
    }

    /// `test_signature_validation_invalid_signature_key`.
    #[test]
    fn another_key_does_not_verify() {
        let req = request(SDK_BODY, Some(SDK_SIGNATURE));
        assert_eq!(
            refusal(&square(&["MCmhFRxGX82xMwg5FsaoQA"], SDK_URL), &req),
            Some((401, "signature_mismatch"))
        );
    }

    /// `test_signature_validation_body_mismatch` (another `created_at`) and
    /// `test_signature_validation_body_formatted` (the same JSON, indented).
    #[test]
    fn a_changed_or_reformatted_body_does_not_verify() {
        let connector = square(&[SDK_KEY], SDK_URL);
        let changed = SDK_BODY.replace("2022-07-13", "2022-06-13");
        assert_eq!(
            refusal(&connector, &request(&changed, Some(SDK_SIGNATURE))),
            Some((401, "signature_mismatch"))
        );
        let formatted = r#"
        {
            "merchant_id": "MLEFBHHSJGVHD",
            "type": "webhooks.test_notification",
            "event_id": "ac3ac95b-f97d-458c-a6e6-18981597e05f",
            "created_at": "2022-07-13T20:30:59.037339943Z",
            "data": {
              "type": "webhooks",
              "id": "bc368e64-01aa-407e-b46e-3231809b1129"
            }
        }
        "#;
        assert_eq!(
            refusal(&connector, &request(formatted, Some(SDK_SIGNATURE))),
            Some((401, "signature_mismatch"))
        );
    }

    /// `test_signature_validation_invalid_signature_header`: a 20-byte (SHA-1 sized) digest is
    /// not an HMAC-SHA256.
    #[test]
    fn a_missing_or_malformed_signature_is_refused() {
        let connector = square(&[SDK_KEY], SDK_URL);
        assert_eq!(
            refusal(
                &connector,
                &request(SDK_BODY, Some("1z2n3DEJJiUPKcPzQo1ftvbxGdw="))
            ),
            Some((401, "signature_malformed"))
        );
        assert_eq!(
            refusal(&connector, &request(SDK_BODY, Some("not base64!"))),
            Some((401, "signature_malformed"))
        );
        assert_eq!(
            refusal(&connector, &request(SDK_BODY, None)),
            Some((401, "signature_missing"))
        );
    }

    #[test]
    fn every_listed_key_verifies_and_the_newest_signs() {
        let rotating = square(&["new-key", SDK_KEY], SDK_URL);
        assert_eq!(
            refusal(&rotating, &request(SDK_BODY, Some(SDK_SIGNATURE))),
            None
        );
        let mut signed = request(SDK_BODY, None);
        rotating.sign(&mut signed).expect("sign");
        assert_ne!(signed.headers.get(SIGNATURE_HEADER), Some(SDK_SIGNATURE));
        assert_eq!(refusal(&square(&["new-key"], SDK_URL), &signed), None);
    }

    #[test]
    fn the_tenant_is_the_urls_else_the_merchant() {
        let connector = square(&[SDK_KEY], SDK_URL);
        let mut req = request(SDK_BODY, None);
        req.path_tenant = Some("shop-1".into());
        let parsed = connector.parse(&Verified::body(&req)).expect("parses");
        assert_eq!(parsed.id.tenant, "shop-1");
        let anonymous = request(r#"{"type":"x"}"#, None);
        let parsed = connector
            .parse(&Verified::body(&anonymous))
            .expect("parses");
        assert_eq!(parsed.id.tenant, "_");
        assert!(parsed.id.external_event_id.starts_with("sha256:"));
        assert!(
            connector
                .parse(&Verified::body(&request("[]", None)))
                .is_err()
        );
    }

    #[test]
    fn the_notification_url_must_be_an_absolute_http_url() {
        for good in [
            SDK_URL,
            "http://127.0.0.1:8080/webhooks/square",
            "https://edge.example.com/webhooks/square/shop-1?x=1",
        ] {
            assert!(check_notification_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "edge.example.com/webhooks/square",
            "ftp://edge.example.com/",
            "https://",
            "https:///webhooks/square",
            "https://user@edge.example.com/",
            "https://edge.example.com/webhooks square",
            "https://edge.example.com/#x",
        ] {
            let error = check_notification_url(bad).expect_err(bad).to_string();
            assert!(error.starts_with("notification_url: "), "{error}");
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
    }
}
