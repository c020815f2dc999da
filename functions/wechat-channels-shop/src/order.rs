//! The order-detail answer of `POST /channels/ec/order/get` and its unified [`Order`].
//!
//! Source: <https://developers.weixin.qq.com/doc/store/shop/API/channels-shop-order/api_getorder.md>
//! (also <https://developers.weixin.qq.com/doc/channels/API/order/get.html>): `create_time` /
//! `update_time` / `pay_time` are Unix seconds; money is integer **fen** (`sale_price: 2000`,
//! `price_info.product_price`/`order_price`/`freight`/`discounted_price`); `status` is numeric.
//! Developers report that `order_id` and `product_id`/`sku_id` come back as strings although the
//! doc says number ([C-2], WeChat developer community), so every id and number here accepts
//! both forms through [`IdText`] and never passes through a float.

use o2o_core::connector::NormaliseError;
use o2o_core::event::{
    Address, Courier, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus, PaymentLine,
    Totals,
};
use o2o_core::fields::{non_empty, unix_seconds};
use o2o_core::ids::IdText;
use o2o_core::money::{Currency, Money};
use o2o_core::timestamp::Timestamp;
use serde::Deserialize;

/// One order as the API describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderDetail {
    /// The order id.
    pub order_id: IdText,
    /// Numeric status (see [`order_status`]).
    pub status: Option<IdText>,
    /// Last update, Unix seconds (the unified `version`).
    pub update_time: Option<IdText>,
    /// Items, prices, payment, delivery.
    pub order_detail: Option<Detail>,
}

/// `order.order_detail`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Detail {
    /// The ordered SKUs.
    #[serde(default)]
    pub product_infos: Vec<ProductInfo>,
    /// Order-level amounts.
    pub price_info: Option<PriceInfo>,
    /// Payment.
    pub pay_info: Option<PayInfo>,
    /// Address and parcels.
    pub delivery_info: Option<DeliveryInfo>,
    /// Notes.
    pub ext_info: Option<ExtInfo>,
}

/// One SKU line.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductInfo {
    /// Platform SKU id.
    pub sku_id: Option<IdText>,
    /// Merchant SKU code.
    pub sku_code: Option<String>,
    /// Product title.
    pub title: Option<String>,
    /// Quantity.
    pub sku_cnt: Option<IdText>,
    /// Unit sale price, fen.
    pub sale_price: Option<IdText>,
    /// What the buyer pays for the line after discounts, fen ([C-2]: "实付总价").
    pub real_price: Option<IdText>,
    /// SKU attributes (`规格: 500g`).
    #[serde(default)]
    pub sku_attrs: Vec<SkuAttr>,
}

/// A SKU attribute.
#[derive(Debug, Clone, Deserialize)]
pub struct SkuAttr {
    /// Attribute name.
    pub attr_key: Option<String>,
    /// Attribute value.
    pub attr_value: Option<String>,
}

/// `price_info`, fen.
#[derive(Debug, Clone, Deserialize)]
pub struct PriceInfo {
    /// Sum of the products.
    pub product_price: Option<IdText>,
    /// What the buyer pays.
    pub order_price: Option<IdText>,
    /// Shipping.
    pub freight: Option<IdText>,
    /// Discounts.
    pub discounted_price: Option<IdText>,
}

/// `pay_info`.
#[derive(Debug, Clone, Deserialize)]
pub struct PayInfo {
    /// WeChat Pay transaction id.
    pub transaction_id: Option<String>,
    /// Payment time, Unix seconds.
    pub pay_time: Option<IdText>,
}

/// `delivery_info`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryInfo {
    /// The recipient.
    pub address_info: Option<AddressInfo>,
    /// Parcels shipped.
    #[serde(default)]
    pub delivery_product_info: Vec<Parcel>,
}

/// `delivery_info.address_info`.
#[derive(Debug, Clone, Deserialize)]
pub struct AddressInfo {
    /// Recipient name.
    pub user_name: Option<String>,
    /// Phone (often empty: virtual numbers are used instead).
    pub tel_number: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Province.
    pub province_name: Option<String>,
    /// City.
    pub city_name: Option<String>,
    /// County / district.
    pub county_name: Option<String>,
    /// Street address.
    pub detail_info: Option<String>,
    /// House number.
    pub house_number: Option<String>,
}

/// One parcel of `delivery_product_info`.
#[derive(Debug, Clone, Deserialize)]
pub struct Parcel {
    /// Tracking number.
    pub waybill_id: Option<String>,
    /// Carrier code, e.g. `SF`.
    pub delivery_id: Option<String>,
}

/// `ext_info`.
#[derive(Debug, Clone, Deserialize)]
pub struct ExtInfo {
    /// The buyer's note.
    pub customer_notes: Option<String>,
}

/// Renminbi: the Channels shop sells in CNY only.
pub fn cny() -> Currency {
    // "CNY" is in the ISO table; the fallback is never taken.
    Currency::from_code("CNY").unwrap_or_else(|_| unreachable!("CNY is an ISO 4217 code"))
}

/// Maps the documented numeric statuses: 10 待付款, 20 待发货, 21 部分发货, 30 待收货,
/// 100 完成, 200 全部商品售后之后订单取消, 250 未付款取消 / 超时取消. Others (12 礼物待收下,
/// 13 凑单买凑团中 …) are left unmapped ([?]).
pub fn order_status(code: &str) -> Option<OrderStatus> {
    Some(match code {
        "10" => OrderStatus::PendingPayment,
        "20" => OrderStatus::Placed,
        "21" | "30" => OrderStatus::OutForDelivery,
        "100" => OrderStatus::Completed,
        "200" => OrderStatus::Refunded,
        "250" => OrderStatus::Cancelled,
        _ => return None,
    })
}

fn integer(field: &str, value: &IdText) -> Result<i64, NormaliseError> {
    value
        .0
        .parse()
        .map_err(|_| NormaliseError::field(field, "not an integer"))
}

fn fen(field: &str, value: Option<&IdText>) -> Result<Option<Money>, NormaliseError> {
    value
        .map(|v| integer(field, v).map(|f| Money::from_minor(f, cny())))
        .transpose()
}

/// A Unix-seconds field; `0` means "not yet" on this API.
pub fn time(field: &str, value: Option<&IdText>) -> Result<Option<Timestamp>, NormaliseError> {
    match value.map(|v| integer(field, v)).transpose()? {
        None | Some(0) => Ok(None),
        Some(seconds) => unix_seconds(field, seconds).map(Some),
    }
}

impl OrderDetail {
    /// What the buyer pays (`price_info.order_price`).
    pub fn order_price(&self) -> Result<Option<Money>, NormaliseError> {
        fen(
            "order_detail.price_info.order_price",
            self.order_detail
                .as_ref()
                .and_then(|d| d.price_info.as_ref())
                .and_then(|p| p.order_price.as_ref()),
        )
    }

    /// The unified order.
    pub fn to_order(&self) -> Result<Order, NormaliseError> {
        let empty = Detail::default();
        let detail = self.order_detail.as_ref().unwrap_or(&empty);
        let price = detail.price_info.as_ref();
        let totals = Totals {
            subtotal: fen(
                "order_detail.price_info.product_price",
                price.and_then(|p| p.product_price.as_ref()),
            )?,
            discount: fen(
                "order_detail.price_info.discounted_price",
                price.and_then(|p| p.discounted_price.as_ref()),
            )?,
            delivery_fee: fen(
                "order_detail.price_info.freight",
                price.and_then(|p| p.freight.as_ref()),
            )?,
            total: self.order_price()?,
            ..Totals::default()
        };
        let items = detail
            .product_infos
            .iter()
            .enumerate()
            .map(|(i, p)| item(i, p))
            .collect::<Result<Vec<_>, _>>()?;
        let payments = match &detail.pay_info {
            Some(pay) => match time("order_detail.pay_info.pay_time", pay.pay_time.as_ref())? {
                Some(paid_at) => vec![PaymentLine {
                    provider: Some("wechat-pay".into()),
                    method: Some("wechat_pay".into()),
                    amount: totals.total,
                    status: Some("paid".into()),
                    paid_at: Some(paid_at),
                }],
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        Ok(Order {
            external_id: self.order_id.0.clone(),
            display_id: None,
            status: self.status.as_ref().and_then(|s| order_status(&s.0)),
            version: self.update_time.as_ref().map(|t| t.0.clone()),
            currency: Some(cny()),
            totals,
            presentment_totals: None,
            items,
            customer: None,
            fulfilment: detail.delivery_info.as_ref().map(fulfilment),
            payments,
            note: non_empty(
                detail
                    .ext_info
                    .as_ref()
                    .and_then(|e| e.customer_notes.as_deref()),
            ),
        })
    }
}

fn item(index: usize, p: &ProductInfo) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("order_detail.product_infos[{index}].{name}");
    let quantity = match &p.sku_cnt {
        Some(cnt) => u32::try_from(integer(&field("sku_cnt"), cnt)?)
            .map_err(|_| NormaliseError::field(&field("sku_cnt"), "out of range"))?,
        None => return Err(NormaliseError::field(&field("sku_cnt"), "missing")),
    };
    Ok(Item {
        external_id: p.sku_id.as_ref().map(|s| s.0.clone()),
        sku: non_empty(p.sku_code.as_deref()),
        name: non_empty(p.title.as_deref())
            .ok_or_else(|| NormaliseError::field(&field("title"), "missing"))?,
        quantity,
        unit_price: fen(&field("sale_price"), p.sale_price.as_ref())?,
        total: fen(&field("real_price"), p.real_price.as_ref())?,
        modifiers: p
            .sku_attrs
            .iter()
            .filter_map(|a| {
                let key = non_empty(a.attr_key.as_deref())?;
                let value = non_empty(a.attr_value.as_deref())?;
                Some(Modifier {
                    name: format!("{key}: {value}"),
                    ..Modifier::default()
                })
            })
            .collect(),
        note: None,
    })
}

fn fulfilment(delivery: &DeliveryInfo) -> Fulfilment {
    let address = delivery.address_info.as_ref().map(|a| Address {
        name: non_empty(a.user_name.as_deref()),
        phone: non_empty(a.tel_number.as_deref()),
        lines: [&a.county_name, &a.detail_info, &a.house_number]
            .into_iter()
            .filter_map(|l| non_empty(l.as_deref()))
            .collect(),
        city: non_empty(a.city_name.as_deref()),
        region: non_empty(a.province_name.as_deref()),
        postal_code: non_empty(a.postal_code.as_deref()),
        country_code: Some("CN".into()),
    });
    let courier = delivery.delivery_product_info.iter().find_map(|p| {
        let tracking = non_empty(p.waybill_id.as_deref())?;
        Some(Courier {
            name: non_empty(p.delivery_id.as_deref()),
            tracking_number: Some(tracking),
            ..Courier::default()
        })
    });
    Fulfilment {
        kind: Some(FulfilmentType::Shipping),
        address,
        courier,
        ..Fulfilment::default()
    }
}
