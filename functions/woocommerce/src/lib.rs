//! WooCommerce connector: `X-WC-Webhook-Signature` verification, the unsigned activation ping,
//! and normalisation of order webhooks (fat: the REST v3 order, built at delivery time).
//!
//! Source: woocommerce/woocommerce `plugins/woocommerce/includes/class-wc-webhook.php`
//! (`generate_signature`: base64 HMAC-SHA256 of the raw body; `deliver_ping`: form-encoded
//! `webhook_id=<id>`, unsigned, anything but 200 fails activation).
//!
//! Order commands (`fulfil`) go to the store's REST API v3 ([`commands`]).

pub mod commands;
pub mod fulfil;
mod normalise;
mod payload;
pub mod rest;

use o2o_core::GetRequests;
use o2o_core::command::{CallDone, CallFailure, CommandKind, OrderCommand};
use o2o_core::connector::{
    ChannelInfo, Connector, Content, DeliveryId, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Secret, Secrets, SettingsError};
use o2o_core::signature::{BodyHmacHeader, DigestEncoding, SignatureError, sha256_hex};
use o2o_core::{Rejection, Reply, WebhookRequest};
use o2o_enrich::ApiSettings;
use schemars::JsonSchema;
use serde::Deserialize;

/// The header carrying the base64 HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "X-WC-Webhook-Signature";
/// The header naming the topic (`order.updated`); not covered by the signature.
pub const TOPIC_HEADER: &str = "X-WC-Webhook-Topic";

static INFO: ChannelInfo = ChannelInfo {
    id: "woocommerce",
    name: "WooCommerce",
    kind: ChannelKind::WebShop,
    default_sample: "order-created.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A WooCommerce channel table (`[channels.woocommerce]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The webhook's Secret (WooCommerce → Settings → Advanced → Webhooks), newest first.
    pub secrets: Secrets,
    /// Order commands: the site's home URL, `https://` (e.g. `https://shop.example.com`), as its
    /// webhooks name it in `X-WC-Webhook-Source`; the REST API is under it (`/wp-json/wc/v3`).
    /// Without it and the key, commands fail with `unauthorized`.
    #[serde(default)]
    pub site_url: Option<String>,
    /// Order commands: the REST API key's Consumer key (WooCommerce → Settings → Advanced → REST
    /// API → Add key, permissions Read/Write), `ck_…`.
    #[serde(default)]
    pub consumer_key: Option<Secret>,
    /// Order commands: the same key's Consumer secret, `cs_…`.
    #[serde(default)]
    pub consumer_secret: Option<Secret>,
    /// Order commands: record tracking numbers with the official Shipment Tracking extension
    /// (which must be active) rather than in an order note (default false).
    #[serde(default)]
    pub shipment_tracking: bool,
    /// Order commands: the REST API's base URL (default `site_url`) and timeout.
    #[serde(flatten)]
    pub api: ApiSettings,
}

impl Settings {
    /// A table with webhook secrets only (order commands then fail with `unauthorized`).
    pub fn from_secrets(secrets: Secrets) -> Self {
        Self {
            secrets,
            site_url: None,
            consumer_key: None,
            consumer_secret: None,
            shipment_tracking: false,
            api: ApiSettings::default(),
        }
    }
}

/// The WooCommerce connector for one site.
#[derive(Debug)]
pub struct WooCommerce {
    signature: BodyHmacHeader,
    commands: commands::Commands,
}

/// True for the activation ping: an unsigned form body `webhook_id=<digits>`.
fn is_ping(req: &WebhookRequest) -> bool {
    req.method == "POST"
        && req.headers.get(SIGNATURE_HEADER).is_none()
        && req
            .body
            .strip_prefix(b"webhook_id=")
            .is_some_and(|id| !id.is_empty() && id.iter().all(u8::is_ascii_digit))
}

#[async_trait::async_trait]
impl Connector for WooCommerce {
    type Settings = Settings;
    type Facts = ();
    /// The raw body: the REST v3 order, read by `normalise`.
    type Message<'v> = &'v [u8];
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

    fn handshake(&self, req: &WebhookRequest) -> Option<Result<Reply, Rejection>> {
        is_ping(req).then(|| Ok(Reply::empty_ok()))
    }

    /// The signature covers the body only, not the topic header. The one topic whose meaning a
    /// captured body could be given is `order.deleted` (`order.cancelled` from nothing but an
    /// id): a body that is a whole order under it is refused (401 `topic_mismatch`). Refused,
    /// not quarantined: the delivery as presented is not what WooCommerce signed.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        self.signature.verify(req)?;
        if req.headers.get(TOPIC_HEADER) == Some(normalise::ORDER_DELETED)
            && normalise::is_whole_order(&req.body)
        {
            return Err(Rejection::unauthorized(
                "topic_mismatch",
                format!("{TOPIC_HEADER} {}", normalise::DELETED_MISMATCH),
            ));
        }
        Ok(Verified::body(req))
    }

    /// WooCommerce's delivery id changes on every attempt, so the key is derived from the content:
    /// the same order snapshot delivered twice on one topic is one delivery. The site comes from
    /// `X-WC-Webhook-Source`, which is not signed: the content key (the body, without the site)
    /// makes the same snapshot replayed under another site a duplicate too.
    fn parse<'v>(&self, verified: &'v Verified<'_>) -> Result<Parsed<&'v [u8]>, NormaliseError> {
        let headers = &verified.request.headers;
        let source = headers
            .get("X-WC-Webhook-Source")
            .ok_or_else(|| NormaliseError::field("X-WC-Webhook-Source", "missing header"))?;
        let topic = headers
            .get(TOPIC_HEADER)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| NormaliseError::field(TOPIC_HEADER, "missing header"))?;
        Ok(Parsed {
            id: DeliveryId {
                tenant: site_id(source),
                external_event_id: format!("sha256:{}", sha256_hex(&verified.payload)),
                topic: topic.to_owned(),
            },
            message: &verified.payload,
            content: Some(Content::Payload),
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

    /// `fulfil` ([`commands`]).
    fn command_kinds() -> &'static [CommandKind] {
        commands::KINDS
    }

    /// WooCommerce has no time limit for shipping an order.
    fn command_window(&self, _kind: CommandKind) -> Option<std::time::Duration> {
        None
    }

    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        commands::execute(&self.commands, command).await
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
            endpoint: None,
            query: String::new(),
            headers: headers.iter().copied().collect(),
            body: body.to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn woocommerce(secret: &str) -> WooCommerce {
        let secrets = Secrets::new(vec![Secret::new(secret)]).expect("a secret");
        WooCommerce::build(Settings::from_secrets(secrets)).expect("builds")
    }

    /// Official vector: woocommerce/woocommerce `plugins/woocommerce/tests/legacy/unit-tests/webhooks/crud.php`
    /// (`test_generate_signature`: empty secret, payload `secret`).
    #[test]
    fn accepts_the_official_vector() {
        let signature = "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=";
        let req = request(b"secret", &[(SIGNATURE_HEADER, signature)]);
        assert_eq!(woocommerce("").verify(&req).map(|_| ()), Ok(()));
        let mut unsigned = request(b"secret", &[]);
        woocommerce("").sign(&mut unsigned).expect("sign");
        assert_eq!(unsigned.headers.get(SIGNATURE_HEADER), Some(signature));
        let wrong = woocommerce("not-empty").verify(&req).map(|_| ());
        assert_eq!(
            wrong.map_err(|r| (r.status, r.code)),
            Err((401, "signature_mismatch"))
        );
    }

    #[test]
    fn answers_only_the_unsigned_ping_as_a_handshake() {
        let creds = woocommerce("s");
        assert_eq!(
            creds.handshake(&request(b"webhook_id=12", &[])),
            Some(Ok(Reply::empty_ok()))
        );
        assert_eq!(
            creds.handshake(&request(b"webhook_id=12", &[(SIGNATURE_HEADER, "x")])),
            None
        );
        assert_eq!(creds.handshake(&request(b"webhook_id=", &[])), None);
        assert_eq!(creds.handshake(&request(b"webhook_id=1&x=2", &[])), None);
        assert_eq!(creds.handshake(&request(b"{\"id\":1}", &[])), None);
    }

    #[test]
    fn derives_the_key_from_content_not_the_delivery_id() {
        let creds = woocommerce("s");
        let headers = |delivery: &'static str| {
            [
                ("X-WC-Webhook-Source", "https://shop.example.com/"),
                ("X-WC-Webhook-Topic", "order.updated"),
                ("X-WC-Webhook-Delivery-ID", delivery),
            ]
        };
        let id = |body: &[u8], delivery| {
            let req = request(body, &headers(delivery));
            creds.parse(&Verified::body(&req)).expect("parse").id
        };
        let (a, b, c) = (
            id(b"{\"id\":1}", "aaa"),
            id(b"{\"id\":1}", "bbb"),
            id(b"{\"id\":2}", "aaa"),
        );
        assert_eq!(a.tenant, "shop.example.com");
        assert_eq!(a.external_event_id, b.external_event_id);
        assert_ne!(a.external_event_id, c.external_event_id);
    }

    /// `X-WC-Webhook-Topic` is not signed: a whole order (with its status) under `order.deleted`
    /// would become an `order.cancelled`. The genuine deleted body is only an id.
    #[test]
    fn a_whole_order_under_order_deleted_is_refused() {
        let creds = woocommerce("s");
        let signed = |topic: &str, body: &[u8]| {
            let mut req = request(
                body,
                &[
                    ("X-WC-Webhook-Source", "https://shop.example.com/"),
                    (TOPIC_HEADER, topic),
                ],
            );
            creds.sign(&mut req).expect("sign");
            req
        };
        let order = br#"{"id":727,"status":"processing","currency":"USD","line_items":[]}"#;
        let refused = creds
            .verify(&signed("order.deleted", order))
            .map(|_| ())
            .expect_err("refused");
        assert_eq!(
            (refused.status, refused.code, refused.message.as_str()),
            (
                401,
                "topic_mismatch",
                "X-WC-Webhook-Topic order.deleted does not match the signed body: it is a whole order, not a deleted order's id"
            )
        );
        for (topic, body) in [
            ("order.deleted", &br#"{"id":733}"#[..]),
            ("order.updated", &order[..]),
            ("order.deleted", &b"not json"[..]),
        ] {
            assert!(creds.verify(&signed(topic, body)).is_ok(), "{topic}");
        }
        // Read again from a store, the same body stays out of the events.
        let stored = signed("order.deleted", order);
        let (_, normalised) = o2o_testkit::samples::read(&creds, &stored).expect("parse");
        assert_eq!(
            normalised.map(|_| ()).map_err(|e| e.to_string()),
            Err("X-WC-Webhook-Topic: order.deleted does not match the signed body: it is a whole order, not a deleted order's id".to_owned())
        );
        // The site is not signed: the content key (body and topic, no site) catches a replay
        // under another site.
        let verified = Verified::body(&stored);
        let parsed = creds.parse(&verified).expect("parse");
        assert_eq!(parsed.content, Some(Content::Payload));
    }
}
