//! Authentication of pushes: the GET URL verification, and the safe-mode POST check
//! (`msg_signature`, replay window, AES decryption, appid).
//!
//! The Channels shop only allows safe mode and JSON ("视频号小店只允许安全模式 … 只允许为JSON",
//! <https://developers.weixin.qq.com/doc/channels/dev_before/base/message_push.md>): a body
//! without `Encrypt`, or a request without `msg_signature`, is refused.

use o2o_core::signature::{SignatureError, check_timestamp_window, hex_digest_matches};
use o2o_core::{Credentials, Rejection, Reply, WebhookRequest};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::crypto::{self, AesKey};

/// Setting: the Token from the message-push page.
pub const TOKEN: &str = "token";
/// Setting: the EncodingAESKey from the message-push page.
pub const ENCODING_AES_KEY: &str = "encoding_aes_key";
/// Setting: the shop's AppID (the decrypted message must end with it).
pub const APP_ID: &str = "app_id";
/// Setting: the Token being replaced during a manual cut-over.
pub const PREVIOUS_TOKEN: &str = "previous_token";
/// Setting: the EncodingAESKey being replaced during a manual cut-over.
pub const PREVIOUS_ENCODING_AES_KEY: &str = "previous_encoding_aes_key";

/// Largest accepted distance between the signed `timestamp` and our clock, in seconds.
///
/// WeChat documents no maximum age (handbook §4.2 [?]); five minutes plus the idempotency store
/// is the safest choice that still tolerates clock skew ([I]).
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

/// One (Token, EncodingAESKey) pair the platform may be using.
struct Pair<'c> {
    token: &'c str,
    key: AesKey,
}

/// The safe-mode body: only `Encrypt` is read (`ToUserName` may be present and is ignored,
/// handbook §4.2 [C-2]: `{"ToUserName":"gh_…","Encrypt":"…"}`).
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Encrypt")]
    encrypt: Option<String>,
}

fn setting<'c>(credentials: &'c Credentials, name: &str) -> Option<&'c str> {
    credentials
        .value(name)
        .map(|s| s.expose().trim())
        .filter(|v| !v.is_empty())
}

fn misconfigured(what: &str) -> Rejection {
    Rejection::new(500, "channel_misconfigured", what.to_owned())
}

/// The configured pairs, current first. The previous pair exists when either `previous_*`
/// setting is set; its missing half falls back to the current value (a Token-only or key-only
/// rotation).
fn pairs(credentials: &Credentials) -> Result<Vec<Pair<'_>>, Rejection> {
    let token = setting(credentials, TOKEN).ok_or_else(|| misconfigured("token is not set"))?;
    let key_text = setting(credentials, ENCODING_AES_KEY)
        .ok_or_else(|| misconfigured("encoding_aes_key is not set"))?;
    let key = AesKey::from_encoding_aes_key(key_text)
        .map_err(|_| misconfigured("encoding_aes_key is not 43 base64 characters"))?;
    let mut pairs = vec![Pair { token, key }];
    let previous_token = setting(credentials, PREVIOUS_TOKEN);
    let previous_key = setting(credentials, PREVIOUS_ENCODING_AES_KEY);
    if previous_token.is_some() || previous_key.is_some() {
        let key = AesKey::from_encoding_aes_key(previous_key.unwrap_or(key_text))
            .map_err(|_| misconfigured("previous_encoding_aes_key is not 43 base64 characters"))?;
        pairs.push(Pair {
            token: previous_token.unwrap_or(token),
            key,
        });
    }
    Ok(pairs)
}

fn app_id(credentials: &Credentials) -> Result<&str, Rejection> {
    setting(credentials, APP_ID).ok_or_else(|| misconfigured("app_id is not set"))
}

fn param(req: &WebhookRequest, name: &str) -> Option<String> {
    req.query_param(name).filter(|v| !v.is_empty())
}

/// Answers the GET URL verification: `signature` = SHA-1 of sorted `[token, timestamp, nonce]`,
/// reply `echostr` verbatim. No time window: the platform sends it once, when the merchant
/// submits the URL, and the reply only reflects what the caller sent.
pub fn verify_url(req: &WebhookRequest, credentials: &Credentials) -> Result<Reply, Rejection> {
    let echostr = param(req, "echostr").unwrap_or_default();
    let signature = param(req, "signature").ok_or(SignatureError::Missing)?;
    let timestamp = param(req, "timestamp").ok_or(SignatureError::Missing)?;
    let nonce = param(req, "nonce").ok_or(SignatureError::Missing)?;
    let pairs = pairs(credentials)?;
    let mut matched = false;
    for pair in &pairs {
        let expected = crypto::sorted_sha1_hex(&[pair.token, &timestamp, &nonce]);
        matched |= hex_digest_matches(&expected, &signature);
    }
    if matched {
        Ok(Reply::text(200, &echostr))
    } else {
        Err(SignatureError::Mismatch.into())
    }
}

/// Checks a safe-mode POST and returns the decrypted message (the JSON the platform pushed).
///
/// Order: envelope present → signature (every pair, constant-time) → replay window →
/// decryption with a pair whose Token signed it → trailing appid.
pub fn open(req: &WebhookRequest, credentials: &Credentials) -> Result<Vec<u8>, Rejection> {
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
    let pairs = pairs(credentials)?;
    let app_id = app_id(credentials)?;

    // Every pair is checked, so the time taken does not tell which one matched.
    let signed: Vec<bool> = pairs
        .iter()
        .map(|p| {
            let expected = crypto::sorted_sha1_hex(&[p.token, &timestamp, &nonce, &encrypted]);
            hex_digest_matches(&expected, &msg_signature)
        })
        .collect();
    if !signed.iter().any(|s| *s) {
        return Err(SignatureError::Mismatch.into());
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
    check_timestamp_window(signed_at, req.received_at, REPLAY_WINDOW_SECONDS)?;

    let mut wrong_app = false;
    for (pair, _) in pairs.iter().zip(&signed).filter(|(_, s)| **s) {
        match crypto::decrypt(&pair.key, &encrypted) {
            Ok(plain) if plain.receiver_id == app_id.as_bytes() => return Ok(plain.message),
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
/// `nonce`; a POST has its plaintext JSON body sealed into `{"ToUserName","Encrypt"}` and gets
/// `signature`, `timestamp`, `nonce`, `encrypt_type=aes`, `msg_signature`. The random prefix and
/// the nonce come from a SHA-256 of the body, so a sample always signs to the same bytes.
pub fn seal(req: &mut WebhookRequest, credentials: &Credentials) -> Result<(), SignatureError> {
    let pairs = pairs(credentials).map_err(|_| SignatureError::NoSecret)?;
    let current = pairs.first().ok_or(SignatureError::NoSecret)?;
    let timestamp = req.received_at.unix_seconds().to_string();
    let seed = Sha256::digest(if req.method == "GET" {
        req.query.as_bytes()
    } else {
        &req.body
    });
    let nonce = u32::from_be_bytes([seed[0], seed[1], seed[2], seed[3]]).to_string();
    let signature = crypto::sorted_sha1_hex(&[current.token, &timestamp, &nonce]);
    let mut params = vec![
        ("signature", signature),
        ("timestamp", timestamp.clone()),
        ("nonce", nonce.clone()),
    ];
    if req.method != "GET" {
        let app_id = setting(credentials, APP_ID).ok_or(SignatureError::NoSecret)?;
        let plain: serde_json::Value =
            serde_json::from_slice(&req.body).map_err(|_| SignatureError::Malformed)?;
        let to_user = plain
            .get("ToUserName")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut random = [0u8; 16];
        random.copy_from_slice(&hex::encode(&seed[4..12]).as_bytes()[..16]);
        let encrypted = crypto::encrypt(&current.key, &random, &req.body, app_id);
        let msg_signature =
            crypto::sorted_sha1_hex(&[current.token, &timestamp, &nonce, &encrypted]);
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
