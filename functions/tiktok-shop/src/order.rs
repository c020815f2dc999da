//! A Get Order Detail 202309 order → the unified [`Order`].
//!
//! Field meanings: the official response example of
//! <https://partner.tiktokshop.com/docv2/page/get-order-detail-202309> and the TikTok Shop Node.js SDK
//! models (`Order202309GetOrderDetailResponseDataOrders*`). Amounts are decimal strings in
//! `payment.currency` (`"119"`, `"4.9"`), converted exactly with the currency's ISO 4217
//! exponent; an empty string counts as absent.

use o2o_core::connector::NormaliseError;
use o2o_core::event::{
    Address, Courier, Customer, Fulfilment, FulfilmentType, Item, Modifier, Order, OrderStatus,
    PaymentLine, Totals,
};
use o2o_core::fields::{self, non_empty};
use o2o_core::money::{Currency, DecimalText, Money};

use crate::payload::{ApiAddress, ApiLineItem, ApiOrder, ApiPayment};

/// The unified status of a Get Order Detail `status`. The API writes `CANCELLED` where the
/// order-status webhook writes `CANCEL`; both are read.
pub fn order_status(status: &str) -> Option<OrderStatus> {
    Some(match status {
        "UNPAID" => OrderStatus::PendingPayment,
        // Paid; ON_HOLD is TikTok's cooling-off period before the seller may ship.
        "ON_HOLD" | "AWAITING_SHIPMENT" => OrderStatus::Placed,
        "AWAITING_COLLECTION" => OrderStatus::Ready,
        "PARTIALLY_SHIPPING" | "IN_TRANSIT" => OrderStatus::OutForDelivery,
        "DELIVERED" | "COMPLETED" => OrderStatus::Completed,
        "CANCEL" | "CANCELLED" => OrderStatus::Cancelled,
        _ => return None,
    })
}

/// The unified order, as the API describes it now.
pub fn order(raw: &ApiOrder) -> Result<Order, NormaliseError> {
    let currency = order_currency(raw)?;
    let totals = match (&raw.payment, currency) {
        (Some(payment), Some(currency)) => totals(payment, currency)?,
        _ => Totals::default(),
    };
    let items = raw
        .line_items
        .iter()
        .enumerate()
        .map(|(i, line)| item(i, line, currency))
        .collect::<Result<Vec<_>, _>>()?;
    let payments = match raw.paid_time {
        Some(paid) => vec![PaymentLine {
            provider: None,
            method: non_empty(raw.payment_method_name.as_deref()),
            amount: totals.total,
            status: None,
            paid_at: Some(fields::unix_seconds("paid_time", paid)?),
        }],
        None => vec![],
    };
    Ok(Order {
        external_id: raw.id.0.clone(),
        display_id: None,
        status: raw.status.as_deref().and_then(order_status),
        version: raw.update_time.map(|t| t.to_string()),
        currency,
        totals,
        presentment_totals: None,
        items,
        customer: non_empty(raw.buyer_email.as_deref()).map(|email| Customer {
            name: None,
            phone: None,
            email: Some(email),
        }),
        fulfilment: Some(fulfilment(raw)),
        payments,
        note: non_empty(raw.buyer_message.as_deref()),
    })
}

/// `payment.currency`, else the first line item's.
fn order_currency(raw: &ApiOrder) -> Result<Option<Currency>, NormaliseError> {
    let (field, code) = match raw.payment.as_ref().and_then(|p| p.currency.as_deref()) {
        Some(code) => ("payment.currency", Some(code)),
        None => (
            "line_items.currency",
            raw.line_items.iter().find_map(|l| l.currency.as_deref()),
        ),
    };
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => fields::currency(field, code).map(Some),
        None => Ok(None),
    }
}

/// An amount field; absent or `""` is `None`.
fn amount(
    field: &str,
    text: Option<&DecimalText>,
    currency: Currency,
) -> Result<Option<Money>, NormaliseError> {
    let text = text.filter(|t| !t.0.trim().is_empty());
    fields::optional_money(field, text, currency)
}

/// Totals. `original_total_product_price` (before discounts) is the subtotal when present, and
/// the discount is then `seller_discount + platform_discount` on the products (documented
/// example: 149 − 30 − 0 = 119 = `sub_total`). Without it, `sub_total` (already net of those
/// discounts) is the subtotal and no discount is stated. Shipping discounts are already taken
/// off `shipping_fee`.
fn totals(payment: &ApiPayment, currency: Currency) -> Result<Totals, NormaliseError> {
    let original = amount(
        "payment.original_total_product_price",
        payment.original_total_product_price.as_ref(),
        currency,
    )?;
    let sub_total = amount("payment.sub_total", payment.sub_total.as_ref(), currency)?;
    let (subtotal, discount) = match original {
        Some(original) => {
            let parts = [
                amount(
                    "payment.seller_discount",
                    payment.seller_discount.as_ref(),
                    currency,
                )?,
                amount(
                    "payment.platform_discount",
                    payment.platform_discount.as_ref(),
                    currency,
                )?,
            ];
            let discount = if parts.iter().all(Option::is_none) {
                None
            } else {
                Some(fields::sum(
                    "payment.discount",
                    parts.into_iter().flatten(),
                    currency,
                )?)
            };
            (Some(original), discount)
        }
        None => (sub_total, None),
    };
    Ok(Totals {
        subtotal,
        discount,
        tax: amount("payment.tax", payment.tax.as_ref(), currency)?,
        delivery_fee: amount(
            "payment.shipping_fee",
            payment.shipping_fee.as_ref(),
            currency,
        )?,
        service_fee: None,
        tip: None,
        total: amount(
            "payment.total_amount",
            payment.total_amount.as_ref(),
            currency,
        )?,
        ..Totals::default()
    })
}

/// One line item: one unit each (202309 has no quantity; an order of three of one SKU has three
/// line items). Lines are not grouped, so each keeps its own id. `unit_price` is
/// `original_price` (before discounts), `total` is `sale_price` (after the seller and platform
/// discounts), `sku_name` becomes a modifier.
fn item(
    index: usize,
    line: &ApiLineItem,
    currency: Option<Currency>,
) -> Result<Item, NormaliseError> {
    let field = |name: &str| format!("line_items[{index}].{name}");
    let currency = match (currency, line.currency.as_deref()) {
        (Some(c), _) => Some(c),
        (None, Some(code)) => Some(fields::currency(&field("currency"), code)?),
        (None, None) => None,
    };
    let price = |name: &str, text: Option<&DecimalText>| match currency {
        Some(c) => amount(&field(name), text, c),
        None if text.is_some_and(|t| !t.0.trim().is_empty()) => {
            Err(NormaliseError::field(&field("currency"), "missing"))
        }
        None => Ok(None),
    };
    Ok(Item {
        external_id: line.id.as_ref().map(|id| id.0.clone()),
        sku: non_empty(line.seller_sku.as_deref())
            .or_else(|| line.sku_id.as_ref().map(|id| id.0.clone())),
        name: non_empty(line.product_name.as_deref()).unwrap_or_default(),
        quantity: 1,
        unit_price: price("original_price", line.original_price.as_ref())?,
        total: price("sale_price", line.sale_price.as_ref())?,
        modifiers: non_empty(line.sku_name.as_deref())
            .map(|name| Modifier {
                name,
                quantity: None,
                price: None,
            })
            .into_iter()
            .collect(),
        note: None,
    })
}

/// Shipping to `recipient_address`, with the carrier and tracking number once TikTok has them.
fn fulfilment(raw: &ApiOrder) -> Fulfilment {
    let carrier = non_empty(raw.shipping_provider.as_deref());
    let tracking = non_empty(raw.tracking_number.as_deref());
    Fulfilment {
        kind: Some(FulfilmentType::Shipping),
        address: raw.recipient_address.as_ref().map(address),
        scheduled_for: None,
        courier: (carrier.is_some() || tracking.is_some()).then_some(Courier {
            name: carrier,
            phone: None,
            tracking_number: tracking,
            tracking_url: None,
        }),
        status: None,
    }
}

/// The recipient address. Street lines are `address_line1..4`, else `full_address`; city and
/// region come from the `district_info` level named City / Post Town and State / Province /
/// Region ([I]: level names differ by market; other levels are left out).
fn address(raw: &ApiAddress) -> Address {
    let mut lines: Vec<String> = [
        &raw.address_line1,
        &raw.address_line2,
        &raw.address_line3,
        &raw.address_line4,
    ]
    .into_iter()
    .filter_map(|l| non_empty(l.as_deref()))
    .collect();
    if lines.is_empty() {
        lines.extend(non_empty(raw.full_address.as_deref()));
    }
    let level = |names: &[&str]| {
        raw.district_info.iter().find_map(|d| {
            let level = d.address_level_name.as_deref()?.trim();
            names
                .iter()
                .any(|n| level.eq_ignore_ascii_case(n))
                .then(|| non_empty(d.address_name.as_deref()))
                .flatten()
        })
    };
    Address {
        name: non_empty(raw.name.as_deref()),
        phone: non_empty(raw.phone_number.as_deref()),
        lines,
        city: level(&["City", "Post Town", "Town"]),
        region: level(&["State", "Province", "Region"]),
        postal_code: non_empty(raw.postal_code.as_deref()),
        country_code: non_empty(raw.region_code.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ApiOrder {
        serde_json::from_str(json).expect("order json")
    }

    /// The documented MYR example's amounts: original 149, seller discount 30, sub total 119,
    /// original shipping 4.9 fully discounted by the platform, total 119.
    #[test]
    fn totals_follow_the_documented_relation() {
        let raw = parse(
            r#"{"id":"576461413038785752","payment":{"currency":"MYR","original_total_product_price":"149",
            "original_shipping_fee":"4.9","sub_total":"119","shipping_fee":"0","seller_discount":"30",
            "platform_discount":"0","shipping_fee_platform_discount":"4.9","tax":"0","total_amount":"119"}}"#,
        );
        let myr = Currency::from_code("MYR").expect("MYR");
        let order = order(&raw).expect("order");
        let m = |minor| Some(Money::from_minor(minor, myr));
        assert_eq!(order.totals.subtotal, m(14900));
        assert_eq!(order.totals.discount, m(3000));
        assert_eq!(order.totals.delivery_fee, m(0));
        assert_eq!(order.totals.tax, m(0));
        assert_eq!(order.totals.total, m(11900));
        assert_eq!(order.customer, None);
        assert!(order.payments.is_empty(), "no paid_time, no payment line");
    }

    #[test]
    fn amounts_use_the_currency_exponent_and_are_never_rounded() {
        let raw = parse(
            r#"{"id":"1","payment":{"currency":"JPY","sub_total":"1500","total_amount":"1500.5"}}"#,
        );
        assert_eq!(
            order(&raw).map_err(|e| e.to_string()),
            Err("payment.total_amount: more decimal places than JPY allows (0)".into())
        );
        let raw = parse(
            r#"{"id":"1","payment":{"currency":"JPY","sub_total":"1500","total_amount":"","tax":null}}"#,
        );
        let order = order(&raw).expect("empty amounts are absent");
        let jpy = Currency::from_code("JPY").expect("JPY");
        assert_eq!(order.totals.subtotal, Some(Money::from_minor(1500, jpy)));
        assert_eq!((order.totals.total, order.totals.tax), (None, None));
    }

    #[test]
    fn a_line_price_without_any_currency_is_an_error() {
        let raw = parse(r#"{"id":"1","line_items":[{"id":"9","sale_price":"10"}]}"#);
        assert_eq!(
            order(&raw).map_err(|e| e.to_string()),
            Err("line_items[0].currency: missing".into())
        );
    }

    #[test]
    fn maps_api_statuses() {
        assert_eq!(order_status("UNPAID"), Some(OrderStatus::PendingPayment));
        assert_eq!(order_status("ON_HOLD"), Some(OrderStatus::Placed));
        assert_eq!(
            order_status("AWAITING_COLLECTION"),
            Some(OrderStatus::Ready)
        );
        assert_eq!(
            order_status("IN_TRANSIT"),
            Some(OrderStatus::OutForDelivery)
        );
        assert_eq!(order_status("COMPLETED"), Some(OrderStatus::Completed));
        assert_eq!(order_status("CANCELLED"), Some(OrderStatus::Cancelled));
        assert_eq!(order_status("SOMETHING_NEW"), None);
    }
}
