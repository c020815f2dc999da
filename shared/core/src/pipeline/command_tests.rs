//! The command pipeline over the in-memory ports of `tests.rs`, with a connector whose platform
//! answers are scripted: what reaches the platform, and what the order system reads back.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::tests::{Memory, block_on};
use crate::command::{
    Action, CallDone, CallFailure, CommandKind, CommandOrder, CommandSchemaVersion, FailureCode,
    OrderCommand, Reason,
};
use crate::connector::{
    ChannelInfo, Connector, DeliveryId, GetRequests, NormaliseContext, NormaliseError, Normalised,
    Parsed, Verified,
};
use crate::event::{ChannelKind, EventType, UnifiedOrderEvent};
use crate::pipeline::{CommandProcessed, Pipeline, PipelineOptions, QueuedCommand};
use crate::ports::{PortError, QueueName};
use crate::request::{Rejection, WebhookRequest};
use crate::settings::SettingsError;
use crate::signature::SignatureError;
use crate::timestamp::Timestamp;

static INFO: ChannelInfo = ChannelInfo {
    id: "kitchen",
    name: "Kitchen",
    kind: ChannelKind::Delivery,
    default_sample: "",
    get_requests: GetRequests::Never,
    endpoints: &[],
};

/// Accepts and rejects within ten minutes; its platform answers from `answers`, in order.
#[derive(Default)]
struct Kitchen {
    answers: Mutex<VecDeque<Result<CallDone, CallFailure>>>,
    calls: AtomicUsize,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Settings {}

#[async_trait]
impl Connector for Kitchen {
    type Settings = Settings;
    type Facts = ();
    type Message<'v> = ();
    type Thin = ();

    fn info() -> &'static ChannelInfo {
        &INFO
    }
    fn build(_: Settings) -> Result<Self, SettingsError> {
        Ok(Self::default())
    }
    fn verify<'r>(&self, req: &'r WebhookRequest) -> Result<Verified<'r>, Rejection> {
        Ok(Verified::body(req))
    }
    fn parse(&self, _: &Verified<'_>) -> Result<Parsed<()>, NormaliseError> {
        Err(NormaliseError::field("body", "not used"))
    }
    fn normalise(
        &self,
        _: &DeliveryId,
        _: (),
        _: &NormaliseContext,
    ) -> Result<Normalised<()>, NormaliseError> {
        Err(NormaliseError::field("body", "not used"))
    }
    fn sign(&self, _: &mut WebhookRequest) -> Result<(), SignatureError> {
        Ok(())
    }
    fn command_kinds() -> &'static [CommandKind] {
        &[CommandKind::Accept, CommandKind::Reject]
    }
    fn command_window(&self, kind: CommandKind) -> Option<Duration> {
        (kind == CommandKind::Accept).then_some(Duration::from_secs(600))
    }
    async fn execute(&self, _: &OrderCommand) -> Result<CallDone, CallFailure> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let next = self.answers.lock().expect("lock").pop_front();
        next.unwrap_or_else(|| Ok(CallDone::default()))
    }
}

impl Kitchen {
    fn answering(answers: Vec<Result<CallDone, CallFailure>>) -> Self {
        Self {
            answers: Mutex::new(answers.into()),
            calls: AtomicUsize::new(0),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn accept(id: &str) -> OrderCommand {
    OrderCommand {
        schema_version: CommandSchemaVersion::V1,
        command_id: id.to_owned(),
        channel: "kitchen".to_owned(),
        tenant: "store-7".to_owned(),
        order: CommandOrder {
            external_id: "o-1".to_owned(),
        },
        action: Action::Accept { ready_by: None },
        requested_at: Timestamp::now(),
        deadline: None,
    }
}

fn run(
    memory: &Memory,
    kitchen: &Kitchen,
    command: &OrderCommand,
    attempt: u32,
    last: bool,
) -> Result<CommandProcessed, PortError> {
    let pipeline = Pipeline::new(memory, memory, PipelineOptions::default());
    let queued = QueuedCommand {
        command: command.clone(),
        received_at: Timestamp::now(),
        attempt,
        last_attempt: last,
    };
    block_on(pipeline.command(kitchen, &queued))
}

/// The unified events queued so far, with their message groups and dedup ids.
fn results(memory: &Memory) -> Vec<(UnifiedOrderEvent, String, String)> {
    let queued = memory.queued.lock().expect("lock");
    queued
        .iter()
        .map(|(queue, m)| {
            assert_eq!(*queue, QueueName::Unified);
            let event = serde_json::from_str(&m.body).expect("a unified event");
            let group = m.group_id.clone().expect("a group");
            (event, group, m.dedup_id.clone().expect("a dedup id"))
        })
        .collect()
}

#[test]
fn a_success_is_reported_once_in_the_orders_group_and_a_repeat_calls_nobody() {
    let memory = Memory::default();
    let kitchen = Kitchen::answering(vec![Ok(CallDone {
        platform_reference: Some("ref-1".into()),
    })]);
    let command = accept("c-1");
    let first = run(&memory, &kitchen, &command, 1, false).expect("done");
    assert_eq!(first.describe(), "succeeded");
    let again = run(&memory, &kitchen, &command, 1, false).expect("done");
    assert_eq!(again, CommandProcessed::Duplicate);
    assert_eq!(kitchen.calls(), 1, "the platform is called once");
    let results = results(&memory);
    assert_eq!(results.len(), 2, "the stored result is sent again");
    let (event, group, dedup) = &results[0];
    assert_eq!(event.event_type, EventType::CommandSucceeded);
    assert_eq!(group, "kitchen:store-7:o-1");
    assert_eq!(dedup, &event.event_id);
    assert_eq!(
        results[1].0, *event,
        "the same event, so FIFO deduplication drops it"
    );
    let result = event.command.as_ref().expect("a command result");
    assert_eq!(result.command_id, "c-1");
    assert_eq!(result.kind, CommandKind::Accept);
    assert_eq!(result.attempts, 1);
    assert_eq!(result.platform_reference.as_deref(), Some("ref-1"));
    assert_eq!(event.source.external_event_id, "c-1");
    assert_eq!(event.source.topic, "command.accept");
    assert_eq!(
        event.order.as_ref().map(|o| o.external_id.as_str()),
        Some("o-1")
    );
}

#[test]
fn an_unsupported_kind_and_a_passed_deadline_fail_without_a_call() {
    let memory = Memory::default();
    let kitchen = Kitchen::default();
    let mut cancel = accept("c-2");
    cancel.action = Action::Cancel {
        reason: Reason::Busy,
        note: None,
    };
    let mut late = accept("c-3");
    late.requested_at = Timestamp::now().plus_seconds(-601);
    let mut own_deadline = accept("c-4");
    own_deadline.action = Action::Reject {
        reason: Reason::Closed,
        note: None,
    };
    own_deadline.deadline = Some(Timestamp::now().plus_seconds(-1));
    for (command, code) in [
        (cancel, FailureCode::Unsupported),
        (late, FailureCode::DeadlinePassed),
        (own_deadline, FailureCode::DeadlinePassed),
    ] {
        let done = run(&memory, &kitchen, &command, 1, false).expect("reported");
        assert_eq!(done.describe(), format!("failed:{}", code.as_str()));
    }
    assert_eq!(kitchen.calls(), 0);
    for (event, _, _) in results(&memory) {
        assert_eq!(event.event_type, EventType::CommandFailed);
        let result = event.command.expect("result");
        assert_eq!(result.attempts, 0);
        assert!(!result.error.expect("error").retryable);
    }
}

#[test]
fn a_transient_failure_is_retried_then_reported_on_the_last_attempt() {
    let memory = Memory::default();
    let unavailable = || {
        CallFailure::transient(FailureCode::PlatformUnavailable, "kitchen accept: HTTP 503")
            .with_platform_code("HTTP 503")
    };
    let kitchen = Kitchen::answering(vec![
        Err(unavailable()),
        Err(unavailable()),
        Ok(CallDone::default()),
    ]);
    let command = accept("c-5");
    let first = run(&memory, &kitchen, &command, 1, false);
    assert!(matches!(first, Err(PortError::RetryLater(_))), "{first:?}");
    assert_eq!(memory.queued(), 0, "nothing reported while retries remain");
    assert!(
        memory.keys().is_empty(),
        "the claim is released for the retry"
    );
    // The last attempt reports the failure, retryable, and still asks for the dead-letter queue.
    let last = run(&memory, &kitchen, &command, 2, true);
    assert!(matches!(last, Err(PortError::RetryLater(_))), "{last:?}");
    let results = results(&memory);
    assert_eq!(results.len(), 1);
    let error = results[0]
        .0
        .command
        .clone()
        .and_then(|c| c.error)
        .expect("an error");
    assert_eq!(error.code, FailureCode::PlatformUnavailable);
    assert!(error.retryable);
    assert_eq!(error.platform_code.as_deref(), Some("HTTP 503"));
    // Redriven from the dead-letter queue, it succeeds: a new result with its own id.
    let redriven = run(&memory, &kitchen, &command, 1, false).expect("done");
    assert_eq!(redriven.describe(), "succeeded");
    let results = self::results(&memory);
    assert_ne!(results[0].0.event_id, results[1].0.event_id);
    assert_eq!(kitchen.calls(), 3);
}

#[test]
fn a_permanent_failure_is_reported_with_the_platforms_code_and_not_retried() {
    let memory = Memory::default();
    let refused = CallFailure::permanent(FailureCode::Rejected, "order already accepted")
        .with_platform_code("ORDER_ALREADY_ACCEPTED");
    let kitchen = Kitchen::answering(vec![Err(refused)]);
    let command = accept("c-6");
    let done = run(&memory, &kitchen, &command, 1, false).expect("reported");
    assert_eq!(done.describe(), "failed:rejected");
    let event = &results(&memory)[0].0;
    let error = event.command.clone().and_then(|c| c.error).expect("error");
    assert_eq!(
        error.platform_code.as_deref(),
        Some("ORDER_ALREADY_ACCEPTED")
    );
    assert!(!error.retryable);
    // Sent again, it is a duplicate: no second call.
    assert_eq!(
        run(&memory, &kitchen, &command, 1, false),
        Ok(CommandProcessed::Duplicate)
    );
    assert_eq!(kitchen.calls(), 1);
}

#[test]
fn a_reused_command_id_with_other_content_is_refused_without_a_call() {
    let memory = Memory::default();
    let kitchen = Kitchen::default();
    run(&memory, &kitchen, &accept("c-7"), 1, false).expect("done");
    let mut other = accept("c-7");
    other.order.external_id = "o-2".into();
    let done = run(&memory, &kitchen, &other, 1, false).expect("reported");
    assert_eq!(done.describe(), "failed:command_id_reused");
    assert_eq!(kitchen.calls(), 1);
    let results = results(&memory);
    assert_eq!(results[1].1, "kitchen:store-7:o-2");
    assert_ne!(results[0].0.event_id, results[1].0.event_id);
}

#[test]
fn a_queue_failure_after_the_call_sends_the_stored_result_on_the_retry() {
    let memory = Memory::default();
    let kitchen = Kitchen::default();
    memory.fail_sends.store(1, Ordering::SeqCst);
    let command = accept("c-8");
    let first = run(&memory, &kitchen, &command, 1, false);
    assert!(first.is_err(), "the send failed: {first:?}");
    let again = run(&memory, &kitchen, &command, 2, false).expect("done");
    assert_eq!(again, CommandProcessed::Duplicate);
    assert_eq!(kitchen.calls(), 1, "the result was stored before the send");
    assert_eq!(results(&memory).len(), 1);
}
