//! PayPal connector: REST webhooks (Payments v2 captures and refunds, disputes), verified offline.
//!
//! PayPal signs `{PAYPAL-TRANSMISSION-ID}|{PAYPAL-TRANSMISSION-TIME}|{webhook_id}|{crc32}`, where
//! `crc32` is the CRC-32 of the raw body as an unsigned decimal, with SHA256withRSA
//! (`PAYPAL-AUTH-ALGO`), base64 in `PAYPAL-TRANSMISSION-SIG`, by the key of the certificate at
//! `PAYPAL-CERT-URL` (PayPal-Python-SDK `paypalrestsdk/notifications.py` @28becaf2,
//! `_get_expected_sig` and `_verify_signature`; PayPal-Java-SDK
//! `rest-api-sdk/src/main/java/com/paypal/base/SSLUtil.java` @ccaa336b, `crc32` and
//! `validateData`). The certificate is fetched in [`Connector::prepare_verify`] from an allowlisted
//! PayPal host only, checked (chain, validity, name: see [`certs`]) and cached; `verify` reads the
//! cache. Why offline rather than PayPal's `verify-webhook-signature` API, and what the CRC-32
//! leaves open: `docs/platforms/paypal.md`.

pub mod certs;
mod crc32;
mod normalise;
mod payload;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, Content, DeliveryId, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Identifier, Secret, SettingsError};
use o2o_core::signature::{SignatureError, check_timestamp_window, sha256_hex};
use o2o_core::{Rejection, Timestamp, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::certs::{Allowlist, CertCache, CertChain, Fetcher, SigningKey, Trust};
pub use crate::crc32::crc32;
pub use crate::normalise::Kind;
pub use crate::payload::{Envelope, Resource};

/// The channel id.
pub const CHANNEL_ID: &str = "paypal";
/// The transmission's id, which the signature covers.
pub const TRANSMISSION_ID_HEADER: &str = "PAYPAL-TRANSMISSION-ID";
/// The transmission's time (RFC 3339), which the signature covers.
pub const TRANSMISSION_TIME_HEADER: &str = "PAYPAL-TRANSMISSION-TIME";
/// The base64 signature.
pub const SIGNATURE_HEADER: &str = "PAYPAL-TRANSMISSION-SIG";
/// Where the signing certificate is.
pub const CERT_URL_HEADER: &str = "PAYPAL-CERT-URL";
/// The signature algorithm; only `SHA256withRSA` is accepted.
pub const AUTH_ALGO_HEADER: &str = "PAYPAL-AUTH-ALGO";
/// The one algorithm PayPal uses.
pub const AUTH_ALGO: &str = "SHA256withRSA";
/// The certificate download timeout, unless `cert_timeout_ms` says otherwise.
pub const CERT_TIMEOUT: Duration = Duration::from_secs(5);

static INFO: ChannelInfo = ChannelInfo {
    id: CHANNEL_ID,
    name: "PayPal",
    kind: ChannelKind::Payment,
    default_sample: "payment-capture-completed.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// One webhook id, or several during a move from one webhook to another.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum WebhookIds {
    /// One id.
    One(Identifier),
    /// Several, newest first.
    Many(Vec<Identifier>),
}

impl WebhookIds {
    fn list(&self) -> Vec<String> {
        match self {
            Self::One(id) => vec![id.as_str().to_owned()],
            Self::Many(ids) => ids.iter().map(|id| id.as_str().to_owned()).collect(),
        }
    }
}

/// A PayPal channel table (`[channels.paypal]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The webhook's ID (Developer Dashboard → Apps & Credentials → your app → Webhooks, or the
    /// `id` the Webhooks Management API returned), which the signature covers; a list (newest
    /// first) while moving from one webhook to another.
    pub webhook_id: WebhookIds,
    /// The hosts `PAYPAL-CERT-URL` may name (https on port 443, exact match); an entry written
    /// `scheme://host:port` names exactly that origin, plain `http` included (a local mock only).
    /// Default: api.paypal.com, api.sandbox.paypal.com, api-m.paypal.com,
    /// api-m.sandbox.paypal.com.
    #[serde(default)]
    pub cert_hosts: Option<Vec<String>>,
    /// Signing certificates known up front, {`PAYPAL-CERT-URL` → PEM}: used without a download
    /// (tests, deployments without outbound access). Checked at start-up like a download.
    #[serde(default)]
    pub certificates: BTreeMap<String, String>,
    /// The roots a signing certificate must chain to, PEM (default: Mozilla's root store, as
    /// shipped in `webpki-root-certs`).
    #[serde(default)]
    pub trust_roots: Option<Vec<String>>,
    /// Intermediate CA certificates (PEM) to build the chain with, besides the bundled DigiCert
    /// SHA2 Extended Validation Server CA of PayPal's SDKs (PayPal's download holds the leaf
    /// only).
    #[serde(default)]
    pub intermediates: Vec<String>,
    /// Refuse a delivery whose `PAYPAL-TRANSMISSION-TIME` is further than this many seconds from
    /// the time it is received (default: no limit, PayPal documents none).
    #[serde(default)]
    pub tolerance_secs: Option<u64>,
    /// Timeout of a certificate download in milliseconds (default 5000).
    #[serde(default)]
    pub cert_timeout_ms: Option<u64>,
    /// TEST ONLY: the PKCS#8 PEM private key of a test signing certificate, with which `o2o send`
    /// and the tests sign samples as PayPal would. Never PayPal's (nobody has it).
    #[serde(default)]
    pub signing_key: Option<Secret>,
    /// TEST ONLY: the `PAYPAL-CERT-URL` that samples signed with `signing_key` name (one of
    /// `certificates`).
    #[serde(default)]
    pub signing_cert_url: Option<String>,
    /// The orders these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The PayPal connector for one webhook.
pub struct PayPal {
    webhook_ids: Vec<String>,
    allowlist: Allowlist,
    trust: Trust,
    cache: CertCache,
    fetcher: Fetcher,
    tolerance_secs: Option<i64>,
    signer: Option<(SigningKey, String)>,
    link: OrderLink,
}

impl std::fmt::Debug for PayPal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayPal")
            .field("webhook_ids", &self.webhook_ids)
            .field("allowlist", &self.allowlist)
            .field("tolerance_secs", &self.tolerance_secs)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

/// The transmission headers of a delivery, read and checked for shape.
struct Transmission<'r> {
    id: &'r str,
    time: &'r str,
    signature: Vec<u8>,
    cert_url: reqwest::Url,
}

fn header<'r>(
    req: &'r WebhookRequest,
    name: &str,
    code: &'static str,
) -> Result<&'r str, Rejection> {
    req.headers
        .get(name)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            Rejection::unauthorized(code, format!("{name} is missing; the signature covers it"))
        })
}

/// What PayPal signs.
pub fn signed_message(
    transmission_id: &str,
    transmission_time: &str,
    webhook_id: &str,
    body: &[u8],
) -> String {
    format!(
        "{transmission_id}|{transmission_time}|{webhook_id}|{}",
        crc32(body)
    )
}

impl PayPal {
    /// Builds the instance with `now` as the time the configured certificates must be valid at
    /// (`build` passes the current time; tests of expired certificates pass theirs).
    pub fn build_at(settings: Settings, now: Timestamp) -> Result<Self, SettingsError> {
        settings.link.check()?;
        let webhook_ids = settings.webhook_id.list();
        if webhook_ids.is_empty() {
            return Err(SettingsError::setting("webhook_id", "lists no id"));
        }
        let hosts = settings
            .cert_hosts
            .unwrap_or_else(|| certs::DEFAULT_CERT_HOSTS.map(str::to_owned).to_vec());
        let allowlist =
            Allowlist::parse(&hosts).map_err(|e| SettingsError::setting("cert_hosts", e))?;
        let trust = Trust::new(settings.trust_roots.as_deref(), &settings.intermediates)
            .map_err(|(name, problem)| SettingsError::setting(&name, problem))?;
        let mut configured = HashMap::new();
        for (url, pem) in &settings.certificates {
            let name = format!("certificates.\"{url}\"");
            let key = certs::parse_url(url)
                .ok_or_else(|| SettingsError::setting(&name, "is not a URL"))?;
            let chain = CertChain::from_pem(pem.as_bytes())
                .ok_or_else(|| SettingsError::setting(&name, "is not a PEM certificate"))?;
            trust
                .validate(&chain, now)
                .map_err(|problem| SettingsError::setting(&name, problem))?;
            configured.insert(key.as_str().to_owned(), Arc::new(chain));
        }
        let timeout = match settings.cert_timeout_ms {
            Some(0) => return Err(SettingsError::setting("cert_timeout_ms", "must be above 0")),
            Some(ms) => Duration::from_millis(ms),
            None => CERT_TIMEOUT,
        };
        let tolerance_secs = settings
            .tolerance_secs
            .map(|secs| {
                i64::try_from(secs)
                    .map_err(|_| SettingsError::setting("tolerance_secs", "is too large"))
            })
            .transpose()?;
        let signer = match (settings.signing_key, settings.signing_cert_url) {
            (None, None) => None,
            (Some(key), Some(url)) => {
                let key = SigningKey::from_pem(key.expose())
                    .map_err(|e| SettingsError::setting("signing_key", e))?;
                if certs::parse_url(&url).is_none() {
                    return Err(SettingsError::setting("signing_cert_url", "is not a URL"));
                }
                Some((key, url.trim().to_owned()))
            }
            (Some(_), None) => {
                return Err(SettingsError::setting(
                    "signing_cert_url",
                    "is needed with signing_key",
                ));
            }
            (None, Some(_)) => {
                return Err(SettingsError::setting(
                    "signing_key",
                    "is needed with signing_cert_url",
                ));
            }
        };
        Ok(Self {
            webhook_ids,
            allowlist,
            trust,
            cache: CertCache::new(configured),
            fetcher: Fetcher::new(timeout),
            tolerance_secs,
            signer,
            link: settings.link,
        })
    }

    /// Reads the transmission headers; refuses a delivery without them, or with another
    /// algorithm, or with a signature that cannot be an RSA signature.
    fn transmission<'r>(&self, req: &'r WebhookRequest) -> Result<Transmission<'r>, Rejection> {
        let signature = req
            .headers
            .get(SIGNATURE_HEADER)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .ok_or(SignatureError::Missing)?;
        let id = header(req, TRANSMISSION_ID_HEADER, "transmission_id_missing")?;
        let time = header(req, TRANSMISSION_TIME_HEADER, "transmission_time_missing")?;
        let algo = header(req, AUTH_ALGO_HEADER, "auth_algo_missing")?;
        if algo != AUTH_ALGO {
            return Err(Rejection::unauthorized(
                "auth_algo_unsupported",
                format!("{AUTH_ALGO_HEADER} must be {AUTH_ALGO}"),
            ));
        }
        let cert_url = header(req, CERT_URL_HEADER, "cert_url_missing")?;
        let cert_url = certs::parse_url(cert_url).ok_or_else(|| {
            Rejection::unauthorized(
                "cert_url_not_allowed",
                format!("{CERT_URL_HEADER} is not a URL"),
            )
        })?;
        // RSA 2048 to 8192 bits: 256 to 1024 bytes.
        let signature = BASE64
            .decode(signature)
            .ok()
            .filter(|sig| (256..=1024).contains(&sig.len()))
            .ok_or(SignatureError::Malformed)?;
        Ok(Transmission {
            id,
            time,
            signature,
            cert_url,
        })
    }
}

#[async_trait::async_trait]
impl Connector for PayPal {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = (Envelope, Option<Kind>, Option<Resource>);
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        Self::build_at(settings, Timestamp::now())
    }

    /// Downloads the certificate at `PAYPAL-CERT-URL` when it is not at hand and its host is
    /// allowlisted, checks it at the delivery's time and caches it. Anything else (no such
    /// header, a URL elsewhere) is left for `verify` to refuse; so is a delivery without
    /// well-formed transmission headers, which never causes a download.
    async fn prepare_verify(&self, req: &WebhookRequest) -> Result<(), Rejection> {
        let Ok(transmission) = self.transmission(req) else {
            return Ok(());
        };
        let url = transmission.cert_url;
        if self.cache.get(url.as_str()).is_some() || !self.allowlist.permits(&url) {
            return Ok(());
        }
        let body = self.fetcher.fetch(&url).await?;
        let chain = CertChain::from_pem(&body).ok_or_else(|| {
            Rejection::new(
                503,
                "certificate_unavailable",
                "PayPal certificate: the download is not a PEM certificate",
            )
        })?;
        self.trust
            .validate(&chain, req.received_at)
            .map_err(certs::CertProblem::rejection)?;
        self.cache.insert(url.as_str().to_owned(), chain);
        Ok(())
    }

    /// The certificate's key must have signed the transmission id and time, one of the configured
    /// webhook ids and the body's CRC-32; the certificate must chain to a trust root, be valid at
    /// the delivery's time and be PayPal's message-verification certificate.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        let transmission = self.transmission(req)?;
        if let Some(tolerance) = self.tolerance_secs {
            let sent = Timestamp::parse_rfc3339(transmission.time)
                .map_err(|_| SignatureError::Malformed)?;
            check_timestamp_window(sent.unix_seconds(), req.received_at, tolerance)?;
        }
        let url = transmission.cert_url.as_str();
        let chain = match self.cache.get(url) {
            Some(chain) => chain,
            None if self.allowlist.permits(&transmission.cert_url) => {
                return Err(Rejection::new(
                    503,
                    "certificate_unavailable",
                    "the certificate at PAYPAL-CERT-URL has not been downloaded",
                ));
            }
            None => {
                return Err(Rejection::unauthorized(
                    "cert_url_not_allowed",
                    format!("{CERT_URL_HEADER} is not a PayPal certificate URL (cert_hosts)"),
                ));
            }
        };
        let cert = self
            .trust
            .validate(&chain, req.received_at)
            .map_err(certs::CertProblem::rejection)?;
        // Every webhook id is tried, so the time taken does not tell which one matched.
        let mut matched = false;
        for webhook_id in &self.webhook_ids {
            let message = signed_message(transmission.id, transmission.time, webhook_id, &req.body);
            matched |= certs::verifies(&cert, message.as_bytes(), &transmission.signature);
        }
        if !matched {
            return Err(SignatureError::Mismatch.into());
        }
        Ok(Verified::body(req))
    }

    /// The key is the event `id` (`WH-…`), and the topic its `event_type`; the tenant is the URL's,
    /// else the merchant the resource names, else `_`. The signature covers the body only through
    /// its CRC-32, so the content key is the signed transmission itself: a captured transmission
    /// re-posted with another body of the same CRC-32 is its duplicate.
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, ()>,
    ) -> Result<Parsed<Self::Message<'v>>, NormaliseError> {
        let envelope = payload::read(&verified.payload)?;
        let kind = Kind::of(&envelope.event_type);
        let resource = kind.map(|_| payload::resource(&envelope)).transpose()?;
        let req = verified.request;
        let tenant = req
            .path_tenant
            .as_deref()
            .or_else(|| resource.as_ref().and_then(Resource::merchant_id))
            .unwrap_or("_")
            .to_owned();
        let content = match (
            req.headers.get(TRANSMISSION_ID_HEADER),
            req.headers.get(TRANSMISSION_TIME_HEADER),
        ) {
            (Some(id), Some(time)) => Some(Content::Sha256(sha256_hex(
                format!("{}|{}|{}", id.trim(), time.trim(), crc32(&verified.payload)).as_bytes(),
            ))),
            _ => None,
        };
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id: envelope.id.clone(),
                topic: envelope.event_type.clone(),
            },
            message: (envelope, kind, resource),
            content,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        (envelope, kind, resource): Self::Message<'_>,
        _ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&envelope, kind, resource.as_ref(), &self.link)
    }

    /// Signs as PayPal would, with the test key (`signing_key`) and for the newest webhook id:
    /// sets the transmission time to `received_at` (whole seconds), the certificate URL, the
    /// algorithm and the signature; a transmission id is made from the body when the sample has
    /// none. Without a test key: `NoSecret`.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let (key, cert_url) = self.signer.as_ref().ok_or(SignatureError::NoSecret)?;
        if req.headers.get(TRANSMISSION_ID_HEADER).is_none() {
            let digest = sha256_hex(&req.body);
            let id = format!(
                "{}-{}-{}-{}-{}",
                &digest[0..8],
                &digest[8..12],
                &digest[12..16],
                &digest[16..20],
                &digest[20..32]
            );
            req.headers.set(TRANSMISSION_ID_HEADER, id);
        }
        let id = req
            .headers
            .get(TRANSMISSION_ID_HEADER)
            .unwrap_or_default()
            .to_owned();
        // A sample that names its transmission time keeps it (its content key then stays the
        // same from run to run); otherwise it is sent now.
        let time = match req.headers.get(TRANSMISSION_TIME_HEADER) {
            Some(time) => time.to_owned(),
            None => Timestamp::from_unix_seconds(req.received_at.unix_seconds())
                .map_err(|_| SignatureError::Malformed)?
                .to_string(),
        };
        let webhook_id = self.webhook_ids.first().ok_or(SignatureError::NoSecret)?;
        let message = signed_message(&id, &time, webhook_id, &req.body);
        let signature = key
            .sign(message.as_bytes())
            .ok_or(SignatureError::NoSecret)?;
        req.headers.set(TRANSMISSION_TIME_HEADER, time);
        req.headers.set(CERT_URL_HEADER, cert_url.clone());
        req.headers.set(AUTH_ALGO_HEADER, AUTH_ALGO);
        req.headers.set(SIGNATURE_HEADER, signature);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
