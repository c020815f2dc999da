//! Youzan (有赞云) connector: push-message verification (`Event-Sign` header or the legacy body
//! `sign`) and normalisation of trade and refund messages (fat: trade messages carry the whole
//! order in `full_order_info`, so nothing is enriched).
//!
//! Sources: youzan/open-sdk-Csharp `Docs/消息推送/推送消息解析.md` and
//! `消息示例-交易消息.md` (Youzan's own copy of the push docs: envelope fields, legacy `sign`,
//! `{"code":0,"msg":"success"}` reply, 5 s timeout, `{"test":true}` health checks); the rest is
//! secondary and cited where used ([`signature`], `normalise`, `docs/platforms/youzan.md`).

mod fulfilment;
mod normalise;
mod payload;
pub mod signature;

use o2o_core::connector::{
    ChannelInfo, Connector, Delivery, NormaliseContext, NormaliseError, Normalised, Setting,
};
use o2o_core::event::ChannelKind;
use o2o_core::signature::{SignatureError, sha256_hex};
use o2o_core::{Credentials, Rejection, Reply, WebhookRequest};
use serde_json::Value;

use crate::payload::Envelope;
pub use crate::signature::{CLIENT_ID_SETTING, EVENT_SIGN_HEADER};

/// The reply Youzan expects; anything else counts as a failure and is pushed again.
pub const ACK_BODY: &str = r#"{"code":0,"msg":"success"}"#;

static INFO: ChannelInfo = ChannelInfo {
    id: "youzan",
    name: "Youzan",
    kind: ChannelKind::SocialShop,
    settings: &[
        Setting {
            name: CLIENT_ID_SETTING,
            required: true,
            description: "the app's client_id (有赞云控制台 → 应用 → 应用凭证 / app credentials); \
                          part of both signatures and checked against each message's client_id",
        },
        Setting {
            name: "secrets",
            required: true,
            description: "the app's client_secret from the same page (newest first; keep the \
                          previous one listed while Youzan switches over after a reset)",
        },
    ],
    default_sample: "trade-paid.http",
};

/// The Youzan connector.
pub struct Youzan;

/// Youzan's health check: an unsigned `{"test":true}` body (no `msg`, no `sign`, no
/// `Event-Sign`). It carries nothing to verify or queue; it only needs the success reply, or
/// Youzan marks the push URL unhealthy and stops pushing.
fn is_health_check(req: &WebhookRequest) -> bool {
    if signature::event_sign(req).is_some() {
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

impl Connector for Youzan {
    fn info(&self) -> &'static ChannelInfo {
        &INFO
    }

    fn handshake(&self, req: &WebhookRequest, _: &Credentials) -> Option<Result<Reply, Rejection>> {
        (req.method == "POST" && is_health_check(req)).then(|| Ok(self.ack()))
    }

    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection> {
        if req.method != "POST" {
            return Err(Rejection::new(
                405,
                "method_not_allowed",
                "Youzan push messages are POST requests",
            ));
        }
        signature::verify(req, credentials)
    }

    /// Tenant: the URL's tenant, else `kdt_id` (the shop). Event id: `msg_id`, else
    /// `{id}:{version}` (older messages have no `msg_id`), else a hash of the body.
    fn parse(&self, req: &WebhookRequest, _: &Credentials) -> Result<Delivery, NormaliseError> {
        let envelope: Envelope = serde_json::from_slice(&req.body)?;
        let tenant = match (&req.path_tenant, &envelope.kdt_id) {
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
            _ => format!("sha256:{}", sha256_hex(&req.body)),
        };
        Ok(Delivery {
            tenant,
            external_event_id,
            topic,
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

    fn ack(&self) -> Reply {
        Reply::json(200, ACK_BODY)
    }

    fn sign(
        &self,
        req: &mut WebhookRequest,
        credentials: &Credentials,
    ) -> Result<(), SignatureError> {
        signature::sign(req, credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Headers, Secret, Timestamp};

    fn request(body: &str, event_sign: Option<&str>) -> WebhookRequest {
        let mut headers = Headers::new();
        if let Some(sig) = event_sign {
            headers.insert(EVENT_SIGN_HEADER, sig);
        }
        WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            query: String::new(),
            headers,
            body: body.as_bytes().to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn credentials(client_id: &str, secrets: &[&str]) -> Credentials {
        let mut creds = Credentials {
            secrets: secrets.iter().map(|s| Secret::new(*s)).collect(),
            ..Default::default()
        };
        creds
            .values
            .insert(CLIENT_ID_SETTING.into(), Secret::new(client_id));
        creds
    }

    fn code(result: Result<(), Rejection>) -> Result<(), (u16, &'static str)> {
        result.map_err(|r| (r.status, r.code))
    }

    /// Python `hashlib.md5(b"cid123" + body + b"sekret").hexdigest()` for this exact body.
    const HEADER_BODY: &str = r#"{"client_id":"cid123","kdt_id":63077,"msg":"%7B%7D","test":false,"type":"trade_TradeMemoModified"}"#;
    const HEADER_SIGN: &str = "fc2539d3add10daf2f30d8db0eac3259";

    #[test]
    fn event_sign_header_is_md5_of_client_id_body_secret() {
        let creds = credentials("cid123", &["sekret"]);
        assert_eq!(
            signature::digest("cid123", HEADER_BODY.as_bytes(), "sekret"),
            HEADER_SIGN
        );
        assert_eq!(
            code(Youzan.verify(&request(HEADER_BODY, Some(HEADER_SIGN)), &creds)),
            Ok(())
        );
        // Rotation: the previous secret still verifies, in either position.
        let rotated = credentials("cid123", &["newer", "sekret"]);
        assert_eq!(
            code(Youzan.verify(&request(HEADER_BODY, Some(HEADER_SIGN)), &rotated)),
            Ok(())
        );
        let tampered = HEADER_BODY.replace("63077", "63078");
        assert_eq!(
            code(Youzan.verify(&request(&tampered, Some(HEADER_SIGN)), &creds)),
            Err((401, "signature_mismatch"))
        );
        assert_eq!(
            code(Youzan.verify(
                &request(HEADER_BODY, Some(HEADER_SIGN)),
                &credentials("cid123", &["other"])
            )),
            Err((401, "signature_mismatch"))
        );
        assert_eq!(
            code(Youzan.verify(&request(HEADER_BODY, Some("zz")), &creds)),
            Err((401, "signature_malformed"))
        );
    }

    #[test]
    fn wrong_app_missing_signature_and_misconfiguration() {
        let creds = credentials("cid123", &["sekret"]);
        // Signed with our id and secret, but addressed to another app.
        let other = HEADER_BODY.replace("cid123", "cid999");
        let sig = signature::digest("cid123", other.as_bytes(), "sekret");
        assert_eq!(
            code(Youzan.verify(&request(&other, Some(&sig)), &creds)),
            Err((401, "client_id_mismatch"))
        );
        assert_eq!(
            code(Youzan.verify(&request(HEADER_BODY, None), &creds)),
            Err((401, "signature_missing"))
        );
        assert_eq!(
            code(Youzan.verify(&request("not json", None), &creds)),
            Err((401, "signature_missing"))
        );
        assert_eq!(
            code(Youzan.verify(
                &request(HEADER_BODY, Some(HEADER_SIGN)),
                &credentials("", &["sekret"])
            )),
            Err((500, "channel_misconfigured"))
        );
        assert_eq!(
            code(Youzan.verify(
                &request(HEADER_BODY, Some(HEADER_SIGN)),
                &credentials("cid123", &[])
            )),
            Err((500, "channel_misconfigured"))
        );
        let mut get = request(HEADER_BODY, Some(HEADER_SIGN));
        get.method = "GET".into();
        assert_eq!(
            code(Youzan.verify(&get, &creds)),
            Err((405, "method_not_allowed"))
        );
    }

    #[test]
    fn answers_only_the_bare_health_check_without_a_signature() {
        let creds = credentials("cid123", &["sekret"]);
        let ack = Youzan.handshake(&request(r#"{"test":true}"#, None), &creds);
        assert_eq!(ack, Some(Ok(Reply::json(200, ACK_BODY))));
        for not_health_check in [
            r#"{"test":false}"#,
            r#"{"test":true,"msg":"%7B%7D"}"#,
            r#"{"test":true,"sign":"00000000000000000000000000000000"}"#,
            "test=true",
        ] {
            assert_eq!(
                Youzan.handshake(&request(not_health_check, None), &creds),
                None,
                "{not_health_check}"
            );
        }
        assert_eq!(
            Youzan.handshake(&request(r#"{"test":true}"#, Some(HEADER_SIGN)), &creds),
            None
        );
        assert_eq!(Youzan.ack().content_type, "application/json");
    }
}
