//! The subcommands.

mod command;
mod consumer;
mod queue;
mod send;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use o2o::config::Config;
use o2o::registry::CONNECTORS;

/// o2o-connectors: platform webhooks in, one exactly-once stream of unified orders out.
#[derive(Debug, Parser)]
#[command(name = "o2o", version)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, default_value = "o2o.toml", env = "O2O_CONFIG")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Host every connector at /webhooks/{channel}[/{tenant}] on an embedded SQLite store.
    Serve(serve::ServeArgs),
    /// Sign a sample delivery with the configured secret and post it.
    Send(send::SendArgs),
    /// Print a queue as NDJSON, one message per line.
    Queue(queue::QueueArgs),
    /// Re-run quarantined deliveries through the current code.
    Replay(queue::ReplayArgs),
    /// Ask a platform to accept, reject, ready, cancel or fulfil an order (through `o2o serve`).
    #[command(name = "command")]
    Order(Box<command::CommandArgs>),
    /// Print the JSON Schema of UnifiedOrderEvent v1 (or, with --command, of OrderCommand v1).
    Schema {
        /// The schema of OrderCommand v1, the order system's commands.
        #[arg(long)]
        command: bool,
    },
    /// List the connectors and the settings each needs.
    Channels,
}

/// Where deliveries are deduplicated and queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Embedded SQLite file (`--db`).
    Sqlite,
    /// DynamoDB and SQS, named by `O2O_IDEMPOTENCY_TABLE` and `O2O_*_QUEUE_URL`; honours
    /// `AWS_ENDPOINT_URL` (moto, LocalStack) and the usual AWS credential variables.
    Aws,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Schema { command } => {
            match command {
                true => print!("{}", o2o_core::command::json_schema()),
                false => print!("{}", o2o_core::event::json_schema()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Channels => {
            print_channels();
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve::run(&Config::load(&cli.config, CONNECTORS)?, args),
        Command::Send(args) => send::run(&Config::load(&cli.config, CONNECTORS)?, args),
        Command::Order(args) => command::run(&load_or_default(&cli.config)?, *args),
        Command::Queue(args) => queue::print(&load_or_default(&cli.config)?, args),
        Command::Replay(args) => queue::replay(&Config::load(&cli.config, CONNECTORS)?, args),
    }
}

/// `o2o queue` needs the config only for the db path: a missing file is fine.
fn load_or_default(path: &std::path::Path) -> Result<Config> {
    if path.exists() {
        Config::load(path, CONNECTORS)
    } else {
        Ok(Config::default())
    }
}

/// Lists every connector and its settings, read from each connector's settings schema (so
/// it cannot drift from the code); credentials are marked `secret`.
fn print_channels() {
    let entries: Vec<_> = CONNECTORS
        .iter()
        .map(|e| ((e.info)(), e.settings()))
        .collect();
    // Setting names are padded to the longest one, so the columns line up.
    let width = entries
        .iter()
        .flat_map(|(_, settings)| settings.iter())
        .map(|s| s.name.len() + 2)
        .max()
        .unwrap_or(20);
    for (info, settings) in entries {
        let kind = serde_json::to_value(info.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("{:<24}{:<14}{}", info.id, kind, info.name);
        for setting in settings {
            let required = if setting.required {
                "required"
            } else {
                "optional"
            };
            let secret = if setting.secret { "secret" } else { "" };
            println!(
                "    {:<width$}{:<10}{:<8}{}",
                setting.name, required, secret, setting.description
            );
        }
    }
}

/// A current-thread runtime is enough for the client commands.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future))
}
