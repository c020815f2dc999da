//! The order as `GET /v2/eats/order/{order_id}` returns it (developer.uber.com
//! `docs/eats/references/api/v2/get-eats-order-orderid`). Uber's own sample on that page is not
//! valid JSON (trailing commas) and mixes camelCase into snake_case fields, so everything is
//! optional and unknown fields are ignored. Money is `{amount, currency_code,
//! formatted_amount}` with `amount` an integer "in the smallest denomination of the currency".

use o2o_core::ids::IdText;
use serde::Deserialize;

/// An order.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct OrderV2 {
    /// Uber's order id (a UUID).
    pub id: String,
    /// The short id people see (the last five characters of the id).
    #[serde(default)]
    pub display_id: Option<String>,
    /// `CREATED`, `ACCEPTED`, `DENIED`, `FINISHED`, `CANCELED`, `UNKNOWN`.
    #[serde(default)]
    pub current_state: Option<String>,
    /// `PICK_UP`, `DINE_IN`, `DELIVERY_BY_UBER`, `DELIVERY_BY_RESTAURANT`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The store.
    #[serde(default)]
    pub store: Option<Store>,
    /// The customer.
    #[serde(default)]
    pub eater: Option<Eater>,
    /// The items and the customer's note.
    #[serde(default)]
    pub cart: Option<Cart>,
    /// The amounts.
    #[serde(default)]
    pub payment: Option<Payment>,
    /// When it was placed (ISO 8601 with the store's offset).
    #[serde(default)]
    pub placed_at: Option<String>,
}

/// The store of an order.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Store {
    /// Uber's store id.
    #[serde(default)]
    pub id: Option<IdText>,
}

/// The customer.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Eater {
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name (an initial).
    #[serde(default)]
    pub last_name: Option<String>,
    /// An anonymised number that reaches the customer with `phone_code`.
    #[serde(default)]
    pub phone: Option<String>,
    /// The code to key in after dialling `phone`.
    #[serde(default)]
    pub phone_code: Option<String>,
}

/// The cart.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Cart {
    /// The items.
    #[serde(default)]
    pub items: Vec<CartItem>,
    /// The customer's note on the order.
    #[serde(default)]
    pub special_instructions: Option<String>,
}

/// An item, or an item chosen in a modifier group (same shape).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CartItem {
    /// The store's item id.
    #[serde(default)]
    pub id: Option<IdText>,
    /// Uber's id of this line.
    #[serde(default)]
    pub instance_id: Option<IdText>,
    /// What the customer saw.
    #[serde(default)]
    pub title: Option<String>,
    /// How many.
    #[serde(default = "one")]
    pub quantity: u32,
    /// Its prices.
    #[serde(default)]
    pub price: Option<ItemPrice>,
    /// Options chosen, by group; either list may be `null`.
    #[serde(default)]
    pub selected_modifier_groups: Option<Vec<ModifierGroup>>,
    /// The customer's note on the item.
    #[serde(default)]
    pub special_instructions: Option<String>,
}

fn one() -> u32 {
    1
}

/// The prices of an item.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ItemPrice {
    /// The price of one.
    #[serde(default)]
    pub unit_price: Option<Amount>,
    /// The price of the line.
    #[serde(default)]
    pub total_price: Option<Amount>,
}

/// A modifier group and what was chosen in it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ModifierGroup {
    /// The group's title (`Choose a size`).
    #[serde(default)]
    pub title: Option<String>,
    /// The items chosen.
    #[serde(default)]
    pub selected_items: Option<Vec<CartItem>>,
}

/// The order's payment.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Payment {
    /// The charges.
    #[serde(default)]
    pub charges: Option<Charges>,
}

/// The charges of an order (all optional; several are "merchant delivery only").
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Charges {
    /// What the customer pays.
    #[serde(default)]
    pub total: Option<Amount>,
    /// The items.
    #[serde(default)]
    pub sub_total: Option<Amount>,
    /// Tax.
    #[serde(default)]
    pub tax: Option<Amount>,
    /// All fees.
    #[serde(default)]
    pub total_fee: Option<Amount>,
    /// Delivery fee (merchant delivery only).
    #[serde(default)]
    pub delivery_fee: Option<Amount>,
    /// Tip (merchant delivery only).
    #[serde(default)]
    pub tip: Option<Amount>,
    /// Promotions applied to the order.
    #[serde(default)]
    pub total_promo_applied: Option<Amount>,
    /// The marketplace fee the merchant owes Uber for the order.
    #[serde(default)]
    pub marketplace_fee_due_to_uber: Option<Amount>,
}

/// Money: `amount` in the currency's smallest unit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Amount {
    /// The amount in minor units (a JSON integer; a fraction is an error).
    pub amount: i64,
    /// ISO 4217.
    pub currency_code: String,
}
