//! The shapes WeChat Pay sends: the signed notification (`id`, `event_type`, the encrypted
//! `resource`) and the decrypted resource of a payment or refund.
//!
//! Source: wechatpay-go `core/notify/notify.go` and `services/payments/models.go` @6b45c6aa
//! (`Transaction`, `TransactionAmount`); pay.weixin.qq.com `…/apis/h5-payment/payment-notice.html`
//! and the APIv3 refund notice (`wiki/doc/apiv3/apis/chapter3_1_11.shtml`: `refund_id`,
//! `out_refund_no`, `refund_status`, `amount.total/refund/payer_total/payer_refund`).

use o2o_core::connector::NormaliseError;
use serde::Deserialize;

/// The notification as received (its `resource` encrypted), or as a sample file holds it
/// (`resource.plaintext` instead of `ciphertext`, which `sign` encrypts).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// The notification id (`EV-2018022511223320873`): the same on every retry.
    #[serde(default)]
    pub id: String,
    /// When WeChat Pay created the notification (RFC 3339, `+08:00`).
    #[serde(default)]
    pub create_time: Option<String>,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`, ….
    #[serde(default)]
    pub event_type: String,
    /// Always `encrypt-resource`.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// WeChat Pay's summary (`支付成功`).
    #[serde(default)]
    pub summary: Option<String>,
    /// The encrypted resource.
    pub resource: EncryptedResource,
}

/// `resource`: the AEAD envelope of the event's object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EncryptedResource {
    /// `AEAD_AES_256_GCM`.
    #[serde(default)]
    pub algorithm: String,
    /// Base64 of the ciphertext and its 16-byte tag.
    #[serde(default)]
    pub ciphertext: String,
    /// The 12-character nonce.
    #[serde(default)]
    pub nonce: String,
    /// The associated data (`transaction`, `refund`; may be empty).
    #[serde(default)]
    pub associated_data: String,
    /// `transaction`, `refund`, ….
    #[serde(default)]
    pub original_type: Option<String>,
}

/// Reads the notification from the signed body.
pub fn notification(body: &[u8]) -> Result<Notification, NormaliseError> {
    serde_json::from_slice(body).map_err(NormaliseError::from)
}

/// The decrypted resource of a payment (`transaction`) or refund (`refund`) notification. Every
/// field is optional here; `normalise` names the ones an event needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Resource {
    /// The merchant id (直连商户号).
    #[serde(default)]
    pub mchid: Option<String>,
    /// The app id the payment was made in (payments only).
    #[serde(default)]
    pub appid: Option<String>,
    /// The merchant's order number.
    #[serde(default)]
    pub out_trade_no: Option<String>,
    /// WeChat Pay's payment id.
    #[serde(default)]
    pub transaction_id: Option<String>,
    /// `JSAPI`, `NATIVE`, `APP`, `MICROPAY`, `MWEB`, `FACEPAY`.
    #[serde(default)]
    pub trade_type: Option<String>,
    /// `SUCCESS` in a `TRANSACTION.SUCCESS`.
    #[serde(default)]
    pub trade_state: Option<String>,
    /// WeChat Pay's description of `trade_state`.
    #[serde(default)]
    pub trade_state_desc: Option<String>,
    /// When the payment or refund succeeded (RFC 3339, `+08:00`).
    #[serde(default)]
    pub success_time: Option<String>,
    /// The merchant's refund number.
    #[serde(default)]
    pub out_refund_no: Option<String>,
    /// WeChat Pay's refund id.
    #[serde(default)]
    pub refund_id: Option<String>,
    /// `SUCCESS`, `CLOSED`, `ABNORMAL`.
    #[serde(default)]
    pub refund_status: Option<String>,
    /// Amounts, in fen.
    #[serde(default)]
    pub amount: Option<Amount>,
}

/// `amount`: integer minor units (fen).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Amount {
    /// The order total.
    #[serde(default)]
    pub total: Option<i64>,
    /// What the payer paid (the total less WeChat-funded coupons).
    #[serde(default)]
    pub payer_total: Option<i64>,
    /// The refunded amount (refunds only).
    #[serde(default)]
    pub refund: Option<i64>,
    /// What went back to the payer (refunds only).
    #[serde(default)]
    pub payer_refund: Option<i64>,
    /// `CNY` (payments only: refund notifications name no currency).
    #[serde(default)]
    pub currency: Option<String>,
}

/// Reads the decrypted resource.
pub fn resource(plaintext: &[u8]) -> Result<Resource, NormaliseError> {
    serde_json::from_slice(plaintext).map_err(|e| NormaliseError::from(e).within("resource"))
}
