//! What the legacy `sign` leaves open, and the cross-check that closes it.
//!
//! The legacy body `sign` is `MD5(client_id + msg + client_secret)`: it covers `msg` and nothing
//! else. The envelope around it (`type`, `id`, `status`, `kdt_id`, `msg_id`, `version`, `test`)
//! is not signed, yet `type` decides the unified event, `id` stands in for a `msg` without a
//! `tid`, and `status` becomes the order's status where `msg` has none. A captured, signed
//! `trade_TradeCreate` re-posted with `"type":"trade_TradeClose"` used to become an
//! `order.cancelled`. So a legacy-signed delivery's envelope must agree with its signed `msg`:
//!
//! - `msg` must name the order (`tid`, or `full_order_info.order_info.tid`), and the envelope's
//!   `id`, when present, must be that tid (`id_mismatch`);
//! - `type` must be what `msg` shows (`type_mismatch`); the signed order status is
//!   `full_order_info.order_info.status`, else `msg.status`, read through the same mapping as
//!   `order.status` (`WAIT_BUYER_PAY` → pending payment …):
//!
//! | type | the signed `msg` must show |
//! |---|---|
//! | `trade_TradeCreate` | an order pending payment or placed (a created order, paid or not) |
//! | `trade_TradePaid`, `trade_TradeBuyerPay` | not pending payment nor closed, and a `pay_time` or a paid status |
//! | `trade_TradeSellerShip`, `trade_TradePartlySellerShip` | not pending payment nor closed, and a `consign_time`, an `express_no`/`express_id` or a shipped status |
//! | `trade_TradeSuccess` | the status `TRADE_SUCCESS` (or, without a status, a `success_time`) |
//! | `trade_TradeClose` | the status `TRADE_CLOSED` (or, without a status, `close_type`/`close_reason`) |
//! | the refund types | a refund (`refund_id` or `refunded_fee`), not an order |
//! | `trade_TradeMemoModified` | any order (a memo changes at any time) |
//!
//! - the envelope's `status`, when present, must map to the same order status as the signed one
//!   (or, where `msg` has none, as the type implies: closed, completed) (`status_mismatch`);
//!   `TRADE_PAID`, the payment message's own status, agrees with any paid order.
//!
//! A disagreement is refused by `verify` like a bad signature (401, nothing stored): the
//! delivery as presented is not what Youzan signed, and the quarantine is for authenticated
//! content, not for envelopes nobody signed. A `msg` that cannot be read is not judged here: it
//! is authenticated, and `normalise` quarantines it. A message flagged `test` is acked and
//! ignored whatever it says (the flag can only silence a message), and the types we do not map
//! are ignored too. `Event-Sign` covers the whole body and needs none of this. What remains
//! (`kdt_id`, `msg_id`, `version`, a memo's status) is in docs/platforms/youzan.md.

use o2o_core::event::OrderStatus;
use serde::Deserialize;

use crate::normalise::{Kind, decode_msg, status};
use crate::payload::{Envelope, text};

/// What the signed `msg` says, as far as the check needs.
#[derive(Debug, Default, Deserialize)]
struct Signed {
    full_order_info: Option<SignedOrder>,
    #[serde(default, deserialize_with = "text")]
    tid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    express_no: Option<String>,
    #[serde(default, deserialize_with = "text")]
    express_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    close_type: Option<String>,
    #[serde(default, deserialize_with = "text")]
    close_reason: Option<String>,
    #[serde(default, deserialize_with = "text")]
    refund_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    refunded_fee: Option<String>,
}

/// `full_order_info`, as far as the check needs.
#[derive(Debug, Default, Deserialize)]
struct SignedOrder {
    #[serde(default)]
    order_info: SignedOrderInfo,
}

/// `full_order_info.order_info`, as far as the check needs.
#[derive(Debug, Default, Deserialize)]
struct SignedOrderInfo {
    #[serde(default, deserialize_with = "text")]
    tid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pay_time: Option<String>,
    #[serde(default, deserialize_with = "text")]
    consign_time: Option<String>,
    #[serde(default, deserialize_with = "text")]
    success_time: Option<String>,
}

/// An envelope field that disagrees with the signed `msg`; names fields, never values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disagreement {
    /// The rejection code: `type_mismatch`, `id_mismatch` or `status_mismatch`.
    pub code: &'static str,
    /// The envelope field (`type`).
    pub field: &'static str,
    /// What the signed `msg` shows instead.
    pub reason: &'static str,
}

impl Disagreement {
    /// `does not match the signed msg: …`, for a quarantine error naming [`field`](Self::field).
    pub fn problem(&self) -> String {
        format!("does not match the signed msg: {}", self.reason)
    }

    /// `type does not match the signed msg: …`, the 401's message.
    pub fn message(&self) -> String {
        format!("{} {}", self.field, self.problem())
    }
}

fn disagree(code: &'static str, field: &'static str, reason: &'static str) -> Disagreement {
    Disagreement {
        code,
        field,
        reason,
    }
}

/// Checks a legacy-signed delivery's envelope against its signed `msg` (see the module docs).
pub fn check(envelope: &Envelope) -> Result<(), Disagreement> {
    if envelope.test {
        return Ok(());
    }
    let Some(kind) = envelope.kind.as_deref().and_then(Kind::of) else {
        return Ok(());
    };
    let Ok(msg) = decode_msg::<Signed>(envelope) else {
        return Ok(());
    };
    let info = msg.full_order_info.as_ref().map(|f| &f.order_info);
    let Some(tid) = info.and_then(|o| o.tid.as_deref()).or(msg.tid.as_deref()) else {
        return Err(disagree(
            "id_mismatch",
            "id",
            "it names no order (tid), and the envelope's id is not signed",
        ));
    };
    if envelope.id.as_deref().is_some_and(|id| id != tid) {
        return Err(disagree("id_mismatch", "id", "it is not the signed tid"));
    }
    let signed = status(
        info.and_then(|o| o.status.as_deref())
            .or(msg.status.as_deref()),
    );
    if let Err(reason) = kind_agrees(kind, &msg, info, signed) {
        return Err(disagree("type_mismatch", "type", reason));
    }
    let expected = signed.or(match kind {
        Kind::Close => Some(OrderStatus::Cancelled),
        Kind::Success => Some(OrderStatus::Completed),
        _ => None,
    });
    let stated = envelope.status.as_deref();
    let agrees = match (expected, status(stated)) {
        // Unknown statuses are not judged (the raw text is only reported).
        (None, _) | (_, None) => true,
        // `TRADE_PAID` is the payment message's own status, not an order state: any paid order
        // (virtual goods may be complete the moment they are paid).
        (Some(expected), Some(_)) if stated == Some("TRADE_PAID") => {
            matches!(
                expected,
                OrderStatus::Placed | OrderStatus::OutForDelivery | OrderStatus::Completed
            )
        }
        (Some(expected), Some(stated)) => stated == expected,
    };
    if !agrees {
        return Err(disagree(
            "status_mismatch",
            "status",
            "it means another order status than the signed one",
        ));
    }
    Ok(())
}

/// Whether the signed `msg` shows what `kind` says happened.
fn kind_agrees(
    kind: Kind,
    msg: &Signed,
    info: Option<&SignedOrderInfo>,
    signed: Option<OrderStatus>,
) -> Result<(), &'static str> {
    use OrderStatus::{Cancelled, Completed, OutForDelivery, PendingPayment, Placed};
    let has = |field: Option<&String>| field.is_some_and(|v| !v.trim().is_empty());
    let unpaid_or_closed = matches!(signed, Some(PendingPayment | Cancelled));
    match kind {
        Kind::Create if matches!(signed, Some(PendingPayment | Placed)) => Ok(()),
        Kind::Create => Err("its order is not a newly created one"),
        Kind::Paid if unpaid_or_closed => Err("its order is unpaid or closed"),
        Kind::Paid
            if has(info.and_then(|o| o.pay_time.as_ref()))
                || matches!(signed, Some(Placed | OutForDelivery | Completed)) =>
        {
            Ok(())
        }
        Kind::Paid => Err("it shows no payment"),
        Kind::SellerShip | Kind::PartlySellerShip if unpaid_or_closed => {
            Err("its order is unpaid or closed")
        }
        Kind::SellerShip | Kind::PartlySellerShip
            if has(info.and_then(|o| o.consign_time.as_ref()))
                || has(msg.express_no.as_ref())
                || has(msg.express_id.as_ref())
                || matches!(signed, Some(OutForDelivery | Completed)) =>
        {
            Ok(())
        }
        Kind::SellerShip | Kind::PartlySellerShip => Err("it shows no shipment"),
        Kind::Success => match signed {
            Some(Completed) => Ok(()),
            None if has(info.and_then(|o| o.success_time.as_ref())) => Ok(()),
            _ => Err("its order is not completed"),
        },
        Kind::Close => match signed {
            Some(Cancelled) => Ok(()),
            None if has(msg.close_type.as_ref()) || has(msg.close_reason.as_ref()) => Ok(()),
            _ => Err("its order is not closed"),
        },
        Kind::Refund if msg.full_order_info.is_some() => Err("it is an order, not a refund"),
        Kind::Refund if has(msg.refund_id.as_ref()) || has(msg.refunded_fee.as_ref()) => Ok(()),
        Kind::Refund => Err("it shows no refund"),
        Kind::MemoModified => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An envelope of `kind` around `msg` (URL-encoded, as the legacy form carries it).
    fn envelope(kind: &str, msg: serde_json::Value, extra: serde_json::Value) -> Envelope {
        let encoded: String = msg
            .to_string()
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    char::from(b).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        let mut body =
            json!({"client_id": "c", "kdt_id": 1, "type": kind, "msg": encoded, "sign": "x"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        serde_json::from_value(body).expect("an envelope")
    }

    fn code(kind: &str, msg: serde_json::Value, extra: serde_json::Value) -> Option<&'static str> {
        check(&envelope(kind, msg, extra)).err().map(|d| d.code)
    }

    fn full(status: &str, times: serde_json::Value) -> serde_json::Value {
        let mut info = json!({"tid": "E1", "status": status});
        if let (Some(info), Some(times)) = (info.as_object_mut(), times.as_object()) {
            info.extend(times.clone());
        }
        json!({"full_order_info": {"order_info": info}})
    }

    /// The forgery of issue 13: a signed TradeCreate re-posted as a TradeClose.
    #[test]
    fn a_created_order_is_not_a_closed_one() {
        let created = full("WAIT_BUYER_PAY", json!({"pay_time": ""}));
        assert_eq!(
            code(
                "trade_TradeCreate",
                created.clone(),
                json!({"id": "E1", "status": "WAIT_BUYER_PAY"})
            ),
            None
        );
        for forged in [
            "trade_TradeClose",
            "trade_TradePaid",
            "trade_TradeBuyerPay",
            "trade_TradeSuccess",
            "trade_TradeSellerShip",
            "trade_refund_RefundSuccess",
        ] {
            assert_eq!(
                code(forged, created.clone(), json!({"id": "E1"})),
                Some("type_mismatch"),
                "{forged}"
            );
        }
        let refused =
            check(&envelope("trade_TradeClose", created, json!({}))).expect_err("refused");
        assert_eq!(
            refused.message(),
            "type does not match the signed msg: its order is not closed"
        );
    }

    #[test]
    fn each_type_needs_its_evidence_in_the_signed_msg() {
        let none = json!({});
        let paid = full(
            "WAIT_SELLER_SEND_GOODS",
            json!({"pay_time": "2025-06-18 09:31:40"}),
        );
        let shipped = full(
            "WAIT_BUYER_CONFIRM_GOODS",
            json!({"consign_time": "2025-06-18 15:02:09"}),
        );
        let done = full(
            "TRADE_SUCCESS",
            json!({"success_time": "2025-06-21 10:32:15"}),
        );
        let closed_brief = json!({"tid": "E1", "close_type": 1, "close_reason": "NONE"});
        let closed_status = json!({"tid": "E1", "status": "TRADE_CLOSED", "payment": "11.00"});
        let partly = json!({"tid": "E1", "express_no": "SF1", "express_id": 7});
        let memo = json!({"tid": "E1", "update_time": "2025-06-18 16:05:44"});
        let refund = json!({"tid": "E1", "refund_id": "R1", "refunded_fee": "15.00"});
        let accepted = [
            ("trade_TradePaid", &paid),
            ("trade_TradeBuyerPay", &paid),
            ("trade_TradeCreate", &paid),
            ("trade_TradeSellerShip", &shipped),
            ("trade_TradePartlySellerShip", &partly),
            ("trade_TradeSuccess", &done),
            ("trade_TradeClose", &closed_brief),
            ("trade_TradeClose", &closed_status),
            ("trade_TradeMemoModified", &memo),
            ("trade_TradeMemoModified", &paid),
            ("trade_refund_RefundSuccess", &refund),
            ("trade_refund_RefundSellerAgree", &refund),
        ];
        for (kind, msg) in accepted {
            assert_eq!(code(kind, msg.clone(), none.clone()), None, "{kind} {msg}");
        }
        let refused = [
            // A memo (tid and time only) says nothing happened: not a close, payment …
            ("trade_TradeClose", &memo),
            ("trade_TradePaid", &memo),
            ("trade_TradeSellerShip", &memo),
            ("trade_TradeSuccess", &memo),
            ("trade_TradeCreate", &memo),
            ("trade_refund_RefundSuccess", &memo),
            // A refund is not a close; a payment is not a completion; a close is not a payment.
            ("trade_TradeClose", &refund),
            ("trade_TradeSuccess", &paid),
            ("trade_TradePaid", &closed_status),
            ("trade_TradeClose", &shipped),
            ("trade_refund_RefundSuccess", &paid),
        ];
        for (kind, msg) in refused {
            assert_eq!(
                code(kind, msg.clone(), none.clone()),
                Some("type_mismatch"),
                "{kind} {msg}"
            );
        }
    }

    #[test]
    fn the_envelope_id_and_status_must_agree_with_the_signed_msg() {
        let paid = full(
            "WAIT_SELLER_SEND_GOODS",
            json!({"pay_time": "2025-06-18 09:31:40"}),
        );
        // TRADE_PAID and WAIT_SELLER_SEND_GOODS both mean "placed" (the sample trade-paid).
        assert_eq!(
            code(
                "trade_TradePaid",
                paid.clone(),
                json!({"id": "E1", "status": "TRADE_PAID"})
            ),
            None
        );
        assert_eq!(
            code(
                "trade_TradePaid",
                paid.clone(),
                json!({"status": "TRADE_CLOSED"})
            ),
            Some("status_mismatch")
        );
        assert_eq!(
            code("trade_TradePaid", paid.clone(), json!({"id": "E2"})),
            Some("id_mismatch")
        );
        // Where msg has no status, the type's own: a close is closed.
        let closed = json!({"tid": "E1", "close_type": 1});
        assert_eq!(
            code(
                "trade_TradeClose",
                closed.clone(),
                json!({"status": "TRADE_CLOSED"})
            ),
            None
        );
        assert_eq!(
            code(
                "trade_TradeClose",
                closed,
                json!({"status": "WAIT_BUYER_PAY"})
            ),
            Some("status_mismatch")
        );
        // A msg that names no order cannot borrow the unsigned id.
        assert_eq!(
            code(
                "trade_TradeMemoModified",
                json!({"update_time": "x"}),
                json!({"id": "E1"})
            ),
            Some("id_mismatch")
        );
        // Unknown statuses are not judged (the raw text is only reported).
        assert_eq!(
            code("trade_TradePaid", paid, json!({"status": "SOMETHING_NEW"})),
            None
        );
        // TRADE_PAID is any paid order, a completed one too (virtual goods); not an unpaid one.
        let completed = full("TRADE_SUCCESS", json!({"pay_time": "2025-06-18 09:31:40"}));
        assert_eq!(
            code(
                "trade_TradePaid",
                completed,
                json!({"status": "TRADE_PAID"})
            ),
            None
        );
        assert_eq!(
            code(
                "trade_TradeCreate",
                full("WAIT_BUYER_PAY", json!({})),
                json!({"status": "TRADE_PAID"})
            ),
            Some("status_mismatch")
        );
    }

    #[test]
    fn test_flags_unmapped_types_and_unreadable_msgs_are_left_to_the_pipeline() {
        let created = full("WAIT_BUYER_PAY", json!({}));
        assert_eq!(
            code("trade_TradeClose", created.clone(), json!({"test": true})),
            None
        );
        assert_eq!(code("trade_refund_BuyerCreated", created, json!({})), None);
        let unreadable: Envelope = serde_json::from_value(
            json!({"client_id": "c", "type": "trade_TradeClose", "msg": "Lin+Xiaoyu", "sign": "x"}),
        )
        .expect("an envelope");
        assert_eq!(check(&unreadable), Ok(()), "normalise quarantines it");
    }
}
