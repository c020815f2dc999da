//! TikTok Shop (Partner API) connector: `Authorization` verification of webhooks and enrichment
//! of the thin order, cancellation and return notifications with Get Order Detail 202309.
//!
//! Sources: <https://partner.tiktokshop.com/docv2/page/tts-webhooks-overview> (the signature:
//! lower-case hex HMAC-SHA256 with the app secret over `app key + raw body`, in the
//! `Authorization` header; the envelope), the topic pages `1-order-status-change`,
//! `11-cancellation-status-change`, `12-return-status-change`, and `sign-your-api-request` /
//! `get-order-detail-202309` for the API ([`api`]).

pub mod api;
mod normalise;
mod order;
mod payload;

use o2o_core::connector::{
    ChannelInfo, Connector, Delivery, EnrichError, NormaliseContext, NormaliseError, Normalised,
    Setting,
};
use o2o_core::event::ChannelKind;
use o2o_core::signature::{DigestEncoding, SignatureError, sign_hmac_sha256, verify_hmac_sha256};
use o2o_core::{Credentials, Rejection, WebhookRequest};

pub use crate::normalise::{
    CANCELLATION_STATUS_CHANGE, ORDER_STATUS_CHANGE, RETURN_STATUS_CHANGE, order_status_event,
};
use crate::payload::Envelope;

/// The channel id.
pub const CHANNEL_ID: &str = "tiktok-shop";
/// The header carrying the webhook signature (bare lower-case hex, no scheme prefix).
pub const SIGNATURE_HEADER: &str = "Authorization";
/// The setting holding the app key, the prefix of every signed webhook.
pub const APP_KEY_SETTING: &str = "app_key";

static INFO: ChannelInfo = ChannelInfo {
    id: CHANNEL_ID,
    name: "TikTok Shop",
    kind: ChannelKind::SocialShop,
    settings: &[
        Setting {
            name: APP_KEY_SETTING,
            required: true,
            description: "the app key (Partner Center → App & Service → your app → App key); \
                          webhooks are signed over app key + body",
        },
        Setting {
            name: "secrets",
            required: true,
            description: "the app secret from the same page (newest first; list the previous one \
                          too while rotating); signs webhooks and API calls",
        },
        Setting {
            name: "access_token",
            required: true,
            description: "the shop's seller access token (OAuth token exchange after the seller \
                          authorises the app), sent as x-tts-access-token to Get Order Detail",
        },
        Setting {
            name: "shop_cipher",
            required: true,
            description: "the shop's cipher from Get Authorized Shops (`cipher`), a required \
                          query parameter of Get Order Detail",
        },
        Setting {
            name: o2o_enrich::API_BASE_SETTING,
            required: false,
            description: "API base URL; default https://open-api.tiktokglobalshop.com \
                          (tests point it at a local mock)",
        },
        Setting {
            name: o2o_enrich::TIMEOUT_SETTING,
            required: false,
            description: "whole-request timeout of the order API in milliseconds (default 10000)",
        },
    ],
    default_sample: "order-status-awaiting-shipment.http",
};

/// The TikTok Shop connector.
pub struct TikTokShop;

fn app_key(credentials: &Credentials) -> Option<&str> {
    credentials
        .value(APP_KEY_SETTING)
        .map(|s| s.expose())
        .filter(|k| !k.is_empty())
}

#[async_trait::async_trait]
impl Connector for TikTokShop {
    fn info(&self) -> &'static ChannelInfo {
        &INFO
    }

    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection> {
        if req.method != "POST" {
            return Err(Rejection::new(
                405,
                "method_not_allowed",
                "TikTok Shop webhooks are POST requests",
            ));
        }
        let provided = req.headers.get(SIGNATURE_HEADER);
        let Some(app_key) = app_key(credentials) else {
            // A missing signature is still the sender's fault; a missing app key is ours.
            return Err(if provided.is_none_or(|p| p.trim().is_empty()) {
                SignatureError::Missing.into()
            } else {
                Rejection::new(
                    500,
                    "channel_misconfigured",
                    "setting `app_key` is not configured",
                )
            });
        };
        verify_hmac_sha256(
            &credentials.secrets,
            &[app_key.as_bytes(), &req.body],
            provided,
            DigestEncoding::Hex,
        )?;
        Ok(())
    }

    fn parse(&self, req: &WebhookRequest, _: &Credentials) -> Result<Delivery, NormaliseError> {
        let envelope: Envelope = serde_json::from_slice(&req.body)?;
        let tenant = match (&req.path_tenant, envelope.shop_id) {
            (Some(tenant), _) => tenant.clone(),
            (None, Some(shop)) => shop.0,
            (None, None) => return Err(NormaliseError::field("shop_id", "missing")),
        };
        let external_event_id = envelope
            .tts_notification_id
            .map(|id| id.0)
            .ok_or_else(|| NormaliseError::field("tts_notification_id", "missing"))?;
        Ok(Delivery {
            tenant,
            external_event_id,
            // The numeric type as TikTok sends it ("1", "11", "12"): stable for unknown types too.
            topic: envelope.kind.0,
            payload: req.body.clone(),
        })
    }

    fn normalise(
        &self,
        delivery: &Delivery,
        ctx: &NormaliseContext,
    ) -> Result<Normalised, NormaliseError> {
        normalise::normalise(&delivery.payload, ctx)
    }

    async fn enrich(
        &self,
        delivery: &Delivery,
        credentials: &Credentials,
        ctx: &NormaliseContext,
    ) -> Result<Normalised, EnrichError> {
        let permanent = |e: NormaliseError| EnrichError::Permanent(e.0);
        let thin = match normalise::read(&delivery.payload, ctx).map_err(permanent)? {
            Ok(thin) => thin,
            Err(reason) => return Ok(Normalised::Ignored(reason)),
        };
        let raw = api::order_detail(credentials, &thin.order_id).await?;
        let draft = normalise::event(&thin, &raw).map_err(permanent)?;
        Ok(Normalised::Events(vec![draft]))
    }

    // `ack`: the default empty 200. [I] The overview documents no reply body; TikTok's general
    // guidance is a quick 200.

    fn sign(
        &self,
        req: &mut WebhookRequest,
        credentials: &Credentials,
    ) -> Result<(), SignatureError> {
        let newest = credentials
            .secrets
            .first()
            .ok_or(SignatureError::NoSecret)?;
        let app_key = app_key(credentials).ok_or(SignatureError::NoSecret)?;
        let signature = sign_hmac_sha256(
            newest,
            &[app_key.as_bytes(), &req.body],
            DigestEncoding::Hex,
        );
        req.headers.set(SIGNATURE_HEADER, signature);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Headers, Secret, Timestamp};

    /// The exact body of the worked example on
    /// <https://partner.tiktokshop.com/docv2/page/tts-webhooks-overview> (app key `abcdef`,
    /// app secret `123`), signature `5dec0f11…31ac05`.
    const OFFICIAL_BODY: &[u8] = br#"{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507","timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178","order_status":"UNPAID","update_time":1718305585}}"#;
    const OFFICIAL_SIGNATURE: &str =
        "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05";

    fn request(body: &[u8], signature: Option<&str>) -> WebhookRequest {
        let mut headers = Headers::new();
        headers.insert("Content-Type", "application/json");
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

    fn credentials(app_key: Option<&str>, secrets: &[&str]) -> Credentials {
        let mut c = Credentials {
            secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
            ..Default::default()
        };
        if let Some(key) = app_key {
            c.values.insert(APP_KEY_SETTING.into(), Secret::new(key));
        }
        c
    }

    fn code(result: Result<(), Rejection>) -> Result<(), (u16, &'static str)> {
        result.map_err(|r| (r.status, r.code))
    }

    #[test]
    fn accepts_the_official_vector() {
        let creds = credentials(Some("abcdef"), &["123"]);
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        assert_eq!(code(TikTokShop.verify(&req, &creds)), Ok(()));
        // Rotation: the old secret still verifies in second place.
        let rotating = credentials(Some("abcdef"), &["newer-secret", "123"]);
        assert_eq!(code(TikTokShop.verify(&req, &rotating)), Ok(()));
        // Upper-case hex is the same digest.
        let upper = request(
            OFFICIAL_BODY,
            Some(&OFFICIAL_SIGNATURE.to_ascii_uppercase()),
        );
        assert_eq!(code(TikTokShop.verify(&upper, &creds)), Ok(()));
        let mut unsigned = request(OFFICIAL_BODY, None);
        TikTokShop.sign(&mut unsigned, &creds).expect("sign");
        assert_eq!(
            unsigned.headers.get(SIGNATURE_HEADER),
            Some(OFFICIAL_SIGNATURE)
        );
    }

    #[test]
    fn refuses_forged_tampered_wrong_key_and_missing_signatures() {
        let creds = credentials(Some("abcdef"), &["123"]);
        let forged = request(OFFICIAL_BODY, Some(&"0".repeat(64)));
        assert_eq!(
            code(TikTokShop.verify(&forged, &creds)),
            Err((401, "signature_mismatch"))
        );
        let tampered_body = String::from_utf8_lossy(OFFICIAL_BODY).replace("UNPAID", "CANCEL");
        let tampered = request(tampered_body.as_bytes(), Some(OFFICIAL_SIGNATURE));
        assert_eq!(
            code(TikTokShop.verify(&tampered, &creds)),
            Err((401, "signature_mismatch"))
        );
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        let other_app = credentials(Some("abcdeg"), &["123"]);
        assert_eq!(
            code(TikTokShop.verify(&req, &other_app)),
            Err((401, "signature_mismatch"))
        );
        let other_secret = credentials(Some("abcdef"), &["124"]);
        assert_eq!(
            code(TikTokShop.verify(&req, &other_secret)),
            Err((401, "signature_mismatch"))
        );
        let missing = request(OFFICIAL_BODY, None);
        assert_eq!(
            code(TikTokShop.verify(&missing, &creds)),
            Err((401, "signature_missing"))
        );
        let bearer = request(OFFICIAL_BODY, Some(&format!("Bearer {OFFICIAL_SIGNATURE}")));
        assert_eq!(
            code(TikTokShop.verify(&bearer, &creds)),
            Err((401, "signature_malformed"))
        );
        let mut get = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        get.method = "GET".into();
        assert_eq!(
            code(TikTokShop.verify(&get, &creds)),
            Err((405, "method_not_allowed"))
        );
    }

    #[test]
    fn a_missing_app_key_is_our_misconfiguration() {
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        assert_eq!(
            code(TikTokShop.verify(&req, &credentials(None, &["123"]))),
            Err((500, "channel_misconfigured"))
        );
        assert_eq!(
            code(TikTokShop.verify(&request(OFFICIAL_BODY, None), &credentials(None, &["123"]))),
            Err((401, "signature_missing"))
        );
        assert_eq!(
            code(TikTokShop.verify(&req, &credentials(Some("abcdef"), &[]))),
            Err((500, "channel_misconfigured"))
        );
        let mut unsigned = request(OFFICIAL_BODY, None);
        assert_eq!(
            TikTokShop.sign(&mut unsigned, &credentials(None, &["123"])),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn parses_the_official_envelope() {
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        let delivery = TikTokShop
            .parse(&req, &Credentials::default())
            .expect("parse");
        assert_eq!(delivery.tenant, "7495540735365777507");
        assert_eq!(delivery.external_event_id, "7380066284010030890");
        assert_eq!(delivery.topic, "1");
        assert_eq!(delivery.payload, OFFICIAL_BODY);
        let mut tenant_url = req.clone();
        tenant_url.path_tenant = Some("shop-a".into());
        let delivery = TikTokShop
            .parse(&tenant_url, &Credentials::default())
            .expect("parse");
        assert_eq!(delivery.tenant, "shop-a");
        let no_id = request(br#"{"type":1,"shop_id":"1","data":{}}"#, None);
        assert_eq!(
            TikTokShop
                .parse(&no_id, &Credentials::default())
                .map_err(|e| e.0),
            Err("tts_notification_id: missing".into())
        );
    }

    #[test]
    fn acks_with_an_empty_200() {
        let reply = TikTokShop.ack();
        assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    }
}
