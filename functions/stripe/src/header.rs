//! The `Stripe-Signature` header: `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`.
//!
//! Each `v1` is the lower-case hex HMAC-SHA256, keyed with the endpoint's signing secret (the
//! whole `whsec_…` string, as bytes), of `{t}.{raw body}`. After a secret is rolled Stripe sends
//! one `v1` per active secret; `v0` (test-mode legacy) and unknown schemes are ignored; a `v1`
//! that is not hex is ignored like the official SDKs do (stripe-go `webhook/client.go`
//! `parseSignatureHeader` @0d4b3764: "Ignore invalid signatures").

use o2o_core::Secret;
use o2o_core::signature::{
    DigestEncoding, SignatureError, encode_digest, hex_digest_matches, hmac_sha256,
};

/// The header's name.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// The scheme the connector checks; every other one is ignored.
const SCHEME: &str = "v1";

/// The length of a hex HMAC-SHA256.
const HEX_DIGEST_LEN: usize = 64;

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader<'h> {
    /// `t`: when Stripe signed, in seconds since the Unix epoch.
    pub timestamp: i64,
    /// Every well-formed `v1` digest (64 hex characters), as written.
    pub signatures: Vec<&'h str>,
}

impl<'h> SignatureHeader<'h> {
    /// Reads the header. `Missing` when it is blank; `Malformed` when an item has no `=`, `t` is
    /// absent, repeated or not a number, or no `v1` is 64 hex characters (then nothing could
    /// match).
    pub fn parse(header: &'h str) -> Result<Self, SignatureError> {
        let header = header.trim();
        if header.is_empty() {
            return Err(SignatureError::Missing);
        }
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for item in header.split(',') {
            let (key, value) = item
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed)?;
            match key {
                "t" => {
                    if timestamp.is_some() {
                        return Err(SignatureError::Malformed);
                    }
                    timestamp = Some(unix_seconds(value).ok_or(SignatureError::Malformed)?);
                }
                SCHEME if is_hex_digest(value) => signatures.push(value),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if signatures.is_empty() {
            return Err(SignatureError::Malformed);
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }

    /// Whether any `v1` is the HMAC of `{t}.{body}` under any of `secrets`. Every pair is
    /// compared in constant time, so the time taken tells neither which secret nor which
    /// signature matched.
    pub fn matches(&self, secrets: &[Secret], body: &[u8]) -> bool {
        let t = self.timestamp.to_string();
        let mut matched = false;
        for secret in secrets {
            let expected = hex_hmac(secret, &t, body);
            for provided in &self.signatures {
                matched |= hex_digest_matches(&expected, provided);
            }
        }
        matched
    }
}

/// The `v1` digest of `body` signed at `t` (decimal seconds) with `secret`, lower-case hex.
pub fn hex_hmac(secret: &Secret, t: &str, body: &[u8]) -> String {
    let digest = hmac_sha256(secret.expose().as_bytes(), &[t.as_bytes(), b".", body]);
    encode_digest(&digest, DigestEncoding::Hex)
}

/// The header Stripe would send for `body` signed at `timestamp` with `secret`.
pub fn header_value(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    format!("t={t},{SCHEME}={}", hex_hmac(secret, &t, body))
}

/// `t`: decimal digits only (no sign, no space), within `i64`.
fn unix_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_hex_digest(text: &str) -> bool {
    text.len() == HEX_DIGEST_LEN && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "f7f9bd47fb987337b5796fdc1fdb9ba221d0d5396814bfcaf9521f43fd8927fd";

    #[test]
    fn reads_every_v1_and_ignores_other_schemes_and_unreadable_signatures() {
        let header = format!("t=1495999758,v1={DIGEST},v1=bad_signature,v0={DIGEST},x=1");
        let parsed = SignatureHeader::parse(&header).expect("parses");
        assert_eq!(parsed.timestamp, 1_495_999_758);
        assert_eq!(parsed.signatures, [DIGEST]);
    }

    #[test]
    fn refuses_headers_that_cannot_carry_a_signature() {
        assert_eq!(SignatureHeader::parse("  "), Err(SignatureError::Missing));
        for header in [
            // stripe-go webhook/client_test.go: "v1,t=1" and "t=" are ErrInvalidHeader.
            "v1,t=1".to_owned(),
            "t=".to_owned(),
            "bad_header".to_owned(),
            format!("v1={DIGEST}"),
            format!("t=-1,v1={DIGEST}"),
            format!("t=+1,v1={DIGEST}"),
            format!("t= 1,v1={DIGEST}"),
            format!("t=99999999999999999999,v1={DIGEST}"),
            format!("t=1,t=2,v1={DIGEST}"),
            "t=1,v0=abc".to_owned(),
            "t=1,v1=bad_signature".to_owned(),
            format!("t=1,v1={}", &DIGEST[..62]),
        ] {
            assert_eq!(
                SignatureHeader::parse(&header),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }
}
