//! Stripe amounts → exact ISO 4217 minor units.
//!
//! Stripe writes every amount as an integer in "the currency's minor unit" by its own table
//! (docs.stripe.com/currencies, "Minor units in API amounts", "Zero-decimal currencies",
//! "Three-decimal currencies", "Special cases"), which differs from ISO 4217 in three places:
//!
//! - MGA is zero-decimal at Stripe (`1000` is 1000 ariary) but has exponent 2 in ISO 4217: the
//!   amount is multiplied by 100.
//! - ISK and UGX are zero-decimal in ISO 4217 but, "for backwards compatibility", two-decimal at
//!   Stripe (`500` is 5 ISK; support.stripe.com/questions/deprecation-of-fractional-isk-charges-
//!   and-refunds: "ISK will remain a two-decimal currency in the Stripe API"): the amount is
//!   divided by 100, and one that is not a whole number of krónur or shillings (an ISK charge
//!   from before April 2023) is refused, never rounded.
//! - HUF and TWD are two-decimal for charges (zero-decimal only for payouts), as in ISO 4217.
//!
//! BHD, JOD, KWD, OMR and TND are three-decimal at Stripe as in ISO 4217 (Stripe asks for a last
//! digit of 0, which changes nothing here). Every other currency is two-decimal at Stripe
//! ("unless otherwise noted"); where ISO 4217 says otherwise the amount is converted exactly the
//! same way (or refused).

use o2o_core::connector::NormaliseError;
use o2o_core::fields;
use o2o_core::money::{Currency, Money, MoneyError};

/// Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal), less UGX, which
/// its special cases make two-decimal in the API.
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF",
    "XOF", "XPF",
];

/// Stripe's three-decimal currencies (docs.stripe.com/currencies#three-decimal).
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// How many decimals Stripe's integer amounts in `code` carry.
pub fn stripe_exponent(code: &str) -> u8 {
    if ZERO_DECIMAL.contains(&code) {
        0
    } else if THREE_DECIMAL.contains(&code) {
        3
    } else {
        // Two-decimal, including the special cases ISK and UGX (two-decimal in the API) and
        // HUF and TWD (two-decimal for charges).
        2
    }
}

/// The ISO currency of a Stripe `currency` field (lower-case ISO code).
pub fn currency(field: &str, code: Option<&str>) -> Result<Currency, NormaliseError> {
    let code = code.ok_or_else(|| NormaliseError::field(field, "missing"))?;
    fields::currency(field, &code.to_ascii_uppercase())
}

/// A Stripe amount in `currency`, as exact ISO 4217 minor units.
pub fn money(field: &str, amount: i64, currency: Currency) -> Result<Money, NormaliseError> {
    let stripe = stripe_exponent(currency.code());
    let iso = currency.exponent();
    let converted = if iso >= stripe {
        10i64
            .checked_pow(u32::from(iso - stripe))
            .and_then(|factor| amount.checked_mul(factor))
            .ok_or_else(|| NormaliseError::field(field, MoneyError::OutOfRange))?
    } else {
        let factor = 10i64.pow(u32::from(stripe - iso));
        if amount % factor != 0 {
            return Err(NormaliseError::field(
                field,
                format!(
                    "not a whole number of {} minor units (Stripe writes it with {stripe} \
                     decimals, ISO 4217 with {iso})",
                    currency.code()
                ),
            ));
        }
        amount / factor
    };
    Ok(Money::from_minor(converted, currency))
}

/// A required Stripe amount field.
pub fn required(
    field: &str,
    amount: Option<i64>,
    currency: Currency,
) -> Result<Money, NormaliseError> {
    let amount = amount.ok_or_else(|| NormaliseError::field(field, "missing"))?;
    money(field, amount, currency)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(amount: i64, code: &str) -> Result<i64, String> {
        let currency = currency("currency", Some(code)).map_err(|e| e.to_string())?;
        money("amount", amount, currency)
            .map(|m| m.amount_minor)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn two_zero_and_three_decimal_currencies_are_read_as_iso_minor_units() {
        assert_eq!(minor(1099, "usd"), Ok(1099));
        assert_eq!(minor(500, "jpy"), Ok(500));
        assert_eq!(minor(15000, "krw"), Ok(15000));
        assert_eq!(minor(5120, "kwd"), Ok(5120));
        assert_eq!(minor(1230, "bhd"), Ok(1230));
        assert_eq!(minor(1000, "huf"), Ok(1000));
        assert_eq!(minor(1000, "twd"), Ok(1000));
        assert_eq!(minor(0, "eur"), Ok(0));
    }

    #[test]
    fn the_special_cases_convert_exactly_or_are_refused() {
        // 500 is 5 ISK / 5 UGX at Stripe; ISO 4217 has no minor unit for either.
        assert_eq!(minor(500, "isk"), Ok(5));
        assert_eq!(minor(380_000, "ugx"), Ok(3_800));
        let fractional = minor(4010, "isk").expect_err("40.10 ISK");
        assert_eq!(
            fractional,
            "amount: not a whole number of ISK minor units (Stripe writes it with 2 decimals, \
             ISO 4217 with 0)"
        );
        assert!(minor(-150, "ugx").is_err());
        // 1000 is 1000 ariary at Stripe, 100000 iraimbilanja-hundredths in ISO 4217.
        assert_eq!(minor(1000, "mga"), Ok(100_000));
        assert_eq!(
            minor(i64::MAX / 10, "mga"),
            Err("amount: amount out of range".into())
        );
    }

    #[test]
    fn an_unknown_or_missing_currency_is_a_field_error() {
        assert_eq!(
            minor(100, "xyz"),
            Err("currency: unknown currency code".into())
        );
        assert_eq!(
            currency("data.object.currency", None).map_err(|e| e.to_string()),
            Err("data.object.currency: missing".into())
        );
    }
}
