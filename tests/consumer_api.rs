//! The consumer API of `o2o serve` (the SQS JSON protocol over the local unified queue), driven
//! by the real `aws-sdk-sqs` client over HTTP on 127.0.0.1; its answers compared with moto's SQS
//! for the same message; and the documented consumer (`examples/consumer.py`, boto3) run
//! unchanged against moto and against `o2o serve`.

mod common;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
};
use common::*;
use serde_json::Value;

/// A free loopback address for the consumer API.
fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

/// `o2o serve` with its consumer API on a free port, on a fresh database, with `config` (the
/// development config when `None`); returns the server, the API's URL and the db's directory.
async fn serve_with_api(config: Option<&str>) -> (ServeProcess, String, TempDir) {
    let dir = TempDir::new();
    let db = dir.path().join("consumer.db");
    let api = free_addr();
    let mut args = vec![
        "--db".to_owned(),
        db.to_str().expect("utf-8").to_owned(),
        "--consumer-api".to_owned(),
        api.clone(),
    ];
    if let Some(text) = config {
        let path = dir.path().join("o2o.toml");
        std::fs::write(&path, text).expect("config");
        args.splice(
            0..0,
            [
                "--config".to_owned(),
                path.to_str().expect("utf-8").to_owned(),
            ],
        );
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = ServeProcess::start(&args, &[]).await;
    (server, format!("http://{api}"), dir)
}

async fn deliver(server: &ServeProcess, channel: &str, file: &str) {
    let req = signed_request(channel, file);
    let url = endpoint_url(&format!("{}/webhooks/{channel}", server.base), &req);
    let (status, body) = send(&url, &req).await;
    assert_eq!(status, 200, "{channel} {file}: {body}");
}

async fn client(api: &str) -> Client {
    Client::new(&o2o_testkit::moto::sdk_config_for(api).await)
}

async fn receive(client: &Client, url: &str, max: i32, visibility: i32) -> Vec<Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .visibility_timeout(visibility)
        .wait_time_seconds(2)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
}

/// A new FIFO queue on moto (SQS); its URL.
async fn moto_fifo_queue(moto: &Client, prefix: &str) -> String {
    moto.create_queue()
        .queue_name(format!("{}.fifo", o2o_testkit::unique_name(prefix)))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("url")
}

fn event(message: &Message) -> Value {
    serde_json::from_str(message.body().expect("body")).expect("an event")
}

fn system(message: &Message, name: MessageSystemAttributeName) -> String {
    message
        .attributes()
        .and_then(|a| a.get(&name))
        .cloned()
        .unwrap_or_else(|| panic!("{name:?} missing"))
}

fn string_attribute(message: &Message, name: &str) -> String {
    message
        .message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .unwrap_or_else(|| panic!("{name} missing"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_receives_in_group_order_acknowledges_and_sees_unacknowledged_events_again() {
    let (server, api, dir) = serve_with_api(None).await;
    // Two events of one Shopify order (one message group), one WooCommerce order.
    deliver(&server, "shopify", "orders-create.http").await;
    deliver(&server, "shopify", "orders-updated.http").await;
    deliver(&server, "woocommerce", "order-created.http").await;
    let sqs = client(&api).await;

    let url = sqs
        .get_queue_url()
        .queue_name("o2o-local-unified.fifo")
        .send()
        .await
        .expect("GetQueueUrl")
        .queue_url
        .expect("a URL");
    assert!(
        url.ends_with("/000000000000/o2o-local-unified.fifo"),
        "{url}"
    );
    let missing = sqs
        .get_queue_url()
        .queue_name("o2o-local-orders.fifo")
        .send()
        .await
        .expect_err("no such queue");
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist()),
        "{missing:?}"
    );

    // The first event of the Shopify order, with SQS's system and message attributes.
    let first = receive(&sqs, &url, 1, 30).await;
    assert_eq!(first.len(), 1);
    let created = &first[0];
    assert_eq!(event(created)["event_type"], "order.created");
    assert_eq!(event(created)["source"]["channel"], "shopify");
    let group = system(created, MessageSystemAttributeName::MessageGroupId);
    assert!(group.starts_with("shopify:"), "{group}");
    assert_eq!(
        system(created, MessageSystemAttributeName::MessageDeduplicationId),
        event(created)["event_id"].as_str().expect("event id")
    );
    assert_eq!(
        system(created, MessageSystemAttributeName::ApproximateReceiveCount),
        "1"
    );
    assert_eq!(string_attribute(created, "channel"), "shopify");
    assert_eq!(string_attribute(created, "event_type"), "order.created");
    assert_eq!(string_attribute(created, "schema_version"), "1");
    assert_eq!(
        created.md5_of_body().expect("md5"),
        hex::encode(<md5::Md5 as md5::Digest>::digest(
            created.body().expect("body")
        ))
    );

    // While it is in flight, its order's next event is held back; the other order's is not.
    let others = receive(&sqs, &url, 10, 30).await;
    assert_eq!(others.len(), 1, "only WooCommerce's event");
    let woo = &others[0];
    assert_eq!(event(woo)["source"]["channel"], "woocommerce");
    assert!(receive(&sqs, &url, 10, 30).await.is_empty());

    // Acknowledged: the order's next event comes.
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(created.receipt_handle().expect("receipt"))
        .send()
        .await
        .expect("DeleteMessage");
    let next = receive(&sqs, &url, 10, 30).await;
    assert_eq!(next.len(), 1);
    assert_eq!(
        system(&next[0], MessageSystemAttributeName::MessageGroupId),
        group
    );
    assert_ne!(event(&next[0])["event_id"], event(created)["event_id"]);

    // Not acknowledged: WooCommerce's event handed back at once, received a second time.
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(woo.receipt_handle().expect("receipt"))
        .visibility_timeout(0)
        .send()
        .await
        .expect("ChangeMessageVisibility");
    let again = receive(&sqs, &url, 10, 30).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id(), woo.message_id(), "the same message");
    assert_eq!(
        system(
            &again[0],
            MessageSystemAttributeName::ApproximateReceiveCount
        ),
        "2"
    );
    // Its first receipt handle was replaced by the second receive's.
    let stale = sqs
        .delete_message()
        .queue_url(&url)
        .receipt_handle(woo.receipt_handle().expect("receipt"))
        .send()
        .await
        .expect_err("a stale receipt");
    assert!(
        stale
            .as_service_error()
            .is_some_and(|e| e.is_receipt_handle_is_invalid()),
        "{stale:?}"
    );

    // A batch: two acknowledged, a made-up handle refused on its own.
    let entry = |id: &str, receipt: &str| {
        DeleteMessageBatchRequestEntry::builder()
            .id(id)
            .receipt_handle(receipt)
            .build()
            .expect("entry")
    };
    let batch = sqs
        .delete_message_batch()
        .queue_url(&url)
        .entries(entry("updated", next[0].receipt_handle().expect("receipt")))
        .entries(entry("woo", again[0].receipt_handle().expect("receipt")))
        .entries(entry("bogus", "not-a-receipt"))
        .send()
        .await
        .expect("DeleteMessageBatch");
    let mut ok: Vec<&str> = batch.successful().iter().map(|s| s.id()).collect();
    ok.sort_unstable();
    assert_eq!(ok, ["updated", "woo"]);
    assert_eq!(batch.failed().len(), 1);
    assert_eq!(batch.failed()[0].id(), "bogus");
    assert_eq!(batch.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert!(batch.failed()[0].sender_fault());

    // Everything acknowledged is gone from the file: the queue is empty.
    assert!(receive(&sqs, &url, 10, 30).await.is_empty());
    let _ = server.stop().await;
    // A clean stop leaves the file whole: the WAL checkpointed and truncated.
    let wal = dir.path().join("consumer.db-wal");
    assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0, "{wal:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_received_too_often_goes_to_the_dead_letter_queue_and_o2o_queue_redrives_it() {
    let config = std::fs::read_to_string(root().join("o2o.toml"))
        .expect("dev config")
        .replace("max_receives = 5", "max_receives = 2");
    let (server, api, dir) = serve_with_api(Some(&config)).await;
    deliver(&server, "shopify", "orders-create.http").await;
    let sqs = client(&api).await;
    let url = format!("{api}/000000000000/unified.fifo");
    for attempt in ["1", "2"] {
        let got = receive(&sqs, &url, 10, 0).await;
        assert_eq!(got.len(), 1, "receive {attempt}");
        assert_eq!(
            system(&got[0], MessageSystemAttributeName::ApproximateReceiveCount),
            attempt
        );
    }
    // The third receive finds it received twice already: it moves to unified-dlq instead.
    assert!(receive(&sqs, &url, 10, 30).await.is_empty());
    let dlq_url = format!("{api}/000000000000/unified-dlq.fifo");
    let dead = receive(&sqs, &dlq_url, 10, 0).await;
    assert_eq!(
        dead.len(),
        1,
        "on the dead-letter queue, readable through the API too"
    );
    assert_eq!(event(&dead[0])["event_type"], "order.created");

    let db = dir.path().join("consumer.db");
    let o2o = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_o2o"))
            .current_dir(root())
            .args(["queue", "--db", db.to_str().expect("utf-8")])
            .args(args)
            .output()
            .expect("o2o queue");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let shown = o2o(&["--queue", "unified-dlq"]);
    assert_eq!(shown.lines().count(), 1, "{shown}");
    assert!(shown.contains("\"order.created\""), "{shown}");
    let redriven: Value =
        serde_json::from_str(o2o(&["--queue", "unified-dlq", "--redrive"]).trim()).expect("json");
    assert_eq!(redriven["redriven"], 1);
    assert_eq!(redriven["to"], "unified");
    assert!(o2o(&["--queue", "unified-dlq"]).is_empty());
    let back = receive(&sqs, &url, 10, 30).await;
    assert_eq!(back.len(), 1);
    assert_eq!(
        system(
            &back[0],
            MessageSystemAttributeName::ApproximateReceiveCount
        ),
        "1",
        "a fresh count after the redrive"
    );
    assert_eq!(back[0].body(), dead[0].body());
    let _ = server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_sqs_errors_not_5xx() {
    let (server, api, _dir) = serve_with_api(None).await;
    let http = reqwest::Client::new();
    let post = |target: Option<&'static str>, body: &'static str| {
        let mut request = http
            .post(format!("{api}/"))
            .header("content-type", "application/x-amz-json-1.0")
            .body(body);
        if let Some(target) = target {
            request = request.header("x-amz-target", target);
        }
        request.send()
    };
    let cases = [
        (None, "Action=ReceiveMessage", "InvalidAction"),
        (
            Some("AmazonSQS.ReceiveMessage"),
            "not json",
            "SerializationException",
        ),
        (Some("AmazonSQS.ReceiveMessage"), "{}", "MissingParameter"),
        (
            Some("AmazonSQS.ReceiveMessage"),
            r#"{"QueueUrl":"http://x/000000000000/unified.fifo","MaxNumberOfMessages":11}"#,
            "InvalidParameterValue",
        ),
        (
            Some("AmazonSQS.SendMessage"),
            r#"{"QueueUrl":"http://x/000000000000/unified.fifo"}"#,
            "UnsupportedOperation",
        ),
        (
            Some("AmazonSQS.DeleteMessageBatch"),
            r#"{"QueueUrl":"http://x/000000000000/unified.fifo","Entries":[]}"#,
            "EmptyBatchRequest",
        ),
    ];
    for (target, body, code) in cases {
        let response = post(target, body).await.expect("post");
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let answer: Value =
            serde_json::from_str(&response.text().await.expect("body")).expect("json");
        assert_eq!(
            answer["__type"],
            format!("com.amazonaws.sqs#{code}"),
            "{body}: {answer}"
        );
    }
    let _ = server.stop().await;
}

/// The same message on moto's SQS FIFO queue and on `o2o serve`'s: the SDK sees the same
/// attributes, and the same MD5 digests of the body and of the message attributes (which SQS
/// computes as its developer guide describes, and which SDKs that check them recompute).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_match_sqs_for_the_same_message() {
    let (server, api, _dir) = serve_with_api(None).await;
    deliver(&server, "shopify", "orders-create.http").await;
    let local = client(&api).await;
    let local_url = format!("{api}/000000000000/o2o-local-unified.fifo");
    let ours = receive(&local, &local_url, 1, 30).await.remove(0);

    let moto = Client::new(&o2o_testkit::moto::sdk_config().await);
    let queue = moto_fifo_queue(&moto, "parity").await;
    let mut send = moto
        .send_message()
        .queue_url(&queue)
        .message_body(ours.body().expect("body"))
        .message_group_id(system(&ours, MessageSystemAttributeName::MessageGroupId))
        .message_deduplication_id(system(
            &ours,
            MessageSystemAttributeName::MessageDeduplicationId,
        ));
    for (name, value) in ours.message_attributes().expect("attributes") {
        send = send.message_attributes(
            name,
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value.string_value().expect("string"))
                .build()
                .expect("attribute"),
        );
    }
    send.send().await.expect("send to moto");
    let theirs = receive(&moto, &queue, 1, 30).await.remove(0);

    assert_eq!(ours.body(), theirs.body());
    assert_eq!(ours.md5_of_body(), theirs.md5_of_body());
    assert!(ours.md5_of_message_attributes().is_some());
    assert_eq!(
        ours.md5_of_message_attributes(),
        theirs.md5_of_message_attributes()
    );
    assert_eq!(ours.message_attributes(), theirs.message_attributes());
    let names = |m: &Message| {
        let mut names: Vec<String> = m
            .attributes()
            .expect("attributes")
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&ours), names(&theirs));
    for name in [
        MessageSystemAttributeName::MessageGroupId,
        MessageSystemAttributeName::MessageDeduplicationId,
        MessageSystemAttributeName::ApproximateReceiveCount,
    ] {
        assert_eq!(system(&ours, name.clone()), system(&theirs, name));
    }
    let _ = server.stop().await;
}

/// `examples/consumer.py`, as docs/consumer.md shows it, run with boto3 (from the test
/// virtualenv) against moto's SQS and then against `o2o serve`, changed only by environment
/// variables: it prints each event's type and body and deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_consumer_runs_unchanged_against_sqs_and_o2o_serve() {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the test virtualenv (scripts/test --setup-only) has boto3"
    );
    let run = |endpoint: &str, queue_url: &str| {
        let output = std::process::Command::new(&python)
            .arg(root().join("examples/consumer.py"))
            .env("AWS_ENDPOINT_URL_SQS", endpoint)
            .env("O2O_UNIFIED_QUEUE_URL", queue_url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("O2O_CONSUMER_EXIT_WHEN_EMPTY", "1")
            .output()
            .expect("python");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("utf-8")
    };

    let (server, api, _dir) = serve_with_api(None).await;
    deliver(&server, "shopify", "orders-create.http").await;
    deliver(&server, "woocommerce", "order-created.http").await;
    let local_url = format!("{api}/000000000000/o2o-local-unified.fifo");
    let local_out = run(&api, &local_url);

    // The same two events on moto's FIFO queue.
    let local = client(&api).await;
    let moto_config = o2o_testkit::moto::sdk_config().await;
    let moto = Client::new(&moto_config);
    let queue = moto_fifo_queue(&moto, "consumer").await;
    let mut expected = Vec::new();
    for line in local_out.lines() {
        let (kind, body) = line.split_once(' ').expect("`type body` lines");
        expected.push((kind.to_owned(), body.to_owned()));
        let event: Value = serde_json::from_str(body).expect("an event");
        moto.send_message()
            .queue_url(&queue)
            .message_body(body)
            .message_group_id(event["source"]["channel"].as_str().expect("channel"))
            .message_deduplication_id(event["event_id"].as_str().expect("id"))
            .message_attributes(
                "event_type",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(kind)
                    .build()
                    .expect("attribute"),
            )
            .send()
            .await
            .expect("send to moto");
    }
    assert_eq!(
        expected.len(),
        2,
        "both events consumed locally: {local_out}"
    );
    let kinds: Vec<&str> = expected.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["order.created", "order.created"]);
    let moto_out = run(&o2o_testkit::moto::endpoint(), &queue);
    assert_eq!(moto_out, local_out, "the same output from SQS");
    // Deleted on both.
    assert!(
        receive(&local, &local_url, 10, 30).await.is_empty(),
        "acknowledged locally"
    );
    assert!(
        receive(&moto, &queue, 10, 30).await.is_empty(),
        "acknowledged on SQS"
    );
    let _ = server.stop().await;
}
