//! The typed reading of a verified Meituan push: which URL it came to and its parameters, with
//! the JSON fields it carries as text (`detail`, `extras`, `poi_receive_detail`, `food`).
//!
//! Field lists: the open-platform push pages (推送已支付订单, 推送已确认订单 /docDetail/174, 177;
//! 取消 201; 全额退款 204; 部分退款 207; 配送状态 171) as transcribed in easynet-cn/go-meituan
//! @c098480 `app/*.go`, and a real test-store push (docs/platforms/meituan.md). Numbers arrive as
//! decimal text and are read exactly: ids reach 4.6e18, above what an `f64` keeps.

use o2o_core::connector::NormaliseError;
use o2o_core::ids::IdText;
use o2o_core::money::DecimalText;
use serde::Deserialize;

use crate::form::Params;

/// The URLs Meituan calls, one per kind of push: the last segment of
/// `/webhooks/meituan[/{tenant}]/{endpoint}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// 推送已支付订单 / 已确认订单 / 已完成订单: the whole order at its `status`.
    Order,
    /// 推送用户或客服取消订单.
    Cancel,
    /// 推送全额退款信息.
    Refund,
    /// 推送部分退款信息.
    RefundPart,
    /// 推送美配/企客订单配送状态.
    Logistics,
}

impl Endpoint {
    /// Every endpoint's path segment, in `ChannelInfo::endpoints` order.
    pub const NAMES: [&'static str; 5] = ["order", "cancel", "refund", "refund-part", "logistics"];

    /// The endpoint named `segment`.
    pub fn from_segment(segment: &str) -> Option<Self> {
        Some(match segment {
            "order" => Self::Order,
            "cancel" => Self::Cancel,
            "refund" => Self::Refund,
            "refund-part" => Self::RefundPart,
            "logistics" => Self::Logistics,
            _ => return None,
        })
    }

    /// Its path segment, which is also the delivery's topic.
    pub fn segment(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Cancel => "cancel",
            Self::Refund => "refund",
            Self::RefundPart => "refund-part",
            Self::Logistics => "logistics",
        }
    }
}

/// One verified push: where it came and what it said.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// The URL it came to.
    pub endpoint: Endpoint,
    /// Its parameters, fully decoded (`sig` included).
    pub params: Params,
}

impl Push {
    /// A parameter's text, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// A parameter that must be there.
    pub fn required(&self, name: &str) -> Result<&str, NormaliseError> {
        self.get(name)
            .ok_or_else(|| NormaliseError::field(name, "missing"))
    }

    /// A whole-number parameter (`status`, `utime`); `5.0` is read as 5.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, NormaliseError> {
        self.get(name).map(|text| integer(name, text)).transpose()
    }

    /// A JSON parameter (`detail`), read into `T`; `None` when absent or empty.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, NormaliseError> {
        self.get(name)
            .map(|text| {
                serde_json::from_str(text).map_err(|e| NormaliseError::from(e).within(name))
            })
            .transpose()
    }
}

/// A whole number written as `5`, `-10` or `5.0` (Meituan writes some counts as floats).
pub fn integer(field: &str, text: &str) -> Result<i64, NormaliseError> {
    let whole = text.strip_suffix(".0").unwrap_or(text);
    whole
        .parse()
        .map_err(|_| NormaliseError::field(field, "not a whole number"))
}

/// One line of `detail`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DetailLine {
    /// The merchant's item code.
    pub app_food_code: Option<IdText>,
    /// The item's name.
    pub food_name: Option<String>,
    /// The merchant's SKU code.
    pub sku_id: Option<IdText>,
    /// How many.
    pub quantity: Option<DecimalText>,
    /// Unit price, yuan.
    pub price: Option<DecimalText>,
    /// Boxes used by the line.
    pub box_num: Option<DecimalText>,
    /// Price of one box, yuan.
    pub box_price: Option<DecimalText>,
    /// The chosen spec (`大份`).
    pub spec: Option<String>,
    /// The chosen attributes, comma-separated (`微辣,少冰`).
    pub food_property: Option<String>,
}

/// One activity of `extras`: what it took off and who pays for it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Extra {
    /// What the activity took off the order, yuan.
    pub reduce_fee: Option<DecimalText>,
    /// The part Meituan pays, yuan.
    pub mt_charge: Option<DecimalText>,
    /// The part the merchant pays, yuan.
    pub poi_charge: Option<DecimalText>,
}

/// `poi_receive_detail`: the merchant's settlement of the order, in **fen**.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReceiveDetail {
    /// Activity money Meituan pays.
    pub act_order_charge_by_mt: Vec<Charge>,
    /// Activity money the merchant pays.
    pub act_order_charge_by_poi: Vec<Charge>,
    /// Meituan's commission on the food (佣金).
    pub food_share_fee_charge_by_poi: Option<DecimalText>,
    /// What the merchant receives.
    pub wm_poi_receive_cent: Option<DecimalText>,
}

/// One charge of `poi_receive_detail`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Charge {
    /// Its amount, fen.
    pub money_cent: Option<DecimalText>,
}

/// One line of a partial refund's `food`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RefundLine {
    /// The merchant's item code.
    pub app_food_code: Option<IdText>,
    /// The item's name.
    pub food_name: Option<String>,
    /// The merchant's SKU code.
    pub sku_id: Option<IdText>,
    /// How many are refunded.
    pub count: Option<DecimalText>,
    /// Unit price before item discounts, yuan.
    pub origin_food_price: Option<DecimalText>,
    /// Refund per unit, yuan.
    pub refund_price: Option<DecimalText>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_round_trip() {
        for name in Endpoint::NAMES {
            let endpoint = Endpoint::from_segment(name).expect("listed");
            assert_eq!(endpoint.segment(), name);
        }
        assert_eq!(Endpoint::from_segment("remind"), None);
    }

    #[test]
    fn integers_accept_a_trailing_point_zero_only() {
        assert_eq!(integer("n", "4220.0"), Ok(4220));
        assert_eq!(integer("n", "-10"), Ok(-10));
        assert!(integer("n", "4220.5").is_err());
        assert!(integer("n", "").is_err());
    }
}
