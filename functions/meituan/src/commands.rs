//! Order commands on Meituan Waimai's order API: accept (`order/confirm`), reject and cancel
//! (`order/cancel`, which serves both, with a `reason_code`), ready
//! (`order/preparationMealComplete`).
//!
//! Each is one `GET {api_base}/api/v1/order/…?app_id=…&timestamp=…&<params>&sig=…`, as the
//! official Java SDK sends them (`waimai_open_java_sdk` 1.0.12, imrobin/meituan-openapi-java-sdk
//! @e413d5907a9779bef1a168be539a605a468eb9a3: `URLFactory` names the paths and marks all three
//! `GET`; `API.requestApi` + `HttpUtil.request` send them). `sig` follows the push rule, over the
//! called URL without its query ([`form::sig`]): every parameter but `sig` sorted by name, raw
//! values, the app secret appended, lower-case hex MD5. Values go on the wire percent-encoded once.
//!
//! The answer is `{"data":"ok"}`, or `{"data":"ng","error":{"code":<int>,"msg":"…"}}` (the SDK's
//! `HttpUtil.httpResultHandler`); the codes are sorted by [`classify`]. Sources, the reason table
//! and what is unconfirmed: docs/platforms/meituan.md, "Order commands".

use std::time::Duration;

use o2o_core::Timestamp;
use o2o_core::command::{
    Action, CallDone, CallFailure, CommandKind, FailureCode, OrderCommand, Reason,
};
use o2o_core::settings::Secret;
use o2o_enrich::command::{Answer, send};
use o2o_enrich::{ApiClient, percent_encode};
use serde::Deserialize;
use serde_json::Value;

use crate::form::{self, Params, SIG};

/// Meituan's order API host (`api_base` overrides it).
pub const PRODUCTION_HOST: &str = "https://waimaiopen.meituan.com";
/// The path every API call is under.
pub const API_PREFIX: &str = "/api/v1";
/// 商家确认订单: accept.
pub const CONFIRM: &str = "/api/v1/order/confirm";
/// 商家取消订单: reject (before accepting) and cancel (after).
pub const CANCEL: &str = "/api/v1/order/cancel";
/// 商家确认已完成出餐: ready.
pub const MEAL_COMPLETE: &str = "/api/v1/order/preparationMealComplete";

/// The kinds Meituan carries out.
pub const KINDS: &[CommandKind] = &[
    CommandKind::Accept,
    CommandKind::Reject,
    CommandKind::Ready,
    CommandKind::Cancel,
];

/// The longest order id Meituan issues, in digits (`order_id` is a bigint(20)).
const MAX_ORDER_ID_DIGITS: usize = 20;
/// The longest platform message kept, in characters.
const MAX_PLATFORM_MESSAGE: usize = 200;

/// The platform's window for `kind`: none is documented (see [`crate::Meituan`]'s
/// `command_window`), so the command's own `deadline` is the only limit.
pub fn window(_kind: CommandKind) -> Option<Duration> {
    None
}

/// Meituan's code for a merchant's cancellation (APP方发出、美团接收的取消原因, 2001–2016), and
/// its description, which is sent as `reason` when the command has no `note`.
pub fn cancel_reason(reason: Reason) -> (u16, &'static str) {
    match reason {
        Reason::Busy => (2008, "店铺太忙"),
        Reason::Closed => (2011, "店铺已打烊"),
        Reason::ItemUnavailable => (2009, "商品已售完"),
        Reason::CustomerRequest => (2006, "用户要求取消"),
        Reason::AddressUnreachable => (2010, "地址无法配送"),
        Reason::Other => (2007, "其他原因"),
    }
}

/// One API call: its path under the host and its application parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `/api/v1/order/…`.
    pub path: &'static str,
    /// `order_id`, and `reason_code` and `reason` for a cancellation.
    pub params: Params,
}

/// The call that carries out `command`. An order id that is not Meituan's (digits only) is
/// `invalid_command` and a kind Meituan does not have is `unsupported`, both without a call.
pub fn call_for(command: &OrderCommand) -> Result<Call, CallFailure> {
    let order_id = command.order.external_id.trim();
    if order_id.is_empty()
        || order_id.len() > MAX_ORDER_ID_DIGITS
        || !order_id.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(CallFailure::permanent(
            FailureCode::InvalidCommand,
            "order.external_id: a Meituan order_id is 1 to 20 digits",
        ));
    }
    let mut params = Params::new();
    params.insert("order_id".to_owned(), order_id.to_owned());
    let path = match &command.action {
        Action::Accept { .. } => CONFIRM,
        Action::Ready {} => MEAL_COMPLETE,
        Action::Reject { reason, note } | Action::Cancel { reason, note } => {
            let (code, text) = cancel_reason(*reason);
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
            params.insert("reason_code".to_owned(), code.to_string());
            params.insert("reason".to_owned(), note.unwrap_or(text).to_owned());
            CANCEL
        }
        Action::Fulfil(_) => {
            return Err(CallFailure::permanent(
                FailureCode::Unsupported,
                "Meituan Waimai does not carry out fulfil commands",
            ));
        }
    };
    Ok(Call { path, params })
}

/// The query of a call to `url` (the URL without its query, as signed): the application
/// parameters, `app_id` and `timestamp` (Unix seconds), each value percent-encoded once, then
/// `sig` over their raw values.
pub fn signed_query(
    url: &str,
    mut params: Params,
    app_id: &str,
    timestamp: i64,
    secret: &Secret,
) -> String {
    params.insert("app_id".to_owned(), app_id.to_owned());
    params.insert("timestamp".to_owned(), timestamp.to_string());
    params.remove(SIG);
    let sig = form::sig(url, &params, secret);
    let mut query: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect();
    query.push(format!("{SIG}={sig}"));
    query.join("&")
}

/// Carries out `command` for the app `app_id`, signing with `secret`.
pub async fn execute(
    api: &ApiClient,
    app_id: &str,
    secret: &Secret,
    command: &OrderCommand,
) -> Result<CallDone, CallFailure> {
    let call = call_for(command)?;
    let name = format!(
        "meituan {}",
        call.path
            .trim_start_matches(API_PREFIX)
            .trim_start_matches('/')
    );
    let url = api.url(call.path);
    let query = signed_query(
        &url,
        call.params,
        app_id,
        Timestamp::now().unix_seconds(),
        secret,
    );
    let answer = send(&name, api.http().get(format!("{url}?{query}"))).await?;
    read(&answer)
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    data: Value,
    #[serde(default)]
    error: Option<ReplyError>,
}

#[derive(Deserialize)]
struct ReplyError {
    #[serde(default)]
    code: Value,
    #[serde(default)]
    msg: Value,
}

/// Reads Meituan's answer: `{"data":"ok"}` is done; an `error` is sorted by its code, whatever
/// the HTTP status; another non-2xx by its status; anything else is `bad_answer`.
pub fn read(answer: &Answer) -> Result<CallDone, CallFailure> {
    let reply = serde_json::from_slice::<Reply>(&answer.body).ok();
    if let Some(error) = reply.as_ref().and_then(|r| r.error.as_ref()) {
        let code = match &error.code {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) if looks_like_a_code(s) => Some(s.clone()),
            _ => None,
        };
        let message = error.msg.as_str().map(|msg| {
            let clean: String = msg
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(MAX_PLATFORM_MESSAGE)
                .collect();
            format!("{}: {}", answer.api, clean.trim())
        });
        return Err(classify(&answer.api, code, message));
    }
    if !answer.is_success() {
        return Err(answer.failure(None, None));
    }
    match reply {
        Some(reply)
            if reply
                .data
                .as_str()
                .is_some_and(|d| d.eq_ignore_ascii_case("ok")) =>
        {
            Ok(CallDone::default())
        }
        _ => Err(answer.json::<Reply>().err().unwrap_or_else(|| {
            CallFailure::permanent(
                FailureCode::BadAnswer,
                format!("{}: the answer is neither ok nor an error", answer.api),
            )
        })),
    }
}

fn looks_like_a_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Sorts Meituan's error `code` (the open platform's 错误码 table, as transcribed in
/// easynet-cn/go-meituan@c098480 `error_code.go`):
///
/// - 806 不存在此订单: `not_found`;
/// - 700 系统错误, 711 流控: transient `platform_unavailable`;
/// - 702 app_id不存在, 703 签名验证错误, 704 没有权限操作这条数据, 708 没有权限访问该接口,
///   4001 token已过期: transient `unauthorized` (ops fix the app, secret or shop binding);
/// - anything else (808 操作失败 such as an order confirmed already, 701 缺少参数, 705 参数格式
///   错误, 1001/1002 后台确认/取消订单错误, 1022 已完成无法取消 …): `rejected`.
pub fn classify(api: &str, code: Option<String>, message: Option<String>) -> CallFailure {
    let (class, transient) = match code.as_deref() {
        Some("806") => (FailureCode::NotFound, false),
        Some("700" | "711") => (FailureCode::PlatformUnavailable, true),
        Some("702" | "703" | "704" | "708" | "4001") => (FailureCode::Unauthorized, true),
        _ => (FailureCode::Rejected, false),
    };
    CallFailure {
        code: class,
        transient,
        message: message.or_else(|| Some(format!("{api}: refused"))),
        platform_code: code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::command::{CommandOrder, CommandSchemaVersion};

    fn command(order: &str, action: Action) -> OrderCommand {
        OrderCommand {
            schema_version: CommandSchemaVersion::V1,
            command_id: "c-1".into(),
            channel: "meituan".into(),
            tenant: "1234".into(),
            order: CommandOrder {
                external_id: order.into(),
            },
            action,
            requested_at: Timestamp::now(),
            deadline: None,
        }
    }

    /// The official 签名 example, now as a call: the same inputs give the same `sig`
    /// (`00934d00d0aea6f12161edfb6456143d`), and the values travel encoded.
    #[test]
    fn signs_a_call_as_the_official_example() {
        let mut params = Params::new();
        params.insert("app_poi_codes".into(), "31".into());
        let query = signed_query(
            "http://waimaiopen.meituan.com/api/v1/poi/mget",
            params,
            "1235123121",
            1_389_751_221,
            &Secret::new("d31ba58fd73c71db697ab5e4946d52d"),
        );
        assert_eq!(
            query,
            "app_id=1235123121&app_poi_codes=31&timestamp=1389751221\
             &sig=00934d00d0aea6f12161edfb6456143d"
        );
    }

    #[test]
    fn maps_each_kind_and_reason() {
        let cancel = call_for(&command(
            "27061900338318741",
            Action::Cancel {
                reason: Reason::Busy,
                note: None,
            },
        ))
        .expect("a call");
        assert_eq!(cancel.path, CANCEL);
        assert_eq!(cancel.params["reason_code"], "2008");
        assert_eq!(cancel.params["reason"], "店铺太忙");
        let ready = call_for(&command("1", Action::Ready {})).expect("a call");
        assert_eq!((ready.path, ready.params.len()), (MEAL_COMPLETE, 1));
        for bad in ["", "abc", "1.5", "123456789012345678901"] {
            let refused = call_for(&command(bad, Action::Ready {})).expect_err(bad);
            assert_eq!(refused.code, FailureCode::InvalidCommand);
        }
    }
}
