//! The Shopify topics the connector maps (`X-Shopify-Topic`), and what each becomes; read by
//! [`crate::body`] (what a topic's body must hold) and [`crate::normalise`].

use o2o_core::event::EventType;

/// The topics we map (`X-Shopify-Topic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// `orders/create` → `order.created`.
    OrdersCreate,
    /// `orders/updated` → `order.updated`.
    OrdersUpdated,
    /// `orders/paid` → `payment.succeeded`.
    OrdersPaid,
    /// `orders/cancelled` → `order.cancelled`.
    OrdersCancelled,
    /// `orders/fulfilled` → `fulfilment.updated`.
    OrdersFulfilled,
    /// `orders/partially_fulfilled` → `fulfilment.updated`.
    OrdersPartiallyFulfilled,
    /// `orders/edited` (the body is the edit) → `order.updated`.
    OrdersEdited,
    /// `refunds/create` (the body is the refund) → `order.refunded`.
    RefundsCreate,
}

impl Topic {
    /// Every mapped topic.
    pub const ALL: [Topic; 8] = [
        Topic::OrdersCreate,
        Topic::OrdersUpdated,
        Topic::OrdersPaid,
        Topic::OrdersCancelled,
        Topic::OrdersFulfilled,
        Topic::OrdersPartiallyFulfilled,
        Topic::OrdersEdited,
        Topic::RefundsCreate,
    ];

    /// The mapped topic named `text`; `None` for the topics we ignore.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Its name in `X-Shopify-Topic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::OrdersCreate => "orders/create",
            Topic::OrdersUpdated => "orders/updated",
            Topic::OrdersPaid => "orders/paid",
            Topic::OrdersCancelled => "orders/cancelled",
            Topic::OrdersFulfilled => "orders/fulfilled",
            Topic::OrdersPartiallyFulfilled => "orders/partially_fulfilled",
            Topic::OrdersEdited => "orders/edited",
            Topic::RefundsCreate => "refunds/create",
        }
    }

    /// The unified event it becomes.
    pub fn event_type(self) -> EventType {
        match self {
            Topic::OrdersCreate => EventType::OrderCreated,
            Topic::OrdersUpdated | Topic::OrdersEdited => EventType::OrderUpdated,
            Topic::OrdersPaid => EventType::PaymentSucceeded,
            Topic::OrdersCancelled => EventType::OrderCancelled,
            Topic::OrdersFulfilled | Topic::OrdersPartiallyFulfilled => {
                EventType::FulfilmentUpdated
            }
            Topic::RefundsCreate => EventType::OrderRefunded,
        }
    }
}
