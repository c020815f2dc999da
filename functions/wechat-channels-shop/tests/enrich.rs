//! Enrichment against a wiremock order API on 127.0.0.1.
//!
//! Answers are shaped from the documented examples: the stable token
//! (<https://developers.weixin.qq.com/doc/channels/api/basic/api_getstableaccesstoken.md>:
//! `{"access_token","expires_in"}`), the order detail
//! (<https://developers.weixin.qq.com/doc/store/shop/API/channels-shop-order/api_getorder.md>,
//! field names as in a real answer posted in the WeChat developer community, ids as strings,
//! money in fen) in `fixtures/order-detail.json`, and the error answers
//! `{"errcode":…,"errmsg":…}` (<https://developers.weixin.qq.com/doc/channels/API/basics/commErrCode.html>;
//! `100002` "Not exist" is [C-2]). Each connector instance owns its token cache: a test that
//! checks caching enriches through one instance; every test still uses its own app id, which the
//! token requests are matched on.

use std::time::Duration;

use o2o_core::connector::{EnrichError, NormaliseContext, Normalised};
use o2o_core::event::{
    Address, Courier, EventType, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus,
    PaymentLine, Totals,
};
use o2o_core::money::{Currency, Money};
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Headers, Timestamp, WebhookRequest};
use o2o_testkit::samples::{dev_connector_with, dev_table, read};
use o2o_wechat_channels_shop::{Message, Settings, WeChatChannelsShop};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORDER: &str = "3722184519028736512";
const FIXTURE: &str = include_str!("fixtures/order-detail.json");

/// The test settings of the samples, for shop `app_id`, calling the mock with a 300 ms timeout.
fn connector(server: &MockServer, app_id: &str) -> WeChatChannelsShop {
    dev_connector_with::<WeChatChannelsShop>(&[
        ("token", json!("o2oChannelsShopToken")),
        (
            "encoding_aes_key",
            json!("o2oWeChatChannelsShopEncodingAesKey01234567"),
        ),
        ("app_id", json!(app_id)),
        ("app_secret", json!("o2o-test-app-secret")),
        ("api_base", json!(server.uri())),
        ("api_timeout_ms", json!(300)),
    ])
}

/// A decrypted `event` push about the order, read and normalised as at ingest: the thin
/// message the enrichment worker gets.
fn delivery(event: &str, create_time: i64) -> Message {
    let payload = json!({
        "ToUserName": "gh_6a1f3c9e2b7d",
        "FromUserName": "oZx3V5Qm2tL8aR1kY7bN0cJ4dE6f",
        "CreateTime": create_time,
        "MsgType": "event",
        "Event": event,
        "order_info": { "order_id": 3_722_184_519_028_736_512_u64 }
    });
    let req = WebhookRequest {
        method: "POST".into(),
        path_tenant: None,
        endpoint: None,
        query: String::new(),
        headers: Headers::new(),
        body: payload.to_string().into_bytes(),
        received_at: ctx().received_at,
    };
    let shop = dev_connector_with::<WeChatChannelsShop>(&[]);
    let (id, normalised) = read(&shop, &req).expect("parses");
    assert_eq!(id.tenant, "gh_6a1f3c9e2b7d");
    assert_eq!(id.external_event_id, format!("{ORDER}:{create_time}"));
    assert_eq!(id.topic, event);
    match normalised {
        Ok(Normalised::Enrich(message)) => message,
        other => panic!("expected a thin message, got {:?}", other.map(|_| ())),
    }
}

fn ctx() -> NormaliseContext {
    NormaliseContext {
        received_at: Timestamp::from_unix_seconds(1_767_225_600).expect("time"),
    }
}

fn token_request(app_id: &str, force: bool) -> serde_json::Value {
    json!({
        "grant_type": "client_credential",
        "appid": app_id,
        "secret": "o2o-test-app-secret",
        "force_refresh": force,
    })
}

/// The stable-token endpoint answering `token` for (app, force), expected `times` times.
async fn mount_token(
    server: &MockServer,
    app_id: &str,
    force: bool,
    token: &str,
    expires: u64,
    times: u64,
) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .and(header("content-type", "application/json"))
        .and(body_json(token_request(app_id, force)))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": token, "expires_in": expires })),
        )
        .expect(times)
        .mount(server)
        .await;
}

/// The order endpoint answering `answer` for requests authorised with `token`.
async fn mount_order(server: &MockServer, token: &str, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/channels/ec/order/get"))
        .and(query_param("access_token", token))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "order_id": ORDER })))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

fn ok_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(FIXTURE)
}

fn error_answer(errcode: i64, errmsg: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

fn cny(fen: i64) -> Money {
    Money::from_minor(fen, Currency::from_code("CNY").expect("CNY"))
}

/// What enrichment made of `message`, the thin reading (the message itself) left out.
async fn enrich(
    shop: &WeChatChannelsShop,
    message: Message,
) -> Result<Normalised<()>, EnrichError> {
    shop.enrich(message, &ctx()).await.map(|n| match n {
        Normalised::Events(events) => Normalised::Events(events),
        Normalised::Enrich(_) => Normalised::Enrich(()),
        Normalised::Ignored(reason) => Normalised::Ignored(reason),
    })
}

#[tokio::test]
async fn enriches_an_order_field_by_field() {
    let server = MockServer::start().await;
    let app = "wx-enrich-success";
    mount_token(&server, app, false, "TOKEN-1", 7200, 1).await;
    mount_order(&server, "TOKEN-1", ok_answer(), 1).await;
    let result = enrich(
        &connector(&server, app),
        delivery("channels_ec_order_new", 1_767_170_100),
    )
    .await;
    let Ok(Normalised::Events(events)) = result else {
        panic!("expected events, got {result:?}");
    };
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, EventType::OrderCreated);
    assert_eq!(event.occurred_at.to_string(), "2025-12-31T08:35:00Z");
    assert_eq!(event.status.as_deref(), Some("20"));
    assert_eq!((&event.payment, &event.refund), (&None, &None));
    let order = event.order.as_ref().expect("order");
    let Order {
        external_id,
        display_id,
        status,
        version,
        currency,
        totals,
        presentment_totals,
        items,
        customer,
        fulfilment,
        payments,
        note,
    } = order;
    assert_eq!(external_id, ORDER, "above 2^53, exact");
    assert_eq!(display_id, &None);
    assert_eq!(status, &Some(OrderStatus::Placed), "20 = 待发货");
    assert_eq!(version.as_deref(), Some("1767170161"), "update_time");
    assert_eq!(currency.map(|c| c.code()), Some("CNY"));
    // 5900 × 2 + 2000 = 13800 products; − 1000 discount + 800 freight = 13600.
    assert_eq!(
        totals,
        &Totals {
            subtotal: Some(cny(13_800)),
            discount: Some(cny(1_000)),
            delivery_fee: Some(cny(800)),
            total: Some(cny(13_600)),
            ..Totals::default()
        }
    );
    assert_eq!(presentment_totals, &None);
    assert_eq!(
        items,
        &vec![
            Item {
                external_id: Some("2154879633".into()),
                sku: Some("YN-COFFEE-500".into()),
                name: "云南小粒咖啡豆 500g".into(),
                quantity: 2,
                unit_price: Some(cny(5_900)),
                total: Some(cny(11_300)),
                modifiers: vec![Modifier {
                    name: "烘焙度: 中度烘焙".into(),
                    quantity: None,
                    price: None,
                }],
                note: None,
            },
            Item {
                external_id: Some("2154879634".into()),
                sku: None,
                name: "手冲滤纸 100 片".into(),
                quantity: 1,
                unit_price: Some(cny(2_000)),
                total: Some(cny(1_500)),
                modifiers: vec![],
                note: None,
            },
        ]
    );
    assert_eq!(customer, &None, "the buyer is only an OpenID");
    assert_eq!(
        fulfilment,
        &Some(Fulfilment {
            kind: Some(FulfilmentType::Shipping),
            address: Some(Address {
                name: Some("张伟".into()),
                phone: Some("13800000000".into()),
                lines: vec![
                    "西湖区".into(),
                    "文三路 90 号东部软件园 3 号楼".into(),
                    "502 室".into()
                ],
                city: Some("杭州市".into()),
                region: Some("浙江省".into()),
                postal_code: Some("310012".into()),
                country_code: Some("CN".into()),
            }),
            scheduled_for: None,
            courier: None,
            status: None,
        })
    );
    assert_eq!(
        payments,
        &vec![PaymentLine {
            provider: Some("wechat-pay".into()),
            method: Some("wechat_pay".into()),
            amount: Some(cny(13_600)),
            status: Some("paid".into()),
            paid_at: Some(Timestamp::from_unix_seconds(1_767_170_158).expect("time")),
        }]
    );
    assert_eq!(note.as_deref(), Some("请工作日送货"));
}

#[tokio::test]
async fn a_shipped_order_carries_its_courier() {
    let server = MockServer::start().await;
    let app = "wx-enrich-deliver";
    let mut answer: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture");
    answer["order"]["status"] = 30.into();
    answer["order"]["order_detail"]["delivery_info"]["delivery_product_info"] = json!([{
        "waybill_id": "SF1458203697411",
        "delivery_id": "SF",
        "product_infos": [{ "product_id": "10000087562341", "sku_id": "2154879633", "product_cnt": 2 }],
        "delivery_name": "顺丰速运",
        "delivery_time": 1767259990,
        "deliver_type": 1
    }]);
    mount_token(&server, app, false, "TOKEN-1", 7200, 1).await;
    mount_order(
        &server,
        "TOKEN-1",
        ResponseTemplate::new(200).set_body_json(answer),
        1,
    )
    .await;
    let Ok(Normalised::Events(events)) = enrich(
        &connector(&server, app),
        delivery("channels_ec_order_deliver", 1_767_260_000),
    )
    .await
    else {
        panic!("expected events");
    };
    assert_eq!(events[0].event_type, EventType::FulfilmentUpdated);
    let order = events[0].order.as_ref().expect("order");
    assert_eq!(
        order.status,
        Some(OrderStatus::OutForDelivery),
        "30 = 待收货"
    );
    assert_eq!(
        order.fulfilment.as_ref().and_then(|f| f.courier.clone()),
        Some(Courier {
            name: Some("SF".into()),
            tracking_number: Some("SF1458203697411".into()),
            ..Courier::default()
        })
    );
}

#[tokio::test]
async fn the_token_is_fetched_once_for_two_enrichments() {
    let server = MockServer::start().await;
    let app = "wx-enrich-cached";
    mount_token(&server, app, false, "TOKEN-1", 7200, 1).await;
    mount_order(&server, "TOKEN-1", ok_answer(), 2).await;
    let shop = connector(&server, app);
    for create_time in [1_767_170_100, 1_767_170_161] {
        let result = enrich(&shop, delivery("channels_ec_order_new", create_time)).await;
        assert!(matches!(result, Ok(Normalised::Events(_))), "{result:?}");
    }
    // `expect(1)` / `expect(2)` are checked when the server drops.
}

#[tokio::test]
async fn a_token_within_five_minutes_of_expiry_is_fetched_again() {
    let server = MockServer::start().await;
    let app = "wx-enrich-expiring";
    // 300 s left is inside the 5-minute margin: the cached token is never reused.
    mount_token(&server, app, false, "TOKEN-1", 300, 2).await;
    mount_order(&server, "TOKEN-1", ok_answer(), 2).await;
    let shop = connector(&server, app);
    for _ in 0..2 {
        let result = enrich(&shop, delivery("channels_ec_order_new", 1_767_170_100)).await;
        assert!(matches!(result, Ok(Normalised::Events(_))), "{result:?}");
    }
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_call_retried_once() {
    let server = MockServer::start().await;
    let app = "wx-enrich-refresh";
    mount_token(&server, app, false, "TOKEN-OLD", 7200, 1).await;
    mount_token(&server, app, true, "TOKEN-NEW", 7200, 1).await;
    mount_order(
        &server,
        "TOKEN-OLD",
        error_answer(42001, "access_token expired"),
        1,
    )
    .await;
    mount_order(&server, "TOKEN-NEW", ok_answer(), 2).await;
    let shop = connector(&server, app);
    let result = enrich(&shop, delivery("channels_ec_order_pay", 1_767_170_160)).await;
    let Ok(Normalised::Events(events)) = result else {
        panic!("expected events, got {result:?}");
    };
    assert_eq!(events[0].event_type, EventType::PaymentSucceeded);
    // The refreshed token is cached: the next enrichment uses it without a token request.
    let again = enrich(&shop, delivery("channels_ec_order_new", 1_767_170_100)).await;
    assert!(matches!(again, Ok(Normalised::Events(_))), "{again:?}");
}

#[tokio::test]
async fn a_token_refused_after_the_refresh_is_transient() {
    let server = MockServer::start().await;
    let app = "wx-enrich-refused";
    mount_token(&server, app, false, "TOKEN-A", 7200, 1).await;
    mount_token(&server, app, true, "TOKEN-B", 7200, 1).await;
    mount_order(
        &server,
        "TOKEN-A",
        error_answer(40001, "invalid credential"),
        1,
    )
    .await;
    mount_order(
        &server,
        "TOKEN-B",
        error_answer(40001, "invalid credential"),
        1,
    )
    .await;
    let result = enrich(
        &connector(&server, app),
        delivery("channels_ec_order_new", 1_767_170_100),
    )
    .await;
    assert_eq!(
        result,
        Err(EnrichError::Transient(
            "wechat-channels-shop order detail: credentials or permissions refused (errcode 40001)"
                .into()
        ))
    );
}

#[tokio::test]
async fn an_unknown_order_is_permanent() {
    let server = MockServer::start().await;
    let app = "wx-enrich-missing";
    mount_token(&server, app, false, "TOKEN-1", 7200, 1).await;
    mount_order(
        &server,
        "TOKEN-1",
        error_answer(100002, "Not exist rid: 61e821e8-5a7523a1-47af1575"),
        1,
    )
    .await;
    let result = enrich(
        &connector(&server, app),
        delivery("channels_ec_order_new", 1_767_170_100),
    )
    .await;
    assert_eq!(
        result,
        Err(EnrichError::Permanent(
            "wechat-channels-shop order detail: the order does not exist (errcode 100002)".into()
        ))
    );
}

#[tokio::test]
async fn system_busy_and_server_errors_are_transient() {
    let server = MockServer::start().await;
    let app = "wx-enrich-busy";
    mount_token(&server, app, false, "TOKEN-1", 7200, 1).await;
    Mock::given(method("POST"))
        .and(path("/channels/ec/order/get"))
        .respond_with(error_answer(-1, "system error"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server, "TOKEN-1", ResponseTemplate::new(502), 1).await;
    let shop = connector(&server, app);
    let busy = enrich(&shop, delivery("channels_ec_order_new", 1_767_170_100)).await;
    assert_eq!(
        busy,
        Err(EnrichError::Transient(
            "wechat-channels-shop order detail: busy or throttled (errcode -1)".into()
        ))
    );
    let bad_gateway = enrich(&shop, delivery("channels_ec_order_new", 1_767_170_100)).await;
    assert_eq!(
        bad_gateway,
        Err(EnrichError::Transient(
            "wechat-channels-shop order detail: HTTP 502".into()
        ))
    );
}

#[tokio::test]
async fn a_slow_api_times_out_as_transient() {
    let server = MockServer::start().await;
    let app = "wx-enrich-slow";
    mount_token(&server, app, false, "TOKEN-1", 7200, 1).await;
    mount_order(
        &server,
        "TOKEN-1",
        ok_answer().set_delay(Duration::from_secs(2)),
        1,
    )
    .await;
    let result = enrich(
        &connector(&server, app),
        delivery("channels_ec_order_new", 1_767_170_100),
    )
    .await;
    assert_eq!(
        result,
        Err(EnrichError::Transient(
            "wechat-channels-shop order detail: timed out".into()
        ))
    );
}

#[tokio::test]
async fn a_failing_token_endpoint_is_transient_and_secrets_stay_out_of_errors() {
    let server = MockServer::start().await;
    let app = "wx-enrich-token-5xx";
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let result = enrich(
        &connector(&server, app),
        delivery("channels_ec_order_new", 1_767_170_100),
    )
    .await;
    assert_eq!(
        result,
        Err(EnrichError::Transient(
            "wechat-channels-shop access token: HTTP 503".into()
        ))
    );
    // A missing AppSecret used to be a transient error per enrichment; the settings now refuse
    // it when the channel is built.
    let mut table = dev_table("wechat-channels-shop");
    table.insert("api_base".into(), json!(server.uri()));
    table.remove("app_secret");
    assert_eq!(
        parse_settings::<Settings>(&table, "channels.wechat-channels-shop")
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err("channels.wechat-channels-shop: missing field `app_secret`".into())
    );
}

#[tokio::test]
async fn an_answer_about_another_order_is_permanent() {
    let server = MockServer::start().await;
    let app = "wx-enrich-other-order";
    let mut answer: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture");
    answer["order"]["order_id"] = "1".into();
    mount_token(&server, app, false, "TOKEN-1", 7200, 1).await;
    mount_order(
        &server,
        "TOKEN-1",
        ResponseTemplate::new(200).set_body_json(answer),
        1,
    )
    .await;
    let result = enrich(
        &connector(&server, app),
        delivery("channels_ec_order_new", 1_767_170_100),
    )
    .await;
    assert_eq!(
        result,
        Err(EnrichError::Permanent(
            "wechat-channels-shop order detail: answered for another order".into()
        ))
    );
}
