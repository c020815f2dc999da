//! What comes back from a command: the [`CommandResult`] in a `command.succeeded` or
//! `command.failed` event, and what a connector's `execute` reports ([`CallDone`],
//! [`CallFailure`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CommandKind;

/// The result of a command, in a `command.succeeded` or `command.failed` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandResult {
    /// The order system's `command_id`.
    pub command_id: String,
    /// What was asked.
    pub kind: CommandKind,
    /// How many times it was tried (0: refused before any try: unsupported, past its deadline,
    /// or its id reused). A try may stop before the call when the connector finds the command
    /// cannot be sent (credentials not configured, an order id the platform cannot have).
    pub attempts: u32,
    /// The platform's id of what it created, where it returns one (Shopify: the fulfilment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_reference: Option<String>,
    /// Why it failed, for `command.failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CommandError>,
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandError {
    /// The class of failure.
    pub code: FailureCode,
    /// Whether sending the same command again later can help (after its deadline, never).
    pub retryable: bool,
    /// The platform's own error code, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_code: Option<String>,
    /// The platform's message or ours, shortened (never a credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The classes of command failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The channel cannot do this kind of command (answered at once, no call).
    Unsupported,
    /// The platform's deadline or the command's had passed (no call).
    DeadlinePassed,
    /// The command cannot be sent as it is (a missing field the platform requires).
    InvalidCommand,
    /// The same `command_id` arrived before with other content (no call).
    CommandIdReused,
    /// The platform does not know the order.
    NotFound,
    /// The platform refused: the order is not in a state that allows it, or the request.
    Rejected,
    /// The platform refused our credentials (ops must fix them; then send again).
    Unauthorized,
    /// The platform could not be reached or kept failing (network, 5xx, 429) until the
    /// attempts ran out.
    PlatformUnavailable,
    /// The platform answered something we cannot read.
    BadAnswer,
}

impl FailureCode {
    /// The wire name, e.g. `deadline_passed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureCode::Unsupported => "unsupported",
            FailureCode::DeadlinePassed => "deadline_passed",
            FailureCode::InvalidCommand => "invalid_command",
            FailureCode::CommandIdReused => "command_id_reused",
            FailureCode::NotFound => "not_found",
            FailureCode::Rejected => "rejected",
            FailureCode::Unauthorized => "unauthorized",
            FailureCode::PlatformUnavailable => "platform_unavailable",
            FailureCode::BadAnswer => "bad_answer",
        }
    }
}

/// The longest platform message kept in a result, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// How a connector's call went wrong. `transient` failures are retried with backoff (network,
/// 5xx, 429, an expired token that a refresh did not cure); the last one is reported with
/// `retryable: true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// The class.
    pub code: FailureCode,
    /// Worth trying again soon.
    pub transient: bool,
    /// The platform's own error code.
    pub platform_code: Option<String>,
    /// The platform's message (shortened when the result is built), or ours.
    pub message: Option<String>,
}

impl CallFailure {
    /// A permanent failure of class `code` with our own `message`.
    pub fn permanent(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            transient: false,
            platform_code: None,
            message: Some(message.into()),
        }
    }

    /// A transient failure (`platform_unavailable`, or `unauthorized` after a refused refresh).
    pub fn transient(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            transient: true,
            ..Self::permanent(code, message)
        }
    }

    /// The same, with the platform's own error code.
    pub fn with_platform_code(mut self, code: impl Into<String>) -> Self {
        self.platform_code = Some(code.into());
        self
    }

    /// The error reported in a `command.failed` event.
    pub fn into_error(self) -> CommandError {
        CommandError {
            code: self.code,
            retryable: self.transient,
            platform_code: self.platform_code,
            message: self.message.map(|m| shorten(&m)),
        }
    }
}

/// What a connector reports after the platform did it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallDone {
    /// The platform's id of what it created, where it returns one.
    pub platform_reference: Option<String>,
}

fn shorten(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_platform_messages_are_shortened() {
        let failure = CallFailure::permanent(FailureCode::Rejected, "é".repeat(400));
        let error = failure.into_error();
        assert_eq!(
            error.message.as_deref().map(|m| m.chars().count()),
            Some(MAX_MESSAGE_CHARS + 1)
        );
        assert!(!error.retryable);
        assert!(
            CallFailure::transient(FailureCode::PlatformUnavailable, "503")
                .into_error()
                .retryable
        );
    }
}
