//! A Meituan push's parameters and its `sig`.
//!
//! The rule (Meituan Waimai open platform, 签名 page; the same rule is the official Java SDK's
//! `URLFactory.genUrlForGenSig` + `SignGenerator.genSig`, `waimai_open_java_sdk-1.0.12` as
//! published in imrobin/meituan-openapi-java-sdk@e413d59): every parameter but `sig`, sorted by
//! name, joined as `k=v` with `&`; the called URL + `?` + that + the app secret; lower-case hex
//! MD5 of the UTF-8 text. Chinese stays as it is ("中文保持原文"), empty values are kept as `k=`,
//! and there is no separator before the secret.
//!
//! The values signed are the raw texts. Meituan percent-encodes values once more before
//! form-encoding them, so the wire carries them encoded twice (a servlet's parameter map of a
//! real push still shows `detail=%5B%7B%22app_food_code%22…`; the SDKs that verify pushes decode
//! each value a second time). Whether every field gets the extra encoding is not documented (two
//! SDKs read the partial refund's `food` as plain JSON), so a delivery whose values, decoded
//! twice, do not verify is checked again with them decoded once: see docs/platforms/meituan.md.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use o2o_core::request::{percent_decode, percent_encode};
use o2o_core::settings::Secret;
use o2o_core::signature::hex_digest_matches;
use o2o_core::{Rejection, WebhookRequest};

/// The parameter carrying the signature.
pub const SIG: &str = "sig";

/// A push's parameters, decoded, by name (sorted, as the signature wants them).
pub type Params = BTreeMap<String, String>;

/// How the values were decoded when the signature matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// Form-decoded, then percent-decoded again: what Meituan documents.
    Twice,
    /// Form-decoded only: the fallback for fields sent without the extra encoding.
    Once,
}

/// The request's parameters as sent: the form body's and the query's, each pair form-decoded
/// once. A name sent twice is refused: which one was signed cannot be told.
pub fn wire_params(req: &WebhookRequest) -> Result<Params, Rejection> {
    let body = std::str::from_utf8(&req.body)
        .map_err(|_| Rejection::bad_request("body_not_form", "the body is not UTF-8 form data"))?;
    let mut params = Params::new();
    for pair in body.split('&').chain(req.query.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(name), Some(value)) = (percent_decode(name), percent_decode(value)) else {
            return Err(Rejection::bad_request(
                "parameter_not_utf8",
                "a parameter is not UTF-8 once decoded",
            ));
        };
        if params.insert(name, value).is_some() {
            return Err(Rejection::bad_request(
                "duplicate_parameter",
                "a parameter appears more than once",
            ));
        }
    }
    Ok(params)
}

/// The parameters with each value decoded a second time; `None` when one is then not UTF-8.
pub fn decoded_again(params: &Params) -> Option<Params> {
    params
        .iter()
        .map(|(name, value)| Some((name.clone(), percent_decode(value)?)))
        .collect()
}

/// The text Meituan hashes: `url?k=v&k=v…secret`, every parameter but `sig`, sorted by name.
pub fn signed_text(url: &str, params: &Params, secret: &Secret) -> String {
    let mut text = String::with_capacity(url.len() + 64 * params.len());
    text.push_str(url);
    text.push('?');
    let mut first = true;
    for (name, value) in params.iter().filter(|(name, _)| name.as_str() != SIG) {
        if !first {
            text.push('&');
        }
        first = false;
        text.push_str(name);
        text.push('=');
        text.push_str(value);
    }
    text.push_str(secret.expose());
    text
}

/// The lower-case hex MD5 `sig` of `params` called at `url`.
pub fn sig(url: &str, params: &Params, secret: &Secret) -> String {
    let digest = Md5::digest(signed_text(url, params, secret).as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `provided` is the `sig` of `params` at `url` under any of `secrets` (constant-time,
/// either hex case).
pub fn matches(url: &str, params: &Params, secrets: &[Secret], provided: &str) -> bool {
    secrets.iter().fold(false, |found, secret| {
        hex_digest_matches(&sig(url, params, secret), provided) | found
    })
}

/// `params` as Meituan puts them on the wire: each value percent-encoded once more, then
/// form-encoded (`o2o send` and the tests).
pub fn wire_text(params: &Params) -> String {
    params
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                percent_encode(name),
                percent_encode(&percent_encode(value))
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::Timestamp;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The official example (Meituan Waimai open platform, 签名 page, as copied verbatim into
    /// `cn.wifiedu.ssm.util.waimai.MTWaiMai` and into a second project's comments): URL
    /// `http://waimaiopen.meituan.com/api/v1/poi/mget`, secret
    /// `d31ba58fd73c71db697ab5e4946d52d`, signature `00934d00d0aea6f12161edfb6456143d`. The page
    /// spells the parameter `app_poi_code` in one line and `app_poi_codes` in the text it hashes;
    /// the digest is of the latter (Python's hashlib agrees). Its closing `sig=5c2993…` matches no
    /// arrangement of the inputs and is not used. The example is of an API call; pushes follow
    /// the same rule.
    #[test]
    fn reproduces_the_official_example() {
        let secret = Secret::new("d31ba58fd73c71db697ab5e4946d52d");
        let url = "http://waimaiopen.meituan.com/api/v1/poi/mget";
        let signed = params(&[
            ("timestamp", "1389751221"),
            ("app_poi_codes", "31"),
            ("app_id", "1235123121"),
        ]);
        assert_eq!(
            signed_text(url, &signed, &secret),
            "http://waimaiopen.meituan.com/api/v1/poi/mget?app_id=1235123121&app_poi_codes=31\
             &timestamp=1389751221d31ba58fd73c71db697ab5e4946d52d"
        );
        assert_eq!(
            sig(url, &signed, &secret),
            "00934d00d0aea6f12161edfb6456143d"
        );
        let https = "https://waimaiopen.meituan.com/api/v1/poi/mget";
        assert!(!matches(
            https,
            &signed,
            &[secret],
            "00934d00d0aea6f12161edfb6456143d"
        ));
    }

    /// A push as it travels: a body made and signed outside this code (Python: each value
    /// `quote(v, safe='')` once, then form-encoded; sig = `hashlib.md5` of the rule's text), with
    /// Chinese in a JSON field and an empty value.
    #[test]
    fn reads_and_verifies_a_doubly_encoded_push() {
        let body = "app_id=1234&timestamp=1553709856&order_id=28983933726634026&status=2&detail=\
            %255B%257B%2522food_name%2522%253A%2522%25E5%25AE%25AB%25E4%25BF%259D%25E9%25B8%25A1\
            %25E4%25B8%2581%2522%252C%2522price%2522%253A0.01%252C%2522quantity%2522%253A1%257D\
            %255D&caution=&recipient_phone=13800000000_1234&sig=83c888580d8cb7982cd9ec0bdb6e2528";
        let req = WebhookRequest {
            method: "POST".into(),
            path_tenant: Some("t1".into()),
            endpoint: Some("order".into()),
            query: String::new(),
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
            received_at: Timestamp::now(),
        };
        let wire = wire_params(&req).expect("a form");
        let raw = decoded_again(&wire).expect("UTF-8");
        assert_eq!(
            raw["detail"],
            r#"[{"food_name":"宫保鸡丁","price":0.01,"quantity":1}]"#
        );
        assert_eq!(raw["caution"], "");
        let url = "https://hooks.example.com/webhooks/meituan/t1/order";
        let secret = [Secret::new("test_secret_do_not_use")];
        assert!(matches(url, &raw, &secret, &raw[SIG]));
        assert!(!matches(url, &wire, &secret, &raw[SIG]), "decoded once");
        let other = "https://hooks.example.com/webhooks/meituan/t1/cancel";
        assert!(
            !matches(other, &raw, &secret, &raw[SIG]),
            "the URL is signed"
        );
    }

    #[test]
    fn wire_text_round_trips_through_two_decodings() {
        let raw = params(&[("name", "陆(先生) a+b%20"), ("empty", ""), ("sig", "x")]);
        let req = WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            endpoint: None,
            query: String::new(),
            headers: Default::default(),
            body: wire_text(&raw).into_bytes(),
            received_at: Timestamp::now(),
        };
        let wire = wire_params(&req).expect("a form");
        assert_eq!(decoded_again(&wire), Some(raw));
    }

    #[test]
    fn refuses_a_parameter_sent_twice_or_not_utf8() {
        let mut req = WebhookRequest {
            method: "POST".into(),
            path_tenant: None,
            endpoint: None,
            query: "order_id=2".into(),
            headers: Default::default(),
            body: b"order_id=1".to_vec(),
            received_at: Timestamp::now(),
        };
        let refused = wire_params(&req).expect_err("twice");
        assert_eq!((refused.status, refused.code), (400, "duplicate_parameter"));
        req.query = "name=%FF".into();
        let refused = wire_params(&req).expect_err("not UTF-8");
        assert_eq!((refused.status, refused.code), (400, "parameter_not_utf8"));
    }
}
