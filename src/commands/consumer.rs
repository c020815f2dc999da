//! The local store's consumers that `o2o serve` starts beside the webhook listener, from
//! `[consumer]` and `[server]`: the SQS-compatible consumer API, the push to the order system,
//! and the retention sweep.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use o2o::config::Config;
use o2o_local::SqliteStore;
use o2o_local::push::{PushOptions, decode_secret, run_pusher};
use o2o_local::retention::{Retention, run_sweeper};
use o2o_local::server::Limits;
use o2o_local::sqs_api::QueueSettings;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The unified queue's settings for consumers: `[consumer]` over the AWS template's.
pub fn queue_settings(config: &Config) -> QueueSettings {
    let defaults = QueueSettings::default();
    QueueSettings {
        visibility: config
            .consumer
            .visibility_timeout_s
            .map_or(defaults.visibility, Duration::from_secs),
        max_receives: config
            .consumer
            .max_receives
            .unwrap_or(defaults.max_receives),
    }
}

/// Retention from `[consumer] retention_days`; swept every minute, or more often when
/// completed deliveries are kept less than two minutes (`[server] idempotency_ttl_s`).
pub fn retention(config: &Config) -> Retention {
    let defaults = Retention::default();
    let ttl = Duration::from_secs(
        config
            .server
            .idempotency_ttl_s
            .unwrap_or(o2o_core::pipeline::COMPLETED_TTL_SECONDS as u64),
    );
    Retention {
        messages: config
            .consumer
            .retention_days
            .map_or(defaults.messages, |d| {
                Duration::from_secs(d.saturating_mul(24 * 3600))
            }),
        every: defaults.every.min(ttl / 2).max(Duration::from_secs(1)),
    }
}

/// Binds the consumer API's listener at `flag` (`off`: none), else at `[consumer] api_addr`
/// if set; refuses an address that is not loopback (the API has no authentication).
pub async fn bind_api(
    config: &Config,
    flag: Option<&str>,
) -> Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = flag.or(config.consumer.api_addr.as_deref()) else {
        return Ok(None);
    };
    if addr == "off" {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the consumer API on {addr}"))?;
    if !listener.local_addr()?.ip().is_loopback() {
        bail!(
            "[consumer] api_addr {addr} is not a loopback address: the consumer API has no \
             authentication, so it only listens on this machine (127.0.0.1 or ::1)"
        );
    }
    Ok(Some(listener))
}

/// The push to the order system, if `[consumer] url` is set: its options from `[consumer]`.
pub fn push_options(config: &Config) -> Result<Option<PushOptions>> {
    let Some(url) = &config.consumer.url else {
        return Ok(None);
    };
    // Both were checked when the config was loaded.
    let url: reqwest::Url = url.parse().context("[consumer] url")?;
    let secret = config.consumer.secret.as_deref().unwrap_or_default();
    let key = decode_secret(secret).context("[consumer] secret")?;
    let mut options = PushOptions::new(url, key);
    if let Some(ms) = config.consumer.timeout_ms {
        options.timeout = Duration::from_millis(ms);
    }
    options.max_receives = queue_settings(config).max_receives;
    Ok(Some(options))
}

/// Starts the consumer API (on `api`, stopping when `stop` turns true), the push (with
/// `push`) and the retention sweep; returns their tasks.
pub fn start(
    config: &Config,
    store: &SqliteStore,
    api: Option<tokio::net::TcpListener>,
    push: Option<PushOptions>,
    limits: Limits,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(run_sweeper(store.clone(), retention(config)))];
    if let Some(options) = push {
        tracing::info!(
            to = %options.url.origin().ascii_serialization(),
            max_receives = options.max_receives,
            "pushing unified events to the order system"
        );
        if api.is_some() {
            tracing::warn!(
                "both the consumer API and [consumer] url are on: they take from the same queue, so each event goes to one of them"
            );
        }
        tasks.push(tokio::spawn(run_pusher(store.clone(), options)));
    }
    if let Some(listener) = api {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "consumer API (SQS JSON protocol) listening");
        }
        let router = o2o_local::sqs_api::router(store.clone(), queue_settings(config));
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let mut stop = stop;
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = o2o_local::server::serve_router(listener, router, limits, stopped).await
            {
                tracing::warn!(error = %e, "consumer API stopped");
            }
        }));
    }
    tasks
}
