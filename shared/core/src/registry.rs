//! The table of connector types, and the channel instances built from configuration.
//!
//! [`ConnectorEntry::of`] erases a [`Connector`] type into plain function pointers (its info, its
//! settings schema, its builder), so the program's one table of connectors is a `static` list
//! with one line per platform. [`Channels`] holds the instances built from the configuration,
//! one per channel and tenant, behind the object-safe [`Channel`] trait that hosts call.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::command::CommandKind;
use crate::connector::{ChannelInfo, Connector};
use crate::pipeline::{CommandProcessed, Handled, Pipeline, Processed, QueuedCommand};
use crate::ports::{PortError, StoredDelivery};
use crate::request::{Rejection, WebhookRequest};
use crate::settings::{
    ChannelConfig, SettingDoc, SettingsError, SettingsTable, parse_settings, setting_docs,
    table_label,
};
use crate::signature::SignatureError;

/// One built connector instance (a channel for one tenant), as hosts see it.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// The channel's static description.
    fn info(&self) -> &'static ChannelInfo;
    /// Runs one webhook request through the ingest pipeline.
    async fn ingest(&self, pipeline: &Pipeline<'_>, req: &WebhookRequest) -> Handled;
    /// Enriches a thin delivery taken from the enrichment queue.
    async fn enrich(
        &self,
        pipeline: &Pipeline<'_>,
        stored: &StoredDelivery,
    ) -> Result<Processed, PortError>;
    /// Re-runs a quarantined delivery through the current code.
    async fn replay(
        &self,
        pipeline: &Pipeline<'_>,
        stored: &StoredDelivery,
    ) -> Result<Processed, PortError>;
    /// Carries out an order command taken from the commands queue.
    async fn command(
        &self,
        pipeline: &Pipeline<'_>,
        queued: &QueuedCommand,
    ) -> Result<CommandProcessed, PortError>;
    /// The order commands the channel carries out.
    fn command_kinds(&self) -> &'static [CommandKind];
    /// Signs a sample delivery as the platform would (`o2o send`, tests).
    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError>;
}

#[async_trait::async_trait]
impl<C: Connector> Channel for C {
    fn info(&self) -> &'static ChannelInfo {
        C::info()
    }

    async fn ingest(&self, pipeline: &Pipeline<'_>, req: &WebhookRequest) -> Handled {
        pipeline.ingest(self, req).await
    }

    async fn enrich(
        &self,
        pipeline: &Pipeline<'_>,
        stored: &StoredDelivery,
    ) -> Result<Processed, PortError> {
        pipeline.enrich(self, stored).await
    }

    async fn replay(
        &self,
        pipeline: &Pipeline<'_>,
        stored: &StoredDelivery,
    ) -> Result<Processed, PortError> {
        pipeline.replay(self, stored).await
    }

    async fn command(
        &self,
        pipeline: &Pipeline<'_>,
        queued: &QueuedCommand,
    ) -> Result<CommandProcessed, PortError> {
        pipeline.command(self, queued).await
    }

    fn command_kinds(&self) -> &'static [CommandKind] {
        C::command_kinds()
    }

    fn sign(&self, req: &mut WebhookRequest) -> Result<(), SignatureError> {
        Connector::sign(self, req)
    }
}

/// Builds a channel instance from one settings table; `&str` labels the table in errors.
pub type BuildChannel = fn(&SettingsTable, &str) -> Result<Arc<dyn Channel>, SettingsError>;

/// A connector type as the registry holds it.
#[derive(Clone, Copy)]
pub struct ConnectorEntry {
    /// The channel's description.
    pub info: fn() -> &'static ChannelInfo,
    /// The JSON Schema of its settings table.
    pub schema: fn() -> schemars::Schema,
    /// Builds an instance from one settings table (`label` names the table in errors).
    pub build: BuildChannel,
}

impl ConnectorEntry {
    /// The entry of connector type `C`.
    pub const fn of<C: Connector>() -> Self {
        Self {
            info: C::info,
            schema: schema::<C>,
            build: build::<C>,
        }
    }

    /// The settings it reads, from its schema (for `o2o channels`).
    pub fn settings(&self) -> Vec<SettingDoc> {
        setting_docs(&(self.schema)())
    }
}

fn schema<C: Connector>() -> schemars::Schema {
    schemars::schema_for!(C::Settings)
}

fn build<C: Connector>(
    table: &SettingsTable,
    label: &str,
) -> Result<Arc<dyn Channel>, SettingsError> {
    let settings = parse_settings::<C::Settings>(table, label)?;
    let connector = C::build(settings).map_err(|e| e.within(label))?;
    Ok(Arc::new(connector))
}

/// Every connector type the program hosts; the table itself lives in the `o2o` crate
/// (`src/registry.rs`), one line per platform.
#[derive(Clone, Copy)]
pub struct Registry(pub &'static [ConnectorEntry]);

impl Registry {
    /// The entry for `channel`, if registered.
    pub fn get(&self, channel: &str) -> Option<&'static ConnectorEntry> {
        self.0.iter().find(|e| (e.info)().id == channel)
    }

    /// All entries, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &'static ConnectorEntry> {
        self.0.iter()
    }
}

/// The channel instances of one process: one per configured channel and tenant.
#[derive(Clone, Default)]
pub struct Channels {
    instances: BTreeMap<(String, Option<String>), Arc<dyn Channel>>,
}

impl std::fmt::Debug for Channels {
    /// The channels and tenants only: instances hold keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.instances.keys()).finish()
    }
}

impl Channels {
    /// Builds every table of every channel in `config`; the first bad or missing setting stops
    /// it, named (`channels.shopify.tenants.a: missing field `secrets``).
    pub fn build(
        registry: Registry,
        config: &BTreeMap<String, ChannelConfig>,
    ) -> Result<Self, SettingsError> {
        let mut channels = Self::default();
        for (channel, tables) in config {
            let entry = registry
                .get(channel)
                .ok_or_else(|| SettingsError::UnknownChannel(channel.clone()))?;
            let endpoints = (entry.info)().endpoints;
            for (tenant, table) in tables.tables() {
                if let Some(tenant) = tenant.filter(|t| endpoints.contains(t)) {
                    return Err(SettingsError::Invalid {
                        table: table_label(channel, Some(tenant)),
                        problem: format!(
                            "`{tenant}` is one of this channel's endpoints ({}); \
                             a tenant needs another name",
                            endpoints.join(", ")
                        ),
                    });
                }
                let instance = (entry.build)(table, &table_label(channel, tenant))?;
                channels.insert(channel, tenant, instance);
            }
        }
        Ok(channels)
    }

    /// Adds one instance (tests, a host that builds its own).
    pub fn insert(&mut self, channel: &str, tenant: Option<&str>, instance: Arc<dyn Channel>) {
        self.instances
            .insert((channel.to_owned(), tenant.map(str::to_owned)), instance);
    }

    /// The instance for a request's channel and `{tenant}` segment, or the 404 to answer.
    pub fn get(&self, channel: &str, tenant: Option<&str>) -> Result<&dyn Channel, Rejection> {
        let key = (channel.to_owned(), tenant.map(str::to_owned));
        if let Some(instance) = self.instances.get(&key) {
            return Ok(instance.as_ref());
        }
        Err(match tenant {
            Some(_) => Rejection::new(404, "unknown_tenant", "no credentials for this tenant"),
            None => Rejection::new(
                404,
                "channel_not_configured",
                "this channel has no configuration",
            ),
        })
    }

    /// Whether no channel is configured.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The instance that carries out a command for `channel` and `tenant`: the tenant's table
    /// (named by the order's `source.tenant`), else the channel's default table.
    pub fn for_command(&self, channel: &str, tenant: &str) -> Option<&dyn Channel> {
        self.get(channel, Some(tenant))
            .or_else(|_| self.get(channel, None))
            .ok()
    }

    /// Every instance with its channel id and tenant.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>, &dyn Channel)> {
        self.instances
            .iter()
            .map(|((c, t), i)| (c.as_str(), t.as_deref(), i.as_ref()))
    }
}
