//! `o2o command`: build an `OrderCommand`, post it to `o2o serve`'s `POST /commands`, and wait
//! for its `command.succeeded` or `command.failed` on the local unified queue.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use o2o::config::Config;
use o2o_core::command::{
    Action, CommandKind, CommandOrder, CommandSchemaVersion, Fulfil, FulfilItem, OrderCommand,
    Reason,
};
use o2o_core::ports::QueueName;
use o2o_core::{Timestamp, UnifiedOrderEvent};
use o2o_local::SqliteStore;

#[derive(Debug, Args)]
pub struct CommandArgs {
    /// The channel id, e.g. `uber-eats`.
    channel: String,
    /// accept, reject, ready, cancel or fulfil.
    #[arg(value_parser = ["accept", "reject", "ready", "cancel", "fulfil"])]
    kind: String,
    /// The platform's order id (`order.external_id` of its events).
    order_id: String,
    /// The order's `source.tenant` [default: read from the order's last event on the local
    /// unified queue].
    #[arg(long)]
    tenant: Option<String>,
    /// The idempotency key [default: a new one]. Send the same id again to repeat safely.
    #[arg(long)]
    command_id: Option<String>,
    /// reject/cancel: busy, closed, item_unavailable, customer_request, address_unreachable, other.
    #[arg(long, default_value = "other")]
    reason: String,
    /// reject/cancel: free text for the platform.
    #[arg(long)]
    note: Option<String>,
    /// accept: minutes until the order is ready.
    #[arg(long)]
    ready_in: Option<i64>,
    /// fulfil: the carrier.
    #[arg(long)]
    carrier: Option<String>,
    /// fulfil: the tracking number.
    #[arg(long)]
    tracking_number: Option<String>,
    /// fulfil: the tracking page.
    #[arg(long)]
    tracking_url: Option<String>,
    /// fulfil: a shipped line as LINE_ID:QUANTITY (repeat; none: everything not shipped).
    #[arg(long = "item")]
    items: Vec<String>,
    /// fulfil: do not ask the platform to tell the buyer.
    #[arg(long)]
    no_notify: bool,
    /// Give up on the command after this many seconds (`deadline`).
    #[arg(long)]
    deadline_in: Option<i64>,
    /// Where to post [default: http://<server addr>/commands].
    #[arg(long)]
    to: Option<String>,
    /// The bearer token `o2o serve` requires ([server] commands_token).
    #[arg(long, env = "O2O_COMMANDS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Seconds to wait for the result on the local unified queue (0: do not wait).
    #[arg(long, default_value_t = 60)]
    wait: u64,
    /// SQLite file to read the tenant and the result from [default: [server] db, else o2o.db].
    #[arg(long)]
    db: Option<PathBuf>,
}

pub fn run(config: &Config, args: CommandArgs) -> Result<ExitCode> {
    let db = config.db(args.db.as_deref());
    let store = db.exists().then(|| SqliteStore::open(&db)).transpose()?;
    let tenant = match (&args.tenant, &store) {
        (Some(tenant), _) => tenant.clone(),
        (None, Some(store)) => {
            super::block_on(order_tenant(store, &args.channel, &args.order_id))??
        }
        (None, None) => bail!(
            "no local queue at {} to find the order in: give --tenant",
            db.display()
        ),
    };
    let command = build(&args, tenant)?;
    let url = args
        .to
        .clone()
        .unwrap_or_else(|| format!("http://{}/commands", config.addr(None)));
    let body = serde_json::to_string(&command)?;
    let (status, answer) = super::block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = &args.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("posting to {url} (is `o2o serve` running?)"))?;
        let status = response.status();
        anyhow::Ok((status, response.text().await?))
    })??;
    println!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    println!("{answer}");
    if !status.is_success() {
        return Ok(ExitCode::FAILURE);
    }
    let Some(store) = store.filter(|_| args.wait > 0) else {
        return Ok(ExitCode::SUCCESS);
    };
    let result = super::block_on(wait_for_result(
        &store,
        &command.command_id,
        Duration::from_secs(args.wait),
    ))??;
    match result {
        Some(event) => {
            println!("{}", serde_json::to_string(&event)?);
            Ok(match event.event_type {
                o2o_core::event::EventType::CommandSucceeded => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            })
        }
        None => {
            eprintln!(
                "no result within {} s (it is still queued or retrying; see `o2o queue --follow`)",
                args.wait
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn build(args: &CommandArgs, tenant: String) -> Result<OrderCommand> {
    let reason = || -> Result<Reason> {
        serde_json::from_value(serde_json::Value::String(args.reason.clone()))
            .map_err(|_| anyhow!("--reason: one of busy, closed, item_unavailable, customer_request, address_unreachable, other"))
    };
    let now = Timestamp::now();
    let action = match CommandKind::parse(&args.kind).ok_or_else(|| anyhow!("unknown kind"))? {
        CommandKind::Accept => Action::Accept {
            ready_by: args.ready_in.map(|m| now.plus_seconds(m * 60)),
        },
        CommandKind::Reject => Action::Reject {
            reason: reason()?,
            note: args.note.clone(),
        },
        CommandKind::Ready => Action::Ready {},
        CommandKind::Cancel => Action::Cancel {
            reason: reason()?,
            note: args.note.clone(),
        },
        CommandKind::Fulfil => Action::Fulfil(Fulfil {
            carrier: args.carrier.clone(),
            tracking_number: args.tracking_number.clone(),
            tracking_url: args.tracking_url.clone(),
            items: args.items.iter().map(|i| item(i)).collect::<Result<_>>()?,
            notify_customer: !args.no_notify,
        }),
    };
    let command = OrderCommand {
        schema_version: CommandSchemaVersion::V1,
        command_id: args
            .command_id
            .clone()
            .unwrap_or_else(|| format!("cli-{}-{}", now.unix_millis(), std::process::id())),
        channel: args.channel.clone(),
        tenant,
        order: CommandOrder {
            external_id: args.order_id.clone(),
        },
        action,
        requested_at: now,
        deadline: args.deadline_in.map(|s| now.plus_seconds(s)),
    };
    command.check().map_err(|e| anyhow!("{e}"))?;
    Ok(command)
}

fn item(text: &str) -> Result<FulfilItem> {
    let (id, quantity) = text
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("--item {text}: LINE_ID:QUANTITY"))?;
    Ok(FulfilItem {
        external_id: id.to_owned(),
        quantity: quantity
            .parse()
            .map_err(|_| anyhow!("--item {text}: the quantity is not a number"))?,
    })
}

/// The `source.tenant` of the order's last event on the local unified queue.
async fn order_tenant(store: &SqliteStore, channel: &str, order_id: &str) -> Result<String> {
    let mut after = 0;
    let mut tenant = None;
    loop {
        let batch = store.read(QueueName::Unified, after, 500).await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for message in batch {
            let Ok(event) = serde_json::from_str::<UnifiedOrderEvent>(&message.body) else {
                continue;
            };
            let is_order = event
                .order
                .as_ref()
                .is_some_and(|o| o.external_id == order_id);
            if event.source.channel == channel && is_order {
                tenant = Some(event.source.tenant);
            }
        }
    }
    tenant.ok_or_else(|| {
        anyhow!("no {channel} order {order_id} on the local unified queue: give --tenant")
    })
}

/// Polls the local unified queue for the command's result.
async fn wait_for_result(
    store: &SqliteStore,
    command_id: &str,
    wait: Duration,
) -> Result<Option<UnifiedOrderEvent>> {
    let started = Instant::now();
    let mut after = 0;
    loop {
        let batch = store.read(QueueName::Unified, after, 500).await?;
        if let Some(last) = batch.last() {
            after = last.seq;
        }
        for message in batch {
            let Ok(event) = serde_json::from_str::<UnifiedOrderEvent>(&message.body) else {
                continue;
            };
            if event
                .command
                .as_ref()
                .is_some_and(|c| c.command_id == command_id)
            {
                return Ok(Some(event));
            }
        }
        if started.elapsed() >= wait {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
