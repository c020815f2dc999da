//! What the Uber Eats command tests share: mocks of Uber's OAuth token endpoint and order API.
//!
//! Every mock answers only the request the Uber pages document, so a test passes only when the
//! connector sends exactly that:
//! - token: `POST /oauth/v2/token`, form-encoded client-credentials grant with the app's id,
//!   secret and the `eats.order` scope (developer.uber.com `docs/eats/guides/authentication`);
//! - accept: `POST /v1/eats/orders/{order_id}/accept_pos_order` with `{"reason", "pickup_time"}`
//!   (`docs/eats/references/api/v1/post-eats-order-orderid-acceptposorder`), 204;
//! - deny: `POST /v1/eats/orders/{order_id}/deny_pos_order` with
//!   `{"reason": {"explanation", "code"}}` (`.../post-eats-order-orderid-denyposorder`), 204;
//! - cancel: `POST /v1/eats/orders/{order_id}/cancel` with `{"reason", "details"}`
//!   (`.../post-eats-order-orderid-cancel`), 200 `{}`;
//! - errors: `{"code", "message"}` (`docs/eats/guides/errors`);
//!
//! each call with `Authorization: Bearer <the token the token endpoint gave>`.

// Each test file uses a part.
#![allow(dead_code)]

use o2o_core::UnifiedOrderEvent;
use o2o_core::command::{Action, CommandKind, Reason};
use o2o_testkit::commands::{CommandHarness, command};
use o2o_uber_eats::UberEats;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The order of Uber's sample order (`docs/eats/references/api/v2/get-eats-order-orderid`).
pub const ORDER_ID: &str = "f9f363d1-e1c2-4595-b477-c649845bc953";
/// The store of the scheduled-order sample.
pub const STORE: &str = "c7f1dc2f-fabe-4997-845c-cad26fdcb894";
/// The token of Uber's authentication guide example, shortened.
pub const TOKEN: &str = "KA.ewogICJ2ZXJzaW9uIjogMgp9.9jPtNyS9vHJ9HVmxA4Y6vw";
/// The client id of `o2o.toml`.
pub const CLIENT_ID: &str = "dev-uber-client-id";

/// The connector of `o2o.toml`, with both Uber hosts at `server`.
pub fn connector(server: &MockServer) -> UberEats {
    o2o_testkit::samples::dev_connector_with(&[
        ("api_base", json!(server.uri())),
        ("auth_base", json!(server.uri())),
    ])
}

/// The documented token answer, `times` times.
pub async fn token_endpoint(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .and(body_string_contains("client_secret=dev-uber-client-secret"))
        .and(body_string_contains("scope=eats.order"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN,
            "expires_in": 2_592_000,
            "token_type": "Bearer",
            "scope": "eats.order",
        })))
        .expect(times)
        .mount(server)
        .await;
}

/// A mock of the order endpoint `endpoint` that matches only the documented request with `body`.
pub fn order_call(endpoint: &str, body: Value, response: ResponseTemplate) -> Mock {
    Mock::given(method("POST"))
        .and(path(format!("/v1/eats/orders/{ORDER_ID}/{endpoint}")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(response)
}

/// An Uber Eats command `id` for the order.
pub fn uber_command(id: &str, action: Action) -> o2o_core::command::OrderCommand {
    command(id, "uber-eats", STORE, ORDER_ID, action)
}

/// A cancel because the store is too busy.
pub fn cancel_busy() -> Action {
    Action::Cancel {
        reason: Reason::Busy,
        note: None,
    }
}

/// The one result event, checked for what every result carries (the testkit's check, for
/// this store's order).
pub fn only_result(harness: &CommandHarness, id: &str, kind: CommandKind) -> UnifiedOrderEvent {
    harness.only_result("uber-eats", STORE, ORDER_ID, id, kind)
}
