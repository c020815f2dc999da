//! Every sample delivery in `events/uber-eats/` signed, verified, parsed and normalised, and the
//! result checked against the sample's own JSON.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, NormaliseError, Normalised};
use o2o_core::event::{EventType, FulfilmentType, OrderStatus};
use o2o_core::sample::parse_sample;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_uber_eats::{Thin, UberEats};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "delivery-state-changed.http",
    "orders-cancel.http",
    "orders-notification.http",
    "orders-release.http",
    "orders-scheduled-notification.http",
    "store-menu-refresh-request.http",
];

const ORDER: &str = "153dd7f1-339d-4619-940c-418943c14636";
const STORE: &str = "89dd9741-66b5-4bb4-b216-a813f3b21b4f";

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/uber-eats")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_764_172_800).expect("a time")
}

fn uber() -> UberEats {
    o2o_testkit::samples::dev_connector()
}

fn read(name: &str) -> (DeliveryId, Result<Normalised<Thin>, NormaliseError>) {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/uber-eats"),
        "{name}"
    );
    let mut req: WebhookRequest = sample.into_request(received_at());
    let uber = uber();
    uber.sign(&mut req).expect("sign");
    uber.verify(&req).expect("the signed sample verifies");
    o2o_testkit::samples::read(&uber, &req).expect("parses")
}

fn seconds(unix: i64) -> Timestamp {
    Timestamp::from_unix_seconds(unix).expect("a time")
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/uber-eats")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, COVERED);
}

#[test]
fn a_new_order_is_thin_and_keyed_by_its_event_id() {
    let (id, normalised) = read("orders-notification.http");
    assert_eq!(
        (
            id.tenant.as_str(),
            id.topic.as_str(),
            id.external_event_id.as_str()
        ),
        (
            STORE,
            "orders.notification",
            "c4d2261e-2779-4eb6-beb0-cb41235c751e"
        )
    );
    assert_eq!(
        normalised,
        Ok(Normalised::Enrich(Thin {
            event_type: "orders.notification".into(),
            order_id: ORDER.into(),
            occurred_at: seconds(1_427_343_990),
            resource_href: Some(format!("https://api.uber.com/v2/eats/order/{ORDER}")),
        }))
    );
}

#[test]
fn a_cancellation_is_order_cancelled_at_its_event_time() {
    let (id, normalised) = read("orders-cancel.http");
    assert_eq!(id.topic, "orders.cancel");
    let Ok(Normalised::Events(events)) = normalised else {
        panic!("{normalised:?}");
    };
    assert_eq!(events[0].event_type, EventType::OrderCancelled);
    assert_eq!(events[0].occurred_at, seconds(1_427_345_400));
    let order = events[0].order.clone().expect("order");
    assert_eq!(
        (order.external_id.as_str(), order.status),
        (ORDER, Some(OrderStatus::Cancelled))
    );
}

#[test]
fn a_release_and_a_delivery_state_are_fulfilment_updated() {
    let (_, normalised) = read("orders-release.http");
    let Ok(Normalised::Events(events)) = normalised else {
        panic!("{normalised:?}");
    };
    assert_eq!(events[0].event_type, EventType::FulfilmentUpdated);
    assert_eq!(events[0].status.as_deref(), Some("orders.release"));

    let (id, normalised) = read("delivery-state-changed.http");
    assert_eq!(
        id.tenant, "c7f1dc2f-fabe-4997-845c-cad26fdcb894",
        "meta.store_id"
    );
    let Ok(Normalised::Events(events)) = normalised else {
        panic!("{normalised:?}");
    };
    let event = &events[0];
    assert_eq!(event.event_type, EventType::FulfilmentUpdated);
    // 1729652295000 ms.
    assert_eq!(event.occurred_at, seconds(1_729_652_295));
    let order = event.order.clone().expect("order");
    assert_eq!(order.external_id, "f9f363d1-e1c2-4595-b477-c649845bc953");
    assert_eq!(order.status, Some(OrderStatus::OutForDelivery));
    let fulfilment = order.fulfilment.expect("fulfilment");
    assert_eq!(fulfilment.kind, Some(FulfilmentType::Delivery));
    assert_eq!(fulfilment.status.as_deref(), Some("EN_ROUTE_TO_DROPOFF"));
}

#[test]
fn a_store_webhook_is_ignored_and_keyed_by_its_message_uuid() {
    let (id, normalised) = read("store-menu-refresh-request.http");
    assert_eq!(id.tenant, "66f60075-a9c8-4ef7-9f4a-c7867f448905");
    assert_eq!(id.external_event_id, "b2340f4c-6dd7-4d65-a9bc-016631a2a13a");
    assert_eq!(
        normalised,
        Ok(Normalised::Ignored(
            "event store.menu_refresh_request is not mapped".into()
        ))
    );
}

#[test]
fn an_order_id_that_is_no_path_segment_is_a_field_error() {
    let uber = uber();
    let mut req = WebhookRequest {
        body: br#"{"event_type":"orders.notification","event_id":"e","meta":{"resource_id":"../../v1/eats/stores","user_id":"s"}}"#.to_vec(),
        ..parse_sample(&fs::read(sample_dir().join("orders-notification.http")).expect("sample"))
            .expect("sample")
            .into_request(received_at())
    };
    uber.sign(&mut req).expect("sign");
    let (_, normalised) = o2o_testkit::samples::read(&uber, &req).expect("parses");
    assert_eq!(
        normalised.map(|_| ()).map_err(|e| e.to_string()),
        Err("meta.resource_id: not an order id".to_owned())
    );
}
