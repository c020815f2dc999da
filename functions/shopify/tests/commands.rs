//! `fulfil` through the real command pipeline against a local mock of the shop's GraphQL Admin
//! API.
//!
//! The mocks answer only requests shaped as Shopify documents them:
//! - `POST /admin/api/2026-10/graphql.json` with `X-Shopify-Access-Token` and a JSON body
//!   `{"query", "variables"}` (shopify.dev/docs/api/admin-graphql; Shopify/shopify-app-js
//!   `packages/api-clients/admin-api-client/src/graphql/client.ts` @ ef2043d4);
//! - the order's fulfillment orders, `order(id: "gid://shopify/Order/{id}") { fulfillmentOrders
//!   { nodes { id status assignedLocation lineItems { id remainingQuantity lineItem { id } } } } }`
//!   (objects/FulfillmentOrder), then `fulfillmentCreate(fulfillment: FulfillmentInput!)` with
//!   `lineItemsByFulfillmentOrder`, `notifyCustomer`, `trackingInfo { company number url }`
//!   (mutations/fulfillmentCreate, input-objects/FulfillmentInput), answered
//!   `{fulfillment {id status}, userErrors {field message}}`;
//! - the client credentials grant, `POST /admin/oauth/access_token`, form
//!   `grant_type=client_credentials&client_id&client_secret` → `{"access_token", "scope",
//!   "expires_in"}` (apps/build/authentication-authorization/access-tokens/client-credentials-grant);
//! - errors as docs/api/usage/response-codes describes them: HTTP 401 `{"errors": "[API] …"}`,
//!   and HTTP 200 `{"errors": [{"message", "extensions": {"code": "THROTTLED"}}]}`.
//!
//! The shop, order and line ids are those of `events/shopify/orders-create.http`.

use o2o_core::command::{Action, CommandKind, FailureCode, Fulfil, FulfilItem, OrderCommand};
use o2o_core::pipeline::CommandProcessed;
use o2o_core::ports::PortError;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp};
use o2o_shopify::{Settings, Shopify};
use o2o_testkit::commands::{CommandHarness, command, no_call, run_once, summary};
use o2o_testkit::samples::{dev_connector_with, dev_table};
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const SHOP: &str = "o2o-demo.myshopify.com";
const ORDER_ID: &str = "820982911946154508";
const LINE_A: &str = "866550311766439020";
const LINE_B: &str = "866550311766439021";
const TOKEN: &str = "shpat_test_admin_token";
const GRAPHQL: &str = "/admin/api/2026-10/graphql.json";
const FO_1: &str = "gid://shopify/FulfillmentOrder/6000000001";
const FO_2: &str = "gid://shopify/FulfillmentOrder/6000000002";
const FULFILLMENT: &str = "gid://shopify/Fulfillment/7000000001";
/// The client secret of `[channels.shopify]` in `o2o.toml` (its `secrets`).
const CLIENT_SECRET: &str = "dev-shopify-client-secret";
const CLIENT_ID: &str = "app-client-id-1";

/// The connector of `o2o.toml` with Admin API settings pointing at `server`.
fn connector(server: &MockServer, extra: &[(&str, Value)]) -> Shopify {
    let mut settings = vec![
        ("api_base", json!(server.uri())),
        ("shop_domain", json!(SHOP)),
    ];
    if !extra.iter().any(|(name, _)| *name == "client_id") {
        settings.push(("admin_access_token", json!(TOKEN)));
    }
    settings.extend(extra.iter().cloned());
    dev_connector_with(&settings)
}

/// A GraphQL request whose `query` runs `operation` and selects `fields`, with exactly
/// `variables`.
struct Graphql {
    operation: &'static str,
    fields: &'static [&'static str],
    variables: Value,
}

impl Match for Graphql {
    fn matches(&self, request: &Request) -> bool {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return false;
        };
        let query = body["query"].as_str().unwrap_or("");
        query.contains(self.operation)
            && self.fields.iter().all(|f| query.contains(f))
            && body["variables"] == self.variables
    }
}

/// A GraphQL Admin API call with `token` running `operation`.
fn graphql(token: &str, operation: Graphql) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(GRAPHQL))
        .and(header("X-Shopify-Access-Token", token))
        .and(header("content-type", "application/json"))
        .and(operation)
}

/// The fulfillment orders query of our order.
fn fulfillment_orders() -> Graphql {
    Graphql {
        operation: "order(id: $id)",
        fields: &[
            "fulfillmentOrders(",
            "status",
            "assignedLocation",
            "remainingQuantity",
            "lineItem { id }",
            "hasNextPage",
        ],
        variables: json!({"id": format!("gid://shopify/Order/{ORDER_ID}")}),
    }
}

/// `fulfillmentCreate` with exactly `fulfillment`.
fn fulfillment_create(fulfillment: Value) -> Graphql {
    Graphql {
        operation: "fulfillmentCreate(fulfillment: $fulfillment)",
        fields: &[
            "FulfillmentInput!",
            "userErrors",
            "field",
            "message",
            "fulfillment { id",
        ],
        variables: json!({"fulfillment": fulfillment}),
    }
}

fn fo_line(id: &str, line: &str, remaining: i64) -> Value {
    json!({"id": id, "remainingQuantity": remaining, "lineItem": {"id": format!("gid://shopify/LineItem/{line}")}})
}

fn fo(id: &str, status: &str, location: &str, lines: Vec<Value>) -> Value {
    json!({
        "id": id,
        "status": status,
        "assignedLocation": {"location": {"id": format!("gid://shopify/Location/{location}")}},
        "lineItems": {"pageInfo": {"hasNextPage": false}, "nodes": lines}
    })
}

/// The query's answer with `orders` as the order's fulfillment orders.
fn order_answer(orders: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "data": {"order": {
            "id": format!("gid://shopify/Order/{ORDER_ID}"),
            "fulfillmentOrders": {"pageInfo": {"hasNextPage": false}, "nodes": orders}
        }},
        "extensions": {"cost": {"requestedQueryCost": 934, "actualQueryCost": 12}}
    }))
}

/// One open fulfillment order with both lines, at location 1.
fn one_open_order() -> ResponseTemplate {
    order_answer(vec![fo(
        FO_1,
        "OPEN",
        "1",
        vec![
            fo_line("gid://shopify/FulfillmentOrderLineItem/1", LINE_A, 1),
            fo_line("gid://shopify/FulfillmentOrderLineItem/2", LINE_B, 1),
        ],
    )])
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": {"fulfillmentCreate": {
        "fulfillment": {"id": FULFILLMENT, "status": "SUCCESS"},
        "userErrors": []
    }}}))
}

fn throttled() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": 934, "actualQueryCost": null, "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 20, "restoreRate": 100.0}}}
    }))
}

fn refused_token() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}))
}

fn fulfil(items: &[(&str, u32)], tracking: bool, notify: bool) -> Action {
    Action::Fulfil(Fulfil {
        carrier: tracking.then(|| "UPS".to_owned()),
        tracking_number: tracking.then(|| "1Z999AA10123456784".to_owned()),
        tracking_url: tracking
            .then(|| "https://www.ups.com/track?tracknum=1Z999AA10123456784".to_owned()),
        items: items
            .iter()
            .map(|(id, quantity)| FulfilItem {
                external_id: (*id).to_owned(),
                quantity: *quantity,
            })
            .collect(),
        notify_customer: notify,
    })
}

fn cmd(id: &str, action: Action) -> OrderCommand {
    command(id, "shopify", SHOP, ORDER_ID, action)
}

fn succeeded(command_id: &str, attempts: u32) -> Value {
    json!({
        "event_type": "command.succeeded", "channel": "shopify", "tenant": SHOP, "order": ORDER_ID,
        "command_id": command_id, "kind": "fulfil", "attempts": attempts,
        "platform_reference": FULFILLMENT, "code": null, "retryable": null, "platform_code": null,
    })
}

fn failed(
    command_id: &str,
    kind: &str,
    attempts: u32,
    code: FailureCode,
    retryable: bool,
    platform_code: Option<&str>,
) -> Value {
    json!({
        "event_type": "command.failed", "channel": "shopify", "tenant": SHOP, "order": ORDER_ID,
        "command_id": command_id, "kind": kind, "attempts": attempts,
        "platform_reference": null, "code": code.as_str(), "retryable": retryable,
        "platform_code": platform_code,
    })
}

#[tokio::test]
async fn fulfils_every_open_line_with_its_tracking() {
    let server = MockServer::start().await;
    // An open fulfillment order and one on hold at the same location: only the open one.
    graphql(TOKEN, fulfillment_orders())
        .respond_with(order_answer(vec![
            fo(
                FO_1,
                "OPEN",
                "1",
                vec![fo_line(
                    "gid://shopify/FulfillmentOrderLineItem/1",
                    LINE_A,
                    2,
                )],
            ),
            fo(
                FO_2,
                "ON_HOLD",
                "1",
                vec![fo_line(
                    "gid://shopify/FulfillmentOrderLineItem/2",
                    LINE_B,
                    1,
                )],
            ),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    graphql(TOKEN, fulfillment_create(json!({
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": FO_1}],
        "notifyCustomer": true,
        "trackingInfo": {"company": "UPS", "number": "1Z999AA10123456784", "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784"}
    })))
    .respond_with(created())
    .expect(1)
    .mount(&server)
    .await;
    let (result, _) = run_once(
        &connector(&server, &[]),
        &cmd("ship-1", fulfil(&[], true, true)),
    )
    .await;
    assert_eq!(result, succeeded("ship-1", 1));
}

#[tokio::test]
async fn fulfils_named_lines_across_fulfillment_orders_of_one_location() {
    let server = MockServer::start().await;
    graphql(TOKEN, fulfillment_orders())
        .respond_with(order_answer(vec![
            fo(
                FO_1,
                "IN_PROGRESS",
                "1",
                vec![
                    fo_line("gid://shopify/FulfillmentOrderLineItem/1", LINE_A, 1),
                    fo_line("gid://shopify/FulfillmentOrderLineItem/2", LINE_B, 3),
                ],
            ),
            fo(
                FO_2,
                "OPEN",
                "1",
                vec![fo_line(
                    "gid://shopify/FulfillmentOrderLineItem/3",
                    LINE_A,
                    2,
                )],
            ),
        ]))
        .mount(&server)
        .await;
    // Two of line A: the one left in the first fulfillment order, one of the second; one of B.
    graphql(
        TOKEN,
        fulfillment_create(json!({
            "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": FO_1, "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/1", "quantity": 1},
                    {"id": "gid://shopify/FulfillmentOrderLineItem/2", "quantity": 1}
                ]},
                {"fulfillmentOrderId": FO_2, "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/3", "quantity": 1}
                ]}
            ],
            "notifyCustomer": false
        })),
    )
    .respond_with(created())
    .expect(1)
    .mount(&server)
    .await;
    let action = fulfil(&[(LINE_A, 2), (LINE_B, 1)], false, false);
    let (result, _) = run_once(&connector(&server, &[]), &cmd("ship-2", action)).await;
    assert_eq!(result, succeeded("ship-2", 1));
}

#[tokio::test]
async fn user_errors_are_rejected_with_their_field() {
    let server = MockServer::start().await;
    graphql(TOKEN, fulfillment_orders())
        .respond_with(one_open_order())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(GRAPHQL))
        .and(header("X-Shopify-Access-Token", TOKEN))
        .and(fulfillment_create(json!({
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": FO_1}],
            "notifyCustomer": true,
            "trackingInfo": {"company": "UPS", "number": "1Z999AA10123456784", "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"fulfillmentCreate": {
            "fulfillment": null,
            "userErrors": [{"field": ["fulfillment", "lineItemsByFulfillmentOrder"], "message": "Fulfillment order 6000000001 has an unfulfillable status= closed."}]
        }}})))
        .expect(1)
        .mount(&server)
        .await;
    let (result, message) = run_once(
        &connector(&server, &[]),
        &cmd("ship-3", fulfil(&[], true, true)),
    )
    .await;
    assert_eq!(
        result,
        failed(
            "ship-3",
            "fulfil",
            1,
            FailureCode::Rejected,
            false,
            Some("fulfillment.lineItemsByFulfillmentOrder")
        )
    );
    assert_eq!(
        message.as_deref(),
        Some(
            "shopify fulfillmentCreate: Fulfillment order 6000000001 has an unfulfillable status= closed."
        )
    );
}

#[tokio::test]
async fn an_unknown_order_is_not_found_and_nothing_left_is_rejected() {
    let server = MockServer::start().await;
    graphql(TOKEN, fulfillment_orders())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"order": null}})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    graphql(TOKEN, fulfillment_orders())
        .respond_with(order_answer(vec![fo(
            FO_1,
            "OPEN",
            "1",
            vec![fo_line(
                "gid://shopify/FulfillmentOrderLineItem/1",
                LINE_A,
                0,
            )],
        )]))
        .expect(2)
        .mount(&server)
        .await;
    let shopify = connector(&server, &[]);
    let (unknown, _) = run_once(&shopify, &cmd("ship-4", fulfil(&[], false, true))).await;
    assert_eq!(
        unknown,
        failed("ship-4", "fulfil", 1, FailureCode::NotFound, false, None)
    );
    let (nothing, message) = run_once(&shopify, &cmd("ship-5", fulfil(&[], false, true))).await;
    assert_eq!(
        nothing,
        failed("ship-5", "fulfil", 1, FailureCode::Rejected, false, None)
    );
    assert!(message.is_some_and(|m| m.starts_with("nothing left to fulfil")));
    let (line, message) = run_once(
        &shopify,
        &cmd("ship-6", fulfil(&[(LINE_A, 1)], false, true)),
    )
    .await;
    assert_eq!(
        line,
        failed("ship-6", "fulfil", 1, FailureCode::Rejected, false, None)
    );
    assert_eq!(
        message.as_deref(),
        Some(
            "line item 866550311766439020: 0 of 1 left to fulfil in the order's open fulfillment orders"
        )
    );
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 3, "three queries, no fulfillmentCreate");
}

/// THROTTLED (HTTP 200), 429 and 503 are transient: the queue hands the command out again, and
/// the last attempt reports `platform_unavailable`, retryable.
#[tokio::test]
async fn throttling_and_server_errors_are_retried_then_reported() {
    let cases = [
        (throttled(), "THROTTLED"),
        (
            ResponseTemplate::new(429).insert_header("Retry-After", "2.0"),
            "HTTP 429",
        ),
        (ResponseTemplate::new(503), "HTTP 503"),
    ];
    for (answer, platform_code) in cases {
        let server = MockServer::start().await;
        graphql(TOKEN, fulfillment_orders())
            .respond_with(answer)
            .expect(2)
            .mount(&server)
            .await;
        let shopify = connector(&server, &[]);
        let harness = CommandHarness::new();
        let command = cmd("ship-7", fulfil(&[], true, true));
        let first = harness.run(&shopify, &command, 1, false).await;
        assert!(matches!(first, Err(PortError::RetryLater(_))), "{first:?}");
        assert!(
            harness.results().is_empty(),
            "nothing reported before the last attempt"
        );
        let last = harness.run(&shopify, &command, 2, true).await;
        assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
        let results = harness.results();
        assert_eq!(results.len(), 1);
        assert_eq!(
            summary(&results[0]),
            failed(
                "ship-7",
                "fulfil",
                2,
                FailureCode::PlatformUnavailable,
                true,
                Some(platform_code)
            )
        );
    }
}

/// The client credentials grant, checked field by field.
fn token_endpoint(token: &str) -> Mock {
    Mock::given(method("POST"))
        .and(path("/admin/oauth/access_token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "scope": "read_orders,write_merchant_managed_fulfillment_orders", "expires_in": 86399
        })))
}

#[tokio::test]
async fn a_refused_granted_token_is_fetched_again_once() {
    let server = MockServer::start().await;
    token_endpoint("granted-1")
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint("granted-2").expect(1).mount(&server).await;
    graphql("granted-1", fulfillment_orders())
        .respond_with(refused_token())
        .expect(1)
        .mount(&server)
        .await;
    graphql("granted-2", fulfillment_orders())
        .respond_with(one_open_order())
        .expect(1)
        .mount(&server)
        .await;
    graphql(
        "granted-2",
        fulfillment_create(json!({
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": FO_1}],
            "notifyCustomer": true
        })),
    )
    .respond_with(created())
    .expect(1)
    .mount(&server)
    .await;
    let shopify = connector(&server, &[("client_id", json!(CLIENT_ID))]);
    let (result, _) = run_once(&shopify, &cmd("ship-8", fulfil(&[], false, true))).await;
    assert_eq!(result, succeeded("ship-8", 1));
}

#[tokio::test]
async fn a_token_refused_after_a_refresh_is_unauthorized_and_retryable() {
    let server = MockServer::start().await;
    token_endpoint("granted").expect(2).mount(&server).await;
    graphql("granted", fulfillment_orders())
        .respond_with(refused_token())
        .expect(2)
        .mount(&server)
        .await;
    let shopify = connector(&server, &[("client_id", json!(CLIENT_ID))]);
    let harness = CommandHarness::new();
    let command = cmd("ship-9", fulfil(&[], false, true));
    let last = harness.run(&shopify, &command, 3, true).await;
    assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
    let results = harness.results();
    assert_eq!(
        summary(&results[0]),
        failed(
            "ship-9",
            "fulfil",
            3,
            FailureCode::Unauthorized,
            true,
            Some("HTTP 401")
        )
    );
    let message = results[0]
        .command
        .as_ref()
        .and_then(|c| c.error.as_ref())
        .and_then(|e| e.message.clone());
    assert!(
        !message.unwrap_or_default().contains("granted"),
        "no token in messages"
    );
}

/// A fixed token has nothing to refresh: one call, then `unauthorized` (retryable: ops fix it).
#[tokio::test]
async fn a_refused_fixed_token_is_unauthorized_after_one_call() {
    let server = MockServer::start().await;
    graphql(TOKEN, fulfillment_orders())
        .respond_with(refused_token())
        .expect(1)
        .mount(&server)
        .await;
    let harness = CommandHarness::new();
    let last = harness
        .run(
            &connector(&server, &[]),
            &cmd("ship-10", fulfil(&[], false, true)),
            1,
            true,
        )
        .await;
    assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
    assert_eq!(
        summary(&harness.results()[0]),
        failed(
            "ship-10",
            "fulfil",
            1,
            FailureCode::Unauthorized,
            true,
            Some("HTTP 401")
        )
    );
}

#[tokio::test]
async fn the_same_command_twice_fulfils_once() {
    let server = MockServer::start().await;
    graphql(TOKEN, fulfillment_orders())
        .respond_with(one_open_order())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(GRAPHQL))
        .and(header("X-Shopify-Access-Token", TOKEN))
        .and(fulfillment_create(json!({"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": FO_1}], "notifyCustomer": true})))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    let shopify = connector(&server, &[]);
    let harness = CommandHarness::new();
    let command = cmd("ship-11", fulfil(&[], false, true));
    let first = harness
        .run(&shopify, &command, 1, false)
        .await
        .expect("reported");
    assert!(
        matches!(first, CommandProcessed::Reported { failure: None, .. }),
        "{first:?}"
    );
    let again = harness
        .run(&shopify, &command, 1, false)
        .await
        .expect("the stored result");
    assert_eq!(again, CommandProcessed::Duplicate);
    let results = harness.results();
    assert_eq!(
        results.len(),
        1,
        "the two identical results are one on a FIFO queue"
    );
    assert_eq!(summary(&results[0]), succeeded("ship-11", 1));
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
}

#[tokio::test]
async fn a_passed_deadline_and_other_kinds_make_no_call() {
    let server = MockServer::start().await;
    no_call(&server, ResponseTemplate::new(500)).await;
    let shopify = connector(&server, &[]);
    let mut late = cmd("ship-12", fulfil(&[], true, true));
    late.deadline = Some(Timestamp::now().plus_seconds(-60));
    let (result, _) = run_once(&shopify, &late).await;
    assert_eq!(
        result,
        failed(
            "ship-12",
            "fulfil",
            0,
            FailureCode::DeadlinePassed,
            false,
            None
        )
    );
    assert_eq!(Shopify::command_kinds(), &[CommandKind::Fulfil]);
    assert_eq!(shopify.command_window(CommandKind::Fulfil), None);
    let others = [
        ("accept", Action::Accept { ready_by: None }),
        ("ready", Action::Ready {}),
        (
            "cancel",
            Action::Cancel {
                reason: o2o_core::command::Reason::CustomerRequest,
                note: None,
            },
        ),
        (
            "reject",
            Action::Reject {
                reason: o2o_core::command::Reason::Busy,
                note: None,
            },
        ),
    ];
    for (kind, action) in others {
        let (result, _) = run_once(&shopify, &cmd(&format!("other-{kind}"), action)).await;
        assert_eq!(
            result,
            failed(
                &format!("other-{kind}"),
                kind,
                0,
                FailureCode::Unsupported,
                false,
                None
            )
        );
    }
}

/// What cannot be sent fails before any call: no credentials, another shop's tenant, an order
/// id that is not Shopify's, a tracking URL without its number.
#[tokio::test]
async fn commands_that_cannot_be_sent_make_no_call() {
    let server = MockServer::start().await;
    no_call(&server, ResponseTemplate::new(500)).await;
    let webhooks_only: Shopify = dev_connector_with(&[("api_base", json!(server.uri()))]);
    let (result, message) = run_once(&webhooks_only, &cmd("bad-1", fulfil(&[], true, true))).await;
    assert_eq!(
        result,
        failed("bad-1", "fulfil", 1, FailureCode::Unauthorized, false, None)
    );
    assert_eq!(
        message.as_deref(),
        Some(
            "Shopify order commands need the settings shop_domain and admin_access_token (or client_id)"
        )
    );
    let shopify = connector(&server, &[]);
    let other_shop = command(
        "bad-2",
        "shopify",
        "other.myshopify.com",
        ORDER_ID,
        fulfil(&[], true, true),
    );
    let (result, _) = run_once(&shopify, &other_shop).await;
    assert_eq!(result["code"], "invalid_command");
    let not_an_id = command("bad-3", "shopify", SHOP, "#1001", fulfil(&[], true, true));
    let (result, _) = run_once(&shopify, &not_an_id).await;
    assert_eq!(result["code"], "invalid_command");
    let url_only = Action::Fulfil(Fulfil {
        tracking_url: Some("https://carrier.example/t/1".to_owned()),
        notify_customer: true,
        ..Fulfil::default()
    });
    let (result, message) = run_once(&shopify, &cmd("bad-4", url_only)).await;
    assert_eq!(
        result,
        failed(
            "bad-4",
            "fulfil",
            1,
            FailureCode::InvalidCommand,
            false,
            None
        )
    );
    assert_eq!(
        message.as_deref(),
        Some("tracking_number: Shopify takes a tracking_url only with its tracking_number")
    );
}

#[tokio::test]
async fn lines_at_two_locations_are_one_fulfil_each() {
    let server = MockServer::start().await;
    graphql(TOKEN, fulfillment_orders())
        .respond_with(order_answer(vec![
            fo(
                FO_1,
                "OPEN",
                "1",
                vec![fo_line(
                    "gid://shopify/FulfillmentOrderLineItem/1",
                    LINE_A,
                    1,
                )],
            ),
            fo(
                FO_2,
                "OPEN",
                "2",
                vec![fo_line(
                    "gid://shopify/FulfillmentOrderLineItem/2",
                    LINE_B,
                    1,
                )],
            ),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    let (result, _) = run_once(
        &connector(&server, &[]),
        &cmd("ship-13", fulfil(&[], true, true)),
    )
    .await;
    assert_eq!(
        result,
        failed(
            "ship-13",
            "fulfil",
            1,
            FailureCode::InvalidCommand,
            false,
            None
        )
    );
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "the query only, no fulfillmentCreate");
}

/// Settings that cannot work stop start-up, naming the setting.
#[test]
fn contradicting_command_settings_stop_start_up() {
    let cases = [
        (
            vec![("admin_access_token", json!(TOKEN))],
            "shop_domain: required with admin_access_token or client_id",
        ),
        (
            vec![
                ("shop_domain", json!(SHOP)),
                ("admin_access_token", json!(TOKEN)),
                ("client_id", json!(CLIENT_ID)),
            ],
            "client_id: set admin_access_token or client_id, not both",
        ),
        (
            vec![("shop_domain", json!("https://o2o-demo.myshopify.com"))],
            "shop_domain: must be the shop's domain",
        ),
        (
            vec![("api_version", json!("2026-10/../x"))],
            "api_version: must be a version name",
        ),
        (
            vec![("shop_domain", json!(SHOP))],
            "admin_access_token: (or client_id) required with shop_domain",
        ),
    ];
    for (changes, expected) in cases {
        let mut table = dev_table("shopify");
        for (name, value) in changes {
            table.insert(name.to_owned(), value);
        }
        let settings: Settings = parse_settings(&table, "channels.shopify").expect("parses");
        let error = Shopify::build(settings).map(|_| ()).expect_err(expected);
        assert!(error.to_string().starts_with(expected), "{error}");
    }
}
