//! Shared helpers for the end-to-end tests: a real server on 127.0.0.1, signed sample
//! deliveries, and queue inspection.

#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use o2o::config::Config;
use o2o::registry::CONNECTORS;
use o2o_core::ports::{IdempotencyStore, QueueName, Queues};
use o2o_core::request::DEFAULT_MAX_BODY_BYTES;
use o2o_core::sample::parse_sample;
use o2o_core::{ChannelConfig, Channels, Headers, Registry};
use o2o_edge::Edge;
use o2o_local::SqliteStore;
use o2o_local::retry::{RetryOptions, RetryQueue};
use tokio::sync::oneshot;

/// The repository root (where `o2o.toml` and `events/` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The development config shipped with the repository.
pub fn dev_config() -> Config {
    Config::load(&root().join("o2o.toml"), CONNECTORS).expect("o2o.toml")
}

/// A running server; dropping it stops the server.
pub struct TestServer {
    pub base: String,
    pub store: SqliteStore,
    pub db: PathBuf,
    _dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    enrichment_worker: Option<tokio::task::JoinHandle<()>>,
    command_worker: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// The server's webhook URL for `channel`.
    pub fn webhook_url(&self, channel: &str) -> String {
        format!("{}/webhooks/{channel}", self.base)
    }

    /// Stops the server's enrichment worker and waits until it has, so that a test can work the
    /// queues itself without the worker taking a message first.
    pub async fn stop_enrichment(&mut self) {
        if let Some(worker) = self.enrichment_worker.take() {
            worker.abort();
            let _ = worker.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(worker) = self.enrichment_worker.take() {
            worker.abort();
        }
        self.command_worker.abort();
    }
}

/// Wraps the SQLite store into the ports the server uses (e.g. to inject failures).
pub type WrapPorts = Box<dyn FnOnce(SqliteStore) -> (Arc<dyn IdempotencyStore>, Arc<dyn Queues>)>;

/// Options for [`start`].
pub struct ServerSetup {
    pub registry: Registry,
    pub channels: BTreeMap<String, ChannelConfig>,
    pub max_body_bytes: usize,
    /// Wrap the SQLite store (e.g. to inject failures); default: use it as is.
    pub wrap: Option<WrapPorts>,
    /// Run the enrichment worker (default); off, thin deliveries stay on the enrichment queue.
    pub enrichment: bool,
    /// How `POST /commands` takes commands (default: without a token); `None`: 404.
    pub commands: Option<o2o_edge::CommandIntake>,
}

impl Default for ServerSetup {
    fn default() -> Self {
        Self {
            registry: CONNECTORS,
            channels: dev_config().channels,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            wrap: None,
            enrichment: true,
            commands: Some(o2o_edge::CommandIntake::default()),
        }
    }
}

/// Starts a server on a free loopback port over a fresh SQLite file.
pub async fn start(setup: ServerSetup) -> TestServer {
    let dir = TempDir::new();
    let db = dir.path().join("o2o.db");
    let store = SqliteStore::open(&db).expect("db");
    let (idempotency, queues): (Arc<dyn IdempotencyStore>, Arc<dyn Queues>) = match setup.wrap {
        Some(wrap) => wrap(store.clone()),
        None => (Arc::new(store.clone()), Arc::new(store.clone())),
    };
    let channels = Channels::build(setup.registry, &setup.channels).expect("channel settings");
    let mut edge = Edge::new(setup.registry, channels, idempotency, queues);
    edge.max_body_bytes = setup.max_body_bytes;
    edge.commands = setup.commands;
    let edge = Arc::new(edge);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    // The enrichment worker, with test timing: it ends with the test's runtime.
    let enrichment_worker = setup.enrichment.then(|| {
        let queue = RetryQueue::enrichment(
            store.clone(),
            Arc::clone(&edge.queues),
            RetryOptions {
                poll: std::time::Duration::from_millis(20),
                first_retry: std::time::Duration::from_millis(20),
                max_retry: std::time::Duration::from_millis(100),
                max_attempts: 3,
            },
        );
        tokio::spawn(o2o_local::retry::run_enrichment_worker(
            queue,
            Arc::clone(&edge),
        ))
    });
    // The command worker, with test timing (three attempts, then the commands DLQ).
    let command_worker = tokio::spawn(o2o_local::retry::run_command_worker(
        RetryQueue::commands(store.clone(), COMMAND_RETRIES),
        Arc::clone(&edge),
    ));
    tokio::spawn(o2o_local::serve(
        listener,
        edge,
        Default::default(),
        async {
            let _ = stopped.await;
        },
    ));
    TestServer {
        base,
        store,
        db,
        _dir: dir,
        stop: Some(stop),
        enrichment_worker,
        command_worker,
    }
}

/// The test servers' command retries: every 20–100 ms, three attempts.
pub const COMMAND_RETRIES: RetryOptions = RetryOptions {
    poll: std::time::Duration::from_millis(20),
    first_retry: std::time::Duration::from_millis(20),
    max_retry: std::time::Duration::from_millis(100),
    max_attempts: 3,
};

/// The development instance of `channel` (built from `o2o.toml`).
pub fn dev_channel(channel: &str) -> std::sync::Arc<dyn o2o_core::Channel> {
    let config = dev_config();
    let table = &config.channels[channel].default;
    let entry = CONNECTORS.get(channel).expect("connector");
    (entry.build)(table, channel).expect("dev settings build")
}

/// A sample delivery from `events/<channel>/<file>`, signed with the dev config's secret.
pub fn signed_sample(channel: &str, file: &str) -> (Headers, Vec<u8>) {
    let req = signed_request(channel, file);
    (req.headers, req.body)
}

/// A sample delivery as the platform sends it now: signed (query, headers, and for WeChat an
/// encrypted body) with the dev config's credentials for `channel`.
pub fn signed_request(channel: &str, file: &str) -> o2o_core::WebhookRequest {
    let bytes = std::fs::read(root().join("events").join(channel).join(file)).expect("sample");
    parse_sample(&bytes)
        .expect("parse sample")
        .signed(dev_channel(channel).as_ref(), o2o_core::Timestamp::now())
        .expect("sign")
}

/// `channel_url` (`…/webhooks/<channel>`) followed by the request's endpoint segment, for the
/// platforms that call one URL per kind of push (Meituan's `…/order`).
pub fn endpoint_url(channel_url: &str, req: &o2o_core::WebhookRequest) -> String {
    match &req.endpoint {
        Some(endpoint) => format!("{channel_url}/{endpoint}"),
        None => channel_url.to_owned(),
    }
}

/// Sends `req` (method, query, headers, body) to `url`; returns status and body.
pub async fn send(url: &str, req: &o2o_core::WebhookRequest) -> (u16, String) {
    let url = if req.query.is_empty() {
        url.to_owned()
    } else {
        format!("{url}?{}", req.query)
    };
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).expect("method");
    let mut request = reqwest::Client::new()
        .request(method, url)
        .body(req.body.clone());
    for (name, value) in req.headers.iter() {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The number of messages on all the queues together.
pub async fn queued(store: &SqliteStore) -> usize {
    let mut total = 0;
    for queue in QueueName::ALL {
        total += messages(store, queue).await.len();
    }
    total
}

/// The unsigned sample (as the platform would send it without our signature).
pub fn unsigned_sample(channel: &str, file: &str) -> (Headers, Vec<u8>) {
    let bytes = std::fs::read(root().join("events").join(channel).join(file)).expect("sample");
    let sample = parse_sample(&bytes).expect("parse sample");
    (sample.headers, sample.body)
}

/// POSTs `body` with `headers` to `url`; returns status and body.
pub async fn post(url: &str, headers: &Headers, body: Vec<u8>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut request = client.post(url).body(body);
    for (name, value) in headers.iter() {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// Every message body on `queue`.
pub async fn messages(store: &SqliteStore, queue: QueueName) -> Vec<String> {
    store
        .read(queue, 0, 10_000)
        .await
        .expect("read")
        .into_iter()
        .map(|m| m.body)
        .collect()
}

/// Waits (at most 10 s) until the enrichment queue is empty; returns the other two queues.
pub async fn settled(server: &TestServer) -> (Vec<String>, Vec<String>) {
    for _ in 0..500 {
        if messages(&server.store, QueueName::Enrichment)
            .await
            .is_empty()
        {
            return (
                messages(&server.store, QueueName::Unified).await,
                messages(&server.store, QueueName::Quarantine).await,
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the enrichment queue did not drain within 10 s");
}

/// Asserts that no queue holds anything.
pub async fn assert_all_queues_empty(store: &SqliteStore) {
    for queue in [
        QueueName::Unified,
        QueueName::Enrichment,
        QueueName::Quarantine,
    ] {
        assert_eq!(
            messages(store, queue).await,
            Vec::<String>::new(),
            "{} queue must be empty",
            queue.as_str()
        );
    }
}

/// A temporary directory removed on drop (no extra crate needed for this).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("o2o-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `o2o serve` process (the real binary) on a free loopback port.
pub struct ServeProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: std::process::Child,
}

impl ServeProcess {
    /// Spawns `o2o serve --addr <free port> <args>` in the repository root with `envs` added
    /// (and `--consumer-api off` unless `args` name one), and
    /// waits (at most ~10 s) until `/healthz` answers 200. Its stderr (the JSON log) is captured.
    pub async fn start(args: &[&str], envs: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let addr = format!("127.0.0.1:{port}");
        // The development config's consumer API has a fixed port: tests that want it name
        // their own with `--consumer-api`.
        let api_off: &[&str] = if args.contains(&"--consumer-api") {
            &[]
        } else {
            &["--consumer-api", "off"]
        };
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
            .current_dir(root())
            .args(["serve", "--addr", &addr])
            .args(api_off)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn o2o serve");
        let mut server = Self {
            base: format!("http://{addr}"),
            child,
        };
        for _ in 0..200 {
            if let Ok(response) = reqwest::get(format!("{}/healthz", server.base)).await {
                assert_eq!(response.status().as_u16(), 200, "healthz");
                return server;
            }
            if let Some(status) = server.child.try_wait().expect("wait") {
                panic!("o2o serve exited with {status}: {}", server.logs());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = server.child.kill();
        panic!("o2o serve did not become healthy within 10 s");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most ~10 s) for a successful exit; returns the JSON log.
    pub async fn stop(mut self) -> String {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        for _ in 0..200 {
            if let Some(exit) = self.child.try_wait().expect("wait") {
                assert!(exit.success(), "exit status {exit}");
                return self.logs();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        panic!("o2o serve did not stop within 10 s of SIGTERM");
    }

    /// Sends SIGKILL (no shutdown at all) and waits for the process to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn logs(&mut self) -> String {
        use std::io::Read as _;
        let mut logs = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut logs).expect("read logs");
        }
        logs
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

const WECHAT_ORDER: &str =
    include_str!("../../functions/wechat-channels-shop/tests/fixtures/order-detail.json");
const DOUYIN_ORDER: &str =
    include_str!("../../functions/douyin-shop/tests/fixtures/order-detail.json");
const TIKTOK_ORDER: &str =
    include_str!("../../functions/tiktok-shop/tests/fixtures/order-detail.json");
const UBER_EATS_ORDER: &str =
    include_str!("../../functions/uber-eats/tests/fixtures/order-v2.json");
/// Ele.me's type-10 sample: its `message` is the `OOrder` that `eleme.order.getOrder` returns
/// for the type-217 sample's order.
const ELEME_ORDER_PUSH: &str = include_str!("../../events/eleme/order-created.http");

/// `eleme.order.getOrder`'s answer for the thin sample: `{id, result: OOrder, error: null}`.
fn eleme_get_order_answer() -> String {
    let (_, body) = ELEME_ORDER_PUSH.split_once("\n\n").expect("a sample");
    let push: serde_json::Value = serde_json::from_str(body).expect("the sample's JSON");
    let order = push["message"].as_str().expect("message is a JSON string");
    format!(r#"{{"id":"pinned","result":{order},"error":null}}"#)
}

/// The channels whose webhooks are thin: enriched from the platform's order API.
pub const THIN_CHANNELS: [&str; 6] = [
    "wechat-channels-shop",
    "douyin-shop",
    "tiktok-shop",
    "uber-eats",
    "eleme",
    "mollie",
];

/// One local mock standing in for the thin platforms' order APIs (their paths differ), each
/// answering with the documented response kept in the connector's `tests/fixtures/` (Ele.me's:
/// the order of its type-10 sample).
pub async fn platform_api_mocks() -> wiremock::MockServer {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let answers = [
        (
            "POST",
            "/cgi-bin/stable_token",
            r#"{"access_token":"e2e-token","expires_in":7200}"#,
        ),
        ("POST", "/channels/ec/order/get", WECHAT_ORDER),
        ("POST", "/order/orderDetail", DOUYIN_ORDER),
        ("GET", "/order/202309/orders", TIKTOK_ORDER),
        (
            "POST",
            "/oauth/v2/token",
            r#"{"access_token":"e2e-token","token_type":"Bearer","expires_in":2592000}"#,
        ),
        // The fixture's order, and the same order under the id of the other order sample.
        (
            "GET",
            "/v2/eats/order/f9f363d1-e1c2-4595-b477-c649845bc953",
            UBER_EATS_ORDER,
        ),
        (
            "GET",
            "/v2/eats/order/153dd7f1-339d-4619-940c-418943c14636",
            &UBER_EATS_ORDER.replace(
                "f9f363d1-e1c2-4595-b477-c649845bc953",
                "153dd7f1-339d-4619-940c-418943c14636",
            ),
        ),
        (
            "POST",
            "/token",
            r#"{"access_token":"e2e-token","token_type":"Bearer","expires_in":86400}"#,
        ),
        ("POST", "/api/v1", &eleme_get_order_answer()),
        (
            "GET",
            "/v2/payments/tr_7UhSN1zuXS",
            include_str!("../../functions/mollie/tests/fixtures/tr_7UhSN1zuXS.json"),
        ),
        (
            "GET",
            "/v2/payments/tr_5B8cwPMGnU6qLbRvo7qEZo",
            include_str!("../../functions/mollie/tests/fixtures/tr_5B8cwPMGnU6qLbRvo7qEZo.json"),
        ),
    ];
    for (verb, route, body) in answers {
        Mock::given(method(verb))
            .and(path_regex(format!("^{route}$")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/json")
                    .set_body_string(body),
            )
            .mount(&server)
            .await;
    }
    server
}

/// The development channel tables with the thin channels' order APIs pointed at `api_base`
/// (a local mock).
pub fn dev_channels_with_api_base(api_base: &str) -> BTreeMap<String, ChannelConfig> {
    let mut channels = dev_config().channels;
    for channel in THIN_CHANNELS {
        let table = channels.get_mut(channel).expect("dev config table");
        table.default.insert("api_base".to_owned(), api_base.into());
        if channel == "uber-eats" {
            table
                .default
                .insert("auth_base".to_owned(), api_base.into());
        }
    }
    channels
}
