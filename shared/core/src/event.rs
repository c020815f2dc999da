//! `UnifiedOrderEvent` v1: the one message shape the order system consumes.
//!
//! The JSON Schema in `docs/unified-order-event.v1.schema.json` is generated from these types
//! ([`json_schema`]); a test fails when the two drift. Within v1 the schema only grows additively.
//! Optional data the platform did not send is omitted, never invented.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::command::CommandResult;
use crate::money::{Currency, Money};
use crate::timestamp::Timestamp;

/// One normalised order or payment event, exactly one per unified-queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "UnifiedOrderEvent",
    description = "o2o-connectors unified order event, schema version 1"
)]
pub struct UnifiedOrderEvent {
    /// Always `"1"` for this version of the contract.
    pub schema_version: SchemaVersion,
    /// UUIDv5 of the idempotency key and the event's index: a redelivery yields the same id.
    pub event_id: String,
    /// What happened.
    pub event_type: EventType,
    /// When it happened, by the platform's clock.
    pub occurred_at: Timestamp,
    /// When o2o-connectors received the delivery.
    pub received_at: Timestamp,
    /// Where the event came from.
    pub source: Source,
    /// The order, for order and fulfilment events (and payment events that carry one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    /// The payment, for payment events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// The refund, for `order.refunded` and `payment.refunded` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
    /// The result of an `OrderCommand`, for `command.succeeded` and `command.failed` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandResult>,
}

/// The contract version; only `"1"` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SchemaVersion {
    /// Version 1.
    #[serde(rename = "1")]
    V1,
}

/// The kinds of event on the unified queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum EventType {
    /// A new order was placed.
    #[serde(rename = "order.created")]
    OrderCreated,
    /// An existing order changed.
    #[serde(rename = "order.updated")]
    OrderUpdated,
    /// The order was cancelled.
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    /// The order was completed (delivered, picked up or fully fulfilled).
    #[serde(rename = "order.completed")]
    OrderCompleted,
    /// Money was refunded on the order (fully or partly).
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    /// The order's fulfilment (shipping, delivery) changed.
    #[serde(rename = "fulfilment.updated")]
    FulfilmentUpdated,
    /// A payment succeeded.
    #[serde(rename = "payment.succeeded")]
    PaymentSucceeded,
    /// A payment failed.
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    /// A payment was refunded, fully or partly (the `refund` says how much).
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
    /// The buyer disputed a payment with their bank (a chargeback or its inquiry).
    #[serde(rename = "payment.disputed")]
    PaymentDisputed,
    /// The platform did what an `OrderCommand` asked (`command` says which).
    #[serde(rename = "command.succeeded")]
    CommandSucceeded,
    /// An `OrderCommand` failed (`command.error` says why and whether to retry).
    #[serde(rename = "command.failed")]
    CommandFailed,
}

impl EventType {
    /// The wire name, e.g. `order.created` (also used as a queue message attribute).
    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderUpdated => "order.updated",
            EventType::OrderCancelled => "order.cancelled",
            EventType::OrderCompleted => "order.completed",
            EventType::OrderRefunded => "order.refunded",
            EventType::FulfilmentUpdated => "fulfilment.updated",
            EventType::PaymentSucceeded => "payment.succeeded",
            EventType::PaymentFailed => "payment.failed",
            EventType::PaymentRefunded => "payment.refunded",
            EventType::PaymentDisputed => "payment.disputed",
            EventType::CommandSucceeded => "command.succeeded",
            EventType::CommandFailed => "command.failed",
        }
    }
}

/// What kind of platform a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Food and grocery delivery apps.
    Delivery,
    /// Social and mini-shops.
    SocialShop,
    /// Web shop software.
    WebShop,
    /// Payment providers.
    Payment,
}

/// Where an event came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    /// The channel id, e.g. `shopify`.
    pub channel: String,
    /// The kind of channel.
    pub channel_kind: ChannelKind,
    /// The shop, store or merchant id on that platform.
    pub tenant: String,
    /// The platform's id of this delivery or event (or a content hash where it has none).
    pub external_event_id: String,
    /// The platform's own event name, e.g. `orders/create`.
    pub topic: String,
    /// The platform's own status string, untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Order lifecycle, common to every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed but not paid yet.
    PendingPayment,
    /// Placed (and paid where payment comes first); waiting for the merchant.
    Placed,
    /// Accepted by the merchant.
    Accepted,
    /// Being prepared or packed.
    Preparing,
    /// Ready for pickup or hand-over.
    Ready,
    /// With the courier or carrier.
    OutForDelivery,
    /// Delivered, picked up or fully fulfilled.
    Completed,
    /// Cancelled.
    Cancelled,
    /// Fully refunded.
    Refunded,
}

/// An order as the platform describes it at the time of the event.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    /// The platform's order id, as a string (ids exceed 2^53).
    pub external_id: String,
    /// The number people see, e.g. `#1001`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_id: Option<String>,
    /// The unified status, when the delivery tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// The platform's update time or sequence: consumers drop updates older than what they hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The currency the merchant is paid in (the shop currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Order totals in `currency`.
    #[serde(default, skip_serializing_if = "Totals::is_empty")]
    pub totals: Totals,
    /// Totals in the currency the buyer saw, when it differs from the shop currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentment_totals: Option<Totals>,
    /// The ordered items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// The buyer (possibly masked by the platform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// How the order reaches the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Fulfilment>,
    /// Payments recorded on the order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<PaymentLine>,
    /// The buyer's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Order totals; each is omitted when the platform does not state it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Sum of item prices before discounts, delivery and fees (tax-inclusive where the shop's prices are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<Money>,
    /// All discounts, as a positive amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// All tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Money>,
    /// Delivery or shipping charged to the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_fee: Option<Money>,
    /// Service or other fees charged to the buyer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_fee: Option<Money>,
    /// Tip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<Money>,
    /// What the buyer pays in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    /// The part of `discount` the platform funds (delivery apps' own promotions), positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_discount: Option<Money>,
    /// The part of `discount` the merchant funds, positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_discount: Option<Money>,
    /// What the platform charges the merchant for the order (commission, service fees), positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<Money>,
    /// What the platform pays the merchant for the order, after its commission and the
    /// merchant-funded discounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_receivable: Option<Money>,
}

impl Totals {
    /// True when no total is known.
    pub fn is_empty(&self) -> bool {
        *self == Totals::default()
    }
}

/// One ordered item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// The platform's line id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The merchant's SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// What the buyer sees.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Price of one unit before discounts, when the platform states it exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    /// The line total after the discounts allocated to it (tax-inclusive where the shop's prices are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    /// Options, variants and add-ons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modifiers: Vec<Modifier>,
    /// A note on this item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An option, variant or add-on of an item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Modifier {
    /// What it is, e.g. `Size: Large`.
    pub name: String,
    /// How many, when it can be counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// Its price, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
}

/// The buyer, as much as the platform shares.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// How the order reaches the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentType {
    /// Local delivery by courier.
    Delivery,
    /// The buyer picks it up.
    Pickup,
    /// Eaten on the premises.
    DineIn,
    /// Shipped by a carrier.
    Shipping,
}

/// Fulfilment details.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Fulfilment {
    /// The kind of fulfilment, when known.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<FulfilmentType>,
    /// Where it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// When the buyer wants it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<Timestamp>,
    /// The courier or carrier, and tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier: Option<Courier>,
    /// The platform's fulfilment status string, untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Address {
    /// Recipient name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Recipient phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Street lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State, province or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// Courier or carrier details.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Courier {
    /// Courier or carrier name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Courier phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// Tracking link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
}

/// A payment recorded on an order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PaymentLine {
    /// Provider or gateway, e.g. `shopify_payments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Method, e.g. `card`, `wechat_pay`, `cash_on_delivery`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Amount, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The platform's payment status string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When it was paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<Timestamp>,
}

/// A payment, for payment events.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Payment {
    /// Provider, e.g. `stripe`, `wechat-pay`, or the shop's gateway.
    pub provider: String,
    /// The provider's payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// The merchant order id it pays for: the provider's order field, or the configured
    /// metadata key where it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// The channel whose order `order_ref` names (the payment channel's `orders_channel`
    /// setting): its events and this payment's share the message group
    /// `{order_channel}:{order_tenant}:{order_ref}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_channel: Option<String>,
    /// That channel's tenant (`orders_tenant`), with `order_channel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_tenant: Option<String>,
    /// Amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The provider's status string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Method, e.g. `card`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Why it failed, for failed payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The dispute, for `payment.disputed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<Dispute>,
}

/// A dispute (chargeback) of a payment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Dispute {
    /// The provider's dispute id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The amount disputed, as a positive amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// The reason the bank or buyer gave, as the provider writes it (`fraudulent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The provider's dispute status (`needs_response`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When the merchant's evidence is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_due_by: Option<Timestamp>,
}

/// A refund.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Refund {
    /// The platform's refund id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The amount refunded, as a positive amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The refunded items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

/// The JSON Schema of [`UnifiedOrderEvent`], pretty-printed, as checked into `docs/`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(UnifiedOrderEvent);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
