//! The moto helpers against the shared moto server (`O2O_TEST_AWS_ENDPOINT`, see scripts/test).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use o2o_testkit::moto::{self, AwsResources};

#[tokio::test]
async fn resources_are_created_as_the_functions_expect() {
    let config = moto::sdk_config().await;
    let resources = AwsResources::create(&config, "testkit").await;
    let other = AwsResources::create(&config, "testkit").await;
    assert_ne!(resources.table, other.table);
    assert!(resources.unified_queue_url.ends_with("-unified.fifo"));

    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let ttl = dynamo
        .describe_time_to_live()
        .table_name(&resources.table)
        .send()
        .await
        .expect("describe TTL");
    let ttl = ttl.time_to_live_description().expect("TTL description");
    assert_eq!(ttl.attribute_name(), Some("expiration"));

    let sqs = aws_sdk_sqs::Client::new(&config);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&resources.unified_queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("queue attributes");
    let attributes = attributes.attributes().expect("attributes");
    assert_eq!(
        attributes
            .get(&QueueAttributeName::FifoQueue)
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        attributes
            .get(&QueueAttributeName::ContentBasedDeduplication)
            .map(String::as_str),
        Some("false")
    );

    let env = resources.env();
    assert_eq!(env.len(), 5);
    assert!(env.contains(&(
        "O2O_COMMANDS_QUEUE_URL",
        resources.commands_queue_url.clone()
    )));
    assert!(env.contains(&("O2O_IDEMPOTENCY_TABLE", resources.table.clone())));
    assert!(env.contains(&("O2O_UNIFIED_QUEUE_URL", resources.unified_queue_url.clone())));
}

#[tokio::test]
async fn fifo_deduplication_and_receive_all() {
    let config = moto::sdk_config().await;
    let resources = AwsResources::create(&config, "testkit-fifo").await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = &resources.unified_queue_url;
    for body in ["first", "second (a duplicate: same deduplication id)"] {
        sqs.send_message()
            .queue_url(url)
            .message_body(body)
            .message_group_id("shop-1")
            .message_deduplication_id("event-1")
            .message_attributes(
                "event_type",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("order.created")
                    .build()
                    .expect("attribute"),
            )
            .send()
            .await
            .expect("send");
    }
    assert_eq!(moto::queue_depth(&config, url).await, 1);
    let received = moto::receive_all(&config, url).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(message.body, "first");
    assert_eq!(message.group_id.as_deref(), Some("shop-1"));
    assert_eq!(message.dedup_id.as_deref(), Some("event-1"));
    assert_eq!(
        message.attributes.get("event_type").map(String::as_str),
        Some("order.created")
    );
    assert!(!message.message_id.is_empty());
    // Not deleted: still counted, now in flight.
    assert_eq!(moto::queue_depth(&config, url).await, 1);
    assert!(moto::receive_all(&config, url).await.is_empty());
}

#[tokio::test]
async fn drain_reads_long_fifo_groups_that_receive_all_cannot() {
    let config = moto::sdk_config().await;
    let resources = AwsResources::create(&config, "testkit-drain").await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let url = resources.unified_queue_url.clone();
    for i in 0..12 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .message_group_id("g")
            .message_deduplication_id(format!("d{i}"))
            .send()
            .await
            .expect("send");
    }
    let blocked = {
        let (config, url) = (config.clone(), url.clone());
        tokio::spawn(async move { moto::receive_all(&config, &url).await }).await
    };
    assert!(
        blocked.is_err(),
        "receive_all must refuse a blocked FIFO group"
    );

    // The 10 receive_all took are in flight for 60 s; a fresh queue shows drain reading all 12.
    let resources = AwsResources::create(&config, "testkit-drain").await;
    let url = resources.unified_queue_url;
    for i in 0..12 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .message_group_id("g")
            .message_deduplication_id(format!("d{i}"))
            .send()
            .await
            .expect("send");
    }
    let bodies: Vec<String> = moto::drain(&config, &url)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    let expected: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(moto::queue_depth(&config, &url).await, 0);
}

#[tokio::test]
async fn secrets_are_created() {
    let config = moto::sdk_config().await;
    let name = o2o_testkit::unique_name("testkit-secret");
    let arn = moto::create_secret(&config, &name, r#"{"secrets":["s1"]}"#).await;
    assert!(
        arn.starts_with("arn:aws:secretsmanager:us-east-1:"),
        "{arn}"
    );
    let value = aws_sdk_secretsmanager::Client::new(&config)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .expect("get secret");
    assert_eq!(value.secret_string(), Some(r#"{"secrets":["s1"]}"#));
}

/// What the idempotency store relies on (AWS Powertools semantics): a failed conditional put
/// returns the existing item when asked to (`ReturnValuesOnConditionCheckFailure=ALL_OLD`).
#[tokio::test]
async fn moto_returns_the_old_item_on_a_failed_conditional_put() {
    let config = moto::sdk_config().await;
    let resources = AwsResources::create(&config, "testkit-ccf").await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let put = |status: &'static str| {
        dynamo
            .put_item()
            .table_name(&resources.table)
            .item("id", AttributeValue::S("key-1".into()))
            .item("status", AttributeValue::S(status.into()))
            .condition_expression("attribute_not_exists(id)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
    };
    put("COMPLETED").await.expect("first put");
    let error = put("INPROGRESS").await.expect_err("second put must fail");
    let service = error.into_service_error();
    assert!(
        service.is_conditional_check_failed_exception(),
        "{service:?}"
    );
    let aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(ccf) =
        service
    else {
        unreachable!()
    };
    let item = ccf.item().expect("moto returns the old item");
    assert_eq!(
        item.get("status"),
        Some(&AttributeValue::S("COMPLETED".into()))
    );
}
