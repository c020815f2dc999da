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
    ChannelInfo, Connector, Delivery, EnrichError, NormaliseContext, NormaliseError, Normalised,
    Setting,
};
use o2o_core::event::ChannelKind;
use o2o_core::signature::{SignatureError, sha256_hex};
use o2o_core::{Credentials, Rejection, Reply, WebhookRequest};

pub use api::{APP_SECRET, DEFAULT_API_BASE};
pub use auth::{
    APP_ID, ENCODING_AES_KEY, PREVIOUS_ENCODING_AES_KEY, PREVIOUS_TOKEN, REPLAY_WINDOW_SECONDS,
    TOKEN,
};
pub use normalise::REFUND_DONE;

use crate::payload::{Message, Topic};

/// The reply WeChat expects ("回复 success 或空字符串（无需加密）").
pub const ACK_BODY: &str = "success";

static INFO: ChannelInfo = ChannelInfo {
    id: "wechat-channels-shop",
    name: "WeChat Channels shop",
    kind: ChannelKind::SocialShop,
    settings: &[
        Setting {
            name: TOKEN,
            required: true,
            description: "the Token of 视频号小店后台 → 服务市场 → 自研 → 消息推送 (message push)",
        },
        Setting {
            name: ENCODING_AES_KEY,
            required: true,
            description: "the 43-character EncodingAESKey from the same message-push page",
        },
        Setting {
            name: APP_ID,
            required: true,
            description: "the shop's AppID (小店后台 → 服务市场 → 自研 → 开发信息 / development info); \
                          every decrypted message must end with it",
        },
        Setting {
            name: APP_SECRET,
            required: true,
            description: "the shop's AppSecret from the same development-info page, for the \
                          access token of the order API",
        },
        Setting {
            name: PREVIOUS_TOKEN,
            required: false,
            description: "the Token being replaced, during a manual cut-over (either pair verifies)",
        },
        Setting {
            name: PREVIOUS_ENCODING_AES_KEY,
            required: false,
            description: "the EncodingAESKey being replaced, during a manual cut-over",
        },
        Setting {
            name: o2o_enrich::API_BASE_SETTING,
            required: false,
            description: "the order API's base URL (default https://api.weixin.qq.com)",
        },
        Setting {
            name: o2o_enrich::TIMEOUT_SETTING,
            required: false,
            description: "timeout of each order-API request in milliseconds (default 10000)",
        },
    ],
    default_sample: "order-new.http",
};

/// The WeChat Channels shop connector.
pub struct WeChatChannelsShop;

#[async_trait::async_trait]
impl Connector for WeChatChannelsShop {
    fn info(&self) -> &'static ChannelInfo {
        &INFO
    }

    fn handshake(
        &self,
        req: &WebhookRequest,
        credentials: &Credentials,
    ) -> Option<Result<Reply, Rejection>> {
        (req.method == "GET" && req.query_param("echostr").is_some())
            .then(|| auth::verify_url(req, credentials))
    }

    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection> {
        if req.method != "POST" {
            return Err(Rejection::new(
                405,
                "method_not_allowed",
                "WeChat pushes are POST requests (GET only with echostr)",
            ));
        }
        auth::open(req, credentials).map(|_| ())
    }

    fn parse(
        &self,
        req: &WebhookRequest,
        credentials: &Credentials,
    ) -> Result<Delivery, NormaliseError> {
        let plain = auth::open(req, credentials)
            .map_err(|r| NormaliseError(format!("envelope: {}", r.code)))?;
        let message = Message::parse(&plain)?;
        let event = message.event()?.to_owned();
        let tenant = match &req.path_tenant {
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
            None => sha256_hex(&plain),
        };
        Ok(Delivery {
            tenant,
            external_event_id,
            topic: event,
            payload: plain,
        })
    }

    fn normalise(
        &self,
        delivery: &Delivery,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised, NormaliseError> {
        normalise::classify(&Message::parse(&delivery.payload)?)
    }

    async fn enrich(
        &self,
        delivery: &Delivery,
        credentials: &Credentials,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised, EnrichError> {
        let permanent = |e: NormaliseError| EnrichError::Permanent(e.0);
        let message = Message::parse(&delivery.payload).map_err(permanent)?;
        if let Normalised::Ignored(reason) = normalise::classify(&message).map_err(permanent)? {
            return Ok(Normalised::Ignored(reason));
        }
        let order_id = normalise::order_to_fetch(&message).map_err(permanent)?;
        let detail = api::fetch_order(credentials, &order_id).await?;
        let draft = normalise::draft(&message, &detail).map_err(permanent)?;
        Ok(Normalised::Events(vec![draft]))
    }

    fn ack(&self) -> Reply {
        Reply::text(200, ACK_BODY)
    }

    fn sign(
        &self,
        req: &mut WebhookRequest,
        credentials: &Credentials,
    ) -> Result<(), SignatureError> {
        auth::seal(req, credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Headers, Secret, Timestamp};

    fn credentials(pairs: &[(&str, &str)]) -> Credentials {
        Credentials {
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Secret::new(*v)))
                .collect(),
            ..Credentials::default()
        }
    }

    fn request(method: &str, query: &str, body: &str, at: i64) -> WebhookRequest {
        WebhookRequest {
            method: method.into(),
            path_tenant: None,
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
        let creds = credentials(&[(TOKEN, "AAAAA")]);
        let query = "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492";
        let reply = WeChatChannelsShop
            .handshake(&request("GET", query, "", 1_714_036_504), &creds)
            .expect("a handshake");
        // Without an EncodingAESKey the channel is misconfigured for pushes, not for the GET.
        assert_eq!(
            reply.map_err(|r| r.code),
            Err("channel_misconfigured"),
            "the key is required"
        );
        let creds = credentials(&[
            (TOKEN, "AAAAA"),
            (
                ENCODING_AES_KEY,
                "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            ),
        ]);
        let reply = WeChatChannelsShop
            .handshake(&request("GET", query, "", 1_714_036_504), &creds)
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
        let refused = WeChatChannelsShop
            .handshake(&request("GET", &forged, "", 1_714_036_504), &creds)
            .expect("a handshake");
        assert_eq!(
            refused.map_err(|r| (r.status, r.code)),
            Err((401, "signature_mismatch"))
        );
        let unsigned = WeChatChannelsShop
            .handshake(
                &request("GET", "echostr=1&timestamp=1&nonce=2", "", 1),
                &creds,
            )
            .expect("a handshake");
        assert_eq!(unsigned.map_err(|r| r.code), Err("signature_missing"));
        assert!(
            WeChatChannelsShop
                .handshake(&request("POST", query, "", 1), &creds)
                .is_none()
        );
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
        let creds = credentials(&[
            (TOKEN, "QDG6eK"),
            (ENCODING_AES_KEY, key),
            (APP_ID, "wx5823bf96d3bd56c7"),
        ]);
        let req = request("POST", query, &body, 1_409_659_813 + 60);
        assert_eq!(WeChatChannelsShop.verify(&req, &creds), Ok(()));
        let plain = auth::open(&req, &creds).expect("opens");
        assert_eq!(
            String::from_utf8(plain).expect("utf-8"),
            r#"{"ToUserName":"wx5823bf96d3bd56c7","FromUserName":"mycreate","CreateTime": 1409659813,"MsgType":"text","Content":"hello","MsgId":4561255354251345929,"AgentID": 218}"#
        );
        // The same push under rotation: the official pair is the previous one.
        let rotated = credentials(&[
            (TOKEN, "NewToken"),
            (
                ENCODING_AES_KEY,
                "o2oWeChatChannelsShopEncodingAesKey01234567",
            ),
            (PREVIOUS_TOKEN, "QDG6eK"),
            (PREVIOUS_ENCODING_AES_KEY, key),
            (APP_ID, "wx5823bf96d3bd56c7"),
        ]);
        assert_eq!(WeChatChannelsShop.verify(&req, &rotated), Ok(()));
        // Right Token and key, wrong app: 401, nothing decrypted is used.
        let other_app = credentials(&[
            (TOKEN, "QDG6eK"),
            (ENCODING_AES_KEY, key),
            (APP_ID, "wx0000000000000000"),
        ]);
        assert_eq!(
            WeChatChannelsShop
                .verify(&req, &other_app)
                .map_err(|r| (r.status, r.code)),
            Err((401, "wrong_app"))
        );
        // Right Token, wrong key: the signature checks out but the body does not decrypt.
        let wrong_key = credentials(&[
            (TOKEN, "QDG6eK"),
            (
                ENCODING_AES_KEY,
                "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            ),
            (APP_ID, "wx5823bf96d3bd56c7"),
        ]);
        assert_eq!(
            WeChatChannelsShop
                .verify(&req, &wrong_key)
                .map_err(|r| (r.status, r.code)),
            Err((401, "decryption_failed"))
        );
        // Replayed an hour later.
        let late = request("POST", query, &body, 1_409_659_813 + 3600);
        assert_eq!(
            WeChatChannelsShop
                .verify(&late, &creds)
                .map_err(|r| (r.status, r.code)),
            Err((401, "timestamp_outside_window"))
        );
    }

    #[test]
    fn describes_the_channel() {
        let info = WeChatChannelsShop.info();
        assert_eq!(info.id, "wechat-channels-shop");
        assert_eq!(info.kind, ChannelKind::SocialShop);
        let required: Vec<&str> = info
            .settings
            .iter()
            .filter(|s| s.required)
            .map(|s| s.name)
            .collect();
        assert_eq!(
            required,
            ["token", "encoding_aes_key", "app_id", "app_secret"]
        );
        assert!(info.settings.iter().any(|s| s.name == "api_base"));
        assert!(info.settings.iter().any(|s| s.name == "api_timeout_ms"));
        let ack = WeChatChannelsShop.ack();
        assert_eq!((ack.status, ack.body.as_str()), (200, "success"));
        assert!(ack.content_type.starts_with("text/plain"));
    }
}
