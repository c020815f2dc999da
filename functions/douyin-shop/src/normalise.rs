//! Message tags → unified event types. Every trade message is thin (ids, a status, maybe an
//! amount), so a mapped tag becomes [`Normalised::Enrich`] and the order is read from
//! `order.orderDetail` later ([`crate::order`]).
//!
//! Tag values: the official Java SDK registers no tag numbers (its message classes, e.g.
//! `com.doudian.open.msg.trade_TradeCanceled.TradeTradeCanceledRequest`, carry only their
//! param type), and the official "消息tag值对照表"
//! (<https://op.jinritemai.com/docs/guide-docs/217/1979>) was not reachable. The numbers below
//! are [C-2]: from the third-party message SDK in `zsmhub/doudian-sdk` (`message/*.go`, each
//! citing its official doc page `https://op.jinritemai.com/docs/message-docs/30/<id>`), agreeing
//! with `renhonghai/doudian-sdk` `src/Constants/MessageTagConstant.php` for 100, 101, 103.

use o2o_core::connector::{NormaliseError, Normalised};
use o2o_core::event::EventType;

use crate::payload::MessageData;

/// The tag of the test record the platform posts when a push URL is saved:
/// `[{"tag":"0","msg_id":"0","data":"2020-09-10T16:27:56.52842897+08:00"}]` [C-2]
/// (third-party integrations quote it; it must be answered `{"code":0,"msg":"success"}`).
pub const TEST_TAG: &str = "0";

/// One mapped message kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The tag value (`"101"`).
    pub tag: &'static str,
    /// The SDK's message name (`trade_TradePaid`).
    pub name: &'static str,
    /// What it becomes.
    pub event_type: EventType,
}

const fn tag(tag: &'static str, name: &'static str, event_type: EventType) -> Tag {
    Tag {
        tag,
        name,
        event_type,
    }
}

/// The trade and after-sale messages we map (doc page ids in `message-docs/30/…`, `/31/…`).
pub const TAGS: &[Tag] = &[
    tag("100", "trade_TradeCreate", EventType::OrderCreated), // 30/109
    tag("101", "trade_TradePaid", EventType::PaymentSucceeded), // 30/110
    tag("102", "trade_TradeSellerShip", EventType::FulfilmentUpdated), // 30/111
    tag("103", "trade_TradeSuccess", EventType::OrderCompleted), // 30/112
    tag(
        "104",
        "trade_TradeLogisticsChanged",
        EventType::FulfilmentUpdated,
    ), // 30/113
    tag("105", "trade_TradeAddressChanged", EventType::OrderUpdated), // 30/114
    tag("106", "trade_TradeCanceled", EventType::OrderCancelled), // 30/123
    tag(
        "108",
        "trade_TradePartlySellerShip",
        EventType::FulfilmentUpdated,
    ), // 30/208
    tag("109", "trade_TradeAmountChanged", EventType::OrderUpdated), // 30/265
    tag("110", "trade_TradePending", EventType::OrderUpdated), // 30/277
    tag(
        "111",
        "trade_TradeAddressChangeApplied",
        EventType::OrderUpdated,
    ), // 30/285
    tag("113", "trade_TradeMemoModify", EventType::OrderUpdated), // 30/571
    tag("200", "refund_RefundCreated", EventType::OrderUpdated), // 31/115
    tag("201", "refund_RefundAgreed", EventType::OrderUpdated), // 31/116
    tag("202", "refund_ReturnApplyAgreed", EventType::OrderUpdated), // 31/117
    tag("203", "refund_BuyerReturnGoods", EventType::OrderUpdated), // 31/118
    tag("204", "refund_RefundRefused", EventType::OrderUpdated), // 31/119
    tag("205", "refund_ReturnApplyRefused", EventType::OrderUpdated), // 31/120
    tag("206", "refund_RefundSuccess", EventType::OrderRefunded), // 31/121
    tag("207", "refund_RefundClosed", EventType::OrderUpdated), // 31/122
    tag("208", "refund_RefundModified", EventType::OrderUpdated), // 31/230
];

/// The mapping of `tag`, if it is one we map.
pub fn lookup(tag: &str) -> Option<&'static Tag> {
    TAGS.iter().find(|t| t.tag == tag)
}

/// One record as `parse` read it: its tag, and its data (absent for the test record).
#[derive(Debug)]
pub struct Message {
    /// The tag (`"101"`).
    pub tag: String,
    /// The message's data, read once.
    pub data: Option<MessageData>,
}

/// What enrichment needs of a mapped record.
#[derive(Debug)]
pub struct Thin {
    /// The unified event it becomes.
    pub event_type: EventType,
    /// The parent order to fetch.
    pub p_id: String,
    /// The message's data.
    pub data: MessageData,
}

/// Maps one record by its tag: the test record and unmapped tags are ignored, mapped ones
/// need the order detail API.
pub fn normalise(message: Message) -> Result<Normalised<Thin>, NormaliseError> {
    if message.tag == TEST_TAG {
        return Ok(Normalised::Ignored("test message".to_owned()));
    }
    let Some(mapped) = lookup(&message.tag) else {
        return Ok(Normalised::Ignored(format!(
            "tag {} is not mapped",
            message.tag
        )));
    };
    let data = message
        .data
        .ok_or_else(|| NormaliseError::field("data", "missing"))?;
    // The enrichment asks the API for `p_id`: a message without it cannot be enriched.
    let Some(p_id) = data.p_id.as_ref().map(|p| p.0.clone()) else {
        return Err(NormaliseError::field(
            "data.p_id",
            format!("missing in a {} message", mapped.name),
        ));
    };
    Ok(Normalised::Enrich(Thin {
        event_type: mapped.event_type,
        p_id,
        data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Record;

    /// One record read as `DouyinShop::parse` reads it (data skipped for the test tag).
    fn message(body: &str) -> Message {
        let record = Record::parse(body.as_bytes()).expect("record");
        let data = (record.tag.0 != TEST_TAG).then(|| record.data().expect("data"));
        Message {
            tag: record.tag.0,
            data,
        }
    }

    /// What `normalise` made of it, with the thin reading as (event type, p_id, shop_id).
    type Outcome = Result<Normalised<(EventType, String, Option<String>)>, String>;

    fn outcome(body: &str) -> Outcome {
        match normalise(message(body)) {
            Ok(Normalised::Enrich(thin)) => Ok(Normalised::Enrich((
                thin.event_type,
                thin.p_id,
                thin.data.shop_id.map(|s| s.0),
            ))),
            Ok(Normalised::Events(events)) => Ok(Normalised::Events(events)),
            Ok(Normalised::Ignored(reason)) => Ok(Normalised::Ignored(reason)),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn maps_trade_tags_and_ignores_the_rest() {
        let expected = [
            ("100", EventType::OrderCreated),
            ("101", EventType::PaymentSucceeded),
            ("102", EventType::FulfilmentUpdated),
            ("103", EventType::OrderCompleted),
            ("106", EventType::OrderCancelled),
            ("109", EventType::OrderUpdated),
            ("206", EventType::OrderRefunded),
            ("200", EventType::OrderUpdated),
        ];
        for (t, event_type) in expected {
            assert_eq!(lookup(t).map(|m| m.event_type), Some(event_type), "tag {t}");
            let body = format!(r#"{{"tag":"{t}","msg_id":"m","data":"{{\"p_id\":1}}"}}"#);
            assert_eq!(
                outcome(&body),
                Ok(Normalised::Enrich((event_type, "1".into(), None))),
                "tag {t}"
            );
        }
        assert_eq!(
            outcome(
                r#"{"tag":"101","msg_id":"m","data":"{\"p_id\":4837328765348566675,\"shop_id\":77977}"}"#
            ),
            Ok(Normalised::Enrich((
                EventType::PaymentSucceeded,
                "4837328765348566675".into(),
                Some("77977".into())
            ))),
            "ids above 2^53 stay exact"
        );
        assert_eq!(
            outcome(r#"{"tag":"400","msg_id":"m","data":"{}"}"#),
            Ok(Normalised::Ignored("tag 400 is not mapped".into()))
        );
        assert_eq!(
            outcome(r#"{"tag":"0","msg_id":"0","data":"2020-09-10T16:27:56+08:00"}"#),
            Ok(Normalised::Ignored("test message".into()))
        );
        assert_eq!(
            outcome(r#"{"tag":"101","msg_id":"m","data":"{\"shop_id\":1}"}"#),
            Err("data.p_id: missing in a trade_TradePaid message".into())
        );
        // A mapped tag without data at all (parse reads data for every non-test tag, so only a
        // hand-built message gets here).
        assert_eq!(
            normalise(Message {
                tag: "101".into(),
                data: None
            })
            .map(|_| ())
            .map_err(|e| e.to_string()),
            Err("data: missing".into())
        );
    }
}
