//! The Standard Webhooks signature scheme (spec `spec/standard-webhooks.md`, "Signature scheme"
//! and "Webhook headers"): `v1` (HMAC-SHA256, `whsec_` secrets) and `v1a` (ed25519, `whpk_`
//! public keys) over `{msg_id}.{timestamp}.{payload}`, several space-separated in one header.

use std::fmt;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::Headers;
use o2o_core::settings::Secret;
use o2o_core::signature::{SignatureError, hmac_sha256};
use subtle::{Choice, ConstantTimeEq};

/// The prefix of a symmetric secret as senders show it.
pub const SECRET_PREFIX: &str = "whsec_";
/// The prefix of an ed25519 public key.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";
/// The prefix of an ed25519 secret key.
pub const SIGNING_KEY_PREFIX: &str = "whsk_";
/// At most this many signatures in one header are looked at; more is refused as malformed (a
/// sender lists one per active key, two during a rotation).
pub const MAX_SIGNATURES: usize = 32;

/// The three headers of one naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderNames {
    /// The message id: the idempotency key, and signed.
    pub id: &'static str,
    /// The attempt's Unix time in seconds, signed.
    pub timestamp: &'static str,
    /// The space-separated `version,base64` signatures.
    pub signature: &'static str,
}

/// The spec's own names.
pub const WEBHOOK_HEADERS: HeaderNames = HeaderNames {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};

/// Svix's names (docs.svix.com/receiving/verifying-payloads/how-manual).
pub const SVIX_HEADERS: HeaderNames = HeaderNames {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// Which headers carry the signature (setting `header_prefix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderPrefix {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Webhook,
    /// `svix-id`, `svix-timestamp`, `svix-signature`.
    Svix,
    /// Either set, as Svix's own libraries read them: the `svix-*` set when `svix-id` is
    /// present, else the `webhook-*` set (never a mix of the two).
    Any,
}

impl HeaderPrefix {
    /// Reads the setting's value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "webhook" => Some(Self::Webhook),
            "svix" => Some(Self::Svix),
            "any" => Some(Self::Any),
            _ => None,
        }
    }

    /// The header set a request is read with.
    pub fn names(self, headers: &Headers) -> HeaderNames {
        match self {
            Self::Webhook => WEBHOOK_HEADERS,
            Self::Svix => SVIX_HEADERS,
            Self::Any if headers.get(SVIX_HEADERS.id).is_some() => SVIX_HEADERS,
            Self::Any => WEBHOOK_HEADERS,
        }
    }

    /// The header set samples are signed with.
    pub fn signing_names(self) -> HeaderNames {
        match self {
            Self::Svix => SVIX_HEADERS,
            Self::Webhook | Self::Any => WEBHOOK_HEADERS,
        }
    }
}

/// The decoded keys: HMAC secrets (newest first), ed25519 public keys, and the test key pair
/// that signs samples.
pub struct Keys {
    hmac: Vec<Vec<u8>>,
    public: Vec<[u8; 32]>,
    signer: Option<Ed25519KeyPair>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("secrets", &format_args!("<{} redacted>", self.hmac.len()))
            .field("public_keys", &self.public.len())
            .field("test_signing_key", &self.signer.is_some())
            .finish()
    }
}

/// Decodes a `whsec_` secret: standard base64 after the optional prefix (the official libraries
/// take it with or without).
pub fn decode_secret(secret: &Secret) -> Result<Vec<u8>, &'static str> {
    let value = secret.expose();
    if value.starts_with(PUBLIC_KEY_PREFIX) || value.starts_with(SIGNING_KEY_PREFIX) {
        return Err("holds an ed25519 key (whpk_/whsk_), not a whsec_ secret");
    }
    let key = BASE64
        .decode(value.strip_prefix(SECRET_PREFIX).unwrap_or(value))
        .map_err(|_| "is not `whsec_` followed by standard base64")?;
    if key.is_empty() {
        return Err("decodes to an empty key");
    }
    Ok(key)
}

/// Decodes a `whpk_` public key: standard base64 of the 32-byte ed25519 key.
pub fn decode_public_key(value: &str) -> Result<[u8; 32], &'static str> {
    if value.starts_with(SECRET_PREFIX) || value.starts_with(SIGNING_KEY_PREFIX) {
        return Err("holds a secret (whsec_/whsk_), not a whpk_ public key");
    }
    let bytes = BASE64
        .decode(value.strip_prefix(PUBLIC_KEY_PREFIX).unwrap_or(value))
        .map_err(|_| "is not `whpk_` followed by standard base64")?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| "must decode to 32 bytes (an ed25519 key)")
}

/// Decodes a `whsk_` secret key: base64 of the 32-byte seed, or of the seed and its public key
/// (64 bytes, the NaCl layout).
pub fn decode_signing_key(secret: &Secret) -> Result<Ed25519KeyPair, &'static str> {
    let value = secret.expose();
    let bytes = BASE64
        .decode(value.strip_prefix(SIGNING_KEY_PREFIX).unwrap_or(value))
        .map_err(|_| "is not `whsk_` followed by standard base64")?;
    match bytes.len() {
        32 => Ed25519KeyPair::from_seed_unchecked(&bytes),
        64 => Ed25519KeyPair::from_seed_and_public_key(&bytes[..32], &bytes[32..]),
        _ => return Err("must decode to a 32-byte ed25519 seed (or seed and public key)"),
    }
    .map_err(|_| "is not an ed25519 key")
}

impl Keys {
    /// The keys; `build` has checked that there is at least one secret or public key.
    pub fn new(hmac: Vec<Vec<u8>>, public: Vec<[u8; 32]>, signer: Option<Ed25519KeyPair>) -> Self {
        Self {
            hmac,
            public,
            signer,
        }
    }

    /// Whether `signer`'s public key is one of the listed ones.
    pub fn signer_is_listed(&self) -> bool {
        self.signer.as_ref().is_none_or(|signer| {
            let public = signer.public_key().as_ref();
            self.public.iter().any(|key| key.as_slice() == public)
        })
    }

    /// Checks `header` (space-separated `version,base64` entries) against every configured key:
    /// `v1` entries against each secret's HMAC in constant time, `v1a` entries against each
    /// public key. Entries of other versions are skipped, as the official libraries do. Any one
    /// match passes.
    pub fn verify(&self, content: &[u8], header: &str) -> Result<(), SignatureError> {
        let entries: Vec<&str> = header.split(' ').filter(|e| !e.is_empty()).collect();
        if entries.is_empty() {
            return Err(SignatureError::Missing);
        }
        if entries.len() > MAX_SIGNATURES {
            return Err(SignatureError::Malformed);
        }
        let macs: Vec<[u8; 32]> = self
            .hmac
            .iter()
            .map(|key| hmac_sha256(key, &[content]))
            .collect();
        let mut readable = false;
        let mut matched = Choice::from(0);
        for entry in entries {
            let Some((version, signature)) = entry.split_once(',') else {
                continue;
            };
            let Ok(signature) = BASE64.decode(signature) else {
                continue;
            };
            match (version, signature.len()) {
                ("v1", 32) => {
                    readable = true;
                    for mac in &macs {
                        matched |= mac.ct_eq(signature.as_slice());
                    }
                }
                ("v1a", 64) => {
                    readable = true;
                    matched |= Choice::from(u8::from(self.ed25519_verifies(content, &signature)));
                }
                _ => {}
            }
        }
        if bool::from(matched) {
            Ok(())
        } else if readable {
            Err(SignatureError::Mismatch)
        } else {
            Err(SignatureError::Malformed)
        }
    }

    /// Whether any public key verifies `signature` over `message`.
    pub fn ed25519_verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.public.iter().any(|key| {
            UnparsedPublicKey::new(&ED25519, key)
                .verify(message, signature)
                .is_ok()
        })
    }

    /// The signatures a sender would send: `v1` with the newest secret and `v1a` with the test
    /// key, whichever are configured.
    pub fn sign(&self, content: &[u8]) -> Result<String, SignatureError> {
        let mut signatures = Vec::new();
        if let Some(newest) = self.hmac.first() {
            signatures.push(format!(
                "v1,{}",
                BASE64.encode(hmac_sha256(newest, &[content]))
            ));
        }
        if let Some(signer) = &self.signer {
            signatures.push(format!(
                "v1a,{}",
                BASE64.encode(signer.sign(content).as_ref())
            ));
        }
        if signatures.is_empty() {
            return Err(SignatureError::NoSecret);
        }
        Ok(signatures.join(" "))
    }
}

/// What a signature covers: `{msg_id}.{timestamp}.{payload}`, the timestamp written as the
/// integer it was read as (as the official libraries re-format it).
pub fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}
