//! Soak: steady load on a running `o2o serve` for minutes, consumed as the order system would,
//! while the SQLite file's size is sampled — does the file stop growing once idempotency records
//! expire as fast as they come (`[server] idempotency_ttl_s`, the retention sweep) and the
//! unified queue is consumed?
//!
//! Posts distinct, correctly signed Shopify `orders/create` deliveries (each its own webhook id
//! and order id, signed on the fly with the development secret of `o2o.toml`) at `--rate` per
//! second over `--connections` keep-alive connections for `--minutes`; meanwhile a consumer using
//! the real `aws-sdk-sqs` client receives from the consumer API (`--api`) and deletes what it
//! received with `DeleteMessageBatch`. Every `--sample-every-s` it prints one line: elapsed,
//! posted, consumed, the sizes of the db file and its `-wal` (and their sum), and what the file
//! holds (pages, free pages, idempotency records, unified messages; read on a short read-only
//! connection). At the end: the size after the first TTL window against the maximum and the end
//! of the run, the growth over the second half, latencies, and failures. Exits non-zero if any
//! delivery was not answered 200 (or a received message could not be deleted).
//!
//! ```text
//! scripts/soak 12 400        # builds, starts the server with a 120 s TTL, runs this, stops it
//! cargo run --release --example soak -- --base http://127.0.0.1:18090 \
//!     --api http://127.0.0.1:19324 --db /tmp/soak/soak.db --rate 400 --minutes 12 --ttl-s 120
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use clap::Parser;
use o2o_core::sample::{Sample, parse_sample};
use serde_json::Value;

#[derive(Debug, Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:18090.
    #[arg(long)]
    base: String,
    /// The consumer API, e.g. http://127.0.0.1:19324.
    #[arg(long)]
    api: String,
    /// The server's SQLite file (its size, and its `-wal`'s, are sampled).
    #[arg(long)]
    db: PathBuf,
    /// Deliveries per second.
    #[arg(long, default_value_t = 400.0)]
    rate: f64,
    /// How long to post.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Seconds between samples.
    #[arg(long, default_value_t = 30)]
    sample_every_s: u64,
    /// The server's `[server] idempotency_ttl_s` (only for the summary's first TTL window).
    #[arg(long, default_value_t = 120)]
    ttl_s: u64,
    /// Seconds the consumer may take after the last post to empty the queue.
    #[arg(long, default_value_t = 60)]
    drain_s: u64,
}

/// Counters shared by the posters, the consumer and the sampler.
#[derive(Debug, Default)]
struct Stats {
    posted: AtomicU64,
    failed: AtomicU64,
    consumed: AtomicU64,
    receive_errors: AtomicU64,
    delete_failures: AtomicU64,
    /// Slowest answer since the last sample, microseconds.
    interval_max_us: AtomicU64,
    /// Latest a delivery started after it was due, microseconds (the rate was not held if large).
    max_late_us: AtomicU64,
}

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let args = Args::parse();
    ensure!(
        args.rate > 0.0 && args.minutes > 0.0 && args.connections > 0 && args.sample_every_s > 0,
        "nothing to do"
    );
    let template = Arc::new(Template::load()?);
    let stats = Arc::new(Stats::default());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("{}/webhooks/shopify", args.base.trim_end_matches('/'));
    let sqs = aws_sdk_sqs::Client::new(&o2o_testkit::moto::sdk_config_for(&args.api).await);
    let queue_url = format!(
        "{}/000000000000/o2o-local-unified.fifo",
        args.api.trim_end_matches('/')
    );
    let duration = Duration::from_secs_f64(args.minutes * 60.0);
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let run = Run::new();
    println!(
        "soak: {} deliveries/s for {:.1} min over {} connections (run {}), consumer on {queue_url}, \
         sampling {} every {} s; TTL {} s",
        args.rate,
        args.minutes,
        args.connections,
        run.tag,
        args.db.display(),
        args.sample_every_s,
        args.ttl_s
    );

    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut posters = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let (client, url, next, template, stats, run) = (
            client.clone(),
            url.clone(),
            Arc::clone(&next),
            Arc::clone(&template),
            Arc::clone(&stats),
            run.clone(),
        );
        posters.spawn(async move {
            let mut order = template.order.clone();
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                // Delivery i is due at i / rate: a steady rate, whatever the connections do.
                let due = interval.mul_f64(i as f64);
                if due >= duration {
                    return latencies;
                }
                let due = started + due;
                tokio::time::sleep_until(due.into()).await;
                let late = Instant::now().saturating_duration_since(due);
                stats
                    .max_late_us
                    .fetch_max(late.as_micros() as u64, Ordering::Relaxed);
                let (headers, body) = match template.delivery(&mut order, &run, i) {
                    Ok(delivery) => delivery,
                    Err(e) => {
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("delivery {i}: {e:#}");
                        continue;
                    }
                };
                let mut request = client.post(&url).body(body);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let sent = Instant::now();
                let answered = match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let text = response.text().await.unwrap_or_default();
                        (status == 200)
                            .then_some(())
                            .ok_or(format!("{status} {text}"))
                    }
                    Err(e) => Err(format!("{e}")),
                };
                let took = sent.elapsed();
                latencies.push(took);
                stats
                    .interval_max_us
                    .fetch_max(took.as_micros() as u64, Ordering::Relaxed);
                stats.posted.fetch_add(1, Ordering::Relaxed);
                if let Err(answer) = answered {
                    // The first few are printed; all are counted.
                    if stats.failed.fetch_add(1, Ordering::Relaxed) < 10 {
                        eprintln!("delivery {i} failed: {answer}");
                    }
                }
            }
        });
    }
    // Joins the posters; the sampler below selects on it.
    let mut posting = tokio::spawn(async move {
        let mut latencies = Vec::new();
        while let Some(poster) = posters.join_next().await {
            latencies.extend(poster.unwrap_or_default());
        }
        latencies
    });

    let posting_done = Arc::new(AtomicBool::new(false));
    let consumer = tokio::spawn(consume(
        sqs,
        queue_url,
        Arc::clone(&stats),
        Arc::clone(&posting_done),
    ));

    let mut samples = Vec::new();
    println!("{}", Reading::HEADER);
    let sample = |samples: &mut Vec<Reading>, note: &'static str| {
        let s = Reading::take(started, &stats, &args.db, note);
        println!("{}", s.line());
        samples.push(s);
    };
    sample(&mut samples, "");
    let every = Duration::from_secs(args.sample_every_s);
    let mut tick = tokio::time::interval_at((started + every).into(), every);
    let latencies = loop {
        tokio::select! {
            _ = tick.tick() => sample(&mut samples, ""),
            latencies = &mut posting => break latencies.context("posters")?,
        }
    };
    let posted_for = started.elapsed();
    sample(&mut samples, "posting ended");
    let end_of_run = samples.len() - 1;

    // The consumer empties the queue, within --drain-s.
    posting_done.store(true, Ordering::Relaxed);
    let drained = tokio::time::timeout(Duration::from_secs(args.drain_s), consumer).await;
    let drained = matches!(drained, Ok(Ok(())));
    sample(
        &mut samples,
        if drained { "drained" } else { "NOT drained" },
    );

    summary(
        &args, &samples, end_of_run, &stats, posted_for, latencies, drained,
    );
    let failed = stats.failed.load(Ordering::Relaxed);
    let delete_failures = stats.delete_failures.load(Ordering::Relaxed);
    Ok(if failed == 0 && delete_failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Receives (10 at a time, 1 s long polls) and deletes each batch; returns once posting is done
/// and a receive comes back empty.
async fn consume(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    stats: Arc<Stats>,
    posting_done: Arc<AtomicBool>,
) {
    loop {
        let done = posting_done.load(Ordering::Relaxed);
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                if stats.receive_errors.fetch_add(1, Ordering::Relaxed) < 10 {
                    eprintln!(
                        "receive failed: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if messages.is_empty() {
            if done {
                return;
            }
            continue;
        }
        let entries: Vec<_> = messages
            .iter()
            .enumerate()
            .filter_map(|(n, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        let deleted = sqs
            .delete_message_batch()
            .queue_url(&queue_url)
            .set_entries(Some(entries))
            .send()
            .await;
        match deleted {
            Ok(out) => {
                stats
                    .consumed
                    .fetch_add(out.successful().len() as u64, Ordering::Relaxed);
                if !out.failed().is_empty() {
                    let before = stats
                        .delete_failures
                        .fetch_add(out.failed().len() as u64, Ordering::Relaxed);
                    if before < 10 {
                        eprintln!("delete failed: {:?}", out.failed());
                    }
                }
            }
            Err(e) => {
                let before = stats
                    .delete_failures
                    .fetch_add(messages.len() as u64, Ordering::Relaxed);
                if before < 10 {
                    eprintln!(
                        "DeleteMessageBatch failed: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    );
                }
            }
        }
    }
}

/// One delivery: headers and body.
type Delivery = (Vec<(String, String)>, Vec<u8>);

/// The Shopify sample, parsed once; each delivery is a copy with its own ids, signed when sent.
struct Template {
    sample: Sample,
    order: Value,
    shopify: o2o_shopify::Shopify,
}

/// Makes this run's ids unique: the process id and the start time.
#[derive(Clone)]
struct Run {
    tag: Arc<str>,
    /// Order ids are `order_base + i`.
    order_base: u64,
}

impl Run {
    fn new() -> Self {
        let secs = o2o_core::Timestamp::now().unix_seconds().max(0) as u64;
        Self {
            tag: format!("{}-{secs}", std::process::id()).into(),
            // Unix seconds × 10⁹ stays below i64::MAX until 2262; a run posts far fewer than 10⁹.
            order_base: secs * 1_000_000_000,
        }
    }
}

impl Template {
    fn load() -> Result<Self> {
        let file = o2o_testkit::samples::repo_root().join("events/shopify/orders-create.http");
        let sample = parse_sample(&std::fs::read(&file).context("read the sample")?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let order = serde_json::from_slice(&sample.body).context("sample body")?;
        Ok(Self {
            sample,
            order,
            shopify: o2o_testkit::samples::dev_connector::<o2o_shopify::Shopify>(),
        })
    }

    /// Delivery `i` of `run`: headers and body, signed now. `order` is the caller's copy of the
    /// template's order, changed in place.
    fn delivery(&self, order: &mut Value, run: &Run, i: u64) -> Result<Delivery> {
        order["id"] = Value::from(run.order_base + i);
        order["name"] = Value::from(format!("#S{i}"));
        let mut sample = self.sample.clone();
        sample.body = serde_json::to_vec(order)?;
        let id = format!("soak-{}-{i}", run.tag);
        sample.headers.set("X-Shopify-Webhook-Id", id.clone());
        sample.headers.set("X-Shopify-Event-Id", id);
        let req = sample
            .signed(&self.shopify, o2o_core::Timestamp::now())
            .map_err(|e| anyhow::anyhow!("sign: {e}"))?;
        let headers = req
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        Ok((headers, req.body))
    }
}

/// What the file holds, read on a short read-only connection.
#[derive(Debug, Clone, Copy, Default)]
struct Inside {
    page_size: u64,
    pages: u64,
    free_pages: u64,
    records: u64,
    unified: u64,
    other_messages: u64,
}

impl Inside {
    fn read(db: &Path) -> rusqlite::Result<Self> {
        let conn = rusqlite::Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(2))?;
        // One read transaction: every figure from the same snapshot.
        let tx = conn.unchecked_transaction()?;
        let one = |sql: &str| tx.query_row(sql, [], |row| row.get::<_, i64>(0));
        let (unified, messages) = tx.query_row(
            "SELECT coalesce(sum(queue = 'unified'), 0), count(*) FROM messages",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
        )?;
        let inside = Self {
            page_size: one("PRAGMA page_size")? as u64,
            pages: one("PRAGMA page_count")? as u64,
            free_pages: one("PRAGMA freelist_count")? as u64,
            records: one("SELECT count(*) FROM idempotency")? as u64,
            unified: unified as u64,
            other_messages: (messages - unified) as u64,
        };
        tx.commit()?;
        Ok(inside)
    }
}

/// One sample: one line of the table.
#[derive(Debug, Clone)]
struct Reading {
    elapsed: Duration,
    posted: u64,
    consumed: u64,
    db: u64,
    wal: u64,
    inside: Option<Inside>,
    interval_max_ms: f64,
    note: &'static str,
}

impl Reading {
    const HEADER: &str = "elapsed_s    posted  consumed        db_bytes       wal_bytes     total_bytes   pages  free_pages  records  unified  other_msgs  max_ms  note";

    fn take(started: Instant, stats: &Stats, db: &Path, note: &'static str) -> Self {
        let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let inside = match Inside::read(db) {
            Ok(inside) => Some(inside),
            Err(e) => {
                eprintln!("reading {}: {e}", db.display());
                None
            }
        };
        Self {
            elapsed: started.elapsed(),
            posted: stats.posted.load(Ordering::Relaxed),
            consumed: stats.consumed.load(Ordering::Relaxed),
            db: size(db),
            wal: size(Path::new(&wal)),
            inside,
            interval_max_ms: stats.interval_max_us.swap(0, Ordering::Relaxed) as f64 / 1000.0,
            note,
        }
    }

    fn total(&self) -> u64 {
        self.db + self.wal
    }

    fn line(&self) -> String {
        let inside = self.inside.unwrap_or_default();
        format!(
            "{:>9.0} {:>9} {:>9} {:>15} {:>15} {:>15} {:>7} {:>11} {:>8} {:>8} {:>11} {:>7.1}  {}",
            self.elapsed.as_secs_f64(),
            self.posted,
            self.consumed,
            thousands(self.db),
            thousands(self.wal),
            thousands(self.total()),
            inside.pages,
            inside.free_pages,
            inside.records,
            inside.unified,
            inside.other_messages,
            self.interval_max_ms,
            self.note
        )
    }
}

fn summary(
    args: &Args,
    samples: &[Reading],
    end_of_run: usize,
    stats: &Stats,
    posted_for: Duration,
    mut latencies: Vec<Duration>,
    drained: bool,
) {
    let end = &samples[end_of_run];
    let run = &samples[..=end_of_run];
    let at = |secs: f64| {
        run.iter()
            .find(|s| s.elapsed.as_secs_f64() >= secs)
            .unwrap_or(end)
    };
    let first_ttl = at(args.ttl_s as f64);
    let half = at(end.elapsed.as_secs_f64() / 2.0);
    let max_total = run.iter().max_by_key(|s| s.total()).unwrap_or(end);
    let max_db = run.iter().max_by_key(|s| s.db).unwrap_or(end);
    let pct = |from: u64, to: u64| (to as f64 - from as f64) / from.max(1) as f64 * 100.0;
    let posted = stats.posted.load(Ordering::Relaxed);
    println!();
    println!(
        "posted {posted} in {:.1} s ({:.1}/s; asked {}/s, latest start {:.1} ms behind schedule); \
         consumed {}; failures {} (non-200 or no answer); receive errors {}; delete failures {}; \
         queue {}",
        posted_for.as_secs_f64(),
        posted as f64 / posted_for.as_secs_f64(),
        args.rate,
        stats.max_late_us.load(Ordering::Relaxed) as f64 / 1000.0,
        stats.consumed.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        stats.receive_errors.load(Ordering::Relaxed),
        stats.delete_failures.load(Ordering::Relaxed),
        if drained { "drained" } else { "NOT drained" },
    );
    latencies.sort_unstable();
    if !latencies.is_empty() {
        let q = |q: f64| {
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i].as_secs_f64() * 1000.0
        };
        println!(
            "latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            q(0.5),
            q(0.99),
            q(0.999),
            q(1.0)
        );
    }
    println!(
        "db + wal: {} at {:.0} s (end of the first TTL window, {} s); max {} at {:.0} s; {} at the \
         end of the run ({:.0} s)",
        thousands(first_ttl.total()),
        first_ttl.elapsed.as_secs_f64(),
        args.ttl_s,
        thousands(max_total.total()),
        max_total.elapsed.as_secs_f64(),
        thousands(end.total()),
        end.elapsed.as_secs_f64()
    );
    println!(
        "db alone: {} at {:.0} s; max {} at {:.0} s; {} at the end",
        thousands(first_ttl.db),
        first_ttl.elapsed.as_secs_f64(),
        thousands(max_db.db),
        max_db.elapsed.as_secs_f64(),
        thousands(end.db)
    );
    println!(
        "growth in the second half ({:.0} s → {:.0} s): db + wal {:+.1} %, db {:+.1} %; \
         end against the first TTL window: db + wal {:+.1} %",
        half.elapsed.as_secs_f64(),
        end.elapsed.as_secs_f64(),
        pct(half.total(), end.total()),
        pct(half.db, end.db),
        pct(first_ttl.total(), end.total())
    );
    if let (Some(h), Some(e)) = (half.inside, end.inside) {
        println!(
            "pages in use (page_count − freelist, {} bytes each): {} → {} over the second half",
            e.page_size,
            h.pages - h.free_pages,
            e.pages - e.free_pages
        );
    }
}

/// 12345678 → "12,345,678".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
