//! The connector as the tests build it: the development settings proposed for `o2o.toml`
//! (`[channels.eleme]`: `app_id = "62933118"`, the app of Ele.me's doc samples), and the samples.

#![allow(dead_code)]

use std::path::PathBuf;

use o2o_core::sample::parse_sample;
use o2o_core::settings::parse_settings;
use o2o_core::{Connector, Timestamp, WebhookRequest};
use o2o_eleme::{Eleme, Settings};
use serde_json::{Value, json};

/// The development app id (the `appId` of every sample).
pub const APP_ID: &str = "62933118";
/// The development app key.
pub const APP_KEY: &str = "dev-eleme-app-key";
/// The development app secret.
pub const SECRET: &str = "dev-eleme-app-secret";

/// The connector of the development settings, with `changes` applied to its table.
pub fn eleme_with(changes: &[(&str, Value)]) -> Eleme {
    let mut table = json!({
        "app_id": APP_ID,
        "app_key": APP_KEY,
        "secrets": [SECRET],
    })
    .as_object()
    .cloned()
    .expect("a table");
    for (name, value) in changes {
        table.insert((*name).to_owned(), value.clone());
    }
    let settings: Settings = parse_settings(&table, "channels.eleme").expect("settings");
    Eleme::build(settings).expect("builds")
}

/// The connector of the development settings.
pub fn eleme() -> Eleme {
    eleme_with(&[])
}

/// `events/eleme/`.
pub fn sample_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/eleme")
}

/// When the tests receive the samples.
pub fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_764_172_800).expect("a time")
}

/// The sample `name` as a request, unsigned.
pub fn sample(name: &str) -> WebhookRequest {
    let bytes = std::fs::read(sample_dir().join(name)).expect("the sample file is readable");
    let sample = parse_sample(&bytes).expect("the sample file is an HTTP request");
    assert_eq!(
        (sample.method.as_str(), sample.path.as_str()),
        ("POST", "/webhooks/eleme"),
        "{name}"
    );
    sample.into_request(received_at())
}

/// `req` signed by `connector`, which then verifies it.
pub fn signed(connector: &Eleme, mut req: WebhookRequest) -> WebhookRequest {
    connector.sign(&mut req).expect("sign");
    connector.verify(&req).expect("the signed push verifies");
    req
}
