//! Connectors as the tests of each platform use them: built from the repository's development
//! settings (`o2o.toml`), and a payload read through `parse` and `normalise` the way the
//! pipeline reads it, without claims or queues.

use std::collections::BTreeMap;
use std::path::PathBuf;

use o2o_core::connector::{DeliveryId, NormaliseError, Normalised};
use o2o_core::settings::{ChannelConfig, SettingsTable, parse_settings};
use o2o_core::{Connector, NormaliseContext, Verified, WebhookRequest};
use serde::Deserialize;

/// The repository root (where `o2o.toml` and `events/` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The development settings table of `channel` in `o2o.toml`.
pub fn dev_table(channel: &str) -> SettingsTable {
    #[derive(Deserialize)]
    struct File {
        channels: BTreeMap<String, ChannelConfig>,
    }
    let text = std::fs::read_to_string(repo_root().join("o2o.toml")).expect("o2o.toml");
    let mut file: File = toml::from_str(&text).expect("o2o.toml parses");
    file.channels
        .remove(channel)
        .unwrap_or_else(|| panic!("o2o.toml has no [channels.{channel}]"))
        .default
}

/// `C` built from its development settings, with `changes` applied to the table first
/// (`[("api_base", json!(mock.uri()))]`).
pub fn dev_connector_with<C: Connector>(changes: &[(&str, serde_json::Value)]) -> C {
    let id = C::info().id;
    let mut table = dev_table(id);
    for (name, value) in changes {
        table.insert((*name).to_owned(), value.clone());
    }
    let settings = parse_settings::<C::Settings>(&table, &format!("channels.{id}"))
        .unwrap_or_else(|e| panic!("{e}"));
    C::build(settings).unwrap_or_else(|e| panic!("{e}"))
}

/// `C` built from its development settings in `o2o.toml`.
pub fn dev_connector<C: Connector>() -> C {
    dev_connector_with(&[])
}

/// A delivery's identity and what `normalise` answered for it.
pub type Reading<T> = (DeliveryId, Result<Normalised<T>, NormaliseError>);

/// What the pipeline makes of an authenticated request whose body is the payload (a sample file:
/// its body is what the platform signs, or for WeChat the plaintext it encrypts): its identity,
/// and what `normalise` answers. `Err` when `parse` refuses it.
pub fn read<C: Connector>(
    connector: &C,
    req: &WebhookRequest,
) -> Result<Reading<C::Thin>, NormaliseError> {
    let verified = Verified::body(req);
    let parsed = connector.parse(&verified)?;
    let ctx = NormaliseContext {
        received_at: req.received_at,
    };
    let normalised = connector.normalise(&parsed.id, parsed.message, &ctx);
    Ok((parsed.id, normalised))
}
