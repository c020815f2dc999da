//! The body Adyen posts (a standard webhook: `{"live": …, "notificationItems": [{
//! "NotificationRequestItem": {…}}]}`), and what each item's HMAC signs.

use o2o_core::connector::NormaliseError;
use o2o_core::money::DecimalText;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The key of `additionalData` that carries an item's signature.
pub const HMAC_SIGNATURE_KEY: &str = "hmacSignature";

/// The envelope, read only as far as its items' raw JSON (which is what a record is).
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    /// The items: one per JSON delivery in practice, up to six in SOAP ones (Adyen's
    /// `webhook-types` page); a batch is handled all the same.
    #[serde(rename = "notificationItems", borrow)]
    pub items: Vec<Wrapper<'a>>,
}

/// `{"NotificationRequestItem": {…}}`.
#[derive(Deserialize)]
pub(crate) struct Wrapper<'a> {
    #[serde(rename = "NotificationRequestItem", borrow)]
    pub item: &'a RawValue,
}

/// Reads the envelope of a body; `None` when it is not one.
pub(crate) fn envelope(body: &[u8]) -> Option<Envelope<'_>> {
    serde_json::from_slice(body).ok()
}

/// One `NotificationRequestItem`. Only the eight fields of [`Item::signed_text`] are signed;
/// the rest (`eventDate`, `reason`, `paymentMethod`, `additionalData`) are not.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Adyen's reference of this event's transaction: the payment, or the modification
    /// (capture, refund, cancellation) or dispute. Signed.
    #[serde(default)]
    pub psp_reference: Option<String>,
    /// For a modification or a dispute: the payment's `pspReference`. Signed.
    #[serde(default)]
    pub original_reference: Option<String>,
    /// The merchant account. Signed.
    #[serde(default)]
    pub merchant_account_code: Option<String>,
    /// The merchant's reference of the payment: its order. Signed.
    #[serde(default)]
    pub merchant_reference: Option<String>,
    /// The amount, in Adyen's minor units. Signed.
    #[serde(default)]
    pub amount: Option<Amount>,
    /// The event type (`AUTHORISATION`, `REFUND` …). Signed.
    #[serde(default)]
    pub event_code: Option<String>,
    /// Whether the event succeeded (`"true"` / `"false"`). Signed.
    #[serde(default)]
    pub success: Option<Flag>,
    /// When it happened (ISO 8601 with an offset). Not signed.
    #[serde(default)]
    pub event_date: Option<String>,
    /// Why (a refusal reason, a chargeback reason, or for an authorisation
    /// `authCode:cardSummary:expiryDate`). Not signed.
    #[serde(default)]
    pub reason: Option<String>,
    /// The payment method (`visa`). Not signed.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Further data, including the signature itself. Not signed.
    #[serde(default)]
    pub additional_data: Option<Map<String, Value>>,
}

/// `amount`: `value` in minor units (a JSON number, or a string in some deliveries), and the
/// currency code.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Amount {
    /// Minor units, as written.
    #[serde(default)]
    pub value: Option<DecimalText>,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: Option<String>,
}

/// `success`: Adyen writes the string `"true"` or `"false"`; a JSON boolean is read the same.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Flag {
    /// `"true"`, `"false"`.
    Text(String),
    /// `true`, `false`.
    Bool(bool),
}

impl Flag {
    /// The text that is signed.
    pub fn as_text(&self) -> &str {
        match self {
            Flag::Text(text) => text,
            Flag::Bool(true) => "true",
            Flag::Bool(false) => "false",
        }
    }
}

impl Item {
    /// What the HMAC signs: `pspReference:originalReference:merchantAccountCode:
    /// merchantReference:value:currency:eventCode:success`, an absent field as empty, and no
    /// escaping of `:` or `\` in the values (Adyen/adyen-java-api-library
    /// `src/main/java/com/adyen/util/HMACValidator.java` `getDataToSign`, and
    /// Adyen/adyen-python-api-library `Adyen/util.py` `generate_notification_sig`; their
    /// `colon_notification.json` / `backslash_notification.json` vectors are real deliveries
    /// with `:` and `\` in `merchantReference`).
    pub fn signed_text(&self) -> String {
        let text = |field: &Option<String>| field.clone().unwrap_or_default();
        let amount = self.amount.as_ref();
        [
            text(&self.psp_reference),
            text(&self.original_reference),
            text(&self.merchant_account_code),
            text(&self.merchant_reference),
            amount
                .and_then(|a| a.value.as_ref())
                .map(|v| v.0.clone())
                .unwrap_or_default(),
            amount.and_then(|a| a.currency.clone()).unwrap_or_default(),
            text(&self.event_code),
            self.success_text().to_owned(),
        ]
        .join(":")
    }

    /// `success` as signed (empty when absent).
    pub fn success_text(&self) -> &str {
        self.success.as_ref().map_or("", Flag::as_text)
    }

    /// Whether `success` is `"true"`.
    pub fn succeeded(&self) -> bool {
        self.success_text() == "true"
    }

    /// `additionalData.hmacSignature`, when it is a string.
    pub fn hmac_signature(&self) -> Option<&str> {
        self.additional_str(HMAC_SIGNATURE_KEY)
    }

    /// A string of `additionalData`.
    pub fn additional_str(&self, key: &str) -> Option<&str> {
        self.additional_data
            .as_ref()
            .and_then(|data| data.get(key))
            .and_then(Value::as_str)
    }
}

/// Reads one item from text (a record of a split batch).
pub fn item(text: &str) -> Result<Item, serde_json::Error> {
    serde_json::from_str(text)
}

/// Reads the payload of a record: one item, or a whole envelope holding exactly one (a sample
/// file, a delivery stored whole).
pub fn read(payload: &[u8]) -> Result<Item, NormaliseError> {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "notificationItems", borrow, default)]
        items: Option<Vec<Wrapper<'a>>>,
    }
    let probe: Probe<'_> = serde_json::from_slice(payload)?;
    match probe.items.as_deref() {
        None => Ok(serde_json::from_slice(payload)?),
        Some([one]) => {
            item(one.item.get()).map_err(|e| NormaliseError::from(e).within("notificationItems[0]"))
        }
        Some(_) => Err(NormaliseError::field(
            "notificationItems",
            "must hold exactly one item here (a batch is split into its items first)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_sign_as_empty_and_values_keep_their_text() {
        let item = item(
            r#"{"pspReference":"p","merchantAccountCode":"M","amount":{"value":"0100","currency":"EUR"},"eventCode":"E","success":true}"#,
        )
        .expect("an item");
        assert_eq!(item.signed_text(), "p::M::0100:EUR:E:true");
        let bare = super::item("{}").expect("an item");
        assert_eq!(bare.signed_text(), ":::::::");
    }

    #[test]
    fn reads_an_item_or_an_envelope_of_one() {
        let one = br#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"pspReference":"p"}}]}"#;
        assert_eq!(read(one).expect("one").psp_reference.as_deref(), Some("p"));
        assert_eq!(
            read(br#"{"pspReference":"q"}"#)
                .expect("an item")
                .psp_reference
                .as_deref(),
            Some("q")
        );
        let two = br#"{"notificationItems":[{"NotificationRequestItem":{}},{"NotificationRequestItem":{}}]}"#;
        assert!(read(two).is_err());
        assert!(read(b"[accepted]").is_err());
    }
}
