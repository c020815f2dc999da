//! WeChat Pay connector: API v3 payment and refund result notifications (直连商户), verified
//! with the platform's RSA signature and decrypted with the merchant's APIv3 key.
//!
//! - **Signature** [wechatpay-go `core/auth/validators/wechat_pay_validator.go` @112bbd56]: base64
//!   RSA PKCS#1 v1.5 / SHA-256 in `Wechatpay-Signature` over
//!   `{Wechatpay-Timestamp}\n{Wechatpay-Nonce}\n{raw body}\n`; the key is the one
//!   `Wechatpay-Serial` names: a platform certificate's serial (hex) or a "WeChat Pay public key"
//!   id (`PUB_KEY_ID_…`). While a merchant switches from certificates to the public key, either
//!   may sign, so both are configured. The SDK refuses a timestamp 300 s or more from now.
//! - **Probes**: WeChat Pay sends deliberately wrong signatures (`WECHATPAY/SIGNTEST/…`) to check
//!   that merchants verify; they fail verification like any other bad signature (401).
//! - **Resource** [pay.weixin.qq.com `…/apis/h5-payment/payment-notice.html`; wechatpay-go
//!   `utils/aes.go`]: `AEAD_AES_256_GCM` with the 32-byte APIv3 key; `ciphertext` is base64 of
//!   ciphertext ‖ 16-byte tag; `nonce` and `associated_data` are used as their UTF-8 bytes. The
//!   decrypted resource is the authenticated payload.
//! - **Ack**: HTTP 200 or 204 without a body; anything else is retried (15 s … 6 h, about 24 h).
//!
//! Details, mapping and what remains unconfirmed: `docs/platforms/wechat-pay.md`.

pub mod crypto;
mod normalise;
mod payload;

use std::borrow::Cow;
use std::collections::BTreeMap;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Identifier, Secret, Secrets, SettingsError};
use o2o_core::signature::{SignatureError, check_timestamp_window, sha256_hex};
use o2o_core::{Rejection, Reply, WebhookRequest};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use crate::crypto::{PlatformKey, SigningKey};
pub use normalise::Message;
pub use payload::{Amount, EncryptedResource, Notification, Resource};

/// The base64 RSA signature.
pub const SIGNATURE_HEADER: &str = "Wechatpay-Signature";
/// The platform certificate serial or public key id that names the verification key.
pub const SERIAL_HEADER: &str = "Wechatpay-Serial";
/// The Unix time of signing, which the signature covers.
pub const TIMESTAMP_HEADER: &str = "Wechatpay-Timestamp";
/// The random string the signature covers.
pub const NONCE_HEADER: &str = "Wechatpay-Nonce";
/// The signature scheme (informational; not read).
pub const SIGNATURE_TYPE_HEADER: &str = "Wechatpay-Signature-Type";
/// The only scheme of API v3.
pub const SIGNATURE_TYPE: &str = "WECHATPAY2-SHA256-RSA2048";
/// The only `resource.algorithm`.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";
/// The official SDKs' window on `Wechatpay-Timestamp`, in seconds.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// The prefix of a "WeChat Pay public key" id in `Wechatpay-Serial`.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

static INFO: ChannelInfo = ChannelInfo {
    id: "wechat-pay",
    name: "WeChat Pay",
    kind: ChannelKind::Payment,
    default_sample: "transaction-success.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// The APIv3 key(s): one string, or a list during a change of key (newest first).
#[derive(Debug, Clone)]
pub struct ApiV3Keys(pub Secrets);

impl<'de> Deserialize<'de> for ApiV3Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let keys = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(key) => vec![key],
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    serde_json::Value::String(key) => Ok(key),
                    _ => Err(D::Error::custom("lists something other than a string")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(D::Error::custom("must be a string or a list of strings")),
        };
        if keys.iter().any(String::is_empty) {
            return Err(D::Error::custom("is empty"));
        }
        Secrets::new(keys.into_iter().map(Secret::new).collect())
            .map(Self)
            .ok_or_else(|| D::Error::custom("lists no key"))
    }
}

impl JsonSchema for ApiV3Keys {
    fn schema_name() -> Cow<'static, str> {
        "ApiV3Keys".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
            ],
            "writeOnly": true
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_SECS
}

/// A WeChat Pay channel table (`[channels.wechat-pay]`): one merchant (直连商户).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The merchant id (商户号, `mchid`); a decrypted notification naming another is refused
    /// (401 `wrong_merchant`). Also the tenant when the URL names none.
    pub mch_id: Identifier,
    /// The app id (`appid`) payments are made in; when set, a payment naming another is refused
    /// (401 `wrong_merchant`). Refund notifications name no app id.
    #[serde(default)]
    pub app_id: Option<Identifier>,
    /// The APIv3 key (APIv3密钥, 32 characters; merchant platform → 账户中心 → API安全), which
    /// decrypts `resource`: a string, or a list while changing it (each is tried; the first
    /// encrypts samples).
    pub api_v3_key: ApiV3Keys,
    /// The keys WeChat Pay signs with, by the `Wechatpay-Serial` that names them: a platform
    /// certificate's serial (hex) → that certificate (PEM `CERTIFICATE`), and/or the WeChat Pay
    /// public key id (`PUB_KEY_ID_…`) → that key (PEM `PUBLIC KEY`). List both while WeChat Pay
    /// switches a merchant from certificates to the public key; any listed key verifies.
    pub platform_public_keys: BTreeMap<String, String>,
    /// How far `Wechatpay-Timestamp` may be from the time of receipt, in seconds (default 300,
    /// as WeChat Pay's SDKs).
    #[serde(default = "default_tolerance")]
    pub tolerance_secs: u64,
    /// For `o2o send` and tests only, never the real platform key (only WeChat Pay has that): a
    /// PEM PKCS#8 RSA private key whose public key is `platform_public_keys` under
    /// `test_signing_serial`, to sign sample notifications as WeChat Pay would.
    #[serde(default)]
    pub test_signing_key: Option<Secret>,
    /// The `Wechatpay-Serial` that samples signed with `test_signing_key` carry (one of
    /// `platform_public_keys`); required with it.
    #[serde(default)]
    pub test_signing_serial: Option<String>,
    /// The orders these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The WeChat Pay connector for one merchant.
#[derive(Debug)]
pub struct WeChatPay {
    mch_id: String,
    app_id: Option<String>,
    api_v3_keys: Secrets,
    /// By upper-cased serial.
    platform_keys: BTreeMap<String, PlatformKey>,
    tolerance_secs: i64,
    /// The test key and the serial it signs under.
    signer: Option<(SigningKey, String)>,
    link: OrderLink,
}

/// A header's value, trimmed; `None` when absent or blank.
fn header<'r>(req: &'r WebhookRequest, name: &str) -> Option<&'r str> {
    req.headers
        .get(name)
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn missing(header: &str) -> Rejection {
    Rejection::unauthorized(
        "signature_missing",
        format!("{header} is missing; the signature covers it"),
    )
}

impl WeChatPay {
    /// Checks the RSA signature over timestamp, nonce and raw body, with the key its serial
    /// names, and the timestamp's window.
    fn check_signature(&self, req: &WebhookRequest) -> Result<(), Rejection> {
        let signature = header(req, SIGNATURE_HEADER).ok_or(SignatureError::Missing)?;
        let timestamp = header(req, TIMESTAMP_HEADER).ok_or_else(|| missing(TIMESTAMP_HEADER))?;
        let nonce = header(req, NONCE_HEADER).ok_or_else(|| missing(NONCE_HEADER))?;
        let serial = header(req, SERIAL_HEADER).ok_or_else(|| {
            Rejection::unauthorized(
                "unknown_serial",
                format!("{SERIAL_HEADER} is missing; it names the key that signed"),
            )
        })?;
        let signed_at: i64 = timestamp.parse().map_err(|_| {
            Rejection::unauthorized(
                "signature_malformed",
                format!("{TIMESTAMP_HEADER} is not a Unix time"),
            )
        })?;
        check_timestamp_window(signed_at, req.received_at, self.tolerance_secs)?;
        let key = self
            .platform_keys
            .get(&serial.to_ascii_uppercase())
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "unknown_serial",
                    format!("{SERIAL_HEADER} names no key in platform_public_keys"),
                )
            })?;
        let signature = crypto::base64_decode(signature)
            .filter(|bytes| !bytes.is_empty())
            .ok_or(SignatureError::Malformed)?;
        let message = crypto::signed_message(timestamp, nonce, &req.body);
        if key.verifies(&message, &signature) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch.into())
        }
    }

    /// Decrypts the body's `resource` with the first APIv3 key that authenticates it.
    fn decrypt(&self, req: &WebhookRequest) -> Result<Vec<u8>, Rejection> {
        let notification = payload::notification(&req.body).map_err(|_| {
            Rejection::bad_request(
                "notification_malformed",
                "the body is not a WeChat Pay notification with a `resource`",
            )
        })?;
        let resource = &notification.resource;
        if resource.algorithm != ALGORITHM {
            return Err(Rejection::bad_request(
                "unsupported_algorithm",
                format!("resource.algorithm is not {ALGORITHM}"),
            ));
        }
        let refused = |what: &str| Rejection::unauthorized("decryption_failed", what.to_owned());
        let ciphertext = crypto::base64_decode(&resource.ciphertext)
            .ok_or_else(|| refused("resource.ciphertext is not base64"))?;
        self.api_v3_keys
            .all()
            .iter()
            .find_map(|key| {
                crypto::open(
                    key.expose().as_bytes(),
                    &resource.nonce,
                    &resource.associated_data,
                    &ciphertext,
                )
            })
            .ok_or_else(|| refused("resource does not decrypt with any api_v3_key"))
    }

    /// The decrypted resource must name this merchant (and app, where it names one).
    fn check_merchant(&self, plaintext: &[u8]) -> Result<(), Rejection> {
        #[derive(Deserialize)]
        struct Names {
            mchid: Option<String>,
            appid: Option<String>,
        }
        let wrong = |what: &str| Rejection::unauthorized("wrong_merchant", what.to_owned());
        let names: Names = serde_json::from_slice(plaintext)
            .map_err(|_| wrong("the decrypted resource is not a JSON object naming mchid"))?;
        if names.mchid.as_deref() != Some(self.mch_id.as_str()) {
            return Err(wrong("resource.mchid is not the configured mch_id"));
        }
        if let (Some(expected), Some(appid)) = (&self.app_id, &names.appid)
            && appid != expected
        {
            return Err(wrong("resource.appid is not the configured app_id"));
        }
        Ok(())
    }

    /// Replaces a sample's `resource.plaintext` with its encryption under the newest APIv3 key;
    /// a body without one is left as it is.
    fn seal_sample(&self, body: &[u8]) -> Result<Option<Vec<u8>>, SignatureError> {
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Ok(None);
        };
        let Some(resource) = value
            .get_mut("resource")
            .and_then(serde_json::Value::as_object_mut)
        else {
            return Ok(None);
        };
        let Some(plaintext) = resource.remove("plaintext") else {
            return Ok(None);
        };
        let plaintext = match plaintext {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        let text = |resource: &serde_json::Map<String, serde_json::Value>, name: &str| {
            resource
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let nonce = text(resource, "nonce")
            .filter(|nonce| nonce.len() == 12)
            .unwrap_or_else(|| sha256_hex(plaintext.as_bytes())[..12].to_owned());
        let associated_data = text(resource, "associated_data")
            .or_else(|| text(resource, "original_type"))
            .unwrap_or_default();
        let key = self.api_v3_keys.newest().expose().as_bytes();
        let ciphertext = crypto::seal(key, &nonce, &associated_data, plaintext.as_bytes())
            .ok_or(SignatureError::NoSecret)?;
        resource
            .entry("algorithm")
            .or_insert_with(|| ALGORITHM.into());
        resource.insert("ciphertext".into(), ciphertext.into());
        resource.insert("nonce".into(), nonce.into());
        resource.insert("associated_data".into(), associated_data.into());
        Ok(Some(value.to_string().into_bytes()))
    }
}

#[async_trait::async_trait]
impl Connector for WeChatPay {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Message;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        settings.link.check()?;
        if let Some(short) = settings
            .api_v3_key
            .0
            .all()
            .iter()
            .position(|key| key.expose().len() != 32)
        {
            return Err(SettingsError::setting(
                "api_v3_key",
                format!("key {} must be 32 characters (the APIv3 key)", short + 1),
            ));
        }
        if settings.platform_public_keys.is_empty() {
            return Err(SettingsError::setting(
                "platform_public_keys",
                "lists no key: add the platform certificate or the WeChat Pay public key",
            ));
        }
        let mut platform_keys = BTreeMap::new();
        for (serial, pem) in &settings.platform_public_keys {
            let name = format!("platform_public_keys.{serial}");
            let key =
                PlatformKey::from_pem(serial, pem).map_err(|e| SettingsError::setting(&name, e))?;
            if platform_keys
                .insert(serial.to_ascii_uppercase(), key)
                .is_some()
            {
                return Err(SettingsError::setting(&name, "is listed twice"));
            }
        }
        let tolerance_secs = i64::try_from(settings.tolerance_secs)
            .map_err(|_| SettingsError::setting("tolerance_secs", "is too large"))?;
        let signer = match (settings.test_signing_key, settings.test_signing_serial) {
            (None, None) => None,
            (Some(pem), Some(serial)) => {
                let key = SigningKey::from_pem(pem.expose())
                    .map_err(|e| SettingsError::setting("test_signing_key", e))?;
                let public = platform_keys
                    .get(&serial.to_ascii_uppercase())
                    .ok_or_else(|| {
                        SettingsError::setting(
                            "test_signing_serial",
                            "names no key in platform_public_keys",
                        )
                    })?;
                let probe = b"o2o wechat-pay test key check";
                let matches = key
                    .sign(probe)
                    .and_then(|signature| crypto::base64_decode(&signature))
                    .is_some_and(|signature| public.verifies(probe, &signature));
                if !matches {
                    return Err(SettingsError::setting(
                        "test_signing_key",
                        "is not the private key of platform_public_keys.<test_signing_serial>",
                    ));
                }
                Some((key, serial))
            }
            (Some(_), None) => {
                return Err(SettingsError::setting(
                    "test_signing_serial",
                    "is needed with test_signing_key",
                ));
            }
            (None, Some(_)) => {
                return Err(SettingsError::setting(
                    "test_signing_key",
                    "is needed with test_signing_serial",
                ));
            }
        };
        Ok(Self {
            mch_id: settings.mch_id.as_str().to_owned(),
            app_id: settings.app_id.map(|id| id.as_str().to_owned()),
            api_v3_keys: settings.api_v3_key.0,
            platform_keys,
            tolerance_secs,
            signer,
            link: settings.link,
        })
    }

    /// The signature covers the timestamp, the nonce and every byte of the body (which names
    /// the notification id and event type, and carries the encrypted resource); the serial only
    /// picks the key. Then the resource is decrypted (an AEAD, so it is authenticated again by
    /// the APIv3 key) and must name this merchant. The plaintext is the payload.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        self.check_signature(req)?;
        let plaintext = self.decrypt(req)?;
        self.check_merchant(&plaintext)?;
        Ok(Verified::with_payload(req, Cow::Owned(plaintext)))
    }

    /// A delivery stored without its plaintext is decrypted again with the current APIv3 keys.
    fn reopen<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        let plaintext = self.decrypt(req)?;
        Ok(Verified::with_payload(req, Cow::Owned(plaintext)))
    }

    /// The key is the notification `id` (signed with the whole body; the same on every retry),
    /// the topic its `event_type`, the tenant the URL's else the merchant id.
    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<Message>, NormaliseError> {
        let notification =
            payload::notification(&verified.request.body).map_err(|e| e.within("body"))?;
        let resource = payload::resource(&verified.payload)?;
        if notification.id.trim().is_empty() {
            return Err(NormaliseError::field("id", "missing"));
        }
        if notification.event_type.trim().is_empty() {
            return Err(NormaliseError::field("event_type", "missing"));
        }
        let tenant = verified
            .request
            .path_tenant
            .clone()
            .unwrap_or_else(|| self.mch_id.clone());
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id: notification.id.clone(),
                topic: notification.event_type.clone(),
            },
            message: Message {
                notification,
                resource,
            },
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        message: Message,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&message, &self.link)
    }

    /// HTTP 200 with no body: WeChat Pay takes 200 or 204 as received, whatever the body.
    /// A refusal in the format WeChat Pay documents for a notification not received
    /// (`{"code":"FAIL","message":…}` with the 4xx/5xx status; "接收失败：HTTP应答状态码需返回5XX或4XX，
    /// 同时需返回应答报文", pay.weixin.qq.com notification guide); WeChat Pay retries it.
    fn failure_reply(&self, reply: Reply) -> Reply {
        let message = serde_json::from_str::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|body| body["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "failed".to_owned());
        let body = serde_json::json!({ "code": "FAIL", "message": message });
        Reply {
            body: body.to_string(),
            content_type: "application/json".to_owned(),
            ..reply
        }
    }

    fn ack(&self) -> Reply {
        Reply::empty_ok()
    }

    /// Signs as WeChat Pay would, at `req.received_at`: a sample's `resource.plaintext` is
    /// encrypted with the newest APIv3 key (its `nonce` and `associated_data` kept when given),
    /// then the four headers are set, signed with `test_signing_key`. A body without
    /// `resource.plaintext` is signed as it is. Without a test key: `NoSecret`.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let (key, serial) = self.signer.as_ref().ok_or(SignatureError::NoSecret)?;
        if let Some(body) = self.seal_sample(&req.body)? {
            req.body = body;
        }
        let timestamp = req.received_at.unix_seconds().to_string();
        let mut seed = req.body.clone();
        seed.extend_from_slice(timestamp.as_bytes());
        let nonce = sha256_hex(&seed)[..32].to_ascii_uppercase();
        let signature = key
            .sign(&crypto::signed_message(&timestamp, &nonce, &req.body))
            .ok_or(SignatureError::NoSecret)?;
        req.headers.set(TIMESTAMP_HEADER, timestamp);
        req.headers.set(NONCE_HEADER, nonce);
        req.headers.set(SERIAL_HEADER, serial.clone());
        req.headers.set(SIGNATURE_HEADER, signature);
        req.headers.set(SIGNATURE_TYPE_HEADER, SIGNATURE_TYPE);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
