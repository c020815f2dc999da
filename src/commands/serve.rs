//! `o2o serve`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use o2o::config::Config;
use o2o::registry::CONNECTORS;
use o2o_core::Secret;
use o2o_core::ports::{IdempotencyStore, Queues};
use o2o_core::request::DEFAULT_MAX_BODY_BYTES;
use o2o_edge::{CommandIntake, Edge};
use o2o_local::SqliteStore;
use o2o_local::retry::{RetryOptions, RetryQueue, run_command_worker, run_enrichment_worker};

use super::Backend;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address [default: [server] addr, else 127.0.0.1:8080].
    #[arg(long)]
    addr: Option<String>,
    /// SQLite file [default: [server] db, else o2o.db].
    #[arg(long)]
    db: Option<PathBuf>,
    /// The consumer API's listen address, or `off` [default: [consumer] api_addr, else off].
    #[arg(long, value_name = "ADDR|off")]
    consumer_api: Option<String>,
    /// Store and queue backend.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,
}

pub fn run(config: &Config, args: ServeArgs) -> Result<ExitCode> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // The SQLite store also feeds the local enrichment and command workers; on AWS the
        // enrichment and commands queues feed the Lambda functions.
        let mut local = None;
        let (store, queues, backend): (Arc<dyn IdempotencyStore>, Arc<dyn Queues>, String) =
            match args.backend {
                Backend::Sqlite => {
                    let db = config.db(args.db.as_deref());
                    let store = SqliteStore::open(&db)
                        .with_context(|| format!("opening {}", db.display()))?;
                    // No request is in flight yet: any claim still in progress is a crashed
                    // run's, whose platform will retry it.
                    let orphaned = store.release_orphaned_claims().await?;
                    if orphaned > 0 {
                        tracing::warn!(orphaned, "released the claims of a run that did not stop cleanly");
                    }
                    local = Some(store.clone());
                    let store = Arc::new(store);
                    (store.clone(), store, db.display().to_string())
                }
                Backend::Aws => {
                    let resources = o2o_aws::Resources::from_env()?;
                    let sdk = o2o_aws::load_sdk_config().await;
                    let (store, queues) = o2o_aws::ports(&sdk, &resources);
                    let backend = format!("dynamodb:{}", resources.idempotency_table);
                    (Arc::new(store), Arc::new(queues), backend)
                }
            };
        let limits = config.server.limits()?;
        let addr = config.addr(args.addr.as_deref());
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let (consumer_api, push) = match &local {
            Some(_) => (
                super::consumer::bind_api(config, args.consumer_api.as_deref()).await?,
                super::consumer::push_options(config)?,
            ),
            None => (None, None),
        };
        let mut edge = Edge::new(CONNECTORS, config.instances.clone(), store, queues);
        if let Some(ttl) = config.server.idempotency_ttl_s {
            edge.options.completed_ttl_seconds = i64::try_from(ttl).unwrap_or(i64::MAX);
        }
        edge.max_body_bytes = config
            .server
            .max_body_bytes
            .unwrap_or(DEFAULT_MAX_BODY_BYTES);
        // Commands call platforms with the merchant's credentials: without a token they are
        // taken only from this machine. On the AWS backend the order system sends to each
        // channel's commands queue itself.
        let loopback = listener.local_addr()?.ip().is_loopback();
        edge.commands = match (&local, &config.server.commands_token) {
            (None, _) => None,
            (Some(_), Some(token)) => Some(CommandIntake {
                token: Some(Secret::new(token.clone())),
            }),
            (Some(_), None) if loopback => Some(CommandIntake::default()),
            (Some(_), None) => {
                tracing::warn!(
                    "POST /commands is off: set [server] commands_token to take commands on a non-loopback address"
                );
                None
            }
        };
        let edge = Arc::new(edge);
        let channels: Vec<&str> = config.channels.keys().map(String::as_str).collect();
        tracing::info!(
            addr = %listener.local_addr()?,
            backend,
            channels = ?channels,
            header_read_timeout_s = limits.header_read_timeout.as_secs(),
            body_read_timeout_s = limits.body_read_timeout.as_secs(),
            idle_timeout_s = limits.idle_timeout.as_secs(),
            max_connections = limits.max_connections,
            shutdown_deadline_s = limits.shutdown_deadline.as_secs(),
            "listening"
        );
        let checkpoint_on_exit = local.clone();
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let mut workers = Vec::new();
        if let Some(store) = local {
            let enrichment = RetryQueue::enrichment(
                store.clone(),
                Arc::clone(&edge.queues),
                RetryOptions::default(),
            );
            let commands = RetryQueue::commands(store.clone(), RetryOptions::commands());
            workers.push(tokio::spawn(run_enrichment_worker(enrichment, Arc::clone(&edge))));
            workers.push(tokio::spawn(run_command_worker(commands, Arc::clone(&edge))));
            workers.extend(super::consumer::start(config, &store, consumer_api, push, limits, stopping.clone()));
        }
        let shutdown = async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        };
        o2o_local::serve(listener, edge, limits, shutdown).await?;
        for worker in workers {
            worker.abort();
        }
        if let Some(store) = &checkpoint_on_exit
            && let Err(e) = store.checkpoint().await
        {
            tracing::warn!(error = %e, "the WAL was not checkpointed: the next start applies it");
        }
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// JSON lines on stderr; level from `O2O_LOG` (error, warn, info, debug), default info.
fn init_logging() {
    let level = std::env::var("O2O_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests (at most shutdown_deadline_s)");
}
