//! A local stand-in for Uber Eats' API on 127.0.0.1:8091, for trying the way back without an
//! Uber account: the development `o2o.toml` points the `uber-eats` channel's `api_base` and
//! `auth_base` here. It answers as Uber's documentation shows (developer.uber.com,
//! `docs/eats/guides/authentication` and `docs/eats/references/api`):
//!
//! - `POST /oauth/v2/token` → a client-credentials token;
//! - `GET /v2/eats/order/{id}` → the documented example order
//!   (`functions/uber-eats/tests/fixtures/order-v2.json`) under the id asked for;
//! - `POST /v1/eats/orders/{id}/accept_pos_order` and `deny_pos_order` → 204, `cancel` → 200 `{}`;
//!
//! and prints each call it receives. Not a test double for CI (the tests use their own mocks):
//! a sandbox for the README's "Accept your first order".
//!
//! ```sh
//! cargo run --example uber_eats_sandbox
//! ```

use std::net::TcpListener;

use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The address the development config's `uber-eats` table points at.
const ADDR: &str = "127.0.0.1:8091";
/// Uber's example order (its id is replaced by the one asked for).
const ORDER: &str = include_str!("../functions/uber-eats/tests/fixtures/order-v2.json");
const ORDER_ID: &str = "f9f363d1-e1c2-4595-b477-c649845bc953";

/// Answers with `template`, after printing the call.
struct Logged(ResponseTemplate);

impl Respond for Logged {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&request.body);
        let body = if request.url.path().ends_with("/token") {
            "(client credentials)".into()
        } else {
            body
        };
        println!(
            "uber-eats sandbox: {} {} {body}",
            request.method,
            request.url.path()
        );
        self.0.clone()
    }
}

/// The example order under the id in the path.
struct OrderById;

impl Respond for OrderById {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        println!(
            "uber-eats sandbox: GET {} (the documented example order)",
            request.url.path()
        );
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/json")
            .set_body_string(ORDER.replace(ORDER_ID, id))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind(ADDR)?;
    let server = MockServer::builder().listener(listener).start().await;
    let token = serde_json::json!({
        "access_token": "sandbox-token", "token_type": "Bearer",
        "expires_in": 2_592_000, "scope": "eats.order",
    });
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(Logged(ResponseTemplate::new(200).set_body_json(token)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v2/eats/order/[^/]+$"))
        .respond_with(OrderById)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/v1/eats/orders/[^/]+/(accept_pos_order|deny_pos_order)$",
        ))
        .respond_with(Logged(ResponseTemplate::new(204)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/eats/orders/[^/]+/cancel$"))
        .respond_with(Logged(ResponseTemplate::new(200).set_body_string("{}")))
        .mount(&server)
        .await;
    println!("uber-eats sandbox: listening on http://{ADDR} (Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
