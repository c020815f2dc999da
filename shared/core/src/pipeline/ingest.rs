//! Steps 2–8 of a webhook request: handshake, method, verify, then for each record parse,
//! claim, normalise, enqueue, complete and acknowledge.

use crate::connector::{Connector, Content, DeliveryId, NormaliseContext, Verified};
use crate::key::IdempotencyKey;
use crate::pipeline::route::Routed;
use crate::pipeline::{Handled, Outcome, Pipeline, Processed};
use crate::ports::{Claim, ClaimOutcome, PortError};
use crate::request::{Rejection, WebhookRequest};
use crate::signature::sha256_hex;

impl Pipeline<'_> {
    /// Handles one webhook request for `connector` (steps 2–8). Any answer but a 2xx is put in
    /// the platform's format by [`Connector::failure_reply`].
    pub async fn ingest<C: Connector>(&self, connector: &C, req: &WebhookRequest) -> Handled {
        let mut handled = self.handle(connector, req).await;
        if !(200..300).contains(&handled.reply.status) {
            handled.reply = connector.failure_reply(handled.reply);
        }
        handled
    }

    /// Steps 2–8, answered as `{"error","message"}` where they fail.
    async fn handle<C: Connector>(&self, connector: &C, req: &WebhookRequest) -> Handled {
        let info = C::info();
        // 2. Handshake.
        if let Some(answer) = connector.handshake(req) {
            return match answer {
                Ok(reply) => Handled {
                    reply,
                    outcome: Outcome::Handshake,
                    records: 0,
                },
                Err(rejection) => Handled::refused(rejection),
            };
        }
        // Deliveries are POSTs, and GETs where the platform delivers by GET (Meituan).
        if !info.is_delivery_method(&req.method) {
            return Handled::refused(info.method_not_allowed());
        }
        // 3. Verify (after fetching what it needs, for the platforms that need something).
        if let Err(rejection) = connector.prepare_verify(req).await {
            return Handled::refused(rejection);
        }
        let verified = match connector.verify(req) {
            Ok(verified) => verified,
            Err(rejection) => return Handled::refused(rejection),
        };
        match connector.split_records(&verified) {
            None => self.record(connector, &verified).await,
            Some(records) => self.records(connector, req, records).await,
        }
    }

    /// Steps 4–8 for each record of a multi-record delivery, in order. The first record that
    /// fails or is in progress ends the run and is answered, so the platform sends the whole
    /// delivery again; the records already done then answer as duplicates.
    async fn records<C: Connector>(
        &self,
        connector: &C,
        req: &WebhookRequest,
        records: Vec<Vec<u8>>,
    ) -> Handled {
        let count = records.len();
        let mut events = 0;
        let mut last = None;
        for body in records {
            // Each record stands in for the body: it is what is hashed, keyed and stored.
            let record = WebhookRequest {
                body,
                ..req.clone()
            };
            let handled = self.record(connector, &Verified::body(&record)).await;
            match &handled.outcome {
                Outcome::Failed { .. } | Outcome::InProgress { .. } => return handled,
                outcome => events += outcome.events(),
            }
            last = Some(handled);
        }
        let Some(mut handled) = last else {
            return Handled {
                reply: connector.ack(),
                outcome: Outcome::Accepted {
                    key: None,
                    processed: Processed::Ignored {
                        reason: "no records".to_owned(),
                    },
                },
                records: 0,
            };
        };
        // Events were enqueued by this delivery even when its last record was a duplicate.
        if events > 0 {
            handled.outcome = Outcome::Accepted {
                key: handled.outcome.key().cloned(),
                processed: Processed::Enqueued { events },
            };
        }
        handled.records = count;
        handled
    }

    /// Steps 4–8 for one authenticated delivery (or one record of it).
    async fn record<C: Connector>(
        &self,
        connector: &C,
        verified: &Verified<'_, C::Facts>,
    ) -> Handled {
        let info = C::info();
        let req = verified.request;
        // 4. Parse; an authenticated payload we cannot read is quarantined under a content key.
        let (id, content, message) = match connector.parse(verified) {
            Ok(parsed) => (parsed.id, parsed.content, Ok(parsed.message)),
            Err(e) => (
                IdempotencyKey::unparsed_delivery(req.path_tenant.as_deref(), &req.body),
                None,
                Err(e),
            ),
        };
        let key = IdempotencyKey::new(info.id, &id);

        // 5. Claim.
        let now = req.received_at;
        let claim = Claim {
            key,
            payload_hash: sha256_hex(&req.body),
            now,
            in_progress_until: now.plus_seconds(self.options.in_progress_seconds),
            expires_at: now.plus_seconds(self.options.completed_ttl_seconds),
        };
        match self.store.claim(&claim).await {
            Ok(ClaimOutcome::Claimed) => {}
            Ok(ClaimOutcome::Completed { ack, payload_hash }) => {
                return Handled {
                    reply: ack,
                    outcome: Outcome::Duplicate {
                        key: claim.key,
                        payload_differs: payload_hash != claim.payload_hash,
                        content: None,
                    },
                    records: 1,
                };
            }
            Ok(ClaimOutcome::InProgress) => return in_progress(claim.key),
            Err(error) => return failed(Some(claim.key), error),
        }

        // 5b. Claim the content key too, where the event id is not authenticated: the same
        // signed content under a fresh id is a replay (or a platform's copy), and adds nothing.
        let content_key = match content {
            None => None,
            Some(content) => match self
                .claim_content(info.id, &id, content, verified, &claim)
                .await
            {
                Ok(content_key) => Some(content_key),
                Err(handled) => return *handled,
            },
        };
        let key = claim.key;

        // 6. Normalise.
        let routed = Routed {
            info,
            id: &id,
            key: &key,
            verified,
            identity: &|draft| connector.event_identity(draft),
        };
        let route = match message {
            Err(e) => routed.quarantine(e.to_string()),
            Ok(message) => {
                let ctx = NormaliseContext { received_at: now };
                routed.route(connector.normalise(&id, message, &ctx))
            }
        };

        // 7. Enqueue.
        let processed = match self.dispatch(route).await {
            Ok(processed) => processed,
            Err(error) => {
                return self
                    .release_and_fail(key, content_key.as_ref(), error)
                    .await;
            }
        };

        // 8. Complete (the content key first: once the delivery's own key is completed its
        // redeliveries never reach the content key), then acknowledge.
        let ack = connector.ack();
        if let Some(content_key) = &content_key
            && let Err(error) = self
                .store
                .complete_before(content_key, &ack, claim.expires_at)
                .await
        {
            return self.release_and_fail(key, Some(content_key), error).await;
        }
        if let Err(error) = self.store.complete(&key, &ack, claim.expires_at).await {
            // A completed content key stays: the retry is answered as its duplicate.
            return self.release_and_fail(key, None, error).await;
        }
        Handled {
            reply: ack,
            outcome: Outcome::Accepted {
                key: Some(key),
                processed,
            },
            records: 1,
        }
    }

    /// Claims the content key of a delivery whose own key (`claim`) this request holds. `Err` is
    /// the answer when the content is done or busy elsewhere, or the store failed; the delivery's
    /// own key is released first, so nothing records the unauthenticated id of a replay.
    async fn claim_content<F>(
        &self,
        channel: &str,
        id: &DeliveryId,
        content: Content,
        verified: &Verified<'_, F>,
        claim: &Claim,
    ) -> Result<IdempotencyKey, Box<Handled>> {
        let sha256 = match content {
            // The body's hash is at hand already.
            Content::Payload if !verified.payload_differs() => claim.payload_hash.clone(),
            Content::Payload => sha256_hex(&verified.payload),
            Content::Sha256(hex) => hex,
        };
        let content_claim = Claim {
            key: IdempotencyKey::content(channel, &id.topic, &sha256),
            ..claim.clone()
        };
        let answer = match self.store.claim(&content_claim).await {
            Ok(ClaimOutcome::Claimed) => return Ok(content_claim.key),
            Ok(ClaimOutcome::Completed { ack, payload_hash }) => Handled {
                reply: ack,
                outcome: Outcome::Duplicate {
                    key: claim.key.clone(),
                    payload_differs: payload_hash != claim.payload_hash,
                    content: Some(content_claim.key),
                },
                records: 1,
            },
            Ok(ClaimOutcome::InProgress) => in_progress(claim.key.clone()),
            Err(error) => failed(Some(claim.key.clone()), error),
        };
        let key = Some(claim.key.clone());
        Err(Box::new(
            match (self.store.release(&claim.key).await, answer) {
                (Ok(()), answer) => answer,
                // The claim then expires after `in_progress_seconds`; until then a retry gets 409.
                (
                    Err(release),
                    Handled {
                        outcome: Outcome::Failed { error, .. },
                        ..
                    },
                ) => failed(
                    key,
                    PortError::ReleaseFailed {
                        error: Box::new(error),
                        release: Box::new(release),
                    },
                ),
                (Err(release), _) => failed(key, release),
            },
        ))
    }

    /// Releases the delivery's key (and its content key, when this request claimed one) and
    /// answers 503.
    async fn release_and_fail(
        &self,
        key: IdempotencyKey,
        content_key: Option<&IdempotencyKey>,
        error: PortError,
    ) -> Handled {
        // If a release fails too, the claim still expires after `in_progress_seconds`.
        let mut error = error;
        for claimed in content_key.into_iter().chain([&key]) {
            if let Err(release) = self.store.release(claimed).await {
                error = PortError::ReleaseFailed {
                    error: Box::new(error),
                    release: Box::new(release),
                };
            }
        }
        failed(Some(key), error)
    }
}

/// 409: another request is processing the delivery (or its content); the platform retries.
fn in_progress(key: IdempotencyKey) -> Handled {
    let rejection = Rejection::new(
        409,
        "in_progress",
        "this delivery is being processed; retry later",
    );
    Handled {
        reply: rejection.to_reply(),
        outcome: Outcome::InProgress { key },
        records: 1,
    }
}

/// 503: the platform is told to send the delivery again.
fn failed(key: Option<IdempotencyKey>, error: PortError) -> Handled {
    let reply = Rejection::new(
        503,
        "temporarily_unavailable",
        "could not record the delivery; retry later",
    )
    .to_reply();
    Handled {
        reply,
        outcome: Outcome::Failed { key, error },
        records: 1,
    }
}
