//! `infra/template.yaml` against the connector registry: every connector has a function built
//! from its own crate, routed at `/webhooks/{channel}[/{tenant}][/{endpoint}]`, fed by its own enrichment
//! queue (with a DLQ and an alarm on it), with its own secret and signature alarm; the webhook
//! base URL is an output; nothing routes to a channel that does not exist; and the channel list of
//! the template (the `Fn::ForEach::Channels` collection) is exactly the registry's.
//!
//! The per-channel resources are one `Fn::ForEach` loop (the `AWS::LanguageExtensions`
//! transform), so the checks run on the template as that transform expands it: see [`expand`] and
//! [`resolve`].

mod common;

use std::collections::BTreeSet;

use common::root;
use saphyr::{LoadableYamlNode, Scalar, Yaml};

/// The channel ids of the connector registry: the only use of the registry in this file.
fn channel_ids() -> Vec<String> {
    o2o::registry::CONNECTORS
        .iter()
        .map(|entry| (entry.info)().id.to_owned())
        .collect()
}

/// The loop that defines every channel's resources.
const CHANNEL_LOOP: &str = "Fn::ForEach::Channels";

// ---------------------------------------------------------------------------------------------
// The template as a plain tree

/// A template node: every scalar as its text, intrinsic short forms (`!Ref x`, `!GetAtt a.b`,
/// `!Sub ...`) in their long form (`{Ref: x}`, `{Fn::GetAtt: [a, b]}`, `{Fn::Sub: ...}`).
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    fn seq(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }

    fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The node at `path` (map keys), if every step exists.
    fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| {
            node.entries()
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        })
    }

    /// The node at `path`, which the template must have.
    fn get(&self, path: &[&str]) -> &Node {
        self.at(path)
            .unwrap_or_else(|| panic!("infra/template.yaml: missing {}", path.join(".")))
    }

    /// The text at `path`.
    fn text(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Node::str)
    }

    /// The only entry of a one-entry map whose key is `function` (`Ref`, `Fn::Sub`, ...).
    fn call(&self, function: &str) -> Option<&Node> {
        match self.entries() {
            [(k, v)] if k == function => Some(v),
            _ => None,
        }
    }

    /// `{Ref: X}` → `X`.
    fn reference(&self) -> Option<&str> {
        self.call("Ref").and_then(Node::str)
    }

    /// `{Fn::GetAtt: [X, Attribute]}` → `X`, if the attribute is `attribute`.
    fn attribute_of(&self, attribute: &str) -> Option<&str> {
        match self.call("Fn::GetAtt")?.seq() {
            [Node::Str(id), Node::Str(a)] if a == attribute => Some(id),
            _ => None,
        }
    }
}

fn map<const N: usize>(entries: [(&str, Node); N]) -> Node {
    Node::Map(entries.map(|(k, v)| (k.to_owned(), v)).into())
}

fn scalar(yaml: &Yaml) -> String {
    match yaml {
        Yaml::Value(Scalar::String(s)) => s.to_string(),
        Yaml::Value(Scalar::Integer(i)) => i.to_string(),
        Yaml::Value(Scalar::FloatingPoint(f)) => f.to_string(),
        Yaml::Value(Scalar::Boolean(b)) => b.to_string(),
        Yaml::Value(Scalar::Null) => String::new(),
        Yaml::Representation(s, _, _) => s.to_string(),
        Yaml::Tagged(_, inner) => scalar(inner),
        other => panic!("infra/template.yaml: expected a scalar, found {other:?}"),
    }
}

fn tree(yaml: &Yaml) -> Node {
    match yaml {
        Yaml::Tagged(tag, inner) => {
            let inner = tree(inner);
            match tag.suffix.as_str() {
                "Ref" => map([("Ref", inner)]),
                "GetAtt" => {
                    let args = match inner {
                        Node::Str(s) => {
                            let (id, attribute) = s
                                .split_once('.')
                                .unwrap_or_else(|| panic!("!GetAtt {s}: no attribute"));
                            Node::Seq(vec![Node::Str(id.into()), Node::Str(attribute.into())])
                        }
                        other => other,
                    };
                    map([("Fn::GetAtt", args)])
                }
                other => map([(format!("Fn::{other}").as_str(), inner)]),
            }
        }
        Yaml::Sequence(items) => Node::Seq(items.iter().map(tree).collect()),
        Yaml::Mapping(entries) => {
            Node::Map(entries.iter().map(|(k, v)| (scalar(k), tree(v))).collect())
        }
        other => Node::Str(scalar(other)),
    }
}

fn parse(source: &str) -> Node {
    let docs = Yaml::load_from_str(source).expect("valid YAML");
    assert_eq!(docs.len(), 1, "one YAML document");
    tree(&docs[0])
}

/// The template as written.
fn raw_template() -> Node {
    parse(&std::fs::read_to_string(root().join("infra/template.yaml")).expect("template"))
}

/// The template as `AWS::LanguageExtensions` turns it into what the SAM transform receives.
fn template() -> Node {
    let raw = raw_template();
    let mappings = raw
        .at(&["Mappings"])
        .cloned()
        .unwrap_or(Node::Map(Vec::new()));
    resolve(&expand(&raw), &mappings)
}

// ---------------------------------------------------------------------------------------------
// AWS::LanguageExtensions, as far as the template uses it

/// Expands every `Fn::ForEach::<Loop>: [Identifier, [items...], {fragment}]` below `node`: the
/// fragment once per item, with `${Identifier}` and `&{Identifier}` (the item without its
/// non-alphanumeric characters) replaced in keys and in `Fn::Sub` strings, and `{Ref:
/// Identifier}` replaced by the item. That is where cfn-lint's model of the transform replaces
/// them (the SAM CLI also replaces them in every other string); the template relies on no more.
fn expand(node: &Node) -> Node {
    match node {
        Node::Map(entries) => {
            fn push(key: String, value: Node, out: &mut Vec<(String, Node)>) {
                assert!(
                    !out.iter().any(|(k, _)| *k == key),
                    "infra/template.yaml: {key} is defined twice"
                );
                out.push((key, value));
            }
            let mut out = Vec::new();
            for (key, value) in entries {
                if !key.starts_with("Fn::ForEach::") {
                    push(key.clone(), expand(value), &mut out);
                    continue;
                }
                let [
                    Node::Str(identifier),
                    Node::Seq(items),
                    fragment @ Node::Map(_),
                ] = value.seq()
                else {
                    panic!("{key}: expected [identifier, [items...], {{fragment}}]");
                };
                for item in items {
                    let item = item
                        .str()
                        .unwrap_or_else(|| panic!("{key}: {item:?} is not a string"));
                    let fragment = substitute(fragment, identifier, item);
                    for (k, v) in expand(&fragment).entries() {
                        push(k.clone(), v.clone(), &mut out);
                    }
                }
            }
            Node::Map(out)
        }
        Node::Seq(items) => Node::Seq(items.iter().map(expand).collect()),
        Node::Str(_) => node.clone(),
    }
}

fn substitute(node: &Node, identifier: &str, item: &str) -> Node {
    let in_text = |s: &str| {
        let alphanumeric: String = item.chars().filter(char::is_ascii_alphanumeric).collect();
        s.replace(&format!("${{{identifier}}}"), item)
            .replace(&format!("&{{{identifier}}}"), &alphanumeric)
    };
    match node {
        Node::Map(_) if node.reference() == Some(identifier) => Node::Str(item.to_owned()),
        Node::Map(entries) => Node::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("Fn::Sub", Node::Str(s)) => Node::Str(in_text(s)),
                        ("Fn::Sub", Node::Seq(args)) => Node::Seq(
                            args.iter()
                                .enumerate()
                                .map(|(i, a)| match a {
                                    Node::Str(s) if i == 0 => Node::Str(in_text(s)),
                                    other => substitute(other, identifier, item),
                                })
                                .collect(),
                        ),
                        _ => substitute(v, identifier, item),
                    };
                    (in_text(k), v)
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(
            items
                .iter()
                .map(|n| substitute(n, identifier, item))
                .collect(),
        ),
        Node::Str(_) => node.clone(),
    }
}

/// Evaluates, bottom up, the functions whose arguments are all known at transform time:
/// `Fn::FindInMap` (against `mappings`), `Fn::Join`, and `Fn::Sub` with a variable map (to a
/// plain string once nothing is left to substitute, e.g. a route; `${StageName}` stays).
fn resolve(node: &Node, mappings: &Node) -> Node {
    let node = match node {
        Node::Map(entries) => Node::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), resolve(v, mappings)))
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.iter().map(|n| resolve(n, mappings)).collect()),
        Node::Str(_) => return node.clone(),
    };
    if let Some(args) = node.call("Fn::FindInMap")
        && let [Node::Str(name), Node::Str(top), Node::Str(second)] = args.seq()
    {
        return mappings
            .at(&[name.as_str(), top.as_str(), second.as_str()])
            .unwrap_or_else(|| panic!("Fn::FindInMap [{name}, {top}, {second}]: not in Mappings"))
            .clone();
    }
    if let Some(args) = node.call("Fn::Join")
        && let [Node::Str(separator), Node::Seq(parts)] = args.seq()
        && let Some(parts) = parts.iter().map(Node::str).collect::<Option<Vec<_>>>()
    {
        return Node::Str(parts.join(separator));
    }
    if let Some(args) = node.call("Fn::Sub") {
        let (mut text, variables) = match args {
            Node::Str(s) => (s.clone(), &[][..]),
            Node::Seq(a) => match a.as_slice() {
                [Node::Str(s), variables] => (s.clone(), variables.entries()),
                _ => return node,
            },
            Node::Map(_) => return node,
        };
        let mut left = Vec::new();
        for (name, value) in variables {
            match value {
                Node::Str(v) => text = text.replace(&format!("${{{name}}}"), v),
                other => left.push((name.clone(), other.clone())),
            }
        }
        return match (text.contains("${"), left.is_empty()) {
            (false, _) => Node::Str(text),
            (true, true) => map([("Fn::Sub", Node::Str(text))]),
            (true, false) => map([("Fn::Sub", Node::Seq(vec![Node::Str(text), Node::Map(left)]))]),
        };
    }
    node
}

// ---------------------------------------------------------------------------------------------
// Checks

/// The resources of `template` of type `kind`: (logical id, resource).
fn resources<'a>(template: &'a Node, kind: &str) -> Vec<(&'a str, &'a Node)> {
    template
        .get(&["Resources"])
        .entries()
        .iter()
        .filter(|(_, r)| r.text(&["Type"]) == Some(kind))
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// The functions of `template`: (logical id, binary, resource).
fn functions(template: &Node) -> Vec<(&str, &str, &Node)> {
    resources(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, r)| {
            let binary = r
                .text(&["Metadata", "BuildProperties", "Binary"])
                .unwrap_or_else(|| panic!("{id}: no Metadata.BuildProperties.Binary"));
            (id, binary, r)
        })
        .collect()
}

/// The value of the metric dimension `name` of `alarm`.
fn dimension<'a>(alarm: &'a Node, name: &str) -> Option<&'a Node> {
    alarm
        .at(&["Properties", "Dimensions"])?
        .seq()
        .iter()
        .find(|d| d.text(&["Name"]) == Some(name))?
        .at(&["Value"])
}

fn number(node: &Node, path: &[&str], what: &str) -> u32 {
    node.text(path)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what}: {} is not a number", path.join(".")))
}

#[test]
fn every_connector_has_a_function_routes_queues_secret_and_alarms() {
    let template = template();
    let functions = functions(&template);
    let alarms = resources(&template, "AWS::CloudWatch::Alarm");
    let by_id = template.get(&["Resources"]);
    for channel in channel_ids() {
        let channel = channel.as_str();
        let (id, _, function) = functions
            .iter()
            .find(|(_, binary, _)| *binary == channel)
            .unwrap_or_else(|| panic!("no function in infra/template.yaml builds `{channel}`"));
        let props = function.get(&["Properties"]);
        assert_eq!(
            function.text(&["Metadata", "BuildMethod"]),
            Some("rust-cargolambda"),
            "{id}"
        );
        let code = props.text(&["CodeUri"]).unwrap_or_default();
        assert_eq!(code, format!("../functions/{channel}"), "{id}: CodeUri");
        assert!(
            root().join("infra").join(code).join("Cargo.toml").exists(),
            "{id}: {code}"
        );

        let mut routes = BTreeSet::new();
        let mut enrichment = None;
        let mut commands = None;
        for (name, event) in props.get(&["Events"]).entries() {
            let p = event.get(&["Properties"]);
            match event.text(&["Type"]) {
                Some("HttpApi") => {
                    assert_eq!(
                        p.at(&["ApiId"]).and_then(Node::reference),
                        Some("WebhookApi"),
                        "{id}.{name}"
                    );
                    let path = p.text(&["Path"]).unwrap_or_else(|| {
                        panic!("{id}.{name}: Path must be a plain string for SAM")
                    });
                    routes.insert((p.text(&["Method"]).unwrap_or_default(), path));
                }
                Some("SQS") => {
                    let types: Vec<_> = p
                        .get(&["FunctionResponseTypes"])
                        .seq()
                        .iter()
                        .filter_map(Node::str)
                        .collect();
                    assert_eq!(
                        types,
                        ["ReportBatchItemFailures"],
                        "{id}.{name}: partial batch responses"
                    );
                    let source = p.get(&["Queue"]).attribute_of("Arn").map(|q| (q, p));
                    match name.as_str() {
                        "Enrichment" => enrichment = source,
                        "Commands" => commands = source,
                        other => panic!("{id}.{other}: unexpected SQS event source"),
                    }
                }
                other => panic!("{id}.{name}: unexpected event type {other:?}"),
            }
        }
        let expected: BTreeSet<_> = ["POST", "GET"]
            .into_iter()
            .flat_map(|m| {
                [
                    (m, format!("/webhooks/{channel}")),
                    (m, format!("/webhooks/{channel}/{{tenant}}")),
                    (m, format!("/webhooks/{channel}/{{tenant}}/{{endpoint}}")),
                ]
            })
            .collect();
        let routes: BTreeSet<_> = routes.into_iter().map(|(m, p)| (m, p.to_owned())).collect();
        assert_eq!(routes, expected, "{id}: routes");

        let env = props.get(&["Environment", "Variables"]);
        let (queue, source) =
            enrichment.unwrap_or_else(|| panic!("{id}: no enrichment event source"));
        assert_eq!(
            env.at(&["O2O_ENRICHMENT_QUEUE_URL"])
                .and_then(Node::reference),
            Some(queue),
            "{id}: reads the queue it is fed from"
        );
        let queue_resource = by_id.get(&[queue]);
        let dlq = queue_resource
            .at(&["Properties", "RedrivePolicy", "deadLetterTargetArn"])
            .and_then(|n| n.attribute_of("Arn"))
            .unwrap_or_else(|| panic!("{queue}: needs a DLQ"));
        assert_eq!(
            by_id.text(&[dlq, "Type"]),
            Some("AWS::SQS::Queue"),
            "{queue}: DLQ"
        );
        // AWS: the visibility timeout of an event source queue is at least six times the
        // function timeout, or a batch still running is delivered again.
        let timeout = number(props, &["Timeout"], id);
        let visibility = number(queue_resource, &["Properties", "VisibilityTimeout"], queue);
        assert!(
            visibility >= 6 * timeout,
            "{queue}: visibility {visibility} s < 6 × {id} timeout {timeout} s"
        );
        let batch = number(source, &["BatchSize"], id);
        assert!(
            (1..=10).contains(&batch),
            "{id}: enrichment batch size {batch}"
        );
        assert!(
            alarms.iter().any(|(_, a)| {
                dimension(a, "QueueName").and_then(|v| v.attribute_of("QueueName")) == Some(dlq)
            }),
            "no alarm watches {dlq}"
        );

        // The commands queue: FIFO, named so the function knows its batches
        // (o2o_aws::function::COMMANDS_QUEUE_SUFFIX), batches of one (a failed command keeps
        // its order's later ones behind it), a DLQ with an alarm, and as many attempts in the
        // function's reckoning as the redrive policy allows.
        let (queue, source) = commands.unwrap_or_else(|| panic!("{id}: no commands event source"));
        let queue_resource = by_id.get(&[queue]);
        let queue_name = queue_resource
            .at(&["Properties", "QueueName"])
            .and_then(|n| n.call("Fn::Sub"))
            .and_then(Node::str)
            .unwrap_or_default();
        assert!(
            queue_name.ends_with(o2o_aws::function::COMMANDS_QUEUE_SUFFIX),
            "{queue}: QueueName {queue_name}"
        );
        assert_eq!(
            queue_resource.text(&["Properties", "FifoQueue"]),
            Some("true"),
            "{queue}"
        );
        assert_eq!(
            number(source, &["BatchSize"], id),
            1,
            "{id}: commands batch size"
        );
        let visibility = number(queue_resource, &["Properties", "VisibilityTimeout"], queue);
        assert!(
            visibility >= timeout,
            "{queue}: visibility below the function timeout"
        );
        let dlq = queue_resource
            .at(&["Properties", "RedrivePolicy", "deadLetterTargetArn"])
            .and_then(|n| n.attribute_of("Arn"))
            .unwrap_or_else(|| panic!("{queue}: needs a DLQ"));
        let receives = number(
            queue_resource,
            &["Properties", "RedrivePolicy", "maxReceiveCount"],
            queue,
        );
        assert_eq!(
            env.text(&["O2O_COMMAND_MAX_ATTEMPTS"])
                .and_then(|n| n.parse::<u32>().ok()),
            Some(receives),
            "{id}: O2O_COMMAND_MAX_ATTEMPTS is the redrive policy's maxReceiveCount"
        );
        assert!(
            alarms.iter().any(|(_, a)| {
                dimension(a, "QueueName").and_then(|v| v.attribute_of("QueueName")) == Some(dlq)
            }),
            "no alarm watches {dlq}"
        );

        let secret = env
            .at(&["O2O_SECRET_ID"])
            .and_then(Node::reference)
            .unwrap_or_else(|| panic!("{id}: no O2O_SECRET_ID"));
        assert_eq!(
            by_id.text(&[secret, "Type"]),
            Some("AWS::SecretsManager::Secret"),
            "{secret}"
        );
        // `o2o replay --secret-prefix o2o/<stage>/` and docs/deploy.md read it by this name.
        let name = format!("o2o/${{StageName}}/{channel}");
        assert_eq!(
            by_id
                .at(&[secret, "Properties", "Name"])
                .and_then(|n| n.call("Fn::Sub"))
                .and_then(Node::str),
            Some(name.as_str()),
            "{secret}: Name"
        );

        assert!(
            alarms.iter().any(|(_, a)| {
                a.text(&["Properties", "Namespace"]) == Some("o2o-connectors")
                    && a.text(&["Properties", "MetricName"]) == Some("unauthorized")
                    && dimension(a, "channel").and_then(Node::str) == Some(channel)
            }),
            "no signature alarm watches the `unauthorized` metric of {channel}"
        );
    }

    let base = template
        .at(&["Outputs", "WebhookBaseUrl", "Value"])
        .and_then(|v| v.call("Fn::Sub"))
        .and_then(Node::str)
        .unwrap_or_else(|| panic!("infra/template.yaml: no WebhookBaseUrl output"));
    assert!(
        base.contains("${WebhookApi}") && base.ends_with("/${StageName}/webhooks"),
        "WebhookBaseUrl: {base}"
    );
}

#[test]
fn the_template_routes_only_to_channels_that_exist() {
    let template = template();
    let known: BTreeSet<String> = channel_ids().into_iter().collect();
    let functions = functions(&template);
    for (id, binary, function) in &functions {
        assert!(
            known.contains(*binary),
            "{id} builds `{binary}`, which is not in the registry"
        );
        for (name, event) in function.get(&["Properties", "Events"]).entries() {
            if let Some(path) = event.at(&["Properties", "Path"]) {
                let channel = path
                    .str()
                    .and_then(|p| p.strip_prefix("/webhooks/"))
                    .and_then(|p| p.split('/').next());
                assert_eq!(
                    channel,
                    Some(*binary),
                    "{id}.{name} routes {path:?} to the {binary} function"
                );
            }
        }
    }
    // The same channel is never built twice.
    let binaries: Vec<_> = functions.iter().map(|(_, b, _)| *b).collect();
    let unique: BTreeSet<_> = binaries.iter().collect();
    assert_eq!(unique.len(), binaries.len(), "{binaries:?}");
}

/// The drift test: the channel collection lists exactly the registry's channel ids, and no two
/// of them make the same logical ids (`&{Channel}` drops the hyphens).
#[test]
fn the_channel_loop_lists_exactly_the_registry() {
    let raw = raw_template();
    let [Node::Str(_), Node::Seq(collection), _] = raw.get(&["Resources", CHANNEL_LOOP]).seq()
    else {
        panic!("infra/template.yaml: {CHANNEL_LOOP} is not [identifier, [ids...], {{...}}]");
    };
    let ids: Vec<&str> = collection
        .iter()
        .map(|n| {
            n.str()
                .unwrap_or_else(|| panic!("{CHANNEL_LOOP}: {n:?} is not a channel id"))
        })
        .collect();
    let logical: BTreeSet<String> = ids
        .iter()
        .map(|id| id.chars().filter(char::is_ascii_alphanumeric).collect())
        .collect();
    assert_eq!(
        logical.len(),
        ids.len(),
        "{CHANNEL_LOOP}: two ids make the same logical ids: {ids:?}"
    );
    let ids: BTreeSet<&str> = ids.into_iter().collect();
    let all = channel_ids();
    let registry: BTreeSet<&str> = all.iter().map(String::as_str).collect();
    let missing: Vec<_> = registry.difference(&ids).collect();
    let unknown: Vec<_> = ids.difference(&registry).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "infra/template.yaml and the registry disagree: not in the template {missing:?} (add the \
         id to Resources.{CHANNEL_LOOP}); not in the registry {unknown:?}"
    );

    // One definition: no channel's function is written outside the loop.
    let outside: Vec<_> = resources(&raw, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(
        outside.is_empty(),
        "functions defined outside {CHANNEL_LOOP}: {outside:?}"
    );
}

/// The expander itself, on a small template: nested loops, `&{}`, `Ref` to the identifier,
/// references by `Fn::Sub`, and a route built from a mapping.
#[test]
fn the_expander_follows_the_transform() {
    let raw = parse(
        r#"
Mappings:
  M:
    A: {Id: a-1}
    B: {Id: b-2}
Resources:
  Fn::ForEach::Outer:
    - Name
    - [A, B]
    - ${Name}Queue:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: !Sub ["q-${StageName}-${Id}", {Id: !FindInMap [M, !Ref Name, Id]}]
          Path: !Sub ["/x/${Id}", {Id: !FindInMap [M, !Ref Name, Id]}]
          Dlq: !GetAtt [!Sub "${Name}Dlq", Arn]
          Own: {Ref: !Sub "${Name}Queue"}
          Plain: ${Name}
          Code: !Join ["", [../f/, !FindInMap [M, !Ref Name, Id]]]
      Fn::ForEach::Inner:
        - Item
        - [x.y, z]
        - ${Name}Topic&{Item}:
            Type: AWS::SNS::Topic
            Properties:
              TopicName: !Sub "${Name}-${Item}"
"#,
    );
    let expanded = resolve(&expand(&raw), raw.get(&["Mappings"]));
    let ids: Vec<_> = expanded
        .get(&["Resources"])
        .entries()
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "AQueue", "ATopicxy", "ATopicz", "BQueue", "BTopicxy", "BTopicz"
        ]
    );
    let b = expanded.get(&["Resources", "BQueue", "Properties"]);
    assert_eq!(
        b.at(&["QueueName"]).and_then(|n| n.call("Fn::Sub")),
        Some(&Node::Str("q-${StageName}-b-2".into()))
    );
    assert_eq!(b.text(&["Path"]), Some("/x/b-2"));
    assert_eq!(
        b.at(&["Dlq"]).and_then(|n| n.attribute_of("Arn")),
        Some("BDlq")
    );
    assert_eq!(b.at(&["Own"]).and_then(Node::reference), Some("BQueue"));
    // Like cfn-lint, and unlike the SAM CLI, a plain string keeps the placeholder.
    assert_eq!(b.text(&["Plain"]), Some("${Name}"));
    assert_eq!(b.text(&["Code"]), Some("../f/b-2"));
    assert_eq!(
        expanded.text(&["Resources", "ATopicxy", "Properties", "TopicName"]),
        Some("A-x.y")
    );
}

// ---------------------------------------------------------------------------------------------
// Push to the order system (optional)

/// The condition every resource of the push carries: true only with `OrderSystemUrl` (and its
/// key) set.
const PUSH: &str = "PushToOrderSystem";

/// The one resource of type `kind`: (logical id, resource).
fn only<'a>(template: &'a Node, kind: &str) -> (&'a str, &'a Node) {
    match resources(template, kind).as_slice() {
        [one] => *one,
        other => panic!(
            "infra/template.yaml: expected one {kind}, found {}",
            other.len()
        ),
    }
}

/// The logical ids and parameters `node` refers to: `Ref`, `Fn::GetAtt` and the `${...}` of
/// `Fn::Sub` (pseudo parameters and `${!literal}` left out).
fn references(node: &Node, out: &mut BTreeSet<String>) {
    fn in_sub(text: &str, out: &mut BTreeSet<String>) {
        for part in text.split("${").skip(1) {
            let name = part.split('}').next().unwrap_or_default();
            let name = name.split('.').next().unwrap_or_default();
            if !name.is_empty() && !name.starts_with('!') && !name.starts_with("AWS::") {
                out.insert(name.to_owned());
            }
        }
    }
    if let Some(name) = node.reference() {
        if !name.starts_with("AWS::") {
            out.insert(name.to_owned());
        }
        return;
    }
    if let Some(args) = node.call("Fn::GetAtt") {
        if let Some(Node::Str(id)) = args.seq().first() {
            out.insert(id.clone());
        }
        return;
    }
    if let Some(args) = node.call("Fn::Sub") {
        match args {
            Node::Str(text) => in_sub(text, out),
            Node::Seq(items) => {
                if let Some(Node::Str(text)) = items.first() {
                    in_sub(text, out);
                }
                for item in items.iter().skip(1) {
                    references(item, out);
                }
            }
            Node::Map(_) => references(args, out),
        }
        return;
    }
    match node {
        Node::Map(entries) => entries.iter().for_each(|(_, v)| references(v, out)),
        Node::Seq(items) => items.iter().for_each(|n| references(n, out)),
        Node::Str(_) => {}
    }
}

/// Evaluates the condition `node` with every parameter at its default.
fn holds_by_default(template: &Node, node: &Node) -> bool {
    let value = |n: &Node| -> String {
        match n.reference() {
            Some(parameter) => template
                .text(&["Parameters", parameter, "Default"])
                .unwrap_or_else(|| panic!("Parameters.{parameter}: no default"))
                .to_owned(),
            None => n
                .str()
                .unwrap_or_else(|| panic!("condition operand {n:?}"))
                .to_owned(),
        }
    };
    let [(function, args)] = node.entries() else {
        panic!("condition {node:?}: not one function");
    };
    match (function.as_str(), args.seq()) {
        ("Fn::And", all) => all.iter().all(|n| holds_by_default(template, n)),
        ("Fn::Or", any) => any.iter().any(|n| holds_by_default(template, n)),
        ("Fn::Not", [one]) => !holds_by_default(template, one),
        ("Fn::Equals", [a, b]) => value(a) == value(b),
        ("Condition", _) => {
            let name = args.str().unwrap_or_default();
            holds_by_default(template, template.get(&["Conditions", name]))
        }
        (other, _) => panic!("condition function {other} not understood"),
    }
}

/// With `OrderSystemUrl` set, an EventBridge pipe receives from the unified queue one message
/// at a time and POSTs it to an API destination whose connection carries the order system's API
/// key; its role may do exactly that and log; failures end in the unified DLQ, which an alarm
/// watches.
#[test]
fn the_order_system_push_is_a_pipe_from_the_unified_queue_to_an_api_destination() {
    let template = template();
    let by_id = template.get(&["Resources"]);
    let parameter = |name: &str, key: &str| template.text(&["Parameters", name, key]);
    assert_eq!(parameter("OrderSystemUrl", "Default"), Some(""));
    assert_eq!(parameter("OrderSystemApiKey", "Default"), Some(""));
    assert_eq!(parameter("OrderSystemApiKey", "NoEcho"), Some("true"));
    assert_eq!(
        parameter("OrderSystemApiKeyHeader", "Default"),
        Some("Authorization")
    );

    let (connection_id, connection) = only(&template, "AWS::Events::Connection");
    let (destination_id, destination) = only(&template, "AWS::Events::ApiDestination");
    let (pipe_id, pipe) = only(&template, "AWS::Pipes::Pipe");
    for (id, resource) in [
        (connection_id, connection),
        (destination_id, destination),
        (pipe_id, pipe),
    ] {
        assert_eq!(resource.text(&["Condition"]), Some(PUSH), "{id}: Condition");
    }

    // The connection: API key auth, the header and value from the parameters.
    let c = connection.get(&["Properties"]);
    assert_eq!(c.text(&["AuthorizationType"]), Some("API_KEY"));
    let key = c.get(&["AuthParameters", "ApiKeyAuthParameters"]);
    assert_eq!(
        key.at(&["ApiKeyName"]).and_then(Node::reference),
        Some("OrderSystemApiKeyHeader")
    );
    assert_eq!(
        key.at(&["ApiKeyValue"]).and_then(Node::reference),
        Some("OrderSystemApiKey")
    );

    // The destination: POST to the URL through that connection, rate limited.
    let d = destination.get(&["Properties"]);
    assert_eq!(
        d.at(&["ConnectionArn"]).and_then(|n| n.attribute_of("Arn")),
        Some(connection_id)
    );
    assert_eq!(d.text(&["HttpMethod"]), Some("POST"));
    assert_eq!(
        d.at(&["InvocationEndpoint"]).and_then(Node::reference),
        Some("OrderSystemUrl")
    );
    assert!(
        d.at(&["InvocationRateLimitPerSecond"]).is_some(),
        "{destination_id}: InvocationRateLimitPerSecond"
    );

    // The pipe: the unified queue (FIFO, with its DLQ and alarm), one message per request, the
    // event as the body, the SQS ids as headers.
    let p = pipe.get(&["Properties"]);
    let queue = p
        .at(&["Source"])
        .and_then(|n| n.attribute_of("Arn"))
        .unwrap_or_else(|| panic!("{pipe_id}: Source"));
    assert_eq!(queue, "UnifiedQueue", "{pipe_id}: Source");
    let unified = by_id.get(&[queue, "Properties"]);
    assert_eq!(unified.text(&["FifoQueue"]), Some("true"), "{queue}");
    assert_eq!(
        number(
            p,
            &["SourceParameters", "SqsQueueParameters", "BatchSize"],
            pipe_id
        ),
        1,
        "{pipe_id}: batch size (order per message group)"
    );
    let dlq = unified
        .at(&["RedrivePolicy", "deadLetterTargetArn"])
        .and_then(|n| n.attribute_of("Arn"))
        .unwrap_or_else(|| panic!("{queue}: needs a DLQ"));
    assert_eq!(
        number(unified, &["RedrivePolicy", "maxReceiveCount"], queue),
        5
    );
    let alarms = resources(&template, "AWS::CloudWatch::Alarm");
    assert!(
        alarms.iter().any(|(_, a)| {
            a.text(&["Condition"]).is_none()
                && dimension(a, "QueueName").and_then(|v| v.attribute_of("QueueName")) == Some(dlq)
        }),
        "no alarm watches {dlq}"
    );
    assert_eq!(
        p.at(&["Target"]).and_then(|n| n.attribute_of("Arn")),
        Some(destination_id),
        "{pipe_id}: Target"
    );
    let target = p.get(&["TargetParameters"]);
    let body = target.text(&["InputTemplate"]).unwrap_or_default();
    assert_eq!(
        body,
        r#"{"type": "<$.body.event_type>", "timestamp": "<$.body.occurred_at>", "data": <$.body>}"#,
        "{pipe_id}: the local push's Standard Webhooks payload structure"
    );
    let headers = target.get(&["HttpParameters", "HeaderParameters"]);
    let paths: BTreeSet<&str> = headers
        .entries()
        .iter()
        .filter_map(|(_, v)| v.str())
        .collect();
    for path in ["$.messageId", "$.attributes.MessageGroupId"] {
        assert!(paths.contains(path), "{pipe_id}: no header carries {path}");
    }
    let log_group = p
        .at(&[
            "LogConfiguration",
            "CloudwatchLogsLogDestination",
            "LogGroupArn",
        ])
        .and_then(|n| n.attribute_of("Arn"))
        .unwrap_or_else(|| panic!("{pipe_id}: LogConfiguration"));
    assert_eq!(
        by_id
            .at(&[log_group, "Properties", "RetentionInDays"])
            .and_then(Node::reference),
        Some("LogRetentionDays"),
        "{log_group}"
    );

    // The role: assumed by EventBridge Pipes, allowed exactly to consume the unified queue,
    // invoke the destination and write the pipe's log (the queue's AWS-managed key needs no
    // kms:Decrypt).
    let role = p
        .at(&["RoleArn"])
        .and_then(|n| n.attribute_of("Arn"))
        .unwrap_or_else(|| panic!("{pipe_id}: RoleArn"));
    let r = by_id.get(&[role]);
    assert_eq!(r.text(&["Type"]), Some("AWS::IAM::Role"), "{role}");
    let principals: Vec<_> = r
        .get(&["Properties", "AssumeRolePolicyDocument", "Statement"])
        .seq()
        .iter()
        .filter_map(|s| s.text(&["Principal", "Service"]))
        .collect();
    assert_eq!(principals, ["pipes.amazonaws.com"], "{role}: trust");
    let mut granted = BTreeSet::new();
    for policy in r.get(&["Properties", "Policies"]).seq() {
        for statement in policy.get(&["PolicyDocument", "Statement"]).seq() {
            assert_eq!(statement.text(&["Effect"]), Some("Allow"), "{role}");
            let resource = statement.get(&["Resource"]);
            let resource = resource
                .attribute_of("Arn")
                .unwrap_or_else(|| panic!("{role}: {resource:?} is not one resource's ARN"));
            let actions = statement.get(&["Action"]);
            let actions = match actions {
                Node::Str(one) => vec![one.as_str()],
                many => many.seq().iter().filter_map(Node::str).collect(),
            };
            for action in actions {
                granted.insert((action.to_owned(), resource.to_owned()));
            }
        }
    }
    let expected: BTreeSet<(String, String)> = [
        ("sqs:ReceiveMessage", queue),
        ("sqs:DeleteMessage", queue),
        ("sqs:GetQueueAttributes", queue),
        ("events:InvokeApiDestination", destination_id),
        ("logs:CreateLogStream", log_group),
        ("logs:PutLogEvents", log_group),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_owned(), r.to_owned()))
    .collect();
    assert_eq!(granted, expected, "{role}: actions");
}

/// With the parameters at their defaults the push is off, and nothing else depends on it:
/// every resource and output that refers to the push (its parameters or its resources) carries
/// the condition, so a stack deployed without `OrderSystemUrl` is what it was before.
#[test]
fn the_order_system_push_is_off_by_default_and_nothing_else_depends_on_it() {
    let template = template();
    let condition = template.get(&["Conditions", PUSH]);
    assert!(
        !holds_by_default(&template, condition),
        "{PUSH} holds with the default parameters"
    );
    let mut refs = BTreeSet::new();
    references(condition, &mut refs);
    assert!(refs.contains("OrderSystemUrl"), "{PUSH}: {refs:?}");

    let resources = template.get(&["Resources"]).entries();
    let conditional: BTreeSet<&str> = resources
        .iter()
        .filter(|(_, r)| r.text(&["Condition"]) == Some(PUSH))
        .map(|(id, _)| id.as_str())
        .collect();
    for kind in [
        "AWS::Events::Connection",
        "AWS::Events::ApiDestination",
        "AWS::Pipes::Pipe",
    ] {
        let (id, _) = only(&template, kind);
        assert!(conditional.contains(id), "{id}: Condition {PUSH}");
    }
    let push_parameters: BTreeSet<&str> = template
        .get(&["Parameters"])
        .entries()
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| name.starts_with("OrderSystem"))
        .collect();
    assert!(!push_parameters.is_empty(), "no OrderSystem* parameters");
    let outputs = template.get(&["Outputs"]).entries();
    for (what, entries) in [("Resources", resources), ("Outputs", outputs)] {
        for (id, entry) in entries {
            let mut refs = BTreeSet::new();
            references(entry, &mut refs);
            let push: Vec<_> = refs
                .iter()
                .filter(|r| {
                    conditional.contains(r.as_str()) || push_parameters.contains(r.as_str())
                })
                .collect();
            if !push.is_empty() {
                assert_eq!(
                    entry.text(&["Condition"]),
                    Some(PUSH),
                    "{what}.{id} refers to {push:?} but exists without {PUSH}"
                );
            }
        }
    }
    // The push's resources, and only they, are named for it (an alarm on the unified queue
    // refers to nothing of the push, yet exists only with it).
    for (id, _) in resources {
        assert_eq!(
            id.starts_with("OrderSystem"),
            conditional.contains(id.as_str()),
            "{id}: named OrderSystem* exactly when it carries Condition {PUSH}"
        );
    }
}
