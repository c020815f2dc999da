//! Where a normalised delivery goes, the messages it becomes, and the one function that sends
//! them: [`Pipeline::dispatch`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::connector::{ChannelInfo, DeliveryId, EventDraft, NormaliseError, Normalised, Verified};
use crate::event::{SchemaVersion, Source, UnifiedOrderEvent};
use crate::key::IdempotencyKey;
use crate::pipeline::{Pipeline, Processed};
use crate::ports::{PortError, QueueMessage, QueueName, StoredDelivery};
use crate::request::WebhookRequest;
use crate::signature::sha256_hex;

/// A delivery on its way to a queue: the messages, and what that means once sent.
pub(crate) enum Route {
    /// Unified events.
    Unified(Vec<QueueMessage>),
    /// The whole delivery, for enrichment.
    Enrichment(QueueMessage),
    /// The whole delivery, for the quarantine, with why.
    Quarantine(QueueMessage, String),
    /// Nothing to send.
    Ignored(String),
}

/// One authenticated delivery (or record) with its identity, as routing needs it.
pub(crate) struct Routed<'v, 'r, F> {
    pub info: &'static ChannelInfo,
    pub id: &'v DeliveryId,
    pub key: &'v IdempotencyKey,
    pub verified: &'v Verified<'r, F>,
    /// The connector's `event_identity`.
    pub identity: &'v (dyn Fn(&EventDraft) -> Option<String> + Sync),
}

impl<F> Routed<'_, '_, F> {
    /// The route of a normalisation result.
    pub fn route<T>(&self, normalised: Result<Normalised<T>, NormaliseError>) -> Route {
        match normalised {
            Err(e) => self.quarantine(e.to_string()),
            Ok(Normalised::Ignored(reason)) => Route::Ignored(reason),
            Ok(Normalised::Enrich(_)) => Route::Enrichment(self.stored_message(None)),
            Ok(Normalised::Events(drafts)) if drafts.is_empty() => {
                Route::Ignored("no events".to_owned())
            }
            Ok(Normalised::Events(drafts)) => {
                let mut messages = Vec::with_capacity(drafts.len());
                for (index, draft) in drafts.into_iter().enumerate() {
                    match unified_message(&self.unified_event(index, draft)) {
                        Ok(message) => messages.push(message),
                        Err(e) => return self.quarantine(format!("cannot serialise event: {e}")),
                    }
                }
                Route::Unified(messages)
            }
        }
    }

    /// The quarantine route, with `error`.
    pub fn quarantine(&self, error: String) -> Route {
        Route::Quarantine(self.stored_message(Some(error.clone())), error)
    }

    /// The unified event for the `index`-th draft.
    fn unified_event(&self, index: usize, draft: EventDraft) -> UnifiedOrderEvent {
        let event_id = match (self.identity)(&draft) {
            Some(identity) => IdempotencyKey::event_id_of(self.info.id, &self.id.tenant, &identity),
            None => self.key.event_id(index),
        };
        UnifiedOrderEvent {
            schema_version: SchemaVersion::V1,
            event_id,
            event_type: draft.event_type,
            occurred_at: draft.occurred_at,
            received_at: self.verified.request.received_at,
            source: Source {
                channel: self.info.id.to_owned(),
                channel_kind: self.info.kind,
                tenant: self.id.tenant.clone(),
                external_event_id: self.id.external_event_id.clone(),
                topic: self.id.topic.clone(),
                status: draft.status,
            },
            order: draft.order,
            payment: draft.payment,
            refund: draft.refund,
            command: None,
        }
    }

    /// The delivery kept whole for the enrichment queue or the quarantine.
    fn stored_message(&self, error: Option<String>) -> QueueMessage {
        let req = self.verified.request;
        let stored = StoredDelivery {
            channel: self.info.id.to_owned(),
            path_tenant: req.path_tenant.clone(),
            endpoint: req.endpoint.clone(),
            idempotency_key: self.key.clone(),
            received_at: req.received_at,
            method: req.method.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            body_base64: BASE64.encode(&req.body),
            payload_base64: self
                .verified
                .payload_differs()
                .then(|| BASE64.encode(&self.verified.payload)),
            error,
        };
        QueueMessage {
            // Serialising plain strings cannot fail.
            body: serde_json::to_string(&stored).unwrap_or_default(),
            group_id: None,
            dedup_id: Some(sha256_hex(self.key.as_str().as_bytes())),
            attributes: vec![("channel", self.info.id.to_owned())],
        }
    }
}

impl Pipeline<'_> {
    /// Sends a route's messages to their queue and says what that means.
    pub(crate) async fn dispatch(&self, route: Route) -> Result<Processed, PortError> {
        Ok(match route {
            Route::Unified(messages) => {
                let events = messages.len();
                self.queues.send(QueueName::Unified, messages).await?;
                Processed::Enqueued { events }
            }
            Route::Enrichment(message) => {
                self.queues
                    .send(QueueName::Enrichment, vec![message])
                    .await?;
                Processed::Enrichment
            }
            Route::Quarantine(message, error) => {
                self.queues
                    .send(QueueName::Quarantine, vec![message])
                    .await?;
                Processed::Quarantined { error }
            }
            Route::Ignored(reason) => Processed::Ignored { reason },
        })
    }
}

/// The unified-queue message for an event: FIFO group per order, dedup on the event id.
pub fn unified_message(event: &UnifiedOrderEvent) -> Result<QueueMessage, serde_json::Error> {
    Ok(QueueMessage {
        body: serde_json::to_string(event)?,
        group_id: Some(group_id(event)),
        // The event id is a hash of the idempotency key and the event's index: one delivery may
        // yield several events, and each must survive FIFO deduplication.
        dedup_id: Some(event.event_id.clone()),
        attributes: vec![
            ("channel", event.source.channel.clone()),
            ("event_type", event.event_type.as_str().to_owned()),
            ("schema_version", "1".to_owned()),
        ],
    })
}

/// The FIFO message group: `{channel}:{tenant}:{order id}`, so an order's events stay in order.
/// A payment names its order by `order_ref`; with the channel and tenant of that order
/// (`order_channel`, `order_tenant`), it joins the order's own group, so the payment and the
/// order's events reach the consumer in order. Without an order, the event is its own group.
pub fn group_id(event: &UnifiedOrderEvent) -> String {
    let source = &event.source;
    if let Some(order) = &event.order {
        return format!("{}:{}:{}", source.channel, source.tenant, order.external_id);
    }
    match &event.payment {
        Some(payment) => {
            let order = payment
                .order_ref
                .as_deref()
                .unwrap_or(&source.external_event_id);
            match (&payment.order_channel, &payment.order_tenant) {
                (Some(channel), tenant) if payment.order_ref.is_some() => format!(
                    "{channel}:{}:{order}",
                    tenant.as_deref().unwrap_or(&source.tenant)
                ),
                _ => format!("{}:{}:{order}", source.channel, source.tenant),
            }
        }
        None => format!(
            "{}:{}:{}",
            source.channel, source.tenant, source.external_event_id
        ),
    }
}

/// The request a stored delivery was made from, and its authenticated payload when stored.
pub(crate) fn stored_request(
    stored: &StoredDelivery,
) -> Result<(WebhookRequest, Option<Vec<u8>>), PortError> {
    let decode = |text: &str| {
        BASE64
            .decode(text)
            .map_err(|e| PortError::Unreadable(format!("stored body is not base64: {e}")))
    };
    let req = WebhookRequest {
        method: stored.method.clone(),
        path_tenant: stored.path_tenant.clone(),
        endpoint: stored.endpoint.clone(),
        query: stored.query.clone(),
        headers: stored.headers.clone(),
        body: decode(&stored.body_base64)?,
        received_at: stored.received_at,
    };
    let payload = stored.payload_base64.as_deref().map(decode).transpose()?;
    Ok((req, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ChannelKind, EventType, Order, Payment};
    use crate::timestamp::Timestamp;

    fn event(order: Option<&str>, payment: Option<Payment>) -> UnifiedOrderEvent {
        UnifiedOrderEvent {
            schema_version: SchemaVersion::V1,
            event_id: "e".into(),
            event_type: EventType::PaymentSucceeded,
            occurred_at: Timestamp::now(),
            received_at: Timestamp::now(),
            source: Source {
                channel: "stripe".into(),
                channel_kind: ChannelKind::Payment,
                tenant: "acct_1".into(),
                external_event_id: "evt_1".into(),
                topic: "payment_intent.succeeded".into(),
                status: None,
            },
            order: order.map(|id| Order {
                external_id: id.into(),
                ..Order::default()
            }),
            payment,
            refund: None,
            command: None,
        }
    }

    fn payment(order_ref: Option<&str>, channel: Option<&str>, tenant: Option<&str>) -> Payment {
        Payment {
            order_ref: order_ref.map(str::to_owned),
            order_channel: channel.map(str::to_owned),
            order_tenant: tenant.map(str::to_owned),
            ..Payment::default()
        }
    }

    #[test]
    fn a_linked_payment_joins_its_orders_group() {
        let linked = payment(Some("1001"), Some("shopify"), Some("shop.myshopify.com"));
        assert_eq!(
            group_id(&event(None, Some(linked))),
            "shopify:shop.myshopify.com:1001"
        );
        let own_tenant = payment(Some("1001"), Some("shopify"), None);
        assert_eq!(
            group_id(&event(None, Some(own_tenant))),
            "shopify:acct_1:1001"
        );
        let unlinked = payment(Some("1001"), None, None);
        assert_eq!(group_id(&event(None, Some(unlinked))), "stripe:acct_1:1001");
        let no_order = payment(None, Some("shopify"), None);
        assert_eq!(
            group_id(&event(None, Some(no_order))),
            "stripe:acct_1:evt_1"
        );
        assert_eq!(group_id(&event(Some("o9"), None)), "stripe:acct_1:o9");
        assert_eq!(group_id(&event(None, None)), "stripe:acct_1:evt_1");
    }
}
