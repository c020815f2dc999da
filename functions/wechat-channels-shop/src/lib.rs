//! WeChat Channels shop (微信小店 / 视频号小店) connector: URL verification, safe-mode push
//! verification and decryption (`msg_signature` + AES-256-CBC, JSON), and enrichment of the thin
//! order and after-sale pushes from the order-detail API.
//!
//! Sources: message push <https://developers.weixin.qq.com/doc/channels/dev_before/base/message_push.md>
//! (safe mode and JSON only; GET `signature`/`echostr` verification), encryption
//! <https://developers.weixin.qq.com/doc/oplatform/developers/dev/push/encryption.md> and the
//! official `WXBizMsgCrypt` samples ([`crypto`]), order callbacks
//! <https://developers.weixin.qq.com/doc/store/shop/notify/order_callback/channels_ec_order_new.html>
//! (reply `success` or an empty string within 5 s; retries over ~3.6 h). Details per module
//! and in `docs/platforms/wechat-channels-shop.md`.

mod api;
mod auth;
pub mod crypto;
mod normalise;
mod order;
mod payload;

use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, EnrichError, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Identifier, Secret, SettingsError};
use o2o_core::signature::{SignatureError, sha256_hex};
use o2o_core::{Rejection, Reply, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;
use std::borrow::Cow;

pub use api::DEFAULT_API_BASE;
pub use auth::{Keys, REPLAY_WINDOW_SECONDS};
pub use normalise::REFUND_DONE;
pub use payload::Message;

use crate::payload::Topic;
use o2o_core::GetRequests;

/// The reply WeChat expects ("回复 success 或空字符串（无需加密）").
pub const ACK_BODY: &str = "success";

static INFO: ChannelInfo = ChannelInfo {
    id: "wechat-channels-shop",
    name: "WeChat Channels shop",
    kind: ChannelKind::SocialShop,
    default_sample: "order-new.http",
    get_requests: GetRequests::Handshake,
    endpoints: &[],
};

/// A WeChat Channels shop channel table (`[channels.wechat-channels-shop]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The Token of 视频号小店后台 → 服务市场 → 自研 → 消息推送 (message push).
    pub token: Secret,
    /// The 43-character EncodingAESKey from the same message-push page.
    pub encoding_aes_key: Secret,
    /// The shop's AppID (小店后台 → 服务市场 → 自研 → 开发信息 / development info); every
    /// decrypted message must end with it.
    pub app_id: Identifier,
    /// The shop's AppSecret from the same development-info page, for the access token of the
    /// order API.
    pub app_secret: Secret,
    /// The Token being replaced, during a manual cut-over (either pair verifies).
    #[serde(default)]
    pub previous_token: Option<Secret>,
    /// The EncodingAESKey being replaced, during a manual cut-over.
    #[serde(default)]
    pub previous_encoding_aes_key: Option<Secret>,
    /// The order API's base URL (default https://api.weixin.qq.com) and timeout.
    #[serde(flatten)]
    pub api: ApiSettings,
}

/// The WeChat Channels shop connector for one shop: its decoded keys, and its order API with
/// its access-token cache.
#[derive(Debug)]
pub struct WeChatChannelsShop {
    keys: Keys,
    orders: api::OrderApi,
}

#[async_trait::async_trait]
impl Connector for WeChatChannelsShop {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Message;
    /// The message itself: it names the order to fetch and what happened to it.
    type Thin = Message;

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        let keys = Keys::new(
            settings.token,
            &settings.encoding_aes_key,
            settings.app_id.as_str().to_owned(),
            settings.previous_token,
            settings.previous_encoding_aes_key.as_ref(),
        )?;
        let client = ApiClient::new(&settings.api, DEFAULT_API_BASE)?;
        Ok(Self {
            keys,
            orders: api::OrderApi::new(
                client,
                settings.app_id.as_str().to_owned(),
                settings.app_secret,
            ),
        })
    }

    fn handshake(&self, req: &WebhookRequest) -> Option<Result<Reply, Rejection>> {
        (req.method == "GET" && req.query_param("echostr").is_some())
            .then(|| self.keys.verify_url(req))
    }

    /// Checks the signature and the replay window, and decrypts: the payload is the message.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        let plain = self.keys.open(req)?;
        Ok(Verified::with_payload(req, Cow::Owned(plain)))
    }

    /// A delivery stored without its plaintext (written before plaintexts were stored) is
    /// decrypted again with the current keys; the window is checked against its time of receipt.
    fn reopen<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        self.verify(req)
    }

    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<Message>, NormaliseError> {
        let message = Message::parse(&verified.payload)?;
        let event = message.event()?.to_owned();
        let tenant = match &verified.request.path_tenant {
            Some(tenant) => tenant.clone(),
            None => message
                .to_user_name
                .clone()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| NormaliseError::field("ToUserName", "missing"))?,
        };
        // No message id is documented: order events are keyed by order and event time, after-sale
        // updates also by status; other events by a hash of their content.
        let external_event_id = match Topic::from_event(&event) {
            Some(Topic::AftersaleUpdate) => {
                let (status, after_sale_id, _) = message.aftersale()?;
                format!("{after_sale_id}:{status}:{}", message.create_time()?)
            }
            Some(_) => format!("{}:{}", message.order_id()?, message.create_time()?),
            None => sha256_hex(&verified.payload),
        };
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id,
                topic: event,
            },
            message,
            // The plaintext is signed whole (order id, event, time): a replay keeps its id.
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        message: Message,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Message>, NormaliseError> {
        normalise::classify(message)
    }

    async fn enrich(
        &self,
        message: Message,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Message>, EnrichError> {
        let order_id = normalise::order_to_fetch(&message)?;
        let detail = self.orders.fetch_order(&order_id).await?;
        Ok(Normalised::Events(vec![normalise::draft(
            &message, &detail,
        )?]))
    }

    fn ack(&self) -> Reply {
        Reply::text(200, ACK_BODY)
    }

    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        self.keys.seal(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::settings::parse_settings;
    use o2o_core::{ConnectorEntry, Headers, Timestamp};
    use o2o_testkit::samples::{dev_connector_with, dev_table};
    use serde_json::json;

    /// The connector built from the development table with `changes`.
    fn connector(changes: &[(&str, serde_json::Value)]) -> WeChatChannelsShop {
        dev_connector_with::<WeChatChannelsShop>(changes)
    }

    fn request(method: &str, query: &str, body: &str, at: i64) -> WebhookRequest {
        WebhookRequest {
            method: method.into(),
            path_tenant: None,
            endpoint: None,
            query: query.into(),
            headers: Headers::new(),
            body: body.as_bytes().to_vec(),
            received_at: Timestamp::from_unix_seconds(at).expect("time"),
        }
    }

    /// Official: the Channels shop URL-verification example
    /// (<https://developers.weixin.qq.com/doc/channels/dev_before/base/message_push.md>).
    #[test]
    fn answers_the_documented_url_verification() {
        // Without an EncodingAESKey the channel is not built at all (it used to be refused as
        // misconfigured on the first GET).
        let mut no_key = dev_table("wechat-channels-shop");
        no_key.insert("token".into(), json!("AAAAA"));
        no_key.remove("encoding_aes_key");
        assert_eq!(
            parse_settings::<Settings>(&no_key, "channels.wechat-channels-shop")
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err("channels.wechat-channels-shop: missing field `encoding_aes_key`".into()),
            "the key is required"
        );
        let shop = connector(&[
            ("token", json!("AAAAA")),
            (
                "encoding_aes_key",
                json!("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            ),
        ]);
        let query = "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492";
        let reply = shop
            .handshake(&request("GET", query, "", 1_714_036_504))
            .expect("a handshake")
            .expect("the signature matches");
        assert_eq!(
            (
                reply.status,
                reply.body.as_str(),
                reply.content_type.as_str()
            ),
            (200, "4375120948345356249", "text/plain; charset=utf-8")
        );
        let forged = query.replace("f464b24f", "f464b24e");
        let refused = shop
            .handshake(&request("GET", &forged, "", 1_714_036_504))
            .expect("a handshake");
        assert_eq!(
            refused.map_err(|r| (r.status, r.code)),
            Err((401, "signature_mismatch"))
        );
        let unsigned = shop
            .handshake(&request("GET", "echostr=1&timestamp=1&nonce=2", "", 1))
            .expect("a handshake");
        assert_eq!(unsigned.map_err(|r| r.code), Err("signature_missing"));
        assert!(
            shop.handshake(&request("POST", query, "", 1)).is_none(),
            "a POST is no handshake"
        );
    }

    /// A signed `timestamp` at the edges of `i64` is refused as outside the window; the window
    /// check used to overflow on `-9223372036854775808` (found by tests/fuzz.rs).
    #[test]
    fn refuses_signed_timestamps_at_the_edges_of_i64() {
        let shop = connector(&[]);
        let table = dev_table("wechat-channels-shop");
        let setting = |name: &str| table[name].as_str().expect("a dev setting").to_owned();
        let key = crypto::AesKey::from_encoding_aes_key(&setting("encoding_aes_key")).expect("key");
        let plain = br#"{"ToUserName":"gh_x","Event":"channels_ec_order_new"}"#;
        let encrypted = crypto::encrypt(&key, b"0123456789abcdef", plain, &setting("app_id"));
        let body = json!({ "Encrypt": encrypted }).to_string();
        for signed_at in [i64::MIN, i64::MIN + 1, -377_705_116_801, i64::MAX] {
            let timestamp = signed_at.to_string();
            let signature =
                crypto::sorted_sha1_hex(&[&setting("token"), &timestamp, "1", &encrypted]);
            let query = format!("timestamp={timestamp}&nonce=1&msg_signature={signature}");
            let refused = shop
                .verify(&request("POST", &query, &body, 1_767_225_600))
                .map(|_| ())
                .map_err(|r| (r.status, r.code));
            assert_eq!(
                refused,
                Err((401, "timestamp_outside_window")),
                "{timestamp}"
            );
        }
    }

    /// Official JSON-mode vector: Tencent's `workweixin/weworkapi_golang`
    /// `json_callback/sample.go` (token `QDG6eK`, EncodingAESKey `jWmYm7…B2C`, receiver
    /// `wx5823bf96d3bd56c7`, msg_signature `0623cbc5…`, timestamp `1409659813`, nonce
    /// `1372623149`). Its envelope spells the keys `tousername`/`encrypt`; the signature covers only
    /// the Encrypt value, so it is placed in the Channels shop envelope unchanged.
    #[test]
    fn opens_the_official_json_mode_vector() {
        let encrypt = "CZWs4CWRpI4VolQlvn4dlEC1alN2MUEY2VklGehgBVLBrlVF7SyT+SV+Toj43l4ayJ9UMGKphktKKmP7B2j/P1ey67XB8PBgS7Wr5/8+w/yWriZv3Vmoo/MH3/1HsIWZrPQ3N2mJrelStIfI2Y8kLKXA7EhfZgZX4o+ffdkZDM76SEl79Ib9mw7TGjZ9Aw/x/A2VjNbV1E8BtEbRxYYcQippYNw7hr8sFfa3nW1xLdxokt8QkRX83vK3DFP2F6TQFPL2Tu98UwhcUpPvdJBuu1/yiOQIScppV3eOuLWEsko=";
        let body = format!(r#"{{"ToUserName":"wx5823bf96d3bd56c7","Encrypt":"{encrypt}"}}"#);
        let query = "msg_signature=0623cbc5a8cbee5bcc137c70de99575366fc2af3&timestamp=1409659813&nonce=1372623149";
        let key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
        let official = connector(&[
            ("token", json!("QDG6eK")),
            ("encoding_aes_key", json!(key)),
            ("app_id", json!("wx5823bf96d3bd56c7")),
        ]);
        let req = request("POST", query, &body, 1_409_659_813 + 60);
        let expected = r#"{"ToUserName":"wx5823bf96d3bd56c7","FromUserName":"mycreate","CreateTime": 1409659813,"MsgType":"text","Content":"hello","MsgId":4561255354251345929,"AgentID": 218}"#;
        let verified = official.verify(&req).expect("verifies");
        assert_eq!(
            std::str::from_utf8(&verified.payload).expect("utf-8"),
            expected,
            "the verified payload is the decrypted message"
        );
        let plain = official.keys.open(&req).expect("opens");
        assert_eq!(String::from_utf8(plain).expect("utf-8"), expected);
        // The same push under rotation: the official pair is the previous one.
        let rotated = connector(&[
            ("token", json!("NewToken")),
            (
                "encoding_aes_key",
                json!("o2oWeChatChannelsShopEncodingAesKey01234567"),
            ),
            ("previous_token", json!("QDG6eK")),
            ("previous_encoding_aes_key", json!(key)),
            ("app_id", json!("wx5823bf96d3bd56c7")),
        ]);
        assert_eq!(
            rotated
                .verify(&req)
                .map(|v| v.payload.into_owned())
                .map_err(|r| r.code),
            Ok(expected.as_bytes().to_vec())
        );
        // Right Token and key, wrong app: 401, nothing decrypted is used.
        let other_app = connector(&[
            ("token", json!("QDG6eK")),
            ("encoding_aes_key", json!(key)),
            ("app_id", json!("wx0000000000000000")),
        ]);
        assert_eq!(
            other_app
                .verify(&req)
                .map(|_| ())
                .map_err(|r| (r.status, r.code)),
            Err((401, "wrong_app"))
        );
        // Right Token, wrong key: the signature checks out but the body does not decrypt.
        let wrong_key = connector(&[
            ("token", json!("QDG6eK")),
            (
                "encoding_aes_key",
                json!("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            ),
            ("app_id", json!("wx5823bf96d3bd56c7")),
        ]);
        assert_eq!(
            wrong_key
                .verify(&req)
                .map(|_| ())
                .map_err(|r| (r.status, r.code)),
            Err((401, "decryption_failed"))
        );
        // Replayed an hour later.
        let late = request("POST", query, &body, 1_409_659_813 + 3600);
        assert_eq!(
            official
                .verify(&late)
                .map(|_| ())
                .map_err(|r| (r.status, r.code)),
            Err((401, "timestamp_outside_window"))
        );
    }

    #[test]
    fn describes_the_channel() {
        let info = WeChatChannelsShop::info();
        assert_eq!(info.id, "wechat-channels-shop");
        assert_eq!(info.kind, ChannelKind::SocialShop);
        assert_eq!(
            info.get_requests,
            GetRequests::Handshake,
            "GET is the URL verification"
        );
        // The settings, from the schema of `Settings`: required ones first, each group by name.
        let settings = ConnectorEntry::of::<WeChatChannelsShop>().settings();
        let required: Vec<(&str, bool)> = settings
            .iter()
            .filter(|s| s.required)
            .map(|s| (s.name.as_str(), s.secret))
            .collect();
        assert_eq!(
            required,
            [
                ("app_id", false),
                ("app_secret", true),
                ("encoding_aes_key", true),
                ("token", true)
            ]
        );
        for optional in [
            "api_base",
            "api_timeout_ms",
            "previous_encoding_aes_key",
            "previous_token",
        ] {
            assert!(
                settings.iter().any(|s| s.name == optional && !s.required),
                "{optional}"
            );
        }
        let ack = connector(&[]).ack();
        assert_eq!((ack.status, ack.body.as_str()), (200, "success"));
        assert!(ack.content_type.starts_with("text/plain"));
    }

    /// Keys are decoded once, when the channel is built: a bad one stops start-up, named.
    #[test]
    fn a_bad_key_or_app_id_stops_start_up() {
        let build = |changes: &[(&str, serde_json::Value)]| {
            let mut table = dev_table("wechat-channels-shop");
            for (name, value) in changes {
                table.insert((*name).to_owned(), value.clone());
            }
            let settings = parse_settings::<Settings>(&table, "channels.wechat-channels-shop")
                .expect("the table reads");
            WeChatChannelsShop::build(settings)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert_eq!(build(&[]), Ok(()));
        assert_eq!(
            build(&[("encoding_aes_key", json!("too-short"))]),
            Err("encoding_aes_key: is not 43 base64 characters".into())
        );
        assert_eq!(
            build(&[("previous_encoding_aes_key", json!("!".repeat(43)))]),
            Err("previous_encoding_aes_key: is not 43 base64 characters".into())
        );
        assert_eq!(
            build(&[("app_id", json!("  "))]),
            Err("app_id: is empty".into())
        );
    }
}
