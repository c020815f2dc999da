//! What the DoorDash command tests share: the example access key, a mock of the Marketplace API
//! that verifies the JWT independently, and the checks of a result event.
//!
//! Every mock answers only the request DoorDash's Marketplace API reference documents
//! (developer.doordash.com `api/marketplace`, server `https://openapi.doordash.com/marketplace`):
//! - Confirm Order: `PATCH /api/v1/orders/{id}` with `{"merchant_supplied_id", "order_status",
//!   "failure_reason"?, "prep_time"?}`, 202;
//! - Order Events: `PATCH /api/v1/orders/{id}/events/order_ready_for_pickup` with
//!   `{"merchant_supplied_id"}`, 202;
//! - Cancel Order: `PATCH /api/v1/orders/{id}/cancellation` with `{"cancel_reason",
//!   "cancel_details"}`, 202;
//!
//! each with `Authorization: Bearer <JWT>`, the JWT decoded and its HS256 signature verified here
//! with `hmac`/`sha2`/`base64`, independently of the connector, against the recipe of
//! `docs/drive/how_to/JWTs`: header `{"alg":"HS256","typ":"JWT","dd-ver":"DD-JWT-V1"}`, claims
//! `aud` `doordash`, `iss` the developer id, `kid` the key id, `exp` = `iat` + 300, key = the
//! base64url-decoded signing secret.

// Each test file uses a part.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use o2o_core::command::{Action, CommandKind, OrderCommand};
use o2o_core::event::EventType;
use o2o_core::pipeline::CommandProcessed;
use o2o_core::{Timestamp, UnifiedOrderEvent};
use o2o_doordash::DoorDash;
use o2o_testkit::commands::{CommandHarness, command};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// The developer id of the example access key in `infin8x/make-doordash-jwt`'s README
/// (DoorDash publishes none).
pub const DEVELOPER_ID: &str = "14e84291-d900-4c20-8528-ed6ca8de660f";
/// Its key id.
pub const KEY_ID: &str = "d4e87d9c-432b-4ab4-b06f-254ce7a1ef30";
/// Its signing secret (base64url).
pub const SIGNING_SECRET: &str = "xVu_RIEHqVw0ISBOqklCrKTIrlxX47TiexoJIY8_naw";
/// The order and store of DoorDash's order cancellation sample (`external_order_id`,
/// `store.merchant_supplied_id`).
pub const ORDER_ID: &str = "0da8b530-7c4c-4925-8785-cd843b797d64";
/// The store.
pub const STORE: &str = "location1";

/// Matches a request whose `Authorization` is `Bearer <a JWT DoorDash would accept>`.
pub struct DoorDashJwt;

impl Match for DoorDashJwt {
    fn matches(&self, request: &Request) -> bool {
        match verify_jwt(request) {
            Ok(()) => true,
            Err(problem) => {
                eprintln!("JWT refused by the mock: {problem}");
                false
            }
        }
    }
}

/// Checks the JWT of `request` as DoorDash documents it; the problem when it is not.
pub fn verify_jwt(request: &Request) -> Result<(), String> {
    let value = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization")?;
    let token = value.strip_prefix("Bearer ").ok_or("not Bearer")?;
    let parts: Vec<&str> = token.split('.').collect();
    let [head, claims, signature] = parts.as_slice() else {
        return Err("not three parts".into());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    };
    let head = decode(head).and_then(|h| Ok((h, decode(claims)?)));
    let (header_json, claims_json) = head?;
    if header_json != json!({"alg": "HS256", "typ": "JWT", "dd-ver": "DD-JWT-V1"}) {
        return Err(format!("header {header_json}"));
    }
    let now = Timestamp::now().unix_seconds();
    let iat = claims_json["iat"].as_i64().ok_or("no iat")?;
    let exp = claims_json["exp"].as_i64().ok_or("no exp")?;
    let expected =
        json!({"aud": "doordash", "iss": DEVELOPER_ID, "kid": KEY_ID, "iat": iat, "exp": exp});
    if claims_json != expected || exp - iat != 300 || (now - iat).abs() > 60 {
        return Err(format!("claims {claims_json}"));
    }
    let key = URL_SAFE_NO_PAD
        .decode(SIGNING_SECRET)
        .map_err(|e| e.to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| e.to_string())?;
    mac.verify_slice(&signature)
        .map_err(|_| "bad signature".to_owned())
}

/// The development channel of `o2o.toml` with the example access key and the API at `server`.
pub fn connector(server: &MockServer) -> DoorDash {
    o2o_testkit::samples::dev_connector_with(&[
        ("api_base", json!(server.uri())),
        ("developer_id", json!(DEVELOPER_ID)),
        ("key_id", json!(KEY_ID)),
        ("signing_secret", json!(SIGNING_SECRET)),
    ])
}

/// A mock of `suffix` (after the order's path) that matches only the documented request.
pub fn doordash_call(suffix: &str, body: Value, response: ResponseTemplate) -> Mock {
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/marketplace/api/v1/orders/{ORDER_ID}{suffix}"
        )))
        .and(header("content-type", "application/json"))
        .and(DoorDashJwt)
        .and(body_json(body))
        .respond_with(response)
}

/// A DoorDash command `id` for the order.
pub fn doordash_command(id: &str, action: Action) -> OrderCommand {
    command(id, "doordash", STORE, ORDER_ID, action)
}

/// The body of an accept without a ready time.
pub fn accepted() -> Value {
    json!({"merchant_supplied_id": ORDER_ID, "order_status": "success"})
}

/// The one result event, checked for what every result carries.
pub fn only_result(harness: &CommandHarness, id: &str, kind: CommandKind) -> UnifiedOrderEvent {
    let results = harness.results();
    assert_eq!(results.len(), 1, "{results:?}");
    let event = results[0].clone();
    assert_eq!(event.source.channel, "doordash");
    assert_eq!(
        event.order.as_ref().map(|o| o.external_id.as_str()),
        Some(ORDER_ID)
    );
    let result = event.command.as_ref().expect("a command result");
    assert_eq!((result.command_id.as_str(), result.kind), (id, kind));
    event
}

/// Runs `action` once and checks that it succeeded on the first attempt.
pub async fn succeeds(server: &MockServer, id: &str, action: Action) {
    let kind = action.kind();
    let harness = CommandHarness::new();
    let done = harness
        .run(&connector(server), &doordash_command(id, action), 1, false)
        .await;
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
    let event = only_result(&harness, id, kind);
    assert_eq!(event.event_type, EventType::CommandSucceeded);
    assert_eq!(
        event.command.map(|c| (c.attempts, c.error)),
        Some((1, None))
    );
}
