//! `fulfil` through the real command pipeline against a local mock of the store's REST API.
//!
//! The mocks answer only requests shaped as WooCommerce documents them
//! (woocommerce/woocommerce-rest-api-docs `source/includes/wp-api-v3/` @ 13d61967):
//! - every call with `Authorization: Basic base64(consumer_key:consumer_secret)`, recomputed here
//!   with the `base64` crate (`_authentication.md`, "Authentication over HTTPS");
//! - `GET /wp-json/wc/v3/orders/{id}` answered with the order of
//!   `events/woocommerce/order-created.http` (a webhook body is this same REST v3 order);
//! - `PUT /wp-json/wc/v3/orders/{id}` with `{"status": "completed"}` (`_orders.md`, "Update an
//!   order");
//! - `POST /wp-json/wc/v3/orders/{id}/notes` with `{"note", "customer_note"}` → 201 `{"id", …}`
//!   (`_order-notes.md`, "Create an order note");
//! - the Shipment Tracking extension, `GET`/`POST
//!   /wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings` with `tracking_number` and
//!   `tracking_provider` or `custom_tracking_provider` + `custom_tracking_link` → 201 with
//!   `tracking_id` (woocommerce.com/document/shipment-tracking/shipment-tracking-rest-api-create-tracking-item/);
//! - errors `{"code", "message", "data": {"status"}}` (`_introduction.md`, "Errors"), with the
//!   codes of woocommerce/woocommerce's REST controllers and `class-wc-rest-authentication.php`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use o2o_core::command::{
    Action, CommandKind, FailureCode, Fulfil, FulfilItem, OrderCommand, Reason,
};
use o2o_core::pipeline::CommandProcessed;
use o2o_core::ports::PortError;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp};
use o2o_testkit::commands::{CommandHarness, command, no_call, run_once, summary};
use o2o_testkit::samples::{dev_connector_with, dev_table, repo_root};
use o2o_woocommerce::{Settings, WooCommerce};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The site of the samples (`X-WC-Webhook-Source: https://shop.o2o-demo.example/`).
const SITE: &str = "shop.o2o-demo.example";
const ORDER_ID: &str = "727";
const ORDER: &str = "/wp-json/wc/v3/orders/727";
const NOTES: &str = "/wp-json/wc/v3/orders/727/notes";
const TRACKINGS: &str = "/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings";
const KEY: &str = "ck_0123456789abcdef0123456789abcdef01234567";
const SECRET: &str = "cs_76543210fedcba9876543210fedcba9876543210";
const UPS_URL: &str = "https://www.ups.com/track?tracknum=1Z999AA10123456784";

/// The connector of `o2o.toml` with the REST API at `server`.
fn connector(server: &MockServer, extra: &[(&str, Value)]) -> WooCommerce {
    let mut settings = vec![
        ("api_base", json!(server.uri())),
        ("site_url", json!(format!("https://{SITE}/"))),
        ("consumer_key", json!(KEY)),
        ("consumer_secret", json!(SECRET)),
    ];
    settings.extend(extra.iter().cloned());
    dev_connector_with(&settings)
}

/// A call with the documented Basic credentials.
fn api(verb: &str, at: &str) -> MockBuilder {
    let basic = format!("Basic {}", STANDARD.encode(format!("{KEY}:{SECRET}")));
    Mock::given(method(verb))
        .and(path(at))
        .and(header("authorization", basic.as_str()))
}

/// The order of the `order.created` sample, with `status`.
fn order(status: &str) -> ResponseTemplate {
    let bytes =
        std::fs::read(repo_root().join("events/woocommerce/order-created.http")).expect("sample");
    let sample = parse_sample(&bytes).expect("a sample");
    let mut order: Value = serde_json::from_slice(&sample.body).expect("an order");
    assert_eq!(
        order["line_items"][0]["id"], 315,
        "the lines the tests ship"
    );
    assert_eq!(order["line_items"][1]["id"], 316);
    order["status"] = json!(status);
    ResponseTemplate::new(200).set_body_json(order)
}

fn note_created(id: u64) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "id": id, "author": "system", "date_created": "2026-12-02T10:46:41",
        "date_created_gmt": "2026-12-02T16:46:41", "note": "…", "customer_note": true
    }))
}

fn woo_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"code": code, "message": message, "data": {"status": status}}))
}

fn fulfil(items: &[(&str, u32)], carrier: Option<&str>, url: Option<&str>, notify: bool) -> Action {
    Action::Fulfil(Fulfil {
        carrier: carrier.map(str::to_owned),
        tracking_number: carrier.map(|_| "1Z999AA10123456784".to_owned()),
        tracking_url: url.map(str::to_owned),
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
    command(id, "woocommerce", SITE, ORDER_ID, action)
}

fn succeeded(command_id: &str, reference: Option<&str>) -> Value {
    json!({
        "event_type": "command.succeeded", "channel": "woocommerce", "tenant": SITE, "order": ORDER_ID,
        "command_id": command_id, "kind": "fulfil", "attempts": 1,
        "platform_reference": reference, "code": null, "retryable": null, "platform_code": null,
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
        "event_type": "command.failed", "channel": "woocommerce", "tenant": SITE, "order": ORDER_ID,
        "command_id": command_id, "kind": kind, "attempts": attempts,
        "platform_reference": null, "code": code.as_str(), "retryable": retryable,
        "platform_code": platform_code,
    })
}

/// The methods and paths the mock received, in order.
async fn calls(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test]
async fn completes_the_order_then_notes_the_tracking_for_the_customer() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(order("processing"))
        .expect(1)
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"status": "completed"})))
        .respond_with(order("completed"))
        .expect(1)
        .mount(&server)
        .await;
    api("POST", NOTES)
        .and(body_json(json!({
            "note": format!("Shipped via UPS, tracking number 1Z999AA10123456784: {UPS_URL}."),
            "customer_note": true
        })))
        .respond_with(note_created(281))
        .expect(1)
        .mount(&server)
        .await;
    let action = fulfil(&[], Some("UPS"), Some(UPS_URL), true);
    let (result, _) = run_once(&connector(&server, &[]), &cmd("ship-1", action)).await;
    assert_eq!(result, succeeded("ship-1", Some("order_note:281")));
    assert_eq!(
        calls(&server).await,
        [
            format!("GET {ORDER}"),
            format!("PUT {ORDER}"),
            format!("POST {NOTES}")
        ]
    );
}

#[tokio::test]
async fn a_partial_shipment_is_a_note_and_the_status_stays() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(order("processing"))
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .respond_with(order("completed"))
        .expect(0)
        .mount(&server)
        .await;
    api("POST", NOTES)
        .and(body_json(json!({
            "note": "Shipped in part: line 315 × 1 via UPS, tracking number 1Z999AA10123456784.",
            "customer_note": false
        })))
        .respond_with(note_created(282))
        .expect(1)
        .mount(&server)
        .await;
    let action = fulfil(&[("315", 1)], Some("UPS"), None, false);
    let (result, _) = run_once(&connector(&server, &[]), &cmd("ship-2", action)).await;
    assert_eq!(result, succeeded("ship-2", Some("order_note:282")));
}

/// Every line in full is the whole order; without tracking there is nothing to note.
#[tokio::test]
async fn every_line_in_full_completes_the_order_without_a_note() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(order("on-hold"))
        .expect(1)
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .and(body_json(json!({"status": "completed"})))
        .respond_with(order("completed"))
        .expect(1)
        .mount(&server)
        .await;
    api("POST", NOTES)
        .respond_with(note_created(1))
        .expect(0)
        .mount(&server)
        .await;
    let action = fulfil(&[("315", 2), ("316", 1)], None, None, true);
    let (result, _) = run_once(&connector(&server, &[]), &cmd("ship-3", action)).await;
    assert_eq!(result, succeeded("ship-3", None));
}

#[tokio::test]
async fn the_shipment_tracking_extension_gets_the_tracking_before_the_completed_email() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(order("processing"))
        .expect(1)
        .mount(&server)
        .await;
    api("GET", TRACKINGS)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    api("POST", TRACKINGS)
        .and(body_json(json!({
            "custom_tracking_provider": "UPS",
            "custom_tracking_link": UPS_URL,
            "tracking_number": "1Z999AA10123456784"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "tracking_id": "fb7170d97d0e628bc3b565999d07c6a9", "tracking_provider": "",
            "custom_tracking_provider": "UPS", "custom_tracking_link": UPS_URL,
            "tracking_number": "1Z999AA10123456784", "date_shipped": "2026-12-02"
        })))
        .expect(1)
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .and(body_json(json!({"status": "completed"})))
        .respond_with(order("completed"))
        .expect(1)
        .mount(&server)
        .await;
    let woo = connector(&server, &[("shipment_tracking", json!(true))]);
    let (result, _) = run_once(
        &woo,
        &cmd("ship-4", fulfil(&[], Some("UPS"), Some(UPS_URL), true)),
    )
    .await;
    assert_eq!(
        result,
        succeeded(
            "ship-4",
            Some("shipment_tracking:fb7170d97d0e628bc3b565999d07c6a9")
        )
    );
    assert_eq!(
        calls(&server).await,
        [
            format!("GET {ORDER}"),
            format!("GET {TRACKINGS}"),
            format!("POST {TRACKINGS}"),
            format!("PUT {ORDER}")
        ]
    );
}

/// Sent again after a failure further on, the command finds its tracking number recorded and
/// the order completed: nothing is added twice.
#[tokio::test]
async fn a_repeated_fulfil_adds_no_second_tracking_item() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(order("completed"))
        .expect(1)
        .mount(&server)
        .await;
    api("GET", TRACKINGS)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "tracking_id": "fb7170d97d0e628bc3b565999d07c6a9", "tracking_provider": "UPS",
            "tracking_number": "1Z999AA10123456784", "date_shipped": "2026-12-02"
        }])))
        .expect(1)
        .mount(&server)
        .await;
    api("POST", TRACKINGS)
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .respond_with(order("completed"))
        .expect(0)
        .mount(&server)
        .await;
    let woo = connector(&server, &[("shipment_tracking", json!(true))]);
    let (result, _) = run_once(&woo, &cmd("ship-5", fulfil(&[], Some("UPS"), None, true))).await;
    assert_eq!(
        result,
        succeeded(
            "ship-5",
            Some("shipment_tracking:fb7170d97d0e628bc3b565999d07c6a9")
        )
    );
}

#[tokio::test]
async fn platform_refusals_keep_their_codes() {
    let server = MockServer::start().await;
    let woo = connector(&server, &[]);
    // Unknown order: the read answers 404 woocommerce_rest_shop_order_invalid_id.
    api("GET", ORDER)
        .respond_with(woo_error(
            404,
            "woocommerce_rest_shop_order_invalid_id",
            "Invalid ID.",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let (result, message) =
        run_once(&woo, &cmd("err-1", fulfil(&[], Some("UPS"), None, true))).await;
    assert_eq!(
        result,
        failed(
            "err-1",
            "fulfil",
            1,
            FailureCode::NotFound,
            false,
            Some("woocommerce_rest_shop_order_invalid_id")
        )
    );
    assert_eq!(
        message.as_deref(),
        Some("woocommerce get order: Invalid ID.")
    );
    // The update refused (a plugin's validation): rejected with its code; no note after it.
    api("GET", ORDER)
        .respond_with(order("processing"))
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .respond_with(woo_error(
            400,
            "woocommerce_rest_shop_order_not_created",
            "Status change blocked.",
        ))
        .mount(&server)
        .await;
    api("POST", NOTES)
        .respond_with(note_created(1))
        .expect(0)
        .mount(&server)
        .await;
    let (result, _) = run_once(&woo, &cmd("err-2", fulfil(&[], Some("UPS"), None, true))).await;
    assert_eq!(
        result,
        failed(
            "err-2",
            "fulfil",
            1,
            FailureCode::Rejected,
            false,
            Some("woocommerce_rest_shop_order_not_created")
        )
    );
    // A line the order does not have, after the read.
    let (result, message) =
        run_once(&woo, &cmd("err-3", fulfil(&[("999", 1)], None, None, true))).await;
    assert_eq!(
        result,
        failed("err-3", "fulfil", 1, FailureCode::Rejected, false, None)
    );
    assert_eq!(
        message.as_deref(),
        Some("line item 999: not a line of this order")
    );
}

#[tokio::test]
async fn a_cancelled_order_is_not_shipped() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(order("cancelled"))
        .expect(1)
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .respond_with(order("completed"))
        .expect(0)
        .mount(&server)
        .await;
    let (result, message) = run_once(
        &connector(&server, &[]),
        &cmd("err-4", fulfil(&[], None, None, true)),
    )
    .await;
    assert_eq!(
        result,
        failed("err-4", "fulfil", 1, FailureCode::Rejected, false, None)
    );
    assert_eq!(
        message.as_deref(),
        Some("woocommerce: order 727 is cancelled: not shipped")
    );
}

/// 500, 503 and 429 are transient: handed out again, and the last attempt reports them.
#[tokio::test]
async fn server_errors_and_throttling_are_retried_then_reported() {
    let cases = [
        (
            woo_error(
                500,
                "woocommerce_api_cannot_create_order_note",
                "Cannot create order note, please try again.",
            ),
            "HTTP 500",
        ),
        (ResponseTemplate::new(503), "HTTP 503"),
        (
            ResponseTemplate::new(429).insert_header("Retry-After", "10"),
            "HTTP 429",
        ),
    ];
    for (answer, platform_code) in cases {
        let server = MockServer::start().await;
        api("GET", ORDER)
            .respond_with(answer)
            .expect(2)
            .mount(&server)
            .await;
        let woo = connector(&server, &[]);
        let harness = CommandHarness::new();
        let command = cmd("retry-1", fulfil(&[], Some("UPS"), None, true));
        let first = harness.run(&woo, &command, 1, false).await;
        assert!(matches!(first, Err(PortError::RetryLater(_))), "{first:?}");
        assert!(harness.results().is_empty());
        let last = harness.run(&woo, &command, 2, true).await;
        assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
        assert_eq!(
            summary(&harness.results()[0]),
            failed(
                "retry-1",
                "fulfil",
                2,
                FailureCode::PlatformUnavailable,
                true,
                Some(platform_code)
            )
        );
    }
}

/// API keys are not tokens: nothing to refresh, one call, `unauthorized` (retryable once ops fix
/// the key), with WooCommerce's code.
#[tokio::test]
async fn a_refused_key_is_unauthorized() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(woo_error(
            401,
            "woocommerce_rest_authentication_error",
            "Consumer secret is invalid.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let harness = CommandHarness::new();
    let last = harness
        .run(
            &connector(&server, &[]),
            &cmd("auth-1", fulfil(&[], None, None, true)),
            1,
            true,
        )
        .await;
    assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
    assert_eq!(
        summary(&harness.results()[0]),
        failed(
            "auth-1",
            "fulfil",
            1,
            FailureCode::Unauthorized,
            true,
            Some("woocommerce_rest_authentication_error")
        )
    );
}

#[tokio::test]
async fn the_same_command_twice_ships_once() {
    let server = MockServer::start().await;
    api("GET", ORDER)
        .respond_with(order("processing"))
        .expect(1)
        .mount(&server)
        .await;
    api("PUT", ORDER)
        .respond_with(order("completed"))
        .expect(1)
        .mount(&server)
        .await;
    api("POST", NOTES)
        .respond_with(note_created(283))
        .expect(1)
        .mount(&server)
        .await;
    let woo = connector(&server, &[]);
    let harness = CommandHarness::new();
    let command = cmd("dup-1", fulfil(&[], Some("UPS"), None, true));
    let first = harness
        .run(&woo, &command, 1, false)
        .await
        .expect("reported");
    assert!(
        matches!(first, CommandProcessed::Reported { failure: None, .. }),
        "{first:?}"
    );
    assert_eq!(
        harness.run(&woo, &command, 1, false).await.expect("stored"),
        CommandProcessed::Duplicate
    );
    let results = harness.results();
    assert_eq!(
        results.len(),
        1,
        "two identical results, one on a FIFO queue"
    );
    assert_eq!(
        summary(&results[0]),
        succeeded("dup-1", Some("order_note:283"))
    );
}

#[tokio::test]
async fn a_passed_deadline_and_other_kinds_make_no_call() {
    let server = MockServer::start().await;
    no_call(&server, ResponseTemplate::new(500)).await;
    let woo = connector(&server, &[]);
    let mut late = cmd("late-1", fulfil(&[], Some("UPS"), None, true));
    late.deadline = Some(Timestamp::now().plus_seconds(-1));
    let (result, _) = run_once(&woo, &late).await;
    assert_eq!(
        result,
        failed(
            "late-1",
            "fulfil",
            0,
            FailureCode::DeadlinePassed,
            false,
            None
        )
    );
    assert_eq!(WooCommerce::command_kinds(), &[CommandKind::Fulfil]);
    assert_eq!(woo.command_window(CommandKind::Fulfil), None);
    let others = [
        ("accept", Action::Accept { ready_by: None }),
        (
            "reject",
            Action::Reject {
                reason: Reason::ItemUnavailable,
                note: None,
            },
        ),
        ("ready", Action::Ready {}),
        (
            "cancel",
            Action::Cancel {
                reason: Reason::Other,
                note: Some("x".to_owned()),
            },
        ),
    ];
    for (kind, action) in others {
        let (result, _) = run_once(&woo, &cmd(&format!("other-{kind}"), action)).await;
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

#[tokio::test]
async fn commands_that_cannot_be_sent_make_no_call() {
    let server = MockServer::start().await;
    no_call(&server, ResponseTemplate::new(500)).await;
    let webhooks_only: WooCommerce = dev_connector_with(&[("api_base", json!(server.uri()))]);
    let (result, message) =
        run_once(&webhooks_only, &cmd("bad-1", fulfil(&[], None, None, true))).await;
    assert_eq!(
        result,
        failed("bad-1", "fulfil", 1, FailureCode::Unauthorized, false, None)
    );
    assert_eq!(
        message.as_deref(),
        Some(
            "WooCommerce order commands need the settings site_url, consumer_key and consumer_secret"
        )
    );
    let woo = connector(&server, &[]);
    let other_site = command(
        "bad-2",
        "woocommerce",
        "other.example",
        ORDER_ID,
        fulfil(&[], None, None, true),
    );
    assert_eq!(
        run_once(&woo, &other_site).await.0["code"],
        "invalid_command"
    );
    let not_an_id = command(
        "bad-3",
        "woocommerce",
        SITE,
        "wc_order_4h8KhDsr5eK5m",
        fulfil(&[], None, None, true),
    );
    assert_eq!(
        run_once(&woo, &not_an_id).await.0["code"],
        "invalid_command"
    );
    // The extension needs a tracking number with a carrier or URL, and a carrier with a URL.
    let tracked = connector(&server, &[("shipment_tracking", json!(true))]);
    let url_only = Action::Fulfil(Fulfil {
        tracking_url: Some(UPS_URL.to_owned()),
        notify_customer: true,
        ..Fulfil::default()
    });
    let (result, message) = run_once(&tracked, &cmd("bad-4", url_only)).await;
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
        Some("tracking_number: required by Shipment Tracking")
    );
}

#[test]
fn unusable_command_settings_stop_start_up() {
    let cases = [
        (
            vec![
                ("site_url", json!("http://shop.example.com")),
                ("consumer_key", json!(KEY)),
                ("consumer_secret", json!(SECRET)),
            ],
            "site_url: must be an https:// URL",
        ),
        (
            vec![
                ("site_url", json!("https://shop.example.com")),
                ("consumer_key", json!(KEY)),
            ],
            "consumer_secret: order commands need site_url, consumer_key and consumer_secret together",
        ),
        (
            vec![("consumer_secret", json!(SECRET))],
            "site_url: order commands need",
        ),
    ];
    for (changes, expected) in cases {
        let mut table = dev_table("woocommerce");
        for (name, value) in changes {
            table.insert(name.to_owned(), value);
        }
        let settings: Settings = parse_settings(&table, "channels.woocommerce").expect("parses");
        let error = WooCommerce::build(settings)
            .map(|_| ())
            .expect_err(expected);
        assert!(error.to_string().starts_with(expected), "{error}");
    }
}
