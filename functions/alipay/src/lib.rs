//! Alipay connector (支付宝开放平台): the asynchronous notifications (异步通知) Alipay posts to a
//! trade's `notify_url`: payment success, close, and refunds, verified by their RSA2 `sign`.
//!
//! A notification is a form (`application/x-www-form-urlencoded`, in the charset its `charset`
//! parameter names). `sign` is the base64 SHA256withRSA (PKCS#1 v1.5) signature, by Alipay's
//! key, of the decoded parameters sorted by name as `name=value&…`, without `sign` and
//! `sign_type` and without blank values (alipay-sdk-java-all
//! `src/main/java/com/alipay/api/internal/util/AlipaySignature.java` @078e14a8,
//! `getSignCheckContentV1`); some notifications (life account, service market) also sign
//! `sign_type` (`getSignCheckContentV2`). Like alipay-sdk-nodejs-all `checkNotifySign`
//! (`src/alipay.ts` @e1676390), both are tried. The answer is the plain text `success`.
//! Sources, mapping and open points: docs/platforms/alipay.md.

mod form;
mod keys;
mod normalise;

#[cfg(test)]
mod tests;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Identifier, Secret, SettingsError};
use o2o_core::signature::SignatureError;
use o2o_core::{Rejection, Reply, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::form::{Form, SIGN, SIGN_TYPE};
pub use crate::keys::SignType;
pub use crate::normalise::Notification;

/// The channel id.
const CHANNEL: &str = "alipay";

/// The acknowledgement Alipay expects, byte for byte; anything else makes it resend.
pub const ACK: &str = "success";

static INFO: ChannelInfo = ChannelInfo {
    id: CHANNEL,
    name: "Alipay",
    kind: ChannelKind::Payment,
    default_sample: "trade-success.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// One value or a list of them (a key setting during a rotation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several, newest first.
    Many(Vec<String>),
}

impl OneOrMany {
    fn values(&self) -> &[String] {
        match self {
            Self::One(value) => std::slice::from_ref(value),
            Self::Many(values) => values,
        }
    }
}

fn default_sign_types() -> Vec<String> {
    vec!["RSA2".to_owned()]
}

/// An Alipay channel table (`[channels.alipay]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The app's APPID (开放平台 → 应用详情); a notification for another app is refused
    /// (401 `wrong_app`).
    pub app_id: Identifier,
    /// The merchant's Alipay user id (PID, `2088…`), optional: when set, a notification naming
    /// another `seller_id` is refused (401 `wrong_seller`).
    #[serde(default)]
    pub seller_id: Option<Identifier>,
    /// Alipay's public key (支付宝公钥, public-key mode: 开放平台 → 开发设置 → 接口加签方式),
    /// PEM or the bare base64 the console shows; a list during a key change (any listed key
    /// verifies). Set this, `alipay_public_cert`, or both.
    #[serde(default)]
    pub alipay_public_key: Option<OneOrMany>,
    /// Alipay's public-key certificate (certificate mode: `alipayCertPublicKey_RSA2.crt`, PEM),
    /// whose key verifies; a list during a certificate change.
    #[serde(default)]
    pub alipay_public_cert: Option<OneOrMany>,
    /// The accepted `sign_type`s: `RSA2` (SHA256withRSA), and `RSA` (legacy SHA1withRSA, only
    /// for apps still on it). Default `["RSA2"]`.
    #[serde(default = "default_sign_types")]
    pub sign_types: Vec<String>,
    /// Maps `TRADE_FINISHED` to `payment.succeeded`: set it for contracts without refunds,
    /// where Alipay sends `TRADE_FINISHED` instead of `TRADE_SUCCESS` on payment. Default
    /// false: `TRADE_FINISHED` only ends the refund period of a payment already reported by its
    /// `TRADE_SUCCESS`, and is ignored.
    #[serde(default)]
    pub trade_finished_succeeds: bool,
    /// FOR `o2o send` AND TESTS ONLY: a PKCS#8 PEM RSA private key standing in for Alipay's, to
    /// sign sample notifications (its public key goes in `alipay_public_key`). Never Alipay's
    /// real key, which nobody but Alipay has. Unset: samples cannot be signed.
    #[serde(default)]
    pub test_signing_key: Option<Secret>,
    /// Which orders these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The Alipay connector for one app.
#[derive(Debug)]
pub struct Alipay {
    app_id: Identifier,
    seller_id: Option<Identifier>,
    keys: Vec<keys::VerifyKey>,
    sign_types: Vec<SignType>,
    options: normalise::Options,
    signing_key: Option<SigningKey>,
    link: OrderLink,
}

/// The test signing key (redacted in `Debug`).
struct SigningKey(RsaKeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The DER public keys of a key setting, or the setting's error.
fn setting_keys(
    name: &str,
    setting: Option<&OneOrMany>,
    read: fn(&str) -> Result<Vec<u8>, &'static str>,
) -> Result<Vec<(String, Vec<u8>)>, SettingsError> {
    let values = setting.map(OneOrMany::values).unwrap_or_default();
    if setting.is_some() && values.is_empty() {
        return Err(SettingsError::setting(name, "lists no key"));
    }
    values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let label = match values.len() {
                1 => name.to_owned(),
                _ => format!("{name}[{index}]"),
            };
            read(value)
                .map(|der| (label.clone(), der))
                .map_err(|problem| SettingsError::setting(&label, problem))
        })
        .collect()
}

#[async_trait::async_trait]
impl Connector for Alipay {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Notification;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        settings.link.check()?;
        if settings.app_id.as_str().trim().is_empty() {
            return Err(SettingsError::setting("app_id", "must not be empty"));
        }
        let mut sign_types = Vec::new();
        for name in &settings.sign_types {
            let sign_type = SignType::from_name(name).ok_or_else(|| {
                SettingsError::setting("sign_types", "takes only \"RSA2\" and \"RSA\"")
            })?;
            sign_types.push(sign_type);
        }
        if sign_types.is_empty() {
            return Err(SettingsError::setting("sign_types", "lists no sign type"));
        }
        let mut ders = setting_keys(
            "alipay_public_key",
            settings.alipay_public_key.as_ref(),
            keys::public_key_der,
        )?;
        ders.extend(setting_keys(
            "alipay_public_cert",
            settings.alipay_public_cert.as_ref(),
            keys::certificate_spki,
        )?);
        if ders.is_empty() {
            return Err(SettingsError::setting(
                "alipay_public_key",
                "set it (or alipay_public_cert) to Alipay's public key",
            ));
        }
        let keys = ders
            .iter()
            .map(|(label, der)| {
                keys::VerifyKey::new(der, &sign_types).ok_or_else(|| {
                    SettingsError::setting(
                        label,
                        "is not an RSA public key for the sign_types (RSA2 needs 2048 bits or more)",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signing_key = settings
            .test_signing_key
            .as_ref()
            .map(|key| keys::signing_key(key.expose()).map(SigningKey))
            .transpose()
            .map_err(|problem| SettingsError::setting("test_signing_key", problem))?;
        Ok(Self {
            app_id: settings.app_id,
            seller_id: settings.seller_id,
            keys,
            sign_types,
            options: normalise::Options {
                trade_finished_succeeds: settings.trade_finished_succeeds,
            },
            signing_key,
            link: settings.link,
        })
    }

    /// Checks `sign` over the decoded form (v1, then v2) with every configured key of the
    /// notification's `sign_type` (which v1 does not sign, so only the types `sign_types`
    /// allows are tried), then that the notification is for this app (and seller, when set).
    /// The form must name each parameter once (400 `duplicate_parameter`): a second value
    /// could otherwise mean something the signature does not cover.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        let form = Form::parse(&req.body)?;
        let provided = form
            .text(SIGN)
            .filter(|sign| !sign.is_empty())
            .ok_or(SignatureError::Missing)?;
        let signature = BASE64
            .decode(provided)
            .ok()
            .filter(|signature| !signature.is_empty())
            .ok_or(SignatureError::Malformed)?;
        let sign_type = form.text(SIGN_TYPE).unwrap_or("RSA2");
        let sign_type = SignType::from_name(sign_type)
            .filter(|sign_type| self.sign_types.contains(sign_type))
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "sign_type_not_allowed",
                    "the notification's sign_type is not one of the channel's sign_types",
                )
            })?;
        let v1 = form.signed_content(true);
        let v2 = form.signed_content(false);
        let verified = [v1, v2].iter().any(|content| {
            self.keys
                .iter()
                .any(|key| key.verifies(sign_type, content, &signature))
        });
        if !verified {
            return Err(SignatureError::Mismatch.into());
        }
        if form.text("app_id") != Some(self.app_id.as_str()) {
            return Err(Rejection::unauthorized(
                "wrong_app",
                "the notification is for another Alipay app (app_id)",
            ));
        }
        if let (Some(expected), Some(seller)) = (&self.seller_id, form.text("seller_id"))
            && seller != expected.as_str()
        {
            return Err(Rejection::unauthorized(
                "wrong_seller",
                "the notification is for another Alipay merchant (seller_id)",
            ));
        }
        Ok(Verified::body(req))
    }

    /// The key is `notify_id`, which the signature covers and Alipay keeps in its resends; the
    /// topic is `{notify_type}.{trade_status}`; the tenant is the URL's, else `app_id`.
    fn parse(&self, verified: &Verified<'_, ()>) -> Result<Parsed<Notification>, NormaliseError> {
        let form = Form::parse(&verified.payload)
            .map_err(|_| NormaliseError::field("body", "is not a form with each parameter once"))?;
        let notification = Notification::read(&form)?;
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(notification.app_id.as_deref())
            .unwrap_or("_");
        Ok(Parsed {
            id: DeliveryId {
                tenant: tenant.to_owned(),
                external_event_id: notification.notify_id.clone(),
                topic: notification.topic(),
            },
            message: notification,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        notification: Notification,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&notification, self.options, &self.link, ctx)
    }

    /// `success`, as plain text.
    fn ack(&self) -> Reply {
        Reply::text(200, ACK)
    }

    /// Signs a sample as Alipay signs a payment notification (v1, RSA2) with `test_signing_key`:
    /// `sign_type=RSA2` and `sign` replace any in the body.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let key = self.signing_key.as_ref().ok_or(SignatureError::NoSecret)?;
        let body =
            form::replace_params(&req.body, &[SIGN, SIGN_TYPE], &[(SIGN_TYPE, "RSA2".into())]);
        let form = Form::parse(&body).map_err(|_| SignatureError::Malformed)?;
        let mut signature = vec![0; key.0.public_modulus_len()];
        key.0
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                &form.signed_content(true),
                &mut signature,
            )
            .map_err(|_| SignatureError::Malformed)?;
        req.body = form::replace_params(
            &body,
            &[],
            &[(SIGN, form::encode(BASE64.encode(signature).as_bytes()))],
        );
        Ok(())
    }
}
