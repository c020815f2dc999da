//! `o2o queue` and `o2o replay` on the local SQLite queues.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::Args;
use o2o::config::Config;
use o2o::registry::CONNECTORS;
use o2o_core::ports::QueueName;
use o2o_local::SqliteStore;

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// SQLite file [default: [server] db, else o2o.db].
    #[arg(long)]
    db: Option<PathBuf>,
    /// Which queue: unified, enrichment or quarantine.
    #[arg(long, default_value = "unified", value_parser = ["unified", "enrichment", "quarantine"])]
    queue: String,
    /// Keep printing new messages as they arrive.
    #[arg(long)]
    follow: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// SQLite file [default: [server] db, else o2o.db].
    #[arg(long)]
    db: Option<PathBuf>,
}

pub fn print(config: &Config, args: QueueArgs) -> Result<ExitCode> {
    let queue =
        QueueName::parse(&args.queue).ok_or_else(|| anyhow!("unknown queue {}", args.queue))?;
    let db = config.db(args.db.as_deref());
    if !args.follow && !db.exists() {
        return Err(anyhow!(
            "no database at {} (start `o2o serve` first)",
            db.display()
        ));
    }
    let store = SqliteStore::open(&db)?;
    super::block_on(async {
        let mut after = 0;
        let mut out = std::io::stdout().lock();
        loop {
            let batch = store.read(queue, after, 500).await?;
            for message in &batch {
                writeln!(out, "{}", message.body)?;
            }
            out.flush()?;
            match batch.last() {
                Some(last) => after = last.seq,
                None if args.follow => tokio::time::sleep(Duration::from_millis(200)).await,
                None => return Ok(ExitCode::SUCCESS),
            }
        }
    })?
}

pub fn replay(config: &Config, args: ReplayArgs) -> Result<ExitCode> {
    let db = config.db(args.db.as_deref());
    if !db.exists() {
        return Err(anyhow!("no database at {}", db.display()));
    }
    let store = SqliteStore::open(&db)?;
    let summary = super::block_on(o2o_local::replay::replay_quarantine(
        &store,
        CONNECTORS,
        &config.channels,
    ))??;
    let still: Vec<serde_json::Value> = summary
        .still_failing
        .iter()
        .map(|(key, error)| serde_json::json!({ "idempotency_key": key, "error": error }))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "enqueued": summary.enqueued,
            "enrichment": summary.enrichment,
            "ignored": summary.ignored,
            "still_quarantined": still,
        })
    );
    Ok(ExitCode::SUCCESS)
}
