//! The TOML config file (`o2o.toml`): server settings and one table per channel, each built
//! into its connector instance when the file is loaded (a bad setting stops the program there).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use o2o_core::{ChannelConfig, Channels, Registry};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`.
    #[serde(default)]
    pub server: ServerSettings,
    /// `[consumer]`.
    #[serde(default)]
    pub consumer: ConsumerSettings,
    /// `[channels.<id>]`, as written (with `env:NAME` values resolved).
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelConfig>,
    /// The connector instances built from `channels`.
    #[serde(skip)]
    pub instances: Channels,
}

/// `[server]`: defaults for `o2o serve` (flags win).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address, default `127.0.0.1:8080`.
    pub addr: Option<String>,
    /// SQLite file, default `o2o.db`.
    pub db: Option<PathBuf>,
    /// Body limit in bytes, default 1 MiB.
    pub max_body_bytes: Option<usize>,
    /// Seconds a request head may take from its first byte, default 10.
    pub header_read_timeout_s: Option<u64>,
    /// Seconds a request body may take from its head, default 30.
    pub body_read_timeout_s: Option<u64>,
    /// Seconds a kept-alive connection may wait for its next request, default 60.
    pub idle_timeout_s: Option<u64>,
    /// Open connections at most, default 512 (keep it below the process's file limit).
    pub max_connections: Option<usize>,
    /// Seconds shutdown waits for requests in flight, default 10.
    pub shutdown_deadline_s: Option<u64>,
    /// The bearer token `POST /commands` requires (`env:NAME` reads it from the environment).
    /// Without one, `/commands` is served only on a loopback listen address.
    pub commands_token: Option<String>,
    /// Seconds a completed delivery's idempotency record is kept (duplicates within it are
    /// answered from it), default 604800 (7 days, as the DynamoDB table's TTL on AWS).
    pub idempotency_ttl_s: Option<u64>,
}

/// `[consumer]`: how the order system consumes the local unified queue (docs/consumer.md):
/// pulling through the SQS-compatible API, or pushed to its URL.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSettings {
    /// Where the SQS-compatible API listens (a loopback address: it has no authentication);
    /// without it there is no API.
    pub api_addr: Option<String>,
    /// Seconds a received message stays hidden when the receive names no visibility timeout,
    /// default 60 (the unified queue's on AWS).
    pub visibility_timeout_s: Option<u64>,
    /// Receives (or push attempts) before a message moves to `unified-dlq`, default 5 (the
    /// unified queue's redrive policy on AWS).
    pub max_receives: Option<u32>,
    /// The order system's URL: with it, `o2o serve` POSTs every unified event there.
    pub url: Option<String>,
    /// The `whsec_` secret pushes are signed with (Standard Webhooks); `env:NAME` reads it from
    /// the environment. Required with `url`.
    pub secret: Option<String>,
    /// Milliseconds a push may take before it counts as failed, default 10000.
    pub timeout_ms: Option<u64>,
    /// Days an unconsumed message of the unified queue (or its DLQ) is kept, default 14 (the
    /// queues' retention on AWS).
    pub retention_days: Option<u64>,
}

impl ServerSettings {
    /// The listener's limits: these settings over the defaults. Zero is refused: a zero timeout
    /// would close every connection, a zero cap would refuse them all.
    pub fn limits(&self) -> Result<o2o_local::server::Limits> {
        let defaults = o2o_local::server::Limits::default();
        let seconds = |value: Option<u64>, name: &str, default: Duration| match value {
            Some(0) => anyhow::bail!("[server] {name} must be at least 1"),
            Some(s) => Ok(Duration::from_secs(s)),
            None => Ok(default),
        };
        Ok(o2o_local::server::Limits {
            header_read_timeout: seconds(
                self.header_read_timeout_s,
                "header_read_timeout_s",
                defaults.header_read_timeout,
            )?,
            body_read_timeout: seconds(
                self.body_read_timeout_s,
                "body_read_timeout_s",
                defaults.body_read_timeout,
            )?,
            idle_timeout: seconds(self.idle_timeout_s, "idle_timeout_s", defaults.idle_timeout)?,
            max_connections: match self.max_connections {
                Some(0) => anyhow::bail!("[server] max_connections must be at least 1"),
                Some(n) => n,
                None => defaults.max_connections,
            },
            shutdown_deadline: seconds(
                self.shutdown_deadline_s,
                "shutdown_deadline_s",
                defaults.shutdown_deadline,
            )?,
        })
    }
}

/// The default listen address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// The default SQLite file.
pub const DEFAULT_DB: &str = "o2o.db";

impl Config {
    /// Reads, resolves `env:NAME` values, and builds every channel table with `registry`.
    pub fn load(path: &Path, registry: Registry) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Self::parse(&text, registry, &|name| std::env::var(name).ok())
            .with_context(|| format!("in config {}", path.display()))
    }

    /// Parses config text; `env` looks up environment variables.
    pub fn parse(
        text: &str,
        registry: Registry,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut config: Config = toml::from_str(text)?;
        if let Some(name) = config
            .server
            .commands_token
            .as_deref()
            .and_then(|t| t.strip_prefix("env:"))
        {
            let value = env(name).filter(|v| !v.is_empty()).with_context(|| {
                format!("[server] commands_token: environment variable {name} is not set")
            })?;
            config.server.commands_token = Some(value);
        }
        if let Some(name) = config
            .consumer
            .secret
            .as_deref()
            .and_then(|t| t.strip_prefix("env:"))
        {
            let value = env(name).filter(|v| !v.is_empty()).with_context(|| {
                format!("[consumer] secret: environment variable {name} is not set")
            })?;
            config.consumer.secret = Some(value);
        }
        if let Some(url) = &config.consumer.url {
            let Some(secret) = &config.consumer.secret else {
                anyhow::bail!("[consumer] url needs a secret (whsec_…) to sign the pushes with");
            };
            o2o_local::push::decode_secret(secret).context("[consumer] secret")?;
            match reqwest::Url::parse(url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                _ => anyhow::bail!("[consumer] url must be an http or https URL"),
            }
        }
        for (name, value) in [
            ("visibility_timeout_s", config.consumer.visibility_timeout_s),
            ("max_receives", config.consumer.max_receives.map(u64::from)),
            ("timeout_ms", config.consumer.timeout_ms),
            ("retention_days", config.consumer.retention_days),
            ("idempotency_ttl_s", config.server.idempotency_ttl_s),
        ] {
            if value == Some(0) {
                anyhow::bail!("{name} must be at least 1");
            }
        }
        for (channel, table) in &mut config.channels {
            table.resolve_env(channel, env)?;
        }
        config.instances = Channels::build(registry, &config.channels)?;
        Ok(config)
    }

    /// The listen address: the flag, else `[server] addr`, else the default.
    pub fn addr(&self, flag: Option<&str>) -> String {
        flag.or(self.server.addr.as_deref())
            .unwrap_or(DEFAULT_ADDR)
            .to_owned()
    }

    /// The SQLite file: the flag, else `[server] db`, else the default.
    pub fn db(&self, flag: Option<&Path>) -> PathBuf {
        flag.map(Path::to_path_buf)
            .or_else(|| self.server.db.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::CONNECTORS;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_shipped_development_config_is_valid() {
        let text = include_str!("../o2o.toml");
        let config = Config::parse(text, CONNECTORS, &no_env).expect("o2o.toml parses");
        for entry in CONNECTORS.iter() {
            let id = (entry.info)().id;
            assert!(
                config.instances.get(id, None).is_ok(),
                "o2o.toml configures {id}"
            );
        }
    }

    #[test]
    fn refuses_unknown_channels_and_missing_settings() {
        let err = Config::parse(
            "[channels.shopfy]\nsecrets = [\"x\"]\n",
            CONNECTORS,
            &no_env,
        )
        .expect_err("typo");
        assert_eq!(err.to_string(), "unknown channel `shopfy` in configuration");
        let err = Config::parse(
            "[channels.shopify.tenants.a]\nsecret = [\"k\"]\n",
            CONNECTORS,
            &no_env,
        )
        .expect_err("a typo");
        assert_eq!(
            err.to_string(),
            "channels.shopify.tenants.a: unknown setting `secret`, expected one of admin_access_token, \
             api_base, api_timeout_ms, api_version, client_id, secrets, shop_domain"
        );
        let err = Config::parse("[channels.shopify.tenants.a]\n", CONNECTORS, &no_env)
            .expect_err("no secret");
        assert_eq!(
            err.to_string(),
            "channels.shopify.tenants.a: missing field `secrets`"
        );
        let err =
            Config::parse("[server]\nport = 1\n", CONNECTORS, &no_env).expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `port`"), "{err}");
    }

    #[test]
    fn consumer_settings_are_checked_at_load_without_showing_the_secret() {
        let parse = |text: &str| Config::parse(text, CONNECTORS, &no_env);
        let err = parse("[consumer]\nurl = \"http://127.0.0.1:9/o\"\n").expect_err("no secret");
        assert!(err.to_string().contains("needs a secret"), "{err}");
        let err =
            parse("[consumer]\nurl = \"http://127.0.0.1:9/o\"\nsecret = \"whsec_%%sekret%%\"\n")
                .expect_err("not base64");
        let shown = format!("{err:#}");
        assert!(shown.contains("[consumer] secret"), "{shown}");
        assert!(!shown.contains("sekret"), "{shown}");
        let err = parse(
            "[consumer]\nurl = \"ftp://x\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
        )
        .expect_err("not http");
        assert!(err.to_string().contains("http or https"), "{err}");
        let err = parse("[consumer]\nmax_receives = 0\n").expect_err("zero");
        assert_eq!(err.to_string(), "max_receives must be at least 1");
        let env = |name: &str| {
            (name == "PUSH").then(|| "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned())
        };
        let config = Config::parse(
            "[consumer]\nurl = \"https://orders.example.com/o2o\"\nsecret = \"env:PUSH\"\n",
            CONNECTORS,
            &env,
        )
        .expect("config");
        assert_eq!(
            config.consumer.secret.as_deref(),
            Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        );
    }

    #[test]
    fn env_values_resolve() {
        let env = |name: &str| (name == "SHOPIFY_SECRET").then(|| "from-env".to_owned());
        let config = Config::parse(
            "[channels.shopify]\nsecrets = [\"env:SHOPIFY_SECRET\"]\n",
            CONNECTORS,
            &env,
        )
        .expect("config");
        assert_eq!(config.channels["shopify"].default["secrets"][0], "from-env");
        assert!(config.instances.get("shopify", None).is_ok());
        assert_eq!(config.addr(None), DEFAULT_ADDR);
        assert_eq!(config.addr(Some("127.0.0.1:9")), "127.0.0.1:9");
    }
}
