//! One log line per delivery, the same fields on every host, and an optional metrics sink.

use o2o_core::Handled;

/// A sink for per-delivery metrics (CloudWatch EMF on Lambda; none locally).
pub trait Observer: Send + Sync {
    /// One delivery of `channel` was answered after `latency_ms`.
    fn delivery(&self, channel: &str, handled: &Handled, latency_ms: f64);
}

/// Logs one delivery: channel, tenant segment, outcome, status, key, a short detail, events,
/// records and latency. Never bodies, secrets or customer data.
pub fn log_delivery(channel: &str, tenant: Option<&str>, handled: &Handled, latency_ms: f64) {
    let tenant = tenant.unwrap_or("");
    let status = handled.reply.status;
    let outcome = handled.outcome.as_str();
    let key = handled.outcome.key().map(|k| k.as_str()).unwrap_or("");
    let detail = handled.outcome.detail().unwrap_or_default();
    let events = handled.outcome.events();
    let records = handled.records;
    // Three decimals: microseconds are the finest unit worth reading.
    let latency_ms = (latency_ms * 1000.0).round() / 1000.0;
    if outcome == "failed" {
        tracing::error!(
            channel,
            tenant,
            outcome,
            status,
            key,
            detail,
            events,
            records,
            latency_ms,
            "delivery failed"
        );
    } else if handled.outcome.is_warning() {
        tracing::warn!(
            channel, tenant, outcome, status, key, detail, events, records, latency_ms, "delivery"
        );
    } else {
        tracing::info!(
            channel, tenant, outcome, status, key, detail, events, records, latency_ms, "delivery"
        );
    }
}
