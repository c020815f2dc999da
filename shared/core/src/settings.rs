//! Channel settings: one table per channel and tenant, the same keys in the TOML file
//! (`[channels.<id>]`, `[channels.<id>.tenants.<tenant>]`) and in an AWS Secrets Manager secret (a
//! JSON object). Each connector reads a table into its own typed `Settings` once, at start-up.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A credential value. `Debug` never shows it, so it cannot leak into logs by accident. It reads
/// from a string, or from an integer kept as its exact decimal text (TOML `app_key = 7000…`).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for signing and verifying only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl Visitor<'_> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-empty string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                if v.is_empty() {
                    // The message names the problem only: serde adds no value to it.
                    return Err(E::custom("is empty"));
                }
                Ok(Secret(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
        }
        d.deserialize_any(SecretVisitor)
    }
}

impl JsonSchema for Secret {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secret".into()
    }

    /// A string that is written, never read back (`writeOnly`): `o2o channels` marks it secret.
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "minLength": 1, "writeOnly": true})
    }

    fn inline_schema() -> bool {
        true
    }
}

/// A public identifier in settings (an app key, a client id, an app id): not a credential, so
/// shown in `Debug`. Reads from a string, or from an integer kept as its exact decimal text.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Identifier(String);

impl Identifier {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The identifier's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for Identifier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Secret::deserialize(d).map(|s| Identifier(s.0))
    }
}

impl JsonSchema for Identifier {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Identifier".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "minLength": 1})
    }

    fn inline_schema() -> bool {
        true
    }
}

/// Active signing secrets, newest first: during a rotation every listed one verifies, and the
/// first signs. Never empty.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Secrets(Vec<Secret>);

impl JsonSchema for Secrets {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Secrets".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "array",
            "items": generator.subschema_for::<Secret>(),
            "minItems": 1,
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

impl Secrets {
    /// The list, newest first; `None` when it is empty.
    pub fn new(secrets: Vec<Secret>) -> Option<Self> {
        (!secrets.is_empty()).then_some(Self(secrets))
    }

    /// The secret that signs: the newest.
    pub fn newest(&self) -> &Secret {
        // Never empty: checked by `new` and by deserialisation.
        &self.0[0]
    }

    /// Every active secret, newest first.
    pub fn all(&self) -> &[Secret] {
        &self.0
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets(<{} redacted>)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for Secrets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Secret>::deserialize(d)?;
        Secrets::new(list).ok_or_else(|| de::Error::custom("lists no secret"))
    }
}

/// Why a channel's settings are unusable. Messages name the setting, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// An `env:NAME` value names a variable that is not set.
    #[error("{key} refers to environment variable {var}, which is not set")]
    MissingEnv {
        /// The setting, e.g. `channels.shopify.secrets`.
        key: String,
        /// The variable.
        var: String,
    },
    /// A setting is missing, unknown, or has the wrong shape.
    #[error("{table}: {problem}")]
    Invalid {
        /// The table and setting, e.g. `channels.shopify.tenants.a.secrets`.
        table: String,
        /// What is wrong (`missing field `secrets``, `must be 43 characters`).
        problem: String,
    },
    /// A channel table names no registered connector.
    #[error("unknown channel `{0}` in configuration")]
    UnknownChannel(String),
}

impl SettingsError {
    /// A problem with one named setting, found by a connector's `build` (decoding a key).
    pub fn setting(name: &str, problem: impl fmt::Display) -> Self {
        Self::Invalid {
            table: name.to_owned(),
            problem: problem.to_string(),
        }
    }

    /// Puts the table's label in front of the setting (`channels.shopify` + `secrets`).
    pub fn within(self, label: &str) -> Self {
        match self {
            Self::Invalid { table, problem } if table.is_empty() => Self::Invalid {
                table: label.to_owned(),
                problem,
            },
            Self::Invalid { table, problem } => Self::Invalid {
                table: format!("{label}.{table}"),
                problem,
            },
            other => other,
        }
    }
}

/// One settings table as written: string, number and list values by setting name.
pub type SettingsTable = Map<String, Value>;

/// One channel's configuration: the default table plus optional per-tenant tables. `Debug` shows
/// setting names only: the values are credentials until a connector has typed them.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelConfig {
    /// Settings used when the URL names no tenant.
    #[serde(flatten)]
    pub default: SettingsTable,
    /// Settings per `{tenant}` path segment (`[channels.shopify.tenants.<id>]`), each complete.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, SettingsTable>,
}

impl fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |table: &SettingsTable| table.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("ChannelConfig")
            .field("default", &names(&self.default))
            .field(
                "tenants",
                &self
                    .tenants
                    .iter()
                    .map(|(t, table)| (t.clone(), names(table)))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish()
    }
}

impl ChannelConfig {
    /// Every table to build an instance from: `(None, default)` when the default table has any
    /// setting, then `(Some(tenant), table)` for each tenant.
    pub fn tables(&self) -> impl Iterator<Item = (Option<&str>, &SettingsTable)> {
        std::iter::once((None, &self.default))
            .filter(|(_, t)| !t.is_empty())
            .chain(self.tenants.iter().map(|(t, s)| (Some(t.as_str()), s)))
    }

    /// Replaces every `env:NAME` string (at any depth) with the variable's value, via `lookup`.
    pub fn resolve_env(
        &mut self,
        channel: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        resolve_table(&mut self.default, &format!("channels.{channel}"), lookup)?;
        for (tenant, table) in &mut self.tenants {
            let label = format!("channels.{channel}.tenants.{tenant}");
            resolve_table(table, &label, lookup)?;
        }
        Ok(())
    }
}

/// The label of a table in messages: `channels.shopify` or `channels.shopify.tenants.a`.
pub fn table_label(channel: &str, tenant: Option<&str>) -> String {
    match tenant {
        None => format!("channels.{channel}"),
        Some(tenant) => format!("channels.{channel}.tenants.{tenant}"),
    }
}

/// Reads `table` into a connector's typed settings; errors name the table and the setting. A key
/// the settings type does not declare (its schema's properties) is refused as a typo, so
/// settings types may `#[serde(flatten)]` shared parts.
pub fn parse_settings<S: serde::de::DeserializeOwned + JsonSchema>(
    table: &SettingsTable,
    label: &str,
) -> Result<S, SettingsError> {
    let schema = schemars::schema_for!(S);
    // A type that takes further keys (a flattened map) checks them itself.
    let open = schema
        .get("additionalProperties")
        .is_some_and(|extra| extra != &Value::Bool(false));
    if let Some(known) = schema.get("properties").and_then(Value::as_object)
        && !open
        && let Some(unknown) = table.keys().find(|k| !known.contains_key(k.as_str()))
    {
        let mut expected: Vec<&str> = known.keys().map(String::as_str).collect();
        expected.sort_unstable();
        return Err(SettingsError::Invalid {
            table: label.to_owned(),
            problem: format!(
                "unknown setting `{unknown}`, expected one of {}",
                expected.join(", ")
            ),
        });
    }
    let value = Value::Object(table.clone());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let table = if path == "." {
            label.to_owned()
        } else {
            format!("{label}.{path}")
        };
        SettingsError::Invalid {
            table,
            problem: without_values(&e.into_inner().to_string()),
        }
    })
}

/// serde's messages quote a value of the wrong type (`invalid type: string "abc"`); keep the
/// category and what was expected, drop the value.
fn without_values(message: &str) -> String {
    match message.split_once(": ") {
        Some(("invalid type" | "invalid value", rest)) => {
            let expected = rest.split_once(", expected ").map(|(_, e)| e);
            match expected {
                Some(expected) => format!("wrong type, expected {expected}"),
                None => "wrong type".to_owned(),
            }
        }
        _ => message.to_owned(),
    }
}

fn resolve_table(
    table: &mut SettingsTable,
    label: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), SettingsError> {
    for (name, value) in table.iter_mut() {
        resolve_value(value, &format!("{label}.{name}"), lookup)?;
    }
    Ok(())
}

fn resolve_value(
    value: &mut Value,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), SettingsError> {
    match value {
        Value::String(text) => {
            if let Some(var) = text.strip_prefix("env:") {
                *text = lookup(var).ok_or_else(|| SettingsError::MissingEnv {
                    key: key.to_owned(),
                    var: var.to_owned(),
                })?;
            }
        }
        Value::Array(items) => {
            for item in items {
                resolve_value(item, key, lookup)?;
            }
        }
        Value::Object(map) => resolve_table(map, key, lookup)?,
        _ => {}
    }
    Ok(())
}

/// One setting as `o2o channels` lists it, read from a connector's settings schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDoc {
    /// The key, e.g. `secrets` or `app_key`.
    pub name: String,
    /// Whether the channel cannot work without it.
    pub required: bool,
    /// Whether it is a credential (`Secret`): redacted everywhere.
    pub secret: bool,
    /// The doc comment of the field.
    pub description: String,
}

/// The settings a schema (of a connector's `Settings` type) declares: required ones first, each
/// group by name.
pub fn setting_docs(schema: &schemars::Schema) -> Vec<SettingDoc> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut docs: Vec<SettingDoc> = properties
        .iter()
        .map(|(name, property)| {
            let items = property.get("items").unwrap_or(&Value::Null);
            let secret = [property, items]
                .iter()
                .any(|p| p.get("writeOnly") == Some(&Value::Bool(true)));
            let description = property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            SettingDoc {
                name: name.clone(),
                required: required.contains(&name.as_str()),
                secret,
                description,
            }
        })
        .collect();
    docs.sort_by(|a, b| (!a.required, &a.name).cmp(&(!b.required, &b.name)));
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Example {
        /// Signing secrets.
        secrets: Secrets,
        /// The app key.
        app_key: Secret,
        /// A timeout.
        #[serde(default)]
        timeout_ms: Option<u64>,
    }

    #[test]
    fn reads_tenants_and_names_the_setting_that_is_wrong() {
        let json = r#"{"secrets":["new","old"],"app_key":7000000000000000001,"tenants":{"b":{"secrets":["b"]}}}"#;
        let config: ChannelConfig = serde_json::from_str(json).expect("config");
        let tables: Vec<_> = config.tables().map(|(t, _)| t).collect();
        assert_eq!(tables, [None, Some("b")]);
        let default: Example = parse_settings(&config.default, "channels.x").expect("settings");
        assert_eq!(default.secrets.all().len(), 2);
        assert_eq!(default.secrets.newest().expose(), "new");
        assert_eq!(default.app_key.expose(), "7000000000000000001");
        let b = parse_settings::<Example>(&config.tenants["b"], "channels.x.tenants.b")
            .expect_err("no app key");
        assert_eq!(
            b.to_string(),
            "channels.x.tenants.b: missing field `app_key`"
        );
        let bad: SettingsTable =
            serde_json::from_str(r#"{"secrets":[],"app_key":"k"}"#).expect("json");
        let err = parse_settings::<Example>(&bad, "channels.x").expect_err("empty");
        assert_eq!(err.to_string(), "channels.x.secrets: lists no secret");
        let typo: SettingsTable =
            serde_json::from_str(r#"{"secrets":["s"],"app_key":"k","timeout_ms":"sixty"}"#)
                .expect("json");
        let err = parse_settings::<Example>(&typo, "channels.x").expect_err("type");
        assert_eq!(
            err.to_string(),
            "channels.x.timeout_ms: wrong type, expected u64"
        );
        assert!(!err.to_string().contains("sixty"));
        let unknown: SettingsTable =
            serde_json::from_str(r#"{"secrets":["s"],"app_key":"k","secret":"x"}"#).expect("json");
        let err = parse_settings::<Example>(&unknown, "channels.x").expect_err("typo");
        assert_eq!(
            err.to_string(),
            "channels.x: unknown setting `secret`, expected one of app_key, secrets, timeout_ms"
        );
    }

    #[test]
    fn resolves_env_values_and_never_prints_secrets() {
        let mut config: ChannelConfig =
            serde_json::from_str(r#"{"secrets":["env:SHOP_SECRET"],"app_key":"env:NOPE"}"#)
                .expect("config");
        let lookup = |name: &str| (name == "SHOP_SECRET").then(|| "s3cr3t".to_owned());
        let err = config
            .resolve_env("shopify", &lookup)
            .expect_err("NOPE is unset");
        assert_eq!(
            err,
            SettingsError::MissingEnv {
                key: "channels.shopify.app_key".into(),
                var: "NOPE".into()
            }
        );
        config.default.remove("app_key");
        config.resolve_env("shopify", &lookup).expect("resolves");
        let secrets: Secrets =
            serde_json::from_value(config.default["secrets"].clone()).expect("secrets");
        assert_eq!(secrets.newest().expose(), "s3cr3t");
        assert!(!format!("{secrets:?}").contains("s3cr3t"));
        assert!(!format!("{config:?}").contains("s3cr3t"), "{config:?}");
    }

    #[test]
    fn documents_settings_from_the_schema() {
        let docs = setting_docs(&schemars::schema_for!(Example));
        let names: Vec<(&str, bool, bool)> = docs
            .iter()
            .map(|d| (d.name.as_str(), d.required, d.secret))
            .collect();
        assert_eq!(
            names,
            [
                ("app_key", true, true),
                ("secrets", true, true),
                ("timeout_ms", false, false)
            ]
        );
        assert_eq!(docs[0].description, "The app key.");
    }
}
