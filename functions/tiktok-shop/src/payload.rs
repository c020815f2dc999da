//! The parts of TikTok Shop's webhook bodies and Get Order Detail answers we read (unknown
//! fields are ignored). Ids go through [`IdText`] and amounts through [`DecimalText`], so neither
//! ever passes through a float.

use o2o_core::ids::IdText;
use o2o_core::money::DecimalText;
use serde::Deserialize;

/// The envelope every webhook shares (<https://partner.tiktokshop.com/docv2/page/tts-webhooks-overview>).
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// The topic id: 1 order status, 11 cancellation status, 12 return status …
    #[serde(rename = "type")]
    pub kind: IdText,
    /// "The ID of this webhook notification" (absent from the oldest documented samples).
    pub tts_notification_id: Option<IdText>,
    /// The shop the event belongs to (one app serves many shops).
    pub shop_id: Option<IdText>,
    /// When TikTok pushed it, Unix seconds.
    pub timestamp: Option<i64>,
    /// The topic's business fields.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Type 1, order status change (<https://partner.tiktokshop.com/docv2/page/1-order-status-change>).
#[derive(Debug, Deserialize)]
pub struct OrderStatusChange {
    pub order_id: IdText,
    pub order_status: String,
    pub update_time: Option<i64>,
}

/// Type 11, cancellation status change
/// (<https://partner.tiktokshop.com/docv2/page/11-cancellation-status-change>).
#[derive(Debug, Deserialize)]
pub struct CancellationStatusChange {
    pub order_id: IdText,
    pub cancel_status: String,
}

/// Type 12, return status change (<https://partner.tiktokshop.com/docv2/page/12-return-status-change>).
#[derive(Debug, Deserialize)]
pub struct ReturnStatusChange {
    pub order_id: IdText,
    pub return_status: String,
    pub return_id: Option<IdText>,
    pub create_time: Option<i64>,
    pub update_time: Option<i64>,
}

/// The common answer of every TikTok Shop API: `code` 0 is success.
#[derive(Debug, Deserialize)]
pub struct ApiAnswer {
    pub code: i64,
    pub data: Option<OrderDetailData>,
}

/// `data` of Get Order Detail.
#[derive(Debug, Deserialize)]
pub struct OrderDetailData {
    #[serde(default)]
    pub orders: Vec<ApiOrder>,
}

/// One order of Get Order Detail 202309 (field list: the TikTok Shop Node.js SDK model
/// `Order202309GetOrderDetailResponseDataOrders`).
#[derive(Debug, Deserialize)]
pub struct ApiOrder {
    pub id: IdText,
    pub status: Option<String>,
    pub update_time: Option<i64>,
    pub paid_time: Option<i64>,
    pub payment: Option<ApiPayment>,
    pub payment_method_name: Option<String>,
    #[serde(default)]
    pub line_items: Vec<ApiLineItem>,
    pub recipient_address: Option<ApiAddress>,
    pub buyer_email: Option<String>,
    pub buyer_message: Option<String>,
    pub shipping_provider: Option<String>,
    pub tracking_number: Option<String>,
}

/// `payment`: decimal strings in `currency`.
#[derive(Debug, Deserialize)]
pub struct ApiPayment {
    pub currency: Option<String>,
    pub sub_total: Option<DecimalText>,
    pub original_total_product_price: Option<DecimalText>,
    pub shipping_fee: Option<DecimalText>,
    pub seller_discount: Option<DecimalText>,
    pub platform_discount: Option<DecimalText>,
    pub tax: Option<DecimalText>,
    pub total_amount: Option<DecimalText>,
}

/// One line item: always one unit in 202309 (the model has no quantity field).
#[derive(Debug, Deserialize)]
pub struct ApiLineItem {
    pub id: Option<IdText>,
    pub sku_id: Option<IdText>,
    pub product_name: Option<String>,
    pub sku_name: Option<String>,
    pub seller_sku: Option<String>,
    pub currency: Option<String>,
    pub sale_price: Option<DecimalText>,
    pub original_price: Option<DecimalText>,
}

/// `recipient_address` (masked by TikTok in most markets).
#[derive(Debug, Deserialize)]
pub struct ApiAddress {
    pub name: Option<String>,
    pub phone_number: Option<String>,
    pub full_address: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_line3: Option<String>,
    pub address_line4: Option<String>,
    pub postal_code: Option<String>,
    pub region_code: Option<String>,
    #[serde(default)]
    pub district_info: Vec<ApiDistrict>,
}

/// One level of `district_info`, e.g. `{"address_level_name": "State", "address_name": "CA"}`.
#[derive(Debug, Deserialize)]
pub struct ApiDistrict {
    pub address_level_name: Option<String>,
    pub address_name: Option<String>,
}
