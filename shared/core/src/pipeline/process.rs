//! A stored delivery processed again: by the enrichment consumer (thin deliveries) or by a replay
//! of the quarantine. Neither checks a signature (the delivery was authenticated on receipt) nor
//! claims its key (it is completed); the unified queue's deduplication ids make a second run
//! harmless.

use std::borrow::Cow;

use crate::connector::{
    Connector, EnrichError, NormaliseContext, NormaliseError, Normalised, Verified,
};
use crate::key::IdempotencyKey;
use crate::pipeline::route::{Route, Routed, stored_request};
use crate::pipeline::{Pipeline, Processed};
use crate::ports::{PortError, StoredDelivery};
use crate::request::WebhookRequest;

/// Why a stored delivery is processed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Again {
    /// It is thin: fetch the rest from the platform's API; if it still cannot be had, quarantine it.
    Enrich,
    /// It is quarantined: run it through the current code; if it still fails, keep it there.
    Replay,
}

impl Pipeline<'_> {
    /// Enriches a thin delivery taken from the enrichment queue: the connector fetches the full
    /// order from the platform's API, and the events go to the unified queue (their ids are the
    /// same on every attempt, so a redelivered message adds nothing inside the FIFO window).
    ///
    /// `Err` means "try again later" (a transient API failure, or a queue failure): the message
    /// stays on the enrichment queue and ends in its dead-letter queue if it keeps failing. A
    /// permanent failure moves the delivery to the quarantine ([`Processed::Quarantined`]).
    pub async fn enrich<C: Connector>(
        &self,
        connector: &C,
        stored: &StoredDelivery,
    ) -> Result<Processed, PortError> {
        self.again(connector, stored, Again::Enrich).await
    }

    /// Re-runs a quarantined delivery through the current code (`o2o replay`). Returns
    /// [`Processed::Quarantined`] with the error when it still fails; the caller then keeps it
    /// in the quarantine.
    pub async fn replay<C: Connector>(
        &self,
        connector: &C,
        stored: &StoredDelivery,
    ) -> Result<Processed, PortError> {
        self.again(connector, stored, Again::Replay).await
    }

    async fn again<C: Connector>(
        &self,
        connector: &C,
        stored: &StoredDelivery,
        why: Again,
    ) -> Result<Processed, PortError> {
        let (req, payload) = stored_request(stored)?;
        let route = match reopen(connector, &req, payload.as_deref()) {
            Err(error) => unreadable::<C>(stored, &Verified::body(&req), error),
            Ok(verified) => match connector.parse(&verified) {
                Err(e) => unreadable::<C>(stored, &verified, e.to_string()),
                Ok(parsed) => {
                    let ctx = NormaliseContext {
                        received_at: req.received_at,
                    };
                    let normalised = match connector.normalise(&parsed.id, parsed.message, &ctx) {
                        Ok(Normalised::Enrich(thin)) if why == Again::Enrich => {
                            enriched(connector.enrich(thin, &ctx).await)?
                        }
                        other => other,
                    };
                    let routed = Routed {
                        info: C::info(),
                        id: &parsed.id,
                        key: &stored.idempotency_key,
                        verified: &verified,
                        identity: &|draft| connector.event_identity(draft),
                    };
                    routed.route(normalised)
                }
            },
        };
        match (why, route) {
            (Again::Replay, Route::Quarantine(_, error)) => Ok(Processed::Quarantined { error }),
            (_, route) => self.dispatch(route).await,
        }
    }
}

/// What enrichment answered, as a normalisation result; `Err` for a transient failure.
fn enriched<T>(
    answer: Result<Normalised<T>, EnrichError>,
) -> Result<Result<Normalised<T>, NormaliseError>, PortError> {
    Ok(match answer {
        Ok(Normalised::Enrich(_)) => Err(NormaliseError::Enrichment(
            "enrichment asked for enrichment again".to_owned(),
        )),
        Ok(normalised) => Ok(normalised),
        Err(EnrichError::Transient(reason)) => return Err(PortError::RetryLater(reason)),
        Err(EnrichError::Permanent(reason)) => Err(NormaliseError::Enrichment(reason)),
    })
}

/// The stored delivery's authenticated payload: as stored, or opened again by the connector for
/// a record written before payloads were stored.
fn reopen<'r, C: Connector>(
    connector: &C,
    req: &'r WebhookRequest,
    payload: Option<&'r [u8]>,
) -> Result<Verified<'r, C::Facts>, String> {
    match payload {
        Some(payload) => Ok(Verified::with_payload(req, Cow::Borrowed(payload))),
        None => connector
            .reopen(req)
            .map_err(|r| format!("envelope: {}", r.code)),
    }
}

/// The quarantine route of a stored delivery that cannot be read any more.
fn unreadable<C: Connector>(
    stored: &StoredDelivery,
    verified: &Verified<'_, C::Facts>,
    error: String,
) -> Route {
    let req = verified.request;
    let id = IdempotencyKey::unparsed_delivery(req.path_tenant.as_deref(), &req.body);
    Routed {
        info: C::info(),
        id: &id,
        key: &stored.idempotency_key,
        verified,
        identity: &|_| None,
    }
    .quarantine(error)
}
