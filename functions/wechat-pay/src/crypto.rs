//! The cryptography of WeChat Pay API v3 notifications, on `aws-lc-rs`: RSA PKCS#1 v1.5 /
//! SHA-256 signatures by the platform key (a platform certificate's or the "WeChat Pay public
//! key"), and the `AEAD_AES_256_GCM` envelope of `resource`.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};

/// The length of the GCM tag WeChat Pay appends to `ciphertext`.
pub const TAG_LEN: usize = 16;

/// A platform verification key: the RSA public key of one `Wechatpay-Serial`.
pub struct PlatformKey(ParsedPublicKey);

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformKey")
    }
}

/// Why a configured key is unusable (the message names the problem, never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub &'static str);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The upper-case hex of a certificate's serial number as WeChat Pay writes it in
/// `Wechatpay-Serial`: the integer's value, without the leading zero byte DER adds to keep it
/// positive.
fn serial_hex(serial: &[u8]) -> String {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    serial[start..].iter().map(|b| format!("{b:02X}")).collect()
}

impl PlatformKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo: the "WeChat Pay public key") or a PEM
    /// `CERTIFICATE` (a platform certificate: its SubjectPublicKeyInfo is used, and its serial
    /// must be `serial`, the name it is configured under, ignoring case).
    pub fn from_pem(serial: &str, pem: &str) -> Result<Self, KeyError> {
        let pem = pem.trim();
        let spki: Vec<u8> = if pem.starts_with("-----BEGIN CERTIFICATE-----") {
            let der = CertificateDer::from_pem_slice(pem.as_bytes())
                .map_err(|_| KeyError("is not a readable PEM certificate"))?;
            let cert = webpki::EndEntityCert::try_from(&der)
                .map_err(|_| KeyError("is not a readable X.509 certificate"))?;
            if !serial_hex(cert.serial()).eq_ignore_ascii_case(serial.trim_start_matches('0')) {
                return Err(KeyError(
                    "is a certificate with another serial number than its name",
                ));
            }
            cert.subject_public_key_info().as_ref().to_vec()
        } else if pem.starts_with("-----BEGIN PUBLIC KEY-----") {
            SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
                .map_err(|_| KeyError("is not a readable PEM public key"))?
                .as_ref()
                .to_vec()
        } else {
            return Err(KeyError(
                "must be a PEM `PUBLIC KEY` or `CERTIFICATE` (-----BEGIN …)",
            ));
        };
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki)
            .map(Self)
            .map_err(|_| KeyError("is not an RSA public key of 2048 to 8192 bits"))
    }

    /// Whether `signature` is this key's RSA PKCS#1 v1.5 / SHA-256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sig(message, signature).is_ok()
    }
}

/// What WeChat Pay signs: `{Wechatpay-Timestamp}\n{Wechatpay-Nonce}\n{raw body}\n`.
pub fn signed_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for part in [
        timestamp.as_bytes(),
        b"\n",
        nonce.as_bytes(),
        b"\n",
        body,
        b"\n",
    ] {
        message.extend_from_slice(part);
    }
    message
}

/// A private key that signs as the platform would (test keys only: `o2o send`, the tests).
pub struct SigningKey(RsaKeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Reads a PEM PKCS#8 (`PRIVATE KEY`) RSA key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.trim().as_bytes()).map_err(|_| {
            KeyError("is not a PEM PKCS#8 private key (-----BEGIN PRIVATE KEY-----)")
        })?;
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map(Self)
            .map_err(|_| KeyError("is not a usable RSA private key"))
    }

    /// The base64 RSA PKCS#1 v1.5 / SHA-256 signature of `message` (deterministic).
    pub fn sign(&self, message: &[u8]) -> Option<String> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .ok()?;
        Some(BASE64.encode(signature))
    }
}

/// The AES-GCM key of a key's length: 32 bytes (an APIv3 key) is AES-256; 16 bytes is AES-128,
/// which the official Go SDK's `DecryptAES256GCM` also accepts (its test vector uses one).
fn aead_key(key: &[u8]) -> Option<LessSafeKey> {
    let algorithm = match key.len() {
        32 => &AES_256_GCM,
        16 => &AES_128_GCM,
        _ => return None,
    };
    UnboundKey::new(algorithm, key).ok().map(LessSafeKey::new)
}

/// Decrypts `resource.ciphertext` (base64 of ciphertext ‖ 16-byte tag) with `key`, the nonce and
/// the associated data as their UTF-8 bytes; `None` when it does not authenticate.
pub fn open(key: &[u8], nonce: &str, associated_data: &str, ciphertext: &[u8]) -> Option<Vec<u8>> {
    let key = aead_key(key)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).ok()?;
    let mut in_out = ciphertext.to_vec();
    if in_out.len() < TAG_LEN {
        return None;
    }
    let plain = key
        .open_in_place(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .ok()?;
    Some(plain.to_vec())
}

/// Encrypts `plaintext` as WeChat Pay does: base64 of ciphertext ‖ tag.
pub fn seal(key: &[u8], nonce: &str, associated_data: &str, plaintext: &[u8]) -> Option<String> {
    let key = aead_key(key)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).ok()?;
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .ok()?;
    Some(BASE64.encode(in_out))
}

/// Decodes standard base64 (with padding), as WeChat Pay writes signatures and ciphertexts.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_written_without_the_sign_byte() {
        assert_eq!(
            serial_hex(&[0x00, 0xD7, 0xCE, 0x59, 0xD1, 0xF5, 0x22, 0xD7, 0x01]),
            "D7CE59D1F522D701"
        );
        assert_eq!(serial_hex(&[0x3B, 0x1F]), "3B1F");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn sealing_and_opening_round_trip_and_the_tag_is_checked() {
        let key = b"0123456789abcdef0123456789abcdef";
        let sealed = seal(key, "abcdefghijkl", "transaction", b"{\"a\":1}").expect("seals");
        let bytes = base64_decode(&sealed).expect("base64");
        assert_eq!(bytes.len(), 7 + TAG_LEN);
        assert_eq!(
            open(key, "abcdefghijkl", "transaction", &bytes).as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(open(key, "abcdefghijkl", "refund", &bytes), None);
        assert_eq!(open(key, "abcdefghijkm", "transaction", &bytes), None);
        assert_eq!(open(key, "short", "transaction", &bytes), None);
        assert_eq!(
            open(b"too short", "abcdefghijkl", "transaction", &bytes),
            None
        );
        assert_eq!(open(key, "abcdefghijkl", "transaction", &bytes[..10]), None);
    }
}
