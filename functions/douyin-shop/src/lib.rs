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

use o2o_core::connector::{
    ChannelInfo, Connector, Delivery, EnrichError, NormaliseContext, NormaliseError, Normalised,
    Setting,
};
use o2o_core::event::ChannelKind;
use o2o_core::signature::SignatureError;
use o2o_core::{Credentials, Rejection, Reply, WebhookRequest};
use serde_json::value::RawValue;

pub use api::{DEFAULT_API_BASE, ORDER_DETAIL_METHOD};
pub use normalise::{TAGS, TEST_TAG, Tag};
pub use signature::{APP_ID_HEADER, EVENT_SIGN_HEADER, api_sign, event_sign};

/// The success reply (`DoudianOpMsgResponse.wrapSuccess()`: code `0`, msg `success`).
pub const ACK_BODY: &str = r#"{"code":0,"msg":"success"}"#;

static INFO: ChannelInfo = ChannelInfo {
    id: "douyin-shop",
    name: "Douyin shop (抖店)",
    kind: ChannelKind::SocialShop,
    settings: &[
        Setting {
            name: "app_key",
            required: true,
            description: "the app's App Key (抖店开放平台 → 控制台 → 应用详情); deliveries must carry it in `app-id`",
        },
        Setting {
            name: "secrets",
            required: true,
            description: "the app's App Secret (same page), newest first: messages signed with any listed secret verify; API calls use the first",
        },
        Setting {
            name: "access_token",
            required: true,
            description: "the shop's access token for order.orderDetail (token.create / token.refresh); an app serving several shops adds `access_token_<shop_id>` per shop, which wins for that shop's messages; tokens expire and are not refreshed here: ops refresh them and update the values",
        },
        Setting {
            name: "api_base",
            required: false,
            description: "the open API base URL (default https://openapi-fxg.jinritemai.com)",
        },
        Setting {
            name: "api_timeout_ms",
            required: false,
            description: "timeout of one order.orderDetail call in milliseconds (default 10000)",
        },
    ],
    default_sample: "trade-paid.http",
};

/// The Douyin shop connector.
pub struct DouyinShop;

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
    fn info(&self) -> &'static ChannelInfo {
        &INFO
    }

    /// The test push sent when a push URL is saved [C-2] is answered with the ack and nothing
    /// is queued. Whether the platform signs it is not documented [?]: a signed one must
    /// verify, an unsigned one is acknowledged (it carries no order and queues nothing).
    fn handshake(
        &self,
        req: &WebhookRequest,
        credentials: &Credentials,
    ) -> Option<Result<Reply, Rejection>> {
        if req.method != "POST" || !is_test_push(&req.body) {
            return None;
        }
        if req.headers.get(EVENT_SIGN_HEADER).is_some()
            && let Err(rejection) = self.verify(req, credentials)
        {
            return Some(Err(rejection));
        }
        Some(Ok(self.ack()))
    }

    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection> {
        if req.method != "POST" {
            return Err(Rejection::new(
                405,
                "method_not_allowed",
                "Douyin shop messages are POST requests",
            ));
        }
        signature::verify_event(
            &req.headers,
            &req.body,
            credentials.value("app_key").map(|k| k.expose()),
            &credentials.secrets,
        )
    }

    /// One body per element of the JSON array, each its exact raw bytes.
    fn split_records(&self, body: &[u8]) -> Option<Vec<Vec<u8>>> {
        let records: Vec<&RawValue> = serde_json::from_slice(body).ok()?;
        Some(
            records
                .into_iter()
                .map(|r| r.get().as_bytes().to_vec())
                .collect(),
        )
    }

    /// Reads one record. Tenant: the URL's tenant, else the message's `shop_id`, else (test
    /// records, messages without a shop) the configured app key.
    fn parse(
        &self,
        req: &WebhookRequest,
        credentials: &Credentials,
    ) -> Result<Delivery, NormaliseError> {
        let record = payload::Record::parse(&req.body)?;
        let shop_id = if record.tag.0 == TEST_TAG {
            None
        } else {
            record.data()?.shop_id.map(|s| s.0)
        };
        let tenant = req
            .path_tenant
            .clone()
            .or(shop_id)
            .or_else(|| credentials.value("app_key").map(|k| k.expose().to_owned()))
            .ok_or_else(|| NormaliseError::field("data.shop_id", "missing"))?;
        Ok(Delivery {
            tenant,
            external_event_id: record.msg_id.0,
            topic: record.tag.0,
            payload: req.body.clone(),
        })
    }

    fn normalise(
        &self,
        delivery: &Delivery,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised, NormaliseError> {
        normalise::normalise(delivery)
    }

    async fn enrich(
        &self,
        delivery: &Delivery,
        credentials: &Credentials,
        ctx: &NormaliseContext,
    ) -> Result<Normalised, EnrichError> {
        let permanent = |e: NormaliseError| EnrichError::Permanent(e.0);
        let record = payload::Record::parse(&delivery.payload).map_err(permanent)?;
        let Some(mapped) = normalise::lookup(&record.tag.0) else {
            return Ok(Normalised::Ignored(format!(
                "tag {} is not mapped",
                record.tag.0
            )));
        };
        let data = record.data().map_err(permanent)?;
        let p_id = data
            .p_id
            .as_ref()
            .map(|p| p.0.clone())
            .ok_or_else(|| permanent(NormaliseError::field("data.p_id", "missing")))?;
        let shop_id = data.shop_id.as_ref().map(|s| s.0.as_str());
        let detail =
            api::order_detail(credentials, shop_id, &p_id, o2o_core::Timestamp::now()).await?;
        let draft = order::draft(mapped.event_type, &data, &detail, ctx).map_err(permanent)?;
        Ok(Normalised::Events(vec![draft]))
    }

    fn ack(&self) -> Reply {
        Reply::json(200, ACK_BODY)
    }

    /// Sets `app-id` and `event-sign` (newest secret) as the platform does.
    fn sign(
        &self,
        req: &mut WebhookRequest,
        credentials: &Credentials,
    ) -> Result<(), SignatureError> {
        let app_key = credentials
            .value("app_key")
            .map(|k| k.expose())
            .ok_or(SignatureError::NoSecret)?;
        let secret = credentials
            .secrets
            .first()
            .ok_or(SignatureError::NoSecret)?;
        let sign = event_sign(app_key, &req.body, secret.expose());
        req.headers.set(APP_ID_HEADER, app_key);
        req.headers.set(EVENT_SIGN_HEADER, sign);
        Ok(())
    }
}
