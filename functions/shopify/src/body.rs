//! The body of a delivery, read once for the topic its header names, and the check that the two
//! agree.
//!
//! `X-Shopify-Hmac-Sha256` covers the body and nothing else: `X-Shopify-Topic`, which decides
//! what the delivery means, is not signed. A captured body re-posted with its signature under
//! another topic would verify, so the body must be what the topic says (Shopify builds each
//! topic's body from one REST resource, in one state):
//!
//! | topic | the signed body must be |
//! |---|---|
//! | `orders/create`, `orders/updated` | an order: `line_items`, no `order_id` |
//! | `orders/paid` | an order with `financial_status` `paid` or `partially_paid` |
//! | `orders/cancelled` | an order with a non-null `cancelled_at` |
//! | `orders/fulfilled` | an order with `fulfillment_status` `fulfilled` |
//! | `orders/partially_fulfilled` | an order with `fulfillment_status` `partial` |
//! | `orders/edited` | an order edit: `{"order_edit": {"order_id": …}}` |
//! | `refunds/create` | a refund: `order_id`, `refund_line_items` and `transactions` |
//!
//! A body that disagrees is refused by `verify` (401 `topic_mismatch`), like a bad signature:
//! the delivery as presented is not what Shopify signed, and nothing unauthenticated is stored
//! or queued. A body that cannot be read at all (not JSON, a field of the wrong type) is still
//! authenticated content: it goes to the quarantine, as before. What the check cannot see is in
//! docs/platforms/shopify.md ("What the signature covers").

use o2o_core::connector::NormaliseError;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::TOPIC_HEADER;
use crate::payload;
use crate::topic::Topic;

/// A delivery's body as its topic names it.
#[derive(Debug, Clone)]
pub enum Body {
    /// An order (`orders/*` but `orders/edited`), checked against the topic's state.
    Order(Box<payload::Order>),
    /// A refund (`refunds/create`).
    Refund(Box<payload::Refund>),
    /// An order edit (`orders/edited`).
    Edit(payload::OrderEdit),
    /// A topic we do not map: the body is not read.
    Unmapped,
    /// Authenticated but unreadable as the resource its topic names; `normalise` answers this
    /// error and the delivery is quarantined.
    Unreadable(NormaliseError),
}

/// Why a body does not match its topic; names fields, never values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    /// The topic the header named.
    pub topic: Topic,
    /// What the body shows instead.
    pub reason: &'static str,
}

impl Mismatch {
    /// `orders/cancelled does not match the signed body: cancelled_at is null`.
    pub fn problem(&self) -> String {
        format!(
            "{} does not match the signed body: {}",
            self.topic.as_str(),
            self.reason
        )
    }

    /// The same, naming the header (the 401's message).
    pub fn message(&self) -> String {
        format!("{TOPIC_HEADER} {}", self.problem())
    }
}

/// Reads `bytes` as the resource `topic` names and checks that it shows what the topic says.
pub fn read(topic: Option<Topic>, bytes: &[u8]) -> Result<Body, Mismatch> {
    let Some(topic) = topic else {
        return Ok(Body::Unmapped);
    };
    let mismatch = |reason| Err(Mismatch { topic, reason });
    match topic {
        Topic::OrdersEdited => match serde_json::from_slice::<payload::OrderEditEnvelope>(bytes) {
            Ok(envelope) => Ok(Body::Edit(envelope.order_edit)),
            Err(error) => unreadable(topic, bytes, error),
        },
        Topic::RefundsCreate => match serde_json::from_slice::<payload::Refund>(bytes) {
            Ok(refund) if refund.refund_line_items.is_none() || refund.transactions.is_none() => {
                mismatch("it has no refund_line_items or no transactions, so it is not a refund")
            }
            Ok(refund) => Ok(Body::Refund(Box::new(refund))),
            Err(error) => unreadable(topic, bytes, error),
        },
        Topic::OrdersCreate
        | Topic::OrdersUpdated
        | Topic::OrdersPaid
        | Topic::OrdersCancelled
        | Topic::OrdersFulfilled
        | Topic::OrdersPartiallyFulfilled => {
            match serde_json::from_slice::<payload::Order>(bytes) {
                Ok(order) => match order_state(topic, &order) {
                    Ok(()) => Ok(Body::Order(Box::new(order))),
                    Err(reason) => mismatch(reason),
                },
                Err(error) => unreadable(topic, bytes, error),
            }
        }
    }
}

/// Whether an order is one, in the state `topic` says.
fn order_state(topic: Topic, order: &payload::Order) -> Result<(), &'static str> {
    if order.order_id.is_some() {
        return Err("it has an order_id, so it is not an order");
    }
    if order.line_items.is_none() {
        return Err("it has no line_items, so it is not an order");
    }
    let financial = order.financial_status.as_deref();
    let fulfillment = order.fulfillment_status.as_deref();
    match topic {
        Topic::OrdersPaid if !matches!(financial, Some("paid" | "partially_paid")) => {
            Err("financial_status is not paid or partially_paid")
        }
        Topic::OrdersCancelled if order.cancelled_at.is_none() => Err("cancelled_at is null"),
        Topic::OrdersFulfilled if fulfillment != Some("fulfilled") => {
            Err("fulfillment_status is not fulfilled")
        }
        Topic::OrdersPartiallyFulfilled if fulfillment != Some("partial") => {
            Err("fulfillment_status is not partial")
        }
        _ => Ok(()),
    }
}

/// What a body is, by the fields that tell Shopify's resources apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Order,
    Refund,
    Edit,
}

impl Resource {
    /// The resource `topic`'s body is.
    fn of(topic: Topic) -> Self {
        match topic {
            Topic::OrdersEdited => Resource::Edit,
            Topic::RefundsCreate => Resource::Refund,
            _ => Resource::Order,
        }
    }

    /// What a body that failed its typed read is, when its top-level fields say so.
    fn sniff(bytes: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Shape {
            line_items: Option<IgnoredAny>,
            order_id: Option<IgnoredAny>,
            refund_line_items: Option<IgnoredAny>,
            order_edit: Option<IgnoredAny>,
        }
        let shape: Shape = serde_json::from_slice(bytes).ok()?;
        if shape.order_edit.is_some() {
            Some(Resource::Edit)
        } else if shape.refund_line_items.is_some() {
            Some(Resource::Refund)
        } else if shape.line_items.is_some() && shape.order_id.is_none() {
            Some(Resource::Order)
        } else {
            None
        }
    }
}

/// A body that failed its typed read: plainly another resource is a mismatch; anything else is
/// authenticated content we cannot read, for the quarantine.
fn unreadable(topic: Topic, bytes: &[u8], error: serde_json::Error) -> Result<Body, Mismatch> {
    let reason = match Resource::sniff(bytes) {
        Some(other) if other != Resource::of(topic) => match other {
            Resource::Order => "it is an order",
            Resource::Refund => "it is a refund",
            Resource::Edit => "it is an order edit",
        },
        _ => return Ok(Body::Unreadable(NormaliseError::from(error))),
    };
    Err(Mismatch { topic, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"{"id":1,"currency":"USD","financial_status":"pending","fulfillment_status":null,"cancelled_at":null,"line_items":[]}"#;
    const REFUND: &str =
        r#"{"id":2,"order_id":1,"refund_line_items":[],"transactions":[],"note":null}"#;
    const EDIT: &str = r#"{"order_edit":{"id":3,"order_id":1,"created_at":null}}"#;

    fn reason(topic: Topic, body: &str) -> Option<&'static str> {
        read(Some(topic), body.as_bytes()).err().map(|m| m.reason)
    }

    /// Every mapped topic refuses the bodies of the others it could be confused with.
    #[test]
    fn each_topic_takes_only_its_own_resource_in_its_own_state() {
        let order = |field: &str, value: &str| {
            let key = format!("\"{field}\":");
            let start = ORDER.find(&key).expect("field") + key.len();
            let end = start + ORDER[start..].find([',', '}']).expect("end");
            format!("{}{value}{}", &ORDER[..start], &ORDER[end..])
        };
        let paid = order("financial_status", r#""paid""#);
        let partially_paid = order("financial_status", r#""partially_paid""#);
        let cancelled = order("cancelled_at", r#""2025-11-15T21:40:51-05:00""#);
        let fulfilled = order("fulfillment_status", r#""fulfilled""#);
        let partial = order("fulfillment_status", r#""partial""#);
        for topic in Topic::ALL {
            let orders = [
                ORDER,
                paid.as_str(),
                partially_paid.as_str(),
                cancelled.as_str(),
                fulfilled.as_str(),
                partial.as_str(),
            ];
            let takes: Vec<&str> = match topic {
                Topic::OrdersCreate | Topic::OrdersUpdated => orders.to_vec(),
                Topic::OrdersPaid => vec![paid.as_str(), partially_paid.as_str()],
                Topic::OrdersCancelled => vec![cancelled.as_str()],
                Topic::OrdersFulfilled => vec![fulfilled.as_str()],
                Topic::OrdersPartiallyFulfilled => vec![partial.as_str()],
                Topic::OrdersEdited => vec![EDIT],
                Topic::RefundsCreate => vec![REFUND],
            };
            for body in orders
                .into_iter()
                .chain([REFUND, EDIT, partially_paid.as_str()])
            {
                let expected = takes.contains(&body);
                assert_eq!(
                    reason(topic, body).is_none(),
                    expected,
                    "{} with {body}: {:?}",
                    topic.as_str(),
                    reason(topic, body)
                );
            }
        }
        assert_eq!(
            reason(Topic::OrdersCancelled, ORDER),
            Some("cancelled_at is null")
        );
        assert_eq!(
            reason(Topic::OrdersPaid, ORDER),
            Some("financial_status is not paid or partially_paid")
        );
        assert_eq!(
            reason(Topic::RefundsCreate, ORDER),
            Some("it is an order"),
            "an order fails the refund read, then is recognised"
        );
        assert_eq!(
            reason(Topic::OrdersCreate, REFUND),
            Some("it has an order_id, so it is not an order")
        );
        assert_eq!(
            reason(Topic::OrdersUpdated, EDIT),
            Some("it is an order edit")
        );
        assert_eq!(reason(Topic::OrdersEdited, REFUND), Some("it is a refund"));
    }

    /// Other bodies under refunds/create (a transaction: id and order_id, no refund lines).
    #[test]
    fn a_transaction_is_not_a_refund() {
        let transaction = r#"{"id":5,"order_id":1,"kind":"refund","amount":"1.00"}"#;
        assert_eq!(
            reason(Topic::RefundsCreate, transaction),
            Some("it has no refund_line_items or no transactions, so it is not a refund")
        );
        // A customer is not an order either.
        assert_eq!(
            reason(Topic::OrdersCreate, r#"{"id":7,"email":"a@example.com"}"#),
            Some("it has no line_items, so it is not an order")
        );
    }

    /// Content that cannot be read is not a mismatch: it is quarantined with its error.
    #[test]
    fn unreadable_bodies_go_to_the_quarantine_not_to_a_refusal() {
        for body in [
            "not json",
            r#"{"id":1,"currency":"USD","line_items":[{"quantity":"two","price":"1.00"}]}"#,
            r#"{"order_edit":{"id":3}}"#,
        ] {
            let topic = if body.contains("order_edit") {
                Topic::OrdersEdited
            } else {
                Topic::OrdersCreate
            };
            match read(Some(topic), body.as_bytes()) {
                Ok(Body::Unreadable(error)) => {
                    assert!(error.to_string().starts_with("payload: "), "{error}");
                }
                other => panic!("{body}: expected Unreadable, got {other:?}"),
            }
        }
        // Unmapped topics are not read at all.
        assert!(matches!(read(None, b"not json"), Ok(Body::Unmapped)));
    }

    #[test]
    fn the_reason_names_the_header_and_topic_never_a_value() {
        let mismatch = read(Some(Topic::OrdersCancelled), ORDER.as_bytes()).expect_err("refused");
        assert_eq!(
            mismatch.message(),
            "X-Shopify-Topic orders/cancelled does not match the signed body: cancelled_at is null"
        );
    }
}
