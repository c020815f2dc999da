//! Youzan (有赞云) connector: push-message verification (`Event-Sign` header or the legacy body
//! `sign`) and normalisation of trade and refund messages (fat: trade messages carry the whole
//! order in `full_order_info`, so nothing is enriched).
//!
//! Sources: youzan/open-sdk-Csharp `Docs/消息推送/推送消息解析.md` and
//! `消息示例-交易消息.md` (Youzan's own copy of the push docs: envelope fields, legacy `sign`,
//! `{"code":0,"msg":"success"}` reply, 5 s timeout, `{"test":true}` health checks); the rest is
//! secondary and cited where used ([`signature`], `normalise`, `docs/platforms/youzan.md`).

mod fulfilment;
pub mod legacy;
mod normalise;
mod payload;
pub mod signature;

use std::borrow::Cow;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, Content, DeliveryId, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Identifier, Secrets, SettingsError};
use o2o_core::signature::{SignatureError, sha256_hex};
use o2o_core::{Rejection, Reply, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

pub use crate::payload::Envelope;
pub use crate::signature::EVENT_SIGN_HEADER;

/// The reply Youzan expects; anything else counts as a failure and is pushed again.
pub const ACK_BODY: &str = r#"{"code":0,"msg":"success"}"#;

static INFO: ChannelInfo = ChannelInfo {
    id: "youzan",
    name: "Youzan",
    kind: ChannelKind::SocialShop,
    default_sample: "trade-paid.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A Youzan channel table (`[channels.youzan]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app's client_id (有赞云控制台 → 应用 → 应用凭证 / app credentials); part of both
    /// signatures and checked against each message's client_id.
    pub client_id: Identifier,
    /// The app's client_secret from the same page (newest first; keep the previous one listed
    /// while Youzan switches over after a reset).
    pub secrets: Secrets,
}

/// The Youzan connector for one app.
#[derive(Debug)]
pub struct Youzan {
    client_id: Identifier,
    secrets: Secrets,
}

/// Youzan's health check: an unsigned `{"test":true}` body (no `msg`, no `sign`, no
/// `Event-Sign`). It carries nothing to verify or queue; it only needs the success reply, or
/// Youzan marks the push URL unhealthy and stops pushing.
fn is_health_check(req: &WebhookRequest) -> bool {
    if req.method != "POST" || signature::event_sign(req).is_some() {
        return false;
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return false;
    };
    let test = matches!(body.get("test"), Some(Value::Bool(true)))
        || matches!(body.get("test"), Some(Value::String(s)) if s == "true");
    let signed = matches!(body.get("sign"), Some(Value::String(s)) if !s.is_empty());
    test && !signed && !body.contains_key("msg")
}

#[async_trait::async_trait]
impl Connector for Youzan {
    type Settings = Settings;
    /// The envelope `verify` read to check `client_id` and the legacy `sign`.
    type Facts = Option<Envelope>;
    type Message<'v> = Cow<'v, Envelope>;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        Ok(Self {
            client_id: settings.client_id,
            secrets: settings.secrets,
        })
    }

    fn handshake(&self, req: &WebhookRequest) -> Option<Result<Reply, Rejection>> {
        is_health_check(req).then(|| Ok(self.ack()))
    }

    /// `Event-Sign` covers the whole body. The legacy `sign` covers `msg` only: the envelope
    /// must then agree with it ([`legacy`]), or the delivery is refused with 401
    /// (`type_mismatch`, `id_mismatch`, `status_mismatch`), like a bad signature, since it is
    /// not what Youzan signed.
    fn verify<'r>(
        &self,
        req: &'r WebhookRequest,
    ) -> Result<Verified<'r, Option<Envelope>>, Rejection> {
        let envelope = signature::verify(req, self.client_id.as_str(), &self.secrets)?;
        if signature::event_sign(req).is_none()
            && let Some(envelope) = &envelope
        {
            legacy::check(envelope).map_err(|d| Rejection::unauthorized(d.code, d.message()))?;
        }
        Ok(Verified {
            facts: envelope,
            ..Verified::body(req)
        })
    }

    /// Tenant: the URL's tenant, else `kdt_id` (the shop). Event id: `msg_id`, else
    /// `{id}:{version}` (older messages have no `msg_id`), else a hash of the body. Under the
    /// legacy `sign` none of these is signed: the content key (type and signed `msg`) makes a
    /// captured message re-posted under a fresh `msg_id` or another shop a duplicate.
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, Option<Envelope>>,
    ) -> Result<Parsed<Cow<'v, Envelope>>, NormaliseError> {
        let legacy = signature::event_sign(verified.request).is_none();
        let envelope = match &verified.facts {
            Some(envelope) => Cow::Borrowed(envelope),
            None => {
                let envelope: Envelope = serde_json::from_slice(&verified.payload)?;
                // A stored delivery read again: the same check as `verify`'s, so a disagreement
                // stays in the quarantine.
                if legacy {
                    legacy::check(&envelope)
                        .map_err(|d| NormaliseError::field(d.field, d.problem()))?;
                }
                Cow::Owned(envelope)
            }
        };
        let tenant = match (&verified.request.path_tenant, &envelope.kdt_id) {
            (Some(tenant), _) => tenant.clone(),
            (None, Some(kdt_id)) => kdt_id.clone(),
            (None, None) if envelope.test => "test".to_owned(),
            (None, None) => return Err(NormaliseError::field("kdt_id", "missing")),
        };
        let topic = match &envelope.kind {
            Some(kind) => kind.clone(),
            None if envelope.test => "test".to_owned(),
            None => return Err(NormaliseError::field("type", "missing")),
        };
        let external_event_id = match (&envelope.msg_id, &envelope.id, &envelope.version) {
            (Some(msg_id), _, _) => msg_id.clone(),
            (None, Some(id), Some(version)) => format!("{id}:{version}"),
            _ => format!("sha256:{}", sha256_hex(&verified.payload)),
        };
        let content = match &envelope.msg {
            Some(Value::String(msg)) if legacy && !envelope.test => {
                Some(Content::Sha256(sha256_hex(msg.as_bytes())))
            }
            _ => None,
        };
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id,
                topic,
            },
            message: envelope,
            content,
        })
    }

    fn normalise(
        &self,
        id: &DeliveryId,
        envelope: Cow<'_, Envelope>,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&id.topic, &envelope, ctx)
    }

    fn ack(&self) -> Reply {
        Reply::json(200, ACK_BODY)
    }

    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        signature::sign(req, self.client_id.as_str(), self.secrets.newest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::pipeline::Outcome;
    use o2o_core::settings::{SettingsTable, parse_settings};
    use o2o_core::{Headers, Timestamp};
    use serde_json::json;

    fn request(body: &str, event_sign: Option<&str>) -> WebhookRequest {
        let mut headers = Headers::new();
        if let Some(sig) = event_sign {
            headers.insert(EVENT_SIGN_HEADER, sig);
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

    /// The connector for app `client_id` with `secrets` (newest first).
    fn youzan(client_id: &str, secrets: &[&str]) -> Youzan {
        let secrets = Secrets::new(secrets.iter().map(|s| o2o_core::Secret::new(*s)).collect())
            .expect("at least one secret");
        Youzan::build(Settings {
            client_id: Identifier::new(client_id),
            secrets,
        })
        .expect("the settings build")
    }

    fn code(
        result: Result<Verified<'_, Option<Envelope>>, Rejection>,
    ) -> Result<(), (u16, &'static str)> {
        result.map(|_| ()).map_err(|r| (r.status, r.code))
    }

    /// Python `hashlib.md5(b"cid123" + body + b"sekret").hexdigest()` for this exact body.
    const HEADER_BODY: &str = r#"{"client_id":"cid123","kdt_id":63077,"msg":"%7B%7D","test":false,"type":"trade_TradeMemoModified"}"#;
    const HEADER_SIGN: &str = "fc2539d3add10daf2f30d8db0eac3259";

    #[test]
    fn event_sign_header_is_md5_of_client_id_body_secret() {
        let connector = youzan("cid123", &["sekret"]);
        assert_eq!(
            signature::digest("cid123", HEADER_BODY.as_bytes(), "sekret"),
            HEADER_SIGN
        );
        assert_eq!(
            code(connector.verify(&request(HEADER_BODY, Some(HEADER_SIGN)))),
            Ok(())
        );
        // Rotation: the previous secret still verifies, in either position.
        let rotated = youzan("cid123", &["newer", "sekret"]);
        assert_eq!(
            code(rotated.verify(&request(HEADER_BODY, Some(HEADER_SIGN)))),
            Ok(())
        );
        let tampered = HEADER_BODY.replace("63077", "63078");
        assert_eq!(
            code(connector.verify(&request(&tampered, Some(HEADER_SIGN)))),
            Err((401, "signature_mismatch"))
        );
        assert_eq!(
            code(youzan("cid123", &["other"]).verify(&request(HEADER_BODY, Some(HEADER_SIGN)))),
            Err((401, "signature_mismatch"))
        );
        assert_eq!(
            code(connector.verify(&request(HEADER_BODY, Some("zz")))),
            Err((401, "signature_malformed"))
        );
    }

    #[test]
    fn verify_hands_the_envelope_it_read_to_parse() {
        let connector = youzan("cid123", &["sekret"]);
        let req = request(HEADER_BODY, Some(HEADER_SIGN));
        let verified = connector.verify(&req).expect("verifies");
        assert_eq!(verified.payload.as_ref(), HEADER_BODY.as_bytes());
        assert!(!verified.payload_differs(), "the payload is the raw body");
        let envelope = verified.facts.as_ref().expect("the envelope verify read");
        assert_eq!(envelope.client_id.as_deref(), Some("cid123"));
        let parsed = connector.parse(&verified).expect("parse");
        assert!(
            matches!(parsed.message, Cow::Borrowed(_)),
            "parse reuses the envelope instead of reading the body again"
        );
        assert_eq!(
            parsed.id,
            DeliveryId {
                tenant: "63077".into(),
                // No msg_id, id or version: a hash of the body.
                external_event_id: format!("sha256:{}", sha256_hex(HEADER_BODY.as_bytes())),
                topic: "trade_TradeMemoModified".into(),
            }
        );
        // A stored delivery read again has no facts: parse reads the payload itself.
        let stored = Verified::body(&req);
        let reread = connector.parse(&stored).expect("parse");
        assert!(matches!(reread.message, Cow::Owned(_)));
        assert_eq!(reread.id, parsed.id);
    }

    #[test]
    fn wrong_app_and_missing_signature() {
        let connector = youzan("cid123", &["sekret"]);
        // Signed with our id and secret, but addressed to another app.
        let other = HEADER_BODY.replace("cid123", "cid999");
        let sig = signature::digest("cid123", other.as_bytes(), "sekret");
        assert_eq!(
            code(connector.verify(&request(&other, Some(&sig)))),
            Err((401, "client_id_mismatch"))
        );
        assert_eq!(
            code(connector.verify(&request(HEADER_BODY, None))),
            Err((401, "signature_missing"))
        );
        assert_eq!(
            code(connector.verify(&request("not json", None))),
            Err((401, "signature_missing"))
        );
    }

    fn table(value: serde_json::Value) -> SettingsTable {
        match value {
            serde_json::Value::Object(table) => table,
            other => panic!("not a table: {other}"),
        }
    }

    /// What `parse_settings` says about a `[channels.youzan]` table.
    fn settings_error(value: serde_json::Value) -> String {
        parse_settings::<Settings>(&table(value), "channels.youzan")
            .expect_err("the table is refused")
            .to_string()
    }

    /// A missing or empty client_id and an empty secret list used to reach `verify` and answer
    /// every delivery with a 500 `channel_misconfigured`; now the settings refuse them at
    /// start-up, naming the setting (and never a value).
    #[test]
    fn a_missing_client_id_or_secret_stops_start_up() {
        let good = parse_settings::<Settings>(
            &table(json!({"client_id": "cid123", "secrets": ["sekret"]})),
            "channels.youzan",
        )
        .expect("a complete table");
        let connector = Youzan::build(good).expect("builds");
        assert_eq!(
            code(connector.verify(&request(HEADER_BODY, Some(HEADER_SIGN)))),
            Ok(())
        );
        assert_eq!(
            settings_error(json!({"client_id": "", "secrets": ["sekret"]})),
            "channels.youzan.client_id: is empty"
        );
        assert_eq!(
            settings_error(json!({"secrets": ["sekret"]})),
            "channels.youzan: missing field `client_id`"
        );
        assert_eq!(
            settings_error(json!({"client_id": "cid123", "secrets": []})),
            "channels.youzan.secrets: lists no secret"
        );
        assert_eq!(
            settings_error(json!({"client_id": "cid123"})),
            "channels.youzan: missing field `secrets`"
        );
        let empty_secret = settings_error(json!({"client_id": "cid123", "secrets": [""]}));
        assert!(
            empty_secret.starts_with("channels.youzan.secrets"),
            "{empty_secret}"
        );
        assert!(empty_secret.ends_with("is empty"), "{empty_secret}");
        assert!(Secrets::new(vec![]).is_none(), "no secret list is empty");
    }

    /// Youzan pushes with POST only; the pipeline refuses anything else before `verify`, even
    /// with a valid signature, and even a health-check body.
    #[tokio::test]
    async fn a_get_is_refused_with_405() {
        let connector = youzan("cid123", &["sekret"]);
        assert_eq!(Youzan::info().get_requests, GetRequests::Never);
        let pipeline = o2o_testkit::connector::untouched_pipeline();
        for (body, sign) in [(HEADER_BODY, Some(HEADER_SIGN)), (r#"{"test":true}"#, None)] {
            let mut get = request(body, sign);
            get.method = "GET".into();
            assert_eq!(connector.handshake(&get), None, "{body}");
            let handled = pipeline.ingest(&connector, &get).await;
            match &handled.outcome {
                Outcome::Rejected(r) => {
                    assert_eq!(
                        (r.status, r.code, r.allow),
                        (405, "method_not_allowed", Some("POST"))
                    )
                }
                other => panic!("{body}: expected a 405, got {other:?}"),
            }
            assert_eq!(handled.reply.status, 405);
        }
    }

    #[test]
    fn answers_only_the_bare_health_check_without_a_signature() {
        let connector = youzan("cid123", &["sekret"]);
        let ack = connector.handshake(&request(r#"{"test":true}"#, None));
        assert_eq!(ack, Some(Ok(Reply::json(200, ACK_BODY))));
        for not_health_check in [
            r#"{"test":false}"#,
            r#"{"test":true,"msg":"%7B%7D"}"#,
            r#"{"test":true,"sign":"00000000000000000000000000000000"}"#,
            "test=true",
        ] {
            assert_eq!(
                connector.handshake(&request(not_health_check, None)),
                None,
                "{not_health_check}"
            );
        }
        assert_eq!(
            connector.handshake(&request(r#"{"test":true}"#, Some(HEADER_SIGN))),
            None
        );
        assert_eq!(connector.ack().content_type, "application/json");
    }

    /// A legacy-signed TradeCreate (`sign` over `msg` only) of order E1, with `kind` as its type.
    fn legacy_delivery(kind: &str, msg_id: &str) -> WebhookRequest {
        let body = format!(
            r#"{{"client_id":"cid123","id":"E1","kdt_id":1,"msg":"MSG","msg_id":"{msg_id}","sign":"","status":"WAIT_BUYER_PAY","test":false,"type":"trade_TradeCreate"}}"#
        )
        .replace("MSG", LEGACY_MSG);
        let mut req = request(&body, None);
        youzan("cid123", &["sekret"]).sign(&mut req).expect("sign");
        // Re-typing after signing: the legacy `sign` covers `msg` only, so it still verifies.
        let text = String::from_utf8(req.body).expect("utf8");
        req.body = text.replace("trade_TradeCreate", kind).into_bytes();
        req
    }

    /// `{"full_order_info":{"order_info":{"tid":"E1","status":"WAIT_BUYER_PAY",…}}}`, URL-encoded.
    const LEGACY_MSG: &str = "%7B%22full_order_info%22%3A%7B%22order_info%22%3A%7B%22tid%22%3A%22E1%22%2C%22status%22%3A%22WAIT_BUYER_PAY%22%2C%22created%22%3A%222025-06-18%2009%3A30%3A12%22%7D%7D%7D";

    /// Issue 13 (a): the legacy `sign` does not cover `type`; a re-typed message is refused by
    /// `verify`, and the genuine one is keyed by its signed `msg` as well as its `msg_id`.
    #[test]
    fn a_legacy_message_re_typed_is_refused_and_the_genuine_one_has_a_content_key() {
        let connector = youzan("cid123", &["sekret"]);
        let genuine = legacy_delivery("trade_TradeCreate", "m1");
        let verified = connector.verify(&genuine).expect("verifies");
        let parsed = connector.parse(&verified).expect("parse");
        assert_eq!(
            parsed.content,
            Some(Content::Sha256(sha256_hex(LEGACY_MSG.as_bytes()))),
            "the content key hashes the signed msg, not the envelope"
        );
        let other_id = legacy_delivery("trade_TradeCreate", "m2");
        let other_verified = connector.verify(&other_id).expect("verifies");
        let reparsed = connector.parse(&other_verified).expect("parse");
        assert_eq!(
            reparsed.content, parsed.content,
            "a fresh msg_id is the same content"
        );

        let forged = legacy_delivery("trade_TradeClose", "m3");
        let refused = connector.verify(&forged).map(|_| ()).expect_err("refused");
        assert_eq!(
            (refused.status, refused.code, refused.message.as_str()),
            (
                401,
                "type_mismatch",
                "type does not match the signed msg: its order is not closed"
            )
        );
        // Read again from a store (no facts), the same check keeps it out of the events.
        assert_eq!(
            connector
                .parse(&Verified::body(&forged))
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err("type: does not match the signed msg: its order is not closed".to_owned())
        );
    }

    /// `Event-Sign` covers the whole body (type and msg_id included): no cross-check, no
    /// content key.
    #[test]
    fn an_event_sign_delivery_needs_no_content_key() {
        let connector = youzan("cid123", &["sekret"]);
        let req = request(HEADER_BODY, Some(HEADER_SIGN));
        let verified = connector.verify(&req).expect("verifies");
        let parsed = connector.parse(&verified).expect("parse");
        assert_eq!(parsed.content, None);
    }
}
