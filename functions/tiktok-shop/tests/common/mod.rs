//! Shared by the integration tests: the test credentials and the sample files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use o2o_core::sample::parse_sample;
use o2o_core::settings::SettingsTable;
use o2o_core::{Connector, Secret, Secrets, Timestamp, WebhookRequest};
use o2o_enrich::ApiSettings;
use o2o_tiktok_shop::{Settings, TikTokShop};
use serde_json::json;

/// The test app key (any text works; TikTok's are short alphanumerics).
pub const APP_KEY: &str = "6a8b2c9d0e1f2";
/// The test app secret the samples are signed with.
pub const APP_SECRET: &str = "tiktok-shop-test-secret";
/// The test seller access token.
pub const ACCESS_TOKEN: &str = "TTP_o2o-test-access-token";
/// The test shop cipher.
pub const SHOP_CIPHER: &str = "GCP_o2oTestCipher00000000000000";
/// `shop_id` of every sample.
pub const SHOP_ID: &str = "7495611234509876543";

/// The tenant's settings with the test credentials; `api_base` only when given.
pub fn settings(api_base: Option<&str>) -> Settings {
    Settings {
        app_key: o2o_core::Identifier::new(APP_KEY),
        secrets: Secrets::new(vec![Secret::new(APP_SECRET)]).expect("one secret"),
        access_token: Secret::new(ACCESS_TOKEN),
        shop_cipher: SHOP_CIPHER.to_owned(),
        api: ApiSettings {
            api_base: api_base.map(str::to_owned),
            api_timeout_ms: None,
        },
    }
}

/// The same settings as a `[channels.tiktok-shop]` table, as configuration holds them.
pub fn table(api_base: &str) -> SettingsTable {
    let value = json!({
        "app_key": APP_KEY,
        "secrets": [APP_SECRET],
        "access_token": ACCESS_TOKEN,
        "shop_cipher": SHOP_CIPHER,
        "api_base": api_base,
    });
    match value {
        serde_json::Value::Object(table) => table,
        _ => unreachable!("a JSON object"),
    }
}

/// The connector built from `settings`.
pub fn build(settings: Settings) -> TikTokShop {
    TikTokShop::build(settings).expect("the test settings build")
}

/// The connector with the test credentials; `api_base` only when given.
pub fn connector(api_base: Option<&str>) -> TikTokShop {
    build(settings(api_base))
}

pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/tiktok-shop")
}

/// A fixed receive time: normalisation must take every time from the payload.
pub fn received_at() -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600).expect("2026-01-01T00:00:00Z")
}

/// Sample `name` as TikTok would send it, signed with the test credentials.
pub fn signed_sample(name: &str) -> WebhookRequest {
    let path = samples_dir().join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read sample {}: {e}", path.display()));
    parse_sample(&bytes)
        .expect("the sample file is an HTTP request")
        .signed(&connector(None), received_at())
        .expect("the test credentials sign")
}

pub mod order_detail;
