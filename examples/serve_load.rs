//! Load on a running `o2o serve` over real HTTP: distinct, correctly signed Shopify
//! `orders/create` deliveries (each its own webhook id and order id, signed with the development
//! secret of `o2o.toml`), posted by a fixed number of keep-alive connections; reports throughput
//! and latency percentiles, and fails unless every delivery was answered 200.
//!
//! ```text
//! cargo run --release -- serve --db /tmp/load.db &                 # the shipped o2o.toml
//! cargo run --release --example serve_load -- --base http://127.0.0.1:8080 \
//!     --deliveries 20000 --connections 32
//! ```
//!
//! The load generator runs on the same machine as the server, as the figures in
//! docs/performance.md were taken; every delivery is prepared (and signed) before the clock starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use clap::Parser;
use o2o_core::sample::parse_sample;
use serde_json::Value;

#[derive(Debug, Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    base: String,
    /// Deliveries to post (each distinct).
    #[arg(long, default_value_t = 5000)]
    deliveries: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
}

/// One prepared delivery: headers and body.
type Delivery = (Vec<(String, String)>, Vec<u8>);

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.deliveries > 0 && args.connections > 0, "nothing to do");
    let deliveries = Arc::new(prepare(args.deliveries)?);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("{}/webhooks/shopify", args.base.trim_end_matches('/'));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let (client, url, next, deliveries) = (
            client.clone(),
            url.clone(),
            Arc::clone(&next),
            Arc::clone(&deliveries),
        );
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((headers, body)) = deliveries.get(i) else {
                    return Ok::<_, anyhow::Error>(latencies);
                };
                let mut request = client.post(&url).body(body.clone());
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let sent = Instant::now();
                let response = request.send().await.context("post")?;
                let status = response.status().as_u16();
                let answer = response.text().await.unwrap_or_default();
                latencies.push(sent.elapsed());
                if status != 200 {
                    bail!("delivery {i}: {status} {answer}");
                }
            }
        });
    }
    let mut latencies = Vec::with_capacity(args.deliveries);
    while let Some(worker) = workers.join_next().await {
        latencies.extend(worker??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "{} deliveries over {} connections in {:.2} s: {:.0} deliveries/s; latency p50 {:.2} ms, \
         p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        latencies.len(),
        args.connections,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    );
    Ok(())
}

/// `n` distinct signed deliveries from `events/shopify/orders-create.http`.
fn prepare(n: usize) -> Result<Vec<Delivery>> {
    let root = o2o_testkit::samples::repo_root();
    let file = root.join("events/shopify/orders-create.http");
    let sample = parse_sample(&std::fs::read(&file).context("read the sample")?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let shopify = o2o_testkit::samples::dev_connector::<o2o_shopify::Shopify>();
    let mut order: Value = serde_json::from_slice(&sample.body).context("sample body")?;
    let run = std::process::id();
    (0..n)
        .map(|i| {
            let mut sample = sample.clone();
            let id = format!("{run}{i:08}");
            order["id"] = Value::from(id.parse::<u64>().unwrap_or(u64::MAX - i as u64));
            order["name"] = Value::from(format!("#L{i}"));
            sample.body = serde_json::to_vec(&order)?;
            sample
                .headers
                .set("X-Shopify-Webhook-Id", format!("load-{run}-{i}"));
            sample
                .headers
                .set("X-Shopify-Event-Id", format!("load-{run}-{i}"));
            let req = sample
                .signed(&shopify, o2o_core::Timestamp::now())
                .map_err(|e| anyhow::anyhow!("sign: {e}"))?;
            let headers = req
                .headers
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            Ok((headers, req.body))
        })
        .collect()
}
