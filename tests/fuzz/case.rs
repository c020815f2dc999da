//! The cases: one sample, edits before signing, how it is signed, edits after; and the
//! proptest strategies that generate them.

use super::*;

/// One generated delivery: a sample, edits before signing, how it is signed, edits after.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) sample: Index,
    pub(crate) before: Vec<Mutation>,
    pub(crate) signing: Signing,
    pub(crate) after: Vec<Mutation>,
}

#[derive(Debug, Clone)]
pub(crate) enum Signing {
    /// Sent as it is.
    Unsigned,
    /// Signed by the connector's `sign`, its clock `clock` seconds off the time of receipt.
    Signed { clock: i64 },
    /// Sealed by the spec's `seal` with this timestamp text (WeChat).
    Sealed { timestamp: String, other_app: bool },
}

#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    Body(BodyEdit),
    Header(HeaderEdit),
    Query(QueryEdit),
    Method(String),
    Tenant(Option<String>),
    /// Moves the time of receipt by this many seconds.
    Clock(i64),
}

#[derive(Debug, Clone)]
pub(crate) enum BodyEdit {
    FlipBit {
        at: Index,
        bit: u8,
    },
    SetByte {
        at: Index,
        byte: u8,
    },
    Truncate {
        at: Index,
    },
    Insert {
        at: Index,
        bytes: Vec<u8>,
    },
    Remove {
        at: Index,
        len: u16,
    },
    InvalidUtf8 {
        at: Index,
        bytes: &'static [u8],
    },
    Replace(Vec<u8>),
    ReplaceText(String),
    /// Replaces one JSON node (embedded JSON strings included) with a JSON literal.
    Node {
        node: Index,
        with: Literal,
    },
    /// Replaces one time, number or numeric text of the JSON with an edge of its kind.
    Edge {
        kind: Kind,
        node: Index,
        edge: Index,
    },
    /// Removes one JSON node from its array or object.
    DropNode {
        node: Index,
    },
    /// Wraps the whole body in `depth` arrays or objects.
    Nest {
        depth: usize,
        object: bool,
    },
}

/// Which JSON nodes an edit may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Any,
    /// Text that starts like a date.
    Time,
    /// A number.
    Number,
    /// Text that reads as a number.
    NumericText,
}

impl Kind {
    pub(crate) fn of(value: &Value) -> Kind {
        match value {
            Value::Number(_) => Kind::Number,
            Value::String(s) if looks_like_time(s) => Kind::Time,
            Value::String(s) if s.trim().parse::<f64>().is_ok() => Kind::NumericText,
            _ => Kind::Any,
        }
    }

    pub(crate) fn picks(self, value: &Value) -> bool {
        self == Kind::Any || Kind::of(value) == self
    }

    pub(crate) fn edges(self) -> &'static [&'static str] {
        match self {
            Kind::Any => OTHER_EDGES,
            Kind::Time => TIME_EDGES,
            Kind::Number => NUMBER_EDGES,
            Kind::NumericText => NUMERIC_TEXT_EDGES,
        }
    }
}

/// A JSON text: a value found in the connector's samples, an edge of the kind of value it
/// replaces (a time for a time, a number for a number), or generated.
#[derive(Debug, Clone)]
pub(crate) enum Literal {
    Sample(Index),
    Like(Index),
    Raw(String),
}

#[derive(Debug, Clone)]
pub(crate) enum HeaderEdit {
    Drop(Name),
    Set(Name, Text),
    /// A second value after the first (lookups take the first).
    Append(Name, Text),
    /// A second value before the first.
    Prepend(Name, Text),
    /// The same value twice.
    Repeat(Name),
    Clear,
}

#[derive(Debug, Clone)]
pub(crate) enum QueryEdit {
    Set(Name, String),
    Drop(Name),
    Append(Name, String),
    Prepend(Name, String),
    Replace(String),
}

/// A header or parameter: one the connector reads, or any.
#[derive(Debug, Clone)]
pub(crate) enum Name {
    Known(Index),
    Other(String),
}

/// A header value: one found in the samples (or the spec's list), or any text.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Sample(Index),
    Raw(String),
}

/// Sequences that are never valid UTF-8 (a lone continuation byte, an overlong encoding, a
/// surrogate, a truncated sequence, bytes that never occur).
const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe4\xb8",
    b"\xff\xfe",
    b"\xf8\x88\x80\x80\x80",
];

/// Numbers at the edges: of integer types, of floats, of Unix seconds that make a time (years 0
/// and 9999: RFC 3339 has no other years), money with too many digits.
const NUMBER_EDGES: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1.5",
    "-0.0",
    "1e308",
    "1e309",
    "-1e400",
    "1e-400",
    "1E+2",
    "2147483648",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890.123456789",
    "0.000000000000000000000000001",
    "-62135596800",
    "-62167219200",
    "-62167219201",
    "-377705116800",
    "-377705116801",
    "253402300799",
    "253402300800",
];

/// Numbers as text (ids, money and times arrive as strings too).
const NUMERIC_TEXT_EDGES: &[&str] = &[
    "\"\"",
    "\"0\"",
    "\"-1\"",
    "\"1e400\"",
    "\"1e5\"",
    "\"NaN\"",
    "\"Infinity\"",
    "\"-0.00\"",
    "\"0.001\"",
    "\"0.005\"",
    "\" 1.00 \"",
    "\"1,000.00\"",
    "\"+1.00\"",
    "\".5\"",
    "\"5.\"",
    "\"１２\"",
    "\"99999999999999999999.99\"",
    "\"92233720368547758.07\"",
    "\"-92233720368547758.08\"",
    "\"18446744073709551616\"",
    "\"9223372036854775807\"",
    "\"-9223372036854775808\"",
    "\"-62167219201\"",
    "\"253402300800\"",
];

/// Times at the edges of what RFC 3339 and the platforms' zone-less format can say.
const TIME_EDGES: &[&str] = &[
    "\"0000-01-01 00:00:00\"",
    "\"0000-01-01T00:00:00+08:00\"",
    "\"0000-01-01T00:00:00+23:59\"",
    "\"0001-01-01T00:00:00Z\"",
    "\"9999-12-31 23:59:59\"",
    "\"9999-12-31T23:59:59-01:00\"",
    "\"9999-12-31T23:59:59-23:59\"",
    "\"-999999-01-01T00:00:00Z\"",
    "\"2025-13-45T99:99:99Z\"",
    "\"2025-02-29T00:00:00Z\"",
    "\"2025-06-01 24:00:00\"",
    "\"2025-06-01T00:00:60Z\"",
    "\"2025-06-01T00:00:00.123456789123Z\"",
    "\"2025-06-01\"",
    "\"0000-00-00 00:00:00\"",
];

/// Other values: of the wrong type, empty, odd text, unknown codes.
const OTHER_EDGES: &[&str] = &[
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "[null]",
    "{\"\":null}",
    "\"\"",
    "\" \"",
    "\"\\u0000\"",
    "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
    "\"XXX\"",
    "\"usd\"",
    "\"JPY\"",
    "\"BHD\"",
];

/// Timestamps for WeChat's signed `timestamp`: the edges of `i64` and of the window, and text.
const TIMESTAMPS: &[&str] = &[
    "-9223372036854775808",
    "-9223372036854775807",
    "9223372036854775807",
    "9223372036854775808",
    "-1",
    "0",
    "1767225300",
    "1767225299",
    "1767225900",
    "1767225901",
    "+1767225600",
    " 1767225600",
    "1767225600.0",
    "1.7e9",
    "",
    "now",
];

pub(crate) fn case_strategy(spec: &'static Spec) -> impl Strategy<Value = Case> {
    (
        any::<Index>(),
        prop::collection::vec(mutation(spec, true), 0..4),
        signing(spec),
        prop::collection::vec(mutation(spec, false), 0..3),
    )
        .prop_map(|(sample, before, signing, after)| Case {
            sample,
            before,
            signing,
            after,
        })
}

fn signing(spec: &'static Spec) -> BoxedStrategy<Signing> {
    let clock = prop_oneof![
        8 => Just(0i64),
        2 => -400i64..400,
        1 => select(&[-301i64, -300, 300, 301, i64::MIN, i64::MAX][..]),
    ];
    let mut arms: Vec<(u32, BoxedStrategy<Signing>)> = vec![
        (1, Just(Signing::Unsigned).boxed()),
        (8, clock.prop_map(|clock| Signing::Signed { clock }).boxed()),
    ];
    if spec.seal.is_some() {
        let timestamp = prop_oneof![
            6 => (RECEIVED_AT - 400..RECEIVED_AT + 400).prop_map(|t| t.to_string()),
            2 => select(TIMESTAMPS).prop_map(str::to_owned),
            1 => "-?[0-9]{1,25}",
            1 => "\\PC{0,12}",
        ];
        let sealed = (timestamp, prop::bool::weighted(0.05))
            .prop_map(|(timestamp, other_app)| Signing::Sealed {
                timestamp,
                other_app,
            })
            .boxed();
        arms.push((6, sealed));
    }
    Union::new_weighted(arms).boxed()
}

fn mutation(spec: &'static Spec, before_signing: bool) -> impl Strategy<Value = Mutation> {
    // Before signing the body is what gets signed: garbling it is how parse and normalise are
    // reached, so the edits that keep it JSON weigh more there.
    let (bytes, json) = if before_signing { (3, 8) } else { (6, 2) };
    prop_oneof![
        bytes => byte_edit().prop_map(Mutation::Body),
        json => json_edit().prop_map(Mutation::Body),
        3 => header_edit(spec).prop_map(Mutation::Header),
        2 => query_edit(spec).prop_map(Mutation::Query),
        1 => method().prop_map(Mutation::Method),
        1 => prop::option::of("[a-z0-9._:-]{0,16}|\\PC{0,8}").prop_map(Mutation::Tenant),
        // The edge stamps the time of receipt from its own clock: drift, not any instant.
        1 => prop_oneof![-400i64..400, -864_000i64..864_000].prop_map(Mutation::Clock),
    ]
}

fn byte_edit() -> impl Strategy<Value = BodyEdit> {
    prop_oneof![
        4 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| BodyEdit::FlipBit { at, bit }),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| BodyEdit::SetByte { at, byte }),
        2 => any::<Index>().prop_map(|at| BodyEdit::Truncate { at }),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..24))
            .prop_map(|(at, bytes)| BodyEdit::Insert { at, bytes }),
        1 => (any::<Index>(), 1u16..256).prop_map(|(at, len)| BodyEdit::Remove { at, len }),
        1 => (any::<Index>(), select(INVALID_UTF8))
            .prop_map(|(at, bytes)| BodyEdit::InvalidUtf8 { at, bytes }),
        1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(BodyEdit::Replace),
        1 => "\\PC{0,64}|[\\[\\]{}\":,0-9a-z -]{0,64}".prop_map(BodyEdit::ReplaceText),
    ]
}

fn json_edit() -> impl Strategy<Value = BodyEdit> {
    prop_oneof![
        8 => (any::<Index>(), literal()).prop_map(|(node, with)| BodyEdit::Node { node, with }),
        4 => (select(&[Kind::Time, Kind::Number, Kind::NumericText][..]), any::<Index>(), any::<Index>())
            .prop_map(|(kind, node, edge)| BodyEdit::Edge { kind, node, edge }),
        3 => any::<Index>().prop_map(|node| BodyEdit::DropNode { node }),
        1 => (1usize..300, any::<bool>())
            .prop_map(|(depth, object)| BodyEdit::Nest { depth, object }),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        5 => any::<Index>().prop_map(Literal::Sample),
        4 => any::<Index>().prop_map(Literal::Like),
        2 => select([NUMBER_EDGES, NUMERIC_TEXT_EDGES, TIME_EDGES, OTHER_EDGES].concat())
            .prop_map(|l| Literal::Raw(l.to_owned())),
        // Huge numbers, as numbers and as decimal text (money is parsed from text).
        1 => "-?[1-9][0-9]{18,400}(\\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?".prop_map(Literal::Raw),
        1 => "\"-?[0-9]{1,40}(\\.[0-9]{0,40})?\"".prop_map(Literal::Raw),
        // Deep nesting, beyond serde_json's recursion limit too.
        1 => (1usize..400, any::<bool>()).prop_map(|(depth, object)| Literal::Raw(nested(depth, object, "1"))),
        1 => any::<String>().prop_map(|s| Literal::Raw(json_string(&s))),
    ]
}

fn header_edit(spec: &'static Spec) -> impl Strategy<Value = HeaderEdit> {
    let pick = move || name(spec.headers.len() + COMMON_HEADERS.len(), "[A-Za-z-]{1,24}");
    prop_oneof![
        3 => pick().prop_map(HeaderEdit::Drop),
        4 => (pick(), text()).prop_map(|(n, v)| HeaderEdit::Set(n, v)),
        1 => (pick(), text()).prop_map(|(n, v)| HeaderEdit::Append(n, v)),
        1 => (pick(), text()).prop_map(|(n, v)| HeaderEdit::Prepend(n, v)),
        1 => pick().prop_map(HeaderEdit::Repeat),
        1 => Just(HeaderEdit::Clear),
    ]
}

fn query_edit(spec: &'static Spec) -> impl Strategy<Value = QueryEdit> {
    let pick = move || name(spec.params.len(), "[a-z_]{1,12}");
    let value = || "[0-9a-f]{0,40}|-?[0-9]{1,25}|\\PC{0,16}|[%&=+0-9a-fA-F]{0,12}";
    prop_oneof![
        4 => (pick(), value()).prop_map(|(n, v)| QueryEdit::Set(n, v)),
        3 => pick().prop_map(QueryEdit::Drop),
        1 => (pick(), value()).prop_map(|(n, v)| QueryEdit::Append(n, v)),
        1 => (pick(), value()).prop_map(|(n, v)| QueryEdit::Prepend(n, v)),
        1 => "\\PC{0,40}|[a-z=&%0-9]{0,40}".prop_map(QueryEdit::Replace),
    ]
}

fn name(known: usize, other: &'static str) -> BoxedStrategy<Name> {
    if known == 0 {
        return other.prop_map(Name::Other).boxed();
    }
    prop_oneof![
        5 => any::<Index>().prop_map(Name::Known),
        1 => other.prop_map(Name::Other),
    ]
    .boxed()
}

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        3 => any::<Index>().prop_map(Text::Sample),
        1 => "[0-9a-f]{64}|[A-Za-z0-9+/]{43}=|[0-9a-f]{32}".prop_map(Text::Raw),
        1 => "-?[0-9]{1,30}".prop_map(Text::Raw),
        1 => "\\PC{0,32}".prop_map(Text::Raw),
        1 => any::<String>().prop_map(Text::Raw),
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(&["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "post", "Post", "POST ", ""][..])
            .prop_map(str::to_owned),
        1 => "[A-Z]{1,12}",
    ]
}
