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

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, EnrichError, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Identifier, Secret, Secrets, SettingsError};
use o2o_core::signature::{DigestEncoding, SignatureError, sign_hmac_sha256, verify_hmac_sha256};
use o2o_core::{Rejection, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::normalise::{
    CANCELLATION_STATUS_CHANGE, ORDER_STATUS_CHANGE, RETURN_STATUS_CHANGE, Thin, order_status_event,
};
pub use crate::payload::Envelope;

/// The channel id.
pub const CHANNEL_ID: &str = "tiktok-shop";
/// The header carrying the webhook signature (bare lower-case hex, no scheme prefix).
pub const SIGNATURE_HEADER: &str = "Authorization";

static INFO: ChannelInfo = ChannelInfo {
    id: CHANNEL_ID,
    name: "TikTok Shop",
    kind: ChannelKind::SocialShop,
    default_sample: "order-status-awaiting-shipment.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A TikTok Shop channel table (`[channels.tiktok-shop]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app key (Partner Center → App & Service → your app → App key); webhooks are signed
    /// over app key + body.
    pub app_key: Identifier,
    /// The app secret from the same page (newest first; list the previous one too while
    /// rotating); signs webhooks and API calls.
    pub secrets: Secrets,
    /// The shop's seller access token (OAuth token exchange after the seller authorises the
    /// app), sent as x-tts-access-token to Get Order Detail.
    pub access_token: Secret,
    /// The shop's cipher from Get Authorized Shops (`cipher`), a required query parameter of Get
    /// Order Detail.
    pub shop_cipher: String,
    /// The order API's base URL and timeout.
    #[serde(flatten)]
    pub api: ApiSettings,
}

/// The TikTok Shop connector for one app and shop.
#[derive(Debug)]
pub struct TikTokShop {
    secrets: Secrets,
    orders: api::OrderApi,
}

#[async_trait::async_trait]
impl Connector for TikTokShop {
    type Settings = Settings;
    type Facts = ();
    /// The envelope, read once.
    type Message<'v> = Envelope;
    type Thin = Thin;

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        Ok(Self {
            orders: api::OrderApi {
                client: ApiClient::new(&settings.api, api::DEFAULT_API_BASE)?,
                app_key: settings.app_key,
                app_secret: settings.secrets.newest().clone(),
                access_token: settings.access_token,
                shop_cipher: settings.shop_cipher,
            },
            secrets: settings.secrets,
        })
    }

    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        verify_hmac_sha256(
            self.secrets.all(),
            &[self.orders.app_key.as_str().as_bytes(), &req.body],
            req.headers.get(SIGNATURE_HEADER),
            DigestEncoding::Hex,
        )?;
        Ok(Verified::body(req))
    }

    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<Envelope>, NormaliseError> {
        let envelope: Envelope = serde_json::from_slice(&verified.payload)?;
        let tenant = match (&verified.request.path_tenant, &envelope.shop_id) {
            (Some(tenant), _) => tenant.clone(),
            (None, Some(shop)) => shop.0.clone(),
            (None, None) => return Err(NormaliseError::field("shop_id", "missing")),
        };
        let external_event_id = envelope
            .tts_notification_id
            .as_ref()
            .map(|id| id.0.clone())
            .ok_or_else(|| NormaliseError::field("tts_notification_id", "missing"))?;
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id,
                // The numeric type as TikTok sends it ("1", "11", "12"): stable for unknown types.
                topic: envelope.kind.0.clone(),
            },
            message: envelope,
            // The signature covers the whole body, the notification id included.
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        envelope: Envelope,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, NormaliseError> {
        normalise::normalise(&envelope, ctx)
    }

    async fn enrich(
        &self,
        thin: Thin,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, EnrichError> {
        let raw = self.orders.order_detail(&thin.order_id).await?;
        Ok(Normalised::Events(vec![normalise::event(&thin, &raw)?]))
    }

    // `ack`: the default empty 200. [I] The overview documents no reply body; TikTok's general
    // guidance is a quick 200.

    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let signature = sign_hmac_sha256(
            self.secrets.newest(),
            &[self.orders.app_key.as_str().as_bytes(), &req.body],
            DigestEncoding::Hex,
        );
        req.headers.set(SIGNATURE_HEADER, signature);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::event::EventType;
    use o2o_core::pipeline::Outcome;
    use o2o_core::settings::{SettingsTable, parse_settings};
    use o2o_core::{Headers, Timestamp};
    use serde_json::json;

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
            endpoint: None,
            query: String::new(),
            headers,
            body: body.to_vec(),
            received_at: Timestamp::now(),
        }
    }

    /// The connector for app `app_key` with `secrets` (newest first).
    fn tiktok(app_key: &str, secrets: &[&str]) -> TikTokShop {
        let secrets = Secrets::new(secrets.iter().map(|s| Secret::new(*s)).collect())
            .expect("at least one secret");
        TikTokShop::build(Settings {
            app_key: Identifier::new(app_key),
            secrets,
            access_token: Secret::new("TTP_test-token"),
            shop_cipher: "GCP_test".to_owned(),
            api: ApiSettings::default(),
        })
        .expect("the settings build")
    }

    fn code(result: Result<Verified<'_>, Rejection>) -> Result<(), (u16, &'static str)> {
        result.map(|_| ()).map_err(|r| (r.status, r.code))
    }

    #[test]
    fn accepts_the_official_vector() {
        let connector = tiktok("abcdef", &["123"]);
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        assert_eq!(code(connector.verify(&req)), Ok(()));
        // Rotation: the old secret still verifies in second place.
        let rotating = tiktok("abcdef", &["newer-secret", "123"]);
        assert_eq!(code(rotating.verify(&req)), Ok(()));
        // Upper-case hex is the same digest.
        let upper = request(
            OFFICIAL_BODY,
            Some(&OFFICIAL_SIGNATURE.to_ascii_uppercase()),
        );
        assert_eq!(code(connector.verify(&upper)), Ok(()));
        let mut unsigned = request(OFFICIAL_BODY, None);
        connector.sign(&mut unsigned).expect("sign");
        assert_eq!(
            unsigned.headers.get(SIGNATURE_HEADER),
            Some(OFFICIAL_SIGNATURE)
        );
    }

    #[test]
    fn refuses_forged_tampered_wrong_key_and_missing_signatures() {
        let connector = tiktok("abcdef", &["123"]);
        let forged = request(OFFICIAL_BODY, Some(&"0".repeat(64)));
        assert_eq!(
            code(connector.verify(&forged)),
            Err((401, "signature_mismatch"))
        );
        let tampered_body = String::from_utf8_lossy(OFFICIAL_BODY).replace("UNPAID", "CANCEL");
        let tampered = request(tampered_body.as_bytes(), Some(OFFICIAL_SIGNATURE));
        assert_eq!(
            code(connector.verify(&tampered)),
            Err((401, "signature_mismatch"))
        );
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        assert_eq!(
            code(tiktok("abcdeg", &["123"]).verify(&req)),
            Err((401, "signature_mismatch"))
        );
        assert_eq!(
            code(tiktok("abcdef", &["124"]).verify(&req)),
            Err((401, "signature_mismatch"))
        );
        let missing = request(OFFICIAL_BODY, None);
        assert_eq!(
            code(connector.verify(&missing)),
            Err((401, "signature_missing"))
        );
        let bearer = request(OFFICIAL_BODY, Some(&format!("Bearer {OFFICIAL_SIGNATURE}")));
        assert_eq!(
            code(connector.verify(&bearer)),
            Err((401, "signature_malformed"))
        );
    }

    /// TikTok pushes with POST only; the pipeline refuses a GET before `verify`, even one with
    /// a valid signature.
    #[tokio::test]
    async fn a_get_is_refused_with_405() {
        let connector = tiktok("abcdef", &["123"]);
        assert_eq!(TikTokShop::info().get_requests, GetRequests::Never);
        let mut get = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        get.method = "GET".into();
        assert_eq!(connector.handshake(&get), None);
        let pipeline = o2o_testkit::connector::untouched_pipeline();
        let handled = pipeline.ingest(&connector, &get).await;
        match &handled.outcome {
            Outcome::Rejected(r) => assert_eq!(
                (r.status, r.code, r.allow),
                (405, "method_not_allowed", Some("POST"))
            ),
            other => panic!("expected a 405, got {other:?}"),
        }
        assert_eq!(handled.reply.status, 405);
    }

    fn table(value: serde_json::Value) -> SettingsTable {
        match value {
            serde_json::Value::Object(table) => table,
            other => panic!("not a table: {other}"),
        }
    }

    /// What reading and building a `[channels.tiktok-shop]` table says, as at start-up.
    fn start_up(value: serde_json::Value) -> Result<TikTokShop, String> {
        let settings = parse_settings::<Settings>(&table(value), "channels.tiktok-shop")
            .map_err(|e| e.to_string())?;
        TikTokShop::build(settings).map_err(|e| e.within("channels.tiktok-shop").to_string())
    }

    /// A missing app key or an empty secret list used to reach `verify` and `sign` and answer
    /// with a 500 `channel_misconfigured` (or `NoSecret`); now the settings refuse them at
    /// start-up, naming the setting (and never its value).
    #[test]
    fn a_missing_app_key_or_secret_stops_start_up() {
        let complete = json!({
            "app_key": "abcdef",
            "secrets": ["123"],
            "access_token": "TTP_test-token",
            "shop_cipher": "GCP_test",
        });
        let connector = start_up(complete.clone()).expect("a complete table");
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        assert_eq!(code(connector.verify(&req)), Ok(()));
        let without = |setting: &str| {
            let mut value = complete.clone();
            value.as_object_mut().expect("table").remove(setting);
            value
        };
        let with = |setting: &str, v: serde_json::Value| {
            let mut value = complete.clone();
            value[setting] = v;
            value
        };
        assert_eq!(
            start_up(without("app_key")).map(|_| ()),
            Err("channels.tiktok-shop: missing field `app_key`".into())
        );
        assert_eq!(
            start_up(with("app_key", json!(""))).map(|_| ()),
            Err("channels.tiktok-shop.app_key: is empty".into())
        );
        assert_eq!(
            start_up(without("secrets")).map(|_| ()),
            Err("channels.tiktok-shop: missing field `secrets`".into())
        );
        assert_eq!(
            start_up(with("secrets", json!([]))).map(|_| ()),
            Err("channels.tiktok-shop.secrets: lists no secret".into())
        );
        assert!(Secrets::new(vec![]).is_none(), "no secret list is empty");
        // A bad API base is found by `build`, also named.
        assert_eq!(
            start_up(with("api_base", json!("open-api.tiktokglobalshop.com"))).map(|_| ()),
            Err("channels.tiktok-shop.api_base: not a URL".into())
        );
    }

    #[test]
    fn parses_the_official_envelope() {
        let connector = tiktok("abcdef", &["123"]);
        let req = request(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE));
        let verified = connector.verify(&req).expect("verifies");
        assert_eq!(verified.payload.as_ref(), OFFICIAL_BODY, "the raw body");
        let parsed = connector.parse(&verified).expect("parse");
        assert_eq!(parsed.id.tenant, "7495540735365777507");
        assert_eq!(parsed.id.external_event_id, "7380066284010030890");
        assert_eq!(parsed.id.topic, "1");
        let ctx = NormaliseContext {
            received_at: req.received_at,
        };
        // Thin: the reading enrichment completes travels with the delivery.
        assert_eq!(
            connector.normalise(&parsed.id, parsed.message, &ctx),
            Ok(Normalised::Enrich(Thin {
                order_id: "576653688135258178".into(),
                event_type: EventType::OrderCreated,
                status: "UNPAID".into(),
                occurred_at: Timestamp::from_unix_seconds(1_718_305_585).expect("time"),
                refund_id: None,
            }))
        );
        let mut tenant_url = req.clone();
        tenant_url.path_tenant = Some("shop-a".into());
        let verified = Verified::body(&tenant_url);
        let parsed = connector.parse(&verified).expect("parse");
        assert_eq!(parsed.id.tenant, "shop-a");
        let no_id = request(br#"{"type":1,"shop_id":"1","data":{}}"#, None);
        let verified = Verified::body(&no_id);
        assert_eq!(
            connector
                .parse(&verified)
                .map(|p| p.id)
                .map_err(|e| e.to_string()),
            Err("tts_notification_id: missing".into())
        );
    }

    #[test]
    fn acks_with_an_empty_200() {
        let reply = tiktok("abcdef", &["123"]).ack();
        assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    }
}
