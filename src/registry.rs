//! The one table of every connector. Adding a platform adds one line here.

use o2o_core::Registry;

/// Every connector `o2o` hosts.
pub static CONNECTORS: Registry = Registry(&[
    &o2o_shopify::Shopify,
    &o2o_woocommerce::WooCommerce,
    &o2o_wechat_channels_shop::WeChatChannelsShop,
    &o2o_douyin_shop::DouyinShop,
    &o2o_tiktok_shop::TikTokShop,
    &o2o_youzan::Youzan,
]);
