//! Order commands on WooCommerce: `fulfil` only ([`crate::fulfil`]), through the store's REST
//! API v3 ([`crate::rest`]).
//!
//! The command's `tenant` is the site as `source.tenant` of its order events names it (the
//! `X-WC-Webhook-Source` home URL without scheme or trailing slash); it must be this table's
//! `site_url` read the same way. WooCommerce order ids are small integers, so a command routed
//! to the wrong site would ship another customer's order: it is refused instead.

use o2o_core::command::{Action, CallDone, CallFailure, CommandKind, FailureCode, OrderCommand};
use o2o_core::settings::SettingsError;
use o2o_enrich::ApiClient;

use crate::Settings;
use crate::fulfil::fulfil;
use crate::rest::StoreApi;

/// The kinds WooCommerce carries out.
pub const KINDS: &[CommandKind] = &[CommandKind::Fulfil];

/// The REST API of a settings table, or why there is none (the missing settings, named).
pub type Commands = Result<StoreApi, String>;

/// The REST API the settings describe. Without any of `site_url`, `consumer_key` and
/// `consumer_secret`, commands are refused naming them; with some but not all, or a `site_url`
/// that cannot be used, start-up stops.
pub fn build(settings: &Settings) -> Result<Commands, SettingsError> {
    let (Some(url), Some(key), Some(secret)) = (
        &settings.site_url,
        &settings.consumer_key,
        &settings.consumer_secret,
    ) else {
        let given = [
            ("site_url", settings.site_url.is_some()),
            ("consumer_key", settings.consumer_key.is_some()),
            ("consumer_secret", settings.consumer_secret.is_some()),
        ];
        if let Some((missing, _)) = given.iter().find(|(_, set)| !set)
            && given.iter().any(|(_, set)| *set)
        {
            return Err(SettingsError::setting(
                missing,
                "order commands need site_url, consumer_key and consumer_secret together",
            ));
        }
        return Ok(Err(
            "WooCommerce order commands need the settings site_url, consumer_key and consumer_secret"
                .to_owned(),
        ));
    };
    let (base, site) = check_site_url(url)?;
    let client = ApiClient::new(&settings.api, &base)?;
    Ok(Ok(StoreApi::new(
        client,
        site,
        key.clone(),
        secret.clone(),
        settings.shipment_tracking,
    )))
}

/// The API base (the URL without a trailing slash) and the site id of `site_url`.
fn check_site_url(url: &str) -> Result<(String, String), SettingsError> {
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(SettingsError::setting(
            "site_url",
            "must be an https:// URL: WooCommerce takes an API key over plain HTTP only with OAuth 1.0a signatures",
        ));
    };
    let base = url.trim_end_matches('/');
    if rest.trim_end_matches('/').is_empty() || rest.contains(['?', '#', ' ', '@']) {
        return Err(SettingsError::setting(
            "site_url",
            "must be the site's home URL, e.g. https://shop.example.com",
        ));
    }
    Ok((base.to_owned(), crate::site_id(url)))
}

/// Carries out `command` with the REST API of this table.
pub async fn execute(commands: &Commands, command: &OrderCommand) -> Result<CallDone, CallFailure> {
    let Action::Fulfil(details) = &command.action else {
        return Err(CallFailure::permanent(
            FailureCode::Unsupported,
            format!(
                "WooCommerce does not carry out {} commands",
                command.action.kind().as_str()
            ),
        ));
    };
    let api = commands
        .as_ref()
        .map_err(|missing| CallFailure::permanent(FailureCode::Unauthorized, missing.clone()))?;
    if !command.tenant.eq_ignore_ascii_case(api.site()) {
        return Err(CallFailure::permanent(
            FailureCode::InvalidCommand,
            format!(
                "tenant: {:?} is not this table's site_url ({})",
                command.tenant,
                api.site()
            ),
        ));
    }
    let ids = std::iter::once(command.order.external_id.as_str())
        .chain(details.items.iter().map(|i| i.external_id.as_str()));
    for id in ids {
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CallFailure::permanent(
                FailureCode::InvalidCommand,
                format!("{id:?} is not a WooCommerce order or line item id"),
            ));
        }
    }
    fulfil(api, &command.order.external_id, details).await
}
