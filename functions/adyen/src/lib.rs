//! Adyen connector: standard webhooks (`{"live": …, "notificationItems": [{
//! "NotificationRequestItem": {…}}]}`), one event per item, each item verified by its own
//! `additionalData.hmacSignature`, and optionally the webhook's Basic auth.
//!
//! The signature is the base64 HMAC-SHA256, keyed with the hex-decoded HMAC key, of
//! `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:
//! eventCode:success`, absent fields empty and nothing escaped (Adyen/adyen-java-api-library
//! `src/main/java/com/adyen/util/HMACValidator.java`, Adyen/adyen-python-api-library
//! `Adyen/util.py`). It covers those eight fields only, not the body. Details and what remains
//! unconfirmed: `docs/platforms/adyen.md`.

mod normalise;
mod payload;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Identifier, Secret, Secrets, SettingsError};
use o2o_core::signature::{SignatureError, hmac_sha256};
use o2o_core::{Rejection, Reply, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use normalise::{CaptureEvent, PROVIDER, adyen_exponent, money};
pub use payload::{Amount, Flag, HMAC_SIGNATURE_KEY, Item};

/// The header of the webhook's optional Basic auth.
pub const AUTHORIZATION_HEADER: &str = "Authorization";
/// What Adyen expects back: `[accepted]` with a 200 (docs.adyen.com `development-resources/
/// webhooks` "Accept webhooks"; the Notification API's `NotificationResponse`).
pub const ACK_BODY: &str = "[accepted]";

static INFO: ChannelInfo = ChannelInfo {
    id: "adyen",
    name: "Adyen",
    kind: ChannelKind::Payment,
    default_sample: "authorisation-success.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// An Adyen channel table (`[channels.adyen]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The webhook's HMAC keys (Customer Area → Developers → Webhooks → the standard webhook →
    /// Security → HMAC key), 64 hex digits each, newest first. When you generate a new key,
    /// keep the old one listed until Adyen signs with the new one: any listed key verifies.
    pub secrets: Secrets,
    /// The merchant account these webhooks are for (`merchantAccountCode`), optional: an item
    /// of another account is refused with 401 `wrong_merchant_account`.
    #[serde(default)]
    pub merchant_account: Option<Identifier>,
    /// The webhook's Basic auth user name (Customer Area → the webhook → Authentication),
    /// optional; set it with `basic_auth_password`, and every delivery must carry it.
    #[serde(default)]
    pub basic_auth_username: Option<Identifier>,
    /// The webhook's Basic auth password, with `basic_auth_username`.
    #[serde(default)]
    pub basic_auth_password: Option<Secret>,
    /// Which event means "paid": `AUTHORISATION` (the default, for automatic capture) or
    /// `CAPTURE` (manual or delayed capture). The other one is ignored.
    #[serde(default)]
    pub capture_event: CaptureEvent,
    /// The orders channel these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// One hex-decoded HMAC key; never shown.
struct HmacKey(Vec<u8>);

/// The Basic auth a delivery must carry: the header to send, the digest of `user:password`.
struct BasicAuth {
    header: Secret,
    digest: [u8; 32],
}

/// The Adyen connector for one webhook (one merchant account, or one company account).
pub struct Adyen {
    /// Newest first.
    keys: Vec<HmacKey>,
    basic_auth: Option<BasicAuth>,
    merchant_account: Option<Identifier>,
    mapping: normalise::Mapping,
}

impl std::fmt::Debug for Adyen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adyen")
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .field("basic_auth", &self.basic_auth.is_some())
            .field("merchant_account", &self.merchant_account)
            .field("mapping", &self.mapping)
            .finish()
    }
}

/// Decodes one HMAC key: hex digits, an even number of them (Adyen's have 64).
fn hmac_key(index: usize, secret: &Secret) -> Result<HmacKey, SettingsError> {
    let text = secret.expose().trim();
    let problem = if !text.len().is_multiple_of(2) {
        Some("has an odd number of hex digits (Adyen's HMAC keys have 64)")
    } else if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some("is not hex (Adyen's HMAC keys are 64 hex digits)")
    } else {
        None
    };
    match (problem, hex::decode(text)) {
        (None, Ok(key)) if !key.is_empty() => Ok(HmacKey(key)),
        (problem, _) => Err(SettingsError::setting(
            &format!("secrets[{index}]"),
            problem.unwrap_or("is not an HMAC key"),
        )),
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Adyen {
    /// Checks the Basic auth, when one is configured: the credentials are compared by their
    /// SHA-256, in constant time.
    fn check_basic_auth(&self, req: &WebhookRequest) -> Result<(), Rejection> {
        let Some(expected) = &self.basic_auth else {
            return Ok(());
        };
        let provided = req
            .headers
            .get(AUTHORIZATION_HEADER)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "basic_auth_missing",
                    "Authorization is missing; this webhook requires its Basic auth",
                )
            })?;
        let credentials = provided
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, encoded)| BASE64.decode(encoded.trim()).ok())
            .unwrap_or_default();
        if bool::from(sha256(&credentials).ct_eq(&expected.digest)) {
            Ok(())
        } else {
            Err(Rejection::unauthorized(
                "basic_auth_mismatch",
                "the Basic auth credentials are not the webhook's",
            ))
        }
    }

    /// Checks one item's `additionalData.hmacSignature` against every key, in constant time
    /// (every key is tried, so the time taken does not tell which one matched).
    fn check_item(&self, item: &Item) -> Result<(), SignatureError> {
        let provided = item
            .hmac_signature()
            .map(str::trim)
            .filter(|signature| !signature.is_empty())
            .ok_or(SignatureError::Missing)?;
        let expected = BASE64
            .decode(provided)
            .map_err(|_| SignatureError::Malformed)?;
        if expected.len() != 32 {
            return Err(SignatureError::Malformed);
        }
        let text = item.signed_text();
        let mut matched = subtle::Choice::from(0);
        for key in &self.keys {
            matched |= hmac_sha256(&key.0, &[text.as_bytes()]).ct_eq(expected.as_slice());
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The base64 signature of `item` with the newest key, as Adyen computes it.
    pub fn signature(&self, item: &Item) -> Option<String> {
        let newest = self.keys.first()?;
        Some(BASE64.encode(hmac_sha256(&newest.0, &[item.signed_text().as_bytes()])))
    }
}

/// Why a body is refused before any item is checked.
fn not_a_notification() -> Rejection {
    Rejection::unauthorized(
        "signature_missing",
        "the body is not an Adyen notification with items; their signatures are inside them",
    )
}

#[async_trait::async_trait]
impl Connector for Adyen {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Item;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        settings.link.check()?;
        let keys = settings
            .secrets
            .all()
            .iter()
            .enumerate()
            .map(|(index, secret)| hmac_key(index, secret))
            .collect::<Result<Vec<_>, _>>()?;
        let basic_auth = match (settings.basic_auth_username, settings.basic_auth_password) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(SettingsError::setting(
                    "basic_auth_password",
                    "missing: set both Basic auth settings or neither",
                ));
            }
            (None, Some(_)) => {
                return Err(SettingsError::setting(
                    "basic_auth_username",
                    "missing: set both Basic auth settings or neither",
                ));
            }
            (Some(user), Some(password)) => {
                if user.as_str().contains(':') {
                    return Err(SettingsError::setting(
                        "basic_auth_username",
                        "must not contain ':' (RFC 7617)",
                    ));
                }
                let credentials = format!("{}:{}", user.as_str(), password.expose());
                Some(BasicAuth {
                    header: Secret::new(format!("Basic {}", BASE64.encode(&credentials))),
                    digest: sha256(credentials.as_bytes()),
                })
            }
        };
        Ok(Self {
            keys,
            basic_auth,
            merchant_account: settings.merchant_account,
            mapping: normalise::Mapping {
                capture_event: settings.capture_event,
                link: settings.link,
            },
        })
    }

    /// The Basic auth (when configured), then every item's HMAC: a delivery is accepted only
    /// when all its items verify (Adyen acknowledges a delivery as a whole, so it sends the
    /// whole batch again). Each item's signature covers its event code, outcome, references,
    /// merchant account and amount: everything that decides what it means. The other fields
    /// (`eventDate`, `reason`, `paymentMethod`, `additionalData`) are not signed; see
    /// `docs/platforms/adyen.md`. With `merchant_account` configured, every item must be of it
    /// (401 `wrong_merchant_account`, after the signatures).
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        self.check_basic_auth(req)?;
        let envelope = payload::envelope(&req.body).ok_or_else(not_a_notification)?;
        if envelope.items.is_empty() {
            return Err(not_a_notification());
        }
        let mut items = Vec::with_capacity(envelope.items.len());
        for wrapper in &envelope.items {
            let item = payload::item(wrapper.item.get()).map_err(|_| {
                Rejection::unauthorized(
                    "signature_malformed",
                    "a notification item is not readable, so its signature cannot be checked",
                )
            })?;
            self.check_item(&item)?;
            items.push(item);
        }
        if let Some(expected) = &self.merchant_account
            && items
                .iter()
                .any(|item| item.merchant_account_code.as_deref() != Some(expected.as_str()))
        {
            return Err(Rejection::unauthorized(
                "wrong_merchant_account",
                "an item's merchantAccountCode is not the configured merchant_account",
            ));
        }
        Ok(Verified::body(req))
    }

    /// Each `NotificationRequestItem` is a record of its own, its raw JSON the record's bytes.
    fn split_records(&self, verified: &Verified<'_, ()>) -> Option<Vec<Vec<u8>>> {
        let envelope = payload::envelope(&verified.payload)?;
        Some(
            envelope
                .items
                .iter()
                .map(|wrapper| wrapper.item.get().as_bytes().to_vec())
                .collect(),
        )
    }

    /// One item (or an envelope of one). The event id is `pspReference:eventCode:success`, all
    /// three signed, so a replayed item carries its old id and is a duplicate; the topic is
    /// `eventCode`; the tenant is the URL's, else `merchantAccountCode`.
    fn parse(&self, verified: &Verified<'_, ()>) -> Result<Parsed<Item>, NormaliseError> {
        let item = payload::read(&verified.payload)?;
        let psp_reference = item
            .psp_reference
            .as_deref()
            .map(str::trim)
            .filter(|reference| !reference.is_empty())
            .ok_or_else(|| NormaliseError::field("pspReference", "missing"))?;
        let event_code = item
            .event_code
            .as_deref()
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .ok_or_else(|| NormaliseError::field("eventCode", "missing"))?;
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(item.merchant_account_code.as_deref())
            .filter(|tenant| !tenant.is_empty())
            .unwrap_or("_")
            .to_owned();
        let id = DeliveryId {
            tenant,
            external_event_id: format!("{psp_reference}:{event_code}:{}", item.success_text()),
            topic: event_code.to_owned(),
        };
        Ok(Parsed {
            id,
            message: item,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        item: Item,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&item, &self.mapping, ctx)
    }

    /// `[accepted]`, 200, text/plain.
    fn ack(&self) -> Reply {
        Reply::text(200, ACK_BODY)
    }

    /// Signs as Adyen does: every item's `additionalData.hmacSignature` with the newest key,
    /// and the Basic auth header when one is configured. The body is written again as compact
    /// JSON.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let mut body: Value =
            serde_json::from_slice(&req.body).map_err(|_| SignatureError::Malformed)?;
        let wrappers = body
            .get_mut("notificationItems")
            .and_then(Value::as_array_mut)
            .ok_or(SignatureError::Malformed)?;
        for wrapper in wrappers {
            let item = wrapper
                .get_mut("NotificationRequestItem")
                .and_then(Value::as_object_mut)
                .ok_or(SignatureError::Malformed)?;
            let text = Value::Object(item.clone()).to_string();
            let parsed = payload::item(&text).map_err(|_| SignatureError::Malformed)?;
            let signature = self.signature(&parsed).ok_or(SignatureError::NoSecret)?;
            let data = item
                .entry("additionalData")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if !data.is_object() {
                *data = Value::Object(serde_json::Map::new());
            }
            if let Some(data) = data.as_object_mut() {
                data.insert(HMAC_SIGNATURE_KEY.to_owned(), Value::String(signature));
            }
        }
        req.body = serde_json::to_vec(&body).map_err(|_| SignatureError::Malformed)?;
        if let Some(auth) = &self.basic_auth {
            req.headers
                .set(AUTHORIZATION_HEADER, auth.header.expose().to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
