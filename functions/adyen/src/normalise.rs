//! One notification item → a unified payment event.

use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError, Normalised};
use o2o_core::event::{Dispute, EventType, Payment, Refund};
use o2o_core::fields::{self, non_empty};
use o2o_core::link::OrderLink;
use o2o_core::money::{Currency, Money, MoneyError};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::payload::{Amount, Item};

/// The provider name on every payment.
pub const PROVIDER: &str = "adyen";

/// Which event means "paid": the authorisation (the default; with automatic capture Adyen
/// captures it by itself) or the capture (manual or delayed capture).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum CaptureEvent {
    /// `AUTHORISATION` with `success` `true` is `payment.succeeded`; `CAPTURE` is ignored.
    #[default]
    #[serde(rename = "AUTHORISATION")]
    Authorisation,
    /// `CAPTURE` with `success` `true` is `payment.succeeded`; a successful `AUTHORISATION` is
    /// ignored, and a `CAPTURE` with `success` `false` is `payment.failed`.
    #[serde(rename = "CAPTURE")]
    Capture,
}

/// What the connector's settings decide about normalising.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mapping {
    pub capture_event: CaptureEvent,
    pub link: OrderLink,
}

/// Adyen's number of decimals where it differs from ISO 4217 (docs.adyen.com
/// `development-resources/currency-codes`: "For CLP, CVE, IDR, and ISK the standard has a
/// different number of decimals than shown in our currency codes table"; CLP 2, CVE 0, IDR 0,
/// ISK 2).
const ADYEN_EXPONENTS: [(&str, u8); 4] = [("CLP", 2), ("CVE", 0), ("IDR", 0), ("ISK", 2)];

/// The decimals of Adyen's minor unit for `currency`.
pub fn adyen_exponent(currency: Currency) -> u8 {
    ADYEN_EXPONENTS
        .iter()
        .find(|(code, _)| *code == currency.code())
        .map_or(currency.exponent(), |(_, exponent)| *exponent)
}

/// `amount` (Adyen's minor units) as money in ISO 4217 minor units, exactly: CLP and ISK
/// amounts are divided by 100 (refused when not whole), CVE and IDR multiplied by 100.
pub fn money(field: &str, amount: &Amount) -> Result<Money, NormaliseError> {
    let code = amount
        .currency
        .as_deref()
        .ok_or_else(|| NormaliseError::field(&format!("{field}.currency"), "missing"))?;
    let currency = fields::currency(&format!("{field}.currency"), code)?;
    let value_field = format!("{field}.value");
    let text = amount
        .value
        .as_ref()
        .ok_or_else(|| NormaliseError::field(&value_field, "missing"))?;
    let adyen_minor: i64 = text
        .0
        .parse()
        .map_err(|_| NormaliseError::field(&value_field, "not a whole number of minor units"))?;
    let (adyen, iso) = (adyen_exponent(currency), currency.exponent());
    let scale = |by: u8| {
        10_i64
            .checked_pow(u32::from(by))
            .ok_or_else(|| NormaliseError::field(&value_field, MoneyError::OutOfRange))
    };
    let minor = if adyen > iso {
        let divisor = scale(adyen - iso)?;
        if adyen_minor % divisor != 0 {
            return Err(NormaliseError::field(
                &value_field,
                MoneyError::TooPrecise {
                    currency: currency.code(),
                    exponent: iso,
                },
            ));
        }
        adyen_minor / divisor
    } else {
        adyen_minor
            .checked_mul(scale(iso - adyen)?)
            .ok_or_else(|| NormaliseError::field(&value_field, MoneyError::OutOfRange))?
    };
    Ok(Money::from_minor(minor, currency))
}

/// What an item means.
enum Meaning {
    /// The payment is paid.
    Paid,
    /// The payment failed or was cancelled; the reason when Adyen gives none.
    Failed(&'static str),
    /// Money went back to the buyer.
    Refunded,
    /// The buyer's bank disputes the payment.
    Disputed,
}

/// Maps `eventCode` and `success` (both signed). Whatever is not listed is ignored, with why.
fn meaning(code: &str, success: bool, capture: CaptureEvent) -> Result<Meaning, String> {
    use CaptureEvent::{Authorisation, Capture};
    Ok(match (code, success, capture) {
        ("AUTHORISATION", true, Authorisation) | ("CAPTURE", true, Capture) => Meaning::Paid,
        ("AUTHORISATION", true, Capture) => {
            return Err("AUTHORISATION: payments count as paid on CAPTURE (capture_event)".into());
        }
        ("CAPTURE", _, Authorisation) => {
            return Err("CAPTURE: payments count as paid on AUTHORISATION (capture_event)".into());
        }
        ("AUTHORISATION", false, _) => Meaning::Failed("refused"),
        ("CAPTURE", false, Capture) => Meaning::Failed("capture refused"),
        ("CAPTURE_FAILED", true, _) => Meaning::Failed("capture failed"),
        ("CANCELLATION", true, _) => Meaning::Failed("cancelled"),
        ("REFUND", true, _) => Meaning::Refunded,
        // A dispute's notice, its chargeback, or a chargeback that came without a notice
        // (docs.adyen.com `api-explorer/Webhooks/1/post/DISPUTE_OPENED_WITH_CHARGEBACK`).
        (
            "NOTIFICATION_OF_CHARGEBACK" | "CHARGEBACK" | "DISPUTE_OPENED_WITH_CHARGEBACK",
            true,
            _,
        ) => Meaning::Disputed,
        (
            "CAPTURE_FAILED"
            | "CANCELLATION"
            | "REFUND"
            | "CHARGEBACK"
            | "NOTIFICATION_OF_CHARGEBACK"
            | "DISPUTE_OPENED_WITH_CHARGEBACK",
            false,
            _,
        ) => {
            return Err(format!(
                "{code} with success false: nothing happened to the payment"
            ));
        }
        (other, _, _) => return Err(format!("eventCode {other} is not mapped")),
    })
}

/// Turns one item into its event, or an ignore.
pub(crate) fn normalise(
    item: &Item,
    mapping: &Mapping,
    ctx: &NormaliseContext,
) -> Result<Normalised<()>, NormaliseError> {
    let code = item.event_code.as_deref().unwrap_or_default();
    let meaning = match meaning(code, item.succeeded(), mapping.capture_event) {
        Ok(meaning) => meaning,
        Err(reason) => return Ok(Normalised::Ignored(reason)),
    };
    let occurred_at = match item.event_date.as_deref().map(str::trim) {
        Some(date) if !date.is_empty() => fields::rfc3339("eventDate", date)?,
        _ => ctx.received_at,
    };
    let amount = item
        .amount
        .as_ref()
        .map(|amount| money("amount", amount))
        .transpose()?;
    // An authorisation's own reference is the payment's; every later event names the payment
    // in `originalReference`.
    let payment_id = if code == "AUTHORISATION" {
        non_empty(item.psp_reference.as_deref())
    } else {
        non_empty(item.original_reference.as_deref())
    };
    let mut payment = Payment {
        provider: PROVIDER.to_owned(),
        payment_id,
        order_ref: non_empty(item.merchant_reference.as_deref()),
        status: Some(code.to_owned()),
        method: non_empty(item.payment_method.as_deref()),
        ..Payment::default()
    };
    let reason = non_empty(item.reason.as_deref());
    let (event_type, refund) = match meaning {
        Meaning::Paid => {
            payment.amount = amount;
            (EventType::PaymentSucceeded, None)
        }
        Meaning::Failed(otherwise) => {
            payment.amount = amount;
            payment.failure_reason = reason.or_else(|| Some(otherwise.to_owned()));
            (EventType::PaymentFailed, None)
        }
        Meaning::Refunded => {
            let amount = amount.ok_or_else(|| NormaliseError::field("amount", "missing"))?;
            let refund = Refund {
                external_id: non_empty(item.psp_reference.as_deref()),
                amount: Some(fields::magnitude("amount", amount)?),
                reason,
                items: Vec::new(),
            };
            (EventType::PaymentRefunded, Some(refund))
        }
        Meaning::Disputed => {
            payment.dispute = Some(Dispute {
                external_id: non_empty(item.psp_reference.as_deref()),
                amount: amount
                    .map(|amount| fields::magnitude("amount", amount))
                    .transpose()?,
                reason: reason.or_else(|| non_empty(item.additional_str("chargebackReasonCode"))),
                status: non_empty(item.additional_str("disputeStatus")),
                // Informational and unsigned: a time that does not read is left out.
                evidence_due_by: item
                    .additional_str("defensePeriodEndsAt")
                    .and_then(|text| fields::rfc3339("defensePeriodEndsAt", text).ok()),
            });
            (EventType::PaymentDisputed, None)
        }
    };
    mapping.link.apply(&mut payment);
    Ok(Normalised::Events(vec![EventDraft {
        event_type,
        occurred_at,
        status: Some(code.to_owned()),
        order: None,
        payment: Some(payment),
        refund,
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::money::DecimalText;

    fn amount(value: &str, currency: &str) -> Amount {
        Amount {
            value: Some(DecimalText(value.into())),
            currency: Some(currency.into()),
        }
    }

    fn minor(value: &str, currency: &str) -> Result<i64, String> {
        money("amount", &amount(value, currency))
            .map(|m| m.amount_minor)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn amounts_are_adyen_minor_units_converted_to_iso_ones() {
        assert_eq!(minor("1130", "EUR"), Ok(1130));
        assert_eq!(minor("1500", "JPY"), Ok(1500));
        assert_eq!(minor("12345", "KWD"), Ok(12345));
        // ISK and CLP: two decimals at Adyen, none in ISO 4217.
        assert_eq!(minor("279000", "ISK"), Ok(2790));
        assert_eq!(minor("100000", "CLP"), Ok(1000));
        assert_eq!(
            minor("279050", "ISK"),
            Err("amount.value: more decimal places than ISK allows (0)".into())
        );
        // CVE and IDR: none at Adyen, two in ISO 4217.
        assert_eq!(minor("2500", "CVE"), Ok(250_000));
        assert_eq!(minor("15000", "IDR"), Ok(1_500_000));
        assert_eq!(
            minor("92233720368547759", "IDR"),
            Err("amount.value: amount out of range".into())
        );
        assert_eq!(
            minor("11.30", "EUR"),
            Err("amount.value: not a whole number of minor units".into())
        );
        assert_eq!(
            minor("1", "XXX"),
            Err("amount.currency: unknown currency code".into())
        );
    }

    #[test]
    fn capture_event_decides_which_event_is_paid() {
        use CaptureEvent::{Authorisation, Capture};
        let paid =
            |code, success, capture| matches!(meaning(code, success, capture), Ok(Meaning::Paid));
        assert!(paid("AUTHORISATION", true, Authorisation));
        assert!(!paid("AUTHORISATION", true, Capture));
        assert!(paid("CAPTURE", true, Capture));
        assert!(!paid("CAPTURE", true, Authorisation));
        assert!(matches!(
            meaning("CAPTURE", false, Capture),
            Ok(Meaning::Failed(_))
        ));
        assert!(meaning("CAPTURE", false, Authorisation).is_err());
        assert!(matches!(
            meaning("AUTHORISATION", false, Capture),
            Ok(Meaning::Failed("refused"))
        ));
        assert!(meaning("REFUND", false, Authorisation).is_err());
        assert!(meaning("CANCEL_OR_REFUND", true, Authorisation).is_err());
        for code in [
            "NOTIFICATION_OF_CHARGEBACK",
            "CHARGEBACK",
            "DISPUTE_OPENED_WITH_CHARGEBACK",
        ] {
            assert!(matches!(
                meaning(code, true, Capture),
                Ok(Meaning::Disputed)
            ));
            assert!(meaning(code, false, Capture).is_err());
        }
    }
}
