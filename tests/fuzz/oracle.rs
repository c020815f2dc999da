//! The oracle (the connector's own answers) and the checks of what the pipeline did, through a
//! recorder of every port call.

use super::*;

/// What the pipeline must do with a request, from the connector's own answers.
enum Expect {
    /// A URL verification or health check: answered, nothing recorded.
    Handshake,
    /// Not a method the platform delivers with (`POST`, and `GET` for Meituan): 405.
    MethodNotAllowed,
    /// `verify` refused it.
    Refused(Rejection),
    /// Authentic: `records` records (split or not), `unreadable` of which cannot be parsed or
    /// normalised.
    Authentic {
        split: bool,
        records: usize,
        unreadable: usize,
    },
}

fn oracle<C: Connector>(connector: &C, req: &WebhookRequest) -> Expect {
    if connector.handshake(req).is_some() {
        return Expect::Handshake;
    }
    if !C::info().is_delivery_method(&req.method) {
        return Expect::MethodNotAllowed;
    }
    let verified = match connector.verify(req) {
        Ok(verified) => verified,
        Err(rejection) => return Expect::Refused(rejection),
    };
    let readable = |verified: &Verified<'_, C::Facts>| match connector.parse(verified) {
        Ok(parsed) => {
            let ctx = NormaliseContext {
                received_at: req.received_at,
            };
            connector
                .normalise(&parsed.id, parsed.message, &ctx)
                .is_ok()
        }
        Err(_) => false,
    };
    match connector.split_records(&verified) {
        None => Expect::Authentic {
            split: false,
            records: 1,
            unreadable: usize::from(!readable(&verified)),
        },
        Some(records) => {
            let unreadable = records
                .iter()
                .filter(|body| {
                    let record = WebhookRequest {
                        body: body.to_vec(),
                        ..req.clone()
                    };
                    !readable(&Verified::body(&record))
                })
                .count();
            Expect::Authentic {
                split: true,
                records: records.len(),
                unreadable,
            }
        }
    }
}

/// The SQLite store behind a recorder of every call the pipeline makes to the ports.
struct Recorder {
    store: SqliteStore,
    claims: AtomicUsize,
    completes: AtomicUsize,
    releases: AtomicUsize,
    sent: AtomicUsize,
}

impl Recorder {
    fn new() -> Self {
        Self {
            store: SqliteStore::in_memory().expect("in-memory SQLite"),
            claims: AtomicUsize::new(0),
            completes: AtomicUsize::new(0),
            releases: AtomicUsize::new(0),
            sent: AtomicUsize::new(0),
        }
    }

    /// Claims, completions, releases and messages sent so far.
    fn calls(&self) -> [usize; 4] {
        [
            self.claims.load(Ordering::Relaxed),
            self.completes.load(Ordering::Relaxed),
            self.releases.load(Ordering::Relaxed),
            self.sent.load(Ordering::Relaxed),
        ]
    }

    /// The messages on each queue: unified, enrichment, quarantine.
    async fn queued(&self) -> [Vec<String>; 3] {
        let read = |queue| async move {
            self.store
                .read(queue, 0, 100_000)
                .await
                .expect("read queue")
                .into_iter()
                .map(|m| m.body)
                .collect::<Vec<_>>()
        };
        [
            read(QueueName::Unified).await,
            read(QueueName::Enrichment).await,
            read(QueueName::Quarantine).await,
        ]
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for Recorder {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        self.claims.fetch_add(1, Ordering::Relaxed);
        self.store.claim(claim).await
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        ack: &Reply,
        expires_at: Timestamp,
    ) -> Result<(), PortError> {
        self.completes.fetch_add(1, Ordering::Relaxed);
        self.store.complete(key, ack, expires_at).await
    }

    async fn release(&self, key: &IdempotencyKey) -> Result<(), PortError> {
        self.releases.fetch_add(1, Ordering::Relaxed);
        self.store.release(key).await
    }
}

#[async_trait::async_trait]
impl Queues for Recorder {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        self.sent.fetch_add(messages.len(), Ordering::Relaxed);
        self.store.send(queue, messages).await
    }
}

/// Runs one case through the pipeline and checks it; returns the label it is counted under.
pub(crate) async fn check<C: Connector>(
    fixture: &Fixture<C>,
    built: &Built,
) -> Result<String, TestCaseError> {
    let req = &built.request;
    let ports = Recorder::new();
    let pipeline = Pipeline::new(&ports, &ports, PipelineOptions::default());
    // The pipeline first, so that a panic is reported on its path.
    let handled = fixture.channel.ingest(&pipeline, req).await;
    let expect = oracle(&fixture.connector, req);
    let status = handled.reply.status;
    prop_assert!(
        (200..500).contains(&status),
        "answered {status}: {:?}",
        handled.outcome
    );
    if built.forged(fixture.spec) {
        prop_assert!(
            !matches!(expect, Expect::Authentic { .. }),
            "a request whose signed body changed after signing verified"
        );
    }
    let calls = ports.calls();
    let queued = ports.queued().await;
    let counts = queued.each_ref().map(Vec::len);
    match expect {
        Expect::Handshake | Expect::MethodNotAllowed | Expect::Refused(_) => {
            prop_assert_eq!(
                calls,
                [0; 4],
                "a request that is not authentic reached a port"
            );
            prop_assert_eq!(counts, [0; 3], "a request that is not authentic was queued");
        }
        Expect::Authentic { .. } => {}
    }
    Ok(match expect {
        Expect::Handshake => {
            prop_assert!(
                matches!(handled.outcome, Outcome::Handshake | Outcome::Rejected(_)),
                "a handshake became {:?}",
                handled.outcome
            );
            "handshake".to_owned()
        }
        Expect::MethodNotAllowed => {
            prop_assert_eq!(status, 405);
            "405 method_not_allowed".to_owned()
        }
        Expect::Refused(rejection) => {
            prop_assert!(
                (400..500).contains(&rejection.status),
                "verify refused with {}",
                rejection.status
            );
            prop_assert_eq!(&handled.outcome, &Outcome::Rejected(rejection.clone()));
            format!("{} {}", rejection.status, rejection.code)
        }
        Expect::Authentic {
            split,
            records,
            unreadable,
        } => {
            let ack = fixture.connector.ack();
            prop_assert_eq!(&handled.reply, &ack, "authentic, not acknowledged");
            // Each record claims its key (and, where the pipeline keys content too, more).
            let [claims, completes, releases, sent] = calls;
            prop_assert!(claims >= records, "{claims} claims for {records} records");
            if split {
                // A record repeated in one delivery is a duplicate of the first: not completed again.
                prop_assert!(completes <= claims && (records == 0 || completes > 0));
            } else {
                prop_assert_eq!(completes, claims, "every claimed key is completed");
            }
            prop_assert_eq!(releases, 0);
            prop_assert_eq!(sent, counts.iter().sum::<usize>());
            let label = if split {
                check_records(&handled.outcome, counts, records, unreadable)?
            } else {
                check_record(&handled.outcome, &queued, req, unreadable == 1)?
            };
            // The same request again: a duplicate, answered alike, nothing more recorded.
            let again = fixture.channel.ingest(&pipeline, req).await;
            prop_assert_eq!(&again.reply, &ack, "the redelivery is answered differently");
            if records == 1 {
                prop_assert!(
                    matches!(again.outcome, Outcome::Duplicate { .. }),
                    "the redelivery is {:?}",
                    again.outcome
                );
            }
            let after = ports.calls();
            prop_assert_eq!(
                (after[1], after[2], after[3]),
                (completes, 0, sent),
                "the redelivery recorded something"
            );
            label
        }
    })
}

/// One authenticated record: quarantined exactly when unreadable, with its error and exact body;
/// otherwise its events, the enrichment queue, or an ignore with a reason.
fn check_record(
    outcome: &Outcome,
    queued: &[Vec<String>; 3],
    req: &WebhookRequest,
    unreadable: bool,
) -> Result<String, TestCaseError> {
    let Outcome::Accepted {
        key: Some(_),
        processed,
    } = outcome
    else {
        return Err(TestCaseError::fail(format!("authentic, yet {outcome:?}")));
    };
    let counts = queued.each_ref().map(Vec::len);
    prop_assert_eq!(
        unreadable,
        matches!(processed, Processed::Quarantined { .. }),
        "unreadable (parse or normalise failed) must mean quarantined: {:?}",
        processed
    );
    match processed {
        Processed::Quarantined { error } => {
            prop_assert_eq!(counts, [0, 0, 1]);
            let stored: StoredDelivery = serde_json::from_str(&queued[2][0])
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(stored.error.as_deref(), Some(error.as_str()));
            prop_assert!(!error.is_empty());
            let body = base64::engine::general_purpose::STANDARD.encode(&req.body);
            prop_assert_eq!(
                stored.body_base64,
                body,
                "the quarantine lost the exact body"
            );
        }
        Processed::Enqueued { events } => {
            prop_assert!(*events > 0);
            prop_assert_eq!(counts, [*events, 0, 0]);
        }
        Processed::Enrichment => prop_assert_eq!(counts, [0, 1, 0]),
        Processed::Ignored { reason } => {
            prop_assert!(!reason.is_empty(), "ignored without a reason");
            prop_assert_eq!(counts, [0, 0, 0]);
        }
    }
    Ok(processed.as_str().to_owned())
}

/// A delivery of several records (Douyin): each claimed and completed (checked by the caller);
/// every unreadable record quarantined (records with equal bytes share a key).
fn check_records(
    outcome: &Outcome,
    counts: [usize; 3],
    records: usize,
    unreadable: usize,
) -> Result<String, TestCaseError> {
    prop_assert!(
        matches!(
            outcome,
            Outcome::Accepted { .. } | Outcome::Duplicate { .. }
        ),
        "authentic, yet {:?}",
        outcome
    );
    prop_assert!(counts[2] <= unreadable, "more quarantined than unreadable");
    prop_assert_eq!(
        counts[2] > 0,
        unreadable > 0,
        "unreadable records must be quarantined"
    );
    Ok(if records == 0 {
        "no records".to_owned()
    } else {
        format!("split: {}", outcome.as_str())
    })
}
