//! `o2o queue` (the local SQLite queues) and `o2o replay` (the local or the SQS quarantine).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::Args;
use o2o::config::Config;
use o2o::registry::CONNECTORS;
use o2o_core::Channels;
use o2o_core::pipeline::ReplaySummary;
use o2o_core::ports::QueueName;
use o2o_local::SqliteStore;

use super::Backend;

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// SQLite file [default: [server] db, else o2o.db].
    #[arg(long)]
    db: Option<PathBuf>,
    /// Which queue: unified, unified-dlq, enrichment, quarantine, commands or commands-dlq.
    #[arg(long, default_value = "unified", value_parser = ["unified", "unified-dlq", "enrichment", "quarantine", "commands", "commands-dlq"])]
    queue: String,
    /// Keep printing new messages as they arrive.
    #[arg(long)]
    follow: bool,
    /// Move every message of a dead-letter queue (unified-dlq or commands-dlq) back to the end
    /// of its queue, with fresh receive counts, and print how many moved.
    #[arg(long, conflicts_with = "follow")]
    redrive: bool,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// SQLite file [default: [server] db, else o2o.db].
    #[arg(long)]
    db: Option<PathBuf>,
    /// Where the quarantine is: the SQLite file, or SQS (`O2O_QUARANTINE_QUEUE_URL` and the
    /// other `O2O_*` resource variables; honours `AWS_ENDPOINT_URL`).
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
    /// With `--backend aws`: read each channel's credentials from the Secrets Manager secret
    /// `<PREFIX><channel>` (the template's `o2o/<stage>/`) instead of the config file.
    #[arg(long)]
    secret_prefix: Option<String>,
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
    if args.redrive {
        let Some(target) = queue.redrive_target() else {
            return Err(anyhow!(
                "--redrive moves a dead-letter queue back: use --queue unified-dlq or commands-dlq"
            ));
        };
        let moved = super::block_on(store.redrive(queue))??;
        println!(
            "{}",
            serde_json::json!({ "redriven": moved, "from": queue.as_str(), "to": target.as_str() })
        );
        return Ok(ExitCode::SUCCESS);
    }
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

/// The SQS quarantine, with settings from the config or from Secrets Manager.
async fn replay_aws(config: &Config, secret_prefix: Option<String>) -> Result<ReplaySummary> {
    let resources = o2o_aws::Resources::from_env()?;
    let sdk = o2o_aws::load_sdk_config().await;
    let channels = match secret_prefix {
        None => config.instances.clone(),
        Some(prefix) => {
            let mut tables = BTreeMap::new();
            for entry in CONNECTORS.iter() {
                let id = (entry.info)().id;
                let source = o2o_aws::CredentialSource::SecretsManager(format!("{prefix}{id}"));
                // A channel without a secret is simply not deployed; its messages stay put.
                match source.load(id, &sdk).await {
                    Ok(table) => {
                        tables.insert(id.to_owned(), table);
                    }
                    Err(e) => eprintln!("{id}: skipped ({e})"),
                }
            }
            Channels::build(CONNECTORS, &tables)?
        }
    };
    Ok(o2o_aws::replay::replay_quarantine(&sdk, &resources, &channels).await?)
}

pub fn replay(config: &Config, args: ReplayArgs) -> Result<ExitCode> {
    if args.secret_prefix.is_some() && args.backend != Backend::Aws {
        return Err(anyhow!("--secret-prefix needs --backend aws"));
    }
    let summary = match args.backend {
        Backend::Sqlite => {
            let db = config.db(args.db.as_deref());
            if !db.exists() {
                return Err(anyhow!("no database at {}", db.display()));
            }
            let store = SqliteStore::open(&db)?;
            super::block_on(o2o_local::replay::replay_quarantine(
                &store,
                &config.instances,
            ))??
        }
        Backend::Aws => super::block_on(replay_aws(config, args.secret_prefix))??,
    };
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
