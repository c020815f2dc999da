//! Editing one node of a JSON body (embedded JSON included) without reformatting the rest.

use super::*;

/// Stands in for the replacement while the tree is serialised (the replacement may be no JSON
/// value serde_json can hold: `1e400`, `[[[[…]]]]`).
const PLACEHOLDER: &str = "\u{1}o2o-fuzz\u{1}";

pub(crate) enum JsonOp<'a> {
    /// Replace the node with the JSON text made from it.
    Replace(&'a dyn Fn(&Value) -> String),
    Remove,
}

/// Whether `text` starts like a date (`2025-06-01…`).
pub(crate) fn looks_like_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-'
}

/// What a visit found.
enum Found {
    /// The target is the node visited: its parent applies the operation.
    Here,
    /// Replaced by the placeholder, which stands for this JSON text in this level's tree.
    Placeholder(String),
    /// Applied and rendered.
    Done,
}

/// How a string holds embedded JSON: as it is (Douyin's `data`) or URL-encoded (Youzan's `msg`).
#[derive(Clone, Copy)]
enum Embedding {
    Plain,
    Form,
}

fn embedded(text: &str) -> Option<(Value, Embedding)> {
    let start = text.trim_start();
    if start.starts_with('{') || start.starts_with('[') {
        let value = serde_json::from_str(text).ok()?;
        return Some((value, Embedding::Plain));
    }
    let upper = start.get(..3).map(str::to_ascii_uppercase);
    if matches!(upper.as_deref(), Some("%7B" | "%5B")) {
        let value = serde_json::from_str(&percent_decode(text)?).ok()?;
        return Some((value, Embedding::Form));
    }
    None
}

/// The nodes of `kind` in `value`, embedded JSON included.
fn count_nodes(value: &Value, kind: Kind) -> usize {
    usize::from(kind.picks(value))
        + match value {
            Value::Array(items) => items.iter().map(|v| count_nodes(v, kind)).sum(),
            Value::Object(map) => map.values().map(|v| count_nodes(v, kind)).sum(),
            Value::String(s) => embedded(s).map_or(0, |(inner, _)| count_nodes(&inner, kind)),
            _ => 0,
        }
}

/// `body` with its `node`-th JSON node (pre-order, the nodes of embedded JSON included)
/// replaced or removed; `None` when the body is not JSON.
pub(crate) fn edit_json(body: &[u8], kind: Kind, node: &Index, op: &JsonOp<'_>) -> Option<String> {
    let mut root: Value = serde_json::from_slice(body).ok()?;
    let count = count_nodes(&root, kind);
    if count == 0 {
        return None;
    }
    let mut n = node.index(count);
    Some(match visit(&mut root, kind, &mut n, op)? {
        Found::Here => whole(&root, op),
        Found::Placeholder(raw) => render(&root, &raw),
        Found::Done => root.to_string(),
    })
}

/// What the operation makes of a whole tree (the body, or an embedded document).
fn whole(value: &Value, op: &JsonOp<'_>) -> String {
    match op {
        JsonOp::Replace(make) => make(value),
        JsonOp::Remove => String::new(),
    }
}

/// `value` as JSON text, the placeholder replaced by `raw`.
fn render(value: &Value, raw: &str) -> String {
    value
        .to_string()
        .replacen(&json_string(PLACEHOLDER), raw, 1)
}

/// Applies `op` to `child` of the node being visited; `None` when it was removed.
fn apply_to(child: &mut Value, op: &JsonOp<'_>) -> Option<Found> {
    match op {
        JsonOp::Replace(make) => {
            let raw = make(child);
            *child = Value::String(PLACEHOLDER.into());
            Some(Found::Placeholder(raw))
        }
        JsonOp::Remove => None,
    }
}

/// Visits `value` and what it holds, counting down `n` on each node of `kind`.
fn visit(value: &mut Value, kind: Kind, n: &mut usize, op: &JsonOp<'_>) -> Option<Found> {
    if kind.picks(value) {
        if *n == 0 {
            return Some(Found::Here);
        }
        *n -= 1;
    }
    match value {
        Value::Array(items) => {
            for i in 0..items.len() {
                match visit(&mut items[i], kind, n, op) {
                    Some(Found::Here) => {
                        return apply_to(&mut items[i], op).or_else(|| {
                            items.remove(i);
                            Some(Found::Done)
                        });
                    }
                    Some(found) => return Some(found),
                    None => {}
                }
            }
            None
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child = map.get_mut(&key)?;
                match visit(child, kind, n, op) {
                    Some(Found::Here) => {
                        return apply_to(child, op).or_else(|| {
                            map.remove(&key);
                            Some(Found::Done)
                        });
                    }
                    Some(found) => return Some(found),
                    None => {}
                }
            }
            None
        }
        Value::String(text) => {
            let (mut inner, embedding) = embedded(text)?;
            let rendered = match visit(&mut inner, kind, n, op)? {
                Found::Here => whole(&inner, op),
                Found::Placeholder(raw) => render(&inner, &raw),
                Found::Done => inner.to_string(),
            };
            *text = match embedding {
                Embedding::Plain => rendered,
                Embedding::Form => form_encode(&rendered),
            };
            Some(Found::Done)
        }
        _ => None,
    }
}

pub(crate) fn collect_literals(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_literals(v, into)),
        Value::Object(map) => map.values().for_each(|v| collect_literals(v, into)),
        Value::String(s) => match embedded(s) {
            Some((inner, _)) => collect_literals(&inner, into),
            None => {
                into.insert(value.to_string());
            }
        },
        _ => {
            into.insert(value.to_string());
        }
    }
}

pub(crate) fn nested(depth: usize, object: bool, inner: &str) -> String {
    let (open, close) = if object { ("{\"a\":", "}") } else { ("[", "]") };
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

pub(crate) fn json_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// `application/x-www-form-urlencoded`, as Youzan encodes `msg`.
pub(crate) fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
