//! RFC 6901 JSON pointers over the raw payload, and readers for the values they point at.
//!
//! `serde_json::Value` keeps a JSON number with a fraction as an `f64`, which is not exact money.
//! So the payload is walked as [`RawValue`]s instead: each step reads one object or array of raw
//! members, and a number at the end keeps the exact text the sender wrote (`19.99`, `1e3`).

use std::collections::HashMap;

use o2o_core::NormaliseError;
use o2o_core::fields;
use o2o_core::money::{Currency, Money, MoneyError};
use o2o_core::timestamp::Timestamp;
use serde_json::value::RawValue;

/// A JSON pointer (RFC 6901): `""` (the whole payload) or `/`-separated reference tokens, with
/// `~1` for `/` and `~0` for `~` inside a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    text: String,
    tokens: Vec<String>,
}

impl Pointer {
    /// Reads a pointer; the error says what is wrong with it (never the pointer itself).
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let Some(rest) = text.strip_prefix('/') else {
            return if text.is_empty() {
                Ok(Self {
                    text: String::new(),
                    tokens: Vec::new(),
                })
            } else {
                Err("is not a JSON pointer (RFC 6901): it must be empty or start with `/`")
            };
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match c {
                    '~' => match chars.next() {
                        Some('0') => token.push('~'),
                        Some('1') => token.push('/'),
                        _ => {
                            return Err("is not a JSON pointer (RFC 6901): `~` must be followed \
                                        by 0 or 1");
                        }
                    },
                    other => token.push(other),
                }
            }
            tokens.push(token);
        }
        Ok(Self {
            text: text.to_owned(),
            tokens,
        })
    }

    /// The pointer as configured (a path in the payload, for error messages).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value this pointer names in `root`; `None` where there is none or it is `null`.
    pub fn find<'a>(&self, root: &'a RawValue) -> Result<Option<&'a RawValue>, NormaliseError> {
        let unreadable = || NormaliseError::field(&self.text, "unreadable JSON");
        let mut at = root;
        for token in &self.tokens {
            let text = at.get().trim_start();
            let next = match text.as_bytes().first() {
                Some(b'{') => {
                    let mut members: HashMap<String, &'a RawValue> =
                        serde_json::from_str(text).map_err(|_| unreadable())?;
                    members.remove(token)
                }
                Some(b'[') => {
                    let items: Vec<&'a RawValue> =
                        serde_json::from_str(text).map_err(|_| unreadable())?;
                    array_index(token).and_then(|index| items.get(index).copied())
                }
                _ => None,
            };
            match next {
                Some(value) => at = value,
                None => return Ok(None),
            }
        }
        Ok((at.get().trim() != "null").then_some(at))
    }

    /// The text at this pointer: a JSON string, or a number's exact text (ids are often numbers).
    pub fn text(&self, root: &RawValue) -> Result<Option<String>, NormaliseError> {
        self.find(root)?
            .map(|value| match scalar(value) {
                Some(Scalar::String(text)) => Ok(text),
                Some(Scalar::Number(text)) => Ok(text.to_owned()),
                None => Err(NormaliseError::field(
                    &self.text,
                    "must be a string or a number",
                )),
            })
            .transpose()
    }

    /// The text at this pointer, where the pointer is configured.
    pub fn optional_text(
        pointer: Option<&Pointer>,
        root: &RawValue,
    ) -> Result<Option<String>, NormaliseError> {
        pointer.map_or(Ok(None), |pointer| pointer.text(root))
    }

    /// An amount in `currency`: integer minor units, or exact decimal text in major units.
    pub fn money(
        &self,
        value: &RawValue,
        format: AmountFormat,
        currency: Currency,
    ) -> Result<Money, NormaliseError> {
        let text = match scalar(value) {
            Some(Scalar::String(text)) => text,
            Some(Scalar::Number(text)) => text.to_owned(),
            None => {
                return Err(NormaliseError::field(
                    &self.text,
                    "must be a number or a numeric string",
                ));
            }
        };
        match format {
            AmountFormat::Minor => {
                let digits = text.strip_prefix('-').unwrap_or(&text);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(NormaliseError::field(
                        &self.text,
                        "must be an integer amount in minor units (amount_format = \"minor\")",
                    ));
                }
                let minor: i64 = text
                    .parse()
                    .map_err(|_| NormaliseError::field(&self.text, MoneyError::OutOfRange))?;
                Ok(Money::from_minor(minor, currency))
            }
            AmountFormat::Decimal => {
                Money::parse(&text, currency).map_err(|e| NormaliseError::field(&self.text, e))
            }
        }
    }

    /// A time: RFC 3339 text, or a Unix time in seconds (a JSON integer or a string of digits).
    pub fn time(&self, value: &RawValue) -> Result<Timestamp, NormaliseError> {
        let text = match scalar(value) {
            Some(Scalar::String(text)) => text,
            Some(Scalar::Number(text)) => text.to_owned(),
            None => {
                return Err(NormaliseError::field(
                    &self.text,
                    "must be an RFC 3339 time or Unix seconds",
                ));
            }
        };
        let digits = text.strip_prefix('-').unwrap_or(&text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let seconds: i64 = text
                .parse()
                .map_err(|_| NormaliseError::field(&self.text, "invalid timestamp"))?;
            fields::unix_seconds(&self.text, seconds)
        } else {
            fields::rfc3339(&self.text, &text)
        }
    }
}

/// How a sender writes amounts (setting `amount_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountFormat {
    /// Integer minor units (`1999` for 19.99 USD, `1500` for 1500 JPY).
    Minor,
    /// Decimal text or a JSON number in major units (`"19.99"`, `19.99`), read exactly.
    Decimal,
}

impl AmountFormat {
    /// Reads the setting's value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "minor" => Some(Self::Minor),
            "decimal" => Some(Self::Decimal),
            _ => None,
        }
    }
}

/// A JSON string or number.
enum Scalar<'a> {
    String(String),
    Number(&'a str),
}

fn scalar(value: &RawValue) -> Option<Scalar<'_>> {
    let text = value.get().trim();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str(text).ok().map(Scalar::String),
        Some(b) if *b == b'-' || b.is_ascii_digit() => Some(Scalar::Number(text)),
        _ => None,
    }
}

/// An array index token: `0`, or digits without a leading zero (RFC 6901 §4). `-` (past the
/// end) and anything else name no element.
fn array_index(token: &str) -> Option<usize> {
    let canonical = token == "0"
        || (!token.is_empty()
            && !token.starts_with('0')
            && token.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| token.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).expect("json")
    }

    fn pointer(text: &str) -> Pointer {
        Pointer::parse(text).expect("a pointer")
    }

    /// RFC 6901 §5's example document and every pointer it lists.
    #[test]
    fn resolves_the_rfc_6901_examples() {
        let doc = raw(
            r#"{"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3,
            "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8}"#,
        );
        let at = |p: &str| {
            pointer(p)
                .find(&doc)
                .expect("readable")
                .map(|v| v.get().to_owned())
        };
        assert_eq!(at("/foo").as_deref(), Some(r#"["bar", "baz"]"#));
        assert_eq!(at("/foo/0").as_deref(), Some(r#""bar""#));
        for (p, expected) in [
            ("/", "0"),
            ("/a~1b", "1"),
            ("/c%d", "2"),
            ("/e^f", "3"),
            ("/g|h", "4"),
            ("/i\\j", "5"),
            ("/k\"l", "6"),
            ("/ ", "7"),
            ("/m~0n", "8"),
        ] {
            assert_eq!(at(p).as_deref(), Some(expected), "{p}");
        }
        assert!(at("").is_some_and(|whole| whole.starts_with('{')));
        for absent in ["/foo/2", "/foo/01", "/foo/-", "/foo/0/x", "/nope", "/m~1n"] {
            assert_eq!(at(absent), None, "{absent}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_pointer() {
        for bad in ["type", "data/id", "/a~2", "/a~"] {
            assert!(Pointer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keeps_number_text_exact_and_reads_null_as_absent() {
        let doc = raw(r#"{"a": 12345678901234567.89, "n": null, "s": "x", "t": true}"#);
        let usd = Currency::from_code("USD").expect("USD");
        let a = pointer("/a");
        let value = a.find(&doc).expect("ok").expect("present");
        assert_eq!(
            a.money(value, AmountFormat::Decimal, usd),
            Ok(Money::from_minor(1_234_567_890_123_456_789, usd))
        );
        assert!(pointer("/n").find(&doc).expect("ok").is_none());
        assert_eq!(pointer("/s").text(&doc), Ok(Some("x".to_owned())));
        assert!(pointer("/t").text(&doc).is_err());
    }
}
