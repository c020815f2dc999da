//! Deliveroo's webhook bodies, as documented at api-docs.deliveroo.com (Order Events webhook,
//! Rider Events webhook, the legacy POS `new_order`/`cancel_order`). Every field the connector
//! does not need is ignored; every field it reads is optional unless an event cannot mean
//! anything without it (the event name, an order id).

use serde::Deserialize;

/// One webhook body. Order API webhooks: `{"event": …, "body": {…}}`; the legacy POS webhooks
/// carry the order at the top level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope {
    /// `order.new`, `order.status_update`, `rider.status_update`; legacy `new_order`,
    /// `cancel_order`.
    pub event: String,
    /// The Order API event's content.
    #[serde(default)]
    pub body: Option<Body>,
    /// Legacy POS: the order.
    #[serde(default)]
    pub order: Option<Order>,
    /// Legacy POS: the site.
    #[serde(default)]
    pub location_id: Option<String>,
    /// Legacy `new_order`: when the site accepted the order (RFC 3339).
    #[serde(default)]
    pub restaurant_acknowledged_at: Option<String>,
}

/// The `body` of an Order API event: an order (order events) or an order id and its riders
/// (rider events).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Body {
    /// Order events: the order as it is now.
    #[serde(default)]
    pub order: Option<Order>,
    /// Rider events: the order the riders are for (`gb:<uuid>`).
    #[serde(default)]
    pub order_id: Option<String>,
    /// Rider events: every rider on the order, each with its own status log.
    #[serde(default)]
    pub riders: Vec<Rider>,
}

/// An order (Order Events webhook; the legacy POS order has a subset of these fields).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Order {
    /// `{market}:{uuid}` (`gb:32498deb-…`); legacy: `1487734400-1234`.
    pub id: String,
    /// The order number.
    #[serde(default)]
    pub order_number: Option<String>,
    /// The short number on the tablet and the bag.
    #[serde(default)]
    pub display_id: Option<String>,
    /// The site.
    #[serde(default)]
    pub location_id: Option<String>,
    /// `placed`, `accepted`, `confirmed`, `rejected`, `canceled`.
    #[serde(default)]
    pub status: Option<String>,
    /// Every status with its time; Deliveroo: "the source of truth".
    #[serde(default)]
    pub status_log: Vec<StatusEntry>,
    /// `deliveroo` (a Deliveroo rider), `restaurant` (the site's own), `customer` (collection),
    /// `table_service`.
    #[serde(default)]
    pub fulfillment_type: Option<String>,
    /// The customer's note.
    #[serde(default)]
    pub order_notes: Option<String>,
    /// The customer's cutlery choice.
    #[serde(default)]
    pub cutlery_notes: Option<String>,
    /// Legacy POS: the allergy note.
    #[serde(default)]
    pub notes: Option<String>,
    /// `false` for a scheduled order.
    #[serde(default)]
    pub asap: Option<bool>,
    /// When the order is to be ready (RFC 3339).
    #[serde(default)]
    pub prepare_for: Option<String>,
    /// What the customer pays.
    #[serde(default)]
    pub total_price: Option<Price>,
    /// The items' total.
    #[serde(default)]
    pub subtotal: Option<Price>,
    /// The items' total as the partner is paid for them.
    #[serde(default)]
    pub partner_order_subtotal: Option<Price>,
    /// Discounts from offers.
    #[serde(default)]
    pub offer_discount: Option<Price>,
    /// The bag fee.
    #[serde(default)]
    pub bag_fee: Option<Price>,
    /// The ordered items.
    #[serde(default)]
    pub items: Vec<Item>,
    /// The customer (a first name, a bridge number and its access code).
    #[serde(default)]
    pub customer: Option<Customer>,
    /// Delivery by the site's own couriers (`fulfillment_type` `restaurant`).
    #[serde(default)]
    pub delivery: Option<Delivery>,
}

/// One entry of a status log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StatusEntry {
    /// When (RFC 3339, with or without a fraction).
    pub at: String,
    /// The status it reached.
    pub status: String,
}

/// Money: `{"fractional": 1770, "currency_code": "GBP"}`, in minor units.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Price {
    /// The amount in the currency's minor unit (pence, cents).
    pub fractional: i64,
    /// ISO 4217.
    pub currency_code: String,
}

/// An ordered item, or a modifier of one (same shape).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Item {
    /// The partner's own id of the item (its POS or menu id).
    #[serde(default)]
    pub pos_item_id: Option<String>,
    /// What the customer saw.
    #[serde(default)]
    pub name: Option<String>,
    /// How many.
    #[serde(default = "one")]
    pub quantity: u32,
    /// The price of one.
    #[serde(default)]
    pub unit_price: Option<Price>,
    /// `unit_price` × `quantity`.
    #[serde(default)]
    pub total_price: Option<Price>,
    /// The discount on this line.
    #[serde(default)]
    pub discount_amount: Option<Price>,
    /// Options chosen; the legacy POS webhook lists names only.
    #[serde(default)]
    pub modifiers: Vec<ModifierEntry>,
}

fn one() -> u32 {
    1
}

/// A modifier: an item-shaped object, or (legacy POS) a name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ModifierEntry {
    /// An item-shaped modifier.
    Item(Box<Item>),
    /// A name only.
    Name(String),
}

/// The customer as Deliveroo shares them.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Customer {
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// A bridge number that reaches the customer with the access code.
    #[serde(default)]
    pub contact_number: Option<String>,
    /// The code to key in after dialling `contact_number`.
    #[serde(default)]
    pub contact_access_code: Option<String>,
}

/// Delivery by the site's own couriers.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Delivery {
    /// The delivery fee the customer pays.
    #[serde(default)]
    pub delivery_fee: Option<Price>,
    /// Where to.
    #[serde(default)]
    pub address: Option<DeliveryAddress>,
}

/// A delivery address.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct DeliveryAddress {
    /// First line.
    #[serde(default)]
    pub address_line_1: Option<String>,
    /// Second line.
    #[serde(default)]
    pub address_line_2: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Postcode.
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// A rider on an order (Rider Events webhook).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Rider {
    /// The rider's name.
    #[serde(default)]
    pub full_name: Option<String>,
    /// A number that reaches the rider.
    #[serde(default)]
    pub contact_number: Option<String>,
    /// `rider_assigned`, `rider_arrived`, `rider_confirmed_at_restaurant`, `rider_in_transit`,
    /// `rider_unassigned`, with times.
    #[serde(default)]
    pub status_log: Vec<StatusEntry>,
}

/// Reads a body; `None` when it is not an envelope.
pub fn read(payload: &[u8]) -> Result<Envelope, serde_json::Error> {
    serde_json::from_slice(payload)
}
