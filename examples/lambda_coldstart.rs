//! Cold-start harness (a measurement tool, not a test): spawns a function binary against the
//! loopback Runtime API and moto, and measures spawn → first answered webhook, warm latency and
//! peak RSS.
//!
//! ```text
//! cargo run --release --example lambda_coldstart -- \
//!     --binary target/release/shopify [--runs 20] [--warm 200]
//! ```
//!
//! Uses the moto server at `O2O_TEST_AWS_ENDPOINT`, or starts `.venv/bin/moto_server` on a free
//! loopback port (and stops it at exit). Each run gets fresh resources and a fresh secret, so
//! every run is a true cold start of the function against an empty idempotency table.

use std::fs::File;
use std::io::{BufRead as _, Read as _, Seek as _, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use clap::Parser;
use o2o_core::Connector;
use o2o_core::sample::parse_sample;
use o2o_testkit::events;
use o2o_testkit::moto::{self, AwsResources};
use o2o_testkit::runtime_api::{Invocation, RuntimeApi};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const SIGNING_SECRET: &str = "harness-secret";
const FUNCTION_NAME: &str = "shopify";

/// Measures a Lambda function binary's cold start, warm latency and peak RSS.
#[derive(Debug, Parser)]
#[command(name = "lambda-coldstart")]
struct Args {
    /// The function binary (e.g. target/release/shopify).
    #[arg(long)]
    binary: PathBuf,
    /// Cold starts to measure (each with a fresh process and fresh AWS resources).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Warm invocations after each cold start (distinct webhook ids, so none is a duplicate).
    #[arg(long, default_value_t = 200)]
    warm: usize,
    /// The Shopify sample delivery to send (the signature is added here).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/events/shopify/orders-create.http"))]
    sample: PathBuf,
    /// moto_server to start when O2O_TEST_AWS_ENDPOINT is not set.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server"))]
    moto_server: PathBuf,
    /// Per-invocation timeout, in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Where the function's stdout/stderr go (appended; default: a file in the temp directory).
    #[arg(long)]
    log: Option<PathBuf>,
}

/// Kills and reaps a child process when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.runs > 0, "--runs must be at least 1");
    let (endpoint, _moto) = match std::env::var(moto::ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => (url.trim().trim_end_matches('/').to_owned(), None),
        _ => {
            let (url, child) = start_moto(&args.moto_server).await?;
            (url, Some(child))
        }
    };
    tokio::select! {
        result = run(&args, &endpoint) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    }
}

async fn run(args: &Args, endpoint: &str) -> Result<()> {
    let binary_size = std::fs::metadata(&args.binary)
        .with_context(|| format!("{}", args.binary.display()))?
        .len();
    let binary = args
        .binary
        .canonicalize()
        .with_context(|| format!("{}", args.binary.display()))?;
    let sample =
        std::fs::read(&args.sample).with_context(|| format!("sample {}", args.sample.display()))?;
    let sample = parse_sample(&sample).with_context(|| format!("{}", args.sample.display()))?;
    let log_path = args.log.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("lambda-coldstart-{}.log", std::process::id()))
    });
    let timeout = Duration::from_secs(args.timeout);
    let sdk = moto::sdk_config_for(endpoint).await;

    println!(
        "binary {} ({binary_size} bytes), {} run(s) x {} warm invocation(s), moto at {endpoint}, \
         function log {}",
        binary.display(),
        args.runs,
        args.warm,
        log_path.display()
    );
    let mut cold = Vec::with_capacity(args.runs);
    let mut init = Vec::with_capacity(args.runs);
    let mut warm = Vec::with_capacity(args.runs * args.warm);
    let mut rss_kib = Vec::with_capacity(args.runs);
    let mut anon_kib = Vec::with_capacity(args.runs);
    let mut file_kib = Vec::with_capacity(args.runs);
    for run in 0..args.runs {
        let resources = AwsResources::create(&sdk, "coldstart").await;
        let secret = moto::create_secret(
            &sdk,
            "coldstart-secret",
            &format!(r#"{{"secrets":["{SIGNING_SECRET}"]}}"#),
        )
        .await;
        let api = RuntimeApi::start().await;
        // Every event is built (and signed) before its clock starts.
        let deliveries: Vec<Value> = (0..=args.warm)
            .map(|i| {
                delivery(
                    &sample,
                    &format!("coldstart-{}-{run}-{i}", std::process::id()),
                )
            })
            .collect::<Result<_>>()?;
        let mut deliveries = deliveries.into_iter();

        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("{}", log_path.display()))?;
        let log_start = log.metadata().map(|m| m.len()).unwrap_or_default();
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .envs(api.lambda_env(FUNCTION_NAME))
            .envs(resources.env())
            .env("O2O_SECRET_ID", &secret)
            .env("AWS_ENDPOINT_URL", endpoint)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);

        let first = deliveries.next().context("no delivery built")?;
        let started = Instant::now();
        let child = KillOnDrop(
            command
                .spawn()
                .with_context(|| format!("spawn {}", binary.display()))?,
        );
        let answer = api.invoke(first, timeout).await;
        let elapsed = started.elapsed();
        let mut child = child;
        check(&answer, &api, &mut child.0, &log_path, log_start)
            .with_context(|| format!("run {run}: first (cold) invocation"))?;
        cold.push(elapsed);
        let polled = api
            .first_poll()
            .context("the function never polled for an invocation")?;
        init.push(polled.saturating_duration_since(started));

        for (i, event) in deliveries.enumerate() {
            let started = Instant::now();
            let answer = api.invoke(event, timeout).await;
            let elapsed = started.elapsed();
            check(&answer, &api, &mut child.0, &log_path, log_start)
                .with_context(|| format!("run {run}: warm invocation {}", i + 1))?;
            warm.push(elapsed);
        }

        let pid = child.0.id();
        rss_kib.push(peak_rss_kib(pid).with_context(|| format!("peak RSS of pid {pid}"))?);
        let (anon, file) =
            resident_split_kib(pid).with_context(|| format!("smaps of pid {pid}"))?;
        anon_kib.push(anon);
        file_kib.push(file);
        drop(child);

        let depth = moto::queue_depth(&sdk, &resources.unified_queue_url).await;
        ensure!(
            depth > args.warm,
            "run {run}: the function answered {} deliveries but the unified queue holds {depth} \
             message(s); see {}",
            args.warm + 1,
            log_path.display()
        );
        println!(
            "run {:>3}: cold {:>8.2} ms (init {:>6.2} ms), peak RSS {:>6} KiB \
             (resident at the end: {:>6} KiB heap and stacks, {:>6} KiB mapped files)",
            run + 1,
            ms(elapsed_of(&cold, run)),
            ms(elapsed_of(&init, run)),
            rss_kib[run],
            anon_kib[run],
            file_kib[run]
        );
    }

    println!();
    summary("cold start (spawn -> first response)", &mut cold);
    summary("init (spawn -> first poll for an invocation)", &mut init);
    if !warm.is_empty() {
        summary("warm invocation latency", &mut warm);
    }
    rss_kib.sort_unstable();
    println!(
        "peak RSS (VmHWM): min {} KiB, median {} KiB, max {} KiB ({:.1} MiB)",
        rss_kib[0],
        rss_kib[rss_kib.len() / 2],
        rss_kib[rss_kib.len() - 1],
        rss_kib[rss_kib.len() - 1] as f64 / 1024.0
    );
    anon_kib.sort_unstable();
    file_kib.sort_unstable();
    println!(
        "resident at the end (median): {} KiB anonymous (heap, stacks), {} KiB mapped files \
         (code and data pages of the binary and libraries touched so far)",
        anon_kib[anon_kib.len() / 2],
        file_kib[file_kib.len() / 2]
    );
    println!(
        "binary size: {binary_size} bytes ({:.2} MiB)",
        binary_size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

fn elapsed_of(values: &[Duration], i: usize) -> Duration {
    values.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(what: &str, values: &mut [Duration]) {
    values.sort_unstable();
    let at =
        |q: f64| values[((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1];
    println!(
        "{what} (n={}): min {:.2} ms, median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        values.len(),
        ms(values[0]),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(values[values.len() - 1])
    );
}

/// A signed API Gateway event for the sample, with `webhook_id` as its webhook and event id
/// (the Shopify connector keys idempotency on `X-Shopify-Webhook-Id`).
fn delivery(sample: &o2o_core::sample::Sample, webhook_id: &str) -> Result<Value> {
    let mut sample = sample.clone();
    sample.headers.set("X-Shopify-Webhook-Id", webhook_id);
    sample.headers.set("X-Shopify-Event-Id", webhook_id);
    let table = serde_json::json!({ "secrets": [SIGNING_SECRET] });
    let table = table.as_object().cloned().unwrap_or_default();
    let settings = o2o_core::settings::parse_settings::<o2o_shopify::Settings>(&table, "shopify")
        .map_err(|e| anyhow!("{e}"))?;
    let shopify = o2o_shopify::Shopify::build(settings).map_err(|e| anyhow!("{e}"))?;
    let path = sample
        .path
        .split_once('?')
        .map_or(sample.path.as_str(), |(p, _)| p)
        .to_owned();
    let req = sample
        .signed(&shopify, o2o_core::Timestamp::now())
        .map_err(|e| anyhow!("sign the sample: {e}"))?;
    let headers: Vec<(&str, &str)> = req.headers.iter().collect();
    let text = std::str::from_utf8(&req.body).is_ok();
    Ok(events::http_v2(
        &req.method,
        &path,
        &req.query,
        &headers,
        &req.body,
        !text,
    ))
}

/// Fails unless `answer` is an HTTP 2xx response; explains what the function did otherwise.
fn check(
    answer: &Invocation,
    api: &RuntimeApi,
    child: &mut Child,
    log_path: &Path,
    log_start: u64,
) -> Result<()> {
    let problem = match answer {
        Invocation::Response(response) => {
            let status = response.get("statusCode").and_then(Value::as_u64);
            if status.is_some_and(|s| (200..300).contains(&s)) {
                return Ok(());
            }
            format!("the function answered {response}")
        }
        Invocation::Error(error) => format!("the function reported an invocation error: {error}"),
        Invocation::TimedOut => {
            let exited = child.try_wait().ok().flatten();
            format!(
                "no answer in time (process {}; init error: {})",
                exited.map_or_else(|| "still running".to_owned(), |s| format!("exited: {s}")),
                api.init_error()
                    .map_or_else(|| "none".to_owned(), |e| e.to_string())
            )
        }
    };
    bail!(
        "{problem}\n--- function log (last lines of {}) ---\n{}",
        log_path.display(),
        log_tail(log_path, log_start, 20)
    )
}

fn log_tail(path: &Path, from: u64, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.seek(SeekFrom::Start(from));
        let _ = file.read_to_string(&mut text);
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The process's peak resident set size (`VmHWM` in `/proc/<pid>/status`), in KiB.
fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = File::open(format!("/proc/{pid}/status"))?;
    for line in std::io::BufReader::new(status).lines() {
        let line = line?;
        if let Some(value) = line.strip_prefix("VmHWM:") {
            let kib = value.trim().trim_end_matches("kB").trim();
            return kib.parse().with_context(|| format!("VmHWM {value:?}"));
        }
    }
    bail!("no VmHWM line (has the process exited?)")
}

/// The process's resident memory now, split into anonymous pages (heap, stacks) and pages of
/// mapped files (the binary's code and data, shared libraries), from `/proc/<pid>/smaps_rollup`,
/// in KiB.
fn resident_split_kib(pid: u32) -> Result<(u64, u64)> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let field = |name: &str| -> Result<u64> {
        let line = rollup
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .with_context(|| format!("no {name} line"))?;
        let kib = line.trim().trim_end_matches("kB").trim();
        kib.parse().with_context(|| format!("{name} {line:?}"))
    };
    let rss = field("Rss:")?;
    let anonymous = field("Anonymous:")?;
    Ok((anonymous, rss.saturating_sub(anonymous)))
}

/// Starts moto_server on a free loopback port and waits (at most 30 s) until it answers.
async fn start_moto(moto_server: &Path) -> Result<(String, KillOnDrop)> {
    let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
    let log =
        std::env::temp_dir().join(format!("lambda-coldstart-moto-{}.log", std::process::id()));
    let log_file = File::create(&log).with_context(|| format!("{}", log.display()))?;
    let mut child = KillOnDrop(
        Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| {
                format!(
                    "start {} (run `bash scripts/test --setup-only` to install moto, or set {})",
                    moto_server.display(),
                    moto::ENDPOINT_VAR
                )
            })?,
    );
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if moto_answers(&address).await {
            eprintln!("started moto_server on {address} (log {})", log.display());
            return Ok((format!("http://{address}"), child));
        }
        if let Some(status) = child.0.try_wait()? {
            bail!("moto_server exited ({status}); see {}", log.display());
        }
        if Instant::now() >= deadline {
            bail!(
                "moto_server did not answer on {address} within 30 s; see {}",
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `GET /moto-api/` answers with 200 (one bounded attempt).
async fn moto_answers(address: &str) -> bool {
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream
            .write_all(
                format!("GET /moto-api/ HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        std::io::Result::Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Ok(true))
    )
}
