//! Order commands on Ele.me's API: accept (`eleme.order.confirmOrderLite`), reject and cancel
//! (`eleme.order.cancelOrderLite`, which serves both, with an `OInvalidateType` and a remark),
//! ready (`eleme.order.setOrderPrepared`, 商家确认已完成出餐).
//!
//! Each is one signed JSON-RPC call of [`OrderApi::call`], under the app's client-credentials
//! token (refreshed once when refused). The actions and their parameters are the official SDKs':
//! PHP SDK 1.87.0 (`qfz9527/eleme-openapi-php-sdk` @ `ce01c36936a5075caeb5adfccdb586f8767edfae`,
//! `src/ElemeOpenApi/Api/OrderService.php`: `confirm_order_lite`, `cancel_order_lite`,
//! `set_order_prepared`) and the Java SDK (`dllen/eleme-openapi-java-sdk` @
//! `8f7ef6c0d9b8c49c7eebcf2f4b4e259303fcaa5d`: `api/service/OrderService.java`,
//! `api/enumeration/order/OInvalidateType.java`). The answer is `{id, result: null, error: null}`,
//! or an `error: {code, message}` sorted by [`classify_code`]. Details and what is unconfirmed:
//! docs/platforms/eleme.md, "Order commands".

use std::time::Duration;

use o2o_core::command::{
    Action, CallDone, CallFailure, CommandKind, FailureCode, OrderCommand, Reason,
};
use serde_json::{Value, json};

use crate::api::{OrderApi, RpcAnswer, RpcError, classify_code, shown_code};

/// 确认订单(推荐): accept.
pub const CONFIRM: &str = "eleme.order.confirmOrderLite";
/// 取消订单(推荐): reject (before accepting) and cancel (after).
pub const CANCEL: &str = "eleme.order.cancelOrderLite";
/// 商家确认已完成出餐: ready.
pub const PREPARED: &str = "eleme.order.setOrderPrepared";

/// The kinds Ele.me carries out.
pub const KINDS: &[CommandKind] = &[
    CommandKind::Accept,
    CommandKind::Reject,
    CommandKind::Ready,
    CommandKind::Cancel,
];

/// The longest platform message kept, in characters.
const MAX_PLATFORM_MESSAGE: usize = 200;

/// The platform's window for `kind`: none is documented, so the command's own `deadline` is the
/// only limit (Ele.me refuses a late call itself).
pub fn window(_kind: CommandKind) -> Option<Duration> {
    None
}

/// Ele.me's `OInvalidateType` for `reason`, and its description, which is sent as `remark` when
/// the command has no `note`.
pub fn invalidate_type(reason: Reason) -> (&'static str, &'static str) {
    match reason {
        Reason::Busy => ("restaurantTooBusy", "商家现在太忙"),
        Reason::Closed => ("restaurantClosed", "商家已经打烊"),
        Reason::ItemUnavailable => ("foodSoldOut", "商品已经售完"),
        Reason::CustomerRequest => ("forceRejectOrder", "用户要求取消"),
        Reason::AddressUnreachable => ("distanceTooFar", "超出配送范围"),
        Reason::Other => ("others", "其他原因"),
    }
}

/// One API call: its action and its `params`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `eleme.order.…`.
    pub action: &'static str,
    /// `orderId`, and `type` and `remark` for a cancellation.
    pub params: Vec<(&'static str, Value)>,
}

/// The call that carries out `command`; a kind Ele.me does not have is `unsupported`, without a
/// call.
pub fn call_for(command: &OrderCommand) -> Result<Call, CallFailure> {
    let order_id = json!(command.order.external_id.trim());
    let (action, params) = match &command.action {
        Action::Accept { .. } => (CONFIRM, vec![("orderId", order_id)]),
        Action::Ready {} => (PREPARED, vec![("orderId", order_id)]),
        Action::Reject { reason, note } | Action::Cancel { reason, note } => {
            let (kind, text) = invalidate_type(*reason);
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
            (
                CANCEL,
                vec![
                    ("orderId", order_id),
                    ("type", json!(kind)),
                    ("remark", json!(note.unwrap_or(text))),
                ],
            )
        }
        Action::Fulfil(_) => {
            return Err(CallFailure::permanent(
                FailureCode::Unsupported,
                "Ele.me does not carry out fulfil commands",
            ));
        }
    };
    Ok(Call { action, params })
}

/// Carries out `command` with the app's API.
pub async fn execute(api: &OrderApi, command: &OrderCommand) -> Result<CallDone, CallFailure> {
    let call = call_for(command)?;
    let reply = api.call(call.action, &call.params).await?;
    read(&reply)
}

/// Reads the answer: an `error` by its code, whatever the HTTP status; another non-2xx by its
/// status; a body that is not the protocol's JSON is `bad_answer`; else done (the Lite calls
/// answer `result: null`).
pub fn read(reply: &RpcAnswer) -> Result<CallDone, CallFailure> {
    let answer = &reply.answer;
    if let Some(error) = &reply.error {
        return Err(failure(&answer.api, error));
    }
    if !answer.is_success() {
        return Err(answer.failure(None, None));
    }
    if !reply.readable {
        return Err(answer.json::<Value>().err().unwrap_or_else(|| {
            CallFailure::permanent(
                FailureCode::BadAnswer,
                format!("{}: the answer is not the API's JSON", answer.api),
            )
        }));
    }
    Ok(CallDone::default())
}

/// The failure of an API `error`: its class, Ele.me's code when it looks like one, and its
/// message (control characters blanked, shortened).
pub fn failure(api: &str, error: &RpcError) -> CallFailure {
    let (code, transient) = classify_code(&error.code);
    let shown = shown_code(&error.code);
    let message = match error.message.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => {
            let clean: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(MAX_PLATFORM_MESSAGE)
                .collect();
            format!("{api}: {clean}")
        }
        _ => format!("{api}: error {}", shown.unwrap_or("unrecognised")),
    };
    CallFailure {
        code,
        transient,
        platform_code: shown.map(str::to_owned),
        message: Some(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_into_classes() {
        let error = |code: &str| RpcError {
            code: code.to_owned(),
            message: Some("x\ny".to_owned()),
        };
        let sorted = |code: &str| {
            let f = failure("eleme a", &error(code));
            (f.code, f.transient, f.platform_code)
        };
        assert_eq!(
            sorted("BIZ_ORDER_NOT_EXIST"),
            (
                FailureCode::NotFound,
                false,
                Some("BIZ_ORDER_NOT_EXIST".into())
            )
        );
        assert_eq!(
            sorted("BIZ_ORDER_STATUS_ERROR"),
            (
                FailureCode::Rejected,
                false,
                Some("BIZ_ORDER_STATUS_ERROR".into())
            )
        );
        assert_eq!(sorted("VALIDATION_FAILED").0, FailureCode::Rejected);
        assert_eq!(sorted("SERVER_ERROR").0, FailureCode::PlatformUnavailable);
        assert!(sorted("EXCEED_LIMIT").1);
        assert_eq!(
            sorted("PERMISSION_DENIED"),
            (
                FailureCode::Unauthorized,
                true,
                Some("PERMISSION_DENIED".into())
            )
        );
        assert_eq!(sorted("13800138000 张三").2, None);
        assert_eq!(
            failure("eleme a", &error("X")).message.as_deref(),
            Some("eleme a: x y")
        );
    }
}
