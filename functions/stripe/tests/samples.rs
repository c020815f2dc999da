//! Every sample delivery in `events/stripe/` signed, verified, parsed and normalised, and the
//! result checked field by field.
//!
//! The expected values were read off the samples' JSON (amounts and times worked out by hand),
//! not copied from what the connector prints: where the two disagree, the connector is wrong.

use std::fs;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, EventDraft, NormaliseContext, NormaliseError, Normalised};
use o2o_core::event::{
    ChannelKind, Dispute, EventType, Payment, Refund, SchemaVersion, Source, UnifiedOrderEvent,
};
use o2o_core::money::{Currency, Money};
use o2o_core::pipeline::group_id;
use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_stripe::{SIGNATURE_HEADER, Settings, Stripe};
use serde_json::{Value, json};

/// The samples this file tests; `every_sample_has_a_test` fails when the directory holds another.
const COVERED: &[&str] = &[
    "charge-dispute-created.http",
    "charge-refunded-partial.http",
    "checkout-session-completed.http",
    "payment-intent-created.http",
    "payment-intent-payment-failed.http",
    "payment-intent-succeeded.http",
];

/// The development table proposed for `o2o.toml` (`[channels.stripe]`).
const DEV_SECRET: &str = "whsec_dev_stripe_endpoint_secret";

/// 2025-11-26T16:00:00Z: when the samples are signed and received.
const RECEIVED_AT: i64 = 1_764_172_800;

fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/stripe")
}

fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(RECEIVED_AT).expect("a valid time")
}

fn stripe_with(extra: Value) -> Stripe {
    let mut table = json!({ "secrets": [DEV_SECRET], "order_ref_metadata_key": "order_id" });
    if let (Some(table), Some(extra)) = (table.as_object_mut(), extra.as_object()) {
        table.extend(extra.clone());
    }
    let table = table.as_object().cloned().unwrap_or_default();
    let settings = parse_settings::<Settings>(&table, "channels.stripe").expect("settings");
    Stripe::build(settings).expect("builds")
}

fn stripe() -> Stripe {
    stripe_with(json!({}))
}

/// The sample `name`, signed with the development secret as Stripe would sign it.
fn signed(name: &str) -> WebhookRequest {
    let bytes = fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/stripe"),
        "{name}"
    );
    assert_eq!(
        sample.headers.get(SIGNATURE_HEADER),
        None,
        "{name} is unsigned"
    );
    let mut req = sample.into_request(received_at());
    stripe().sign(&mut req).expect("sign");
    req
}

/// The sample `name` with its body changed by `change`, signed again.
fn changed(name: &str, change: impl FnOnce(&mut Value)) -> WebhookRequest {
    let mut req = signed(name);
    let mut body: Value = serde_json::from_slice(&req.body).expect("JSON");
    change(&mut body);
    req.body = serde_json::to_vec_pretty(&body).expect("JSON");
    stripe().sign(&mut req).expect("sign");
    req
}

/// Verifies, parses and normalises `req` with `connector` as the pipeline does.
fn read_with(
    connector: &Stripe,
    req: &WebhookRequest,
) -> (DeliveryId, Result<Normalised<()>, NormaliseError>) {
    let verified = connector.verify(req).expect("the signed sample verifies");
    let parsed = connector.parse(&verified).expect("parses");
    let id = parsed.id.clone();
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    (id, connector.normalise(&parsed.id, parsed.message, &ctx))
}

/// One event expected.
fn one_event_with(connector: &Stripe, req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    match read_with(connector, req) {
        (id, Ok(Normalised::Events(mut events))) if events.len() == 1 => (id, events.remove(0)),
        (_, other) => panic!("expected one event, got {other:?}"),
    }
}

fn one_event(req: &WebhookRequest) -> (DeliveryId, EventDraft) {
    one_event_with(&stripe(), req)
}

fn time(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).expect("a time")
}

fn money(currency: &str, minor: i64) -> Option<Money> {
    Some(Money::from_minor(
        minor,
        Currency::from_code(currency).expect("a currency"),
    ))
}

fn id(tenant: &str, event: &str, topic: &str) -> DeliveryId {
    DeliveryId {
        tenant: tenant.into(),
        external_event_id: event.into(),
        topic: topic.into(),
    }
}

#[test]
fn every_sample_has_a_test() {
    let mut names: Vec<String> = fs::read_dir(sample_dir())
        .expect("events/stripe")
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
    assert!(COVERED.contains(&Stripe::info().default_sample));
}

#[test]
fn a_succeeded_payment_intent_is_payment_succeeded_for_its_metadata_order() {
    let (delivery, event) = one_event(&signed("payment-intent-succeeded.http"));
    assert_eq!(
        delivery,
        id(
            "_",
            "evt_3MtwBwLkdIwHu7ix2Zqk0Ta7",
            "payment_intent.succeeded"
        )
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentSucceeded,
            // 1680800510
            occurred_at: time("2023-04-06T17:01:50Z"),
            status: Some("succeeded".into()),
            order: None,
            payment: Some(Payment {
                provider: "stripe".into(),
                payment_id: Some("pi_3MtwBwLkdIwHu7ix28a3tqPa".into()),
                order_ref: Some("450789469".into()),
                // amount_received 2000 cents.
                amount: money("USD", 2000),
                status: Some("succeeded".into()),
                method: Some("card".into()),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn a_failed_payment_intent_is_payment_failed_with_its_decline() {
    let (delivery, event) = one_event(&signed("payment-intent-payment-failed.http"));
    assert_eq!(delivery.topic, "payment_intent.payment_failed");
    assert_eq!(delivery.external_event_id, "evt_3MtwXtLkdIwHu7ix1bNfq3Ej");
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentFailed,
            // 1680801958
            occurred_at: time("2023-04-06T17:25:58Z"),
            status: Some("requires_payment_method".into()),
            order: None,
            payment: Some(Payment {
                provider: "stripe".into(),
                payment_id: Some("pi_3MtwXtLkdIwHu7ix1ysvCMlQ".into()),
                order_ref: Some("450789470".into()),
                // `amount` 4500, nothing received.
                amount: money("EUR", 4500),
                status: Some("requires_payment_method".into()),
                // The failed payment method's type; the intent allowed card and link.
                method: Some("card".into()),
                failure_reason: Some(
                    "card_declined/insufficient_funds: Your card has insufficient funds.".into()
                ),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn a_partial_refund_is_the_increase_of_amount_refunded() {
    let (delivery, event) = one_event(&signed("charge-refunded-partial.http"));
    assert_eq!(
        delivery,
        id("_", "evt_3MtwBwLkdIwHu7ix2Rj9hq0S", "charge.refunded")
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentRefunded,
            // 1680887210
            occurred_at: time("2023-04-07T17:06:50Z"),
            status: Some("succeeded".into()),
            order: None,
            payment: Some(Payment {
                provider: "stripe".into(),
                // The charge's PaymentIntent: the payment the succeeded event named.
                payment_id: Some("pi_3MtwBwLkdIwHu7ix28a3tqPa".into()),
                order_ref: Some("450789469".into()),
                amount: money("USD", 2000),
                status: Some("succeeded".into()),
                method: Some("card".into()),
                ..Payment::default()
            }),
            // 1500 refunded in all, 500 before: this refund is 1000 (its id is not in the
            // event at API version 2024-06-20).
            refund: Some(Refund {
                amount: money("USD", 1000),
                ..Refund::default()
            }),
        }
    );
}

#[test]
fn a_refund_listed_on_the_charge_gives_its_id_and_reason() {
    // API versions before 2022-11-15 include the charge's refunds, newest first.
    let refunds = json!({
        "object": "list",
        "data": [
            {"id": "re_3MtwBwLkdIwHu7ix2cYLl5b1", "object": "refund", "amount": 1000, "created": 1680887209, "currency": "usd", "reason": "requested_by_customer", "status": "succeeded"},
            {"id": "re_3MtwBwLkdIwHu7ix2x0Jd8pK", "object": "refund", "amount": 500, "created": 1680850000, "currency": "usd", "reason": null, "status": "succeeded"}
        ],
        "has_more": false,
        "total_count": 2,
        "url": "/v1/charges/ch_3MtwBwLkdIwHu7ix2NlYpK1R/refunds"
    });
    let listed = refunds.clone();
    let req = changed("charge-refunded-partial.http", |body| {
        body["data"]["object"]["refunds"] = listed;
    });
    let (_, event) = one_event(&req);
    assert_eq!(
        event.refund,
        Some(Refund {
            external_id: Some("re_3MtwBwLkdIwHu7ix2cYLl5b1".into()),
            amount: money("USD", 1000),
            reason: Some("requested_by_customer".into()),
            items: Vec::new(),
        })
    );

    // Without previous_attributes, the newest listed refund is this one.
    let listed = refunds.clone();
    let req = changed("charge-refunded-partial.http", |body| {
        body["data"]["object"]["refunds"] = listed;
        body["data"]
            .as_object_mut()
            .map(|data| data.remove("previous_attributes"));
    });
    let (_, event) = one_event(&req);
    let refund = event.refund.expect("refund");
    assert_eq!(
        (refund.external_id.as_deref(), refund.amount),
        (Some("re_3MtwBwLkdIwHu7ix2cYLl5b1"), money("USD", 1000))
    );

    // When the newest listed refund is not this event's increase, no id is guessed.
    let mut other = refunds;
    other["data"][0]["amount"] = json!(999);
    let req = changed("charge-refunded-partial.http", |body| {
        body["data"]["object"]["refunds"] = other;
    });
    let (_, event) = one_event(&req);
    assert_eq!(
        event.refund,
        Some(Refund {
            amount: money("USD", 1000),
            ..Refund::default()
        })
    );
}

#[test]
fn a_refund_whose_amount_cannot_be_told_goes_to_the_quarantine() {
    let req = changed("charge-refunded-partial.http", |body| {
        body["data"]
            .as_object_mut()
            .map(|data| data.remove("previous_attributes"));
    });
    let (_, result) = read_with(&stripe(), &req);
    assert_eq!(
        result.expect_err("no refund amount").to_string(),
        "data.previous_attributes.amount_refunded: missing, and the charge lists no refund: this \
         refund's amount cannot be told from the cumulative amount_refunded"
    );
    let req = changed("charge-refunded-partial.http", |body| {
        body["data"]["previous_attributes"]["amount_refunded"] = json!(1500);
    });
    let (_, result) = read_with(&stripe(), &req);
    assert_eq!(
        result.expect_err("nothing refunded").to_string(),
        "data.object.amount_refunded: is not more than data.previous_attributes.amount_refunded"
    );
}

#[test]
fn a_dispute_of_a_connected_account_is_payment_disputed_under_that_account() {
    let (delivery, event) = one_event(&signed("charge-dispute-created.http"));
    assert_eq!(
        delivery,
        id(
            "acct_1032D82eZvKYlo2C",
            "evt_1MtJUU2eZvKYlo2CgmvL3Sb9",
            "charge.dispute.created"
        )
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentDisputed,
            // 1680651738
            occurred_at: time("2023-04-04T23:42:18Z"),
            status: Some("needs_response".into()),
            order: None,
            payment: Some(Payment {
                provider: "stripe".into(),
                payment_id: Some("pi_1MtJU42eZvKYlo2C0yOe5d3u".into()),
                // A dispute's metadata is its own: empty, so no order.
                order_ref: None,
                amount: None,
                status: Some("needs_response".into()),
                method: Some("card".into()),
                dispute: Some(Dispute {
                    external_id: Some("dp_1MtJUT2eZvKYlo2CNaw2HvEv".into()),
                    amount: money("EUR", 4999),
                    reason: Some("fraudulent".into()),
                    status: Some("needs_response".into()),
                    // 1682294399
                    evidence_due_by: Some(time("2023-04-23T23:59:59Z")),
                }),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn a_paid_checkout_session_in_yen_is_payment_succeeded_for_its_client_reference() {
    let (delivery, event) = one_event(&signed("checkout-session-completed.http"));
    assert_eq!(
        delivery,
        id(
            "_",
            "evt_1MtwZcLkdIwHu7ixD8XhM2qF",
            "checkout.session.completed"
        )
    );
    assert_eq!(
        event,
        EventDraft {
            event_type: EventType::PaymentSucceeded,
            // 1680802140
            occurred_at: time("2023-04-06T17:29:00Z"),
            status: Some("paid".into()),
            order: None,
            payment: Some(Payment {
                provider: "stripe".into(),
                payment_id: Some("pi_3MtwZZLkdIwHu7ix0mSL0k3W".into()),
                order_ref: Some("450789471".into()),
                // JPY is zero-decimal at Stripe and in ISO 4217: 3200 yen.
                amount: money("JPY", 3200),
                status: Some("paid".into()),
                method: Some("card".into()),
                ..Payment::default()
            }),
            refund: None,
        }
    );
}

#[test]
fn an_unpaid_checkout_session_and_an_unmapped_event_are_ignored() {
    let unpaid = changed("checkout-session-completed.http", |body| {
        body["data"]["object"]["payment_status"] = json!("unpaid");
    });
    assert_eq!(
        read_with(&stripe(), &unpaid).1,
        Ok(Normalised::Ignored(
            "checkout session payment_status unpaid is not paid".into()
        ))
    );
    let (delivery, result) = read_with(&stripe(), &signed("payment-intent-created.http"));
    assert_eq!(
        delivery,
        id(
            "_",
            "evt_3MtwBwLkdIwHu7ix2gN4D9wL",
            "payment_intent.created"
        )
    );
    assert_eq!(
        result,
        Ok(Normalised::Ignored(
            "event payment_intent.created is not mapped".into()
        ))
    );
}

#[test]
fn special_case_currencies_convert_exactly_or_go_to_the_quarantine() {
    let in_currency = |currency: &str, amount: i64| {
        changed("checkout-session-completed.http", |body| {
            body["data"]["object"]["currency"] = json!(currency);
            body["data"]["object"]["amount_total"] = json!(amount);
        })
    };
    let amount = |req: &WebhookRequest| one_event(req).1.payment.and_then(|p| p.amount);
    // ISK is two-decimal at Stripe: 50000 is 500 krónur.
    assert_eq!(amount(&in_currency("isk", 50_000)), money("ISK", 500));
    // KWD is three-decimal in both: 5120 fils.
    assert_eq!(amount(&in_currency("kwd", 5_120)), money("KWD", 5_120));
    // MGA is zero-decimal at Stripe, two-decimal in ISO 4217.
    assert_eq!(amount(&in_currency("mga", 20_000)), money("MGA", 2_000_000));
    let (_, fractional) = read_with(&stripe(), &in_currency("isk", 4_010));
    assert_eq!(
        fractional.expect_err("40.10 ISK").to_string(),
        "data.object.amount_total: not a whole number of ISK minor units (Stripe writes it with \
         2 decimals, ISO 4217 with 0)"
    );
    let req = changed("checkout-session-completed.http", |body| {
        body["data"]["object"]["amount_total"] = json!(32.5);
    });
    assert!(
        read_with(&stripe(), &req).1.is_err(),
        "a fraction is refused"
    );
}

#[test]
fn a_thin_event_notification_is_ignored() {
    let req = changed("payment-intent-created.http", |body| {
        *body = json!({
            "id": "evt_test_65R9Ijk8KqvQOBsGMrE16Rr1hS5CNHNBbBWxq4lEmWqC8M",
            "object": "v2.core.event",
            "type": "v1.payment_intent.created",
            "created": "2025-10-04T15:13:32.232083866Z",
            "related_object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "type": "payment_intent", "url": "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa"}
        });
    });
    let (delivery, result) = read_with(&stripe(), &req);
    assert_eq!(delivery.topic, "v1.payment_intent.created");
    assert!(matches!(result, Ok(Normalised::Ignored(_))), "{result:?}");
}

/// The unified event the pipeline would publish for `draft` (as in `pipeline/route.rs`).
fn unified(id: &DeliveryId, draft: EventDraft) -> UnifiedOrderEvent {
    UnifiedOrderEvent {
        schema_version: SchemaVersion::V1,
        event_id: "00000000-0000-5000-8000-000000000000".into(),
        event_type: draft.event_type,
        occurred_at: draft.occurred_at,
        received_at: received_at(),
        source: Source {
            channel: "stripe".into(),
            channel_kind: ChannelKind::Payment,
            tenant: id.tenant.clone(),
            external_event_id: id.external_event_id.clone(),
            topic: id.topic.clone(),
            status: draft.status,
        },
        order: draft.order,
        payment: draft.payment,
        refund: draft.refund,
        command: None,
    }
}

#[test]
fn a_payment_and_its_later_refund_share_their_orders_message_group() {
    let group = |connector: &Stripe, sample: &str| {
        let (id, draft) = one_event_with(connector, &signed(sample));
        group_id(&unified(&id, draft))
    };
    let linked = stripe_with(json!({
        "orders_channel": "shopify",
        "orders_tenant": "o2o-demo.myshopify.com",
    }));
    let (_, paid) = one_event_with(&linked, &signed("payment-intent-succeeded.http"));
    let payment = paid.payment.expect("payment");
    assert_eq!(payment.order_channel.as_deref(), Some("shopify"));
    assert_eq!(
        payment.order_tenant.as_deref(),
        Some("o2o-demo.myshopify.com")
    );
    for sample in [
        "payment-intent-succeeded.http",
        "charge-refunded-partial.http",
    ] {
        assert_eq!(
            group(&linked, sample),
            "shopify:o2o-demo.myshopify.com:450789469",
            "{sample}"
        );
    }
    // Without orders_tenant, the order channel's tenant is the payment's own.
    let channel_only = stripe_with(json!({ "orders_channel": "shopify" }));
    for sample in [
        "payment-intent-succeeded.http",
        "charge-refunded-partial.http",
    ] {
        assert_eq!(
            group(&channel_only, sample),
            "shopify:_:450789469",
            "{sample}"
        );
    }
    // Unlinked: the payment channel's own group, still shared.
    for sample in [
        "payment-intent-succeeded.http",
        "charge-refunded-partial.http",
    ] {
        assert_eq!(group(&stripe(), sample), "stripe:_:450789469", "{sample}");
    }
    // A payment without an order names no order channel.
    let (_, disputed) = one_event_with(&linked, &signed("charge-dispute-created.http"));
    assert_eq!(disputed.payment.expect("payment").order_channel, None);
}

#[test]
fn another_metadata_key_names_the_order() {
    let connector = stripe_with(json!({ "order_ref_metadata_key": "shop_order" }));
    let req = changed("payment-intent-succeeded.http", |body| {
        body["data"]["object"]["metadata"] = json!({ "order_id": "no", "shop_order": "#1042" });
    });
    let (_, event) = one_event_with(&connector, &req);
    assert_eq!(
        event.payment.and_then(|p| p.order_ref).as_deref(),
        Some("#1042")
    );
}
