//! Queue consumers: the enrichment consumer, the commands consumer and the replay of the
//! quarantine, written once over
//! the [`Consumer`] port. SQLite implements it for `o2o serve` and `o2o replay`; SQS implements
//! it for a Lambda function's batches (failures become `batchItemFailures`) and for
//! `o2o replay --backend aws`.

use o2o_core::command::OrderCommand;
use o2o_core::pipeline::{CommandProcessed, QueuedCommand, ReplaySummary};
use o2o_core::ports::{PortError, StoredDelivery};
use o2o_core::{Channels, Pipeline, Processed, Timestamp};

/// One message taken from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The queue's id for it (SQS message id, SQLite sequence number).
    pub id: String,
    /// Its body: a [`StoredDelivery`] or an `OrderCommand` as JSON.
    pub body: String,
    /// How many times the queue has handed it out, this time included (SQS's
    /// `ApproximateReceiveCount`; 1 the first time).
    pub attempt: u32,
    /// When the queue took it in.
    pub sent_at: Timestamp,
}

/// A queue as a consumer sees it.
#[async_trait::async_trait]
pub trait Consumer: Send + Sync {
    /// Up to `max` messages that are ready now; none when the queue has nothing ready.
    async fn receive(&self, max: usize) -> Result<Vec<Received>, PortError>;
    /// The message is done with: it leaves the queue.
    async fn ack(&self, message: &Received) -> Result<(), PortError>;
    /// The message could not be done now (`error`): it is handed out again later, or moved
    /// aside when it has failed too often.
    async fn retry_later(&self, message: &Received, error: &PortError) -> Result<(), PortError>;
}

/// What one batch of enrichment did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EnrichmentSummary {
    /// Messages received.
    pub received: usize,
    /// Unified events published.
    pub enqueued: usize,
    /// Deliveries moved to the quarantine.
    pub quarantined: usize,
    /// Messages left to retry.
    pub retried: usize,
}

/// Receives up to `max` thin deliveries from `consumer` and enriches each through its channel:
/// published, ignored or quarantined ones are acknowledged; a transient failure (the platform's
/// API, a queue) is retried later.
pub async fn enrich_batch(
    consumer: &dyn Consumer,
    channels: &Channels,
    pipeline: &Pipeline<'_>,
    max: usize,
) -> Result<EnrichmentSummary, PortError> {
    let messages = consumer.receive(max).await?;
    let mut summary = EnrichmentSummary {
        received: messages.len(),
        ..EnrichmentSummary::default()
    };
    for message in &messages {
        match enrich_one(channels, pipeline, &message.body).await {
            Ok((channel, key, processed)) => {
                summary.enqueued += processed.events();
                if matches!(processed, Processed::Quarantined { .. }) {
                    summary.quarantined += 1;
                }
                tracing::info!(
                    channel,
                    key,
                    message_id = message.id,
                    outcome = processed.as_str(),
                    detail = processed.detail().unwrap_or(""),
                    "enrichment"
                );
                if let Err(e) = consumer.ack(message).await {
                    tracing::warn!(message_id = message.id, error = %e, "enrichment message not acknowledged");
                }
            }
            Err(error) => {
                summary.retried += 1;
                tracing::warn!(message_id = message.id, error = %error, "enrichment failed; will retry");
                // Not acknowledged either way: a message whose retry could not be scheduled
                // stays on its queue and comes back.
                if let Err(e) = consumer.retry_later(message, &error).await {
                    tracing::warn!(message_id = message.id, error = %e, "enrichment retry not scheduled");
                }
            }
        }
    }
    Ok(summary)
}

async fn enrich_one(
    channels: &Channels,
    pipeline: &Pipeline<'_>,
    body: &str,
) -> Result<(String, String, Processed), PortError> {
    let stored = read_stored(body)?;
    let channel = channels
        .get(&stored.channel, stored.path_tenant.as_deref())
        .map_err(|_| PortError::NotConfigured("channel or tenant"))?;
    let processed = channel.enrich(pipeline, &stored).await?;
    Ok((
        stored.channel,
        stored.idempotency_key.to_string(),
        processed,
    ))
}

/// What one batch of commands did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommandSummary {
    /// Messages received.
    pub received: usize,
    /// `command.succeeded` results published.
    pub succeeded: usize,
    /// `command.failed` results published (including invalid commands).
    pub failed: usize,
    /// Commands done before (their stored result sent again).
    pub duplicates: usize,
    /// Messages left to retry (or, past the queue's limit, for its dead-letter queue).
    pub retried: usize,
}

/// Receives up to `max` order commands from `consumer` and carries each out through its channel
/// (the tenant's settings, else the channel's default ones). A command with a result (success,
/// failure, or a duplicate) is acknowledged; a transient failure is retried later, and after
/// `max_attempts` hand-outs the queue moves it aside (SQS: the redrive policy; locally: the
/// commands dead-letter queue) once its `command.failed` is published. A command that cannot be
/// read or is not served here is answered `command.failed` `invalid_command` when it names
/// itself, and otherwise kept for the dead-letter queue.
pub async fn command_batch(
    consumer: &dyn Consumer,
    channels: &Channels,
    pipeline: &Pipeline<'_>,
    max: usize,
    max_attempts: u32,
) -> Result<CommandSummary, PortError> {
    let messages = consumer.receive(max).await?;
    let mut summary = CommandSummary {
        received: messages.len(),
        ..CommandSummary::default()
    };
    for message in &messages {
        match command_one(channels, pipeline, message, max_attempts).await {
            Ok(processed) => {
                match &processed {
                    CommandProcessed::Duplicate => summary.duplicates += 1,
                    CommandProcessed::Reported { failure: None, .. } => summary.succeeded += 1,
                    CommandProcessed::Reported { .. } => summary.failed += 1,
                }
                tracing::info!(
                    message_id = message.id,
                    attempt = message.attempt,
                    outcome = processed.describe(),
                    "command"
                );
                if let Err(e) = consumer.ack(message).await {
                    tracing::warn!(message_id = message.id, error = %e, "command message not acknowledged");
                }
            }
            Err(error) => {
                summary.retried += 1;
                tracing::warn!(message_id = message.id, attempt = message.attempt, error = %error, "command not done; will retry");
                if let Err(e) = consumer.retry_later(message, &error).await {
                    tracing::warn!(message_id = message.id, error = %e, "command retry not scheduled");
                }
            }
        }
    }
    Ok(summary)
}

async fn command_one(
    channels: &Channels,
    pipeline: &Pipeline<'_>,
    message: &Received,
    max_attempts: u32,
) -> Result<CommandProcessed, PortError> {
    let refuse = |reason: String| async move {
        // The kind of channel, for the result's `source`: any instance of the channel will do.
        let channel = serde_json::from_str::<serde_json::Value>(&message.body)
            .ok()
            .and_then(|v| v["channel"].as_str().map(str::to_owned));
        let info = channel.and_then(|c| {
            channels
                .iter()
                .find(|(id, _, _)| *id == c)
                .map(|(_, _, i)| i.info())
        });
        let reported = match info {
            Some(info) => {
                pipeline
                    .refuse_command(info.kind, &message.body, reason.clone(), message.sent_at)
                    .await?
            }
            None => false,
        };
        if reported {
            Ok(CommandProcessed::Reported {
                event_type: o2o_core::event::EventType::CommandFailed,
                failure: Some(o2o_core::command::FailureCode::InvalidCommand),
            })
        } else {
            Err(PortError::Unreadable(reason))
        }
    };
    let command = match OrderCommand::from_json(message.body.as_bytes()) {
        Ok(command) => command,
        Err(invalid) => return refuse(format!("not a command: {invalid}")).await,
    };
    let Some(channel) = channels.for_command(&command.channel, &command.tenant) else {
        return refuse(format!(
            "channel {} (tenant {}) is not served here",
            command.channel, command.tenant
        ))
        .await;
    };
    let queued = QueuedCommand {
        command,
        received_at: message.sent_at,
        attempt: message.attempt.max(1),
        last_attempt: message.attempt >= max_attempts,
    };
    channel.command(pipeline, &queued).await
}

/// Replays every message `consumer` hands out (the quarantine) through its channel's current
/// code; the fixed ones are acknowledged (they leave the quarantine), the others retried later
/// (they stay). At most `max_batches` batches of `batch` messages.
pub async fn replay_all(
    consumer: &dyn Consumer,
    channels: &Channels,
    pipeline: &Pipeline<'_>,
    batch: usize,
    max_batches: usize,
) -> Result<ReplaySummary, PortError> {
    let mut summary = ReplaySummary::default();
    for _ in 0..max_batches {
        let messages = consumer.receive(batch).await?;
        if messages.is_empty() {
            break;
        }
        for message in &messages {
            let fixed = match replay_one(channels, pipeline, &message.body).await? {
                Ok((key, processed)) => summary.count(&key, processed),
                Err((key, error)) => {
                    let label = key.unwrap_or_else(|| format!("message {}", message.id));
                    summary.still_failing.push((label, error));
                    false
                }
            };
            if fixed {
                consumer.ack(message).await?;
            } else {
                let kept = PortError::Unreadable("still failing".to_owned());
                consumer.retry_later(message, &kept).await?;
            }
        }
    }
    Ok(summary)
}

/// A record that cannot be replayed here: its key when it could be read, and why.
type NotReplayed = (Option<String>, String);

/// `Ok(Err(..))` when the record cannot be replayed here (unreadable, or its channel is not
/// configured in this run); `Err` when a queue failed.
async fn replay_one(
    channels: &Channels,
    pipeline: &Pipeline<'_>,
    body: &str,
) -> Result<Result<(String, Processed), NotReplayed>, PortError> {
    let stored: StoredDelivery = match serde_json::from_str(body) {
        Ok(stored) => stored,
        Err(e) => return Ok(Err((None, format!("unreadable quarantine record: {e}")))),
    };
    let Ok(channel) = channels.get(&stored.channel, stored.path_tenant.as_deref()) else {
        let error = "channel or tenant not configured for this replay".to_owned();
        return Ok(Err((Some(stored.idempotency_key.to_string()), error)));
    };
    let processed = channel.replay(pipeline, &stored).await?;
    Ok(Ok((stored.idempotency_key.to_string(), processed)))
}

fn read_stored(body: &str) -> Result<StoredDelivery, PortError> {
    serde_json::from_str(body)
        .map_err(|e| PortError::Unreadable(format!("not a stored delivery: {e}")))
}
