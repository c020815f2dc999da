//! Channel configuration: the same keys in the TOML file (`[channels.<id>]`) and in an AWS
//! Secrets Manager secret (a JSON object), so one set of types reads both.

use std::collections::BTreeMap;
use std::fmt;

use crate::connector::ChannelInfo;
use serde::{Deserialize, Serialize};

/// A credential value. `Debug` never shows it, so it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Why configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An `env:NAME` value names a variable that is not set.
    #[error("{key} refers to environment variable {var}, which is not set")]
    MissingEnv {
        /// The setting, e.g. `channels.shopify.secrets`.
        key: String,
        /// The variable.
        var: String,
    },
    /// A required setting is absent.
    #[error("{channel}: missing setting `{setting}`")]
    MissingSetting {
        /// The channel (and tenant).
        channel: String,
        /// The setting.
        setting: &'static str,
    },
    /// A channel table names no registered connector.
    #[error("unknown channel `{0}` in configuration")]
    UnknownChannel(String),
}

/// One tenant's credentials: signing `secrets` (newest first) and the platform's other values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Active signing secrets, newest first; during rotation both verify.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// Other credentials by the platform's own names in snake_case (`app_key`, `token` …).
    #[serde(flatten)]
    pub values: BTreeMap<String, Secret>,
}

impl Credentials {
    /// A named credential value.
    pub fn value(&self, name: &str) -> Option<&Secret> {
        self.values.get(name)
    }

    /// Replaces every `env:NAME` value with the variable's value, via `lookup`.
    pub fn resolve_env(
        &mut self,
        context: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let resolve = |key: String, secret: &mut Secret| -> Result<(), ConfigError> {
            if let Some(var) = secret.0.strip_prefix("env:") {
                let value = lookup(var).ok_or_else(|| ConfigError::MissingEnv {
                    key,
                    var: var.to_owned(),
                })?;
                *secret = Secret(value);
            }
            Ok(())
        };
        for secret in &mut self.secrets {
            resolve(format!("{context}.secrets"), secret)?;
        }
        for (name, secret) in &mut self.values {
            resolve(format!("{context}.{name}"), secret)?;
        }
        Ok(())
    }
}

/// One channel's table: default credentials plus optional per-tenant tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelConfig {
    /// Credentials used when the URL names no tenant.
    #[serde(flatten)]
    pub default: Credentials,
    /// Credentials per `{tenant}` path segment (`[channels.shopify.tenants.<id>]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, Credentials>,
}

impl ChannelConfig {
    /// The credentials for a request's path tenant, if configured.
    pub fn credentials(&self, path_tenant: Option<&str>) -> Option<&Credentials> {
        match path_tenant {
            None => Some(&self.default),
            Some(tenant) => self.tenants.get(tenant),
        }
    }

    /// Resolves `env:NAME` values in the default and every tenant table.
    pub fn resolve_env(
        &mut self,
        channel: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        self.default
            .resolve_env(&format!("channels.{channel}"), lookup)?;
        for (tenant, credentials) in &mut self.tenants {
            credentials.resolve_env(&format!("channels.{channel}.tenants.{tenant}"), lookup)?;
        }
        Ok(())
    }

    /// Checks that every table (default and tenants) holds each of `info`'s required settings.
    pub fn check_required(&self, info: &ChannelInfo) -> Result<(), ConfigError> {
        for (label, credentials) in self.tables(info.id) {
            for setting in info.settings.iter().filter(|s| s.required) {
                let present = match setting.name {
                    "secrets" => !credentials.secrets.is_empty(),
                    name => credentials.value(name).is_some(),
                };
                if !present {
                    return Err(ConfigError::MissingSetting {
                        channel: label,
                        setting: setting.name,
                    });
                }
            }
        }
        Ok(())
    }

    /// Every credentials table with a label for messages (`shopify`, `shopify/tenant-a`).
    pub fn tables<'a>(
        &'a self,
        channel: &'a str,
    ) -> impl Iterator<Item = (String, &'a Credentials)> {
        std::iter::once((channel.to_owned(), &self.default))
            .filter(|(_, c)| !c.secrets.is_empty() || !c.values.is_empty())
            .chain(
                self.tenants
                    .iter()
                    .map(move |(t, c)| (format!("{channel}/{t}"), c)),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tenants_and_platform_keys() {
        let json =
            r#"{"secrets":["new","old"],"app_key":"k","tenants":{"shop-b":{"secrets":["b"]}}}"#;
        let config: ChannelConfig = serde_json::from_str(json).expect("config");
        assert_eq!(config.default.secrets.len(), 2);
        assert_eq!(
            config.default.value("app_key").map(Secret::expose),
            Some("k")
        );
        assert!(config.default.value("tenants").is_none());
        let b = config.credentials(Some("shop-b")).expect("tenant");
        assert_eq!(b.secrets[0].expose(), "b");
        assert!(config.credentials(Some("shop-c")).is_none());
    }

    #[test]
    fn resolves_env_values_and_never_prints_secrets() {
        let mut config: ChannelConfig =
            serde_json::from_str(r#"{"secrets":["env:SHOP_SECRET"],"token":"env:NOPE"}"#)
                .expect("config");
        let lookup = |name: &str| (name == "SHOP_SECRET").then(|| "s3cr3t".to_owned());
        let err = config
            .resolve_env("shopify", &lookup)
            .expect_err("NOPE is unset");
        assert_eq!(
            err,
            ConfigError::MissingEnv {
                key: "channels.shopify.token".into(),
                var: "NOPE".into()
            }
        );
        config.default.values.clear();
        config.resolve_env("shopify", &lookup).expect("resolves");
        assert_eq!(config.default.secrets[0].expose(), "s3cr3t");
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }
}
