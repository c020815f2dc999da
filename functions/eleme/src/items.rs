//! One basket line of an order as a unified item: its specification and attributes as
//! modifiers, and its add-ons where they read as `{name, price, quantity}` (their shape is not
//! documented in the sources found).

use o2o_core::connector::NormaliseError;
use o2o_core::event::{Item, Modifier};
use o2o_core::ids::IdText;
use o2o_core::money::DecimalText;
use serde::Deserialize;

use crate::order::{GoodsItem, NameValue, money};
use crate::push::integer;

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
