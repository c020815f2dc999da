//! Small helpers connectors use while normalising: each turns a platform field into a unified
//! value, naming the field (never its value) in the error.

use time::UtcOffset;

use crate::connector::NormaliseError;
use crate::money::{Currency, DecimalText, Money, MoneyError};
use crate::timestamp::Timestamp;

/// A currency code field.
pub fn currency(field: &str, code: &str) -> Result<Currency, NormaliseError> {
    Currency::from_code(code).map_err(|e| NormaliseError::field(field, e))
}

/// A decimal amount field in `currency`.
pub fn money(
    field: &str,
    amount: &DecimalText,
    currency: Currency,
) -> Result<Money, NormaliseError> {
    amount
        .to_money(currency)
        .map_err(|e| NormaliseError::field(field, e))
}

/// An optional decimal amount field in `currency`.
pub fn optional_money(
    field: &str,
    amount: Option<&DecimalText>,
    currency: Currency,
) -> Result<Option<Money>, NormaliseError> {
    amount.map(|a| money(field, a, currency)).transpose()
}

/// The positive amount of a field the platform writes negative (refund totals `"-10.00"`).
pub fn magnitude(field: &str, money: Money) -> Result<Money, NormaliseError> {
    let amount_minor = money
        .amount_minor
        .checked_abs()
        .ok_or_else(|| NormaliseError::field(field, MoneyError::OutOfRange))?;
    Ok(Money::from_minor(amount_minor, money.currency))
}

/// Adds amounts, naming `field` on overflow or currency mismatch.
pub fn sum(
    field: &str,
    amounts: impl IntoIterator<Item = Money>,
    currency: Currency,
) -> Result<Money, NormaliseError> {
    amounts
        .into_iter()
        .try_fold(Money::zero(currency), |acc, m| {
            acc.checked_add(m)
                .map_err(|e| NormaliseError::field(field, e))
        })
}

/// An RFC 3339 time field, converted to UTC.
pub fn rfc3339(field: &str, text: &str) -> Result<Timestamp, NormaliseError> {
    Timestamp::parse_rfc3339(text).map_err(|e| NormaliseError::field(field, e))
}

/// China Standard Time (UTC+08:00, no daylight saving since 1991): Asia/Shanghai, the zone of
/// the zone-less times of the Chinese platforms (Youzan, Douyin shop, WeChat).
pub const CHINA_STANDARD_TIME: UtcOffset = time::macros::offset!(+8);

/// A zone-less `YYYY-MM-DD HH:MM:SS` time from a Chinese platform, read as Asia/Shanghai.
pub fn china_time(field: &str, text: &str) -> Result<Timestamp, NormaliseError> {
    naive_time(field, text, CHINA_STANDARD_TIME)
}

/// A Unix time in seconds (as platforms send it, a JSON number or string) for `field`.
pub fn unix_seconds(field: &str, seconds: i64) -> Result<Timestamp, NormaliseError> {
    Timestamp::from_unix_seconds(seconds).map_err(|e| NormaliseError::field(field, e))
}

/// A zone-less time field read at `offset`.
pub fn naive_time(field: &str, text: &str, offset: UtcOffset) -> Result<Timestamp, NormaliseError> {
    Timestamp::parse_naive(text, offset).map_err(|e| NormaliseError::field(field, e))
}

/// `Some` only for a non-blank string.
pub fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Joins the non-blank parts with a space (`first_name last_name`).
pub fn join_names(parts: &[Option<&str>]) -> Option<String> {
    let joined = parts
        .iter()
        .filter_map(|p| non_empty(*p))
        .collect::<Vec<_>>()
        .join(" ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_not_the_value() {
        let jpy = currency("currency", "JPY").expect("JPY");
        let err = money("line_items[0].price", &DecimalText("1500.5".into()), jpy)
            .expect_err("too precise");
        assert_eq!(
            err.to_string(),
            "line_items[0].price: more decimal places than JPY allows (0)"
        );
        assert_eq!(
            currency("currency", "ZZZ").map_err(|e| e.to_string()),
            Err("currency: unknown currency code".into())
        );
        assert!(rfc3339("created_at", "yesterday").is_err());
    }

    #[test]
    fn sums_and_names() {
        let usd = currency("c", "USD").expect("USD");
        let total = sum(
            "t",
            [Money::from_minor(150, usd), Money::from_minor(-50, usd)],
            usd,
        )
        .expect("sum");
        assert_eq!(total.amount_minor, 100);
        assert_eq!(
            magnitude("t", Money::from_minor(-1000, usd)).map(|m| m.amount_minor),
            Ok(1000)
        );
        assert!(magnitude("t", Money::from_minor(i64::MIN, usd)).is_err());
        assert_eq!(
            join_names(&[Some(" Ada "), None, Some(""), Some("Lovelace")]).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(join_names(&[None, Some("  ")]), None);
        assert_eq!(non_empty(Some("  ")), None);
    }
}
