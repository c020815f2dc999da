//! Signature helpers shared by connectors: HMAC-SHA256 in hex or base64, constant-time
//! comparison against every active secret (rotation), and an optional timestamp window.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::request::{Headers, WebhookRequest};
use crate::settings::{Secret, Secrets};
use crate::timestamp::Timestamp;

type HmacSha256 = Hmac<Sha256>;

/// How a platform writes a digest in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestEncoding {
    /// Standard base64 with padding (Shopify, WooCommerce).
    Base64,
    /// Hex; lower case when we produce it, either case accepted when verifying.
    Hex,
}

/// Why a signature check failed. Messages never contain secrets or bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature header or parameter is absent.
    #[error("signature missing")]
    Missing,
    /// The signature is not valid base64/hex of the right length.
    #[error("signature malformed")]
    Malformed,
    /// No active secret produces this signature.
    #[error("signature does not match")]
    Mismatch,
    /// The signed timestamp is outside the allowed window.
    #[error("timestamp outside the allowed window")]
    Stale,
    /// No secret is configured for this channel or tenant.
    #[error("no signing secret configured")]
    NoSecret,
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_mac(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// SHA-256 of `data`, lower-case hex (payload hashes, content-derived keys).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Encodes a digest the way a platform writes it.
pub fn encode_digest(digest: &[u8], encoding: DigestEncoding) -> String {
    match encoding {
        DigestEncoding::Base64 => BASE64.encode(digest),
        DigestEncoding::Hex => hex::encode(digest),
    }
}

/// Signs `parts` with `secret`, as the platform would (used by `o2o send` and tests).
pub fn sign_hmac_sha256(secret: &Secret, parts: &[&[u8]], encoding: DigestEncoding) -> String {
    encode_digest(&hmac_sha256(secret.expose().as_bytes(), parts), encoding)
}

/// Checks `provided` against HMAC-SHA256 of `parts` under each active secret, in constant time.
pub fn verify_hmac_sha256(
    secrets: &[Secret],
    parts: &[&[u8]],
    provided: Option<&str>,
    encoding: DigestEncoding,
) -> Result<(), SignatureError> {
    let provided = provided
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or(SignatureError::Missing)?;
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let expected = decode_digest(provided, encoding).ok_or(SignatureError::Malformed)?;
    if expected.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    // Every secret is tried, so the time taken does not tell which one matched.
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        let digest = hmac_sha256(secret.expose().as_bytes(), parts);
        matched |= digest.ct_eq(expected.as_slice());
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Checks a header holding the HMAC-SHA256 of the raw body, the scheme of Shopify and WooCommerce.
pub fn verify_body_hmac_header(
    headers: &Headers,
    body: &[u8],
    header: &str,
    secrets: &[Secret],
    encoding: DigestEncoding,
) -> Result<(), SignatureError> {
    verify_hmac_sha256(secrets, &[body], headers.get(header), encoding)
}

/// Adds that header, signed with the newest secret (for `o2o send` and tests).
pub fn sign_body_hmac_header(
    headers: &mut Headers,
    body: &[u8],
    header: &str,
    secrets: &[Secret],
    encoding: DigestEncoding,
) -> Result<(), SignatureError> {
    let newest = secrets.first().ok_or(SignatureError::NoSecret)?;
    headers.set(header, sign_hmac_sha256(newest, &[body], encoding));
    Ok(())
}

/// The scheme of Shopify and WooCommerce: one header holding the HMAC-SHA256 of the raw body,
/// keyed with the app's secret.
#[derive(Debug)]
pub struct BodyHmacHeader {
    /// The header's name (`X-Shopify-Hmac-Sha256`).
    pub header: &'static str,
    /// How the digest is written.
    pub encoding: DigestEncoding,
    /// The active secrets, newest first.
    pub secrets: Secrets,
}

impl BodyHmacHeader {
    /// Checks the header against every active secret, in constant time.
    pub fn verify(&self, req: &WebhookRequest) -> Result<(), SignatureError> {
        verify_body_hmac_header(
            &req.headers,
            &req.body,
            self.header,
            self.secrets.all(),
            self.encoding,
        )
    }

    /// Sets the header, signed with the newest secret (for `o2o send` and tests).
    pub fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let digest = sign_hmac_sha256(self.secrets.newest(), &[&req.body], self.encoding);
        req.headers.set(self.header, digest);
        Ok(())
    }
}

/// Compares two digests given as text (e.g. MD5 or SHA-1 hex) in constant time, ignoring ASCII case.
pub fn hex_digest_matches(expected_lower_hex: &str, provided: &str) -> bool {
    let provided = provided.trim().to_ascii_lowercase();
    expected_lower_hex
        .as_bytes()
        .ct_eq(provided.as_bytes())
        .into()
}

/// Checks a bearer token (a platform that sends a registered secret instead of signing: DoorDash)
/// against every active secret, in constant time: the SHA-256 of each is compared, so neither the
/// secrets' contents nor their lengths show in the time taken. `provided` may carry the `Bearer `
/// prefix or not.
pub fn token_matches(secrets: &[Secret], provided: &str) -> Result<(), SignatureError> {
    let provided = provided.trim();
    if provided.is_empty() {
        return Err(SignatureError::Missing);
    }
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let bare = provided
        .strip_prefix("Bearer ")
        .or_else(|| provided.strip_prefix("bearer "))
        .map(str::trim_start);
    let digest = |text: &str| -> [u8; 32] { Sha256::digest(text.as_bytes()).into() };
    let (whole, bare) = (digest(provided), bare.map(digest));
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        let expected = digest(secret.expose());
        matched |= expected.ct_eq(&whole);
        if let Some(bare) = &bare {
            matched |= expected.ct_eq(bare);
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Accepts a signed unix timestamp only within `tolerance_seconds` of `now` (replay window).
/// Any `i64` is safe: a time at the ends of the range is simply outside the window (the
/// difference is taken without overflow; tests/fuzz.rs sent `-9223372036854775808`).
pub fn check_timestamp_window(
    signed_unix: i64,
    now: Timestamp,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    if now.unix_seconds().abs_diff(signed_unix) <= tolerance_seconds.unsigned_abs() {
        Ok(())
    } else {
        Err(SignatureError::Stale)
    }
}

fn decode_digest(text: &str, encoding: DigestEncoding) -> Option<Vec<u8>> {
    match encoding {
        DigestEncoding::Base64 => BASE64.decode(text).ok(),
        DigestEncoding::Hex => hex::decode(text).ok(),
    }
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_with_or_without_its_bearer_prefix_and_nothing_else() {
        let secrets = [Secret::new("tok-old"), Secret::new("tok-new")];
        for provided in [
            "tok-new",
            "Bearer tok-new",
            "bearer tok-old",
            " Bearer  tok-old ",
        ] {
            assert_eq!(token_matches(&secrets, provided), Ok(()), "{provided}");
        }
        for provided in [
            "tok",
            "tok-new2",
            "Basic tok-new",
            "Bearer",
            "Bearer tok-newer",
        ] {
            assert_eq!(
                token_matches(&secrets, provided),
                Err(SignatureError::Mismatch),
                "{provided}"
            );
        }
        assert_eq!(token_matches(&secrets, "  "), Err(SignatureError::Missing));
        assert_eq!(token_matches(&[], "tok"), Err(SignatureError::NoSecret));
        // A registered value that is itself a whole header value (DoorDash Drive sends what you
        // typed) matches as typed.
        let typed = [Secret::new("Basic dXNlcjpwYXNz")];
        assert_eq!(token_matches(&typed, "Basic dXNlcjpwYXNz"), Ok(()));
    }

    fn secrets(values: &[&str]) -> Vec<Secret> {
        values.iter().map(|v| Secret::new(*v)).collect()
    }

    /// RFC 4231 test case 2 (key "Jefe").
    #[test]
    fn matches_rfc_4231_case_2() {
        let digest = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(digest),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn accepts_any_active_secret_and_refuses_others() {
        let body: &[u8] = b"{\"foo\": \"bar\"}";
        let sig = sign_hmac_sha256(&Secret::new("old"), &[body], DigestEncoding::Base64);
        assert_eq!(
            verify_hmac_sha256(
                &secrets(&["new", "old"]),
                &[body],
                Some(&sig),
                DigestEncoding::Base64
            ),
            Ok(())
        );
        assert_eq!(
            verify_hmac_sha256(
                &secrets(&["new"]),
                &[body],
                Some(&sig),
                DigestEncoding::Base64
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_hmac_sha256(&secrets(&["new"]), &[body], None, DigestEncoding::Base64),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_hmac_sha256(&[], &[body], Some(&sig), DigestEncoding::Base64),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(
            verify_hmac_sha256(
                &secrets(&["new"]),
                &[body],
                Some("not base64!"),
                DigestEncoding::Base64
            ),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_hmac_sha256(
                &secrets(&["new"]),
                &[body],
                Some("YWJj"),
                DigestEncoding::Base64
            ),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn hex_signatures_accept_either_case() {
        let sig = sign_hmac_sha256(&Secret::new("k"), &[b"a", b"b"], DigestEncoding::Hex);
        assert_eq!(sig, hex::encode(hmac_sha256(b"k", &[b"ab"])));
        let upper = sig.to_ascii_uppercase();
        assert_eq!(
            verify_hmac_sha256(
                &secrets(&["k"]),
                &[b"ab"],
                Some(&upper),
                DigestEncoding::Hex
            ),
            Ok(())
        );
        assert!(hex_digest_matches("abc1", "ABC1"));
        assert!(!hex_digest_matches("abc1", "abc2"));
    }

    #[test]
    fn timestamp_window_is_inclusive() {
        let now = Timestamp::from_unix_seconds(1_000_000).expect("ts");
        assert_eq!(check_timestamp_window(1_000_300, now, 300), Ok(()));
        assert_eq!(check_timestamp_window(999_700, now, 300), Ok(()));
        assert_eq!(
            check_timestamp_window(999_699, now, 300),
            Err(SignatureError::Stale)
        );
    }
}
