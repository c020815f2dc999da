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
