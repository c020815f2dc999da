//! `o2o replay --backend aws`: the SQS quarantine as a [`Consumer`], replayed through the
//! current code. Fixed deliveries move on (unified or enrichment queue) and are deleted from the
//! quarantine; the others stay, visible again when the replay ends.

use std::sync::Mutex;

use aws_sdk_sqs::error::DisplayErrorContext;
use o2o_core::pipeline::{PipelineOptions, ReplaySummary};
use o2o_core::ports::PortError;
use o2o_core::{Channels, Pipeline};
use o2o_edge::{Consumer, Received};

use crate::settings::Resources;

/// Messages received per call (SQS's maximum).
const BATCH: usize = 10;
/// How long a received message stays hidden while this replay runs, so one run sees each once.
const HIDE_SECONDS: i32 = 300;
/// At most this many receives per run (10,000 messages); run again for more.
const MAX_RECEIVES: usize = 1000;

/// The SQS quarantine queue during one replay.
struct Quarantine {
    sqs: aws_sdk_sqs::Client,
    url: String,
    /// Receipt handles by message id, for the ack or the release.
    handles: Mutex<Vec<(String, String)>>,
    /// Messages kept in the quarantine, made visible again at the end.
    kept: Mutex<Vec<String>>,
}

fn sqs_error(op: &str, e: &dyn std::error::Error) -> PortError {
    PortError::backend("sqs", format!("{op}: {}", DisplayErrorContext(e)))
}

impl Quarantine {
    fn handle(&self, id: &str) -> String {
        let handles = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handles
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }

    /// What stays in the quarantine is visible again at once, for the next look or replay.
    async fn release(&self) -> Result<(), PortError> {
        let kept = std::mem::take(
            &mut *self
                .kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for handle in kept {
            self.sqs
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| sqs_error("ChangeMessageVisibility", &e))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Consumer for Quarantine {
    async fn receive(&self, max: usize) -> Result<Vec<Received>, PortError> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(i32::try_from(max.min(BATCH)).unwrap_or(10))
            .visibility_timeout(HIDE_SECONDS)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", &e))?;
        let mut handles = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(received
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let id = m.message_id.unwrap_or_default();
                handles.push((id.clone(), m.receipt_handle.unwrap_or_default()));
                Received {
                    id,
                    body: m.body.unwrap_or_default(),
                    attempt: 1,
                    sent_at: o2o_core::Timestamp::now(),
                }
            })
            .collect())
    }

    async fn ack(&self, message: &Received) -> Result<(), PortError> {
        self.sqs
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(self.handle(&message.id))
            .send()
            .await
            .map_err(|e| sqs_error("DeleteMessage", &e))?;
        Ok(())
    }

    async fn retry_later(&self, message: &Received, _: &PortError) -> Result<(), PortError> {
        let handle = self.handle(&message.id);
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(handle);
        Ok(())
    }
}

/// Replays the quarantine named in `resources` with the given channels.
pub async fn replay_quarantine(
    sdk: &aws_config::SdkConfig,
    resources: &Resources,
    channels: &Channels,
) -> Result<ReplaySummary, PortError> {
    let (store, queues) = crate::ports(sdk, resources);
    let pipeline = Pipeline::new(&store, &queues, PipelineOptions::default());
    let quarantine = Quarantine {
        sqs: aws_sdk_sqs::Client::new(sdk),
        url: resources.quarantine_queue_url.clone(),
        handles: Mutex::new(Vec::new()),
        kept: Mutex::new(Vec::new()),
    };
    let replayed =
        o2o_edge::consume::replay_all(&quarantine, channels, &pipeline, BATCH, MAX_RECEIVES).await;
    // Kept messages are released even when the run failed part-way.
    let released = quarantine.release().await;
    let summary = replayed?;
    released?;
    Ok(summary)
}
