//! One basket line of an order as a unified item: its specification and attributes as
//! modifiers, and its add-ons where they read as `{name, price, quantity}` (their shape is not
//! documented in the sources found). Also the CNY amounts of lines and orders alike.

use o2o_core::connector::NormaliseError;
use o2o_core::event::{Item, Modifier};
use o2o_core::fields;
use o2o_core::ids::IdText;
use o2o_core::money::{Currency, DecimalText, Money};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::push::integer;

/// One item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoodsItem {
    /// Ele.me's item id (negative for fees).
    pub id: Option<IdText>,
    /// Ele.me's SKU id.
    pub sku_id: Option<IdText>,
    /// The name, `name-spec[attribute+attribute]`.
    pub name: Option<String>,
    /// The unit price.
    pub price: Option<DecimalText>,
    /// How many.
    pub quantity: Option<IdText>,
    /// The line total.
    pub total: Option<DecimalText>,
    /// The chosen specification (`规格: 小杯`).
    pub new_specs: Option<Vec<NameValue>>,
    /// The chosen attributes (`甜度: 五分糖`).
    pub attributes: Option<Vec<NameValue>>,
    /// Add-ons; their shape is not documented, so only objects with a `name` are read.
    pub additions: Option<Vec<Box<RawValue>>>,
    /// The merchant's own code for the item.
    pub extend_code: Option<String>,
}

/// A `{name, value}` pair.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NameValue {
    /// The option's name.
    pub name: Option<String>,
    /// The value chosen.
    pub value: Option<String>,
}

/// Chinese yuan, in which Ele.me states every amount.
pub fn cny() -> Currency {
    // CNY is in the ISO 4217 table; the fallback is never taken.
    Currency::from_code("CNY").unwrap_or_else(|_| unreachable!("CNY is an ISO 4217 code"))
}

pub(crate) fn money(
    field: &str,
    amount: Option<&DecimalText>,
) -> Result<Option<Money>, NormaliseError> {
    fields::optional_money(field, amount, cny())
}

#[derive(Deserialize)]
struct Addition {
    name: Option<String>,
    price: Option<DecimalText>,
    quantity: Option<IdText>,
}

/// The unified item of the line at `path` (`groups[0].items[1]`).
pub(crate) fn to_item(path: &str, item: &GoodsItem) -> Result<Item, NormaliseError> {
    let quantity = match &item.quantity {
        Some(q) => u32::try_from(integer(&format!("{path}.quantity"), q)?)
            .map_err(|_| NormaliseError::field(&format!("{path}.quantity"), "out of range"))?,
        None => 1,
    };
    let pairs = |list: &Option<Vec<NameValue>>| {
        list.as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                let name = p.name.as_deref().filter(|n| !n.is_empty());
                let value = p.value.as_deref().filter(|v| !v.is_empty());
                match (name, value) {
                    (Some(n), Some(v)) => Some(format!("{n}: {v}")),
                    (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
                    (None, None) => None,
                }
            })
            .map(|name| Modifier {
                name,
                ..Modifier::default()
            })
            .collect::<Vec<_>>()
    };
    let mut modifiers = pairs(&item.new_specs);
    modifiers.extend(pairs(&item.attributes));
    for (a, raw) in item
        .additions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Ok(addition) = serde_json::from_str::<Addition>(raw.get()) else {
            continue;
        };
        let Some(name) = addition.name.filter(|n| !n.is_empty()) else {
            continue;
        };
        let field = format!("{path}.additions[{a}]");
        modifiers.push(Modifier {
            name,
            quantity: match &addition.quantity {
                Some(q) => Some(
                    u32::try_from(integer(&format!("{field}.quantity"), q)?).map_err(|_| {
                        NormaliseError::field(&format!("{field}.quantity"), "out of range")
                    })?,
                ),
                None => None,
            },
            price: money(&format!("{field}.price"), addition.price.as_ref())?,
        });
    }
    let sku = item
        .extend_code
        .clone()
        .filter(|c| !c.is_empty())
        .or_else(|| item.sku_id.as_ref().map(|s| s.0.clone()));
    Ok(Item {
        external_id: item.id.as_ref().map(|id| id.0.clone()),
        sku,
        name: item.name.clone().unwrap_or_default(),
        quantity,
        unit_price: money(&format!("{path}.price"), item.price.as_ref())?,
        total: money(&format!("{path}.total"), item.total.as_ref())?,
        modifiers,
        note: None,
    })
}
