//! Which orders a payment channel's payments pay for ([`OrderLink`]), so that a payment event
//! joins the message group of its order's events.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::event::Payment;
use crate::settings::SettingsError;

/// The payment-channel settings that name the orders its payments pay for; a payment connector
/// flattens it into its settings (`#[serde(flatten)]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub struct OrderLink {
    /// The channel whose orders these payments pay for (`shopify`, `meituan`): a payment event
    /// then names it in `payment.order_channel`, and shares that order's message group
    /// (`{orders_channel}:{orders_tenant}:{order_ref}`), so the consumer sees the order and its
    /// payment in order. Unset: the payment's own group, `{channel}:{tenant}:{order_ref}`.
    #[serde(default)]
    pub orders_channel: Option<String>,
    /// That channel's tenant, as its events name it (a Shopify shop domain); unset: the payment
    /// channel's own tenant.
    #[serde(default)]
    pub orders_tenant: Option<String>,
}

impl OrderLink {
    /// Checks the settings: an `orders_channel` is a channel id (lower-case letters, digits and
    /// `-`), and an `orders_tenant` needs one.
    pub fn check(&self) -> Result<(), SettingsError> {
        if let Some(channel) = &self.orders_channel {
            let id = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
            if channel.is_empty() || !channel.chars().all(id) {
                return Err(SettingsError::setting(
                    "orders_channel",
                    "must be a channel id such as `shopify`",
                ));
            }
        }
        if self.orders_tenant.is_some() && self.orders_channel.is_none() {
            return Err(SettingsError::setting(
                "orders_tenant",
                "needs orders_channel",
            ));
        }
        Ok(())
    }

    /// Names the linked channel and tenant on `payment`, when it names an order.
    pub fn apply(&self, payment: &mut Payment) {
        if payment.order_ref.is_some() {
            payment.order_channel.clone_from(&self.orders_channel);
            payment.order_tenant.clone_from(&self.orders_tenant);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(channel: Option<&str>, tenant: Option<&str>) -> OrderLink {
        OrderLink {
            orders_channel: channel.map(str::to_owned),
            orders_tenant: tenant.map(str::to_owned),
        }
    }

    #[test]
    fn names_the_orders_channel_only_on_a_payment_with_an_order() {
        let mut payment = Payment {
            order_ref: Some("1001".into()),
            ..Payment::default()
        };
        link(Some("shopify"), Some("shop.myshopify.com")).apply(&mut payment);
        assert_eq!(payment.order_channel.as_deref(), Some("shopify"));
        assert_eq!(payment.order_tenant.as_deref(), Some("shop.myshopify.com"));
        let mut orphan = Payment::default();
        link(Some("shopify"), None).apply(&mut orphan);
        assert_eq!(orphan.order_channel, None);
    }

    #[test]
    fn settings_name_what_is_wrong() {
        assert!(link(None, None).check().is_ok());
        assert!(link(Some("uber-eats"), Some("t")).check().is_ok());
        for (bad, setting) in [
            (link(Some("Shopify"), None), "orders_channel"),
            (link(Some(""), None), "orders_channel"),
            (link(None, Some("t")), "orders_tenant"),
        ] {
            let error = bad.check().expect_err("refused").to_string();
            assert!(error.contains(setting), "{error}");
        }
    }
}
