//! Order commands through the real command pipeline against a local mock of Meituan's order API.
//!
//! The mock answers only requests shaped as the official Java SDK sends them
//! (`waimai_open_java_sdk` 1.0.12, imrobin/meituan-openapi-java-sdk
//! @e413d5907a9779bef1a168be539a605a468eb9a3: `URLFactory` gives `order/confirm`, `order/cancel`
//! and `order/preparationMealComplete` under `/api/v1/`, all `GET`; `OrderAPI.orderCancel` adds
//! `reason` and `reason_code`; `API.genUrlForGetRequest` puts `app_id`, `timestamp` and the
//! URL-encoded parameters in the query, then `&sig=`): a `GET` with no body whose `sig` the mock
//! recomputes here from the 签名 recipe (the called URL + `?` + the parameters but `sig` sorted
//! by name as `k=v` joined by `&` + the app secret, lower-case hex MD5; the recipe's official
//! example, `00934d00d0aea6f12161edfb6456143d`, is reproduced in `src/form.rs`). Answers follow
//! the SDK's `HttpUtil.httpResultHandler`: `{"data":"ok"}`, or `{"data":"ng","error":{"code",
//! "msg"}}` with the codes of the open platform's table (easynet-cn/go-meituan@c098480
//! `error_code.go`: 806 no such order, 808 operation failed, 703 bad signature, 700 system error,
//! 711 throttled).

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use o2o_core::command::{Action, CommandKind, FailureCode, Fulfil, OrderCommand, Reason};
use o2o_core::event::EventType;
use o2o_core::pipeline::CommandProcessed;
use o2o_core::ports::PortError;
use o2o_core::{Timestamp, UnifiedOrderEvent};
use o2o_meituan::Meituan;
use o2o_testkit::commands::{CommandHarness, command, failure, no_call, succeeded};
use o2o_testkit::samples::dev_connector_with;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// The development app of `o2o.toml` (`[channels.meituan]`).
const APP_ID: &str = "1234";
const SECRET: &str = "dev-meituan-app-secret";
/// An order id above 2^53, as Meituan's are.
const ORDER_ID: &str = "27061900338318741";
const CONFIRM: &str = "/api/v1/order/confirm";
const CANCEL: &str = "/api/v1/order/cancel";
const MEAL_COMPLETE: &str = "/api/v1/order/preparationMealComplete";

fn connector(server: &MockServer) -> Meituan {
    dev_connector_with(&[("api_base", json!(server.uri()))])
}

fn order_command(id: &str, action: Action) -> OrderCommand {
    command(id, "meituan", APP_ID, ORDER_ID, action)
}

/// A signed `GET` of `path` whose parameters, besides `app_id`, `timestamp` and `sig`, are
/// exactly `params`.
struct Signed {
    base: String,
    path: &'static str,
    params: Vec<(&'static str, &'static str)>,
}

impl Signed {
    fn new(
        server: &MockServer,
        path: &'static str,
        params: &[(&'static str, &'static str)],
    ) -> Self {
        Self {
            base: server.uri(),
            path,
            params: params.to_vec(),
        }
    }
}

impl Match for Signed {
    fn matches(&self, request: &Request) -> bool {
        let pairs: BTreeMap<String, String> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.len() != request.url.query_pairs().count() || request.url.path() != self.path {
            return false;
        }
        let signed: Vec<String> = pairs
            .iter()
            .filter(|(name, _)| name.as_str() != "sig")
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let text = format!("{}{}?{}{SECRET}", self.base, self.path, signed.join("&"));
        let expected: String = Md5::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let now = Timestamp::now().unix_seconds();
        let fresh = pairs
            .get("timestamp")
            .and_then(|t| t.parse::<i64>().ok())
            .is_some_and(|t| (t - now).abs() < 60);
        let mut rest = pairs.clone();
        for name in ["app_id", "timestamp", "sig"] {
            rest.remove(name);
        }
        let wanted: BTreeMap<String, String> = self
            .params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        pairs.get("sig") == Some(&expected)
            && pairs.get("app_id").map(String::as_str) == Some(APP_ID)
            && fresh
            && rest == wanted
            && request.body.is_empty()
    }
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(r#"{"data":"ok"}"#, "application/json")
}

fn ng(status: u16, code: i64, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "data": "ng",
        "error": {"code": code, "msg": msg},
    }))
}

/// Mounts the call of `path` with `params`, answering `response`, expected `times` times.
async fn api(
    server: &MockServer,
    path: &'static str,
    params: &[(&'static str, &'static str)],
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method("GET"))
        .and(Signed::new(server, path, params))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// The one result event of `harness`, checked for what every result carries.
fn only_result(harness: &CommandHarness, id: &str, kind: CommandKind) -> UnifiedOrderEvent {
    harness.only_result("meituan", APP_ID, ORDER_ID, id, kind)
}

#[tokio::test]
async fn accept_confirms_the_order() {
    let server = MockServer::start().await;
    api(&server, CONFIRM, &[("order_id", ORDER_ID)], ok(), 1).await;
    let harness = CommandHarness::new();
    let accept = order_command("mt-accept-1", Action::Accept { ready_by: None });
    let done = harness.run(&connector(&server), &accept, 1, false).await;
    assert!(
        matches!(
            done,
            Ok(CommandProcessed::Reported {
                event_type: EventType::CommandSucceeded,
                failure: None
            })
        ),
        "{done:?}"
    );
    succeeded(
        &only_result(&harness, "mt-accept-1", CommandKind::Accept),
        1,
    );
}

#[tokio::test]
async fn reject_and_cancel_call_order_cancel_with_the_reason_code() {
    let server = MockServer::start().await;
    // 2008 店铺太忙, its description as `reason` when there is no note.
    api(
        &server,
        CANCEL,
        &[
            ("order_id", ORDER_ID),
            ("reason_code", "2008"),
            ("reason", "店铺太忙"),
        ],
        ok(),
        1,
    )
    .await;
    // 2009 商品已售完, with the note as `reason`.
    api(
        &server,
        CANCEL,
        &[
            ("order_id", ORDER_ID),
            ("reason_code", "2009"),
            ("reason", "宫保鸡丁 sold out & more"),
        ],
        ok(),
        1,
    )
    .await;
    let connector = connector(&server);
    let reject = order_command(
        "mt-reject-1",
        Action::Reject {
            reason: Reason::Busy,
            note: None,
        },
    );
    let harness = CommandHarness::new();
    harness
        .run(&connector, &reject, 1, false)
        .await
        .expect("reported");
    succeeded(
        &only_result(&harness, "mt-reject-1", CommandKind::Reject),
        1,
    );

    let cancel = order_command(
        "mt-cancel-1",
        Action::Cancel {
            reason: Reason::ItemUnavailable,
            note: Some(" 宫保鸡丁 sold out & more ".into()),
        },
    );
    let harness = CommandHarness::new();
    harness
        .run(&connector, &cancel, 1, false)
        .await
        .expect("reported");
    succeeded(
        &only_result(&harness, "mt-cancel-1", CommandKind::Cancel),
        1,
    );

    // On the wire each value is percent-encoded once (Chinese as UTF-8).
    let requests = server.received_requests().await.expect("recorded");
    let query = requests[0].url.query().unwrap_or_default().to_owned();
    assert!(
        query.contains("reason=%E5%BA%97%E9%93%BA%E5%A4%AA%E5%BF%99"),
        "{query}"
    );
}

#[tokio::test]
async fn ready_marks_the_meal_complete() {
    let server = MockServer::start().await;
    api(&server, MEAL_COMPLETE, &[("order_id", ORDER_ID)], ok(), 1).await;
    let harness = CommandHarness::new();
    let ready = order_command("mt-ready-1", Action::Ready {});
    harness
        .run(&connector(&server), &ready, 2, false)
        .await
        .expect("reported");
    succeeded(&only_result(&harness, "mt-ready-1", CommandKind::Ready), 2);
}

#[tokio::test]
async fn meituan_error_codes_become_rejected_or_not_found() {
    for (status, code, msg, expected) in [
        (200, 808, "操作失败,订单已经确认过了", FailureCode::Rejected),
        (200, 806, "不存在此订单", FailureCode::NotFound),
        (400, 705, "参数格式错误", FailureCode::Rejected),
    ] {
        let server = MockServer::start().await;
        api(
            &server,
            CONFIRM,
            &[("order_id", ORDER_ID)],
            ng(status, code, msg),
            1,
        )
        .await;
        let harness = CommandHarness::new();
        let accept = order_command("mt-accept-2", Action::Accept { ready_by: None });
        let done = harness.run(&connector(&server), &accept, 1, false).await;
        assert!(
            matches!(done, Ok(CommandProcessed::Reported { .. })),
            "{done:?}"
        );
        let event = only_result(&harness, "mt-accept-2", CommandKind::Accept);
        assert_eq!(
            failure(&event),
            (expected, Some(code.to_string()), false, 1),
            "{code}"
        );
        let message = event
            .command
            .and_then(|c| c.error)
            .and_then(|e| e.message)
            .unwrap_or_default();
        assert_eq!(message, format!("meituan order/confirm: {msg}"));
        assert!(!message.contains(SECRET));
    }
}

#[tokio::test]
async fn server_errors_throttling_and_refused_signatures_are_retried_then_reported() {
    for (response, code, platform_code) in [
        (
            ResponseTemplate::new(500),
            FailureCode::PlatformUnavailable,
            "HTTP 500",
        ),
        (
            ResponseTemplate::new(503),
            FailureCode::PlatformUnavailable,
            "HTTP 503",
        ),
        (
            ResponseTemplate::new(429),
            FailureCode::PlatformUnavailable,
            "HTTP 429",
        ),
        (
            ng(200, 700, "系统错误"),
            FailureCode::PlatformUnavailable,
            "700",
        ),
        (
            ng(200, 711, "接口调用过于频繁"),
            FailureCode::PlatformUnavailable,
            "711",
        ),
        (
            ng(200, 703, "签名验证错误"),
            FailureCode::Unauthorized,
            "703",
        ),
    ] {
        let server = MockServer::start().await;
        api(
            &server,
            MEAL_COMPLETE,
            &[("order_id", ORDER_ID)],
            response,
            2,
        )
        .await;
        let connector = connector(&server);
        let harness = CommandHarness::new();
        let ready = order_command("mt-ready-2", Action::Ready {});

        // Not the last attempt: handed back to the queue, nothing reported yet.
        let first = harness.run(&connector, &ready, 1, false).await;
        assert!(matches!(first, Err(PortError::RetryLater(_))), "{first:?}");
        assert!(harness.results().is_empty());

        // The last attempt: reported as retryable, then handed back (to the dead-letter queue).
        let last = harness.run(&connector, &ready, 5, true).await;
        assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
        let event = only_result(&harness, "mt-ready-2", CommandKind::Ready);
        assert_eq!(
            failure(&event),
            (code, Some(platform_code.to_owned()), true, 5),
            "{platform_code}"
        );
    }
}

#[tokio::test]
async fn a_duplicate_command_id_calls_meituan_once() {
    let server = MockServer::start().await;
    api(&server, CONFIRM, &[("order_id", ORDER_ID)], ok(), 1).await;
    let connector = connector(&server);
    let harness = CommandHarness::new();
    let accept = order_command("mt-accept-3", Action::Accept { ready_by: None });
    let first = harness.run(&connector, &accept, 1, false).await;
    assert!(
        matches!(first, Ok(CommandProcessed::Reported { .. })),
        "{first:?}"
    );
    let again = harness.run(&connector, &accept, 1, false).await;
    assert_eq!(again, Ok(CommandProcessed::Duplicate));
    // Two identical results were queued; FIFO deduplication keeps one.
    assert_eq!(harness.groups().len(), 2);
    succeeded(
        &only_result(&harness, "mt-accept-3", CommandKind::Accept),
        1,
    );
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(1));
}

#[tokio::test]
async fn a_passed_deadline_is_not_sent() {
    let server = MockServer::start().await;
    no_call(&server, ok()).await;
    let harness = CommandHarness::new();
    let mut accept = order_command("mt-accept-4", Action::Accept { ready_by: None });
    accept.deadline = Some(Timestamp::now().plus_seconds(-60));
    harness
        .run(&connector(&server), &accept, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "mt-accept-4", CommandKind::Accept);
    assert_eq!(
        failure(&event),
        (FailureCode::DeadlinePassed, None, false, 0)
    );
}

#[tokio::test]
async fn fulfil_is_unsupported_and_a_foreign_order_id_invalid_without_a_call() {
    let server = MockServer::start().await;
    no_call(&server, ok()).await;
    let connector = connector(&server);

    let harness = CommandHarness::new();
    let fulfil = order_command("mt-fulfil-1", Action::Fulfil(Fulfil::default()));
    harness
        .run(&connector, &fulfil, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "mt-fulfil-1", CommandKind::Fulfil);
    assert_eq!(failure(&event), (FailureCode::Unsupported, None, false, 0));

    let harness = CommandHarness::new();
    let mut ready = order_command("mt-ready-3", Action::Ready {});
    ready.order.external_id = "ORDER-27061900".into();
    harness
        .run(&connector, &ready, 1, false)
        .await
        .expect("reported");
    let results = harness.results();
    let error = results[0]
        .command
        .clone()
        .and_then(|c| c.error)
        .expect("an error");
    assert_eq!(
        (error.code, error.retryable),
        (FailureCode::InvalidCommand, false)
    );
}

#[tokio::test]
async fn an_unreadable_answer_is_a_bad_answer() {
    let server = MockServer::start().await;
    api(
        &server,
        CONFIRM,
        &[("order_id", ORDER_ID)],
        ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
        1,
    )
    .await;
    let harness = CommandHarness::new();
    let accept = order_command("mt-accept-5", Action::Accept { ready_by: None });
    harness
        .run(&connector(&server), &accept, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "mt-accept-5", CommandKind::Accept);
    assert_eq!(failure(&event), (FailureCode::BadAnswer, None, false, 1));
}
