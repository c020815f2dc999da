//! The connector under test, its samples, and how a case becomes a request.

use super::*;

pub(crate) struct Fixture<C> {
    pub(crate) spec: &'static Spec,
    /// The connector, for the oracle (`handshake`, `verify`, `parse`, `normalise`) and `sign`.
    pub(crate) connector: C,
    /// The same connector as the hosts run it: built by the registry from `o2o.toml`.
    pub(crate) channel: Arc<dyn Channel>,
    /// The samples, unsigned, received at [`RECEIVED_AT`].
    pub(crate) samples: Vec<(String, WebhookRequest)>,
    /// Every scalar of every sample body (embedded JSON included), as JSON text.
    pub(crate) literals: Vec<String>,
    /// Every header value of every sample, and the spec's own.
    pub(crate) header_values: Vec<String>,
}

impl<C: Connector> Fixture<C> {
    pub(crate) fn load(spec: &'static Spec) -> Self {
        let dir = repo_root().join("events").join(spec.id);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("dir entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "http"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no samples in {}", dir.display());
        let received_at = Timestamp::from_unix_seconds(RECEIVED_AT).expect("time");
        let samples: Vec<(String, WebhookRequest)> = files
            .iter()
            .map(|path| {
                let bytes = std::fs::read(path).expect("read sample");
                let sample = parse_sample(&bytes).unwrap_or_else(|e| panic!("{e}"));
                let name = path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
                (name, sample.into_request(received_at))
            })
            .collect();
        let mut literals = BTreeSet::new();
        let mut header_values: BTreeSet<String> =
            spec.header_values.iter().map(|v| (*v).to_owned()).collect();
        for (_, req) in &samples {
            if let Ok(value) = serde_json::from_slice::<Value>(&req.body) {
                collect_literals(&value, &mut literals);
            }
            header_values.extend(req.headers.iter().map(|(_, v)| v.to_owned()));
        }
        let entry = CONNECTORS.get(spec.id).expect("registered");
        let channel = (entry.build)(&dev_table(spec.id), spec.id).unwrap_or_else(|e| panic!("{e}"));
        Self {
            spec,
            connector: dev_connector::<C>(),
            channel,
            samples,
            literals: literals.into_iter().collect(),
            header_values: header_values.into_iter().collect(),
        }
    }

    /// The request of `case`, and the request as it was once signed (if it was).
    pub(crate) fn build(&self, case: &Case) -> Built {
        let (name, sample) = &self.samples[case.sample.index(self.samples.len())];
        let mut req = sample.clone();
        for m in &case.before {
            self.apply(&mut req, m);
        }
        let signed = match &case.signing {
            Signing::Unsigned => None,
            Signing::Signed { clock } => {
                let received_at = req.received_at;
                req.received_at = received_at.plus_seconds(*clock);
                let signed = Connector::sign(&self.connector, &mut req).is_ok();
                req.received_at = received_at;
                signed.then(|| req.clone())
            }
            Signing::Sealed {
                timestamp,
                other_app,
            } => {
                let seal = self.spec.seal.expect("only generated for specs that seal");
                seal(&mut req, timestamp, *other_app);
                Some(req.clone())
            }
        };
        for m in &case.after {
            self.apply(&mut req, m);
        }
        Built {
            sample: name.clone(),
            signed,
            request: req,
        }
    }

    fn apply(&self, req: &mut WebhookRequest, m: &Mutation) {
        match m {
            Mutation::Body(edit) => self.edit_body(&mut req.body, edit),
            Mutation::Header(edit) => self.edit_headers(&mut req.headers, edit),
            Mutation::Query(edit) => self.edit_query(&mut req.query, edit),
            Mutation::Method(method) => req.method.clone_from(method),
            Mutation::Tenant(tenant) => req.path_tenant.clone_from(tenant),
            Mutation::Clock(seconds) => req.received_at = req.received_at.plus_seconds(*seconds),
        }
    }

    fn edit_body(&self, body: &mut Vec<u8>, edit: &BodyEdit) {
        let at = |at: &Index, len: usize| at.index(len + 1);
        match edit {
            BodyEdit::FlipBit { at, bit } => {
                if !body.is_empty() {
                    let i = at.index(body.len());
                    body[i] ^= 1 << bit;
                }
            }
            BodyEdit::SetByte { at, byte } => {
                if !body.is_empty() {
                    let i = at.index(body.len());
                    body[i] = *byte;
                }
            }
            BodyEdit::Truncate { at: i } => body.truncate(at(i, body.len())),
            BodyEdit::Insert { at: i, bytes } => {
                let i = at(i, body.len());
                body.splice(i..i, bytes.iter().copied());
            }
            BodyEdit::InvalidUtf8 { at: i, bytes } => {
                let i = at(i, body.len());
                body.splice(i..i, bytes.iter().copied());
            }
            BodyEdit::Remove { at: i, len } => {
                let i = at(i, body.len());
                let end = (i + usize::from(*len)).min(body.len());
                body.drain(i..end);
            }
            BodyEdit::Replace(bytes) => bytes.clone_into(body),
            BodyEdit::ReplaceText(text) => *body = text.as_bytes().to_vec(),
            BodyEdit::Node { node, with } => {
                let make = |old: &Value| self.literal(with, old);
                match edit_json(body, Kind::Any, node, &JsonOp::Replace(&make)) {
                    Some(edited) => *body = edited.into_bytes(),
                    // Not JSON: the literal goes in at the same relative place.
                    None => {
                        let i = at(node, body.len());
                        body.splice(i..i, make(&Value::Null).bytes());
                    }
                }
            }
            BodyEdit::Edge { kind, node, edge } => {
                let edges = kind.edges();
                let make = |_: &Value| edges[edge.index(edges.len())].to_owned();
                if let Some(edited) = edit_json(body, *kind, node, &JsonOp::Replace(&make)) {
                    *body = edited.into_bytes();
                }
            }
            BodyEdit::DropNode { node } => {
                if let Some(edited) = edit_json(body, Kind::Any, node, &JsonOp::Remove) {
                    *body = edited.into_bytes();
                }
            }
            BodyEdit::Nest { depth, object } => {
                let inner = String::from_utf8_lossy(body).into_owned();
                *body = nested(*depth, *object, &inner).into_bytes();
            }
        }
    }

    /// The JSON text of `literal`, to replace `old`.
    fn literal(&self, literal: &Literal, old: &Value) -> String {
        match literal {
            Literal::Sample(i) if !self.literals.is_empty() => {
                self.literals[i.index(self.literals.len())].clone()
            }
            Literal::Sample(_) => "null".to_owned(),
            Literal::Like(i) => {
                let edges = Kind::of(old).edges();
                edges[i.index(edges.len())].to_owned()
            }
            Literal::Raw(raw) => raw.clone(),
        }
    }

    fn header_name(&self, name: &Name) -> String {
        match name {
            Name::Known(i) => {
                let known: Vec<&str> = self
                    .spec
                    .headers
                    .iter()
                    .chain(COMMON_HEADERS.iter())
                    .copied()
                    .collect();
                known[i.index(known.len())].to_owned()
            }
            Name::Other(name) => name.clone(),
        }
    }

    fn header_value(&self, text: &Text) -> String {
        match text {
            Text::Sample(i) if !self.header_values.is_empty() => {
                self.header_values[i.index(self.header_values.len())].clone()
            }
            Text::Sample(_) => String::new(),
            Text::Raw(raw) => raw.clone(),
        }
    }

    fn edit_headers(&self, headers: &mut Headers, edit: &HeaderEdit) {
        let without = |headers: &Headers, name: &str| -> Headers {
            headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
                .collect()
        };
        match edit {
            HeaderEdit::Drop(name) => *headers = without(headers, &self.header_name(name)),
            HeaderEdit::Set(name, value) => {
                headers.set(&self.header_name(name), self.header_value(value));
            }
            HeaderEdit::Append(name, value) => {
                headers.insert(&self.header_name(name), self.header_value(value));
            }
            HeaderEdit::Prepend(name, value) => {
                let mut first = Headers::new();
                first.insert(&self.header_name(name), self.header_value(value));
                for (n, v) in headers.iter() {
                    first.insert(n, v);
                }
                *headers = first;
            }
            HeaderEdit::Repeat(name) => {
                let name = self.header_name(name);
                if let Some(value) = headers.get(&name).map(str::to_owned) {
                    headers.insert(&name, value);
                }
            }
            HeaderEdit::Clear => *headers = Headers::new(),
        }
    }

    fn param_name(&self, name: &Name) -> String {
        match name {
            Name::Known(i) if !self.spec.params.is_empty() => {
                self.spec.params[i.index(self.spec.params.len())].to_owned()
            }
            Name::Known(_) => "x".to_owned(),
            Name::Other(name) => name.clone(),
        }
    }

    fn edit_query(&self, query: &mut String, edit: &QueryEdit) {
        let pairs = |query: &str| -> Vec<String> {
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let is = |pair: &str, name: &str| {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k);
            percent_decode(key).as_deref() == Some(name)
        };
        let mut list = pairs(query);
        match edit {
            QueryEdit::Set(name, value) => {
                let name = self.param_name(name);
                list.retain(|p| !is(p, &name));
                list.push(format!("{name}={value}"));
            }
            QueryEdit::Drop(name) => {
                let name = self.param_name(name);
                list.retain(|p| !is(p, &name));
            }
            QueryEdit::Append(name, value) => {
                list.push(format!("{}={value}", self.param_name(name)));
            }
            QueryEdit::Prepend(name, value) => {
                list.insert(0, format!("{}={value}", self.param_name(name)));
            }
            QueryEdit::Replace(raw) => {
                raw.clone_into(query);
                return;
            }
        }
        *query = list.join("&");
    }
}

/// A case made concrete.
pub(crate) struct Built {
    pub(crate) sample: String,
    /// The request right after it was signed, if it was.
    pub(crate) signed: Option<WebhookRequest>,
    /// The request sent.
    pub(crate) request: WebhookRequest,
}

impl Built {
    /// Signed, then its signed bytes changed: it must not verify.
    pub(crate) fn forged(&self, spec: &Spec) -> bool {
        self.signed.as_ref().is_some_and(|signed| {
            signed.body != self.request.body && (spec.body_signed)(&self.request)
        })
    }
}
