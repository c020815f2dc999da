//! Meituan end to end over real HTTP on 127.0.0.1: one URL per kind of push, GET and POST
//! deliveries, the console's empty probe, and the refusals (forged, tampered, wrong app, wrong
//! URL, unknown endpoint, other methods), each of which queues nothing.

mod common;

use common::*;
use o2o_core::event::UnifiedOrderEvent;
use o2o_core::ports::QueueName;
use o2o_core::{Connector, Headers, WebhookRequest};
use o2o_meituan::{ACK, Meituan};

const SAMPLES: [&str; 7] = [
    "order.http",
    "order-completed.http",
    "cancel.http",
    "refund-apply.http",
    "refund.http",
    "refund-part.http",
    "logistics.http",
];

fn dev_meituan() -> Meituan {
    o2o_testkit::samples::dev_connector()
}

#[tokio::test]
async fn every_push_is_answered_data_ok_at_its_own_url_and_queued_once() {
    let server = start(ServerSetup::default()).await;
    let channel_url = server.webhook_url("meituan");
    for (i, file) in SAMPLES.iter().enumerate() {
        let req = signed_request("meituan", file);
        let url = endpoint_url(&channel_url, &req);
        assert_eq!(send(&url, &req).await, (200, ACK.to_owned()), "{file}");
        assert_eq!(
            send(&url, &req).await,
            (200, ACK.to_owned()),
            "{file} again"
        );
        assert_eq!(
            messages(&server.store, QueueName::Unified).await.len(),
            i + 1,
            "{file}: one event, the redelivery none"
        );
    }
    let topics: Vec<String> = messages(&server.store, QueueName::Unified)
        .await
        .iter()
        .map(|body| {
            let event: UnifiedOrderEvent = serde_json::from_str(body).expect("an event");
            format!("{}:{}", event.source.topic, event.event_type.as_str())
        })
        .collect();
    assert_eq!(
        topics,
        [
            "order:order.created",
            "order:order.completed",
            "cancel:order.cancelled",
            "refund:order.updated",
            "refund:order.refunded",
            "refund-part:order.refunded",
            "logistics:fulfilment.updated",
        ]
    );
    assert!(
        messages(&server.store, QueueName::Quarantine)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_console_probe_is_answered_without_recording() {
    let server = start(ServerSetup::default()).await;
    let url = format!("{}/order", server.webhook_url("meituan"));
    let (status, reply) = post(&url, &Headers::new(), Vec::new()).await;
    assert_eq!((status, reply.as_str()), (200, ACK));
    let get = reqwest::get(&url).await.expect("GET");
    assert_eq!(get.status().as_u16(), 200);
    assert_eq!(get.text().await.expect("body"), ACK);
    assert_all_queues_empty(&server.store).await;
}

/// A request that is refused, with the status and code expected.
async fn assert_refused(url: &str, req: &WebhookRequest, status: u16, code: &str) {
    let (got, reply) = send(url, req).await;
    assert_eq!(got, status, "{url}: {reply}");
    assert!(reply.contains(code), "{url}: {reply}");
}

#[tokio::test]
async fn forged_tampered_wrong_app_and_wrong_url_pushes_are_refused_and_queue_nothing() {
    let server = start(ServerSetup::default()).await;
    let channel_url = server.webhook_url("meituan");
    let order = signed_request("meituan", "order.http");
    let order_url = endpoint_url(&channel_url, &order);

    let mut forged = order.clone();
    let body = String::from_utf8(forged.body.clone()).expect("a form");
    let (unsigned, _) = body.rsplit_once("&sig=").expect("signed last");
    forged.body = format!("{unsigned}&sig=00934d00d0aea6f12161edfb6456143d").into_bytes();
    assert_refused(&order_url, &forged, 401, "signature_mismatch").await;

    let mut tampered = order.clone();
    tampered.body = body.replace("total=31.00", "total=1.00").into_bytes();
    assert_ne!(tampered.body, order.body);
    assert_refused(&order_url, &tampered, 401, "signature_mismatch").await;

    // Signed for the refund URL, sent to the order URL: the URL is part of what is signed.
    let refund = signed_request("meituan", "refund.http");
    assert_refused(&order_url, &refund, 401, "signature_mismatch").await;

    // Signed correctly, but for another app.
    let mut other_app = o2o_core::sample::parse_sample(
        &std::fs::read(root().join("events/meituan/refund.http")).expect("sample"),
    )
    .expect("sample")
    .into_request(o2o_core::Timestamp::now());
    let other = String::from_utf8(other_app.body.clone()).expect("a form");
    other_app.body = other.replace("app_id=1234", "app_id=4321").into_bytes();
    dev_meituan().sign(&mut other_app).expect("sign");
    assert_refused(
        &endpoint_url(&channel_url, &other_app),
        &other_app,
        401,
        "app_id_mismatch",
    )
    .await;

    for path in ["", "/remind", "/tenant/remind", "/a/b/order"] {
        let url = format!("{channel_url}{path}");
        assert_refused(&url, &order, 404, "").await;
    }
    assert_refused(
        &format!("{channel_url}/remind"),
        &order,
        404,
        "unknown_endpoint",
    )
    .await;

    let response = reqwest::Client::new()
        .put(&order_url)
        .body(order.body.clone())
        .send()
        .await
        .expect("PUT");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("GET, POST")
    );
    assert_all_queues_empty(&server.store).await;
}

/// The URL that is checked comes from `public_base_url`, never from the request's `Host`: a
/// push signed for the configured URL verifies whatever `Host` says, and a push signed for the
/// `Host` the caller sends does not.
#[tokio::test]
async fn the_signed_url_comes_from_the_configuration_not_from_host() {
    let server = start(ServerSetup::default()).await;
    let mut req = signed_request("meituan", "cancel.http");
    req.headers.set("Host", "attacker.example");
    let url = endpoint_url(&server.webhook_url("meituan"), &req);
    assert_eq!(send(&url, &req).await, (200, ACK.to_owned()));
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);

    // Signed for the URL the request really went to (the server's own address), which is not
    // the configured one.
    let by_host: Meituan = o2o_testkit::samples::dev_connector_with(&[(
        "public_base_url",
        serde_json::Value::String(server.base.clone()),
    )]);
    let mut req = o2o_core::sample::parse_sample(
        &std::fs::read(root().join("events/meituan/refund.http")).expect("sample"),
    )
    .expect("sample")
    .into_request(o2o_core::Timestamp::now());
    by_host.sign(&mut req).expect("sign");
    let url = endpoint_url(&server.webhook_url("meituan"), &req);
    assert_refused(&url, &req, 401, "signature_mismatch").await;
    assert_eq!(messages(&server.store, QueueName::Unified).await.len(), 1);
}
