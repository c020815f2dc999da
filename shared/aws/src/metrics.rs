//! CloudWatch metrics in the embedded metric format (EMF): one JSON line on stdout per delivery
//! or enrichment batch, which CloudWatch Logs turns into metrics with no API call and no agent.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::io::Write as _;

use o2o_core::Handled;
use serde_json::{Map, Value, json};

/// The metric namespace (the SAM template's alarms use it).
pub const NAMESPACE: &str = "o2o-connectors";

/// A metric's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF record: values for one channel, with `channel` as the dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    channel: String,
    values: Vec<(&'static str, Unit, f64)>,
}

impl Record {
    /// An empty record for `channel`.
    pub fn new(channel: &str) -> Self {
        Self {
            channel: channel.to_owned(),
            values: Vec::new(),
        }
    }

    /// Adds a value.
    pub fn with(mut self, name: &'static str, unit: Unit, value: f64) -> Self {
        self.values.push((name, unit, value));
        self
    }

    /// The metrics of one webhook delivery: `received`, one count per outcome (zero for the
    /// others, so alarms see a continuous series), `unauthorized` for signature failures, and
    /// `latency`.
    pub fn delivery(channel: &str, handled: &Handled, latency_ms: f64) -> Self {
        let outcome = handled.outcome.as_str();
        let count = |name: &str| if outcome == name { 1.0 } else { 0.0 };
        let mut record = Self::new(channel).with("received", Unit::Count, 1.0);
        for name in ["rejected", "duplicate"] {
            record = record.with(name, Unit::Count, count(name));
        }
        let unauthorized = if handled.reply.status == 401 {
            1.0
        } else {
            0.0
        };
        record = record.with("unauthorized", Unit::Count, unauthorized).with(
            "enqueued",
            Unit::Count,
            handled.outcome.events() as f64,
        );
        for name in ["enrichment", "quarantined", "ignored", "failed"] {
            record = record.with(name, Unit::Count, count(name));
        }
        record.with("latency", Unit::Milliseconds, latency_ms)
    }

    /// The JSON line, stamped with `timestamp_ms` (unix milliseconds).
    pub fn to_json(&self, timestamp_ms: i64) -> String {
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut line = Map::new();
        line.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["channel"]],
                    "Metrics": definitions,
                }],
            }),
        );
        line.insert("channel".to_owned(), Value::from(self.channel.as_str()));
        for (name, _, value) in &self.values {
            line.insert((*name).to_owned(), json!(value));
        }
        Value::Object(line).to_string()
    }

    /// Writes the line to stdout, where the Lambda runtime hands it to CloudWatch Logs.
    pub fn emit(&self) {
        let line = self.to_json(o2o_core::Timestamp::now().unix_millis());
        let mut out = std::io::stdout().lock();
        // A lost metric line must never fail a delivery.
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use o2o_core::{IdempotencyKey, Outcome, Processed, Rejection, Reply};

    #[test]
    fn delivery_record_follows_the_emf_specification() {
        let handled = Handled {
            reply: Reply::empty_ok(),
            outcome: Outcome::Accepted {
                key: Some(IdempotencyKey::from_stored("k".to_owned())),
                processed: Processed::Enqueued { events: 2 },
            },
            records: 1,
        };
        let line = Record::delivery("shopify", &handled, 3.5).to_json(1_700_000_000_000);
        let value: Value = serde_json::from_str(&line).expect("one JSON object");
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(value["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["channel"]]));
        assert_eq!(value["channel"], "shopify");
        // Every declared metric has a value at the top level, as the specification requires.
        let names: Vec<&str> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| m["Name"].as_str().expect("name"))
            .collect();
        assert!(names.len() >= 10);
        for name in names {
            assert!(value[name].is_number(), "{name} has no value");
        }
        assert_eq!(value["enqueued"], 2.0);
        assert_eq!(value["received"], 1.0);
        assert_eq!(value["rejected"], 0.0);
        assert_eq!(value["latency"], 3.5);
    }

    #[test]
    fn a_signature_failure_counts_as_rejected_and_unauthorized() {
        let refused = Handled::refused(Rejection::unauthorized("signature_mismatch", "no"));
        let line = Record::delivery("woocommerce", &refused, 0.1).to_json(0);
        let value: Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(value["rejected"], 1.0);
        assert_eq!(value["unauthorized"], 1.0);
        assert_eq!(value["enqueued"], 0.0);
    }
}
