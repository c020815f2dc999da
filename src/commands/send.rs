//! `o2o send`: sign a sample delivery with the configured secret and post it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use o2o::config::Config;
use o2o::registry::CONNECTORS;
use o2o_core::Timestamp;
use o2o_core::sample::parse_sample;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The channel id, e.g. `shopify`.
    channel: String,
    /// A sample delivery (.http) [default: the channel's default sample in events/<channel>/].
    file: Option<PathBuf>,
    /// Where to post [default: http://<server addr>/webhooks/<channel>[/<tenant>][/<endpoint>],
    /// the endpoint from the sample's path].
    #[arg(long)]
    to: Option<String>,
    /// Sign with this tenant's credentials and post to its URL.
    #[arg(long)]
    tenant: Option<String>,
}

pub fn run(config: &Config, args: SendArgs) -> Result<ExitCode> {
    let entry = CONNECTORS
        .get(&args.channel)
        .ok_or_else(|| anyhow!("unknown channel `{}` (see `o2o channels`)", args.channel))?;
    let channel = config
        .instances
        .get(&args.channel, args.tenant.as_deref())
        .map_err(|_| anyhow!("no settings for `{}` in the config", args.channel))?;
    let file = args.file.unwrap_or_else(|| {
        PathBuf::from("events")
            .join(&args.channel)
            .join((entry.info)().default_sample)
    });
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let sample = parse_sample(&bytes).with_context(|| file.display().to_string())?;
    // The tenant first: a platform that signs the URL it calls (Meituan) signs it too.
    let mut req = sample.into_request(Timestamp::now());
    req.path_tenant.clone_from(&args.tenant);
    channel.sign(&mut req).context("signing")?;
    let url = args.to.unwrap_or_else(|| {
        let segment =
            |s: &Option<String>| s.as_deref().map(|s| format!("/{s}")).unwrap_or_default();
        format!(
            "http://{}/webhooks/{}{}{}",
            config.addr(None),
            args.channel,
            segment(&req.path_tenant),
            segment(&req.endpoint),
        )
    });
    // The signature may travel in the query (WeChat): append it to the target URL.
    let url = match (req.query.is_empty(), url.contains('?')) {
        (true, _) => url,
        (false, false) => format!("{url}?{}", req.query),
        (false, true) => format!("{url}&{}", req.query),
    };
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).context("sample method")?;
    let (status, body) = super::block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let mut request = client.request(method, &url).body(req.body);
        for (name, value) in req.headers.iter() {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("posting to {url}"))?;
        let status = response.status();
        anyhow::Ok((status, response.text().await?))
    })??;
    println!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    if !body.is_empty() {
        println!("{body}");
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
