//! Exact money: integer minor units by the ISO 4217 exponent, parsed from decimal text.
//!
//! A float never touches money. Platforms send amounts as decimal strings (`"409.94"`,
//! `"-10.00"`) or JSON numbers (`3`, `12.5`); both arrive here as text ([`DecimalText`]) and are
//! converted exactly. A value with more precision than the currency allows, or outside `i64`, is
//! an error, never rounded.

use std::fmt;

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an amount or currency could not be turned into [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is not a plain decimal number.
    #[error("not a decimal number")]
    NotDecimal,
    /// The amount has non-zero digits below the currency's minor unit.
    #[error("more decimal places than {currency} allows ({exponent})")]
    TooPrecise {
        /// The currency code.
        currency: &'static str,
        /// Its ISO 4217 exponent.
        exponent: u8,
    },
    /// The amount does not fit in 64-bit minor units.
    #[error("amount out of range")]
    OutOfRange,
    /// The currency code is not an active ISO 4217 code.
    #[error("unknown currency code")]
    UnknownCurrency,
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(&'static str, &'static str),
}

/// Active ISO 4217 codes with their minor-unit exponent, sorted by code (binary search).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// An ISO 4217 currency with its minor-unit exponent (JPY 0, CNY 2, KWD 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// Looks up an active ISO 4217 code (upper case, as platforms send it).
    pub fn from_code(code: &str) -> Result<Self, MoneyError> {
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(code))
            .map(|at| Self {
                code: CURRENCIES[at].0,
                exponent: CURRENCIES[at].1,
            })
            .map_err(|_| MoneyError::UnknownCurrency)
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The number of decimal places of the minor unit.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::from_code(&code).map_err(D::Error::custom)
    }
}

impl JsonSchema for Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 currency code"
        })
    }
}

/// An exact amount: integer minor units of a currency (`{"amount_minor": 1250, "currency": "USD"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    /// The amount in the currency's minor unit (cents for USD, yen for JPY, fils for KWD).
    pub amount_minor: i64,
    /// The ISO 4217 currency.
    pub currency: Currency,
}

impl Money {
    /// Builds money from minor units, e.g. integer fen from Chinese platforms.
    pub fn from_minor(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::from_minor(0, currency)
    }

    /// Parses a decimal amount in major units (`"409.94"`, `"-10.00"`, `"3"`) exactly.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let amount_minor = parse_minor_units(text, currency.exponent).map_err(|e| match e {
            MoneyError::TooPrecise { exponent, .. } => MoneyError::TooPrecise {
                currency: currency.code,
                exponent,
            },
            other => other,
        })?;
        Ok(Self {
            amount_minor,
            currency,
        })
    }

    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(
                self.currency.code,
                other.currency.code,
            ));
        }
        let amount_minor = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::OutOfRange)?;
        Ok(Money {
            amount_minor,
            currency: self.currency,
        })
    }

    /// Subtracts an amount of the same currency (a discount from a price).
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        let negated = other
            .amount_minor
            .checked_neg()
            .ok_or(MoneyError::OutOfRange)?;
        self.checked_add(Money {
            amount_minor: negated,
            currency: other.currency,
        })
    }

    /// Multiplies the amount by a quantity.
    pub fn checked_mul(self, quantity: i64) -> Result<Money, MoneyError> {
        let amount_minor = self
            .amount_minor
            .checked_mul(quantity)
            .ok_or(MoneyError::OutOfRange)?;
        Ok(Money {
            amount_minor,
            currency: self.currency,
        })
    }
}

/// Largest exponent magnitude accepted in scientific notation; beyond it no `i64` amount fits.
const MAX_SCALE: i64 = 64;

/// Converts decimal text (`-12.50`, `3`, `1.25e2`) to integer units of `10^-exponent`, exactly.
///
/// Trailing zeros beyond the exponent are accepted (`"409.940"` in USD); any other digit there is
/// [`MoneyError::TooPrecise`]. Scientific notation is accepted because JSON numbers may use it.
pub fn parse_minor_units(text: &str, exponent: u8) -> Result<i64, MoneyError> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exp10) = match unsigned.find(['e', 'E']) {
        Some(at) => {
            let exp_text = &unsigned[at + 1..];
            let exp_digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
            if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(MoneyError::NotDecimal);
            }
            let exp10: i64 = exp_text.parse().map_err(|_| MoneyError::OutOfRange)?;
            (&unsigned[..at], exp10)
        }
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(int_part) || (mantissa.contains('.') && !is_digits(frac_part)) {
        return Err(MoneyError::NotDecimal);
    }
    if !(-MAX_SCALE..=MAX_SCALE).contains(&exp10) {
        return Err(MoneyError::OutOfRange);
    }
    // value = digits * 10^(shift - exponent), with digits = int_part ++ frac_part.
    let shift = i64::from(exponent) + exp10 - frac_part.len() as i64;
    let digits = int_part.bytes().chain(frac_part.bytes());
    let kept = (int_part.len() + frac_part.len()) as i64 + shift.min(0);
    let mut units: i128 = 0;
    for (index, digit) in digits.enumerate() {
        let digit = i128::from(digit - b'0');
        if (index as i64) < kept {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(digit))
                .ok_or(MoneyError::OutOfRange)?;
            if units > i128::from(u64::MAX) {
                return Err(MoneyError::OutOfRange);
            }
        } else if digit != 0 {
            return Err(MoneyError::TooPrecise {
                currency: "",
                exponent,
            });
        }
    }
    for _ in 0..shift.max(0) {
        units = units.checked_mul(10).ok_or(MoneyError::OutOfRange)?;
        if units > i128::from(u64::MAX) {
            return Err(MoneyError::OutOfRange);
        }
    }
    let signed = if negative { -units } else { units };
    i64::try_from(signed).map_err(|_| MoneyError::OutOfRange)
}

/// A decimal amount exactly as the platform wrote it, from a JSON string or a JSON number.
///
/// Deserialising through [`serde_json::value::RawValue`] keeps the number's text, so `12.5` is
/// never rounded through `f64`. Only works with `serde_json` deserialisers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalText(pub String);

impl DecimalText {
    /// Converts to money in `currency`.
    pub fn to_money(&self, currency: Currency) -> Result<Money, MoneyError> {
        Money::parse(&self.0, currency)
    }
}

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            Ok(DecimalText(s))
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            Ok(DecimalText(text.to_owned()))
        } else {
            Err(D::Error::custom("expected a decimal string or number"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::from_code("USD").expect("USD")
    }

    /// Found by the fuzz harness (tests/fuzz): a Shopify line's `total_discount` of
    /// `-92233720368547758.08` (i64::MIN cents) overflowed when the connector negated it.
    #[test]
    fn subtraction_refuses_what_an_i64_cannot_hold() {
        let cents = |n: i64| Money::from_minor(n, usd());
        assert_eq!(cents(1000).checked_sub(cents(250)), Ok(cents(750)));
        assert_eq!(
            cents(0).checked_sub(cents(i64::MIN)),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            cents(-2).checked_sub(cents(i64::MAX)),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(cents(-1).checked_sub(cents(i64::MAX)), Ok(cents(i64::MIN)));
        let eur = Money::from_minor(1, Currency::from_code("EUR").expect("EUR"));
        assert!(matches!(
            cents(1).checked_sub(eur),
            Err(MoneyError::CurrencyMismatch(..))
        ));
    }

    #[test]
    fn parses_platform_amounts_exactly() {
        assert_eq!(
            Money::parse("409.94", usd()).map(|m| m.amount_minor),
            Ok(40994)
        );
        assert_eq!(
            Money::parse("-10.00", usd()).map(|m| m.amount_minor),
            Ok(-1000)
        );
        assert_eq!(Money::parse("3", usd()).map(|m| m.amount_minor), Ok(300));
        assert_eq!(
            Money::parse("12.5", usd()).map(|m| m.amount_minor),
            Ok(1250)
        );
        assert_eq!(Money::parse("0.1", usd()).map(|m| m.amount_minor), Ok(10));
        assert_eq!(
            Money::parse("409.940", usd()).map(|m| m.amount_minor),
            Ok(40994)
        );
        assert_eq!(
            Money::parse("1.25e2", usd()).map(|m| m.amount_minor),
            Ok(12500)
        );
        assert_eq!(
            Money::parse("125E-2", usd()).map(|m| m.amount_minor),
            Ok(125)
        );
        assert_eq!(Money::parse("-0", usd()).map(|m| m.amount_minor), Ok(0));
    }

    #[test]
    fn uses_each_currency_exponent() {
        let jpy = Currency::from_code("JPY").expect("JPY");
        let kwd = Currency::from_code("KWD").expect("KWD");
        let cny = Currency::from_code("CNY").expect("CNY");
        assert_eq!(Money::parse("1500", jpy).map(|m| m.amount_minor), Ok(1500));
        assert_eq!(
            Money::parse("1500.00", jpy).map(|m| m.amount_minor),
            Ok(1500)
        );
        assert_eq!(Money::parse("1.234", kwd).map(|m| m.amount_minor), Ok(1234));
        assert_eq!(Money::parse("19.90", cny).map(|m| m.amount_minor), Ok(1990));
        assert_eq!((jpy.exponent(), cny.exponent(), kwd.exponent()), (0, 2, 3));
    }

    #[test]
    fn rejects_over_precise_and_malformed_amounts() {
        let jpy = Currency::from_code("JPY").expect("JPY");
        assert_eq!(
            Money::parse("1500.5", jpy),
            Err(MoneyError::TooPrecise {
                currency: "JPY",
                exponent: 0
            })
        );
        assert!(matches!(
            Money::parse("0.001", usd()),
            Err(MoneyError::TooPrecise { .. })
        ));
        for bad in [
            "", "-", "1.", ".5", "1.2.3", "1,00", " 1", "+1", "1e", "e2", "NaN", "1_000", "0x10",
        ] {
            assert_eq!(
                Money::parse(bad, usd()),
                Err(MoneyError::NotDecimal),
                "{bad:?}"
            );
        }
        assert_eq!(
            Money::parse("92233720368547758.08", usd()),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(Money::parse("1e99", usd()), Err(MoneyError::OutOfRange));
        assert_eq!(
            Money::parse("99999999999999999999999999999", usd()),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(
            Money::parse("92233720368547758.07", usd()).map(|m| m.amount_minor),
            Ok(i64::MAX)
        );
        assert_eq!(
            Money::parse("-92233720368547758.08", usd()).map(|m| m.amount_minor),
            Ok(i64::MIN)
        );
    }

    #[test]
    fn the_currency_table_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            CURRENCIES
                .iter()
                .all(|(c, e)| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) && *e <= 4)
        );
        assert!(CURRENCIES.len() > 150);
    }

    #[test]
    fn unknown_currency_is_an_error() {
        assert_eq!(Currency::from_code("XYZ"), Err(MoneyError::UnknownCurrency));
        assert_eq!(Currency::from_code("usd"), Err(MoneyError::UnknownCurrency));
        assert_eq!(Currency::from_code(""), Err(MoneyError::UnknownCurrency));
    }

    #[test]
    fn json_numbers_and_strings_keep_their_exact_text() {
        let v: Vec<DecimalText> =
            serde_json::from_str(r#"["409.94", 12.5, 3, -0.1, 0.30000000000000004]"#)
                .expect("json");
        let texts: Vec<&str> = v.iter().map(|d| d.0.as_str()).collect();
        assert_eq!(
            texts,
            ["409.94", "12.5", "3", "-0.1", "0.30000000000000004"]
        );
        assert!(matches!(
            v[4].to_money(usd()),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(serde_json::from_str::<DecimalText>("true").is_err());
        assert!(serde_json::from_str::<DecimalText>("null").is_err());
        let money =
            serde_json::to_string(&Money::parse("12.5", usd()).expect("money")).expect("ser");
        assert_eq!(money, r#"{"amount_minor":1250,"currency":"USD"}"#);
    }

    proptest! {
        #[test]
        fn formatted_minor_units_round_trip(amount in any::<i64>(), exponent in 0u8..=4) {
            let magnitude = amount.unsigned_abs().to_string();
            let e = exponent as usize;
            let padded = format!("{magnitude:0>width$}", width = e + 1);
            let (int, frac) = padded.split_at(padded.len() - e);
            let sign = if amount < 0 { "-" } else { "" };
            let text = if e == 0 { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") };
            prop_assert_eq!(parse_minor_units(&text, exponent), Ok(amount));
            // Extra trailing zeros are still exact; an extra non-zero digit is refused.
            prop_assert_eq!(parse_minor_units(&format!("{text}{}0", if e == 0 { "." } else { "" }), exponent), Ok(amount));
            let over = format!("{text}{}7", if e == 0 { "." } else { "" });
            prop_assert!(matches!(parse_minor_units(&over, exponent), Err(MoneyError::TooPrecise { .. })), "{}", over);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}", exponent in 0u8..=4) {
            let _ = parse_minor_units(&text, exponent);
        }

        #[test]
        fn scientific_notation_matches_plain(mantissa in -1_000_000i64..1_000_000, exp in -3i64..6) {
            // mantissa * 10^exp, written both ways, in a currency with 4 decimals.
            let sci = format!("{mantissa}e{exp}");
            let plain = parse_minor_units(&sci, 4);
            let expected = i128::from(mantissa) * 10i128.pow((exp + 4) as u32);
            prop_assert_eq!(plain.map(i128::from), Ok(expected));
        }
    }
}
