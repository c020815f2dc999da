//! SQS FIFO consumer semantics on the SQLite queue (fifo.rs): visibility, order per group,
//! receipt handles, the dead-letter queue and redrive.

use std::time::Duration;

use o2o_core::ports::{QueueMessage, QueueName, Queues};
use o2o_local::SqliteStore;
use o2o_local::fifo::{LeaseError, ReceiveOptions};

fn message(group: &str, body: &str) -> QueueMessage {
    QueueMessage {
        body: body.into(),
        group_id: Some(group.into()),
        dedup_id: Some(format!("dedup-{body}")),
        attributes: vec![
            ("channel", "shopify".to_owned()),
            ("event_type", "order.created".to_owned()),
        ],
    }
}

fn options(max: usize, visibility_ms: u64) -> ReceiveOptions {
    ReceiveOptions {
        max,
        visibility: Duration::from_millis(visibility_ms),
        max_receives: 3,
    }
}

fn bodies(received: &[o2o_local::fifo::Leased]) -> Vec<&str> {
    received.iter().map(|m| m.body.as_str()).collect()
}

async fn store_with(messages: Vec<QueueMessage>) -> SqliteStore {
    let store = SqliteStore::in_memory().expect("db");
    store
        .send(QueueName::Unified, messages)
        .await
        .expect("send");
    store
}

#[tokio::test]
async fn a_group_waits_for_its_message_in_flight_and_other_groups_do_not() {
    let store = store_with(vec![
        message("g1", "a1"),
        message("g1", "a2"),
        message("g2", "b1"),
    ])
    .await;
    // One at a time: a1 first; while it is in flight, g1's a2 is held back but g2's b1 is not.
    let first = store
        .receive(QueueName::Unified, options(1, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&first), ["a1"]);
    let next = store
        .receive(QueueName::Unified, options(10, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&next), ["b1"], "a2 waits behind a1");
    assert!(
        store
            .receive(QueueName::Unified, options(10, 60_000))
            .await
            .expect("receive")
            .is_empty()
    );
    store
        .delete_received(QueueName::Unified, &first[0].receipt)
        .await
        .expect("delete");
    let after = store
        .receive(QueueName::Unified, options(10, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&after), ["a2"], "a1 deleted: a2 is next");
    // What a receive hands out: ids, attributes and counts as SQS has them.
    let m = &after[0];
    assert_eq!(m.group_id.as_deref(), Some("g1"));
    assert_eq!(m.dedup_id.as_deref(), Some("dedup-a2"));
    assert_eq!(m.receive_count, 1);
    assert_eq!(
        m.attributes,
        [
            ("channel".to_owned(), "shopify".to_owned()),
            ("event_type".to_owned(), "order.created".to_owned())
        ]
    );
    assert_eq!(m.message_id.len(), 36, "a UUID: {}", m.message_id);
}

#[tokio::test]
async fn one_receive_returns_a_groups_messages_in_order() {
    let store = store_with(vec![
        message("g1", "a1"),
        message("g2", "b1"),
        message("g1", "a2"),
    ])
    .await;
    let all = store
        .receive(QueueName::Unified, options(10, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&all), ["a1", "b1", "a2"]);
}

#[tokio::test]
async fn an_unacknowledged_message_comes_back_after_its_visibility_timeout_with_a_new_receipt() {
    let store = store_with(vec![message("g1", "a1"), message("g1", "a2")]).await;
    let first = store
        .receive(QueueName::Unified, options(1, 200))
        .await
        .expect("receive");
    assert_eq!(bodies(&first), ["a1"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = store
        .receive(QueueName::Unified, options(10, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&again), ["a1", "a2"], "a1 again, still first");
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, first[0].receipt);
    assert_eq!(
        again[0].message_id, first[0].message_id,
        "same message, same id"
    );
    assert_eq!(again[0].first_received_ms, first[0].first_received_ms);
    // The first receive's handle was replaced: FIFO refuses it.
    assert!(matches!(
        store
            .delete_received(QueueName::Unified, &first[0].receipt)
            .await,
        Err(LeaseError::ReceiptInvalid)
    ));
    assert!(matches!(
        store.delete_received(QueueName::Unified, "made-up").await,
        Err(LeaseError::ReceiptInvalid)
    ));
    store
        .delete_received(QueueName::Unified, &again[0].receipt)
        .await
        .expect("delete");
    // Deleting twice is not an error (as on SQS), and the message is gone.
    store
        .delete_received(QueueName::Unified, &again[0].receipt)
        .await
        .expect("delete again");
    let left = store.read(QueueName::Unified, 0, 10).await.expect("read");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].body, "a2");
}

#[tokio::test]
async fn change_visibility_hides_longer_or_releases_at_once() {
    let store = store_with(vec![message("g1", "a1")]).await;
    let first = store
        .receive(QueueName::Unified, options(1, 60_000))
        .await
        .expect("receive");
    store
        .change_visibility(QueueName::Unified, &first[0].receipt, Duration::ZERO)
        .await
        .expect("release");
    let again = store
        .receive(QueueName::Unified, options(1, 100))
        .await
        .expect("receive");
    assert_eq!(bodies(&again), ["a1"], "released at once");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No longer in flight: SQS answers MessageNotInflight.
    assert!(matches!(
        store
            .change_visibility(
                QueueName::Unified,
                &again[0].receipt,
                Duration::from_secs(5)
            )
            .await,
        Err(LeaseError::NotInFlight)
    ));
}

#[tokio::test]
async fn after_max_receives_a_message_moves_to_the_dead_letter_queue_and_redrive_brings_it_back() {
    let store = store_with(vec![message("g1", "a1"), message("g1", "a2")]).await;
    for attempt in 1..=3 {
        let received = store
            .receive(QueueName::Unified, options(1, 0))
            .await
            .expect("receive");
        assert_eq!(bodies(&received), ["a1"], "attempt {attempt}");
        assert_eq!(received[0].receive_count, attempt);
    }
    // The fourth receive moves a1 aside and hands out a2: the group is no longer held up.
    let next = store
        .receive(QueueName::Unified, options(1, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&next), ["a2"]);
    let dead = store
        .read(QueueName::UnifiedDeadLetter, 0, 10)
        .await
        .expect("read");
    assert_eq!(
        dead.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["a1"]
    );
    assert_eq!(dead[0].group_id.as_deref(), Some("g1"));
    // Nothing lost: a2 on the queue, a1 on its dead-letter queue.
    assert_eq!(
        store
            .read(QueueName::Unified, 0, 10)
            .await
            .expect("read")
            .len(),
        1
    );
    assert_eq!(
        store
            .redrive(QueueName::UnifiedDeadLetter)
            .await
            .expect("redrive"),
        1
    );
    assert!(
        store
            .read(QueueName::UnifiedDeadLetter, 0, 10)
            .await
            .expect("read")
            .is_empty()
    );
    store
        .delete_received(QueueName::Unified, &next[0].receipt)
        .await
        .expect("delete a2");
    let back = store
        .receive(QueueName::Unified, options(10, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&back), ["a1"], "redriven, with a fresh count");
    assert_eq!(back[0].receive_count, 1);
    assert_eq!(store.redrive(QueueName::Unified).await.expect("no-op"), 0);
}

#[tokio::test]
async fn a_long_poll_wakes_when_a_message_is_sent() {
    let store = SqliteStore::in_memory().expect("db");
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let received = store
                .receive_waiting(
                    QueueName::Unified,
                    options(10, 60_000),
                    Duration::from_secs(10),
                )
                .await
                .expect("receive");
            (received, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    store
        .send(QueueName::Unified, vec![message("g1", "late")])
        .await
        .expect("send");
    let (received, waited) = waiting.await.expect("joined");
    assert_eq!(bodies(&received), ["late"]);
    assert!(
        waited < Duration::from_secs(5),
        "woken by the send, not the timeout: {waited:?}"
    );
    // And an empty long poll ends at its wait.
    let empty = store
        .receive_waiting(
            QueueName::Unified,
            options(10, 60_000),
            Duration::from_millis(300),
        )
        .await
        .expect("receive");
    assert!(empty.is_empty());
}

#[tokio::test]
async fn a_file_from_before_the_consumer_api_is_upgraded_when_opened() {
    let dir = std::env::temp_dir().join(format!("o2o-fifo-upgrade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("old.db");
    let _ = std::fs::remove_file(&path);
    {
        // The messages table as the releases before the consumer API made it, with a message.
        let old = rusqlite::Connection::open(&path).expect("open");
        old.execute_batch(
            "CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL,
             group_id TEXT, dedup_id TEXT, body TEXT NOT NULL, attributes TEXT NOT NULL,
             enqueued_at INTEGER NOT NULL);
             INSERT INTO messages (queue, group_id, dedup_id, body, attributes, enqueued_at)
             VALUES ('unified', 'g1', 'd1', 'from before', '{}', 1);",
        )
        .expect("old schema");
    }
    let store = SqliteStore::open(&path).expect("upgraded");
    let received = store
        .receive(QueueName::Unified, options(10, 60_000))
        .await
        .expect("receive");
    assert_eq!(bodies(&received), ["from before"]);
    assert_eq!(received[0].receive_count, 1);
    drop(store);
    // Opening it again changes nothing more.
    let again = SqliteStore::open(&path).expect("reopened");
    assert!(
        again
            .receive(QueueName::Unified, options(10, 60_000))
            .await
            .expect("receive")
            .is_empty(),
        "still in flight"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
