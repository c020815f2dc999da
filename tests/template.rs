//! `infra/template.yaml` against the connector registry: every connector has a function built
//! from its own crate, routed at `/webhooks/{channel}[/{tenant}]`, fed by its own enrichment
//! queue, with its own secret, output URL and signature alarm; and nothing in the template routes
//! to a channel that does not exist.

mod common;

use std::collections::BTreeSet;

use common::root;
use o2o::registry::CONNECTORS;
use saphyr::{LoadableYamlNode, Yaml};

fn source() -> String {
    std::fs::read_to_string(root().join("infra/template.yaml")).expect("template")
}

fn template(source: &str) -> Yaml<'_> {
    let mut docs = Yaml::load_from_str(source).expect("valid YAML");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

/// The node at `path` below `node` (map keys), if every step exists.
fn at<'a, 'y>(node: &'a Yaml<'y>, path: &[&str]) -> Option<&'a Yaml<'y>> {
    path.iter().try_fold(node, |node, key| {
        node.as_mapping()?
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some(*key))
            .map(|(_, v)| v)
    })
}

/// The node at `path`, which the template must have.
fn node<'a, 'y>(node: &'a Yaml<'y>, path: &[&str]) -> &'a Yaml<'y> {
    at(node, path).unwrap_or_else(|| panic!("infra/template.yaml: missing {}", path.join(".")))
}

/// The text at `path` below `node`.
fn text_at(node: &Yaml, path: &[&str]) -> Option<String> {
    at(node, path).and_then(text)
}

fn text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::Tagged(_, inner) => text(inner),
        other => other.as_str().map(str::to_owned),
    }
}

/// `!Ref X` (or `Ref: X`) → `X`.
fn reference(node: &Yaml) -> Option<String> {
    match node {
        Yaml::Tagged(tag, inner) if tag.suffix == "Ref" => text(inner),
        other => text_at(other, &["Ref"]),
    }
}

fn mapping<'a, 'y>(node: &'a Yaml<'y>) -> Vec<(String, &'a Yaml<'y>)> {
    node.as_mapping()
        .map(|m| m.iter().filter_map(|(k, v)| Some((text(k)?, v))).collect())
        .unwrap_or_default()
}

/// The functions in the template: (logical id, binary, resource).
fn functions<'a, 'y>(template: &'a Yaml<'y>) -> Vec<(String, String, &'a Yaml<'y>)> {
    mapping(node(template, &["Resources"]))
        .into_iter()
        .filter(|(_, r)| text_at(r, &["Type"]).as_deref() == Some("AWS::Serverless::Function"))
        .map(|(id, r)| {
            let binary = text_at(r, &["Metadata", "BuildProperties", "Binary"])
                .unwrap_or_else(|| panic!("{id}: no Metadata.BuildProperties.Binary"));
            (id, binary, r)
        })
        .collect()
}

#[test]
fn every_connector_has_a_function_routes_queue_secret_output_and_alarm() {
    let source = source();
    let template = template(&source);
    let functions = functions(&template);
    let resources = node(&template, &["Resources"]);
    for connector in CONNECTORS.0 {
        let channel = connector.info().id;
        let (id, _, function) = functions
            .iter()
            .find(|(_, binary, _)| binary == channel)
            .unwrap_or_else(|| panic!("no function in infra/template.yaml builds `{channel}`"));
        let props = node(function, &["Properties"]);
        assert_eq!(
            text_at(function, &["Metadata", "BuildMethod"]).as_deref(),
            Some("rust-cargolambda"),
            "{id}"
        );
        let code = text_at(props, &["CodeUri"]).unwrap_or_default();
        assert_eq!(code, format!("../functions/{channel}"), "{id}: CodeUri");
        assert!(
            root().join("infra").join(&code).join("Cargo.toml").exists(),
            "{id}: {code}"
        );

        let mut routes = BTreeSet::new();
        let mut enrichment_queue = None;
        for (name, event) in at(props, &["Events"]).map(mapping).unwrap_or_default() {
            let p = node(event, &["Properties"]);
            match text_at(event, &["Type"]).as_deref() {
                Some("HttpApi") => {
                    assert_eq!(
                        at(p, &["ApiId"]).and_then(reference).as_deref(),
                        Some("WebhookApi"),
                        "{id}.{name}"
                    );
                    routes.insert((
                        text_at(p, &["Method"]).unwrap_or_default(),
                        text_at(p, &["Path"]).unwrap_or_default(),
                    ));
                }
                Some("SQS") => {
                    let types: Vec<_> = at(p, &["FunctionResponseTypes"])
                        .and_then(Yaml::as_sequence)
                        .into_iter()
                        .flatten()
                        .filter_map(text)
                        .collect();
                    assert_eq!(
                        types,
                        ["ReportBatchItemFailures"],
                        "{id}.{name}: partial batch responses"
                    );
                    enrichment_queue = match node(p, &["Queue"]) {
                        Yaml::Tagged(_, inner) => text(inner.as_ref())
                            .and_then(|s| s.split('.').next().map(str::to_owned)),
                        _ => None,
                    };
                }
                other => panic!("{id}.{name}: unexpected event type {other:?}"),
            }
        }
        let expected: BTreeSet<_> = ["POST", "GET"]
            .into_iter()
            .flat_map(|m| {
                [
                    (m.to_owned(), format!("/webhooks/{channel}")),
                    (m.to_owned(), format!("/webhooks/{channel}/{{tenant}}")),
                ]
            })
            .collect();
        assert_eq!(routes, expected, "{id}: routes");

        let env = node(props, &["Environment", "Variables"]);
        let queue = enrichment_queue.unwrap_or_else(|| panic!("{id}: no enrichment event source"));
        assert_eq!(
            at(env, &["O2O_ENRICHMENT_QUEUE_URL"]).and_then(reference),
            Some(queue.clone()),
            "{id}: reads the queue it is fed from"
        );
        let dlq = at(
            resources,
            &[
                queue.as_str(),
                "Properties",
                "RedrivePolicy",
                "deadLetterTargetArn",
            ],
        );
        assert!(dlq.is_some(), "{queue}: needs a DLQ");
        let secret = at(env, &["O2O_SECRET_ID"])
            .and_then(reference)
            .unwrap_or_else(|| panic!("{id}: no O2O_SECRET_ID"));
        assert_eq!(
            text_at(resources, &[secret.as_str(), "Type"]).as_deref(),
            Some("AWS::SecretsManager::Secret")
        );

        let outputs = mapping(node(&template, &["Outputs"]));
        assert!(
            outputs.iter().any(|(_, o)| text_at(o, &["Value"])
                .is_some_and(|v| v.ends_with(&format!("/webhooks/{channel}")))),
            "no output gives the {channel} webhook URL"
        );
        let alarm = format!("{:?}", node(resources, &["SignatureFailureAlarm"]));
        assert!(
            alarm.contains(&format!("\"{channel}\"")),
            "SignatureFailureAlarm does not watch {channel}"
        );
    }
}

#[test]
fn the_template_routes_only_to_channels_that_exist() {
    let source = source();
    let template = template(&source);
    let known: BTreeSet<&str> = CONNECTORS.0.iter().map(|c| c.info().id).collect();
    for (id, binary, function) in functions(&template) {
        assert!(
            known.contains(binary.as_str()),
            "{id} builds `{binary}`, which is not in the registry"
        );
        for (name, event) in at(function, &["Properties", "Events"])
            .map(mapping)
            .unwrap_or_default()
        {
            if let Some(path) = text_at(event, &["Properties", "Path"]) {
                let channel = path
                    .strip_prefix("/webhooks/")
                    .and_then(|p| p.split('/').next());
                assert_eq!(
                    channel,
                    Some(binary.as_str()),
                    "{id}.{name} routes {path} to the {binary} function"
                );
            }
        }
    }
    // The same channel is never built twice.
    let binaries: Vec<_> = functions(&template)
        .into_iter()
        .map(|(_, b, _)| b)
        .collect();
    let unique: BTreeSet<_> = binaries.iter().collect();
    assert_eq!(unique.len(), binaries.len(), "{binaries:?}");
}
