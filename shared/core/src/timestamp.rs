//! Instants in UTC, written as RFC 3339 (`2024-01-15T15:20:30Z`).

use std::fmt;

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::{datetime, format_description};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The first instant RFC 3339 can write: year 0000 in UTC.
const EARLIEST: OffsetDateTime = datetime!(0000-01-01 00:00:00 UTC);
/// The last instant RFC 3339 can write: the end of year 9999 in UTC.
const LATEST: OffsetDateTime = datetime!(9999-12-31 23:59:59.999_999_999 UTC);

/// Why a platform time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp")]
pub struct TimestampError;

/// A UTC instant, serialised as RFC 3339 with a `Z` suffix.
///
/// Every value lies in UTC years 0000–9999, the range RFC 3339 can write, so formatting never
/// fails: a platform time outside it (`9999-12-31T23:59:59-01:00`, `0000-01-01 00:00:00` in
/// +08:00) is a [`TimestampError`], which makes the delivery a field error, not a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time, for adapters stamping `received_at`.
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    /// Parses RFC 3339 with any offset (`2024-01-15T10:20:30-05:00`) and converts it to UTC.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TimestampError)?;
        Self::in_range(parsed)
    }

    /// Parses a zone-less platform time (`2024-01-15T10:20:30` or `2024-01-15 10:20:30`, optional
    /// fraction) as local time at `offset` (UTC for `*_gmt` fields, +08:00 for Asia/Shanghai).
    pub fn parse_naive(text: &str, offset: UtcOffset) -> Result<Self, TimestampError> {
        let normalised = text.replacen(' ', "T", 1);
        let with_fraction =
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]");
        let without = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        PrimitiveDateTime::parse(&normalised, without)
            .or_else(|_| PrimitiveDateTime::parse(&normalised, with_fraction))
            .map_err(|_| TimestampError)
            .and_then(|t| Self::in_range(t.assume_offset(offset)))
    }

    /// Reads seconds since the Unix epoch.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, TimestampError> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|_| TimestampError)
            .and_then(Self::in_range)
    }

    /// Converts `time` to UTC, refusing instants that UTC years 0000–9999 cannot hold.
    fn in_range(time: OffsetDateTime) -> Result<Self, TimestampError> {
        let utc = time
            .checked_to_offset(UtcOffset::UTC)
            .ok_or(TimestampError)?;
        if (EARLIEST..=LATEST).contains(&utc) {
            Ok(Self(utc))
        } else {
            Err(TimestampError)
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// This instant plus `seconds` (negative to go back), held within years 0000–9999.
    pub fn plus_seconds(&self, seconds: i64) -> Self {
        let moved = self.0.saturating_add(time::Duration::seconds(seconds));
        Self(moved.clamp(EARLIEST, LATEST))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).map_err(D::Error::custom)
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 instant in UTC"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_offsets_to_utc() {
        let t = Timestamp::parse_rfc3339("2024-01-15T10:20:30-05:00").expect("parse");
        assert_eq!(t.to_string(), "2024-01-15T15:20:30Z");
        let t = Timestamp::parse_rfc3339("2024-01-15T10:20:30.123+08:00").expect("parse");
        assert_eq!(t.to_string(), "2024-01-15T02:20:30.123Z");
    }

    #[test]
    fn reads_zone_less_times_in_the_given_offset() {
        let shanghai = UtcOffset::from_hms(8, 0, 0).expect("offset");
        let t = Timestamp::parse_naive("2018-08-22 12:06:06", shanghai).expect("parse");
        assert_eq!(t.to_string(), "2018-08-22T04:06:06Z");
        let t = Timestamp::parse_naive("2017-03-22T16:28:02", UtcOffset::UTC).expect("parse");
        assert_eq!(t.to_string(), "2017-03-22T16:28:02Z");
        assert!(Timestamp::parse_naive("22/03/2017", UtcOffset::UTC).is_err());
        assert!(Timestamp::parse_rfc3339("2017-03-22T16:28:02").is_err());
    }

    /// Found by the fuzz harness (tests/fuzz.rs): both panicked while the event was serialised.
    #[test]
    fn refuses_instants_beyond_what_rfc3339_can_write() {
        assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-01:00").is_err());
        assert!(Timestamp::parse_rfc3339("0000-01-01T00:30:00+01:00").is_err());
        let shanghai = UtcOffset::from_hms(8, 0, 0).expect("offset");
        assert!(Timestamp::parse_naive("0000-01-01 00:00:00", shanghai).is_err());
        assert!(
            Timestamp::parse_naive(
                "9999-12-31 23:59:59",
                UtcOffset::from_hms(-1, 0, 0).expect("offset")
            )
            .is_err()
        );
        assert!(Timestamp::from_unix_seconds(253_402_300_800).is_err());
        assert!(Timestamp::from_unix_seconds(-62_167_219_201).is_err());

        let last = Timestamp::parse_rfc3339("9999-12-31T23:59:59+00:00").expect("the last second");
        assert_eq!(last.to_string(), "9999-12-31T23:59:59Z");
        let first = Timestamp::from_unix_seconds(-62_167_219_200).expect("the first second");
        assert_eq!(first.to_string(), "0000-01-01T00:00:00Z");
        assert_eq!(
            last.plus_seconds(i64::MAX).to_string(),
            "9999-12-31T23:59:59.999999999Z"
        );
        assert_eq!(
            first.plus_seconds(i64::MIN).to_string(),
            "0000-01-01T00:00:00Z"
        );
    }

    #[test]
    fn unix_seconds_round_trip() {
        let t = Timestamp::from_unix_seconds(1_714_036_504).expect("unix");
        assert_eq!(t.unix_seconds(), 1_714_036_504);
        assert_eq!(t.to_string(), "2024-04-25T09:15:04Z");
    }
}
