//! The notification form (`application/x-www-form-urlencoded`) and the text Alipay signs.
//!
//! Alipay posts its notifications as a form whose values are in the charset named by the
//! `charset` parameter (UTF-8 or GBK). The signature covers the decoded parameters, sorted by
//! name, as `name=value` joined by `&`, in that charset's bytes (alipay-sdk-java-all
//! `AlipaySignature.getSignCheckContentV1/V2` @078e14a8: the decoded values, `getBytes(charset)`).
//! The form is therefore decoded to bytes and never re-encoded: the signed text is rebuilt from
//! the very bytes Alipay percent-encoded, whatever the charset.

use std::collections::BTreeMap;

use o2o_core::Rejection;

/// The signature parameter.
pub const SIGN: &str = "sign";
/// The signature-type parameter (`RSA2`, or the legacy `RSA`).
pub const SIGN_TYPE: &str = "sign_type";

/// The decoded parameters of a notification, by name (each name once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(BTreeMap<String, Vec<u8>>);

/// A parameter read as text is not UTF-8 (a GBK notification's non-ASCII text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

/// Why a body is not a notification form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// A `%` not followed by two hex digits, or a parameter name that is not UTF-8.
    Malformed,
    /// A parameter named twice: which one Alipay signed would be a guess.
    Duplicate,
}

impl From<FormError> for Rejection {
    fn from(e: FormError) -> Self {
        match e {
            FormError::Malformed => Rejection::bad_request(
                "body_not_form",
                "the body is not an application/x-www-form-urlencoded form",
            ),
            FormError::Duplicate => Rejection::bad_request(
                "duplicate_parameter",
                "a form parameter appears more than once",
            ),
        }
    }
}

impl Form {
    /// Decodes a form body: `+` is a space, `%XX` a byte. Empty segments (`a=1&&b=2`) are
    /// skipped; a segment without `=` is a name with an empty value.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let mut params = BTreeMap::new();
        for segment in body.split(|b| *b == b'&').filter(|s| !s.is_empty()) {
            let (name, value) = match segment.iter().position(|b| *b == b'=') {
                Some(at) => (&segment[..at], &segment[at + 1..]),
                None => (segment, &[][..]),
            };
            let name = String::from_utf8(decode(name)?).map_err(|_| FormError::Malformed)?;
            if params.insert(name, decode(value)?).is_some() {
                return Err(FormError::Duplicate);
            }
        }
        Ok(Self(params))
    }

    /// The raw (charset-encoded) bytes of a parameter.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// A parameter as text, `None` when absent, blank, or not UTF-8 (`text_of` tells which).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.bytes(name)
            .filter(|value| !is_blank(value))
            .and_then(|value| std::str::from_utf8(value).ok())
            .map(str::trim)
    }

    /// A parameter as text: `Ok(None)` when absent or blank, an error when it is not UTF-8 (the
    /// fields read are ASCII in every charset Alipay uses).
    pub fn text_of(&self, name: &str) -> Result<Option<&str>, NotUtf8> {
        match self.bytes(name) {
            None => Ok(None),
            Some(value) if is_blank(value) => Ok(None),
            Some(value) => std::str::from_utf8(value)
                .map(|text| Some(text.trim()))
                .map_err(|_| NotUtf8),
        }
    }

    /// What Alipay signs: every parameter but `sign` (and, for `v1`, `sign_type`) whose name
    /// and value are not blank, sorted by name, as `name=value` joined by `&`.
    ///
    /// v1 (`getSignCheckContentV1`) is the scheme of payment notifications; v2
    /// (`getSignCheckContentV2`) that of life-account and service-market notifications, which
    /// sign `sign_type` too. Blank means empty or whitespace only (the SDK's
    /// `StringUtils.areNotEmpty`).
    pub fn signed_content(&self, v1: bool) -> Vec<u8> {
        let mut content = Vec::new();
        for (name, value) in &self.0 {
            if name == SIGN || (v1 && name == SIGN_TYPE) {
                continue;
            }
            if is_blank(name.as_bytes()) || is_blank(value) {
                continue;
            }
            if !content.is_empty() {
                content.push(b'&');
            }
            content.extend_from_slice(name.as_bytes());
            content.push(b'=');
            content.extend_from_slice(value);
        }
        content
    }
}

/// Empty or only whitespace, as `java.lang.Character.isWhitespace` sees ASCII (the SDK skips
/// such values; they carry no signed meaning, and reading treats them as absent).
fn is_blank(value: &[u8]) -> bool {
    value
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f))
}

/// Decodes one form component to bytes.
fn decode(text: &[u8]) -> Result<Vec<u8>, FormError> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3).ok_or(FormError::Malformed)?;
                let digit = |b: u8| char::from(b).to_digit(16);
                match (digit(hex[0]), digit(hex[1])) {
                    // Two hex digits are at most 0xff.
                    (Some(high), Some(low)) => out.push(((high << 4) | low) as u8),
                    _ => return Err(FormError::Malformed),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

/// Percent-encodes a form value (what `sign` writes back into a sample body).
pub fn encode(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value {
        if byte.is_ascii_alphanumeric() || b"-_.*".contains(byte) {
            out.push(char::from(*byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The body with the parameters `names` removed and `extra` (already encoded) appended, the
/// other segments kept byte for byte.
pub fn replace_params(body: &[u8], names: &[&str], extra: &[(&str, String)]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(body.len() + 400);
    let kept = body.split(|b| *b == b'&').filter(|segment| {
        let name = segment.split(|b| *b == b'=').next().unwrap_or_default();
        !segment.is_empty()
            && !decode(name).is_ok_and(|name| names.iter().any(|n| n.as_bytes() == name))
    });
    for segment in kept {
        if !out.is_empty() {
            out.push(b'&');
        }
        out.extend_from_slice(segment);
    }
    for (name, value) in extra {
        if !out.is_empty() {
            out.push(b'&');
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_to_bytes_and_refuses_what_is_not_a_form() {
        let form = Form::parse(b"a=1+2%2B3&b=%E4%B8%AD&c&&d=%D6%D0").expect("a form");
        assert_eq!(form.text("a"), Some("1 2+3"));
        assert_eq!(form.text("b"), Some("中"));
        assert_eq!(form.bytes("c"), Some(&b""[..]));
        assert_eq!(form.text("c"), None);
        // GBK 中: kept as bytes, not text.
        assert_eq!(form.bytes("d"), Some(&[0xd6, 0xd0][..]));
        assert_eq!(form.text_of("d"), Err(NotUtf8));
        assert_eq!(Form::parse(b"a=%zz"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=%4"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"%ff=1"), Err(FormError::Malformed));
        assert_eq!(Form::parse(b"a=1&a=2"), Err(FormError::Duplicate));
    }

    #[test]
    fn signs_sorted_non_blank_params_without_sign() {
        let form =
            Form::parse(b"sign=x&b=2&sign_type=RSA2&a=1&empty=&blank=+%09&c=%26").expect("form");
        assert_eq!(form.signed_content(true), b"a=1&b=2&c=&");
        assert_eq!(form.signed_content(false), b"a=1&b=2&c=&&sign_type=RSA2");
    }

    #[test]
    fn replaces_params_keeping_the_rest() {
        let body = b"b=2&sign=old&a=%20&sign_type=RSA";
        let replaced = replace_params(
            body,
            &[SIGN, SIGN_TYPE],
            &[("sign_type", "RSA2".into()), ("sign", encode(b"a+b/c="))],
        );
        assert_eq!(replaced, b"b=2&a=%20&sign_type=RSA2&sign=a%2Bb%2Fc%3D");
    }
}
