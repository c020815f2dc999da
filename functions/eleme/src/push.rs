//! The push envelope: its top-level fields as raw JSON tokens, the text its `signature` covers,
//! and the typed reading `parse` hands to `normalise`.
//!
//! The signature (official SDKs: Java `eleme/openapi/sdk/api/utils/CallbackValidationUtil.java`
//! in `dllen/eleme-openapi-java-sdk` @ `8f7ef6c0d9b8c49c7eebcf2f4b4e259303fcaa5d`, whose commit
//! `3a5cc5284cd41e433b17cd5e6705de4d41b5f4fd` "fix Signature" by an Ele.me author made the values
//! raw; PHP `demo/util.php` `check_signature` in `qfz9527/eleme-openapi-php-sdk` @
//! `ce01c36936a5075caeb5adfccdb586f8767edfae`, SDK 1.87.0):
//!
//! ```text
//! UPPER_HEX(MD5(UTF-8( concat over the fields but `signature`, by ASCII name: name "=" value ) + secret))
//! ```
//!
//! A value enters as its text: a string decoded (`message` is the JSON document inside the JSON
//! string, un-escaped, never re-serialised), a number as the digits Ele.me wrote (ids reach 19
//! digits: they never pass through `f64`), `null` as nothing (PHP's rendering; unconfirmed).
//! Objects, arrays and booleans never occur in an envelope and are refused.

use std::borrow::Cow;

use md5::{Digest, Md5};
use o2o_core::Timestamp;
use o2o_core::connector::NormaliseError;
use o2o_core::ids::IdText;
use o2o_core::settings::Secret;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The envelope field carrying the signature, which it does not cover.
pub const SIGNATURE_FIELD: &str = "signature";

/// Why a body cannot be read as an envelope (messages name no value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// Not a JSON object, or one that names a field twice.
    #[error("the body is not an Ele.me push envelope (one JSON object, each field once)")]
    NotAnEnvelope,
    /// A top-level field holds an object, an array or a boolean, which the signature rule
    /// cannot write.
    #[error("an envelope field holds an object, array or boolean")]
    UnsupportedValue,
}

/// The top-level fields of a push exactly as written: each name with its raw JSON token.
#[derive(Debug)]
pub struct RawEnvelope<'a> {
    fields: Vec<(String, &'a RawValue)>,
}

impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = RawEnvelope<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields: Vec<(String, &'de RawValue)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    // A field named twice could be read one way here and another way by
                    // `parse`: refused outright.
                    if fields.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom("a field is named twice"));
                    }
                    fields.push((name, map.next_value()?));
                }
                Ok(RawEnvelope { fields })
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

impl<'a> RawEnvelope<'a> {
    /// Reads `body` (borrowing every value from it).
    pub fn parse(body: &'a [u8]) -> Result<Self, PushError> {
        serde_json::from_slice(body).map_err(|_| PushError::NotAnEnvelope)
    }

    /// The raw token of field `name`.
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| *value)
    }

    /// The text field `name` contributes to the signed string (see [`value_text`]).
    pub fn text(&self, name: &str) -> Result<Option<Cow<'a, str>>, PushError> {
        self.get(name).map(value_text).transpose()
    }

    /// The provided signature, `None` when absent or empty.
    pub fn signature(&self) -> Option<String> {
        match self.text(SIGNATURE_FIELD) {
            Ok(Some(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            Ok(_) => None,
            // A signature that is an object or array is there but cannot be right.
            Err(_) => Some(String::new()),
        }
    }

    /// The string the signature covers, before the secret: `name=value` for every field but
    /// `signature`, by ASCII name, with nothing between them.
    pub fn signed_text(&self) -> Result<String, PushError> {
        let mut fields: Vec<&(String, &RawValue)> = self
            .fields
            .iter()
            .filter(|(name, _)| name != SIGNATURE_FIELD)
            .collect();
        fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut text = String::new();
        for (name, value) in fields {
            text.push_str(name);
            text.push('=');
            text.push_str(&value_text(value)?);
        }
        Ok(text)
    }
}

/// The text a raw JSON value contributes: a string decoded, a number as written, `null` as
/// nothing.
pub fn value_text(raw: &RawValue) -> Result<Cow<'_, str>, PushError> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .map(Cow::Owned)
            .map_err(|_| PushError::NotAnEnvelope),
        Some(b'-' | b'0'..=b'9') => Ok(Cow::Borrowed(text)),
        Some(b'n') => Ok(Cow::Borrowed("")),
        _ => Err(PushError::UnsupportedValue),
    }
}

/// The lower-case hex MD5 of the signed text followed by `secret` (Ele.me writes it upper-case).
pub fn digest(signed_text: &str, secret: &Secret) -> String {
    let mut md5 = Md5::new();
    md5.update(signed_text.as_bytes());
    md5.update(secret.expose().as_bytes());
    hex::encode(md5.finalize())
}

/// `body` with its `signature` value replaced by `signature` (added first when absent), every
/// other byte kept.
pub fn with_signature(body: &[u8], signature: &str) -> Result<Vec<u8>, PushError> {
    let envelope = RawEnvelope::parse(body)?;
    let quoted = serde_json::Value::from(signature).to_string();
    let mut out = Vec::with_capacity(body.len() + quoted.len() + 16);
    match envelope.get(SIGNATURE_FIELD) {
        Some(raw) => {
            // The raw value borrows from `body`: its offset is where it starts there.
            let start = (raw.get().as_ptr() as usize)
                .checked_sub(body.as_ptr() as usize)
                .filter(|start| start + raw.get().len() <= body.len())
                .ok_or(PushError::NotAnEnvelope)?;
            out.extend_from_slice(&body[..start]);
            out.extend_from_slice(quoted.as_bytes());
            out.extend_from_slice(&body[start + raw.get().len()..]);
        }
        None => {
            let open = body
                .iter()
                .position(|b| *b == b'{')
                .ok_or(PushError::NotAnEnvelope)?;
            let separator = if envelope.fields.is_empty() { "" } else { "," };
            out.extend_from_slice(&body[..=open]);
            out.extend_from_slice(format!("\"{SIGNATURE_FIELD}\":{quoted}{separator}").as_bytes());
            out.extend_from_slice(&body[open + 1..]);
        }
    }
    Ok(out)
}

/// A push as `parse` reads it (every field is covered by the signature).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Ele.me's id of this push (a string; the dedup key).
    pub request_id: IdText,
    /// The message type (a number; one official sample writes it as a string).
    #[serde(rename = "type")]
    pub kind: IdText,
    /// The app the push is for.
    pub app_id: IdText,
    /// The message: a JSON document inside a JSON string.
    pub message: String,
    /// The shop.
    #[serde(default)]
    pub shop_id: Option<IdText>,
    /// When Ele.me sent it, in milliseconds.
    #[serde(default)]
    pub timestamp: Option<IdText>,
    /// The merchant account (not the customer): a number, or a string in newer pushes.
    #[serde(default)]
    pub user_id: Option<IdText>,
}

impl Envelope {
    /// The message type as a number.
    pub fn type_number(&self) -> Result<u32, NormaliseError> {
        self.kind
            .0
            .parse()
            .map_err(|_| NormaliseError::field("type", "not a message type number"))
    }

    /// When Ele.me sent the push (`timestamp`, milliseconds), if it says.
    pub fn sent_at(&self) -> Result<Option<Timestamp>, NormaliseError> {
        self.timestamp
            .as_ref()
            .map(|ms| millis("timestamp", ms))
            .transpose()
    }
}

/// An integer field (a JSON number, or a string of digits).
pub fn integer(field: &str, value: &IdText) -> Result<i64, NormaliseError> {
    value
        .0
        .parse()
        .map_err(|_| NormaliseError::field(field, "not an integer"))
}

/// A time field in milliseconds since the Unix epoch.
pub fn millis(field: &str, value: &IdText) -> Result<Timestamp, NormaliseError> {
    let ms = integer(field, value)?;
    Timestamp::from_unix_seconds(ms.div_euclid(1000))
        .map_err(|_| NormaliseError::field(field, "not a time"))
}

/// A time field in seconds since the Unix epoch.
pub fn seconds(field: &str, value: &IdText) -> Result<Timestamp, NormaliseError> {
    let s = integer(field, value)?;
    Timestamp::from_unix_seconds(s).map_err(|_| NormaliseError::field(field, "not a time"))
}

/// What the edge answers to a push and to Ele.me's probes (SDK demos: PHP `demo/push.php`
/// `json_encode(array("message"=>"ok"))`; Python `server/server_handle.py`; Java
/// `HttpServerDemo`).
pub const ACK_BODY: &str = r#"{"message":"ok"}"#;
