//! Deliveroo connector: the Order API's webhooks (order events, rider events) and the legacy POS
//! webhooks (`new_order`, `cancel_order`), verified with `X-Deliveroo-Hmac-Sha256`.
//!
//! Source: api-docs.deliveroo.com `docs/securing-webhooks`: the signature is the hex
//! HMAC-SHA256, keyed with the webhook secret (not the API client secret), of
//! `X-Deliveroo-Sequence-Guid` + `" "` + the raw body; the legacy POS `new_order` and
//! `cancel_order` webhooks put `" \n "` (space, newline, space) between the two instead.
//! Events: `reference/order-events-webhook-1`, `reference/rider-events-webhook-1`. Details and
//! what remains unconfirmed: `docs/platforms/deliveroo.md`.

mod normalise;
mod payload;

use std::borrow::Cow;

use o2o_core::GetRequests;
use o2o_core::connector::{
    ChannelInfo, Connector, DeliveryId, NormaliseContext, NormaliseError, Normalised, Parsed,
    Verified,
};
use o2o_core::event::ChannelKind;
use o2o_core::settings::{Secrets, SettingsError};
use o2o_core::signature::{
    DigestEncoding, SignatureError, sha256_hex, sign_hmac_sha256, verify_hmac_sha256,
};
use o2o_core::{Rejection, WebhookRequest};
use schemars::JsonSchema;
use serde::Deserialize;

pub use payload::Envelope;

/// The header carrying the hex HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "X-Deliveroo-Hmac-Sha256";
/// The header carrying the delivery's sequence GUID, which the signature covers.
pub const SEQUENCE_HEADER: &str = "X-Deliveroo-Sequence-Guid";
/// Between the GUID and the body in what Order API webhooks sign.
pub const SEPARATOR: &[u8] = b" ";
/// Between the GUID and the body in what the legacy POS webhooks sign.
pub const LEGACY_SEPARATOR: &[u8] = b" \n ";
/// The events of the legacy POS webhooks.
const LEGACY_EVENTS: [&str; 2] = ["new_order", "cancel_order"];

static INFO: ChannelInfo = ChannelInfo {
    id: "deliveroo",
    name: "Deliveroo",
    kind: ChannelKind::Delivery,
    default_sample: "order-new.http",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// A Deliveroo channel table (`[channels.deliveroo]`).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Settings {
    /// The webhook secret (Developer Portal → your integration → Webhooks; not the API client
    /// secret), newest first.
    pub secrets: Secrets,
}

/// The Deliveroo connector for one integration.
#[derive(Debug)]
pub struct Deliveroo {
    secrets: Secrets,
}

/// Whether `event` is one of the legacy POS webhook's.
fn is_legacy(event: &str) -> bool {
    LEGACY_EVENTS.contains(&event)
}

#[async_trait::async_trait]
impl Connector for Deliveroo {
    type Settings = Settings;
    /// The body, read once while checking which scheme signed it; `None` when it is not an
    /// envelope (it goes to the quarantine) or for a stored delivery read again.
    type Facts = Option<Envelope>;
    type Message<'v> = Cow<'v, Envelope>;
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        Ok(Self {
            secrets: settings.secrets,
        })
    }

    /// The signature covers the sequence GUID and the whole body, and the body names the event,
    /// so everything that decides what a delivery means is signed. The two separators are two
    /// schemes: a legacy event (`new_order`, `cancel_order`) must have been signed with the
    /// legacy one and every other event with `" "`, else 401 `signature_mismatch` (without this,
    /// a GUID ending in `" \n"` could stand in for the other scheme).
    fn verify<'r>(
        &self,
        req: &'r WebhookRequest,
    ) -> Result<Verified<'r, Option<Envelope>>, Rejection> {
        let guid = req
            .headers
            .get(SEQUENCE_HEADER)
            .filter(|guid| !guid.trim().is_empty())
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "sequence_guid_missing",
                    format!("{SEQUENCE_HEADER} is missing; the signature covers it"),
                )
            })?;
        let provided = req.headers.get(SIGNATURE_HEADER);
        let check = |separator: &[u8]| {
            verify_hmac_sha256(
                self.secrets.all(),
                &[guid.as_bytes(), separator, &req.body],
                provided,
                DigestEncoding::Hex,
            )
        };
        let legacy = match check(SEPARATOR) {
            Ok(()) => false,
            Err(SignatureError::Mismatch) => {
                check(LEGACY_SEPARATOR)?;
                true
            }
            Err(e) => return Err(e.into()),
        };
        let envelope = payload::read(&req.body).ok();
        if let Some(envelope) = &envelope
            && is_legacy(&envelope.event) != legacy
        {
            return Err(Rejection::unauthorized(
                "signature_mismatch",
                "the signature's scheme (Order API or legacy POS) is not the event's",
            ));
        }
        Ok(Verified {
            request: req,
            payload: Cow::Borrowed(&req.body),
            facts: envelope,
        })
    }

    /// Deliveroo has no event id, and may send a callback more than once: the key is the SHA-256
    /// of the signed body, so a repeat is a duplicate and any change is a new delivery. The
    /// tenant is the URL's, else the order's site (`location_id`); rider events name no site.
    fn parse<'v>(
        &self,
        verified: &'v Verified<'_, Option<Envelope>>,
    ) -> Result<Parsed<Cow<'v, Envelope>>, NormaliseError> {
        let envelope = match &verified.facts {
            Some(envelope) => Cow::Borrowed(envelope),
            None => Cow::Owned(payload::read(&verified.payload)?),
        };
        let order = envelope
            .body
            .as_ref()
            .and_then(|body| body.order.as_ref())
            .or(envelope.order.as_ref());
        let location = order
            .and_then(|order| order.location_id.as_deref())
            .or(envelope.location_id.as_deref())
            .filter(|location| !location.is_empty());
        let tenant = verified
            .request
            .path_tenant
            .as_deref()
            .or(location)
            .unwrap_or("_");
        Ok(Parsed {
            id: DeliveryId {
                tenant: tenant.to_owned(),
                external_event_id: format!("sha256:{}", sha256_hex(&verified.payload)),
                topic: envelope.event.clone(),
            },
            message: envelope,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        envelope: Cow<'_, Envelope>,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        normalise::normalise(&envelope, ctx)
    }

    /// Signs as Deliveroo would: the legacy scheme for a legacy event. A request without a
    /// sequence GUID gets one made from its body.
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        if req.headers.get(SEQUENCE_HEADER).is_none() {
            let guid = sha256_hex(&req.body)[..32].to_owned();
            req.headers.set(SEQUENCE_HEADER, guid);
        }
        let guid = req
            .headers
            .get(SEQUENCE_HEADER)
            .unwrap_or_default()
            .to_owned();
        let legacy = payload::read(&req.body).is_ok_and(|envelope| is_legacy(&envelope.event));
        let separator = if legacy { LEGACY_SEPARATOR } else { SEPARATOR };
        let digest = sign_hmac_sha256(
            self.secrets.newest(),
            &[guid.as_bytes(), separator, &req.body],
            DigestEncoding::Hex,
        );
        req.headers.set(SIGNATURE_HEADER, digest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{Secret, Timestamp};

    fn deliveroo(secret: &str) -> Deliveroo {
        let secrets = Secrets::new(vec![Secret::new(secret)]).expect("a secret");
        Deliveroo::build(Settings { secrets }).expect("builds")
    }

    fn request(guid: &str, body: &str, signature: &str) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            endpoint: None,
            query: String::new(),
            headers: [(SEQUENCE_HEADER, guid), (SIGNATURE_HEADER, signature)]
                .into_iter()
                .collect(),
            body: body.as_bytes().to_vec(),
            received_at: Timestamp::now(),
        }
    }

    fn refusal(connector: &Deliveroo, req: &WebhookRequest) -> Option<(u16, &'static str)> {
        connector
            .verify(req)
            .err()
            .map(|rejection| (rejection.status, rejection.code))
    }

    /// Deliveroo publishes no digest with its secret and body (its example header pair,
    /// `1499765769` / `cc282516…8678` in developers.deliveroo.com/partner-api/webhook/validation,
    /// comes without either). These digests are of the official code samples' own inputs
    /// (api-docs.deliveroo.com `docs/securing-webhooks`: secret `your_webhook_secret`, GUID
    /// `our_sequence_guid`, body `request_body`), computed independently with Python's `hmac`
    /// and `openssl dgst -sha256 -hmac`, which agree.
    #[test]
    fn accepts_the_documented_inputs_under_both_schemes() {
        let connector = deliveroo("your_webhook_secret");
        let order_api = "2d1003bdface5b6af7954258379a9b612379fcc843707d615adc74ce2099d4c6";
        let legacy = "89646ab93aed14f4ac0e3cc4fea744db9e3d0dbedb4722f878dec9a0085288eb";
        for signature in [order_api, legacy, &order_api.to_uppercase()] {
            let req = request("our_sequence_guid", "request_body", signature);
            assert_eq!(refusal(&connector, &req), None, "{signature}");
        }
        let req = request("our_sequence_guid", "request_body", order_api);
        assert_eq!(
            refusal(&deliveroo("another_secret"), &req),
            Some((401, "signature_mismatch"))
        );
        let other_guid = request("our_sequence_guid2", "request_body", order_api);
        assert_eq!(
            refusal(&connector, &other_guid),
            Some((401, "signature_mismatch")),
            "the GUID is signed"
        );
    }

    /// A third party's test suite (a vitest suite of `@be-in-digital/integrations`, digests
    /// computed with LibreSSL's `openssl dgst`), reproduced independently with Python: the
    /// body-only digest, which a wrong implementation would produce, must not verify.
    #[test]
    fn accepts_an_independent_vector_and_refuses_the_body_only_digest() {
        let connector = deliveroo("whsec_deliveroo_test_secret");
        let guid = "4f1c1b7e-6a2b-4f4e-9a3a-2f6f0f9a1b2c";
        let body = r#"{"event":"order.new","body":{"order":{"id":"fr:1234","status":"placed"}}}"#;
        let order_api = "e02008372a70c2e636d8100488110fd93ddfe8984ad98cd4eebf2698d6487997";
        let body_only = "0fbeb244e6b8ecd5e6adeeee93f9117be1ce1b4d9d2e28daa51f49b3eda1794a";
        let legacy = "bb8dd054d28399596e1f37695f2ddd89813379085c424f12fcccb2bfe488248b";
        assert_eq!(refusal(&connector, &request(guid, body, order_api)), None);
        assert_eq!(
            refusal(&connector, &request(guid, body, body_only)),
            Some((401, "signature_mismatch"))
        );
        assert_eq!(
            refusal(&connector, &request(guid, body, legacy)),
            Some((401, "signature_mismatch")),
            "an order.new signed with the legacy scheme is not what Deliveroo sends"
        );
        let mut signed = request(guid, body, "");
        connector.sign(&mut signed).expect("sign");
        assert_eq!(signed.headers.get(SIGNATURE_HEADER), Some(order_api));
    }

    #[test]
    fn a_legacy_event_must_carry_the_legacy_scheme() {
        let connector = deliveroo("s");
        let body =
            r#"{"event":"new_order","location_id":"33235","order":{"id":"1487734400-1234"}}"#;
        let mut legacy = request("1499765769", body, "");
        connector.sign(&mut legacy).expect("sign");
        assert_eq!(refusal(&connector, &legacy), None);
        let order_api = sign_hmac_sha256(
            &Secret::new("s"),
            &[b"1499765769", SEPARATOR, body.as_bytes()],
            DigestEncoding::Hex,
        );
        assert_eq!(
            refusal(&connector, &request("1499765769", body, &order_api)),
            Some((401, "signature_mismatch"))
        );
    }

    #[test]
    fn refuses_a_delivery_without_its_guid_or_signature() {
        let connector = deliveroo("s");
        let mut req = request("g", "{}", "");
        connector.sign(&mut req).expect("sign");
        let mut without_guid = req.clone();
        without_guid.headers = [(
            SIGNATURE_HEADER,
            req.headers.get(SIGNATURE_HEADER).unwrap_or(""),
        )]
        .into_iter()
        .collect();
        assert_eq!(
            refusal(&connector, &without_guid),
            Some((401, "sequence_guid_missing"))
        );
        let without_signature = request("g", "{}", "");
        assert_eq!(
            refusal(&connector, &without_signature),
            Some((401, "signature_missing"))
        );
        assert_eq!(
            refusal(&connector, &request("g", "{}", "zz")),
            Some((401, "signature_malformed"))
        );
    }
}
