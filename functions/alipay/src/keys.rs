//! Alipay's public keys as configured: PEM or bare base64, of a public key (SubjectPublicKeyInfo,
//! as Alipay's console shows it, or PKCS#1 `RSAPublicKey`) or of a public-key certificate
//! (`alipayCertPublicKey_RSA2.crt`, certificate mode), whose SubjectPublicKeyInfo is read with
//! rustls-webpki. PEM is read with rustls-pki-types. aws-lc-rs takes either key encoding
//! (`parse_rsa_public_key`: RFC 8017 or RFC 5280) and checks the key itself.

use aws_lc_rs::signature::{
    self, ParsedPublicKey, RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_2048_8192_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, SubjectPublicKeyInfoDer};

/// A signature type Alipay uses (`sign_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    /// `RSA2`: SHA256withRSA, RSA keys of 2048 bits or more.
    Rsa2,
    /// `RSA`: SHA1withRSA, the legacy type (off unless `sign_types` lists it).
    Rsa,
}

impl SignType {
    /// The type named by a `sign_type` value.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "RSA2" => Some(Self::Rsa2),
            "RSA" => Some(Self::Rsa),
            _ => None,
        }
    }

    fn algorithm(self) -> &'static signature::RsaParameters {
        match self {
            Self::Rsa2 => &RSA_PKCS1_2048_8192_SHA256,
            // Alipay's legacy RSA keys were 1024-bit.
            Self::Rsa => &RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        }
    }
}

/// One Alipay public key, parsed for each signature type it may check.
pub struct VerifyKey {
    rsa2: Option<ParsedPublicKey>,
    rsa: Option<ParsedPublicKey>,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("rsa2", &self.rsa2.is_some())
            .field("rsa", &self.rsa.is_some())
            .finish()
    }
}

impl VerifyKey {
    /// Parses a DER public key for the allowed types; `None` when it suits none of them.
    pub fn new(der: &[u8], allowed: &[SignType]) -> Option<Self> {
        // The modulus size, checked here so that a short key stops the start-up rather than
        // failing every verification (aws-lc-rs checks it only when verifying).
        let bits = aws_lc_rs::rsa::PublicKey::from_der(der)
            .ok()
            .and_then(|key| signature::RsaParameters::public_modulus_len(key.as_ref()).ok())?;
        let parse = |sign_type: SignType| {
            let algorithm = sign_type.algorithm();
            (allowed.contains(&sign_type) && bits >= algorithm.min_modulus_len())
                .then(|| ParsedPublicKey::new(algorithm, der).ok())
                .flatten()
        };
        let key = Self {
            rsa2: parse(SignType::Rsa2),
            rsa: parse(SignType::Rsa),
        };
        (key.rsa2.is_some() || key.rsa.is_some()).then_some(key)
    }

    /// Whether `signature` is this key's signature of `message` under `sign_type`.
    pub fn verifies(&self, sign_type: SignType, message: &[u8], signature: &[u8]) -> bool {
        let key = match sign_type {
            SignType::Rsa2 => &self.rsa2,
            SignType::Rsa => &self.rsa,
        };
        key.as_ref()
            .is_some_and(|key| key.verify_sig(message, signature).is_ok())
    }
}

/// Bare base64 of a DER structure, whitespace ignored (what Alipay's console shows).
fn bare_base64(text: &str) -> Result<Vec<u8>, &'static str> {
    let body: String = text.split_whitespace().collect();
    BASE64
        .decode(body.as_bytes())
        .map_err(|_| "is not valid base64")
}

/// Whether `text` is PEM rather than bare base64.
fn is_pem(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN ")
}

/// Reads a public key setting (PEM `PUBLIC KEY`, or bare base64 of its SubjectPublicKeyInfo or
/// PKCS#1 `RSAPublicKey`) to DER.
pub fn public_key_der(text: &str) -> Result<Vec<u8>, &'static str> {
    if is_pem(text) {
        SubjectPublicKeyInfoDer::from_pem_slice(text.trim().as_bytes())
            .map(|key| key.as_ref().to_vec())
            .map_err(|_| "is not a PEM `PUBLIC KEY`")
    } else {
        bare_base64(text)
    }
}

/// Reads a certificate setting (PEM `CERTIFICATE` or bare base64 DER) to its public key's DER
/// SubjectPublicKeyInfo, with rustls-webpki's X.509 parser.
pub fn certificate_spki(text: &str) -> Result<Vec<u8>, &'static str> {
    let der = if is_pem(text) {
        CertificateDer::from_pem_slice(text.trim().as_bytes())
            .map_err(|_| "is not a PEM `CERTIFICATE`")?
    } else {
        CertificateDer::from(bare_base64(text)?)
    };
    let certificate =
        webpki::EndEntityCert::try_from(&der).map_err(|_| "is not an X.509 certificate")?;
    Ok(certificate.subject_public_key_info().as_ref().to_vec())
}

/// Reads the test signing key (PEM PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`, or the bare
/// base64 of a PKCS#8 key, as Alipay's key tool writes it).
pub fn signing_key(text: &str) -> Result<RsaKeyPair, &'static str> {
    if !is_pem(text) {
        return RsaKeyPair::from_pkcs8(&bare_base64(text)?)
            .map_err(|_| "is not an RSA private key (PKCS#8)");
    }
    let key = PrivateKeyDer::from_pem_slice(text.trim().as_bytes())
        .map_err(|_| "is not a PEM private key")?;
    match key {
        PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
        _ => return Err("is not an RSA private key"),
    }
    .map_err(|_| "is not an RSA private key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_key_of_a_certificate() {
        let cert = include_str!("../tests/keys/dev-public-cert.pem");
        let key = include_str!("../tests/keys/dev-public-key.pem");
        assert_eq!(certificate_spki(cert), public_key_der(key));
        assert_eq!(
            certificate_spki(key),
            Err("is not a PEM `CERTIFICATE`"),
            "a key is not a certificate"
        );
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).expect("a certificate");
        let truncated = BASE64.encode(&der.as_ref()[..300]);
        assert_eq!(
            certificate_spki(&truncated),
            Err("is not an X.509 certificate")
        );
        let bare = BASE64.encode(der.as_ref());
        assert_eq!(
            certificate_spki(&bare),
            public_key_der(key),
            "bare base64 DER"
        );
    }

    #[test]
    fn reads_pem_and_bare_base64() {
        let pem = include_str!("../tests/keys/dev-public-key.pem");
        let bare: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        assert_eq!(public_key_der(pem), public_key_der(&bare));
        assert_eq!(public_key_der("not base64!"), Err("is not valid base64"));
        let private = include_str!("../tests/keys/dev-private-key.pem");
        assert!(signing_key(private).is_ok());
        let bare_private: String = private
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        assert!(signing_key(&bare_private).is_ok(), "bare base64 PKCS#8");
        assert!(signing_key(pem).is_err());
    }
}
