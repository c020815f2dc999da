//! A tiny connector for pipeline tests, local and on AWS: its behaviour is chosen by the body,
//! so a test can drive a delivery down one path (events, enrichment, quarantine) and assert what
//! reached which queue. Not a platform: it lives here, not in the registry.

use o2o_core::connector::{EnrichError, EventDraft, NormaliseContext, NormaliseError, Setting};
use o2o_core::event::{ChannelKind, EventType, Order};
use o2o_core::signature::SignatureError;
use o2o_core::{
    ChannelConfig, ChannelInfo, Connector, Credentials, Delivery, Normalised, Rejection, Reply,
    Secret, WebhookRequest,
};
use serde::Deserialize;

/// The shared secret the test connector checks in `x-test-signature`.
pub const SECRET: &str = "test-secret";

/// A connector whose body says what to do: `{"id": "...", "order": "...", "mode": "..."}` where
/// mode is `events` (default), `thin` (needs enrichment) or `broken` (cannot be normalised).
/// Enrichment: an order id starting with `flaky` fails transiently, `missing` permanently;
/// `flaky-once-<n>` fails transiently on the first attempt of each process run only.
/// A JSON array of such bodies is a multi-record delivery (as Douyin sends): one record each.
pub struct TestConnector;

/// The channel table the test connector needs: its one shared secret.
pub fn channel_config() -> ChannelConfig {
    ChannelConfig {
        default: Credentials {
            secrets: vec![Secret::new(SECRET)],
            ..Credentials::default()
        },
        ..ChannelConfig::default()
    }
}

/// The test connector, as the `&'static` the function wants.
pub static TEST: TestConnector = TestConnector;

static INFO: ChannelInfo = ChannelInfo {
    id: "test",
    name: "Test",
    kind: ChannelKind::WebShop,
    settings: &[Setting {
        name: "secrets",
        required: true,
        description: "shared secret",
    }],
    default_sample: "",
};

#[derive(Deserialize)]
struct Body {
    id: String,
    order: String,
    #[serde(default)]
    mode: String,
}

#[async_trait::async_trait]
impl Connector for TestConnector {
    fn info(&self) -> &'static ChannelInfo {
        &INFO
    }

    fn verify(&self, req: &WebhookRequest, credentials: &Credentials) -> Result<(), Rejection> {
        let given = req.headers.get("x-test-signature");
        match given {
            None => Err(SignatureError::Missing.into()),
            Some(s) if credentials.secrets.iter().any(|k| k.expose() == s) => Ok(()),
            Some(_) => Err(SignatureError::Mismatch.into()),
        }
    }

    fn split_records(&self, body: &[u8]) -> Option<Vec<Vec<u8>>> {
        let records: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body).ok()?;
        Some(
            records
                .into_iter()
                .map(|r| r.get().as_bytes().to_vec())
                .collect(),
        )
    }

    fn parse(&self, req: &WebhookRequest, _: &Credentials) -> Result<Delivery, NormaliseError> {
        let body: Body = serde_json::from_slice(&req.body)?;
        Ok(Delivery {
            tenant: "shop".to_owned(),
            external_event_id: body.id,
            topic: "orders".to_owned(),
            payload: req.body.clone(),
        })
    }

    fn normalise(
        &self,
        delivery: &Delivery,
        ctx: &NormaliseContext,
    ) -> Result<Normalised, NormaliseError> {
        let body: Body = serde_json::from_slice(&delivery.payload)?;
        match body.mode.as_str() {
            "thin" => Ok(Normalised::Enrich),
            "broken" => Err(NormaliseError("order has no line items".to_owned())),
            _ => Ok(Normalised::Events(vec![draft(&body.order, ctx)])),
        }
    }

    async fn enrich(
        &self,
        delivery: &Delivery,
        _: &Credentials,
        ctx: &NormaliseContext,
    ) -> Result<Normalised, EnrichError> {
        let body: Body = serde_json::from_slice(&delivery.payload)
            .map_err(|e| EnrichError::Permanent(e.to_string()))?;
        if body.order.starts_with("flaky-once") && first_attempt(&body.order) {
            Err(EnrichError::Transient("order API timed out".to_owned()))
        } else if body.order.starts_with("flaky-once") {
            Ok(Normalised::Events(vec![draft(&body.order, ctx)]))
        } else if body.order.starts_with("flaky") {
            Err(EnrichError::Transient("order API answered 503".to_owned()))
        } else if body.order.starts_with("missing") {
            Err(EnrichError::Permanent(
                "order API: no such order".to_owned(),
            ))
        } else {
            Ok(Normalised::Events(vec![draft(&body.order, ctx)]))
        }
    }

    fn ack(&self) -> Reply {
        Reply::json(200, r#"{"code":0,"msg":"success"}"#)
    }

    fn sign(&self, req: &mut WebhookRequest, c: &Credentials) -> Result<(), SignatureError> {
        let secret = c.secrets.first().ok_or(SignatureError::Missing)?;
        req.headers.insert("x-test-signature", secret.expose());
        Ok(())
    }
}

fn draft(order: &str, ctx: &NormaliseContext) -> EventDraft {
    EventDraft {
        event_type: EventType::OrderCreated,
        occurred_at: ctx.received_at,
        status: Some("paid".to_owned()),
        order: Some(Order {
            external_id: order.to_owned(),
            ..Order::default()
        }),
        payment: None,
        refund: None,
    }
}

/// `true` the first time `order` is seen in this process.
fn first_attempt(order: &str) -> bool {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.iter().any(|o| o == order) {
        return false;
    }
    seen.push(order.to_owned());
    true
}
