//! An order command taken from the commands queue: claimed by its `command_id`, checked against
//! what the channel supports and against its deadline, carried out by the connector, and
//! answered on the unified queue with a `command.succeeded` or `command.failed` event in the
//! order's own message group.
//!
//! The result is stored with the claim before it is sent: the same command again (a redelivery,
//! or the order system sending it twice) sends the stored result again and never calls the
//! platform a second time. A transient failure releases the claim and asks the queue to hand the
//! command out again later; on the last attempt its `command.failed` (`retryable: true`) is
//! published first, and the queue moves the command to its dead-letter queue for a redrive.

use crate::command::{
    Action, CallFailure, CommandError, CommandKind, CommandOrder, CommandResult,
    CommandSchemaVersion, FailureCode, Fulfil, OrderCommand, Reason,
};
use crate::connector::Connector;
use crate::event::{ChannelKind, EventType, Order, SchemaVersion, Source, UnifiedOrderEvent};
use crate::key::IdempotencyKey;
use crate::pipeline::Pipeline;
use crate::pipeline::route::unified_message;
use crate::ports::{Claim, ClaimOutcome, PortError, QueueName};
use crate::request::Reply;
use crate::signature::sha256_hex;
use crate::timestamp::Timestamp;

/// A command as the commands queue hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedCommand {
    /// The command.
    pub command: OrderCommand,
    /// When the queue took it in.
    pub received_at: Timestamp,
    /// How many times the queue has handed it out, this time included (1 the first time).
    pub attempt: u32,
    /// Whether the queue gives up after this attempt (its receive limit): a transient failure
    /// is then reported before the command moves to the dead-letter queue.
    pub last_attempt: bool,
}

/// What became of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandProcessed {
    /// Its result event was enqueued.
    Reported {
        /// `command.succeeded` or `command.failed`.
        event_type: EventType,
        /// Why it failed.
        failure: Option<FailureCode>,
    },
    /// Done before: the stored result was sent again (the unified queue drops the copy).
    Duplicate,
}

impl CommandProcessed {
    /// Log name: `succeeded`, `failed:<code>`, `duplicate`.
    pub fn describe(&self) -> String {
        match self {
            CommandProcessed::Reported {
                failure: Some(code),
                ..
            } => format!("failed:{}", code.as_str()),
            CommandProcessed::Reported { .. } => "succeeded".to_owned(),
            CommandProcessed::Duplicate => "duplicate".to_owned(),
        }
    }
}

impl Pipeline<'_> {
    /// Runs one command through `connector`. `Err` means "hand it out again later" (a transient
    /// platform failure, a store or a queue failure); the queue's receive limit then moves it to
    /// the dead-letter queue.
    pub async fn command<C: Connector>(
        &self,
        connector: &C,
        queued: &QueuedCommand,
    ) -> Result<CommandProcessed, PortError> {
        let command = &queued.command;
        let key = IdempotencyKey::command(&command.channel, &command.tenant, &command.command_id);
        let now = Timestamp::now();
        let payload_hash = sha256_hex(&serde_json::to_vec(command).unwrap_or_default());
        let claim = Claim {
            key: key.clone(),
            payload_hash: payload_hash.clone(),
            now,
            in_progress_until: now.plus_seconds(self.options.in_progress_seconds),
            expires_at: now.plus_seconds(self.options.completed_ttl_seconds),
        };
        match self.store.claim(&claim).await? {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::Completed {
                ack,
                payload_hash: first,
            } if first == payload_hash => {
                let event: UnifiedOrderEvent = serde_json::from_str(&ack.body)
                    .map_err(|e| PortError::Unreadable(format!("stored command result: {e}")))?;
                self.send_result(&event).await?;
                return Ok(CommandProcessed::Duplicate);
            }
            ClaimOutcome::Completed { .. } => {
                // Another command under an id already used: reported, never carried out.
                let failure = CallFailure::permanent(
                    FailureCode::CommandIdReused,
                    "this command_id was used before for another command",
                );
                let event = result_event(C::info().kind, &key, queued, 0, Err(failure));
                self.send_result(&event).await?;
                return Ok(reported(&event));
            }
            ClaimOutcome::InProgress => {
                return Err(PortError::RetryLater(
                    "the same command is being carried out".to_owned(),
                ));
            }
        }

        let (attempts, answer) = match self.check::<C>(connector, command, now) {
            Err(refused) => (0, Err(refused)),
            Ok(()) => (queued.attempt, connector.execute(command).await),
        };
        if let Err(failure) = &answer
            && failure.transient
        {
            let retry = PortError::RetryLater(format!(
                "{}: {}",
                failure.code.as_str(),
                failure.message.as_deref().unwrap_or("")
            ));
            let result = if queued.last_attempt {
                let event = result_event(C::info().kind, &key, queued, attempts, answer.clone());
                self.send_result(&event).await.map(|()| retry)
            } else {
                Ok(retry)
            };
            self.store.release(&key).await?;
            return Err(result?);
        }
        let event = result_event(C::info().kind, &key, queued, attempts, answer);
        let stored = Reply::json(200, &serde_json::to_string(&event).unwrap_or_default());
        if let Err(error) = self.store.complete(&key, &stored, claim.expires_at).await {
            // The platform was called: a retry calls it again (its calls are idempotent per
            // order state, e.g. a second accept is refused as already accepted).
            return Err(match self.store.release(&key).await {
                Ok(()) => error,
                Err(release) => PortError::ReleaseFailed {
                    error: Box::new(error),
                    release: Box::new(release),
                },
            });
        }
        // Completed first: if this send fails, the retry finds the stored result and sends it.
        self.send_result(&event).await?;
        Ok(reported(&event))
    }

    /// Whether the command may be sent at all: a kind the channel supports, before its deadline.
    fn check<C: Connector>(
        &self,
        connector: &C,
        command: &OrderCommand,
        now: Timestamp,
    ) -> Result<(), CallFailure> {
        let kind = command.action.kind();
        if !C::command_kinds().contains(&kind) {
            return Err(CallFailure::permanent(
                FailureCode::Unsupported,
                format!(
                    "{} does not carry out {} commands",
                    C::info().name,
                    kind.as_str()
                ),
            ));
        }
        let window = connector.command_window(kind).map(|window| {
            let seconds = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
            command.requested_at.plus_seconds(seconds)
        });
        let deadline = [command.deadline, window].into_iter().flatten().min();
        match deadline {
            Some(deadline) if now > deadline => Err(CallFailure::permanent(
                FailureCode::DeadlinePassed,
                format!("past its deadline {deadline}"),
            )),
            _ => Ok(()),
        }
    }

    /// Reports a command that cannot be run as sent (`reason`: unreadable, or its channel or
    /// tenant is not served here) with `command.failed` `invalid_command`, when the body names
    /// enough to report it (`command_id`, `channel`, `tenant`, `order.external_id`, `kind`);
    /// `Ok(false)` when it does not (the queue then keeps it for its dead-letter queue).
    pub async fn refuse_command(
        &self,
        channel_kind: ChannelKind,
        body: &str,
        reason: String,
        received_at: Timestamp,
    ) -> Result<bool, PortError> {
        let Some(command) = loose_command(body, received_at) else {
            return Ok(false);
        };
        let key = IdempotencyKey::command(&command.channel, &command.tenant, &command.command_id);
        let queued = QueuedCommand {
            command,
            received_at,
            attempt: 0,
            last_attempt: true,
        };
        let failure = CallFailure::permanent(FailureCode::InvalidCommand, reason);
        let event = result_event(channel_kind, &key, &queued, 0, Err(failure));
        self.send_result(&event).await?;
        Ok(true)
    }

    async fn send_result(&self, event: &UnifiedOrderEvent) -> Result<(), PortError> {
        let message = unified_message(event).map_err(|e| PortError::Unreadable(e.to_string()))?;
        self.queues.send(QueueName::Unified, vec![message]).await
    }
}

/// The parts of an unreadable command that name it, as a command (its details dropped).
fn loose_command(body: &str, received_at: Timestamp) -> Option<OrderCommand> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let action = match CommandKind::parse(&text("/kind")?)? {
        CommandKind::Accept => Action::Accept { ready_by: None },
        CommandKind::Reject => Action::Reject {
            reason: Reason::Other,
            note: None,
        },
        CommandKind::Ready => Action::Ready {},
        CommandKind::Cancel => Action::Cancel {
            reason: Reason::Other,
            note: None,
        },
        CommandKind::Fulfil => Action::Fulfil(Fulfil::default()),
    };
    let command = OrderCommand {
        schema_version: CommandSchemaVersion::V1,
        command_id: text("/command_id")?,
        channel: text("/channel")?,
        tenant: text("/tenant")?,
        order: CommandOrder {
            external_id: text("/order/external_id")?,
        },
        action,
        requested_at: received_at,
        deadline: None,
    };
    command.check().ok().map(|()| command)
}

fn reported(event: &UnifiedOrderEvent) -> CommandProcessed {
    CommandProcessed::Reported {
        event_type: event.event_type,
        failure: event
            .command
            .as_ref()
            .and_then(|c| c.error.as_ref())
            .map(|e| e.code),
    }
}

/// The `command.succeeded` or `command.failed` event of a command, in its order's group.
fn result_event(
    channel_kind: ChannelKind,
    key: &IdempotencyKey,
    queued: &QueuedCommand,
    attempts: u32,
    answer: Result<crate::command::CallDone, CallFailure>,
) -> UnifiedOrderEvent {
    let command = &queued.command;
    let (event_type, outcome, platform_reference, error): (_, _, _, Option<CommandError>) =
        match answer {
            Ok(done) => (
                EventType::CommandSucceeded,
                "succeeded".to_owned(),
                done.platform_reference,
                None,
            ),
            Err(failure) => (
                EventType::CommandFailed,
                format!("failed:{}", failure.code.as_str()),
                None,
                Some(failure.into_error()),
            ),
        };
    let kind = command.action.kind();
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: key.command_event_id(&outcome),
        event_type,
        occurred_at: Timestamp::now(),
        received_at: queued.received_at,
        source: Source {
            channel: command.channel.clone(),
            channel_kind,
            tenant: command.tenant.clone(),
            external_event_id: command.command_id.clone(),
            topic: format!("command.{}", kind.as_str()),
            status: None,
        },
        order: Some(Order {
            external_id: command.order.external_id.clone(),
            ..Order::default()
        }),
        payment: None,
        refund: None,
        command: Some(CommandResult {
            command_id: command.command_id.clone(),
            kind,
            attempts,
            platform_reference,
            error,
        }),
    }
}
