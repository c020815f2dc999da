//! End to end: forgeries through fields the signature does not cover (issue 13). A captured,
//! correctly signed delivery re-posted with an unsigned field changed must be refused when the
//! field contradicts the signed content, and must add nothing when it only carries a fresh id.
//! Every refusal also shows that nothing was queued or recorded.

mod common;

use common::*;
use o2o_core::WebhookRequest;
use o2o_core::event::{EventType, UnifiedOrderEvent};
use o2o_core::ports::QueueName;

/// The idempotency records in the server's SQLite file.
fn records(server: &TestServer) -> Vec<String> {
    let conn = rusqlite::Connection::open(&server.db).expect("open db");
    let mut query = conn
        .prepare("SELECT id FROM idempotency ORDER BY id")
        .expect("prepare");
    query
        .query_map([], |row| row.get::<_, String>(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The unified events queued so far.
async fn events(server: &TestServer) -> Vec<UnifiedOrderEvent> {
    messages(&server.store, QueueName::Unified)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).expect("a UnifiedOrderEvent"))
        .collect()
}

/// `req` with its body edited (`from` must occur in it); the body's signature is untouched.
fn edited(req: &WebhookRequest, from: &str, to: &str) -> WebhookRequest {
    let body = String::from_utf8(req.body.clone()).expect("UTF-8 body");
    assert!(body.contains(from), "the body holds {from}");
    WebhookRequest {
        body: body.replace(from, to).into_bytes(),
        ..req.clone()
    }
}

/// `req` with header `name` set to `value` (the signature is untouched).
fn with_header(req: &WebhookRequest, name: &str, value: &str) -> WebhookRequest {
    let mut forged = req.clone();
    forged.headers.set(name, value);
    forged
}

/// Asserts a refusal with `status` and exactly this JSON reason, and that nothing was queued
/// or recorded.
async fn assert_refused(
    server: &TestServer,
    (status, reply): (u16, String),
    expected: (u16, &str, &str),
) {
    let reason: serde_json::Value = serde_json::from_str(&reply).expect("a JSON reason");
    assert_eq!(
        (status, reason["error"].as_str(), reason["message"].as_str()),
        (expected.0, Some(expected.1), Some(expected.2)),
        "{reply}"
    );
    assert_all_queues_empty(&server.store).await;
    assert_eq!(records(server), Vec::<String>::new(), "nothing recorded");
}

/// Issue 13 (a): Youzan's legacy `sign` covers `msg`, not `type`. A signed TradeCreate
/// re-posted as a TradeClose (with a fresh msg_id) used to give 200 and an `order.cancelled`.
#[tokio::test]
async fn a_youzan_trade_create_re_posted_as_a_trade_close_is_refused() {
    let server = start(ServerSetup::default()).await;
    let url = server.webhook_url("youzan");
    let create = signed_request("youzan", "trade-create.http");
    assert!(
        create.headers.get("Event-Sign").is_none(),
        "the sample is signed the legacy way"
    );
    let forged = edited(
        &edited(
            &create,
            r#""type":"trade_TradeCreate""#,
            r#""type":"trade_TradeClose""#,
        ),
        "9814ebed-2452-4db7-9e4f-b65b2f489694",
        "00000000-0000-4000-8000-00000000dead",
    );
    assert_refused(
        &server,
        send(&url, &forged).await,
        (
            401,
            "type_mismatch",
            "type does not match the signed msg: its order is not closed",
        ),
    )
    .await;

    // The same msg as a payment, or with the envelope's status or order id changed instead.
    let paid = edited(
        &create,
        r#""type":"trade_TradeCreate""#,
        r#""type":"trade_TradePaid""#,
    );
    let closed_status = edited(
        &create,
        r#""status":"WAIT_BUYER_PAY","test""#,
        r#""status":"TRADE_CLOSED","test""#,
    );
    let other_order = edited(
        &create,
        r#""id":"E20250618093012083200017""#,
        r#""id":"E20250618093012083200099""#,
    );
    for (forged, code, message) in [
        (
            paid,
            "type_mismatch",
            "type does not match the signed msg: its order is unpaid or closed",
        ),
        (
            closed_status,
            "status_mismatch",
            "status does not match the signed msg: it means another order status than the signed one",
        ),
        (
            other_order,
            "id_mismatch",
            "id does not match the signed msg: it is not the signed tid",
        ),
    ] {
        assert_refused(&server, send(&url, &forged).await, (401, code, message)).await;
    }

    // The genuine delivery still goes through, once.
    assert_eq!(send(&url, &create).await.0, 200);
    let queued = events(&server).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].event_type, EventType::OrderCreated);
}

/// Youzan's legacy envelope carries the event id (`msg_id`) and the shop (`kdt_id`) unsigned:
/// the signed msg re-posted under a fresh msg_id, or another shop, is a duplicate.
#[tokio::test]
async fn a_youzan_msg_replayed_under_a_fresh_msg_id_or_shop_adds_nothing() {
    let server = start(ServerSetup::default()).await;
    let url = server.webhook_url("youzan");
    let paid = signed_request("youzan", "trade-paid.http");
    assert_eq!(
        send(&url, &paid).await,
        (200, r#"{"code":0,"msg":"success"}"#.to_owned())
    );
    let fresh_id = edited(
        &paid,
        "3f6c2d1a-77b0-4c4e-9b1e-5a0d2c8e9f13",
        "00000000-0000-4000-8000-00000000beef",
    );
    let other_shop = edited(&fresh_id, r#""kdt_id":44073129"#, r#""kdt_id":1"#);
    for replay in [&fresh_id, &other_shop, &paid] {
        assert_eq!(
            send(&url, replay).await,
            (200, r#"{"code":0,"msg":"success"}"#.to_owned()),
            "answered with the stored ack"
        );
    }
    assert_eq!(events(&server).await.len(), 1);
    assert_all_queues_empty_but_unified(&server).await;
}

/// Issue 13 (b): Shopify signs only the body. A captured orders/create re-posted with
/// `X-Shopify-Topic: orders/cancelled` used to give 200 and an `order.cancelled`.
#[tokio::test]
async fn a_shopify_orders_create_re_posted_under_another_topic_is_refused() {
    let server = start(ServerSetup::default()).await;
    let url = server.webhook_url("shopify");
    let create = signed_request("shopify", "orders-create.http");
    for (topic, reason) in [
        ("orders/cancelled", "cancelled_at is null"),
        ("orders/fulfilled", "fulfillment_status is not fulfilled"),
        (
            "orders/partially_fulfilled",
            "fulfillment_status is not partial",
        ),
        ("refunds/create", "it is an order"),
        ("orders/edited", "it is an order"),
    ] {
        let forged = with_header(
            &with_header(&create, "X-Shopify-Topic", topic),
            "X-Shopify-Webhook-Id",
            "00000000-0000-4000-8000-00000000f00d",
        );
        let message = format!("X-Shopify-Topic {topic} does not match the signed body: {reason}");
        assert_refused(
            &server,
            send(&url, &forged).await,
            (401, "topic_mismatch", &message),
        )
        .await;
    }
    // A refund body is not an order either.
    let refund = signed_request("shopify", "refunds-create.http");
    let forged = with_header(&refund, "X-Shopify-Topic", "orders/cancelled");
    assert_refused(
        &server,
        send(&url, &forged).await,
        (
            401,
            "topic_mismatch",
            "X-Shopify-Topic orders/cancelled does not match the signed body: it has an order_id, so it is not an order",
        ),
    )
    .await;
}

/// Issue 13 (b), second half: the same body and signature under a fresh `X-Shopify-Webhook-Id`
/// (or another shop's domain) used to queue a second event.
#[tokio::test]
async fn a_shopify_body_replayed_under_a_fresh_webhook_id_adds_no_second_event() {
    let server = start(ServerSetup::default()).await;
    let url = server.webhook_url("shopify");
    let create = signed_request("shopify", "orders-create.http");
    assert_eq!(send(&url, &create).await, (200, String::new()));
    let fresh_id = with_header(
        &create,
        "X-Shopify-Webhook-Id",
        "00000000-0000-4000-8000-00000000c0de",
    );
    let other_shop = with_header(&fresh_id, "X-Shopify-Shop-Domain", "other.myshopify.com");
    for replay in [&fresh_id, &other_shop, &create] {
        assert_eq!(send(&url, replay).await, (200, String::new()));
    }
    let queued = events(&server).await;
    assert_eq!(queued.len(), 1, "one event for one signed body");
    assert_eq!(
        queued[0].source.external_event_id,
        "d96e4aea-77c3-4c5e-bd72-d78f480298c3"
    );
    assert_all_queues_empty_but_unified(&server).await;
    // The replays left no record of their ids: the delivery's key and its content key only.
    let keys = records(&server);
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].starts_with("shopify#content:orders/create:sha256:"),
        "{keys:?}"
    );
    assert_eq!(
        keys[1],
        "shopify:o2o-demo.myshopify.com:orders/create:d96e4aea-77c3-4c5e-bd72-d78f480298c3"
    );

    // What stays open (docs/platforms/shopify.md): the same body under another topic it agrees
    // with is other content. orders/create's body is a paid order, so orders/updated and
    // orders/paid take it; Shopify itself may send one snapshot on several topics.
    let updated = with_header(&fresh_id, "X-Shopify-Topic", "orders/updated");
    assert_eq!(send(&url, &updated).await, (200, String::new()));
    assert_eq!(events(&server).await.len(), 2);
    assert_eq!(send(&url, &updated).await, (200, String::new()));
    assert_eq!(events(&server).await.len(), 2, "and only once");
}

/// WooCommerce signs only the body too: a whole order under `order.deleted` (which carries only
/// an id, and becomes `order.cancelled`) is refused; under another site's
/// `X-WC-Webhook-Source` it is a duplicate.
#[tokio::test]
async fn a_woocommerce_order_re_posted_as_deleted_or_for_another_site_is_refused_or_a_duplicate() {
    let server = start(ServerSetup::default()).await;
    let url = server.webhook_url("woocommerce");
    let created = signed_request("woocommerce", "order-created.http");
    let deleted = with_header(&created, "X-WC-Webhook-Topic", "order.deleted");
    assert_refused(
        &server,
        send(&url, &deleted).await,
        (
            401,
            "topic_mismatch",
            "X-WC-Webhook-Topic order.deleted does not match the signed body: it is a whole order, not a deleted order's id",
        ),
    )
    .await;

    assert_eq!(send(&url, &created).await.0, 200);
    let other_site = with_header(&created, "X-WC-Webhook-Source", "https://other.example/");
    assert_eq!(send(&url, &other_site).await.0, 200);
    let queued = events(&server).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].source.tenant, "shop.o2o-demo.example");

    // The genuine order.deleted (only an id) still becomes order.cancelled.
    let genuine = signed_request("woocommerce", "order-deleted.http");
    assert_eq!(send(&url, &genuine).await.0, 200);
    assert_eq!(events(&server).await.len(), 2);
}

/// Nothing on the enrichment or quarantine queues.
async fn assert_all_queues_empty_but_unified(server: &TestServer) {
    for queue in [QueueName::Enrichment, QueueName::Quarantine] {
        assert_eq!(
            messages(&server.store, queue).await,
            Vec::<String>::new(),
            "{}",
            queue.as_str()
        );
    }
}
