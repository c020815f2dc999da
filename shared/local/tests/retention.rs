//! Retention (retention.rs): expired idempotency records and old unconsumed messages of the
//! unified queue are deleted; what is still valid, and the quarantine, are kept.

use std::time::Duration;

use o2o_core::ports::{Claim, ClaimOutcome, IdempotencyStore, QueueMessage, QueueName, Queues};
use o2o_core::{IdempotencyKey, Reply, Timestamp};
use o2o_local::SqliteStore;
use o2o_local::retention::{Retention, SLICE, Swept};

const DAY: i64 = 24 * 3600;

fn claim(key: &str, now: Timestamp, ttl: i64) -> Claim {
    Claim {
        key: IdempotencyKey::from_stored(key.into()),
        payload_hash: "h".into(),
        now,
        in_progress_until: now.plus_seconds(60),
        expires_at: now.plus_seconds(ttl),
    }
}

fn message(body: &str) -> QueueMessage {
    QueueMessage {
        body: body.into(),
        group_id: Some("g".into()),
        dedup_id: Some(body.into()),
        attributes: vec![],
    }
}

#[tokio::test]
async fn expired_records_and_old_messages_go_and_the_rest_stays() {
    let store = SqliteStore::in_memory().expect("db");
    let now = Timestamp::now();
    // 2 records completed with a 7-day TTL, 1 with a 30-day one.
    for (key, ttl) in [("a", 7 * DAY), ("b", 7 * DAY), ("c", 30 * DAY)] {
        store.claim(&claim(key, now, ttl)).await.expect("claim");
        store
            .complete(
                &IdempotencyKey::from_stored(key.into()),
                &Reply::text(200, "ok"),
                now.plus_seconds(ttl),
            )
            .await
            .expect("complete");
    }
    for queue in [
        QueueName::Unified,
        QueueName::UnifiedDeadLetter,
        QueueName::Quarantine,
    ] {
        store
            .send(queue, vec![message("m1"), message("m2")])
            .await
            .expect("send");
    }
    let retention = Retention {
        messages: Duration::from_secs(14 * 24 * 3600),
        every: Duration::from_secs(60),
    };

    // Nothing has expired yet.
    assert_eq!(
        store.sweep(retention, now).await.expect("sweep"),
        Swept::default()
    );
    // Eight days on: the 7-day records are gone, the messages (14 days) stay.
    let later = now.plus_seconds(8 * DAY);
    assert_eq!(
        store.sweep(retention, later).await.expect("sweep"),
        Swept {
            records: 2,
            messages: 0
        }
    );
    assert_eq!(
        store.claim(&claim("a", later, 7 * DAY)).await,
        Ok(ClaimOutcome::Claimed),
        "forgotten: a new delivery with this key is processed again"
    );
    assert!(matches!(
        store.claim(&claim("c", later, 30 * DAY)).await,
        Ok(ClaimOutcome::Completed { .. })
    ));
    // Fifteen days on: the unified queue's and its DLQ's messages are gone, not the quarantine's.
    let much_later = now.plus_seconds(15 * DAY);
    let swept = store.sweep(retention, much_later).await.expect("sweep");
    assert_eq!(swept.messages, 4);
    for (queue, left) in [
        (QueueName::Unified, 0),
        (QueueName::UnifiedDeadLetter, 0),
        (QueueName::Quarantine, 2),
    ] {
        assert_eq!(
            store.read(queue, 0, 10).await.expect("read").len(),
            left,
            "{}",
            queue.as_str()
        );
    }
}

#[tokio::test]
async fn a_sweep_deletes_more_than_one_slice() {
    let store = SqliteStore::in_memory().expect("db");
    let now = Timestamp::now();
    let n = SLICE + 10;
    let mut claims = tokio::task::JoinSet::new();
    for i in 0..n {
        let store = store.clone();
        claims.spawn(async move { store.claim(&claim(&format!("k{i}"), now, 60)).await });
    }
    while let Some(claimed) = claims.join_next().await {
        assert_eq!(claimed.expect("joined"), Ok(ClaimOutcome::Claimed));
    }
    let swept = store
        .sweep(Retention::default(), now.plus_seconds(61))
        .await
        .expect("sweep");
    assert_eq!(swept.records, n);
}
