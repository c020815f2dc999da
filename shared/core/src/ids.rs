//! Platform ids as strings: ids above 2^53 must never pass through a float.

use serde::de::{Error as _, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// A platform id that may arrive as a JSON string or an integer; kept as its exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct IdText(pub String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = IdText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id as a string or an integer")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IdText, E> {
                if v.is_empty() {
                    return Err(E::custom("empty id"));
                }
                Ok(IdText(v.to_owned()))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<IdText, E> {
                Err(E::custom(
                    "an id must be an integer or a string, not a fraction",
                ))
            }
        }
        d.deserialize_any(IdVisitor).map_err(D::Error::custom)
    }
}

impl fmt::Display for IdText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ids_above_2_pow_53_exact() {
        let ids: Vec<IdText> = serde_json::from_str(
            r#"[820982911946154508, "3705115058471208928", 18446744073709551615, -5]"#,
        )
        .expect("ids");
        let texts: Vec<&str> = ids.iter().map(|i| i.0.as_str()).collect();
        assert_eq!(
            texts,
            [
                "820982911946154508",
                "3705115058471208928",
                "18446744073709551615",
                "-5"
            ]
        );
        assert!(serde_json::from_str::<IdText>("1.5").is_err());
        assert!(serde_json::from_str::<IdText>("\"\"").is_err());
        assert!(serde_json::from_str::<IdText>("{}").is_err());
    }
}
