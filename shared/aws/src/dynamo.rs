//! The idempotency store on DynamoDB, with AWS Lambda Powertools semantics.
//!
//! One item per key: `id` (partition key), `status` (`INPROGRESS` | `COMPLETED`), `expiration`
//! (unix seconds; the table's TTL attribute), `in_progress_expiration` (unix milliseconds; until
//! when an `INPROGRESS` claim blocks others), `payload_hash` and, once completed, `ack` (the
//! acknowledgement to replay, JSON). The attribute names match Powertools' defaults, so a table
//! can be inspected with the same tools.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use o2o_core::ports::{Claim, ClaimOutcome, IdempotencyStore, PortError};
use o2o_core::{IdempotencyKey, Reply, Timestamp};
use std::collections::HashMap;

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

/// The DynamoDB idempotency table (partition key `id`, string; TTL attribute `expiration`).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Reads a record with a consistent read (after a failed conditional put that did not
    /// return the item).
    async fn read(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem", e))?;
        Ok(output.item)
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(claim.key.as_str()))
            .item("status", s(IN_PROGRESS))
            .item("expiration", n(claim.expires_at.unix_seconds()))
            .item(
                "in_progress_expiration",
                n(claim.in_progress_until.unix_millis()),
            )
            .item("payload_hash", s(&claim.payload_hash))
            // Absent, expired (TTL deletion is lazy), or an abandoned claim: ours.
            .condition_expression(
                "attribute_not_exists(#id) OR #expiration < :now \
                 OR (#status = :in_progress AND #in_progress_expiration < :now_ms)",
            )
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#expiration", "expiration")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#in_progress_expiration", "in_progress_expiration")
            .expression_attribute_values(":now", n(claim.now.unix_seconds()))
            .expression_attribute_values(":now_ms", n(claim.now.unix_millis()))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match put {
            Ok(_) => return Ok(ClaimOutcome::Claimed),
            Err(e) => match e.into_service_error() {
                PutItemError::ConditionalCheckFailedException(failed) => failed.item,
                other => return Err(port_error("PutItem", other)),
            },
        };
        let item = match existing {
            Some(item) => Some(item),
            None => self.read(claim.key.as_str()).await?,
        };
        // Gone between the put and the read: someone released it; let the platform retry.
        let Some(item) = item else {
            return Ok(ClaimOutcome::InProgress);
        };
        existing_outcome(&item)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
    ) -> Result<(), PortError> {
        let ack = serde_json::to_string(ack).map_err(|e| PortError::backend("dynamodb", e))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(key.as_str()))
            .update_expression(
                "SET #status = :completed, #ack = :ack, #expiration = :expiration \
                 REMOVE #in_progress_expiration",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ack", "ack")
            .expression_attribute_names("#expiration", "expiration")
            .expression_attribute_names("#in_progress_expiration", "in_progress_expiration")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":ack", s(&ack))
            .expression_attribute_values(":expiration", n(expires_at.unix_seconds()))
            .send()
            .await
            .map_err(|e| port_error("UpdateItem", e))?;
        Ok(())
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(key.as_str()))
            // Never delete a completed record: its ack must keep being replayed.
            .condition_expression("#status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(_) => Ok(()),
                other => Err(port_error("DeleteItem", other)),
            },
        }
    }
}

/// What an existing record means for a new claim (the conditional put already ruled out
/// absent, expired and abandoned records).
fn existing_outcome(item: &HashMap<String, AttributeValue>) -> Result<ClaimOutcome, PortError> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    match text("status").map(String::as_str) {
        Some(COMPLETED) => {
            let ack = text("ack")
                .ok_or_else(|| PortError::backend("dynamodb", "completed record has no ack"))?;
            let ack: Reply = serde_json::from_str(ack).map_err(|e| {
                PortError::backend(
                    "dynamodb",
                    format!("completed record has an unreadable ack: {e}"),
                )
            })?;
            Ok(ClaimOutcome::Completed {
                ack,
                payload_hash: text("payload_hash").cloned().unwrap_or_default(),
            })
        }
        Some(IN_PROGRESS) => Ok(ClaimOutcome::InProgress),
        other => Err(PortError::backend(
            "dynamodb",
            format!("idempotency record has an unknown status {other:?}"),
        )),
    }
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn n(number: i64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn port_error(operation: &str, error: impl std::error::Error) -> PortError {
    PortError::backend(
        "dynamodb",
        format!("{operation}: {}", DisplayErrorContext(error)),
    )
}
