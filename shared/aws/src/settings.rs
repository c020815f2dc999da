//! What a function reads from its environment: resource names and the channel's credentials.
//!
//! The contract between the SAM template, the binaries and anyone deploying them (docs/aws.md):
//! `O2O_IDEMPOTENCY_TABLE`, `O2O_UNIFIED_QUEUE_URL`, `O2O_ENRICHMENT_QUEUE_URL`,
//! `O2O_QUARANTINE_QUEUE_URL`, and credentials from `O2O_SECRET_ID` (Secrets Manager) or, for
//! tests and local runs, `O2O_CHANNEL_FILE` (a JSON file with the channel table the secret would hold, which wins when
//! both are set).

use std::path::PathBuf;

use o2o_core::ChannelConfig;
use o2o_core::settings::SettingsError;

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A required environment variable is missing or empty.
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// An environment variable has a value that cannot be used.
    #[error("environment variable {name}: {reason}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The Secrets Manager secret could not be read or is not a channel table.
    #[error("secret {id}: {reason}")]
    Secret {
        /// The secret id or ARN.
        id: String,
        /// What went wrong (never the secret's value).
        reason: String,
    },
    /// The `O2O_CHANNEL_FILE` could not be read or is not a channel table.
    #[error("channel file {path}: {reason}")]
    ChannelFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The channel's settings are missing, unknown or malformed (named, never their values).
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// The AWS resources a function writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    /// DynamoDB idempotency table (partition key `id`, TTL attribute `expiration`).
    pub idempotency_table: String,
    /// URL of the unified SQS FIFO queue.
    pub unified_queue_url: String,
    /// URL of the enrichment queue.
    pub enrichment_queue_url: String,
    /// URL of the quarantine queue.
    pub quarantine_queue_url: String,
}

impl Resources {
    /// Reads the four variables from the process environment.
    pub fn from_env() -> Result<Self, AwsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads the four variables through `lookup`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, AwsError> {
        let var = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(AwsError::MissingEnv(name))
        };
        Ok(Self {
            idempotency_table: var("O2O_IDEMPOTENCY_TABLE")?,
            unified_queue_url: var("O2O_UNIFIED_QUEUE_URL")?,
            enrichment_queue_url: var("O2O_ENRICHMENT_QUEUE_URL")?,
            quarantine_queue_url: var("O2O_QUARANTINE_QUEUE_URL")?,
        })
    }
}

/// Where a function's channel credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A Secrets Manager secret whose value is the channel's table as a JSON object.
    SecretsManager(String),
    /// A JSON file holding the channel table, as the secret would (tests, local runs).
    ChannelFile(PathBuf),
}

impl CredentialSource {
    /// `O2O_CHANNEL_FILE` if set, else `O2O_SECRET_ID`.
    pub fn from_env() -> Result<Self, AwsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// `O2O_CHANNEL_FILE` if set, else `O2O_SECRET_ID`, through `lookup`.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, AwsError> {
        let var = |name| lookup(name).filter(|v: &String| !v.trim().is_empty());
        if let Some(path) = var("O2O_CHANNEL_FILE") {
            return Ok(Self::ChannelFile(PathBuf::from(path)));
        }
        var("O2O_SECRET_ID")
            .map(Self::SecretsManager)
            .ok_or(AwsError::MissingEnv("O2O_SECRET_ID"))
    }

    /// Loads `channel`'s settings tables with their `env:NAME` values resolved; building them
    /// (`Channels::build`) checks them. The Secrets Manager client is built only when needed.
    pub async fn load(
        &self,
        channel: &str,
        sdk: &aws_config::SdkConfig,
    ) -> Result<ChannelConfig, AwsError> {
        let mut config = match self {
            Self::SecretsManager(id) => {
                let client = aws_sdk_secretsmanager::Client::new(sdk);
                let text = read_secret(&client, id).await?;
                // serde_json's messages name positions, never values, so they are safe to show.
                serde_json::from_str::<ChannelConfig>(&text).map_err(|e| AwsError::Secret {
                    id: id.clone(),
                    reason: format!("not a JSON channel table: {e}"),
                })?
            }
            Self::ChannelFile(path) => channel_from_file(path)?,
        };
        config.resolve_env(channel, &|name| std::env::var(name).ok())?;
        Ok(config)
    }
}

async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<String, AwsError> {
    let secret = |reason: String| AwsError::Secret {
        id: id.to_owned(),
        reason,
    };
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| secret(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    output
        .secret_string
        .ok_or_else(|| secret("has no string value".to_owned()))
}

fn channel_from_file(path: &PathBuf) -> Result<ChannelConfig, AwsError> {
    let error = |reason: String| AwsError::ChannelFile {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    // serde_json's messages name positions, never values, so they are safe to show.
    serde_json::from_str(&text).map_err(|e| error(format!("not a JSON channel table: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn resources_need_all_four_variables() {
        let all = [
            ("O2O_IDEMPOTENCY_TABLE", "t"),
            ("O2O_UNIFIED_QUEUE_URL", "u.fifo"),
            ("O2O_ENRICHMENT_QUEUE_URL", "e"),
            ("O2O_QUARANTINE_QUEUE_URL", "q"),
        ];
        let resources = Resources::from_lookup(&lookup(&all)).expect("all set");
        assert_eq!(resources.unified_queue_url, "u.fifo");
        let missing = Resources::from_lookup(&lookup(&all[..3])).expect_err("one missing");
        assert!(matches!(
            missing,
            AwsError::MissingEnv("O2O_QUARANTINE_QUEUE_URL")
        ));
        let blank = Resources::from_lookup(&lookup(&[("O2O_IDEMPOTENCY_TABLE", " ")]));
        assert!(matches!(
            blank,
            Err(AwsError::MissingEnv("O2O_IDEMPOTENCY_TABLE"))
        ));
    }

    #[test]
    fn channel_file_overrides_secret_id() {
        let both = [
            ("O2O_SECRET_ID", "arn:secret"),
            ("O2O_CHANNEL_FILE", "shopify.json"),
        ];
        assert_eq!(
            CredentialSource::from_lookup(&lookup(&both)).expect("set"),
            CredentialSource::ChannelFile(PathBuf::from("shopify.json"))
        );
        let secret = [("O2O_SECRET_ID", "arn:secret")];
        assert_eq!(
            CredentialSource::from_lookup(&lookup(&secret)).expect("set"),
            CredentialSource::SecretsManager("arn:secret".to_owned())
        );
        assert!(matches!(
            CredentialSource::from_lookup(&lookup(&[])),
            Err(AwsError::MissingEnv("O2O_SECRET_ID"))
        ));
    }
}
