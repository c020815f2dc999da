//! The pushed message: a JSON array of records `{"tag", "msg_id", "data"}`, `data` being a
//! string that holds the message's own JSON.
//!
//! Source: the official Java SDK, `com.doudian.open.core.msg.DoudianOpMsgRequest#getRequestBody`
//! (reads the body as a JSON array; per element `tag.getAsString()`, `msg_id.getAsString()` and
//! `JsonUtil.fromJson(data.getAsString(), paramClass)`) and `DoudianOpMsgParamRecord`
//! (`@SerializedName("tag")`, `("msg_id")`, `("data")`). The data fields are those of
//! `com.doudian.open.msg.trade_TradePaid.param.TradeTradePaidParam` (`p_id`, `s_ids`, `shop_id`,
//! `store_id`, `order_status`, `order_type`, `pay_type`, `pay_time`, `biz`, `pay_amount` —
//! "订单实付金额", example `1990`, fen) and their siblings in the other message classes.

use std::fmt;

use o2o_core::connector::NormaliseError;
use o2o_core::ids::IdText;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// One record of a delivery.
#[derive(Debug, Deserialize)]
pub struct Record {
    /// The message kind, a number in text (`"101"`); the SDK reads it with `getAsString`.
    pub tag: IdText,
    /// The message id (the idempotency key); read with `getAsString` too.
    pub msg_id: IdText,
    /// The message's JSON, as a string (kept raw: the test record carries a plain timestamp).
    #[serde(default)]
    pub data: Option<Box<RawValue>>,
}

impl Record {
    /// Reads one record.
    pub fn parse(bytes: &[u8]) -> Result<Self, NormaliseError> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// The message data: the JSON inside the `data` string (an object is accepted as is).
    pub fn data(&self) -> Result<MessageData, NormaliseError> {
        let raw = self
            .data
            .as_ref()
            .ok_or_else(|| NormaliseError::field("data", "missing"))?;
        let text: String;
        let json = if raw.get().starts_with('"') {
            text = serde_json::from_str(raw.get())
                .map_err(|_| NormaliseError::field("data", "not a JSON string"))?;
            text.as_str()
        } else {
            raw.get()
        };
        serde_json::from_str(json).map_err(|e| {
            NormaliseError::field(
                "data",
                NormaliseError::from(e)
                    .to_string()
                    .trim_start_matches("payload: "),
            )
        })
    }
}

/// The fields of a trade or after-sale message we read. Unknown fields are ignored; numbers
/// are read leniently (some senders quote them), ids exactly (they exceed 2^53).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MessageData {
    /// Parent (shop) order id: the order the detail API is asked for.
    pub p_id: Option<IdText>,
    /// Sub-order ids.
    pub s_ids: Vec<IdText>,
    /// The sub-order an after-sale message is about.
    pub s_id: Option<IdText>,
    /// Shop id (for instant-retail shops the headquarters id).
    pub shop_id: Option<IdText>,
    /// The parent order's status at the time of the message (2 in the paid message).
    pub order_status: Lenient,
    /// Amount paid, fen.
    pub pay_amount: Lenient,
    /// 0 cash on delivery, 1 WeChat, 2 Alipay.
    pub pay_type: Lenient,
    /// Unix seconds.
    pub pay_time: Lenient,
    /// Unix seconds (create message).
    pub create_time: Lenient,
    /// Unix seconds (ship, after-sale messages).
    pub update_time: Lenient,
    /// Unix seconds (success message).
    pub complete_time: Lenient,
    /// Unix seconds (cancel message).
    pub cancel_time: Lenient,
    /// Unix seconds (amount-changed message).
    pub modify_time: Lenient,
    /// Unix seconds (refund-success message).
    pub success_time: Lenient,
    /// Why the order was cancelled.
    pub cancel_reason: Option<String>,
    /// After-sale id (refund messages).
    pub aftersale_id: Option<IdText>,
    /// Refunded amount, fen (refund-success message).
    pub refund_amount: Lenient,
    /// Refunded postage, fen (refund-success message).
    pub refund_post_amount: Lenient,
}

/// An integer that may arrive as a JSON number or a numeric string; anything else (or a
/// missing field) reads as `None` rather than failing the whole message.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Lenient(pub Option<i64>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor { strict: false }).map(Lenient)
    }
}

/// An integer that may arrive as a JSON number or a numeric string (API answers: documented as
/// numbers, shown quoted in some examples). A present non-integer value is an error.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Num(pub i64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor { strict: true })
            .and_then(|n| n.ok_or_else(|| de::Error::custom("expected an integer")))
            .map(Num)
    }
}

struct NumVisitor {
    strict: bool,
}

impl NumVisitor {
    fn other<E: de::Error>(&self) -> Result<Option<i64>, E> {
        if self.strict {
            Err(E::custom("expected an integer"))
        } else {
            Ok(None)
        }
    }
}

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a numeric string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match i64::try_from(v) {
            Ok(v) => Ok(Some(v)),
            Err(_) => self.other(),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v.trim().parse::<i64>() {
            Ok(v) => Ok(Some(v)),
            Err(_) if v.trim().is_empty() => Ok(None),
            Err(_) => self.other(),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.other()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.other()
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        self.other()
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        self.other()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_data_string_and_keeps_big_ids_exact() {
        let record = Record::parse(
            br#"{"tag":"101","msg_id":"7029318221542309675:101:1637316553","data":"{\"p_id\":4837328765348566675,\"s_ids\":[4837328765348566676],\"shop_id\":77977,\"pay_amount\":1990,\"pay_time\":\"1630373504\",\"update_time\":\"2021-08-31T09:31:44+08:00\"}"}"#,
        )
        .expect("record");
        assert_eq!(record.tag.0, "101");
        assert_eq!(record.msg_id.0, "7029318221542309675:101:1637316553");
        let data = record.data().expect("data");
        assert_eq!(
            data.p_id.map(|i| i.0).as_deref(),
            Some("4837328765348566675")
        );
        assert_eq!(data.s_ids[0].0, "4837328765348566676");
        assert_eq!(data.shop_id.map(|i| i.0).as_deref(), Some("77977"));
        assert_eq!(data.pay_amount, Lenient(Some(1990)));
        assert_eq!(data.pay_time, Lenient(Some(1_630_373_504)));
        assert_eq!(
            data.update_time,
            Lenient(None),
            "a non-numeric time is skipped"
        );
    }

    #[test]
    fn numeric_tags_and_object_data_are_accepted_and_errors_name_fields() {
        let record =
            Record::parse(br#"{"tag":100,"msg_id":123,"data":{"p_id":"1"}}"#).expect("record");
        assert_eq!(
            (record.tag.0.as_str(), record.msg_id.0.as_str()),
            ("100", "123")
        );
        assert_eq!(
            record.data().expect("data").p_id.map(|i| i.0).as_deref(),
            Some("1")
        );
        let bad = Record::parse(br#"{"tag":"100","msg_id":"1","data":"not json"}"#)
            .expect("record")
            .data()
            .expect_err("data is not JSON");
        let bad = bad.to_string();
        assert!(bad.starts_with("data: "), "{bad}");
        assert!(!bad.contains("not json"));
        assert!(Record::parse(br#"{"msg_id":"1"}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Num>("\"12\"").map(|n| n.0).ok(),
            Some(12)
        );
        assert!(serde_json::from_str::<Num>("1.5").is_err());
    }
}
