//! The parts of Youzan's push messages we read (unknown fields are ignored).
//!
//! Youzan is loose with types: ids and counts arrive as JSON numbers or strings, and an absent
//! time may be `""`, `null` or even `{}` (`"consign_time":{}` in a 2018 capture). The helpers
//! here read such fields leniently; anything that is not usable text is "absent".

use o2o_core::ids::IdText;
use o2o_core::money::DecimalText;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The push envelope (the JSON body of every delivery).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Envelope {
    /// The app the message is for.
    #[serde(default, deserialize_with = "text")]
    pub client_id: Option<String>,
    /// The business id: the order number (`tid`) for trade messages.
    #[serde(default, deserialize_with = "text")]
    pub id: Option<String>,
    /// The shop id.
    #[serde(default, deserialize_with = "text")]
    pub kdt_id: Option<String>,
    /// The message itself: a URL-encoded JSON string, or (newer refund messages) an object.
    #[serde(default)]
    pub msg: Option<Value>,
    /// The message's unique id.
    #[serde(default, deserialize_with = "text")]
    pub msg_id: Option<String>,
    /// The legacy signature, `MD5(client_id + msg + client_secret)`.
    #[serde(default, deserialize_with = "text")]
    pub sign: Option<String>,
    /// The order status after the event (`WAIT_BUYER_PAY`, `TRADE_PAID` …).
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
    /// `true` for Youzan's test and health-check messages.
    #[serde(default, deserialize_with = "flag")]
    pub test: bool,
    /// The message type, e.g. `trade_TradePaid`.
    #[serde(default, rename = "type", deserialize_with = "text")]
    pub kind: Option<String>,
    /// The message version ("higher versions replace lower ones").
    #[serde(default, deserialize_with = "text")]
    pub version: Option<String>,
}

/// A decoded trade message: the full order, or only its key fields (close, shipping messages).
#[derive(Debug, Default, Deserialize)]
pub struct TradeMsg {
    pub full_order_info: Option<FullOrderInfo>,
    #[serde(default, deserialize_with = "text")]
    pub tid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub update_time: Option<String>,
    pub payment: Option<DecimalText>,
    #[serde(default, deserialize_with = "text")]
    pub express_no: Option<String>,
}

/// `full_order_info`: the order as `youzan.trade.get` describes it.
#[derive(Debug, Default, Deserialize)]
pub struct FullOrderInfo {
    pub order_info: OrderInfo,
    #[serde(default)]
    pub buyer_info: Option<BuyerInfo>,
    #[serde(default)]
    pub address_info: Option<AddressInfo>,
    #[serde(default)]
    pub remark_info: Option<RemarkInfo>,
    #[serde(default)]
    pub pay_info: Option<PayInfo>,
    #[serde(default)]
    pub orders: Vec<OrderLine>,
}

/// `order_info`.
#[derive(Debug, Default, Deserialize)]
pub struct OrderInfo {
    pub tid: IdText,
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub created: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub pay_time: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub update_time: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub consign_time: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub success_time: Option<String>,
    /// 0 express shipping, 1 pickup in store, 2 local delivery, 9 no shipping (virtual goods).
    #[serde(default, deserialize_with = "text")]
    pub express_type: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub pay_type_str: Option<String>,
}

/// `buyer_info`.
#[derive(Debug, Default, Deserialize)]
pub struct BuyerInfo {
    #[serde(default, deserialize_with = "text")]
    pub buyer_phone: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub fans_nickname: Option<String>,
}

/// `address_info`.
#[derive(Debug, Default, Deserialize)]
pub struct AddressInfo {
    #[serde(default, deserialize_with = "text")]
    pub receiver_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub receiver_tel: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub delivery_province: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub delivery_city: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub delivery_district: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub delivery_address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub delivery_postal_code: Option<String>,
    /// Pickup details, a JSON object written as a string (`""` when not a pickup order).
    #[serde(default, deserialize_with = "text")]
    pub self_fetch_info: Option<String>,
}

/// The pickup point inside `self_fetch_info` (field names [?]: read when present).
#[derive(Debug, Default, Deserialize)]
pub struct SelfFetchInfo {
    #[serde(default, deserialize_with = "text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub province: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub district: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub user_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub user_tel: Option<String>,
}

/// `remark_info`.
#[derive(Debug, Default, Deserialize)]
pub struct RemarkInfo {
    #[serde(default, deserialize_with = "text")]
    pub buyer_message: Option<String>,
}

/// `pay_info` (amounts in yuan).
#[derive(Debug, Default, Deserialize)]
pub struct PayInfo {
    /// Items before discounts ("优惠前商品总价").
    pub total_fee: Option<DecimalText>,
    /// Postage.
    pub post_fee: Option<DecimalText>,
    /// What the buyer pays ("最终支付价格").
    pub payment: Option<DecimalText>,
    /// Youzan payment serial numbers.
    #[serde(default, deserialize_with = "texts")]
    pub transaction: Vec<String>,
    /// External (WeChat Pay, Alipay …) payment numbers.
    #[serde(default, deserialize_with = "texts")]
    pub outer_transactions: Vec<String>,
}

/// One line of `orders[]` (amounts in yuan).
#[derive(Debug, Default, Deserialize)]
pub struct OrderLine {
    #[serde(default, deserialize_with = "text")]
    pub oid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub num: Option<String>,
    /// Unit price before discounts ("单商品原价").
    pub price: Option<DecimalText>,
    /// Line total after item discounts ("商品优惠后总价").
    pub total_fee: Option<DecimalText>,
    /// The line's share of what the buyer pays ("商品最终均摊价").
    pub payment: Option<DecimalText>,
    #[serde(default, deserialize_with = "text")]
    pub outer_sku_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub outer_item_id: Option<String>,
    /// `[{"k":"颜色","v":"红"}]` as a string, `""`/`"[]"` without variants.
    #[serde(default, deserialize_with = "text")]
    pub sku_properties_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub buyer_messages: Option<String>,
}

/// One variant property inside `sku_properties_name`.
#[derive(Debug, Deserialize)]
pub struct SkuProperty {
    #[serde(default, deserialize_with = "text")]
    pub k: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub v: Option<String>,
}

/// A refund message (`trade_refund_*`, `youzan_trade_Refund*`).
#[derive(Debug, Default, Deserialize)]
pub struct RefundMsg {
    #[serde(default, deserialize_with = "text")]
    pub tid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub refund_id: Option<String>,
    pub refunded_fee: Option<DecimalText>,
    #[serde(default, deserialize_with = "text")]
    pub refund_reason: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub update_time: Option<String>,
}

/// Reads a string, number or boolean as text; `null`, `""`, objects and arrays are absent.
/// Numbers keep their exact digits (`serde_json` numbers are not rounded when printed back:
/// integers are held as `u64`/`i64`, so ids above 2^53 stay exact).
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_text(&Value::deserialize(d)?))
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An array of ids or strings (`transaction`, `outer_transactions`); anything else is empty.
fn texts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.iter().filter_map(value_text).collect(),
        _ => Vec::new(),
    })
}

/// `true`, or the string `"true"` (some gateways stringify booleans).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s == "true",
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_loose_fields() {
        let env: Envelope = serde_json::from_str(
            r#"{"kdt_id":18446744073709551615,"id":"E1","test":"true","type":"trade_TradePaid",
                "version":1614663035,"msg":"x","sign":""}"#,
        )
        .expect("envelope");
        assert_eq!(env.kdt_id.as_deref(), Some("18446744073709551615"));
        assert!(env.test);
        assert_eq!(env.version.as_deref(), Some("1614663035"));
        assert_eq!(env.sign, None, "an empty sign is absent");
        let info: OrderInfo = serde_json::from_str(
            r#"{"tid":"E2","consign_time":{},"success_time":"","pay_time":null,"express_type":2}"#,
        )
        .expect("order_info");
        assert_eq!(
            (info.consign_time, info.success_time, info.pay_time),
            (None, None, None)
        );
        assert_eq!(info.express_type.as_deref(), Some("2"));
        let pay: PayInfo = serde_json::from_str(
            r#"{"transaction":[180921104852000048,"a"],"outer_transactions":""}"#,
        )
        .expect("pay_info");
        assert_eq!(pay.transaction, ["180921104852000048", "a"]);
        assert!(pay.outer_transactions.is_empty());
    }
}
