//! Razorpay connector: payment, refund and dispute webhooks, verified with
//! `X-Razorpay-Signature`.
//!
//! Source: razorpay.com/docs/webhooks/validate-test (`razorpay/markdown-docs`
//! `webhooks/validate-test.md`): "The hash signature is calculated using HMAC with SHA256
//! algorithm; with your webhook secret set as the key and the webhook request body as the
//! message", written in hex (razorpay-python `razorpay/utility/utility.py`, `hexdigest()`).
//! Duplicates are identified "using the `x-razorpay-event-id` header", which the signature does
//! not cover. Details and what remains unconfirmed: `docs/platforms/razorpay.md`.

mod normalise;
mod payload;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, Content, DeliveryId, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::link::OrderLink;
use o2o_core::settings::{Identifier, Secrets, SettingsError};
use o2o_core::signature::verify_hmac_sha256;
use o2o_core::signature::{DigestEncoding, SignatureError, sha256_hex, sign_hmac_sha256};
use o2o_core::{Rejection, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;

pub use payload::Envelope;

/// The header carrying the hex HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "X-Razorpay-Signature";
/// The header carrying the event's id (unique per event, repeated on retries; not signed).
pub const EVENT_ID_HEADER: &str = "x-razorpay-event-id";
/// The notes key read for the merchant's order id when none is configured.
pub const DEFAULT_ORDER_REF_NOTES_KEY: &str = "order_id";

static INFO: ChannelInfo = ChannelInfo {
    id: "razorpay",
    name: "Razorpay",
    kind: ChannelKind::Payment,
    default_sample: "payment-captured.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

fn default_order_ref_notes_key() -> String {
    DEFAULT_ORDER_REF_NOTES_KEY.to_owned()
}

/// A Razorpay channel table (`[channels.razorpay]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The webhook secret you typed when creating the webhook (Dashboard → Account & Settings →
    /// Webhooks; not the API key secret), newest first. Razorpay signs with the current secret
    /// only, and retries of older events with the old one: list both while changing it.
    pub secrets: Secrets,
    /// The key of the payment's `notes` that holds the merchant's order id (default `order_id`);
    /// without it the payment's Razorpay `order_id` (`order_…`) is the order reference.
    #[serde(default = "default_order_ref_notes_key")]
    pub order_ref_notes_key: String,
    /// The Razorpay account (`acc_…`) this table serves, optional: a delivery whose
    /// `account_id` is another (or none) is refused with 401 `account_mismatch`.
    #[serde(default)]
    pub account_id: Option<Identifier>,
    /// The orders channel these payments pay for.
    #[serde(flatten)]
    pub link: OrderLink,
}

/// The Razorpay connector for one webhook (one account, or one partner app).
#[derive(Debug)]
pub struct Razorpay {
    secrets: Secrets,
    account_id: Option<Identifier>,
    mapping: normalise::Mapping,
}

#[async_trait::async_trait]
impl Connector for Razorpay {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Envelope;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        settings.link.check()?;
        let key = settings.order_ref_notes_key.trim();
        if key.is_empty() {
            return Err(SettingsError::setting(
                "order_ref_notes_key",
                "must not be empty",
            ));
        }
        Ok(Self {
            secrets: settings.secrets,
            account_id: settings.account_id,
            mapping: normalise::Mapping {
                order_ref_notes_key: key.to_owned(),
                link: settings.link,
            },
        })
    }

    /// The signature covers every byte of the body, and the body names the event, the payment,
    /// its amounts, its status and the account: everything that decides what a delivery means.
    /// Only the event id header is outside it (see `parse`). With an `account_id` configured,
    /// the body's must be it (401 `account_mismatch`); a body that is not JSON is left to
    /// `parse`, which quarantines it.
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r, ()>, Rejection> {
        verify_hmac_sha256(
            self.secrets.all(),
            &[&req.body],
            req.headers.get(SIGNATURE_HEADER),
            DigestEncoding::Hex,
        )?;
        if let Some(expected) = &self.account_id
            && let Ok(account) = serde_json::from_slice::<payload::Account>(&req.body)
            && account.account_id.as_deref() != Some(expected.as_str())
        {
            return Err(Rejection::unauthorized(
                "account_mismatch",
                "the event's account_id is not the configured account",
            ));
        }
        Ok(Verified::body(req))
    }

    /// The event id is the `x-razorpay-event-id` header, which is not signed: the content key
    /// (topic and body) makes a captured body re-posted under a fresh id a duplicate of its first
    /// delivery. Without the header the id is the body's SHA-256. The tenant is the URL's, else
    /// the event's `account_id`; the topic is the body's `event`.
    fn parse(&self, verified: &Verified<'_, ()>) -> Result<Parsed<Envelope>, NormaliseError> {
        let envelope = payload::read(&verified.payload)?;
        let external_event_id = verified
            .request
            .headers
            .get(EVENT_ID_HEADER)
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map_or_else(
                || format!("sha256:{}", sha256_hex(&verified.payload)),
                str::to_owned,
            );
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(envelope.account_id.as_deref())
            .filter(|tenant| !tenant.is_empty())
            .unwrap_or("_")
            .to_owned();
        Ok(Parsed {
            id: DeliveryId {
                tenant,
                external_event_id,
                topic: envelope.event.clone(),
            },
            message: envelope,
            content: Some(Content::Payload),
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        envelope: Envelope,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&envelope, &self.mapping, ctx)
    }

    /// Signs as Razorpay does: the hex HMAC-SHA256 of the body with the newest secret.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        let digest = sign_hmac_sha256(self.secrets.newest(), &[&req.body], DigestEncoding::Hex);
        req.headers.set(SIGNATURE_HEADER, digest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::signature::hmac_sha256;
    use o2o_core::{Secret, Timestamp};

    /// razorpay/razorpay-python `tests/mocks/fake_payment_authorized_webhook.json` @
    /// 0146d4d90c163fdd0f1c2f11bb11360b140e02e2, byte for byte (two-space indents, a final
    /// newline), the body of `tests/test_client_utility.py::test_verify_webhook_signature`.
    const SDK_BODY: &str = r#"{
  "event": "payment.authorized",
  "entity": "event",
  "contains": [
    "payment"
  ],
  "payload": {
    "payment": {
      "entity": {
        "id": "pay_6koWN7bvxujzxM",
        "entity": "payment",
        "amount": 1000000,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_100000000order",
        "international": false,
        "method": "card",
        "amount_refunded": 0,
        "refund_status": null,
        "captured": true,
        "description": "random description",
        "card_id": "card_6koWNAT6LASUqy",
        "bank": null,
        "wallet": null,
        "vpa": null,
        "email": "a@b.com",
        "contact": "+919999999999",
        "notes": {
          "merchant_order_id": "random order id"
        },
        "fee": 23000,
        "service_tax": 3000,
        "error_code": null,
        "error_description": null,
        "created_at": 1479978483
      }
    }
  },
  "created_at": 1400826760
}
"#;
    /// The same test's secret (`self.client.auth[1]`, `tests/helpers.py`: `('key_id',
    /// 'key_secret')`) and signature.
    const SDK_SECRET: &str = "key_secret";
    const SDK_SIGNATURE: &str = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9";

    fn razorpay(secrets: &[&str], account_id: Option<&str>) -> Razorpay {
        let secrets =
            Secrets::new(secrets.iter().map(|s| Secret::new(*s)).collect()).expect("a secret");
        Razorpay::build(Settings {
            secrets,
            order_ref_notes_key: default_order_ref_notes_key(),
            account_id: account_id.map(Identifier::new),
            link: OrderLink::default(),
        })
        .expect("builds")
    }

    fn request(body: &str, signature: Option<&str>) -> WebhookRequest {
        let mut headers: o2o_core::Headers = [(EVENT_ID_HEADER, "evt_1")].into_iter().collect();
        if let Some(signature) = signature {
            headers.insert(SIGNATURE_HEADER, signature);
        }
        WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            endpoint: None,
            query: String::new(),
            headers,
            body: body.as_bytes().to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn refusal(connector: &Razorpay, req: &WebhookRequest) -> Option<(u16, &'static str)> {
        connector
            .verify(req)
            .err()
            .map(|rejection| (rejection.status, rejection.code))
    }

    #[test]
    fn accepts_the_sdk_vector_and_reads_it_as_an_ignored_event() {
        let connector = razorpay(&[SDK_SECRET], None);
        let req = request(SDK_BODY, Some(SDK_SIGNATURE));
        let verified = connector.verify(&req).expect("the SDK's vector verifies");
        let parsed = connector.parse(&verified).expect("parses");
        assert_eq!(
            parsed.id,
            DeliveryId {
                tenant: "_".into(),
                external_event_id: "evt_1".into(),
                topic: "payment.authorized".into(),
            }
        );
        assert_eq!(parsed.content, Some(Content::Payload));
        let ctx = NormaliseContext {
            received_at: req.received_at,
        };
        assert_eq!(
            connector.normalise(&parsed.id, parsed.message, &ctx),
            Ok(Normalised::Ignored(
                "event payment.authorized is not mapped".into()
            ))
        );
        let mut signed = request(SDK_BODY, None);
        connector.sign(&mut signed).expect("sign");
        assert_eq!(signed.headers.get(SIGNATURE_HEADER), Some(SDK_SIGNATURE));
        let upper = request(SDK_BODY, Some(&SDK_SIGNATURE.to_uppercase()));
        assert_eq!(refusal(&connector, &upper), None, "hex in either case");
    }

    /// The same file's checkout vector (`test_verify_payment_signature`: HMAC-SHA256 of
    /// `fake_order_id|fake_payment_id` under `key_secret`, hex): not a webhook, but the same
    /// primitive and encoding.
    #[test]
    fn the_sdk_checkout_vector_is_the_same_hex_hmac() {
        assert_eq!(
            hex_of(&hmac_sha256(
                SDK_SECRET.as_bytes(),
                &[b"fake_order_id|fake_payment_id"]
            )),
            "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89"
        );
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn refuses_a_changed_body_or_another_secret() {
        let connector = razorpay(&[SDK_SECRET], None);
        let tampered = SDK_BODY.replace("1000000", "1000001");
        assert_eq!(
            refusal(&connector, &request(&tampered, Some(SDK_SIGNATURE))),
            Some((401, "signature_mismatch"))
        );
        let without_newline = SDK_BODY.trim_end();
        assert_eq!(
            refusal(&connector, &request(without_newline, Some(SDK_SIGNATURE))),
            Some((401, "signature_mismatch")),
            "every byte is signed"
        );
        assert_eq!(
            refusal(
                &razorpay(&["another_secret"], None),
                &request(SDK_BODY, Some(SDK_SIGNATURE))
            ),
            Some((401, "signature_mismatch"))
        );
    }

    #[test]
    fn every_listed_secret_verifies_and_the_newest_signs() {
        let rotating = razorpay(&["new_secret", SDK_SECRET], None);
        assert_eq!(
            refusal(&rotating, &request(SDK_BODY, Some(SDK_SIGNATURE))),
            None
        );
        let mut signed = request(SDK_BODY, None);
        rotating.sign(&mut signed).expect("sign");
        assert_ne!(signed.headers.get(SIGNATURE_HEADER), Some(SDK_SIGNATURE));
        assert_eq!(refusal(&rotating, &signed), None);
        assert_eq!(
            refusal(&razorpay(&["new_secret"], None), &signed),
            None,
            "signed with the newest"
        );
    }

    #[test]
    fn refuses_a_missing_or_malformed_signature() {
        let connector = razorpay(&[SDK_SECRET], None);
        assert_eq!(
            refusal(&connector, &request(SDK_BODY, None)),
            Some((401, "signature_missing"))
        );
        assert_eq!(
            refusal(&connector, &request(SDK_BODY, Some(" "))),
            Some((401, "signature_missing"))
        );
        // test_verify_webhook_signature_with_exception: `test_signature` over an empty body.
        assert_eq!(
            refusal(&connector, &request("", Some("test_signature"))),
            Some((401, "signature_malformed"))
        );
        assert_eq!(
            refusal(&connector, &request(SDK_BODY, Some(&SDK_SIGNATURE[..62]))),
            Some((401, "signature_malformed"))
        );
    }

    #[test]
    fn a_configured_account_must_be_the_events() {
        let body = r#"{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.authorized","payload":{},"created_at":1}"#;
        let signature = hex_of(&hmac_sha256(b"s", &[body.as_bytes()]));
        let req = request(body, Some(&signature));
        assert_eq!(refusal(&razorpay(&["s"], None), &req), None);
        assert_eq!(
            refusal(&razorpay(&["s"], Some("acc_BFQ7uQEaa7j2z7")), &req),
            None
        );
        assert_eq!(
            refusal(&razorpay(&["s"], Some("acc_Other")), &req),
            Some((401, "account_mismatch"))
        );
        let sdk = request(SDK_BODY, Some(SDK_SIGNATURE));
        assert_eq!(
            refusal(&razorpay(&[SDK_SECRET], Some("acc_Other")), &sdk),
            Some((401, "account_mismatch")),
            "no account_id is not the configured one"
        );
        let forged = request(body, Some(SDK_SIGNATURE));
        assert_eq!(
            refusal(&razorpay(&["s"], Some("acc_Other")), &forged),
            Some((401, "signature_mismatch")),
            "the signature is checked first"
        );
    }

    #[test]
    fn the_tenant_is_the_urls_else_the_account_and_the_id_falls_back_to_the_body_hash() {
        let connector = razorpay(&["s"], None);
        let body = r#"{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.authorized","payload":{},"created_at":1}"#;
        let mut req = request(body, None);
        req.headers = o2o_core::Headers::new();
        let parsed = connector.parse(&Verified::body(&req)).expect("parses");
        assert_eq!(parsed.id.tenant, "acc_BFQ7uQEaa7j2z7");
        assert_eq!(
            parsed.id.external_event_id,
            format!("sha256:{}", sha256_hex(body.as_bytes()))
        );
        req.path_tenant = Some("shop-1".into());
        let parsed = connector.parse(&Verified::body(&req)).expect("parses");
        assert_eq!(parsed.id.tenant, "shop-1");
        let unreadable = request("not json", None);
        assert!(connector.parse(&Verified::body(&unreadable)).is_err());
    }

    #[test]
    fn settings_name_what_is_wrong() {
        let table = |json: &str| -> o2o_core::settings::SettingsTable {
            serde_json::from_str(json).expect("json")
        };
        let parse = |json: &str| {
            o2o_core::settings::parse_settings::<Settings>(&table(json), "channels.razorpay")
                .and_then(Razorpay::build)
        };
        let built = parse(r#"{"secrets":["s"]}"#).expect("defaults");
        assert_eq!(built.mapping.order_ref_notes_key, "order_id");
        let error = parse(r#"{"secrets":["s"],"order_ref_notes_key":" "}"#)
            .expect_err("empty key")
            .to_string();
        assert!(error.contains("order_ref_notes_key"), "{error}");
        let error = parse(r#"{"secrets":["s"],"orders_tenant":"t"}"#)
            .expect_err("a tenant without a channel")
            .to_string();
        assert!(error.contains("orders_tenant"), "{error}");
        let error = parse(r#"{"secrets":["s"],"secret":"x"}"#)
            .expect_err("a typo")
            .to_string();
        assert!(error.contains("unknown setting `secret`"), "{error}");
    }
}
