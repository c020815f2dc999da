//! `o2o replay --backend aws`: re-runs the deliveries in the SQS quarantine through the current
//! code. Fixed ones move on (unified or enrichment queue) and are deleted from the quarantine;
//! the others stay, visible again when the replay ends.

use std::collections::BTreeMap;

use aws_sdk_sqs::error::DisplayErrorContext;
use o2o_core::pipeline::{PipelineOptions, ReplaySummary};
use o2o_core::ports::PortError;
use o2o_core::{ChannelConfig, Pipeline, Registry};

use crate::settings::Resources;

/// Messages received per call (SQS's maximum).
const BATCH: i32 = 10;
/// How long a received message stays hidden while this replay runs, so one run sees each once.
const HIDE_SECONDS: i32 = 300;
/// At most this many receives per run (10,000 messages); run again for more.
const MAX_RECEIVES: usize = 1000;

/// Replays the quarantine named in `resources` with the given channel tables.
pub async fn replay_quarantine(
    sdk: &aws_config::SdkConfig,
    resources: &Resources,
    registry: Registry,
    channels: &BTreeMap<String, ChannelConfig>,
) -> Result<ReplaySummary, PortError> {
    let (store, queues) = crate::ports(sdk, resources);
    let pipeline = Pipeline::new(&store, &queues, PipelineOptions::default());
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = &resources.quarantine_queue_url;
    let sqs_error = |op: &str, e: &dyn std::error::Error| {
        PortError(format!("SQS {op}: {}", DisplayErrorContext(e)))
    };
    let mut summary = ReplaySummary::default();
    let mut kept = Vec::new();
    for _ in 0..MAX_RECEIVES {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(BATCH)
            .visibility_timeout(HIDE_SECONDS)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", &e))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            let id = message.message_id.clone().unwrap_or_default();
            let handle = message.receipt_handle.clone().unwrap_or_default();
            let body = message.body.as_deref().unwrap_or_default();
            let label = format!("message {id}");
            let fixed = pipeline
                .replay_record(registry, channels, &label, body, &mut summary)
                .await?;
            if fixed {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| sqs_error("DeleteMessage", &e))?;
            } else {
                kept.push(handle);
            }
        }
    }
    // What stays in the quarantine is visible again at once, for the next look or replay.
    for handle in kept {
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| sqs_error("ChangeMessageVisibility", &e))?;
    }
    Ok(summary)
}
