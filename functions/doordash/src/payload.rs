//! DoorDash's webhook bodies, as developer.doordash.com documents them: Marketplace orders
//! (`{"event": {"type": "OrderCreate"}, "order": {…}}`), order adjustments, Dasher status
//! updates, order cancellations and releases (no envelope), and Drive delivery events.
//!
//! DoorDash's own samples are not always valid JSON (a missing comma, a repeated key): fields
//! are read leniently (unknown fields ignored, ids as text or integers), and fields a sample
//! repeats (`estimated_pickup_time`) are not read at all, so a repeat is not an error.

use std::fmt;

use o2o_core::ids::IdText;
use serde::de::{Error as _, Visitor};
use serde::{Deserialize, Deserializer};

/// Any DoorDash webhook body: the fields of every kind, each optional; [`Body::kind`] says
/// which it is.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Body {
    /// Marketplace order, adjustment and Dasher-status events.
    #[serde(default)]
    pub event: Option<Event>,
    /// The order (`OrderCreate`, `OrderAdjustment`).
    #[serde(default)]
    pub order: Option<Order>,
    /// Cancellation, release: the DoorDash order id.
    #[serde(default)]
    pub external_order_id: Option<IdText>,
    /// Cancellation, release: the store.
    #[serde(default)]
    pub store: Option<Store>,
    /// Release: the Dasher about to arrive.
    #[serde(default)]
    pub dasher: Option<Dasher>,
    /// Dasher status: when (RFC 3339); Drive: when the event happened.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Dasher status: the delivery.
    #[serde(default)]
    pub delivery: Option<DasherDelivery>,
    /// Drive: `DASHER_CONFIRMED`, `DASHER_PICKED_UP`, `DASHER_DROPPED_OFF`, `DELIVERY_CANCELLED` …
    #[serde(default)]
    pub event_name: Option<String>,
    /// Drive: the merchant's delivery id.
    #[serde(default)]
    pub external_delivery_id: Option<IdText>,
    /// Drive: the store the Dasher picks up from (the merchant's id).
    #[serde(default)]
    pub pickup_external_store_id: Option<IdText>,
    /// Drive: the Dasher's name.
    #[serde(default)]
    pub dasher_name: Option<String>,
    /// Drive: the Dasher's phone number.
    #[serde(default)]
    pub dasher_phone_number: Option<String>,
    /// Drive: the tracking page.
    #[serde(default)]
    pub tracking_url: Option<String>,
}

/// What a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new order: `event.type` `OrderCreate`.
    OrderCreate,
    /// The order after the merchant adjusted it: `OrderAdjustment`.
    OrderAdjustment,
    /// A Dasher status update: `dasher_status_update`.
    DasherStatus,
    /// Another `event.type` (menu status …).
    OtherEvent,
    /// The order was cancelled (no envelope: an order id and a store).
    Cancellation,
    /// The Dasher is about to arrive (Auto Order Release; no envelope).
    Release,
    /// A Drive delivery event (`event_name`).
    Drive,
}

impl Body {
    /// Which kind of webhook this is, by its shape; `None` for none DoorDash sends.
    pub fn kind(&self) -> Option<Kind> {
        if let Some(event) = &self.event {
            return Some(match event.kind.as_str() {
                "OrderCreate" => Kind::OrderCreate,
                "OrderAdjustment" => Kind::OrderAdjustment,
                "dasher_status_update" => Kind::DasherStatus,
                _ => Kind::OtherEvent,
            });
        }
        if self.event_name.is_some() {
            return Some(Kind::Drive);
        }
        match (&self.external_order_id, &self.dasher) {
            (Some(_), Some(_)) => Some(Kind::Release),
            (Some(_), None) => Some(Kind::Cancellation),
            (None, _) => None,
        }
    }
}

/// A Marketplace event envelope.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Event {
    /// `OrderCreate`, `OrderAdjustment`, `dasher_status_update`, `MenuUpdate` …
    #[serde(rename = "type")]
    pub kind: String,
    /// `NEW` for orders.
    #[serde(default)]
    pub status: Option<String>,
    /// `OrderAdjustment`: when (RFC 3339).
    #[serde(default)]
    pub event_timestamp: Option<String>,
}

/// A Marketplace order. Amounts are integer cents, with no currency (it is the channel's
/// `currency` setting).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Order {
    /// DoorDash's order id (the confirmation's path parameter).
    pub id: IdText,
    /// The short code on the bag.
    #[serde(default)]
    pub delivery_short_code: Option<String>,
    /// The store.
    #[serde(default)]
    pub store: Option<Store>,
    /// The customer.
    #[serde(default)]
    pub consumer: Option<Consumer>,
    /// Items by menu category.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// The items' total, in cents.
    #[serde(default)]
    pub subtotal: Option<Cents>,
    /// Tax, in cents.
    #[serde(default)]
    pub tax: Option<Cents>,
    /// Self-delivery orders: the delivery fee the customer paid, in cents.
    #[serde(default)]
    pub delivery_fee: Option<Cents>,
    /// Self-delivery orders: the delivery tip, in cents.
    #[serde(default)]
    pub tip_amount: Option<Cents>,
    /// Pickup orders: the tip for the staff, in cents.
    #[serde(default)]
    pub merchant_tip_amount: Option<Cents>,
    /// `dx_delivery` (a Dasher), `mx_fleet_delivery` / `mx_delivery` (the merchant's couriers),
    /// `pickup`.
    #[serde(default)]
    pub fulfillment_type: Option<String>,
    /// Whether the customer collects it.
    #[serde(default)]
    pub is_pickup: Option<bool>,
    /// The customer's note on the order.
    #[serde(default)]
    pub order_special_instructions: Option<String>,
    /// Self-delivery orders: where to (an object; one published sample has a string).
    #[serde(default)]
    pub delivery_address: Option<AddressField>,
}

/// An address as DoorDash sends it: structured, or (one published sample) one line of text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum AddressField {
    /// The documented shape.
    Structured(Address),
    /// One line.
    Line(String),
}

/// A store.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Store {
    /// The merchant's own store id.
    #[serde(default)]
    pub merchant_supplied_id: Option<IdText>,
}

/// The customer.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Consumer {
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name (often an initial).
    #[serde(default)]
    pub last_name: Option<String>,
    /// A DoorDash support number, or a masked number where enabled.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// A menu category and its items.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Category {
    /// The ordered items.
    #[serde(default)]
    pub items: Vec<LineItem>,
}

/// An ordered item.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct LineItem {
    /// DoorDash's line id.
    #[serde(default)]
    pub line_item_id: Option<IdText>,
    /// The merchant's item id.
    #[serde(default)]
    pub merchant_supplied_id: Option<IdText>,
    /// What the customer saw.
    #[serde(default)]
    pub name: Option<String>,
    /// The item's price with its options (DoorDash: "the price of the item plus the sum of the
    /// price(s) of all modifiers"), in cents.
    #[serde(default)]
    pub price: Option<Cents>,
    /// How many.
    #[serde(default = "one")]
    pub quantity: u32,
    /// The customer's note on the item.
    #[serde(default)]
    pub special_instructions: Option<String>,
    /// Option groups.
    #[serde(default)]
    pub extras: Vec<Extra>,
}

fn one() -> u32 {
    1
}

/// An option group of an item or an option.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Extra {
    /// The group's name (`Signature Sauces`).
    #[serde(default)]
    pub name: Option<String>,
    /// The options chosen in it.
    #[serde(default)]
    pub options: Vec<OptionChoice>,
}

/// An option chosen, which may have groups of its own.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct OptionChoice {
    /// The option's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its price, in cents.
    #[serde(default)]
    pub price: Option<Cents>,
    /// How many.
    #[serde(default)]
    pub quantity: Option<u32>,
    /// Nested groups: `extras` in the API reference, `extra` in the published sample order.
    #[serde(default, alias = "extra")]
    pub extras: Vec<Extra>,
}

/// A self-delivery address.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Address {
    /// Street and number.
    #[serde(default)]
    pub street: Option<String>,
    /// Apartment, suite.
    #[serde(default)]
    pub subpremise: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// ZIP code.
    #[serde(default)]
    pub zip_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country_code: Option<String>,
}

/// The Dasher of a release.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Dasher {
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// A masked number (release).
    #[serde(default)]
    pub masked_phone_number: Option<String>,
    /// A number (Dasher status).
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// The delivery of a Dasher status update.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct DasherDelivery {
    /// DoorDash's order id.
    #[serde(default)]
    pub external_order_id: Option<IdText>,
    /// DoorDash's store id.
    #[serde(default)]
    pub location_id: Option<IdText>,
    /// `dasher_confirmed`, `arriving_at_store`, `arrived_at_store`, `dasher_out_for_delivery`,
    /// `dropoff`.
    #[serde(default)]
    pub dasher_status: Option<String>,
    /// The Dasher.
    #[serde(default)]
    pub dasher: Option<Dasher>,
}

/// An amount in cents: a JSON integer, or an integer in a string (Drive's samples); never a
/// fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cents(pub i64);

impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CentsVisitor;
        impl Visitor<'_> for CentsVisitor {
            type Value = Cents;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer number of cents")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Cents, E> {
                Ok(Cents(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Cents, E> {
                i64::try_from(v)
                    .map(Cents)
                    .map_err(|_| E::custom("cents out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Cents, E> {
                v.trim()
                    .parse()
                    .map(Cents)
                    .map_err(|_| E::custom("cents must be an integer"))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Cents, E> {
                Err(E::custom("cents must be an integer, not a fraction"))
            }
        }
        d.deserialize_any(CentsVisitor).map_err(D::Error::custom)
    }
}

/// Reads a body.
pub fn read(payload: &[u8]) -> Result<Body, serde_json::Error> {
    serde_json::from_slice(payload)
}
