//! Where a Youzan order goes: `order_info.express_type` and `address_info`.
//!
//! `express_type`: 0 express shipping, 1 pickup in store (到店自提), 2 local delivery (同城配送),
//! 9 no shipping (virtual goods) [C-2: comments quoting the `youzan.trade.get` docs in
//! third-party integrations]. `self_fetch_info` is a JSON object written as a string; its field
//! names (`name`, `province`, `city`, `district`, `address`, `user_name`, `user_tel`) are [?]:
//! they are read when present and the receiver fields stand in otherwise.

use o2o_core::event::{Address, Courier, Fulfilment, FulfilmentType};
use o2o_core::fields::non_empty;

use crate::payload::{AddressInfo, SelfFetchInfo};

/// `express_type` (0 express, 1 pickup, 2 local delivery, 9 none) and where the order goes.
pub fn fulfilment(
    express_type: Option<&str>,
    address: Option<&AddressInfo>,
    tracking_number: Option<&str>,
    status: Option<String>,
) -> Option<Fulfilment> {
    let kind = match express_type {
        Some("0") => Some(FulfilmentType::Shipping),
        Some("1") => Some(FulfilmentType::Pickup),
        Some("2") => Some(FulfilmentType::Delivery),
        _ => None,
    };
    let address = match (kind, address) {
        (_, None) => None,
        (Some(FulfilmentType::Pickup), Some(a)) => pickup_address(a).or_else(|| postal(a)),
        (_, Some(a)) => postal(a),
    };
    let courier = non_empty(tracking_number).map(|number| Courier {
        tracking_number: Some(number),
        ..Courier::default()
    });
    let fulfilment = Fulfilment {
        kind,
        address,
        scheduled_for: None,
        courier,
        status,
    };
    (fulfilment != Fulfilment::default()).then_some(fulfilment)
}

/// `address_info` as a postal address (district before the street line).
fn postal(a: &AddressInfo) -> Option<Address> {
    let address = Address {
        name: non_empty(a.receiver_name.as_deref()),
        phone: non_empty(a.receiver_tel.as_deref()),
        lines: [&a.delivery_district, &a.delivery_address]
            .into_iter()
            .filter_map(|l| non_empty(l.as_deref()))
            .collect(),
        city: non_empty(a.delivery_city.as_deref()),
        region: non_empty(a.delivery_province.as_deref()),
        postal_code: non_empty(a.delivery_postal_code.as_deref()),
        country_code: None,
    };
    (address != Address::default()).then_some(address)
}

/// The pickup point from `self_fetch_info` (a JSON object in a string), with the buyer who
/// collects it; `None` when it is empty or unreadable.
fn pickup_address(a: &AddressInfo) -> Option<Address> {
    let info: SelfFetchInfo = serde_json::from_str(a.self_fetch_info.as_deref()?).ok()?;
    let street = match (
        non_empty(info.name.as_deref()),
        non_empty(info.address.as_deref()),
    ) {
        (Some(name), Some(street)) => vec![name, street],
        (name, street) => name.or(street).into_iter().collect(),
    };
    let mut lines: Vec<String> = non_empty(info.district.as_deref()).into_iter().collect();
    lines.extend(street);
    let address = Address {
        name: non_empty(info.user_name.as_deref())
            .or_else(|| non_empty(a.receiver_name.as_deref())),
        phone: non_empty(info.user_tel.as_deref()).or_else(|| non_empty(a.receiver_tel.as_deref())),
        lines,
        city: non_empty(info.city.as_deref()),
        region: non_empty(info.province.as_deref()),
        postal_code: None,
        country_code: None,
    };
    (address != Address::default()).then_some(address)
}
