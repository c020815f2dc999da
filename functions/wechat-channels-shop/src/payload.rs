//! The decrypted push messages (JSON) and their topics.
//!
//! Sources: order callbacks, e.g. `channels_ec_order_new`
//! <https://developers.weixin.qq.com/doc/store/shop/notify/order_callback/channels_ec_order_new.html>
//! (`order_info.order_id` is a JSON **number**, `3705115058471208928` in the example, above 2^53);
//! after-sale updates
//! <https://developers.weixin.qq.com/doc/store/shop/notify/aftersale_callback/channels_ec_aftersale_update>
//! (`finder_shop_aftersale_status_update` with string `status`, `after_sale_order_id`, `order_id`).

use o2o_core::connector::NormaliseError;
use o2o_core::ids::IdText;
use serde::Deserialize;

/// A decrypted message: the common envelope plus the bodies of the events we read.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// The shop's UserName (`gh_…`).
    #[serde(rename = "ToUserName")]
    pub to_user_name: Option<String>,
    /// Event time, Unix seconds.
    #[serde(rename = "CreateTime")]
    pub create_time: Option<IdText>,
    /// The event name, e.g. `channels_ec_order_new`.
    #[serde(rename = "Event")]
    pub event: Option<String>,
    /// The body of `channels_ec_order_*` events.
    pub order_info: Option<OrderInfo>,
    /// The body of `channels_ec_aftersale_update`.
    pub finder_shop_aftersale_status_update: Option<AftersaleInfo>,
}

/// `order_info` of the order events (only the id is needed: the rest comes from the API).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderInfo {
    /// The order id, a JSON number above 2^53 (kept as its exact digits).
    pub order_id: Option<IdText>,
}

/// `finder_shop_aftersale_status_update`.
#[derive(Debug, Clone, Deserialize)]
pub struct AftersaleInfo {
    /// The after-sale status, e.g. `MERCHANT_REFUND_SUCCESS`.
    pub status: Option<String>,
    /// The after-sale order id.
    pub after_sale_order_id: Option<IdText>,
    /// The order it belongs to.
    pub order_id: Option<IdText>,
}

/// The events this connector knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// `channels_ec_order_new`: 下单.
    OrderNew,
    /// `channels_ec_order_pay`: 支付成功.
    OrderPay,
    /// `channels_ec_order_cancel`: 取消.
    OrderCancel,
    /// `channels_ec_order_wait_shipping`: 待发货.
    OrderWaitShipping,
    /// `channels_ec_order_deliver`: 发货.
    OrderDeliver,
    /// `channels_ec_order_confirm`: 确认收货.
    OrderConfirm,
    /// `channels_ec_order_settle`: 结算.
    OrderSettle,
    /// `channels_ec_order_ext_info_update`: 其他信息更新.
    OrderExtInfoUpdate,
    /// `channels_ec_aftersale_update`: 售后单更新.
    AftersaleUpdate,
}

impl Topic {
    /// The topic of an event name; `None` for events that are not about orders.
    pub fn from_event(event: &str) -> Option<Self> {
        Some(match event {
            "channels_ec_order_new" => Topic::OrderNew,
            "channels_ec_order_pay" => Topic::OrderPay,
            "channels_ec_order_cancel" => Topic::OrderCancel,
            "channels_ec_order_wait_shipping" => Topic::OrderWaitShipping,
            "channels_ec_order_deliver" => Topic::OrderDeliver,
            "channels_ec_order_confirm" => Topic::OrderConfirm,
            "channels_ec_order_settle" => Topic::OrderSettle,
            "channels_ec_order_ext_info_update" => Topic::OrderExtInfoUpdate,
            "channels_ec_aftersale_update" => Topic::AftersaleUpdate,
            _ => return None,
        })
    }
}

impl Message {
    /// Reads a decrypted message.
    pub fn parse(bytes: &[u8]) -> Result<Self, NormaliseError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// `Event`, required.
    pub fn event(&self) -> Result<&str, NormaliseError> {
        self.event
            .as_deref()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| NormaliseError::field("Event", "missing"))
    }

    /// `CreateTime` as Unix seconds, required.
    pub fn create_time(&self) -> Result<i64, NormaliseError> {
        let text = self
            .create_time
            .as_ref()
            .ok_or_else(|| NormaliseError::field("CreateTime", "missing"))?;
        text.0
            .parse()
            .map_err(|_| NormaliseError::field("CreateTime", "not an integer"))
    }

    /// The order id of an order event (`order_info.order_id`).
    pub fn order_id(&self) -> Result<&str, NormaliseError> {
        self.order_info
            .as_ref()
            .and_then(|o| o.order_id.as_ref())
            .map(|id| id.0.as_str())
            .ok_or_else(|| NormaliseError::field("order_info.order_id", "missing"))
    }

    /// The after-sale body, with its three fields required.
    pub fn aftersale(&self) -> Result<(&str, &str, &str), NormaliseError> {
        const FIELD: &str = "finder_shop_aftersale_status_update";
        let info = self
            .finder_shop_aftersale_status_update
            .as_ref()
            .ok_or_else(|| NormaliseError::field(FIELD, "missing"))?;
        let status = info
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                NormaliseError::field("finder_shop_aftersale_status_update.status", "missing")
            })?;
        let after_sale = info.after_sale_order_id.as_ref().ok_or_else(|| {
            NormaliseError::field(
                "finder_shop_aftersale_status_update.after_sale_order_id",
                "missing",
            )
        })?;
        let order = info.order_id.as_ref().ok_or_else(|| {
            NormaliseError::field("finder_shop_aftersale_status_update.order_id", "missing")
        })?;
        Ok((status, after_sale.0.as_str(), order.0.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented `channels_ec_order_new` example (order_callback/channels_ec_order_new).
    #[test]
    fn keeps_the_documented_order_id_exact() {
        let message = Message::parse(
            br#"{"ToUserName":"gh_*","FromUserName":"OPENID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_order_new","order_info":{"order_id":3705115058471208928}}"#,
        )
        .expect("message");
        assert_eq!(message.order_id(), Ok("3705115058471208928"));
        assert_eq!(message.create_time(), Ok(1_662_480_000));
        assert_eq!(message.event(), Ok("channels_ec_order_new"));
        assert_eq!(message.to_user_name.as_deref(), Some("gh_*"));
        assert_eq!(
            Topic::from_event("channels_ec_order_new"),
            Some(Topic::OrderNew)
        );
        assert_eq!(Topic::from_event("product_spu_audit"), None);
    }

    /// The documented `channels_ec_aftersale_update` example.
    #[test]
    fn reads_the_documented_aftersale_example() {
        let message = Message::parse(
            br#"{"ToUserName":"gh_*","FromUserName":"OpenID","CreateTime":1662480000,"MsgType":"event","Event":"channels_ec_aftersale_update","finder_shop_aftersale_status_update":{"status":"USER_WAIT_RETURN","after_sale_order_id":"1234567","order_id":"12345","wxa_vip_discounted_price":100}}"#,
        )
        .expect("message");
        assert_eq!(
            message.aftersale(),
            Ok(("USER_WAIT_RETURN", "1234567", "12345"))
        );
        assert!(message.order_id().is_err());
        let missing = Message::parse(br#"{"Event":"x"}"#).expect("message");
        assert_eq!(
            missing.create_time().map_err(|e| e.to_string()),
            Err("CreateTime: missing".into())
        );
    }
}
