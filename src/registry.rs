//! The one table of every connector. Adding a platform adds one line here.

use o2o_core::{ConnectorEntry, Registry};

/// Every connector `o2o` hosts.
pub static CONNECTORS: Registry = Registry(&[
    ConnectorEntry::of::<o2o_shopify::Shopify>(),
    ConnectorEntry::of::<o2o_woocommerce::WooCommerce>(),
    ConnectorEntry::of::<o2o_wechat_channels_shop::WeChatChannelsShop>(),
    ConnectorEntry::of::<o2o_douyin_shop::DouyinShop>(),
    ConnectorEntry::of::<o2o_tiktok_shop::TikTokShop>(),
    ConnectorEntry::of::<o2o_youzan::Youzan>(),
    ConnectorEntry::of::<o2o_deliveroo::Deliveroo>(),
    ConnectorEntry::of::<o2o_doordash::DoorDash>(),
    ConnectorEntry::of::<o2o_uber_eats::UberEats>(),
    ConnectorEntry::of::<o2o_meituan::Meituan>(),
    ConnectorEntry::of::<o2o_eleme::Eleme>(),
    ConnectorEntry::of::<o2o_stripe::Stripe>(),
    ConnectorEntry::of::<o2o_wechat_pay::WeChatPay>(),
    ConnectorEntry::of::<o2o_alipay::Alipay>(),
    ConnectorEntry::of::<o2o_razorpay::Razorpay>(),
    ConnectorEntry::of::<o2o_square::Square>(),
    ConnectorEntry::of::<o2o_adyen::Adyen>(),
    ConnectorEntry::of::<o2o_mollie::Mollie>(),
    ConnectorEntry::of::<o2o_standard_webhooks::StandardWebhooks>(),
    ConnectorEntry::of::<o2o_paypal::PayPal>(),
]);
