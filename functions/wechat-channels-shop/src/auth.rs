//! Authentication of pushes: the GET URL verification, and the safe-mode POST check
//! (`msg_signature`, replay window, AES decryption, appid).
//!
//! The Channels shop only allows safe mode and JSON ("视频号小店只允许安全模式 … 只允许为JSON",
//! <https://developers.weixin.qq.com/doc/channels/dev_before/base/message_push.md>): a body
//! without `Encrypt`, or a request without `msg_signature`, is refused.

use o2o_core::settings::{Secret, SettingsError};
use o2o_core::signature::{SignatureError, check_timestamp_window, hex_digest_matches};
use o2o_core::{Rejection, Reply, WebhookRequest};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::crypto::{self, AesKey};

/// Largest accepted distance between the signed `timestamp` and our clock, in seconds.
///
/// WeChat documents no maximum age [?] (docs/platforms/wechat-channels-shop.md); five minutes plus the idempotency store
/// is the safest choice that still tolerates clock skew ([I]).
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

/// One (Token, EncodingAESKey) pair the platform may be using.
#[derive(Debug)]
struct Pair {
    token: Secret,
    key: AesKey,
}

/// The safe-mode body: only `Encrypt` is read (`ToUserName` may be present and is ignored,
/// docs/platforms/wechat-channels-shop.md [C-2]: `{"ToUserName":"gh_…","Encrypt":"…"}`).
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Encrypt")]
    encrypt: Option<String>,
}

/// The push keys of one shop, decoded once: the current (Token, EncodingAESKey) pair, the pair
/// being replaced during a cut-over, and the AppID every decrypted message must end with.
#[derive(Debug)]
pub struct Keys {
    pairs: Vec<Pair>,
    app_id: String,
}

impl Keys {
    /// Decodes the keys. The previous pair exists when either previous setting is set; its
    /// missing half falls back to the current value (a Token-only or key-only rotation).
    pub fn new(
        token: Secret,
        encoding_aes_key: &Secret,
        app_id: String,
        previous_token: Option<Secret>,
        previous_encoding_aes_key: Option<&Secret>,
    ) -> Result<Self, SettingsError> {
        let decode = |name: &str, key: &Secret| {
            AesKey::from_encoding_aes_key(key.expose())
                .map_err(|_| SettingsError::setting(name, "is not 43 base64 characters"))
        };
        let key = decode("encoding_aes_key", encoding_aes_key)?;
        let mut pairs = Vec::with_capacity(2);
        if previous_token.is_some() || previous_encoding_aes_key.is_some() {
            let previous_key = match previous_encoding_aes_key {
                Some(text) => decode("previous_encoding_aes_key", text)?,
                None => key.clone(),
            };
            pairs.push(Pair {
                token: previous_token.unwrap_or_else(|| token.clone()),
                key: previous_key,
            });
        }
        pairs.insert(0, Pair { token, key });
        let app_id = app_id.trim().to_owned();
        if app_id.is_empty() {
            return Err(SettingsError::setting("app_id", "is empty"));
        }
        Ok(Self { pairs, app_id })
    }

    /// Answers the GET URL verification: `signature` = SHA-1 of sorted `[token, timestamp,
    /// nonce]`, reply `echostr` verbatim. No time window: the platform sends it once, when the
    /// merchant submits the URL, and the reply only reflects what the caller sent.
    pub fn verify_url(&self, req: &WebhookRequest) -> Result<Reply, Rejection> {
        let echostr = param(req, "echostr").unwrap_or_default();
        let signature = param(req, "signature").ok_or(SignatureError::Missing)?;
        let timestamp = param(req, "timestamp").ok_or(SignatureError::Missing)?;
        let nonce = param(req, "nonce").ok_or(SignatureError::Missing)?;
        let mut matched = false;
        for pair in &self.pairs {
            let expected = crypto::sorted_sha1_hex(&[pair.token.expose(), &timestamp, &nonce]);
            matched |= hex_digest_matches(&expected, &signature);
        }
        if matched {
            Ok(Reply::text(200, &echostr))
        } else {
            Err(SignatureError::Mismatch.into())
        }
    }

    /// Checks a safe-mode POST and returns the decrypted message (the JSON the platform
    /// pushed).
    ///
    /// Order: envelope present → signature (every pair, constant-time) → replay window
    /// (against the time of receipt) → decryption with a pair whose Token signed it →
    /// trailing appid.
    pub fn open(&self, req: &WebhookRequest) -> Result<Vec<u8>, Rejection> {
        let envelope: Envelope = serde_json::from_slice(&req.body).map_err(|_| {
            Rejection::bad_request("body_not_json", "safe-mode pushes are a JSON envelope")
        })?;
        let encrypted = envelope.encrypt.filter(|e| !e.is_empty()).ok_or_else(|| {
            Rejection::bad_request(
                "plaintext_not_allowed",
                "the Channels shop pushes only in safe mode: the body has no Encrypt",
            )
        })?;
        if param(req, "encrypt_type").is_some_and(|k| k != "aes") {
            return Err(Rejection::bad_request(
                "unsupported_encrypt_type",
                "encrypt_type must be aes",
            ));
        }
        let msg_signature = param(req, "msg_signature").ok_or(SignatureError::Missing)?;
        let timestamp = param(req, "timestamp").ok_or(SignatureError::Missing)?;
        let nonce = param(req, "nonce").ok_or(SignatureError::Missing)?;

        // Every pair is checked, so the time taken does not tell which one matched.
        let signed: Vec<bool> = self
            .pairs
            .iter()
            .map(|p| {
                let expected =
                    crypto::sorted_sha1_hex(&[p.token.expose(), &timestamp, &nonce, &encrypted]);
                hex_digest_matches(&expected, &msg_signature)
            })
            .collect();
        if !signed.iter().any(|s| *s) {
            return Err(SignatureError::Mismatch.into());
        }
        let signed_at: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
        check_timestamp_window(signed_at, req.received_at, REPLAY_WINDOW_SECONDS)?;

        let mut wrong_app = false;
        for (pair, _) in self.pairs.iter().zip(&signed).filter(|(_, s)| **s) {
            match crypto::decrypt(&pair.key, &encrypted) {
                Ok(plain) if plain.receiver_id == self.app_id.as_bytes() => {
                    return Ok(plain.message);
                }
                Ok(_) => wrong_app = true,
                Err(_) => {}
            }
        }
        if wrong_app {
            Err(Rejection::unauthorized(
                "wrong_app",
                "the message was encrypted for another app id",
            ))
        } else {
            Err(Rejection::unauthorized(
                "decryption_failed",
                "the message does not decrypt with the configured EncodingAESKey",
            ))
        }
    }

    /// Signs `req` as the platform would: a GET with `echostr` gets `signature`, `timestamp`,
    /// `nonce`; a POST has its plaintext JSON body sealed into `{"ToUserName","Encrypt"}` and
    /// gets `signature`, `timestamp`, `nonce`, `encrypt_type=aes`, `msg_signature`. The random
    /// prefix and the nonce come from a SHA-256 of the body, so a sample always signs to the
    /// same bytes.
    pub fn seal(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let current = &self.pairs[0];
        let token = current.token.expose();
        let timestamp = req.received_at.unix_seconds().to_string();
        let seed = Sha256::digest(if req.method == "GET" {
            req.query.as_bytes()
        } else {
            &req.body
        });
        let nonce = u32::from_be_bytes([seed[0], seed[1], seed[2], seed[3]]).to_string();
        let signature = crypto::sorted_sha1_hex(&[token, &timestamp, &nonce]);
        let mut params = vec![
            ("signature", signature),
            ("timestamp", timestamp.clone()),
            ("nonce", nonce.clone()),
        ];
        if req.method != "GET" {
            let plain: serde_json::Value =
                serde_json::from_slice(&req.body).map_err(|_| SignatureError::Malformed)?;
            let to_user = plain
                .get("ToUserName")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut random = [0u8; 16];
            random.copy_from_slice(&hex::encode(&seed[4..12]).as_bytes()[..16]);
            let encrypted = crypto::encrypt(&current.key, &random, &req.body, &self.app_id);
            let msg_signature = crypto::sorted_sha1_hex(&[token, &timestamp, &nonce, &encrypted]);
            req.body = serde_json::json!({ "ToUserName": to_user, "Encrypt": encrypted })
                .to_string()
                .into_bytes();
            params.push(("encrypt_type", "aes".to_owned()));
            params.push(("msg_signature", msg_signature));
        }
        for (name, value) in params {
            if !req.query.is_empty() {
                req.query.push('&');
            }
            // Hex, digits and `aes`: nothing to percent-encode.
            req.query.push_str(&format!("{name}={value}"));
        }
        Ok(())
    }
}

fn param(req: &WebhookRequest, name: &str) -> Option<String> {
    req.query_param(name).filter(|v| !v.is_empty())
}
