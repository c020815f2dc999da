//! What differs per connector: the headers, parameters and values worth mutating, and how a
//! request is sealed where `sign` cannot.

use super::*;

/// What the fuzzer needs to know about one connector beyond its samples.
pub(crate) struct Spec {
    /// The channel id (`events/<id>/`, `o2o.toml`, the registry).
    pub(crate) id: &'static str,
    /// Headers worth mutating: signature, timestamp, topic or type, identity.
    pub(crate) headers: &'static [&'static str],
    /// Query parameters worth mutating.
    pub(crate) params: &'static [&'static str],
    /// Header values to try besides those of the samples (other topics, near misses).
    pub(crate) header_values: &'static [&'static str],
    /// Whether the signature of this (final) request covers every byte of its body, so that a
    /// body changed after signing must not verify.
    pub(crate) body_signed: fn(&WebhookRequest) -> bool,
    /// Seals any plaintext with any `timestamp` text, where `sign` cannot (WeChat's `sign` wants
    /// JSON and takes the time from the clock); `true`: for another app id.
    pub(crate) seal: Option<fn(&mut WebhookRequest, &str, bool)>,
}

pub(crate) const COMMON_HEADERS: [&str; 3] = ["Content-Type", "Content-Length", "User-Agent"];

pub(crate) static SHOPIFY: Spec = Spec {
    id: "shopify",
    headers: &[
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Topic",
        "X-Shopify-Shop-Domain",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Triggered-At",
        "X-Shopify-Event-Id",
        "X-Shopify-API-Version",
    ],
    params: &["shop", "topic", "hmac"],
    header_values: &[
        "orders/delete",
        "app/uninstalled",
        "customers/create",
        "ORDERS/CREATE",
        "orders/create ",
        "refunds/create",
        "shop.myshopify.com",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static WOOCOMMERCE: Spec = Spec {
    id: "woocommerce",
    headers: &[
        "X-WC-Webhook-Signature",
        "X-WC-Webhook-Topic",
        "X-WC-Webhook-Source",
        "X-WC-Webhook-Resource",
        "X-WC-Webhook-Event",
        "X-WC-Webhook-ID",
        "X-WC-Webhook-Delivery-ID",
    ],
    params: &["consumer_key", "topic"],
    header_values: &[
        "order.deleted",
        "order.restored",
        "product.created",
        "action.woocommerce_order_status_changed",
        "https://",
        "://",
        "/",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static WECHAT: Spec = Spec {
    id: "wechat-channels-shop",
    headers: &[],
    params: &[
        "signature",
        "timestamp",
        "nonce",
        "encrypt_type",
        "msg_signature",
        "echostr",
    ],
    header_values: &["text/xml", "application/json"],
    // `ToUserName` beside `Encrypt`, and the JSON around them, are not signed.
    body_signed: |_| false,
    seal: Some(wechat_seal),
};

pub(crate) static DOUYIN: Spec = Spec {
    id: "douyin-shop",
    headers: &["event-sign", "app-id", "msg-type"],
    params: &["app_key", "sign"],
    header_values: &["7000000000000000002", "0", ""],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static TIKTOK: Spec = Spec {
    id: "tiktok-shop",
    headers: &["Authorization", "x-tts-access-token"],
    params: &["app_key", "sign", "timestamp"],
    header_values: &["Bearer", "sha256="],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static YOUZAN: Spec = Spec {
    id: "youzan",
    headers: &["Event-Sign", "Event-Type", "Client-Id"],
    params: &["client_id", "sign"],
    header_values: &[
        "trade_TradePaid",
        "trade_TradeClose",
        "trade_refund_RefundSuccess",
        "6d1f4b2e8c7a9f3d16",
    ],
    // `Event-Sign` covers the whole body; the legacy body `sign` covers `msg` only.
    body_signed: |req| {
        req.headers
            .get(o2o_youzan::EVENT_SIGN_HEADER)
            .is_some_and(|s| !s.trim().is_empty())
    },
    seal: None,
};

pub(crate) static DELIVEROO: Spec = Spec {
    id: "deliveroo",
    headers: &[
        "X-Deliveroo-Hmac-Sha256",
        "X-Deliveroo-Sequence-Guid",
        "X-Deliveroo-Payload-Type",
        "X-Deliveroo-Webhook-Version",
    ],
    params: &[],
    header_values: &[
        "event/order.new",
        "event/rider.status_update",
        "1499765769",
        "our_sequence_guid \n",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static DOORDASH: Spec = Spec {
    id: "doordash",
    headers: &["Authorization"],
    params: &[],
    header_values: &[
        "Bearer",
        "Bearer dev-doordash-webhook-token ",
        "bearer dev-doordash-webhook-token",
        "Basic dev-doordash-webhook-token",
    ],
    // A token, not a signature: nothing in the body is authenticated.
    body_signed: |_| false,
    seal: None,
};

pub(crate) static UBER_EATS: Spec = Spec {
    id: "uber-eats",
    headers: &["X-Uber-Signature", "X-Environment"],
    params: &[],
    header_values: &[
        "sandbox",
        "production",
        "orders.cancel",
        "fb23002ca7a68343963564fc3eb9e245a882cb60458609f17dba587a9f772fc4",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static MEITUAN: Spec = Spec {
    id: "meituan",
    headers: &["Content-Type"],
    params: &[
        "sig",
        "app_id",
        "timestamp",
        "order_id",
        "status",
        "reason_code",
        "notify_type",
        "logistics_status",
    ],
    header_values: &["application/x-www-form-urlencoded", "text/plain"],
    // `sig` covers the decoded parameters, not the bytes: `%41` and `A` are the same value.
    body_signed: |_| false,
    seal: None,
};

pub(crate) static ELEME: Spec = Spec {
    id: "eleme",
    headers: &["Content-Type"],
    params: &[],
    header_values: &["application/json", "text/plain"],
    // The signature covers the envelope's field values, not its bytes: whitespace, key order
    // and escapes may change and it still verifies.
    body_signed: |_| false,
    seal: None,
};

pub(crate) static STRIPE: Spec = Spec {
    id: "stripe",
    headers: &["Stripe-Signature"],
    params: &[],
    header_values: &[
        "t=1234567890,v1=potato",
        "t=,v1=",
        "v1,t=1",
        "t=1,t=2,v0=00",
        "t=99999999999999999999,v1=00",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static WECHAT_PAY: Spec = Spec {
    id: "wechat-pay",
    headers: &[
        "Wechatpay-Signature",
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Serial",
        "Wechatpay-Signature-Type",
    ],
    params: &[],
    header_values: &[
        "WECHATPAY/SIGNTEST/",
        "PUB_KEY_ID_0000000000000000000000000000000002",
        "D7CE59D1F522D701",
        "WECHATPAY2-SHA256-RSA2048",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static ALIPAY: Spec = Spec {
    id: "alipay",
    headers: &["Content-Type"],
    params: &[],
    header_values: &[
        "application/x-www-form-urlencoded; charset=gbk",
        "text/plain",
    ],
    // `sign` covers the decoded, non-blank parameters, not the bytes.
    body_signed: |_| false,
    seal: None,
};

pub(crate) static RAZORPAY: Spec = Spec {
    id: "razorpay",
    headers: &["X-Razorpay-Signature", "X-Razorpay-Event-Id"],
    params: &[],
    header_values: &[
        "",
        "zz",
        "d60e67fd7f7fa2d2d34d2d9fb1ba3b21d6e1a4a5b8c9d0e1f2a3b4c5d6e7f8",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static SQUARE: Spec = Spec {
    id: "square",
    headers: &["x-square-hmacsha256-signature"],
    params: &[],
    header_values: &["1z2n3DEJJiUPKcPzQo1ftvbxGdw=", "not base64!", ""],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static ADYEN: Spec = Spec {
    id: "adyen",
    headers: &["Authorization"],
    params: &[],
    header_values: &["Basic YWR5ZW4taG9vazpzM2NyZXQ=", "Bearer x", "Basic !!!"],
    // Each item's HMAC covers eight of its fields, not the bytes around them.
    body_signed: |_| false,
    seal: None,
};

pub(crate) static MOLLIE: Spec = Spec {
    id: "mollie",
    headers: &["X-Mollie-Signature", "Content-Type"],
    params: &[],
    header_values: &["sha256=", "sha256=00", "application/json"],
    // Next-gen webhooks are signed byte for byte; a classic `id=tr_…` is authenticated by
    // fetching the payment, so any body that still names a payment id is accepted.
    body_signed: |req| req.headers.get("X-Mollie-Signature").is_some(),
    seal: None,
};

pub(crate) static STANDARD_WEBHOOKS: Spec = Spec {
    id: "standard-webhooks",
    headers: &["webhook-id", "webhook-timestamp", "webhook-signature"],
    params: &[],
    header_values: &[
        "v1,",
        "v2,AAAA",
        "v1a,AAAA",
        "hello",
        "-1",
        "9223372036854775807",
    ],
    body_signed: |_| true,
    seal: None,
};

pub(crate) static PAYPAL: Spec = Spec {
    id: "paypal",
    headers: &[
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
    ],
    params: &[],
    header_values: &[
        "SHA256withRSA",
        "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-o2o-dev",
    ],
    body_signed: |_| true,
    seal: None,
};

/// WeChat's safe mode done by hand: `plaintext` (any bytes) encrypted with the development
/// EncodingAESKey for the development app id (or another), and signed with the development token
/// over `timestamp` (any text).
fn wechat_seal(req: &mut WebhookRequest, timestamp: &str, other_app: bool) {
    use o2o_wechat_channels_shop::crypto::{AesKey, encrypt, sorted_sha1_hex};
    static KEYS: OnceLock<(String, AesKey, String)> = OnceLock::new();
    let (token, key, app_id) = KEYS.get_or_init(|| {
        let table = dev_table(WECHAT.id);
        let setting = |name: &str| table[name].as_str().unwrap_or_default().to_owned();
        let Ok(key) = AesKey::from_encoding_aes_key(&setting("encoding_aes_key")) else {
            panic!("the development EncodingAESKey decodes");
        };
        (setting("token"), key, setting("app_id"))
    });
    let app_id = if other_app {
        "wx-some-other-app"
    } else {
        app_id
    };
    let nonce = "1337";
    let encrypted = encrypt(key, b"o2o-fuzz-random!", &req.body, app_id);
    let signature = sorted_sha1_hex(&[token, timestamp, nonce]);
    let msg_signature = sorted_sha1_hex(&[token, timestamp, nonce, &encrypted]);
    req.body = serde_json::json!({ "ToUserName": "gh_fuzz", "Encrypt": encrypted })
        .to_string()
        .into_bytes();
    req.query = format!(
        "signature={signature}&timestamp={}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_signature}",
        form_encode(timestamp)
    );
}
