//! The order (`OOrder`) as a type-10 push carries it in `message` and as `eleme.order.getOrder`
//! returns it in `result`, and its unified reading.
//!
//! Fields: Java SDK `eleme/openapi/sdk/api/entity/order/OOrder.java`, `OGoodsGroup.java`,
//! `OGoodsItem.java` (`dllen/eleme-openapi-java-sdk` @ `8f7ef6c0d9b8c49c7eebcf2f4b4e259303fcaa5d`)
//! and the type-10 envelope of its `src/test/java/eleme/openapi/JsonTest.java`. Money is yuan
//! written as JSON doubles (`39.7`, `-0.5`, `-0.0`): read from the number's text, never `f64`.
//! Discounts and the platform's service fee are negative. Times are GMT+8 without a zone
//! (`2017-09-27T18:12:10`; the SDK also reads a space for the `T`).

use o2o_core::Timestamp;
use o2o_core::connector::NormaliseError;
use o2o_core::event::{
    Address, Customer, Fulfilment, FulfilmentType, Item, Order, OrderStatus, Totals,
};
use o2o_core::fields::{self, CHINA_STANDARD_TIME};
use o2o_core::ids::IdText;
use o2o_core::money::{DecimalText, Money};
use serde::Deserialize;

use crate::items::{GoodsItem, cny, money};

/// An Ele.me order (the fields the connector reads; others are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OOrder {
    /// The order id (19 digits, a string).
    pub id: Option<IdText>,
    /// The same id again.
    pub order_id: Option<IdText>,
    /// The shop.
    pub shop_id: Option<IdText>,
    /// The shop's order number of the day, which people see.
    pub day_sn: Option<IdText>,
    /// When it was placed (GMT+8).
    pub created_at: Option<TimeValue>,
    /// When it became valid (paid; GMT+8).
    pub active_at: Option<TimeValue>,
    /// When the customer wants it (GMT+8); `null` for "as soon as possible".
    pub deliver_time: Option<TimeValue>,
    /// Whether it is a booked (scheduled) order.
    pub book: Option<bool>,
    /// `pending`, `unprocessed`, `refunding`, `valid`, `invalid`, `settled`.
    pub status: Option<String>,
    /// The customer's name as the address book has it.
    pub consignee: Option<String>,
    /// The customer's phone numbers (possibly privacy numbers).
    pub phone_list: Option<Vec<String>>,
    /// The delivery address.
    pub address: Option<String>,
    /// The customer's note.
    pub description: Option<String>,
    /// What the customer pays.
    pub total_price: Option<DecimalText>,
    /// The price before discounts.
    pub original_price: Option<DecimalText>,
    /// The delivery fee.
    pub deliver_fee: Option<DecimalText>,
    /// The packaging fee (餐盒).
    pub package_fee: Option<DecimalText>,
    /// What the shop receives.
    pub income: Option<DecimalText>,
    /// The platform's service fee (negative).
    pub service_fee: Option<DecimalText>,
    /// The discounts the shop funds (negative).
    pub shop_part: Option<DecimalText>,
    /// The same under its older name.
    pub restaurant_part: Option<DecimalText>,
    /// The discounts Ele.me funds (negative).
    pub eleme_part: Option<DecimalText>,
    /// The baskets of items and the extra-fee group.
    pub groups: Option<Vec<Group>>,
}

/// A time written as text (GMT+8) or, by a differently configured serialiser, milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TimeValue {
    /// `2017-09-27T18:12:10` or `2017-09-27 18:12:10`.
    Text(String),
    /// Milliseconds since the Unix epoch.
    Millis(i64),
}

/// A group of items: a basket (`normal`), the extra fees (`extra`), or discounted items.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Group {
    /// `normal`, `extra` or `discount`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The items.
    pub items: Option<Vec<GoodsItem>>,
}

/// An amount Ele.me writes negative (discounts, its service fee), as a positive one.
fn positive(field: &str, amount: Option<&DecimalText>) -> Result<Option<Money>, NormaliseError> {
    money(field, amount)?
        .map(|m| fields::magnitude(field, m))
        .transpose()
}

/// A time field of an order.
pub fn time(field: &str, value: &TimeValue) -> Result<Timestamp, NormaliseError> {
    match value {
        TimeValue::Text(text) => fields::naive_time(field, text, CHINA_STANDARD_TIME),
        TimeValue::Millis(ms) => Timestamp::from_unix_seconds(ms.div_euclid(1000))
            .map_err(|_| NormaliseError::field(field, "not a time")),
    }
}

impl OOrder {
    /// The order id (`id`, else `orderId`).
    pub fn external_id(&self) -> Option<&str> {
        self.id
            .as_ref()
            .or(self.order_id.as_ref())
            .map(|id| id.0.as_str())
    }

    /// When it was placed: `activeAt`, else `createdAt`.
    pub fn placed_at(&self) -> Result<Option<Timestamp>, NormaliseError> {
        match (&self.active_at, &self.created_at) {
            (Some(at), _) => time("activeAt", at).map(Some),
            (None, Some(at)) => time("createdAt", at).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The unified order.
    pub fn to_order(&self) -> Result<Order, NormaliseError> {
        let external_id = self
            .external_id()
            .ok_or_else(|| NormaliseError::field("id", "missing"))?
            .to_owned();
        let phones = self
            .phone_list
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>();
        let phone = (!phones.is_empty()).then(|| phones.join(","));
        let name = self.consignee.clone().filter(|n| !n.is_empty());
        let customer = (name.is_some() || phone.is_some()).then(|| Customer {
            name: name.clone(),
            phone: phone.clone(),
            email: None,
        });
        let address = self
            .address
            .clone()
            .filter(|a| !a.is_empty())
            .map(|line| Address {
                name: name.clone(),
                phone: phones.first().cloned(),
                lines: vec![line],
                country_code: Some("CN".to_owned()),
                ..Address::default()
            });
        let scheduled_for = self
            .deliver_time
            .as_ref()
            .map(|at| time("deliverTime", at))
            .transpose()?;
        Ok(Order {
            external_id,
            display_id: self.day_sn.as_ref().map(|sn| sn.0.clone()),
            status: self.status.as_deref().and_then(order_status),
            version: None,
            currency: Some(cny()),
            totals: self.totals()?,
            presentment_totals: None,
            items: self.items()?,
            customer,
            fulfilment: Some(Fulfilment {
                kind: Some(FulfilmentType::Delivery),
                address,
                scheduled_for,
                courier: None,
                status: None,
            }),
            payments: Vec::new(),
            note: self.description.clone().filter(|d| !d.is_empty()),
        })
    }

    fn totals(&self) -> Result<Totals, NormaliseError> {
        let total = money("totalPrice", self.total_price.as_ref())?;
        let original = money("originalPrice", self.original_price.as_ref())?;
        // Every discount, whoever funds it: what the price was less what the customer pays.
        let discount = match (original, total) {
            (Some(original), Some(total)) => original
                .checked_sub(total)
                .ok()
                .filter(|d| d.amount_minor >= 0),
            _ => None,
        };
        let shop_part = self.shop_part.as_ref().or(self.restaurant_part.as_ref());
        Ok(Totals {
            subtotal: self.subtotal()?,
            discount,
            tax: None,
            delivery_fee: money("deliverFee", self.deliver_fee.as_ref())?,
            service_fee: money("packageFee", self.package_fee.as_ref())?,
            tip: None,
            total,
            platform_discount: positive("elemePart", self.eleme_part.as_ref())?,
            merchant_discount: positive("shopPart", shop_part)?,
            commission: positive("serviceFee", self.service_fee.as_ref())?,
            merchant_receivable: money("income", self.income.as_ref())?,
        })
    }

    /// The lines of the baskets; the `extra` group holds the fees (`餐盒`, negative ids) that
    /// `packageFee` already states.
    fn lines(&self) -> impl Iterator<Item = (usize, usize, &GoodsItem)> {
        self.groups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|(_, g)| g.kind.as_deref() != Some("extra"))
            .flat_map(|(g, group)| {
                group
                    .items
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(move |(i, item)| (g, i, item))
            })
    }

    /// The sum of the lines' totals, when every line states one.
    fn subtotal(&self) -> Result<Option<Money>, NormaliseError> {
        let mut sum = Some(Money::zero(cny()));
        for (g, i, item) in self.lines() {
            let field = format!("groups[{g}].items[{i}].total");
            sum = match (sum, money(&field, item.total.as_ref())?) {
                (Some(acc), Some(total)) => Some(fields::sum(&field, [acc, total], cny())?),
                _ => None,
            };
        }
        Ok(sum.filter(|_| self.lines().next().is_some()))
    }

    fn items(&self) -> Result<Vec<Item>, NormaliseError> {
        self.lines()
            .map(|(g, i, item)| crate::items::to_item(&format!("groups[{g}].items[{i}]"), item))
            .collect()
    }
}

/// The unified status of `OOrder.status`.
pub fn order_status(status: &str) -> Option<OrderStatus> {
    match status {
        "pending" => Some(OrderStatus::PendingPayment),
        "unprocessed" => Some(OrderStatus::Placed),
        "valid" => Some(OrderStatus::Accepted),
        "settled" => Some(OrderStatus::Completed),
        "invalid" => Some(OrderStatus::Cancelled),
        _ => None,
    }
}
