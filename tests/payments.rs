//! The payment providers end to end over real HTTP on 127.0.0.1: `o2o send` with each one's
//! default sample (WeChat Pay and Alipay signed with their test RSA keys), a payment and its
//! refund in their order's message group, and refusals (expired, wrong key, wrong serial, wrong
//! app, tampered) that queue nothing.

mod common;

use std::process::Command;

use common::*;
use o2o::registry::CONNECTORS;
use o2o_core::WebhookRequest;
use o2o_core::ports::QueueName;

fn o2o(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_o2o"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run o2o")
}

/// Every payment channel registered: `o2o send` signs its default sample as the provider does
/// and the server answers with the provider's acknowledgement and queues one payment event.
#[tokio::test]
async fn o2o_send_signs_every_payment_providers_default_sample() {
    let server = start(ServerSetup::default()).await;
    let payment_channels: Vec<&str> = CONNECTORS
        .iter()
        .map(|entry| (entry.info)())
        .filter(|info| info.kind == o2o_core::event::ChannelKind::Payment)
        .map(|info| info.id)
        .collect();
    assert!(payment_channels.len() >= 5, "{payment_channels:?}");
    for channel in payment_channels {
        let before = messages(&server.store, QueueName::Unified).await.len();
        let url = server.webhook_url(channel);
        let owned = channel.to_owned();
        let output = tokio::task::spawn_blocking(move || o2o(&["send", &owned, "--to", &url]))
            .await
            .expect("join");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{channel}: {stdout}");
        assert_eq!(stdout.lines().next(), Some("200 OK"), "{channel}");
        let queued = messages(&server.store, QueueName::Unified).await;
        assert_eq!(queued.len(), before + 1, "{channel}");
        let event: serde_json::Value = serde_json::from_str(&queued[before]).expect("an event");
        assert_eq!(event["event_type"], "payment.succeeded", "{channel}");
        assert_eq!(event["source"]["channel_kind"], "payment", "{channel}");
    }
}

/// The message groups of the queued messages, in order.
fn groups(server: &TestServer) -> Vec<String> {
    let conn = rusqlite::Connection::open(&server.db).expect("open db");
    let mut query = conn
        .prepare("SELECT group_id FROM messages WHERE queue = 'unified' ORDER BY seq")
        .expect("prepare");
    query
        .query_map([], |row| row.get::<_, String>(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// With `orders_channel` set, a WeChat Pay payment and its later partial refund are two events
/// in the group of the order they pay for, and a redelivery adds nothing.
#[tokio::test]
async fn a_payment_and_its_refund_share_their_orders_group() {
    let mut channels = dev_config().channels;
    let table = &mut channels.get_mut("wechat-pay").expect("wechat-pay").default;
    table.insert("orders_channel".to_owned(), "shopify".into());
    table.insert("orders_tenant".to_owned(), "o2o-demo.myshopify.com".into());
    let server = start(ServerSetup {
        channels,
        ..ServerSetup::default()
    })
    .await;
    let url = server.webhook_url("wechat-pay");
    let paid = signed_request("wechat-pay", "transaction-success.http");
    let refunded = signed_request("wechat-pay", "refund-success-partial.http");
    for req in [&paid, &refunded, &paid] {
        assert_eq!(send(&url, req).await.0, 200);
    }
    let events: Vec<serde_json::Value> = messages(&server.store, QueueName::Unified)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).expect("an event"))
        .collect();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(types, ["payment.succeeded", "payment.refunded"]);
    let order_ref = events[0]["payment"]["order_ref"]
        .as_str()
        .expect("order_ref");
    assert_eq!(events[1]["payment"]["order_ref"], order_ref);
    let group = format!("shopify:o2o-demo.myshopify.com:{order_ref}");
    assert_eq!(groups(&server), [group.clone(), group]);
}

async fn assert_refused(url: &str, req: &WebhookRequest, status: u16, code: &str) {
    let (got, reply) = send(url, req).await;
    assert_eq!(got, status, "{url}: {reply}");
    assert!(reply.contains(code), "{url}: {code} in {reply}");
}

#[tokio::test]
async fn expired_wrong_key_wrong_serial_wrong_app_and_tampered_payments_queue_nothing() {
    let server = start(ServerSetup::default()).await;

    // Stripe: signed an hour before it arrives.
    let mut old = signed_request("stripe", "payment-intent-succeeded.http");
    let header = old
        .headers
        .get("Stripe-Signature")
        .expect("signed")
        .to_owned();
    let late = o2o_core::Timestamp::now().plus_seconds(-3600);
    let bytes =
        std::fs::read(root().join("events/stripe/payment-intent-succeeded.http")).expect("sample");
    let mut req = o2o_core::sample::parse_sample(&bytes)
        .expect("sample")
        .into_request(late);
    dev_channel("stripe").sign(&mut req).expect("sign");
    assert_ne!(req.headers.get("Stripe-Signature"), Some(header.as_str()));
    assert_refused(
        &server.webhook_url("stripe"),
        &req,
        401,
        "timestamp_outside_window",
    )
    .await;

    // Stripe: a signature that no listed secret produced.
    old.headers.set(
        "Stripe-Signature",
        header
            .replace("v1=", "v1=0")
            .chars()
            .take(header.len())
            .collect::<String>(),
    );
    assert_refused(&server.webhook_url("stripe"), &old, 401, "signature").await;

    // WeChat Pay: a serial no configured key has.
    let mut serial = signed_request("wechat-pay", "transaction-success.http");
    serial.headers.set(
        o2o_wechat_pay::SERIAL_HEADER,
        "PUB_KEY_ID_0000000000000000000000000000000002",
    );
    // WeChat Pay's own failure body: `{"code":"FAIL","message":…}`.
    assert_refused(
        &server.webhook_url("wechat-pay"),
        &serial,
        401,
        r#""code":"FAIL""#,
    )
    .await;

    // WeChat Pay: the body changed after signing.
    let mut tampered = signed_request("wechat-pay", "transaction-success.http");
    tampered.body = o2o_testkit::tampered(tampered.clone()).body;
    assert_refused(
        &server.webhook_url("wechat-pay"),
        &tampered,
        401,
        r#""message":"signature"#,
    )
    .await;

    // Alipay: signed correctly, for another app.
    let bytes = std::fs::read(root().join("events/alipay/trade-success.http")).expect("sample");
    let mut other_app = o2o_core::sample::parse_sample(&bytes)
        .expect("sample")
        .into_request(o2o_core::Timestamp::now());
    let body = String::from_utf8(other_app.body.clone()).expect("a form");
    other_app.body = body
        .replace("app_id=2014072300007148", "app_id=2014072300007149")
        .into_bytes();
    assert_ne!(other_app.body, body.as_bytes());
    dev_channel("alipay").sign(&mut other_app).expect("sign");
    assert_refused(&server.webhook_url("alipay"), &other_app, 401, "wrong_app").await;

    assert_all_queues_empty(&server.store).await;
}

/// Mollie's classic webhook, posted twice for a payment that is paid: each post is fetched, and
/// the same fact keeps its event id, so the local queue holds one event.
#[tokio::test]
async fn a_repeated_classic_mollie_webhook_gives_one_event() {
    let apis = platform_api_mocks().await;
    let server = start(ServerSetup {
        channels: dev_channels_with_api_base(&apis.uri()),
        ..ServerSetup::default()
    })
    .await;
    let req = signed_request("mollie", "classic-paid.http");
    for _ in 0..2 {
        assert_eq!(send(&server.webhook_url("mollie"), &req).await.0, 200);
        let (_, quarantine) = settled(&server).await;
        assert!(quarantine.is_empty(), "{quarantine:?}");
    }
    let events = messages(&server.store, QueueName::Unified).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event: serde_json::Value = serde_json::from_str(&events[0]).expect("an event");
    assert_eq!(event["event_type"], "payment.succeeded");
    assert_eq!(event["payment"]["payment_id"], "tr_5B8cwPMGnU6qLbRvo7qEZo");
}
