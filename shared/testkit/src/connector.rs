//! A tiny connector for pipeline tests, local and on AWS: its behaviour is chosen by the body,
//! so a test can drive a delivery down one path (events, enrichment, quarantine) and assert what
//! reached which queue. Not a platform: it lives here, not in the registry.

use o2o_core::GetRequests;
use o2o_core::command::{Action, CallDone, CallFailure, CommandKind, OrderCommand};
use o2o_core::connector::{
    DeliveryId, EnrichError, EventDraft, NormaliseContext, NormaliseError, Parsed, Verified,
};
use o2o_core::event::{ChannelKind, EventType, Order};
use o2o_core::settings::{ChannelConfig, Secrets, SettingsError};
use o2o_core::signature::{SignatureError, hex_digest_matches};
use o2o_core::{ChannelInfo, Connector, Normalised, Rejection, Reply, WebhookRequest};
use serde::Deserialize;

/// The shared secret the test connector checks in `x-test-signature`.
pub const SECRET: &str = "test-secret";

/// A connector whose body says what to do: `{"id": "...", "order": "...", "mode": "..."}` where
/// mode is `events` (default), `thin` (needs enrichment) or `broken` (cannot be normalised).
/// Enrichment: an order id starting with `flaky` fails transiently, `missing` permanently;
/// `flaky-once-<n>` fails transiently on the first attempt of each process run only.
/// A JSON array of such bodies is a multi-record delivery (as Douyin sends): one record each.
///
/// Commands: `accept`, `reject` and `cancel` (accept within 10 minutes) are `POST`ed as
/// `{"command_id","reason"}` to `{api_base}/orders/{order id}/{kind}`; a 2xx answer's `id` is the
/// platform reference, any other answer a failure with the body's `code`.
#[derive(Debug)]
pub struct TestConnector {
    secrets: Secrets,
    api: o2o_enrich::ApiClient,
}

/// The test connector's settings: its shared secret, and where its "platform API" is.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Settings {
    /// Shared secrets, newest first.
    pub secrets: Secrets,
    /// The API (`api_base`, a local mock in tests).
    #[serde(flatten)]
    pub api: o2o_enrich::ApiSettings,
}

/// The channel table the test connector needs: its one shared secret.
pub fn channel_config() -> ChannelConfig {
    let default = serde_json::json!({ "secrets": [SECRET] });
    ChannelConfig {
        default: default.as_object().cloned().unwrap_or_default(),
        ..ChannelConfig::default()
    }
}

static INFO: ChannelInfo = ChannelInfo {
    id: "test",
    name: "Test",
    kind: ChannelKind::WebShop,
    default_sample: "",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// The test connector's reading of a body (also its thin reading).
#[derive(Debug, Clone, Deserialize)]
pub struct Body {
    id: String,
    order: String,
    #[serde(default)]
    mode: String,
}

#[async_trait::async_trait]
impl Connector for TestConnector {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = Body;
    type Thin = Body;

    fn info() -> &'static ChannelInfo {
        &INFO
    }

    fn build(settings: Settings) -> Result<Self, SettingsError> {
        Ok(Self {
            secrets: settings.secrets,
            api: o2o_enrich::ApiClient::new(&settings.api, "http://127.0.0.1:9")?,
        })
    }

    fn command_kinds() -> &'static [CommandKind] {
        &[
            CommandKind::Accept,
            CommandKind::Reject,
            CommandKind::Cancel,
        ]
    }

    fn command_window(&self, kind: CommandKind) -> Option<std::time::Duration> {
        (kind == CommandKind::Accept).then_some(std::time::Duration::from_secs(600))
    }

    async fn execute(&self, command: &OrderCommand) -> Result<CallDone, CallFailure> {
        let kind = command.action.kind().as_str();
        let reason = match &command.action {
            Action::Reject { reason, .. } | Action::Cancel { reason, .. } => {
                serde_json::to_value(reason).ok()
            }
            _ => None,
        };
        let body = serde_json::json!({"command_id": command.command_id, "reason": reason});
        let url = self.api.url(&format!(
            "/orders/{}/{kind}",
            o2o_enrich::percent_encode(&command.order.external_id)
        ));
        let answer = o2o_enrich::command::send(
            &format!("test {kind}"),
            self.api
                .http()
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await?;
        let read: serde_json::Value = answer.json().unwrap_or_default();
        if answer.is_success() {
            return Ok(CallDone {
                platform_reference: read["id"].as_str().map(str::to_owned),
            });
        }
        Err(answer.failure(
            read["code"].as_str().map(str::to_owned),
            read["message"].as_str().map(str::to_owned),
        ))
    }

    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        let given = req
            .headers
            .get("x-test-signature")
            .ok_or(SignatureError::Missing)?;
        // Not a MAC, a shared token: enough for pipeline tests.
        let matched = self
            .secrets
            .all()
            .iter()
            .any(|k| hex_digest_matches(k.expose(), given));
        if !matched {
            return Err(SignatureError::Mismatch.into());
        }
        Ok(Verified::body(req))
    }

    fn split_records(&self, verified: &Verified<'_>) -> Option<Vec<Vec<u8>>> {
        let records: Vec<&serde_json::value::RawValue> =
            serde_json::from_slice(&verified.payload).ok()?;
        Some(
            records
                .into_iter()
                .map(|r| r.get().as_bytes().to_vec())
                .collect(),
        )
    }

    fn parse(&self, verified: &Verified<'_>) -> Result<Parsed<Body>, NormaliseError> {
        let body: Body = serde_json::from_slice(&verified.payload)?;
        Ok(Parsed {
            id: DeliveryId {
                tenant: "shop".to_owned(),
                external_event_id: body.id.clone(),
                topic: "orders".to_owned(),
            },
            message: body,
            content: None,
        })
    }

    fn normalise(
        &self,
        _id: &DeliveryId,
        body: Body,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<Body>, NormaliseError> {
        match body.mode.as_str() {
            "thin" => Ok(Normalised::Enrich(body)),
            "broken" => Err(NormaliseError::field(
                "line_items",
                "order has no line items",
            )),
            _ => Ok(Normalised::Events(vec![draft(&body.order, ctx)])),
        }
    }

    async fn enrich(
        &self,
        body: Body,
        ctx: &NormaliseContext,
    ) -> Result<Normalised<Body>, EnrichError> {
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

    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        req.headers
            .insert("x-test-signature", self.secrets.newest().expose());
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

/// An idempotency store and queues that must never be reached: a test of a request the pipeline
/// refuses (405, 401 …) runs it over these, so a refusal that touched a port panics.
pub struct Untouched;

#[async_trait::async_trait]
impl o2o_core::ports::IdempotencyStore for Untouched {
    async fn claim(
        &self,
        _: &o2o_core::ports::Claim,
    ) -> Result<o2o_core::ports::ClaimOutcome, o2o_core::ports::PortError> {
        panic!("a refused request claimed a key")
    }
    async fn complete(
        &self,
        _: &o2o_core::IdempotencyKey,
        _: &Reply,
        _: o2o_core::Timestamp,
    ) -> Result<(), o2o_core::ports::PortError> {
        panic!("a refused request completed a key")
    }
    async fn release(
        &self,
        _: &o2o_core::IdempotencyKey,
    ) -> Result<(), o2o_core::ports::PortError> {
        panic!("a refused request released a key")
    }
}

#[async_trait::async_trait]
impl o2o_core::ports::Queues for Untouched {
    async fn send(
        &self,
        _: o2o_core::ports::QueueName,
        _: Vec<o2o_core::ports::QueueMessage>,
    ) -> Result<(), o2o_core::ports::PortError> {
        panic!("a refused request was queued")
    }
}

/// The pipeline over [`Untouched`] ports.
pub fn untouched_pipeline() -> o2o_core::Pipeline<'static> {
    static UNTOUCHED: Untouched = Untouched;
    o2o_core::Pipeline::new(&UNTOUCHED, &UNTOUCHED, Default::default())
}
