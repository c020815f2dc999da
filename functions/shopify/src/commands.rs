//! Order commands on Shopify: `fulfil` only (a web shop has nothing to accept or reject), through
//! the GraphQL Admin API ([`crate::admin`], [`crate::fulfil`]).
//!
//! The command's `tenant` is the shop's `myshopify.com` domain, as in `source.tenant` of its
//! order events (`X-Shopify-Shop-Domain`); it must be this table's `shop_domain`, so a command
//! can never fulfil an order of another shop that a default table would otherwise reach.

use o2o_core::command::{Action, CallDone, CallFailure, CommandKind, FailureCode, OrderCommand};
use o2o_core::settings::SettingsError;
use o2o_enrich::ApiClient;

use crate::Settings;
use crate::admin::{AdminApi, Credentials, DEFAULT_API_VERSION};
use crate::fulfil::{fulfil, is_rest_id};

/// The kinds Shopify carries out.
pub const KINDS: &[CommandKind] = &[CommandKind::Fulfil];

/// The Admin API of a settings table, or why there is none (the missing settings, named).
pub type Commands = Result<AdminApi, String>;

/// The Admin API the settings describe. Without any of `shop_domain`, `admin_access_token` and
/// `client_id`, commands are refused naming them; settings that are incomplete, contradict each
/// other or cannot be used stop start-up.
pub fn build(settings: &Settings) -> Result<Commands, SettingsError> {
    if let Some(domain) = &settings.shop_domain
        && !is_host(domain)
    {
        return Err(SettingsError::setting(
            "shop_domain",
            "must be the shop's domain, e.g. example.myshopify.com (no scheme, no path)",
        ));
    }
    let version = settings
        .api_version
        .as_deref()
        .unwrap_or(DEFAULT_API_VERSION);
    if version.is_empty()
        || !version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(SettingsError::setting(
            "api_version",
            "must be a version name such as 2026-10",
        ));
    }
    let secret = settings.secrets.newest().clone();
    let credentials = match (&settings.admin_access_token, &settings.client_id) {
        (Some(_), Some(_)) => {
            return Err(SettingsError::setting(
                "client_id",
                "set admin_access_token or client_id, not both",
            ));
        }
        (Some(token), None) => Credentials::Token(token.clone()),
        (None, Some(id)) if id.trim().is_empty() => {
            return Err(SettingsError::setting("client_id", "must not be empty"));
        }
        (None, Some(id)) => Credentials::ClientCredentials {
            client_id: id.clone(),
            client_secret: secret,
            cache: std::sync::Mutex::new(None),
        },
        (None, None) if settings.shop_domain.is_some() => {
            return Err(SettingsError::setting(
                "admin_access_token",
                "(or client_id) required with shop_domain",
            ));
        }
        (None, None) => {
            return Ok(Err(
                "Shopify order commands need the settings shop_domain and admin_access_token (or client_id)"
                    .to_owned(),
            ));
        }
    };
    let Some(domain) = settings.shop_domain.clone() else {
        return Err(SettingsError::setting(
            "shop_domain",
            "required with admin_access_token or client_id",
        ));
    };
    let client = ApiClient::new(&settings.api, &format!("https://{domain}"))?;
    Ok(Ok(AdminApi::new(
        client,
        domain,
        version.to_owned(),
        credentials,
    )))
}

/// Carries out `command` with the Admin API of this table.
pub async fn execute(commands: &Commands, command: &OrderCommand) -> Result<CallDone, CallFailure> {
    let Action::Fulfil(details) = &command.action else {
        return Err(CallFailure::permanent(
            FailureCode::Unsupported,
            format!(
                "Shopify does not carry out {} commands",
                command.action.kind().as_str()
            ),
        ));
    };
    let api = commands
        .as_ref()
        .map_err(|missing| CallFailure::permanent(FailureCode::Unauthorized, missing.clone()))?;
    if !command.tenant.eq_ignore_ascii_case(api.shop_domain()) {
        return Err(CallFailure::permanent(
            FailureCode::InvalidCommand,
            format!(
                "tenant: {:?} is not this table's shop_domain {}",
                command.tenant,
                api.shop_domain()
            ),
        ));
    }
    let order_id = &command.order.external_id;
    if !is_rest_id(order_id) {
        return Err(CallFailure::permanent(
            FailureCode::InvalidCommand,
            "order.external_id: not a Shopify order id (the REST id of the order's events)",
        ));
    }
    fulfil(api, order_id, details).await
}

/// A host name: letters, digits, `-` and `.`, starting and ending with a letter or digit.
fn is_host(text: &str) -> bool {
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        && ends_ok(text.chars().next())
        && ends_ok(text.chars().last())
}
