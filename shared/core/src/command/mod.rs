//! `OrderCommand` v1: what the order system asks a platform to do with one of its orders, and
//! the result it gets back on the unified queue (`command.succeeded` / `command.failed`).
//!
//! The JSON Schema in `docs/order-command.v1.schema.json` is generated from these types
//! ([`json_schema`]); a test fails when the two drift. Within v1 the schema only grows additively.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::timestamp::Timestamp;

mod result;

pub use result::{
    CallDone, CallFailure, CommandError, CommandResult, FailureCode, MAX_MESSAGE_CHARS,
};

/// The longest `command_id`, in bytes (an SQS deduplication id holds 128 characters).
pub const MAX_COMMAND_ID_BYTES: usize = 128;

/// One command for one order on one platform, exactly one per commands-queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "OrderCommand",
    description = "o2o-connectors order command, schema version 1"
)]
pub struct OrderCommand {
    /// Always `"1"` for this version of the contract.
    pub schema_version: CommandSchemaVersion,
    /// Chosen by the order system, unique per command (1–128 characters of `A-Z a-z 0-9 - _ . :`).
    /// The idempotency key: the same command sent again calls the platform once, and its result
    /// carries the same id.
    pub command_id: String,
    /// The channel id, e.g. `uber-eats`.
    pub channel: String,
    /// The `source.tenant` of the order's events (the platform's shop or store id). It selects
    /// the channel's settings table of that name, else the channel's default table, and it is
    /// part of the message group, so the command queues behind the order's other commands.
    pub tenant: String,
    /// The order.
    pub order: CommandOrder,
    /// What to do, and its details.
    #[serde(flatten)]
    pub action: Action,
    /// When the order system asked.
    pub requested_at: Timestamp,
    /// After this the command is not worth sending (it fails with `deadline_passed`). The
    /// platform's own limit applies too, whichever comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
}

/// The contract version; only `"1"` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CommandSchemaVersion {
    /// Version 1.
    #[serde(rename = "1")]
    V1,
}

/// The order a command is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandOrder {
    /// The platform's order id, as in `order.external_id` of its events.
    pub external_id: String,
}

/// What a command asks for: `kind` and that kind's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Accept the order.
    Accept {
        /// When the food or parcel will be ready, where the platform takes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ready_by: Option<Timestamp>,
    },
    /// Refuse the order before accepting it.
    Reject {
        /// Why.
        reason: Reason,
        /// Free text for the platform, where it takes one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The food or parcel is ready for pickup.
    Ready {},
    /// Cancel an accepted order.
    Cancel {
        /// Why.
        reason: Reason,
        /// Free text for the platform, where it takes one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Ship the order (web shops): a fulfilment with tracking.
    Fulfil(Fulfil),
}

/// Why an order is rejected or cancelled; each connector maps it to its platform's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The kitchen or shop is too busy.
    Busy,
    /// The shop is closed or closing.
    Closed,
    /// One or more items are not available.
    ItemUnavailable,
    /// The buyer asked for it.
    CustomerRequest,
    /// The address cannot be served.
    AddressUnreachable,
    /// Anything else (say what in `note`).
    Other,
}

/// The details of a `fulfil` command.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fulfil {
    /// The carrier's name as the platform knows it, e.g. `UPS`, `DHL Express`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// The tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// A tracking page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    /// The lines shipped; empty: everything not shipped yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<FulfilItem>,
    /// Whether the platform should tell the buyer (default true).
    #[serde(default = "yes")]
    pub notify_customer: bool,
}

fn yes() -> bool {
    true
}

/// One shipped line of a `fulfil` command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilItem {
    /// The platform's line id, as in `order.items[].external_id`.
    pub external_id: String,
    /// How many of it.
    pub quantity: u32,
}

/// The kinds of command, without their details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// `accept`.
    Accept,
    /// `reject`.
    Reject,
    /// `ready`.
    Ready,
    /// `cancel`.
    Cancel,
    /// `fulfil`.
    Fulfil,
}

impl CommandKind {
    /// Every kind, in contract order.
    pub const ALL: [CommandKind; 5] = [
        CommandKind::Accept,
        CommandKind::Reject,
        CommandKind::Ready,
        CommandKind::Cancel,
        CommandKind::Fulfil,
    ];

    /// The wire name, e.g. `accept`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CommandKind::Accept => "accept",
            CommandKind::Reject => "reject",
            CommandKind::Ready => "ready",
            CommandKind::Cancel => "cancel",
            CommandKind::Fulfil => "fulfil",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl Action {
    /// Its kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            Action::Accept { .. } => CommandKind::Accept,
            Action::Reject { .. } => CommandKind::Reject,
            Action::Ready {} => CommandKind::Ready,
            Action::Cancel { .. } => CommandKind::Cancel,
            Action::Fulfil(_) => CommandKind::Fulfil,
        }
    }
}

/// Why a command cannot be read (`POST /commands` answers it as a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCommand(pub String);

impl OrderCommand {
    /// Reads and checks a command: its JSON, the `command_id` characters and length, and
    /// non-empty ids. The error names the field, never a value.
    pub fn from_json(body: &[u8]) -> Result<Self, InvalidCommand> {
        let command: OrderCommand =
            serde_json::from_slice(body).map_err(|e| InvalidCommand(without_values(&e)))?;
        command.check()?;
        Ok(command)
    }

    /// The checks serde cannot express.
    pub fn check(&self) -> Result<(), InvalidCommand> {
        let id = &self.command_id;
        let id_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        if id.is_empty() || id.len() > MAX_COMMAND_ID_BYTES || !id.chars().all(id_chars) {
            return Err(InvalidCommand(format!(
                "command_id: 1 to {MAX_COMMAND_ID_BYTES} characters of A-Z a-z 0-9 - _ . :"
            )));
        }
        for (field, value) in [
            ("channel", &self.channel),
            ("tenant", &self.tenant),
            ("order.external_id", &self.order.external_id),
        ] {
            if value.trim().is_empty() {
                return Err(InvalidCommand(format!("{field}: must not be empty")));
            }
        }
        if let Action::Fulfil(fulfil) = &self.action
            && fulfil.items.iter().any(|item| item.quantity == 0)
        {
            return Err(InvalidCommand(
                "items[].quantity: must be above 0".to_owned(),
            ));
        }
        Ok(())
    }

    /// The commands-queue message group: `{channel}:{tenant}:{order id}`, the order's own group
    /// on the unified queue, so an order's commands run in the order they were sent.
    pub fn group_id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.channel, self.tenant, self.order.external_id
        )
    }
}

/// serde's message without the value it quotes (`invalid type: string "…", expected u32` keeps
/// only what was expected): a note or an id may hold customer data.
fn without_values(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = message
        .split_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    let cleaned = if message.starts_with("invalid type") || message.starts_with("invalid value") {
        match message.split_once(", expected") {
            Some((_, expected)) => {
                format!("a value of the wrong type or range, expected{expected}")
            }
            None => "a value of the wrong type or range".to_owned(),
        }
    } else {
        message.to_owned()
    };
    format!("{cleaned} (line {}, column {})", e.line(), e.column())
}

/// The JSON Schema of [`OrderCommand`], pretty-printed with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(OrderCommand);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCEPT: &str = r#"{"schema_version":"1","command_id":"cmd-1","channel":"uber-eats",
        "tenant":"store-1","order":{"external_id":"o-9"},"kind":"accept",
        "ready_by":"2026-12-02T10:20:00Z","requested_at":"2026-12-02T10:00:00Z"}"#;

    #[test]
    fn reads_each_kind_and_its_fields() {
        let accept = OrderCommand::from_json(ACCEPT.as_bytes()).expect("accept");
        assert_eq!(accept.action.kind(), CommandKind::Accept);
        assert_eq!(accept.group_id(), "uber-eats:store-1:o-9");
        let reject = ACCEPT
            .replace(r#""kind":"accept","#, r#""kind":"reject","reason":"busy","#)
            .replace(r#""ready_by":"2026-12-02T10:20:00Z","#, "");
        let reject = OrderCommand::from_json(reject.as_bytes()).expect("reject");
        assert_eq!(
            reject.action,
            Action::Reject {
                reason: Reason::Busy,
                note: None
            }
        );
        let fulfil = ACCEPT
            .replace(
                r#""kind":"accept","#,
                r#""kind":"fulfil","carrier":"UPS","tracking_number":"1Z","items":[{"external_id":"l1","quantity":2}],"#,
            )
            .replace(r#""ready_by":"2026-12-02T10:20:00Z","#, "");
        let fulfil = OrderCommand::from_json(fulfil.as_bytes()).expect("fulfil");
        match &fulfil.action {
            Action::Fulfil(f) => {
                assert_eq!(f.tracking_number.as_deref(), Some("1Z"));
                assert!(f.notify_customer, "notifies by default");
                assert_eq!(f.items[0].quantity, 2);
            }
            other => panic!("{other:?}"),
        }
        // Round trip: what we write, we read.
        let again = serde_json::to_vec(&fulfil).expect("json");
        assert_eq!(OrderCommand::from_json(&again), Ok(fulfil));
    }

    #[test]
    fn refuses_what_cannot_be_sent_and_names_the_field() {
        let cases = [
            (ACCEPT.replace("cmd-1", "cmd 1"), "command_id"),
            (ACCEPT.replace("cmd-1", &"x".repeat(129)), "command_id"),
            (ACCEPT.replace(r#""o-9""#, r#""  ""#), "order.external_id"),
            (
                ACCEPT.replace(r#""accept""#, r#""refund""#),
                "unknown variant `refund`",
            ),
            (ACCEPT.replace(r#""ready_by""#, r#""reason""#), "reason"),
            (
                ACCEPT.replace(r#""schema_version":"1""#, r#""schema_version":"2""#),
                "expected `1`",
            ),
            (ACCEPT.replace(r#""channel""#, r#""chanel""#), "channel"),
            (
                ACCEPT.replace(r#""ready_by""#, r#""ready_at""#),
                "unknown field `ready_at`",
            ),
            (
                ACCEPT.replace(
                    r#""ready_by":"2026-12-02T10:20:00Z""#,
                    r#""ready_by":"store-1""#,
                ),
                "invalid timestamp",
            ),
        ];
        for (body, field) in cases {
            let err = OrderCommand::from_json(body.as_bytes()).expect_err(field);
            assert!(err.0.contains(field), "{field}: {err}");
            assert!(!err.0.contains("store-1"), "no values in errors: {err}");
        }
    }
}
