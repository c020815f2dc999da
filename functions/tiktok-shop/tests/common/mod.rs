//! Shared by the integration tests: the test credentials and the sample files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use o2o_core::sample::parse_sample;
use o2o_core::{Credentials, Secret, Timestamp, WebhookRequest};
use o2o_tiktok_shop::TikTokShop;

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

/// The tenant's credentials; `api_base` only when given.
pub fn credentials(api_base: Option<&str>) -> Credentials {
    let mut c = Credentials {
        secrets: vec![Secret::new(APP_SECRET)],
        ..Credentials::default()
    };
    for (k, v) in [
        ("app_key", APP_KEY),
        ("access_token", ACCESS_TOKEN),
        ("shop_cipher", SHOP_CIPHER),
    ] {
        c.values.insert(k.into(), Secret::new(v));
    }
    if let Some(base) = api_base {
        c.values.insert("api_base".into(), Secret::new(base));
    }
    c
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
        .signed(&TikTokShop, &credentials(None), received_at())
        .expect("the test credentials sign")
}

pub mod order_detail;
