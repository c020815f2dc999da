//! Steps 2–8 of a webhook request: handshake, method, verify, then for each record parse,
//! claim, normalise, enqueue, complete and acknowledge.

use crate::connector::{Connector, NormaliseContext, Verified};
use crate::key::IdempotencyKey;
use crate::pipeline::route::Routed;
use crate::pipeline::{Handled, Outcome, Pipeline, Processed};
use crate::ports::{Claim, ClaimOutcome, PortError};
use crate::request::{Rejection, WebhookRequest};
use crate::signature::sha256_hex;

impl Pipeline<'_> {
    /// Handles one webhook request for `connector` (steps 2–8).
    pub async fn ingest<C: Connector>(&self, connector: &C, req: &WebhookRequest) -> Handled {
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
        // Deliveries are POSTs; a GET is only ever a handshake.
        if req.method != "POST" {
            let allow = if info.get_handshake {
                "GET, POST"
            } else {
                "POST"
            };
            return Handled::refused(Rejection::method_not_allowed(info.name, allow));
        }
        // 3. Verify.
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
        let (id, message) = match connector.parse(verified) {
            Ok(parsed) => (parsed.id, Ok(parsed.message)),
            Err(e) => (
                IdempotencyKey::unparsed_delivery(req.path_tenant.as_deref(), &req.body),
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
                    },
                    records: 1,
                };
            }
            Ok(ClaimOutcome::InProgress) => {
                let rejection = Rejection::new(
                    409,
                    "in_progress",
                    "this delivery is being processed; retry later",
                );
                return Handled {
                    reply: rejection.to_reply(),
                    outcome: Outcome::InProgress { key: claim.key },
                    records: 1,
                };
            }
            Err(error) => return failed(Some(claim.key), error),
        }
        let key = claim.key;

        // 6. Normalise.
        let routed = Routed {
            info,
            id: &id,
            key: &key,
            verified,
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
            Err(error) => return self.release_and_fail(key, error).await,
        };

        // 8. Complete, then acknowledge.
        let ack = connector.ack();
        if let Err(error) = self.store.complete(&key, &ack, claim.expires_at).await {
            return self.release_and_fail(key, error).await;
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

    async fn release_and_fail(&self, key: IdempotencyKey, error: PortError) -> Handled {
        // If the release fails too, the claim still expires after `in_progress_seconds`.
        let error = match self.store.release(&key).await {
            Ok(()) => error,
            Err(release) => PortError::ReleaseFailed {
                error: Box::new(error),
                release: Box::new(release),
            },
        };
        failed(Some(key), error)
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
