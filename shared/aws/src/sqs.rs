//! The three queues on SQS: the unified FIFO queue, the enrichment queue and the quarantine.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use o2o_core::ports::{PortError, QueueMessage, QueueName, Queues};

use crate::settings::Resources;

/// SQS accepts at most 10 entries per batch.
const MAX_BATCH_ENTRIES: usize = 10;
/// The batch payload limit we keep under (SQS's own limit is 1 MiB since 2025; 256 KiB before).
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Sends of entries SQS failed on its side (throttling, internal errors) are retried this often.
const RETRIES: usize = 2;

/// The queues as SQS queue URLs; a URL ending in `.fifo` gets group and deduplication ids.
#[derive(Debug, Clone)]
pub struct SqsQueues {
    client: Client,
    unified: String,
    enrichment: String,
    quarantine: String,
}

impl SqsQueues {
    /// The queues named in `resources`, through `client`.
    pub fn new(client: Client, resources: &Resources) -> Self {
        Self {
            client,
            unified: resources.unified_queue_url.clone(),
            enrichment: resources.enrichment_queue_url.clone(),
            quarantine: resources.quarantine_queue_url.clone(),
        }
    }

    /// A function writes to these three; the order system writes to the commands queues.
    fn url(&self, queue: QueueName) -> Result<&str, PortError> {
        match queue {
            QueueName::Unified => Ok(&self.unified),
            QueueName::Enrichment => Ok(&self.enrichment),
            QueueName::Quarantine => Ok(&self.quarantine),
            QueueName::Commands | QueueName::CommandsDeadLetter => {
                Err(PortError::NotConfigured("commands queue URL"))
            }
            // SQS itself moves messages there (the unified queue's redrive policy).
            QueueName::UnifiedDeadLetter => Err(PortError::NotConfigured("unified DLQ URL")),
        }
    }

    /// Sends one batch, retrying the entries SQS failed on its side; an entry rejected as the
    /// sender's fault (too large, bad attribute) fails the whole send at once.
    async fn send_batch(
        &self,
        url: &str,
        mut entries: Vec<SendMessageBatchRequestEntry>,
    ) -> Result<(), PortError> {
        for attempt in 0..=RETRIES {
            let output = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| {
                    PortError::backend(
                        "sqs",
                        format!("SendMessageBatch: {}", DisplayErrorContext(e)),
                    )
                })?;
            if output.failed.is_empty() {
                return Ok(());
            }
            let fatal = output
                .failed
                .iter()
                .find(|f| f.sender_fault || attempt == RETRIES);
            if let Some(failure) = fatal {
                return Err(PortError::backend(
                    "sqs",
                    format!(
                        "SendMessageBatch: {} of {} messages failed ({}: {})",
                        output.failed.len(),
                        entries.len(),
                        failure.code,
                        failure.message.as_deref().unwrap_or("no message")
                    ),
                ));
            }
            entries.retain(|entry| output.failed.iter().any(|f| f.id == entry.id));
        }
        Ok(())
    }
}

#[async_trait]
impl Queues for SqsQueues {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        let url = self.url(queue)?;
        let fifo = url.ends_with(".fifo");
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        for (index, message) in messages.into_iter().enumerate() {
            let size = message.body.len()
                + message
                    .attributes
                    .iter()
                    .map(|(name, value)| name.len() + value.len())
                    .sum::<usize>();
            if batch.len() == MAX_BATCH_ENTRIES
                || (!batch.is_empty() && batch_bytes + size > MAX_BATCH_BYTES)
            {
                self.send_batch(url, std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
            batch_bytes += size;
            batch.push(entry(index, message, fifo)?);
        }
        if !batch.is_empty() {
            self.send_batch(url, batch).await?;
        }
        Ok(())
    }
}

fn entry(
    index: usize,
    message: QueueMessage,
    fifo: bool,
) -> Result<SendMessageBatchRequestEntry, PortError> {
    let mut builder = SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(message.body);
    if fifo {
        // Standard queues refuse these; FIFO queues require the group and, without
        // content-based deduplication, the deduplication id.
        builder = builder
            .set_message_group_id(message.group_id)
            .set_message_deduplication_id(message.dedup_id);
    }
    for (name, value) in message.attributes {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| PortError::backend("sqs", format!("message attribute {name}: {e}")))?;
        builder = builder.message_attributes(name, value);
    }
    builder
        .build()
        .map_err(|e| PortError::backend("sqs", format!("message: {e}")))
}
