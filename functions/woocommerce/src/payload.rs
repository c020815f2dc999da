//! The parts of the WooCommerce REST v3 order we read (unknown fields are ignored).

use o2o_core::ids::IdText;
use o2o_core::money::DecimalText;
use serde::Deserialize;

/// A REST v3 order (`order.deleted` carries only `id`).
#[derive(Debug, Deserialize)]
pub struct Order {
    pub id: IdText,
    pub number: Option<String>,
    pub status: Option<String>,
    pub currency: Option<String>,
    pub date_created_gmt: Option<String>,
    pub date_modified_gmt: Option<String>,
    pub date_paid_gmt: Option<String>,
    pub discount_total: Option<DecimalText>,
    pub discount_tax: Option<DecimalText>,
    pub shipping_total: Option<DecimalText>,
    pub total: Option<DecimalText>,
    pub total_tax: Option<DecimalText>,
    /// Whether the shop's prices are entered with tax (line and discount amounts are sent without).
    pub prices_include_tax: Option<bool>,
    pub customer_note: Option<String>,
    pub billing: Option<Address>,
    pub shipping: Option<Address>,
    pub payment_method: Option<String>,
    pub payment_method_title: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub shipping_lines: Vec<ShippingLine>,
    #[serde(default)]
    pub fee_lines: Vec<FeeLine>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

/// A billing or shipping address.
#[derive(Debug, Deserialize)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// An order line. Amounts are without tax; `subtotal` is before discounts, `total` after.
///
/// `price` is not read: it is WooCommerce's float `total / quantity`, after discounts.
#[derive(Debug, Deserialize)]
pub struct LineItem {
    pub id: Option<IdText>,
    pub name: Option<String>,
    pub sku: Option<String>,
    pub quantity: u32,
    pub subtotal: Option<DecimalText>,
    pub subtotal_tax: Option<DecimalText>,
    pub total: Option<DecimalText>,
    pub total_tax: Option<DecimalText>,
    #[serde(default)]
    pub meta_data: Vec<MetaData>,
}

/// Line meta data; variation attributes carry `display_key` / `display_value`.
#[derive(Debug, Deserialize)]
pub struct MetaData {
    pub key: Option<String>,
    pub display_key: Option<String>,
    pub display_value: Option<serde_json::Value>,
}

/// A shipping line.
#[derive(Debug, Deserialize)]
pub struct ShippingLine {
    pub method_id: Option<String>,
}

/// A fee line.
#[derive(Debug, Deserialize)]
pub struct FeeLine {
    pub total: Option<DecimalText>,
}

/// A refund summary on the order; `total` is negative (`"-10.00"`).
#[derive(Debug, Deserialize)]
pub struct Refund {
    pub id: Option<IdText>,
    pub reason: Option<String>,
    pub total: DecimalText,
}
