//! Instants in UTC, written as RFC 3339 (`2024-01-15T15:20:30Z`).

use std::fmt;

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Why a platform time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp")]
pub struct TimestampError;

/// A UTC instant, serialised as RFC 3339 with a `Z` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The current time, for adapters stamping `received_at`.
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    /// Parses RFC 3339 with any offset (`2024-01-15T10:20:30-05:00`) and converts it to UTC.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(|t| Self(t.to_offset(UtcOffset::UTC)))
            .map_err(|_| TimestampError)
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
            .map(|t| Self(t.assume_offset(offset).to_offset(UtcOffset::UTC)))
            .map_err(|_| TimestampError)
    }

    /// Reads seconds since the Unix epoch.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, TimestampError> {
        OffsetDateTime::from_unix_timestamp(seconds)
            .map(Self)
            .map_err(|_| TimestampError)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// This instant plus `seconds` (negative to go back).
    pub fn plus_seconds(&self, seconds: i64) -> Self {
        Self(self.0.saturating_add(time::Duration::seconds(seconds)))
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

    #[test]
    fn unix_seconds_round_trip() {
        let t = Timestamp::from_unix_seconds(1_714_036_504).expect("unix");
        assert_eq!(t.unix_seconds(), 1_714_036_504);
        assert_eq!(t.to_string(), "2024-04-25T09:15:04Z");
    }
}
