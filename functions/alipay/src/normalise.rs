//! Alipay notifications → unified payment events.
//!
//! A trade notification (`notify_type=trade_status_sync`) reports the trade's state after a
//! change; refunds are reported by the same notification, through the payment's `notify_url`,
//! with the refund fields set (`refund_fee`, the total refunded so far; `gmt_refund`;
//! `out_biz_no`, the merchant's refund request number):
//!
//! | `trade_status` | refund fields | event |
//! |---|---|---|
//! | `TRADE_SUCCESS` | none | `payment.succeeded` |
//! | `TRADE_SUCCESS` | set | `payment.refunded` (a partial refund: the trade stays refundable) |
//! | `TRADE_CLOSED` | set | `payment.refunded` (the full refund closed the trade) |
//! | `TRADE_CLOSED` | none | `payment.failed` (closed unpaid: timed out or cancelled) |
//! | `TRADE_FINISHED` | any | ignored: the refund period ended, after a `TRADE_SUCCESS` that was reported; `payment.succeeded` with `trade_finished_succeeds` (contracts without refunds, where it is the only notice of payment) |
//! | `WAIT_BUYER_PAY`, other | any | ignored |
//!
//! Amounts are decimal yuan strings (CNY, two places), read exactly; times are China time.

use o2o_core::connector::{EventDraft, NormaliseContext, NormaliseError};
use o2o_core::event::{EventType, Payment, Refund};
use o2o_core::fields;
use o2o_core::link::OrderLink;
use o2o_core::money::{Currency, Money};

use crate::CHANNEL;
use crate::form::{Form, NotUtf8};

/// What an Alipay delivery becomes (fat notifications: nothing to enrich).
type Normalised = o2o_core::connector::Normalised<()>;

/// The notification type of trade-status notifications.
pub const TRADE_STATUS_SYNC: &str = "trade_status_sync";

/// The fields of a notification that are read, as text (blank values are absent: Alipay does
/// not sign them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    /// `notify_id`: the notification's id, the same in every resend.
    pub notify_id: String,
    /// `notify_type`: `trade_status_sync` for trade notifications.
    pub notify_type: Option<String>,
    /// `notify_time`: when it was sent (China time).
    pub notify_time: Option<String>,
    /// `app_id`: the app the trade belongs to.
    pub app_id: Option<String>,
    /// `trade_status`.
    pub trade_status: Option<String>,
    /// `trade_no`: Alipay's trade number.
    pub trade_no: Option<String>,
    /// `out_trade_no`: the merchant's order number.
    pub out_trade_no: Option<String>,
    /// `out_biz_no`: the merchant's refund request number, in refund notifications.
    pub out_biz_no: Option<String>,
    /// `total_amount`: the order amount, yuan.
    pub total_amount: Option<String>,
    /// `refund_fee`: the total refunded so far, yuan, in refund notifications.
    pub refund_fee: Option<String>,
    /// `gmt_payment`: when the buyer paid.
    pub gmt_payment: Option<String>,
    /// `gmt_refund`: when the refund was made.
    pub gmt_refund: Option<String>,
    /// `gmt_close`: when the trade closed.
    pub gmt_close: Option<String>,
    /// `trans_currency`: the pricing currency of cross-border trades.
    pub trans_currency: Option<String>,
}

impl Notification {
    /// Reads the notification's fields from its (authenticated) form.
    pub fn read(form: &Form) -> Result<Self, NormaliseError> {
        let text = |name: &str| -> Result<Option<String>, NormaliseError> {
            form.text_of(name)
                .map(|value| value.map(str::to_owned))
                .map_err(|NotUtf8| NormaliseError::field(name, "is not UTF-8 text"))
        };
        Ok(Self {
            notify_id: text("notify_id")?
                .ok_or_else(|| NormaliseError::field("notify_id", "missing"))?,
            notify_type: text("notify_type")?,
            notify_time: text("notify_time")?,
            app_id: text("app_id")?,
            trade_status: text("trade_status")?,
            trade_no: text("trade_no")?,
            out_trade_no: text("out_trade_no")?,
            out_biz_no: text("out_biz_no")?,
            total_amount: text("total_amount")?,
            refund_fee: text("refund_fee")?,
            gmt_payment: text("gmt_payment")?,
            gmt_refund: text("gmt_refund")?,
            gmt_close: text("gmt_close")?,
            trans_currency: text("trans_currency")?,
        })
    }

    /// The event name used as the delivery's topic: `trade_status_sync.TRADE_SUCCESS` for a
    /// trade notification, else its `notify_type`.
    pub fn topic(&self) -> String {
        match (&self.notify_type, &self.trade_status) {
            (Some(kind), Some(status)) => format!("{kind}.{status}"),
            (Some(kind), None) => kind.clone(),
            (None, Some(status)) => status.clone(),
            (None, None) => "notify".to_owned(),
        }
    }

    /// Whether Alipay reports a refund: any of the refund fields is set.
    fn is_refund(&self) -> bool {
        self.refund_fee.is_some() || self.gmt_refund.is_some() || self.out_biz_no.is_some()
    }
}

/// How the connector reads `TRADE_FINISHED` (the `trade_finished_succeeds` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `TRADE_FINISHED` is `payment.succeeded` (contracts without refunds), not ignored.
    pub trade_finished_succeeds: bool,
}

/// Maps one notification.
pub fn normalise(
    notification: &Notification,
    options: Options,
    link: &OrderLink,
    ctx: &NormaliseContext,
) -> Result<Normalised, NormaliseError> {
    if let Some(kind) = notification
        .notify_type
        .as_deref()
        .filter(|kind| *kind != TRADE_STATUS_SYNC)
    {
        return Ok(Normalised::Ignored(format!(
            "notify_type {kind} is not mapped"
        )));
    }
    let Some(status) = notification.trade_status.as_deref() else {
        return Ok(Normalised::Ignored(
            "a notification without trade_status is not mapped".to_owned(),
        ));
    };
    let refund = notification.is_refund();
    let event_type = match status {
        "TRADE_SUCCESS" if refund => EventType::PaymentRefunded,
        "TRADE_SUCCESS" => EventType::PaymentSucceeded,
        "TRADE_CLOSED" if refund => EventType::PaymentRefunded,
        "TRADE_CLOSED" => EventType::PaymentFailed,
        "TRADE_FINISHED" if options.trade_finished_succeeds => EventType::PaymentSucceeded,
        "TRADE_FINISHED" => {
            return Ok(Normalised::Ignored(
                "TRADE_FINISHED: the refund period ended; the payment was reported by its \
                 TRADE_SUCCESS (set trade_finished_succeeds for contracts without refunds)"
                    .to_owned(),
            ));
        }
        other => {
            return Ok(Normalised::Ignored(format!(
                "trade_status {other} is not mapped"
            )));
        }
    };
    Ok(Normalised::Events(vec![draft(
        notification,
        event_type,
        link,
        ctx,
    )?]))
}

/// The event of a mapped notification.
fn draft(
    n: &Notification,
    event_type: EventType,
    link: &OrderLink,
    ctx: &NormaliseContext,
) -> Result<EventDraft, NormaliseError> {
    let currency = currency(n)?;
    let trade_no = n
        .trade_no
        .clone()
        .ok_or_else(|| NormaliseError::field("trade_no", "missing"))?;
    let amount = n
        .total_amount
        .as_deref()
        .map(|amount| yuan("total_amount", amount, currency))
        .transpose()?;
    let (time_field, time) = match event_type {
        EventType::PaymentRefunded => ("gmt_refund", &n.gmt_refund),
        EventType::PaymentFailed => ("gmt_close", &n.gmt_close),
        _ => ("gmt_payment", &n.gmt_payment),
    };
    let occurred_at = match (time, &n.notify_time) {
        (Some(at), _) => fields::china_time(time_field, at)?,
        (None, Some(at)) => fields::china_time("notify_time", at)?,
        (None, None) => ctx.received_at,
    };
    let refund = match event_type {
        EventType::PaymentRefunded => {
            let total_refunded = n
                .refund_fee
                .as_deref()
                .ok_or_else(|| NormaliseError::field("refund_fee", "missing"))?;
            Some(Refund {
                external_id: n.out_biz_no.clone(),
                amount: Some(yuan("refund_fee", total_refunded, currency)?),
                reason: None,
                items: Vec::new(),
            })
        }
        _ => None,
    };
    let failure_reason = (event_type == EventType::PaymentFailed)
        .then(|| "TRADE_CLOSED: the trade closed unpaid (timed out or cancelled)".to_owned());
    let mut payment = Payment {
        provider: CHANNEL.to_owned(),
        payment_id: Some(trade_no),
        order_ref: n.out_trade_no.clone(),
        amount,
        status: n.trade_status.clone(),
        failure_reason,
        ..Payment::default()
    };
    link.apply(&mut payment);
    Ok(EventDraft {
        event_type,
        occurred_at,
        status: n.trade_status.clone(),
        order: None,
        payment: Some(payment),
        refund,
    })
}

/// CNY: domestic Alipay amounts are yuan. A cross-border trade priced in another currency
/// (`trans_currency`) is refused rather than read in the wrong currency (whether its
/// `total_amount` is in that currency is unconfirmed).
fn currency(n: &Notification) -> Result<Currency, NormaliseError> {
    let cny = fields::currency("currency", "CNY")?;
    match n.trans_currency.as_deref() {
        None | Some("CNY") => Ok(cny),
        Some(_) => Err(NormaliseError::field(
            "trans_currency",
            "only CNY trades are mapped",
        )),
    }
}

/// A decimal yuan amount, exactly; never negative.
fn yuan(field: &str, text: &str, currency: Currency) -> Result<Money, NormaliseError> {
    let money = Money::parse(text, currency).map_err(|e| NormaliseError::field(field, e))?;
    if money.amount_minor < 0 {
        return Err(NormaliseError::field(field, "is negative"));
    }
    Ok(money)
}
