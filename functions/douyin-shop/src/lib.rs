//! Douyin shop (抖店, op.jinritemai.com) connector: message-push verification, one delivery
//! split into its records (each deduplicated on its `msg_id`), and enrichment of the thin
//! trade messages from `order.orderDetail`.
//!
//! Sources: the official Java SDK `com.doudian.open.*` ("auto generated, do not edit"; classes
//! `core.msg.DoudianOpMsgRequest`, `DoudianOpMsgParamRecord`, `DoudianOpMsgResponse`,
//! `utils.SignUtil`, `core.DefaultDoudianOpClient`, `msg.trade_TradePaid.param.TradeTradePaidParam`)
//! and the official Go SDK as copied in `zsmhub/doudian-sdk` (`api/order_orderDetail`, `core/`,
//! `utils/sign_util.go`). Module docs cite each fact; docs/platforms/douyin-shop.md sums up.

mod api;
mod normalise;
mod order;
mod payload;
mod signature;

use std::collections::BTreeMap;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, EnrichError, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Identifier, Secret, Secrets, SettingsError};
use o2o_core::signature::SignatureError;
use o2o_core::{Rejection, Reply, WebhookRequest};
use o2o_enrich::{ApiClient, ApiSettings};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::value::RawValue;

pub use api::{DEFAULT_API_BASE, ORDER_DETAIL_METHOD};
pub use normalise::{Message, TAGS, TEST_TAG, Tag, Thin};
pub use signature::{APP_ID_HEADER, EVENT_SIGN_HEADER, api_sign, event_sign};

/// The success reply (`DoudianOpMsgResponse.wrapSuccess()`: code `0`, msg `success`).
pub const ACK_BODY: &str = r#"{"code":0,"msg":"success"}"#;

/// The prefix of a per-shop access token setting (`access_token_<shop_id>`).
pub const SHOP_TOKEN_PREFIX: &str = "access_token_";

static INFO: ChannelInfo = ChannelInfo {
    id: "douyin-shop",
    name: "Douyin shop (抖店)",
    kind: ChannelKind::SocialShop,
    default_sample: "trade-paid.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A Douyin shop channel table (`[channels.douyin-shop]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app's App Key (抖店开放平台 → 控制台 → 应用详情); deliveries must carry it in
    /// `app-id`.
    pub app_key: Identifier,
    /// The app's App Secret (same page), newest first: messages signed with any listed secret
    /// verify; API calls use the first.
    pub secrets: Secrets,
    /// The shop's access token for order.orderDetail (token.create / token.refresh); an app
    /// serving several shops adds `access_token_<shop_id>` per shop, which wins for that shop's
    /// messages; tokens expire and are not refreshed here: ops refresh them and update the
    /// values.
    pub access_token: Secret,
    /// The order API's base URL and timeout.
    #[serde(flatten)]
    pub api: ApiSettings,
    /// `access_token_<shop_id>` settings.
    #[serde(flatten)]
    pub shop_tokens: BTreeMap<String, Secret>,
}

/// The Douyin shop connector for one app.
#[derive(Debug)]
pub struct DouyinShop {
    secrets: Secrets,
    orders: api::OrderApi,
}

/// `true` for the platform's test push: one record, tag `0`, msg_id `0`.
fn is_test_push(body: &[u8]) -> bool {
    // The test push is a few dozen bytes; real deliveries skip the parse below.
    if body.len() > 512 {
        return false;
    }
    let Ok(records) = serde_json::from_slice::<Vec<&RawValue>>(body) else {
        return false;
    };
    match records.as_slice() {
        [one] => payload::Record::parse(one.get().as_bytes())
            .is_ok_and(|r| r.tag.0 == TEST_TAG && r.msg_id.0 == "0"),
        _ => false,
    }
}

#[async_trait::async_trait]
impl Connector for DouyinShop {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Message;
    type Thin = Thin;

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        let mut shop_tokens = BTreeMap::new();
        for (name, token) in settings.shop_tokens {
            match name.strip_prefix(SHOP_TOKEN_PREFIX) {
                Some(shop) if !shop.is_empty() => {
                    shop_tokens.insert(shop.to_owned(), token);
                }
                _ => {
                    return Err(SettingsError::setting(
                        &name,
                        "unknown setting (per-shop tokens are access_token_<shop_id>)",
                    ));
                }
            }
        }
        Ok(Self {
            orders: api::OrderApi {
                client: ApiClient::new(&settings.api, DEFAULT_API_BASE)?,
                app_key: settings.app_key,
                app_secret: settings.secrets.newest().clone(),
                access_token: settings.access_token,
                shop_tokens,
            },
            secrets: settings.secrets,
        })
    }

    /// The test push sent when a push URL is saved [C-2] is answered with the ack and nothing
    /// is queued. Whether the platform signs it is not documented [?]: a signed one must
    /// verify, an unsigned one is acknowledged (it carries no order and queues nothing).
    fn handshake(&self, req: &WebhookRequest) -> Option<Result<Reply, Rejection>> {
        if req.method != "POST" || !is_test_push(&req.body) {
            return None;
        }
        if req.headers.get(EVENT_SIGN_HEADER).is_some()
            && let Err(rejection) = self.verify(req)
        {
            return Some(Err(rejection));
        }
        Some(Ok(self.ack()))
    }

    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        signature::verify_event(
            &req.headers,
            &req.body,
            self.orders.app_key.as_str(),
            self.secrets.all(),
        )?;
        Ok(Verified::body(req))
    }

    /// One body per element of the JSON array, each its exact raw bytes.
    fn split_records(&self, verified: &Verified<'_>) -> Option<Vec<Vec<u8>>> {
        let records: Vec<&RawValue> = serde_json::from_slice(&verified.payload).ok()?;
        Some(
            records
                .into_iter()
                .map(|r| r.get().as_bytes().to_vec())
                .collect(),
        )
    }

    /// Reads one record, and its data once. Tenant: the URL's tenant, else the message's
    /// `shop_id`, else (test records, messages without a shop) the configured app key.
    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<Message>, NormaliseError> {
        let record = payload::Record::parse(&verified.payload)?;
        let data = if record.tag.0 == TEST_TAG {
            None
        } else {
            Some(record.data()?)
        };
        let shop_id = data
            .as_ref()
            .and_then(|d| d.shop_id.as_ref())
            .map(|s| s.0.clone());
        let tenant = verified
            .request
            .path_tenant
            .clone()
            .or(shop_id)
            .unwrap_or_else(|| self.orders.app_key.as_str().to_owned());
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id: record.msg_id.0,
                topic: record.tag.0.clone(),
            },
            message: Message {
                tag: record.tag.0,
                data,
            },
            // The signature covers every record, its msg_id included.
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        message: Message,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, NormaliseError> {
        normalise::normalise(message)
    }

    async fn enrich(
        &self,
        thin: Thin,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<Thin>, EnrichError> {
        let shop_id = thin.data.shop_id.as_ref().map(|s| s.0.as_str());
        let detail = self
            .orders
            .order_detail(shop_id, &thin.p_id, o2o_core::Timestamp::now())
            .await?;
        let draft = order::draft(thin.event_type, &thin.data, &detail, ctx)?;
        Ok(Normalised::Events(vec![draft]))
    }

    fn ack(&self) -> Reply {
        Reply::json(200, ACK_BODY)
    }

    /// Sets `app-id` and `event-sign` (newest secret) as the platform does.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let app_key = self.orders.app_key.as_str();
        let sign = event_sign(app_key, &req.body, self.secrets.newest().expose());
        req.headers.set(APP_ID_HEADER, app_key);
        req.headers.set(EVENT_SIGN_HEADER, sign);
        Ok(())
    }
}
