//! Get Order Detail 202309 answers for the mock, shaped from the documented response example of
//! <https://partner.tiktokshop.com/docv2/page/get-order-detail-202309> (field set and types, as in
//! the TikTok Shop Node.js SDK models `Order202309GetOrderDetailResponseDataOrders*`), with made-up
//! customer data; and the unified orders they must become, worked out by hand.

use o2o_core::event::{
    Address, Courier, Customer, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus,
    PaymentLine, Totals,
};
use o2o_core::{Currency, Money, Timestamp};
use serde_json::{Value, json};

pub const ORDER_A: &str = "577801526983463123";
pub const ORDER_B: &str = "577801530011122334";

/// Order A (two mugs of one SKU, one coaster set) as Get Order Detail describes it.
pub fn order_a(status: &str) -> Value {
    json!({
        "buyer_email": "v2b2V5x7Qk@scs.tiktokw.us",
        "buyer_message": "Please pack the mugs carefully.",
        "cancel_order_sla_time": 1763203200,
        "collection_due_time": 1763376000,
        "commerce_platform": "TIKTOK_SHOP",
        "create_time": 1763116800,
        "delivery_option_id": "7091146663229654785",
        "delivery_option_name": "Standard shipping",
        "delivery_type": "HOME_DELIVERY",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "has_updated_recipient_address": false,
        "id": ORDER_A,
        "is_cod": false,
        "is_on_hold_order": true,
        "is_replacement_order": false,
        "is_sample_order": false,
        "line_items": [
            line("577801526983594195", "1729582718312381001", "Speckled Stoneware Mug 12oz", "Sand", "MUG-SND-12", "18.99", "15.49", "2.5", "1"),
            line("577801526983594196", "1729582718312381001", "Speckled Stoneware Mug 12oz", "Sand", "MUG-SND-12", "18.99", "15.49", "2.5", "1"),
            line("577801526983594197", "1729582718312382002", "Walnut Coaster Set (4)", "Default", "CST-WAL-4", "16.99", "16.99", "0", "0")
        ],
        "order_type": "NORMAL",
        "packages": [{ "id": "1153132168123859123" }],
        "paid_time": 1763116855,
        "payment": {
            "currency": "USD",
            "original_shipping_fee": "7.99",
            "original_total_product_price": "54.97",
            "platform_discount": "2",
            "product_tax": "3.84",
            "seller_discount": "5",
            "shipping_fee": "5.99",
            "shipping_fee_platform_discount": "2",
            "shipping_fee_seller_discount": "0",
            "shipping_fee_tax": "0.48",
            "sub_total": "47.97",
            "tax": "4.32",
            "total_amount": "58.28"
        },
        "payment_method_name": "Credit/Debit Card",
        "recipient_address": {
            "address_detail": "Apt 4B",
            "address_line1": "415 Massachusetts Ave",
            "address_line2": "Apt 4B",
            "address_line3": "",
            "address_line4": "",
            "delivery_preferences": { "drop_off_location": "Front Door" },
            "district_info": [
                { "address_level": "L0", "address_level_name": "Country", "address_name": "United States" },
                { "address_level": "L1", "address_level_name": "State", "address_name": "Indiana" },
                { "address_level": "L2", "address_level_name": "County", "address_name": "Marion" },
                { "address_level": "L3", "address_level_name": "City", "address_name": "Indianapolis" }
            ],
            "first_name": "",
            "full_address": "415 Massachusetts Ave, Apt 4B, Indianapolis, Marion, Indiana, United States",
            "last_name": "",
            "name": "Jordan Avery",
            "phone_number": "(+1)317-***-0142",
            "postal_code": "46204",
            "region_code": "US"
        },
        "rts_sla_time": 1763289600,
        "shipping_provider": "USPS",
        "shipping_provider_id": "6617675021119438849",
        "shipping_type": "TIKTOK",
        "status": status,
        "tracking_number": "9400111899223847561234",
        "tts_sla_time": 1763376000,
        "update_time": 1763118660,
        "user_id": "7021436810468230477",
        "warehouse_id": "6955005333819123123"
    })
}

#[allow(clippy::too_many_arguments)]
pub fn line(
    id: &str,
    sku_id: &str,
    name: &str,
    sku_name: &str,
    seller_sku: &str,
    original: &str,
    sale: &str,
    seller: &str,
    platform: &str,
) -> Value {
    json!({
        "currency": "USD",
        "display_status": "AWAITING_SHIPMENT",
        "id": id,
        "is_gift": false,
        "item_tax": [{ "tax_amount": "1.24", "tax_rate": "0.08", "tax_type": "SALES_TAX" }],
        "original_price": original,
        "package_id": "1153132168123859123",
        "package_status": "TO_FULFILL",
        "platform_discount": platform,
        "product_id": "1729582718312380123",
        "product_name": name,
        "sale_price": sale,
        "seller_discount": seller,
        "seller_sku": seller_sku,
        "sku_id": sku_id,
        "sku_image": "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/mug.jpeg",
        "sku_name": sku_name,
        "sku_type": "NORMAL",
        "tracking_number": "9400111899223847561234"
    })
}

/// Order B: unpaid, then cancelled; no payment time, no address lines, no carrier yet.
pub fn order_b() -> Value {
    json!({
        "buyer_email": "v2c9Lm3Zt@scs.tiktokw.us",
        "buyer_message": "",
        "cancel_reason": "No longer needed",
        "cancel_time": 1763125200,
        "cancellation_initiator": "BUYER",
        "create_time": 1763121000,
        "id": ORDER_B,
        "line_items": [
            line("577801530011253406", "1729582718312382002", "Walnut Coaster Set (4)", "Default", "CST-WAL-4", "16.99", "16.99", "0", "0")
        ],
        "payment": {
            "currency": "USD",
            "sub_total": "16.99",
            "shipping_fee": "7.99",
            "tax": "1.36",
            "total_amount": "26.34"
        },
        "recipient_address": {
            "district_info": [{ "address_level_name": "Country", "address_name": "United States" }],
            "full_address": "1199 Coleman Ave, San Jose, CA 95110",
            "name": "Sam Rivera",
            "phone_number": "(+1)408-***-5521",
            "postal_code": "95110",
            "region_code": "US"
        },
        "status": "CANCELLED",
        "update_time": 1763125200
    })
}

pub fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::from_code("USD").expect("USD"))
}

pub fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

pub fn time(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).expect("time")
}

pub fn mug(id: &str) -> Item {
    Item {
        external_id: text(id),
        sku: text("MUG-SND-12"),
        name: "Speckled Stoneware Mug 12oz".into(),
        // 202309 line items are one unit each: two mugs are two lines.
        quantity: 1,
        unit_price: Some(usd(1899)),
        // 18.99 − 2.50 seller − 1.00 platform discount
        total: Some(usd(1549)),
        modifiers: vec![Modifier {
            name: "Sand".into(),
            quantity: None,
            price: None,
        }],
        note: None,
    }
}

/// Order A as the unified order, field by field from [`order_a`].
pub fn expected_order_a(status: Option<OrderStatus>) -> Order {
    Order {
        external_id: ORDER_A.into(),
        display_id: None,
        status,
        version: text("1763118660"),
        currency: Some(Currency::from_code("USD").expect("USD")),
        totals: Totals {
            // original_total_product_price 54.97 = 18.99 + 18.99 + 16.99
            subtotal: Some(usd(5497)),
            // seller 5.00 + platform 2.00 (54.97 − 7.00 = 47.97 = sub_total)
            discount: Some(usd(700)),
            tax: Some(usd(432)),
            // 7.99 − 2.00 platform shipping discount
            delivery_fee: Some(usd(599)),
            service_fee: None,
            tip: None,
            // 47.97 + 5.99 + 4.32
            total: Some(usd(5828)),
            ..Totals::default()
        },
        presentment_totals: None,
        items: vec![
            mug("577801526983594195"),
            mug("577801526983594196"),
            Item {
                external_id: text("577801526983594197"),
                sku: text("CST-WAL-4"),
                name: "Walnut Coaster Set (4)".into(),
                quantity: 1,
                unit_price: Some(usd(1699)),
                total: Some(usd(1699)),
                modifiers: vec![Modifier {
                    name: "Default".into(),
                    quantity: None,
                    price: None,
                }],
                note: None,
            },
        ],
        customer: Some(Customer {
            name: None,
            phone: None,
            email: text("v2b2V5x7Qk@scs.tiktokw.us"),
        }),
        fulfilment: Some(Fulfilment {
            kind: Some(FulfilmentType::Shipping),
            address: Some(Address {
                name: text("Jordan Avery"),
                phone: text("(+1)317-***-0142"),
                lines: vec!["415 Massachusetts Ave".into(), "Apt 4B".into()],
                city: text("Indianapolis"),
                region: text("Indiana"),
                postal_code: text("46204"),
                country_code: text("US"),
            }),
            scheduled_for: None,
            courier: Some(Courier {
                name: text("USPS"),
                phone: None,
                tracking_number: text("9400111899223847561234"),
                tracking_url: None,
            }),
            status: None,
        }),
        payments: vec![PaymentLine {
            provider: None,
            method: text("Credit/Debit Card"),
            amount: Some(usd(5828)),
            status: None,
            paid_at: Some(time(1763116855)),
        }],
        note: text("Please pack the mugs carefully."),
    }
}
