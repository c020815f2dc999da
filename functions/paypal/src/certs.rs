//! PayPal's signing certificates: which URLs may name one (the allowlist), how one is judged
//! (chain to a trust root, validity at the delivery's time, PayPal's message-verification name),
//! where they are kept (a bounded cache, plus the certificates configured up front), and how one
//! is fetched (no redirects, a timeout, a size cap).
//!
//! The SDKs' checks, which these follow (stricter where noted):
//! - PayPal-Java-SDK `rest-api-sdk/src/main/java/com/paypal/base/SSLUtil.java` @ccaa336b
//!   (`validateCertificateChain`): the chain to the trusted certificates, `checkValidity()`, and a
//!   subject CN starting with `messageverificationcerts` and ending with `.paypal.com`.
//! - PayPal-Python-SDK `paypalrestsdk/notifications.py` @28becaf2 (`_verify_certificate`): the
//!   chain to the bundled DigiCert High Assurance EV Root CA and DigiCert SHA2 Extended
//!   Validation Server CA, not expired, and a CN ending with `.paypal.com`.
//!
//! Here the DNS name (SAN, as webpki reads it) must be one of [`CERT_NAMES`] exactly.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::{Rejection, Timestamp};
use reqwest::Url;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{
    CertificateDer, PrivatePkcs8KeyDer, ServerName, SignatureVerificationAlgorithm, TrustAnchor,
    UnixTime,
};
use webpki::{EndEntityCert, KeyUsage};

/// The path under which PayPal serves its certificates (`PAYPAL-CERT-URL`, e.g.
/// `https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270` in the
/// Java SDK's `ValidateCertTest` @ccaa336b).
pub const CERT_PATH: &str = "/v1/notifications/certs/";

/// The hosts a certificate may be fetched from by default (`cert_hosts`): PayPal's API hosts,
/// live and sandbox, under both their names.
pub const DEFAULT_CERT_HOSTS: [&str; 4] = [
    "api.paypal.com",
    "api.sandbox.paypal.com",
    "api-m.paypal.com",
    "api-m.sandbox.paypal.com",
];

/// The DNS names a signing certificate must carry: PayPal's message-verification certificates
/// (the vector's is `messageverificationcerts.sandbox.paypal.com`).
pub const CERT_NAMES: [&str; 2] = [
    "messageverificationcerts.paypal.com",
    "messageverificationcerts.sandbox.paypal.com",
];

/// The longest `PAYPAL-CERT-URL` accepted (PayPal's `verify-webhook-signature` schema: `cert_url`
/// `maxLength: 500`).
pub const MAX_URL_LEN: usize = 500;

/// The largest certificate download read (a leaf and its chain are a few KiB).
pub const MAX_CERT_BYTES: usize = 64 * 1024;

/// How many fetched certificates are kept; the oldest goes first (PayPal rotates them rarely).
pub const MAX_CACHED: usize = 32;

/// The intermediate CA both SDKs bundle (PayPal-Python-SDK
/// `paypalrestsdk/data/DigiCertSHA2ExtendedValidationServerCA.crt.pem` @28becaf2; the Java SDK's
/// `rest-api-sdk/src/main/resources/DigiCertSHA2ExtendedValidationServerCA.crt` @ccaa336b is the
/// same certificate, SHA-256 `403E062A…EF1A`), valid until 2028-10-22: PayPal's certificate
/// download holds the leaf only, so its issuer must be at hand.
const BUNDLED_INTERMEDIATE: &str =
    include_str!("certs/DigiCertSHA2ExtendedValidationServerCA.crt.pem");

/// The signature algorithms accepted on the certificate chain.
static CHAIN_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_3072_8192_SHA384,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ED25519,
];

/// One origin certificates may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

/// The origins `PAYPAL-CERT-URL` may name (`cert_hosts`).
#[derive(Debug, Clone)]
pub struct Allowlist(Vec<Origin>);

impl Allowlist {
    /// Reads `cert_hosts`: a bare host name is `https` on port 443 (`api.paypal.com`); an entry
    /// with a scheme names scheme, host and port exactly (`http://127.0.0.1:8080`, for a local
    /// mock: plain HTTP only where written out like this).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut origins = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.trim();
            let origin = if entry.contains("://") {
                let url = Url::parse(entry)
                    .map_err(|_| format!("[{index}]: not a URL or a host name"))?;
                let plain = url.username().is_empty()
                    && url.password().is_none()
                    && url.query().is_none()
                    && url.fragment().is_none()
                    && url.path() == "/";
                if !matches!(url.scheme(), "http" | "https") || !plain {
                    return Err(format!(
                        "[{index}]: must be a host name or scheme://host[:port] and nothing more"
                    ));
                }
                match (url.host_str(), url.port_or_known_default()) {
                    (Some(host), Some(port)) => Origin {
                        scheme: url.scheme().to_owned(),
                        host: host.to_owned(),
                        port,
                    },
                    _ => return Err(format!("[{index}]: names no host")),
                }
            } else {
                let host = entry.to_ascii_lowercase();
                let name = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
                if host.is_empty() || !host.chars().all(name) {
                    return Err(format!("[{index}]: not a host name"));
                }
                Origin {
                    scheme: "https".to_owned(),
                    host,
                    port: 443,
                }
            };
            origins.push(origin);
        }
        Ok(Self(origins))
    }

    /// Whether a certificate may be fetched from `url`: an allowlisted scheme, host and port,
    /// no user information, PayPal's certificate path with one segment after it, no query.
    pub fn permits(&self, url: &Url) -> bool {
        let segment = url.path().strip_prefix(CERT_PATH).unwrap_or_default();
        let shaped = url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
            && !segment.is_empty()
            && !segment.contains('/');
        shaped
            && self.0.iter().any(|origin| {
                origin.scheme == url.scheme()
                    && Some(origin.host.as_str()) == url.host_str()
                    && Some(origin.port) == url.port_or_known_default()
            })
    }
}

/// `PAYPAL-CERT-URL` read as a URL (its normal form is the cache key); `None` when it is not one
/// or is longer than PayPal allows.
pub fn parse_url(text: &str) -> Option<Url> {
    let text = text.trim();
    if text.len() > MAX_URL_LEN {
        return None;
    }
    Url::parse(text).ok()
}

/// A signing certificate as downloaded: the leaf first, then whatever chain came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertChain(Vec<CertificateDer<'static>>);

impl CertChain {
    /// Reads PEM `CERTIFICATE`s (one at least; the first is the signing certificate).
    pub fn from_pem(pem: &[u8]) -> Option<Self> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        (!certs.is_empty()).then_some(Self(certs))
    }
}

/// Why a certificate cannot vouch for a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProblem {
    /// Not a readable X.509 certificate.
    Unreadable,
    /// No chain to a configured trust root.
    Untrusted,
    /// Expired, or not yet valid, at the delivery's time.
    Expired,
    /// Not one of PayPal's message-verification certificates.
    WrongName,
}

impl CertProblem {
    /// The 401 for a delivery this certificate was to verify.
    pub fn rejection(self) -> Rejection {
        let (code, message) = match self {
            Self::Unreadable => (
                "certificate_untrusted",
                "PAYPAL-CERT-URL does not hold a readable certificate",
            ),
            Self::Untrusted => (
                "certificate_untrusted",
                "the certificate at PAYPAL-CERT-URL does not chain to a configured trust root",
            ),
            Self::Expired => (
                "certificate_expired",
                "the certificate at PAYPAL-CERT-URL is not valid at the delivery's time",
            ),
            Self::WrongName => (
                "certificate_untrusted",
                "the certificate at PAYPAL-CERT-URL is not a PayPal message-verification certificate",
            ),
        };
        Rejection::unauthorized(code, message)
    }
}

impl std::fmt::Display for CertProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unreadable => "is not a readable X.509 certificate",
            Self::Untrusted => "does not chain to a trust root (trust_roots, intermediates)",
            Self::Expired => "is expired or not yet valid",
            Self::WrongName => "is not named messageverificationcerts[.sandbox].paypal.com",
        })
    }
}

/// What a certificate must chain to: the trust roots, and intermediates to build the chain with.
#[derive(Debug)]
pub struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    intermediates: Vec<CertificateDer<'static>>,
}

impl Trust {
    /// `roots` (PEM certificates; `None`: Mozilla's, from `webpki-root-certs`) and the
    /// intermediates (PEM) besides the bundled one. Errors name the setting.
    pub fn new(
        roots: Option<&[String]>,
        intermediates: &[String],
    ) -> Result<Self, (String, String)> {
        let anchors = match roots {
            None => webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .filter_map(|der| webpki::anchor_from_trusted_cert(der).ok())
                .map(|anchor| anchor.to_owned())
                .collect(),
            Some(pems) => {
                let mut anchors = Vec::new();
                for (index, pem) in pems.iter().enumerate() {
                    let name = format!("trust_roots[{index}]");
                    let chain = CertChain::from_pem(pem.as_bytes())
                        .ok_or_else(|| (name.clone(), "is not a PEM certificate".to_owned()))?;
                    for der in &chain.0 {
                        let anchor = webpki::anchor_from_trusted_cert(der).map_err(|_| {
                            (
                                name.clone(),
                                "is not a readable X.509 certificate".to_owned(),
                            )
                        })?;
                        anchors.push(anchor.to_owned());
                    }
                }
                if anchors.is_empty() {
                    return Err(("trust_roots".to_owned(), "lists no certificate".to_owned()));
                }
                anchors
            }
        };
        let mut extra = Vec::new();
        let bundled = std::iter::once(("intermediates (bundled)".to_owned(), BUNDLED_INTERMEDIATE));
        let configured = intermediates
            .iter()
            .enumerate()
            .map(|(index, pem)| (format!("intermediates[{index}]"), pem.as_str()));
        for (name, pem) in bundled.chain(configured) {
            let chain = CertChain::from_pem(pem.as_bytes())
                .ok_or_else(|| (name, "is not a PEM certificate".to_owned()))?;
            extra.extend(chain.0);
        }
        Ok(Self {
            anchors,
            intermediates: extra,
        })
    }

    /// The signing certificate of `chain` once it has a path to a trust root, is valid at `at`
    /// and is named as PayPal's message-verification certificates are.
    pub fn validate<'c>(
        &self,
        chain: &'c CertChain,
        at: Timestamp,
    ) -> Result<EndEntityCert<'c>, CertProblem> {
        let (leaf, rest) = chain.0.split_first().ok_or(CertProblem::Unreadable)?;
        let cert = EndEntityCert::try_from(leaf).map_err(|_| CertProblem::Unreadable)?;
        let intermediates: Vec<CertificateDer<'_>> = rest
            .iter()
            .chain(&self.intermediates)
            .map(|der| CertificateDer::from(der.as_ref()))
            .collect();
        let seconds = u64::try_from(at.unix_seconds()).unwrap_or_default();
        let time = UnixTime::since_unix_epoch(Duration::from_secs(seconds));
        cert.verify_for_usage(
            CHAIN_ALGORITHMS,
            &self.anchors,
            &intermediates,
            time,
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| match e {
            webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                CertProblem::Expired
            }
            _ => CertProblem::Untrusted,
        })?;
        let named = CERT_NAMES.iter().any(|name| {
            ServerName::try_from(*name)
                .is_ok_and(|name| cert.verify_is_valid_for_subject_name(&name).is_ok())
        });
        if !named {
            return Err(CertProblem::WrongName);
        }
        Ok(cert)
    }
}

/// Whether `signature` is the RSA PKCS#1 v1.5 / SHA-256 (`SHA256withRSA`) signature of
/// `message` by `cert`'s key.
pub fn verifies(cert: &EndEntityCert<'_>, message: &[u8], signature: &[u8]) -> bool {
    cert.verify_signature(
        webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
        message,
        signature,
    )
    .is_ok()
}

/// The certificates at hand: those configured (`certificates`, never evicted) and those fetched
/// (at most [`MAX_CACHED`], the oldest evicted first), by normal URL.
#[derive(Debug, Default)]
pub struct CertCache {
    configured: HashMap<String, Arc<CertChain>>,
    fetched: RwLock<Fetched>,
}

#[derive(Debug, Default)]
struct Fetched {
    chains: HashMap<String, Arc<CertChain>>,
    order: VecDeque<String>,
}

impl CertCache {
    /// A cache holding the configured certificates.
    pub fn new(configured: HashMap<String, Arc<CertChain>>) -> Self {
        Self {
            configured,
            fetched: RwLock::default(),
        }
    }

    /// The certificate for `url` (a normal URL string), if it is at hand.
    pub fn get(&self, url: &str) -> Option<Arc<CertChain>> {
        if let Some(chain) = self.configured.get(url) {
            return Some(Arc::clone(chain));
        }
        let fetched = self.fetched.read().unwrap_or_else(|e| e.into_inner());
        fetched.chains.get(url).map(Arc::clone)
    }

    /// Keeps a fetched, validated certificate.
    pub fn insert(&self, url: String, chain: CertChain) {
        let mut fetched = self.fetched.write().unwrap_or_else(|e| e.into_inner());
        if fetched.chains.contains_key(&url) {
            return;
        }
        while fetched.order.len() >= MAX_CACHED {
            if let Some(oldest) = fetched.order.pop_front() {
                fetched.chains.remove(&oldest);
            }
        }
        fetched.order.push_back(url.clone());
        fetched.chains.insert(url, Arc::new(chain));
    }

    /// How many certificates were fetched and are kept.
    pub fn fetched_len(&self) -> usize {
        let fetched = self.fetched.read().unwrap_or_else(|e| e.into_inner());
        fetched.chains.len()
    }
}

/// Fetches certificates: a client that follows no redirect (an allowlisted host cannot send it
/// elsewhere), with the enrichment clients' connect timeout and a whole-request timeout, built
/// on first use.
#[derive(Debug)]
pub struct Fetcher {
    timeout: Duration,
    http: OnceLock<reqwest::Client>,
}

impl Fetcher {
    /// A fetcher whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            http: OnceLock::new(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(o2o_enrich::CONNECT_TIMEOUT.min(self.timeout))
                .timeout(self.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("o2o-connectors/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default()
        })
    }

    /// The body at `url`, at most [`MAX_CERT_BYTES`]. A 404 or 410 is a 401 (PayPal says there is
    /// no such certificate); everything else that fails is a 503, which PayPal retries.
    pub async fn fetch(&self, url: &Url) -> Result<Vec<u8>, Rejection> {
        let unavailable = |why: &str| {
            Rejection::new(
                503,
                "certificate_unavailable",
                format!("PayPal certificate: {why}"),
            )
        };
        let mut response = self
            .http()
            .get(url.clone())
            .send()
            .await
            .map_err(|e| unavailable(&o2o_enrich::transport("download", &e).to_string()))?;
        let status = response.status().as_u16();
        if matches!(status, 404 | 410) {
            return Err(Rejection::unauthorized(
                "certificate_not_found",
                "PayPal has no certificate at PAYPAL-CERT-URL",
            ));
        }
        if status != 200 {
            return Err(unavailable(&format!("download answered HTTP {status}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(&o2o_enrich::transport("download", &e).to_string()))?
        {
            if body.len() + chunk.len() > MAX_CERT_BYTES {
                return Err(unavailable("download is larger than a certificate"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A private key that signs as PayPal would (test keys only: `o2o send`, the tests).
pub struct SigningKey(RsaKeyPair);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Reads a PEM PKCS#8 (`PRIVATE KEY`) RSA key.
    pub fn from_pem(pem: &str) -> Result<Self, &'static str> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.trim().as_bytes())
            .map_err(|_| "is not a PEM PKCS#8 private key (-----BEGIN PRIVATE KEY-----)")?;
        RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map(Self)
            .map_err(|_| "is not a usable RSA private key")
    }

    /// The base64 RSA PKCS#1 v1.5 / SHA-256 signature of `message`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn allowlist(entries: &[&str]) -> Allowlist {
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        Allowlist::parse(&entries).expect("a valid allowlist")
    }

    fn permits(list: &Allowlist, url: &str) -> bool {
        parse_url(url).is_some_and(|url| list.permits(&url))
    }

    #[test]
    fn only_paypal_certificate_urls_on_listed_hosts_pass() {
        let list = allowlist(&DEFAULT_CERT_HOSTS);
        let path = "/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270";
        for ok in [
            format!("https://api.sandbox.paypal.com{path}"),
            format!("https://api.paypal.com{path}"),
            format!("https://API.PayPal.com{path}"),
            format!("https://api.paypal.com:443{path}"),
            format!("https://api-m.paypal.com{path}"),
        ] {
            assert!(permits(&list, &ok), "{ok}");
        }
        for bad in [
            format!("http://api.paypal.com{path}"),
            format!("https://api.paypal.com:8443{path}"),
            format!("https://api.paypal.com.evil.example{path}"),
            format!("https://api.paypal.com@evil.example{path}"),
            format!("https://user@api.paypal.com{path}"),
            format!("https://evil.example/{path}"),
            format!("https://evil.example{path}?https://api.paypal.com"),
            format!("https://api.paypal.com{path}?x=1"),
            format!("https://api.paypal.com{path}#f"),
            format!("https://api.paypal.com{path}/more"),
            "https://api.paypal.com/v1/notifications/certs/".to_owned(),
            "https://api.paypal.com/v1/notifications/certs/../../oauth2/token".to_owned(),
            "https://api.paypal.com/v1/notifications/certs/%2e%2e/x".to_owned(),
            "https://api.paypal.com/v1/oauth2/token".to_owned(),
            "file:///etc/passwd".to_owned(),
            "//api.paypal.com/v1/notifications/certs/CERT".to_owned(),
            format!("https://api.paypal.com{path}{}", "a".repeat(MAX_URL_LEN)),
        ] {
            assert!(!permits(&list, &bad), "{bad}");
        }
    }

    #[test]
    fn plain_http_only_where_written_out() {
        let list = allowlist(&["http://127.0.0.1:8080"]);
        assert!(permits(
            &list,
            "http://127.0.0.1:8080/v1/notifications/certs/CERT-1"
        ));
        assert!(!permits(
            &list,
            "https://127.0.0.1:8080/v1/notifications/certs/CERT-1"
        ));
        assert!(!permits(
            &list,
            "http://127.0.0.1:8081/v1/notifications/certs/CERT-1"
        ));
        for bad in [
            "ftp://api.paypal.com",
            "https://user@api.paypal.com",
            "https://api.paypal.com/path",
            "api.paypal.com/x",
            "",
            "https://",
        ] {
            assert!(Allowlist::parse(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_cache_keeps_the_newest_fetched_certificates() {
        let cache = CertCache::default();
        let chain = CertChain(vec![CertificateDer::from(vec![1u8])]);
        for n in 0..MAX_CACHED + 3 {
            cache.insert(format!("u{n}"), chain.clone());
        }
        assert_eq!(cache.fetched_len(), MAX_CACHED);
        assert!(cache.get("u0").is_none());
        assert!(cache.get(&format!("u{}", MAX_CACHED + 2)).is_some());
    }
}
