//! The parts of Shopify's REST payloads we read (unknown fields are ignored).

use o2o_core::ids::IdText;
use o2o_core::money::DecimalText;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// A money bag: `{"shop_money": {...}, "presentment_money": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct MoneySet {
    pub shop_money: MoneyAmount,
    pub presentment_money: Option<MoneyAmount>,
}

/// One side of a money bag.
#[derive(Debug, Clone, Deserialize)]
pub struct MoneyAmount {
    pub amount: DecimalText,
    pub currency_code: String,
}

/// The REST Order resource (orders/* topics).
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub id: IdText,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub presentment_currency: Option<String>,
    pub financial_status: Option<String>,
    pub fulfillment_status: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub total_line_items_price: Option<DecimalText>,
    pub total_line_items_price_set: Option<MoneySet>,
    pub total_discounts: Option<DecimalText>,
    pub total_discounts_set: Option<MoneySet>,
    pub total_tax: Option<DecimalText>,
    pub total_tax_set: Option<MoneySet>,
    pub total_shipping_price_set: Option<MoneySet>,
    pub total_tip_received: Option<DecimalText>,
    pub total_price: Option<DecimalText>,
    pub total_price_set: Option<MoneySet>,
    /// Absent in a body that is not an order (`body::read` refuses it under an order topic).
    pub line_items: Option<Vec<LineItem>>,
    /// Not a field of an order: present in refund, fulfillment and transaction bodies, which
    /// `body::read` refuses under an order topic.
    pub order_id: Option<IgnoredAny>,
    #[serde(default)]
    pub shipping_lines: Vec<ShippingLine>,
    pub shipping_address: Option<Address>,
    pub customer: Option<Customer>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub payment_gateway_names: Vec<String>,
    #[serde(default)]
    pub fulfillments: Vec<Fulfillment>,
}

impl Order {
    /// The order's lines.
    pub fn lines(&self) -> &[LineItem] {
        self.line_items.as_deref().unwrap_or_default()
    }
}

/// An order line.
#[derive(Debug, Clone, Deserialize)]
pub struct LineItem {
    pub id: Option<IdText>,
    pub sku: Option<String>,
    pub title: Option<String>,
    pub name: Option<String>,
    pub variant_title: Option<String>,
    pub quantity: u32,
    pub price: DecimalText,
    pub price_set: Option<MoneySet>,
    pub total_discount: Option<DecimalText>,
    #[serde(default)]
    pub discount_allocations: Vec<DiscountAllocation>,
    #[serde(default)]
    pub properties: Vec<Property>,
}

/// A discount allocated to a line.
#[derive(Debug, Clone, Deserialize)]
pub struct DiscountAllocation {
    pub amount: DecimalText,
    pub amount_set: Option<MoneySet>,
}

/// A line-item property (`name: value`), e.g. a gift message.
#[derive(Debug, Clone, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: Option<serde_json::Value>,
}

/// A shipping line.
#[derive(Debug, Clone, Deserialize)]
pub struct ShippingLine {
    pub title: Option<String>,
    pub code: Option<String>,
    pub price: Option<DecimalText>,
}

/// A postal address.
#[derive(Debug, Clone, Deserialize)]
pub struct Address {
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub province: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
}

/// The customer on an order.
#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A fulfillment (shipment).
#[derive(Debug, Clone, Deserialize)]
pub struct Fulfillment {
    pub tracking_company: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
}

/// The refunds/create payload (the REST Refund resource).
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: IdText,
    pub order_id: IdText,
    pub created_at: Option<String>,
    pub processed_at: Option<String>,
    pub note: Option<String>,
    /// Always present in a refund (possibly empty); `body::read` refuses a body without it.
    pub refund_line_items: Option<Vec<RefundLineItem>>,
    /// Always present in a refund (possibly empty); `body::read` refuses a body without it.
    pub transactions: Option<Vec<Transaction>>,
}

impl Refund {
    /// The refunded lines.
    pub fn lines(&self) -> &[RefundLineItem] {
        self.refund_line_items.as_deref().unwrap_or_default()
    }

    /// The refund's transactions.
    pub fn transactions(&self) -> &[Transaction] {
        self.transactions.as_deref().unwrap_or_default()
    }
}

/// A refunded line.
#[derive(Debug, Clone, Deserialize)]
pub struct RefundLineItem {
    pub quantity: u32,
    pub subtotal: Option<DecimalText>,
    pub subtotal_set: Option<MoneySet>,
    pub line_item: Option<LineItem>,
}

/// A payment transaction.
#[derive(Debug, Clone, Deserialize)]
pub struct Transaction {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub amount: DecimalText,
    pub currency: Option<String>,
    pub gateway: Option<String>,
}

/// The orders/edited payload.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderEditEnvelope {
    pub order_edit: OrderEdit,
}

/// An order edit.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderEdit {
    pub order_id: IdText,
    pub created_at: Option<String>,
    pub committed_at: Option<String>,
}
