//! Order commands through the real command pipeline against local mocks of Ele.me's token
//! endpoint and API.
//!
//! The mocks answer only requests shaped as the official SDKs send them: the client-credentials
//! grant with `Authorization: Basic` (PHP SDK 1.87.0, `qfz9527/eleme-openapi-php-sdk` @
//! `ce01c36936a5075caeb5adfccdb586f8767edfae`, `src/ElemeOpenApi/OAuth/OAuthClient.php`), then one
//! JSON call (`src/ElemeOpenApi/Protocol/RpcClient.php`) of `eleme.order.confirmOrderLite`
//! `{orderId}`, `eleme.order.cancelOrderLite` `{orderId, type, remark}` or
//! `eleme.order.setOrderPrepared` `{orderId}` (`src/ElemeOpenApi/Api/OrderService.php`; `type` is an
//! `OInvalidateType`, Java SDK `dllen/eleme-openapi-java-sdk` @
//! `8f7ef6c0d9b8c49c7eebcf2f4b4e259303fcaa5d`). The mock recomputes the call's `signature` here from
//! the documented recipe (action + token + `key=json(value)` of `metas` and `params` sorted by
//! key + secret, upper-case hex MD5; its official example, `B450D7598455D163488A2ABEB1E0E0C5`, is
//! reproduced in `src/rpc.rs`). Errors follow the SDKs' `{"error": {"code", "message"}}`
//! (`RpcClient.call`, Java `WebUtils.toException`: `UNAUTHORIZED`, `SERVER_ERROR`,
//! `EXCEED_LIMIT`, `VALIDATION_FAILED`, `BIZ_…`); the business codes themselves
//! (`BIZ_ORDER_NOT_EXIST`, `BIZ_ORDER_STATUS_ERROR`) are assumed, none being documented.

mod common;

use base64::Engine as _;
use common::{APP_KEY, SECRET};
use md5::{Digest, Md5};
use o2o_core::command::{Action, CommandKind, FailureCode, Fulfil, OrderCommand, Reason};
use o2o_core::event::EventType;
use o2o_core::pipeline::CommandProcessed;
use o2o_core::ports::PortError;
use o2o_core::{Timestamp, UnifiedOrderEvent};
use o2o_eleme::Eleme;
use o2o_testkit::commands::{CommandHarness, command, failure, no_call, succeeded};
use o2o_testkit::samples::dev_connector_with;
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// The shop (`source.tenant` of the order's events).
const SHOP: &str = "163089";
const ORDER_ID: &str = "3012966986714717290";
const TOKEN: &str = "ed72bdaef7b635ecf9279147d76d6a55";
const NEWER_TOKEN: &str = "fc88f5a4c2b1a0d9e8f7a6b5c4d3e2f1";
const CONFIRM: &str = "eleme.order.confirmOrderLite";
const CANCEL: &str = "eleme.order.cancelOrderLite";
const PREPARED: &str = "eleme.order.setOrderPrepared";

/// The development settings of `o2o.toml` (`[channels.eleme]`) against the mock.
fn connector(server: &MockServer) -> Eleme {
    dev_connector_with(&[("api_base", json!(server.uri()))])
}

fn order_command(id: &str, action: Action) -> OrderCommand {
    command(id, "eleme", SHOP, ORDER_ID, action)
}

/// The token endpoint, answering `token` up to `times` times.
async fn token_endpoint(server: &MockServer, token: &str, times: u64) {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{APP_KEY}:{SECRET}"));
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 2_592_000,
        })))
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

/// A call of `action` with exactly `params`, under `token`, signed as Ele.me checks it.
struct Signed {
    action: &'static str,
    token: &'static str,
    params: Value,
}

impl Match for Signed {
    fn matches(&self, request: &Request) -> bool {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return false;
        };
        let (Some(metas), Some(params)) = (body["metas"].as_object(), body["params"].as_object())
        else {
            return false;
        };
        let mut pairs: Vec<String> = metas
            .iter()
            .chain(params.iter())
            .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
            .collect();
        pairs.sort();
        let text = format!("{}{}{}{SECRET}", self.action, self.token, pairs.concat());
        let expected = hex::encode_upper(Md5::digest(text.as_bytes()));
        let now = Timestamp::now().unix_seconds();
        let fresh = metas["timestamp"]
            .as_i64()
            .is_some_and(|t| (t - now).abs() < 60);
        let id = body["id"].as_str().unwrap_or_default();
        body["signature"] == json!(expected)
            && body["nop"] == json!("1.0.0")
            && body["action"] == json!(self.action)
            && body["token"] == json!(self.token)
            && metas.len() == 2
            && metas["app_key"] == json!(APP_KEY)
            && fresh
            && body["params"] == self.params
            && request
                .headers
                .get("x-eleme-requestid")
                .and_then(|h| h.to_str().ok())
                == Some(id)
    }
}

/// Mounts the call of `action` with `params` under `token`, answering `response` `times` times.
async fn api(
    server: &MockServer,
    action: &'static str,
    token: &'static str,
    params: Value,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method("POST"))
        .and(path("/api/v1"))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(Signed {
            action,
            token,
            params,
        })
        .respond_with(response)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

fn done() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        r#"{"id":"x","result":null,"error":null}"#,
        "application/json",
    )
}

fn error(code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "x",
        "result": null,
        "error": {"code": code, "message": message},
    }))
}

/// The one result event of `harness`, checked for what every result carries.
fn only_result(harness: &CommandHarness, id: &str, kind: CommandKind) -> UnifiedOrderEvent {
    harness.only_result("eleme", SHOP, ORDER_ID, id, kind)
}

#[tokio::test]
async fn accept_confirms_the_order() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 1).await;
    api(
        &server,
        CONFIRM,
        TOKEN,
        json!({"orderId": ORDER_ID}),
        done(),
        1,
    )
    .await;
    let harness = CommandHarness::new();
    let accept = order_command("em-accept-1", Action::Accept { ready_by: None });
    let processed = harness.run(&connector(&server), &accept, 1, false).await;
    assert_eq!(
        processed,
        Ok(CommandProcessed::Reported {
            event_type: EventType::CommandSucceeded,
            failure: None
        })
    );
    succeeded(
        &only_result(&harness, "em-accept-1", CommandKind::Accept),
        1,
    );
}

#[tokio::test]
async fn reject_and_cancel_send_the_invalidate_type_and_a_remark() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 1).await;
    api(
        &server,
        CANCEL,
        TOKEN,
        json!({"orderId": ORDER_ID, "type": "restaurantTooBusy", "remark": "商家现在太忙"}),
        done(),
        1,
    )
    .await;
    api(
        &server,
        CANCEL,
        TOKEN,
        json!({"orderId": ORDER_ID, "type": "distanceTooFar", "remark": "楼层太高 / no lift"}),
        done(),
        1,
    )
    .await;
    let connector = connector(&server);

    let harness = CommandHarness::new();
    let reject = order_command(
        "em-reject-1",
        Action::Reject {
            reason: Reason::Busy,
            note: None,
        },
    );
    harness
        .run(&connector, &reject, 1, false)
        .await
        .expect("reported");
    succeeded(
        &only_result(&harness, "em-reject-1", CommandKind::Reject),
        1,
    );

    // The cached token serves the second call.
    let harness = CommandHarness::new();
    let cancel = order_command(
        "em-cancel-1",
        Action::Cancel {
            reason: Reason::AddressUnreachable,
            note: Some("楼层太高 / no lift".into()),
        },
    );
    harness
        .run(&connector, &cancel, 1, false)
        .await
        .expect("reported");
    succeeded(
        &only_result(&harness, "em-cancel-1", CommandKind::Cancel),
        1,
    );
}

#[tokio::test]
async fn ready_sets_the_order_prepared() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 1).await;
    api(
        &server,
        PREPARED,
        TOKEN,
        json!({"orderId": ORDER_ID}),
        done(),
        1,
    )
    .await;
    let harness = CommandHarness::new();
    let ready = order_command("em-ready-1", Action::Ready {});
    harness
        .run(&connector(&server), &ready, 3, false)
        .await
        .expect("reported");
    succeeded(&only_result(&harness, "em-ready-1", CommandKind::Ready), 3);
}

#[tokio::test]
async fn business_errors_become_rejected_or_not_found() {
    for (response, code, platform_code, message) in [
        (
            error("BIZ_ORDER_STATUS_ERROR", "订单状态不允许取消"),
            FailureCode::Rejected,
            "BIZ_ORDER_STATUS_ERROR",
            "eleme eleme.order.cancelOrderLite: 订单状态不允许取消",
        ),
        (
            error("BIZ_ORDER_NOT_EXIST", "订单不存在"),
            FailureCode::NotFound,
            "BIZ_ORDER_NOT_EXIST",
            "eleme eleme.order.cancelOrderLite: 订单不存在",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({
                "id": "x", "result": null,
                "error": {"code": "VALIDATION_FAILED", "message": "type is invalid"},
            })),
            FailureCode::Rejected,
            "VALIDATION_FAILED",
            "eleme eleme.order.cancelOrderLite: type is invalid",
        ),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server, TOKEN, 1).await;
        api(
            &server,
            CANCEL,
            TOKEN,
            json!({"orderId": ORDER_ID, "type": "foodSoldOut", "remark": "商品已经售完"}),
            response,
            1,
        )
        .await;
        let harness = CommandHarness::new();
        let cancel = order_command(
            "em-cancel-2",
            Action::Cancel {
                reason: Reason::ItemUnavailable,
                note: None,
            },
        );
        harness
            .run(&connector(&server), &cancel, 1, false)
            .await
            .expect("reported");
        let event = only_result(&harness, "em-cancel-2", CommandKind::Cancel);
        assert_eq!(
            failure(&event),
            (code, Some(platform_code.to_owned()), false, 1)
        );
        let text = event.command.and_then(|c| c.error).and_then(|e| e.message);
        assert_eq!(text.as_deref(), Some(message));
    }
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_then_reported() {
    for (response, platform_code) in [
        (ResponseTemplate::new(500), "HTTP 500"),
        (ResponseTemplate::new(502), "HTTP 502"),
        (ResponseTemplate::new(429), "HTTP 429"),
        (error("SERVER_ERROR", "服务器错误"), "SERVER_ERROR"),
        (error("EXCEED_LIMIT", "调用超限"), "EXCEED_LIMIT"),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server, TOKEN, 1).await;
        api(
            &server,
            CONFIRM,
            TOKEN,
            json!({"orderId": ORDER_ID}),
            response,
            2,
        )
        .await;
        let connector = connector(&server);
        let harness = CommandHarness::new();
        let accept = order_command("em-accept-2", Action::Accept { ready_by: None });

        let first = harness.run(&connector, &accept, 1, false).await;
        assert!(matches!(first, Err(PortError::RetryLater(_))), "{first:?}");
        assert!(harness.results().is_empty());

        let last = harness.run(&connector, &accept, 4, true).await;
        assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
        let event = only_result(&harness, "em-accept-2", CommandKind::Accept);
        assert_eq!(
            failure(&event),
            (
                FailureCode::PlatformUnavailable,
                Some(platform_code.to_owned()),
                true,
                4
            ),
            "{platform_code}"
        );
    }
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_then_the_call_made_again() {
    for refused in [
        error("UNAUTHORIZED", "token is expired"),
        ResponseTemplate::new(401),
    ] {
        let server = MockServer::start().await;
        token_endpoint(&server, TOKEN, 1).await;
        token_endpoint(&server, NEWER_TOKEN, 1).await;
        api(
            &server,
            PREPARED,
            TOKEN,
            json!({"orderId": ORDER_ID}),
            refused,
            1,
        )
        .await;
        api(
            &server,
            PREPARED,
            NEWER_TOKEN,
            json!({"orderId": ORDER_ID}),
            done(),
            1,
        )
        .await;
        let harness = CommandHarness::new();
        let ready = order_command("em-ready-2", Action::Ready {});
        harness
            .run(&connector(&server), &ready, 1, false)
            .await
            .expect("reported");
        succeeded(&only_result(&harness, "em-ready-2", CommandKind::Ready), 1);
    }
}

#[tokio::test]
async fn a_token_refused_again_is_a_retryable_unauthorized() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 2).await;
    api(
        &server,
        PREPARED,
        TOKEN,
        json!({"orderId": ORDER_ID}),
        error("UNAUTHORIZED", "token is expired"),
        2,
    )
    .await;
    let harness = CommandHarness::new();
    let ready = order_command("em-ready-3", Action::Ready {});
    let last = harness.run(&connector(&server), &ready, 6, true).await;
    assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
    let event = only_result(&harness, "em-ready-3", CommandKind::Ready);
    assert_eq!(
        failure(&event),
        (
            FailureCode::Unauthorized,
            Some("UNAUTHORIZED".to_owned()),
            true,
            6
        )
    );
    let text = event.command.and_then(|c| c.error).and_then(|e| e.message);
    assert!(!text.unwrap_or_default().contains(SECRET));
}

#[tokio::test]
async fn a_duplicate_command_id_calls_ele_me_once() {
    let server = MockServer::start().await;
    token_endpoint(&server, TOKEN, 1).await;
    api(
        &server,
        CONFIRM,
        TOKEN,
        json!({"orderId": ORDER_ID}),
        done(),
        1,
    )
    .await;
    let connector = connector(&server);
    let harness = CommandHarness::new();
    let accept = order_command("em-accept-3", Action::Accept { ready_by: None });
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
        &only_result(&harness, "em-accept-3", CommandKind::Accept),
        1,
    );
}

#[tokio::test]
async fn a_passed_deadline_is_not_sent() {
    let server = MockServer::start().await;
    no_call(&server, done()).await;
    let harness = CommandHarness::new();
    let mut cancel = order_command(
        "em-cancel-3",
        Action::Cancel {
            reason: Reason::Closed,
            note: None,
        },
    );
    cancel.deadline = Some(Timestamp::now().plus_seconds(-1));
    harness
        .run(&connector(&server), &cancel, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "em-cancel-3", CommandKind::Cancel);
    assert_eq!(
        failure(&event),
        (FailureCode::DeadlinePassed, None, false, 0)
    );
}

#[tokio::test]
async fn fulfil_is_unsupported_without_a_call() {
    let server = MockServer::start().await;
    no_call(&server, done()).await;
    let harness = CommandHarness::new();
    let fulfil = order_command("em-fulfil-1", Action::Fulfil(Fulfil::default()));
    harness
        .run(&connector(&server), &fulfil, 1, false)
        .await
        .expect("reported");
    let event = only_result(&harness, "em-fulfil-1", CommandKind::Fulfil);
    assert_eq!(failure(&event), (FailureCode::Unsupported, None, false, 0));
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(0));
}
