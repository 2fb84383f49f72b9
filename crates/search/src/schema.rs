//! The index schema: which event attributes become typed tantivy fields, how text is
//! tokenized, and how an [`Event`] becomes a document. docs/search.md documents the same
//! table for users; keep them in step.

use std::net::{IpAddr, Ipv6Addr};

use evident_model::Event;
use serde_json::{Map, Value};
use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, IpAddrOptions, JsonObjectOptions, NumericOptions,
    STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
    TokenizerManager,
};

/// Tokenizer of full text (`raw`): words of letters and digits, lowercased; a JSON
/// record's keys are left out ([`RecordTokenizer`]).
pub(crate) const TEXT_TOKENIZER: &str = "evident_text";
/// Tokenizer of keyword fields and the catch-all: the whole value, lowercased, so
/// `user:Alice` finds `alice`.
pub(crate) const KEYWORD_TOKENIZER: &str = "evident_keyword";

/// What kind of value a query field holds: decides how a query value becomes terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Milliseconds since the epoch (i64).
    Time,
    /// Whole numbers (u64).
    Number,
    /// One exact value, matched case-insensitively; aggregatable.
    Keyword,
    /// An IPv4 or IPv6 address; CIDR and ranges.
    Ip,
    /// Tokenized full text with positions (phrases).
    Text,
}

/// The index fields. Every typed field is also a fast field (sort, stats, timechart)
/// except `raw` (full text), `event` (the whole event, stored for display, not indexed) and
/// `attrs` (the catch-all: the event's leaves minus unique ids and times, indexed, not
/// stored).
#[derive(Clone, Debug)]
pub(crate) struct Fields {
    pub time: Field,
    pub ledger_index: Field,
    pub source: Field,
    pub class_uid: Field,
    pub class_name: Field,
    pub activity_id: Field,
    pub activity_name: Field,
    pub type_uid: Field,
    pub status_id: Field,
    pub status: Field,
    pub severity_id: Field,
    pub severity: Field,
    pub user: Field,
    pub src_ip: Field,
    pub dst_ip: Field,
    pub src_port: Field,
    pub dst_port: Field,
    pub raw: Field,
    pub event: Field,
    pub attrs: Field,
}

/// Query names of the typed fields with their index field name and kind. Anything else
/// with a dotted name is looked up in the catch-all `event` field.
pub(crate) const TYPED: &[(&str, &str, Kind)] = &[
    ("time", "time", Kind::Time),
    ("ledger_index", "ledger_index", Kind::Number),
    ("source", "source", Kind::Keyword),
    ("class_uid", "class_uid", Kind::Number),
    ("class_name", "class_name", Kind::Keyword),
    ("activity_id", "activity_id", Kind::Number),
    ("activity_name", "activity_name", Kind::Keyword),
    ("type_uid", "type_uid", Kind::Number),
    ("status_id", "status_id", Kind::Number),
    ("status", "status", Kind::Keyword),
    ("severity_id", "severity_id", Kind::Number),
    ("severity", "severity", Kind::Keyword),
    ("user", "user", Kind::Keyword),
    ("src_endpoint.ip", "src_ip", Kind::Ip),
    ("src_ip", "src_ip", Kind::Ip),
    ("dst_endpoint.ip", "dst_ip", Kind::Ip),
    ("dst_ip", "dst_ip", Kind::Ip),
    ("src_endpoint.port", "src_port", Kind::Number),
    ("dst_endpoint.port", "dst_port", Kind::Number),
    ("raw", "raw", Kind::Text),
    ("raw_data", "raw", Kind::Text),
];

/// Where a user name can be: all of them land in `user`.
const USER_PATHS: &[&str] = &[
    "actor.user.name",
    "actor.user.email_addr",
    "user.name",
    "user.email_addr",
];

/// The typed field for a query name, or `None` for a catch-all path.
pub(crate) fn typed(name: &str) -> Option<(&'static str, Kind)> {
    TYPED
        .iter()
        .find(|(q, _, _)| *q == name)
        .map(|(_, f, k)| (*f, *k))
}

/// The schema and its field handles.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let num = || {
        NumericOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored()
    };
    let keyword = || {
        TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(KEYWORD_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            )
            .set_fast("raw")
            .set_stored()
    };
    let ip = || {
        IpAddrOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored()
    };
    let fields = Fields {
        time: b.add_i64_field("time", num()),
        ledger_index: b.add_u64_field("ledger_index", num()),
        source: b.add_text_field("source", keyword()),
        class_uid: b.add_u64_field("class_uid", num()),
        class_name: b.add_text_field("class_name", keyword()),
        activity_id: b.add_u64_field("activity_id", num()),
        activity_name: b.add_text_field("activity_name", keyword()),
        type_uid: b.add_u64_field("type_uid", num()),
        status_id: b.add_u64_field("status_id", num()),
        status: b.add_text_field("status", keyword()),
        severity_id: b.add_u64_field("severity_id", num()),
        severity: b.add_text_field("severity", keyword()),
        user: b.add_text_field("user", keyword()),
        src_ip: b.add_ip_addr_field("src_ip", ip()),
        dst_ip: b.add_ip_addr_field("dst_ip", ip()),
        src_port: b.add_u64_field("src_port", INDEXED | FAST),
        dst_port: b.add_u64_field("dst_port", INDEXED | FAST),
        raw: b.add_text_field(
            "raw",
            TextOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(TEXT_TOKENIZER)
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_stored(),
        ),
        event: b.add_json_field("event", JsonObjectOptions::from(STORED)),
        attrs: b.add_json_field(
            "attrs",
            JsonObjectOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(KEYWORD_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
    };
    (b.build(), fields)
}

/// Registers Evident's tokenizers (they are not persisted with the index).
pub(crate) fn register_tokenizers(manager: &TokenizerManager) {
    manager.register(TEXT_TOKENIZER, text_analyzer());
    manager.register(
        KEYWORD_TOKENIZER,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
}

/// The full-text analyzer, also used to cut query words the way documents were cut.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RecordTokenizer)
        .filter(RemoveLongFilter::limit(100))
        .filter(LowerCaser)
        .build()
}

/// The attributes left out of the stored `event`: `raw_data` is its own field and
/// `unmapped` repeats the raw record.
const NOT_STORED: &[&str] = &["raw_data", "unmapped"];

/// The document for one event of ledger entry `ledger_index` from `source`.
pub(crate) fn document(
    f: &Fields,
    ledger_index: u64,
    source: &str,
    event: &Event,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    let u = |path: &str| event.get(path).and_then(Value::as_u64);
    let s = |path: &str| event.get_str(path);
    doc.add_i64(f.time, event.time_ms().unwrap_or(0));
    doc.add_u64(f.ledger_index, ledger_index);
    doc.add_text(f.source, source);
    for (field, path) in [
        (f.class_uid, "class_uid"),
        (f.activity_id, "activity_id"),
        (f.type_uid, "type_uid"),
        (f.status_id, "status_id"),
        (f.severity_id, "severity_id"),
        (f.src_port, "src_endpoint.port"),
        (f.dst_port, "dst_endpoint.port"),
    ] {
        if let Some(v) = u(path) {
            doc.add_u64(field, v);
        }
    }
    for (field, path) in [
        (f.class_name, "class_name"),
        (f.activity_name, "activity_name"),
        (f.status, "status"),
        (f.severity, "severity"),
    ] {
        if let Some(v) = s(path) {
            doc.add_text(field, v);
        }
    }
    let mut users: Vec<&str> = USER_PATHS.iter().filter_map(|p| s(p)).collect();
    users.sort_unstable();
    users.dedup();
    for user in users {
        doc.add_text(f.user, user);
    }
    for (field, path) in [(f.src_ip, "src_endpoint.ip"), (f.dst_ip, "dst_endpoint.ip")] {
        if let Some(ip) = s(path).and_then(parse_ip) {
            doc.add_ip_addr(field, ip);
        }
    }
    if let Some(raw) = s("raw_data") {
        doc.add_text(f.raw, raw);
    }
    let map = event.to_json_with(|k| !NOT_STORED.contains(&k));
    doc.add_field_value(f.event, &object(&map, &|_| true, &|_| true));
    doc.add_field_value(f.attrs, &object(&map, &searchable, &searchable));
    doc
}

/// Whether a leaf named `key` goes into the catch-all index. Unique ids (`uid`,
/// `*_uid`, `uuid`) and times (`time`, `*_time`, `*_dt`) are left out: nearly every
/// event has new ones, and each new value is a term the index must build (indexing 200k
/// events took 1.7× as long with them). They stay findable: the full text of the raw
/// record holds them, `time` is a typed field, and the stored event shows them.
pub(crate) fn searchable(key: &str) -> bool {
    !(key == "uid"
        || key == "uuid"
        || key.ends_with("_uid")
        || key == "time"
        || key.ends_with("_time")
        || key.ends_with("_dt"))
}

/// The event's top-level object as tantivy's JSON value in one pass (no intermediate
/// JSON copy): top-level keys kept by `top`, nested keys by `nested`.
fn object(
    map: &Map<String, Value>,
    top: &dyn Fn(&str) -> bool,
    nested: &dyn Fn(&str) -> bool,
) -> OwnedValue {
    OwnedValue::Object(
        map.iter()
            .filter(|(k, _)| top(k))
            .map(|(k, v)| (k.clone(), owned(v, nested)))
            .collect(),
    )
}

fn owned(v: &Value, keep: &dyn Fn(&str) -> bool) -> OwnedValue {
    match v {
        Value::Null => OwnedValue::Null,
        Value::Bool(b) => OwnedValue::Bool(*b),
        // As tantivy converts JSON: i64 first, so `field:3` finds what it always found.
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => OwnedValue::I64(i),
            (None, Some(u), _) => OwnedValue::U64(u),
            (None, None, Some(f)) => OwnedValue::F64(f),
            (None, None, None) => OwnedValue::Null,
        },
        Value::String(s) => OwnedValue::Str(s.clone()),
        Value::Array(items) => OwnedValue::Array(items.iter().map(|i| owned(i, keep)).collect()),
        Value::Object(m) => OwnedValue::Object(
            m.iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), owned(v, keep)))
                .collect(),
        ),
    }
}

/// An address as tantivy stores it (IPv4 mapped into IPv6).
pub(crate) fn parse_ip(text: &str) -> Option<Ipv6Addr> {
    text.trim().parse::<IpAddr>().ok().map(to_v6)
}

/// IPv4 addresses are stored IPv4-mapped.
pub(crate) fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// How an address is shown: IPv4-mapped addresses as IPv4.
pub(crate) fn show_ip(ip: Ipv6Addr) -> String {
    match ip.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => ip.to_string(),
    }
}

/// Cuts text into words of letters and digits. When the text is a JSON object (a raw
/// record from most sources) the object keys are skipped: they repeat in every record of
/// a source, so as search terms they match everything, and they were a third of the words
/// the index had to write. Their values are found through the catch-all field instead
/// (`actor.user.name:alice`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RecordTokenizer;

/// The words [`RecordTokenizer`] found in one text.
pub(crate) struct RecordTokenStream<'a> {
    text: &'a str,
    spans: std::vec::IntoIter<(usize, usize)>,
    token: Token,
}

impl Tokenizer for RecordTokenizer {
    type TokenStream<'a> = RecordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> RecordTokenStream<'a> {
        RecordTokenStream {
            text,
            spans: word_spans(text).into_iter(),
            token: Token::default(),
        }
    }
}

impl TokenStream for RecordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some((from, to)) = self.spans.next() else {
            return false;
        };
        self.token.text.clear();
        self.token.text.push_str(&self.text[from..to]);
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.token.position.wrapping_add(1);
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Byte spans of the words of `text`, JSON object keys left out.
pub(crate) fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if !text.trim_start().starts_with('{') {
        words(text, 0, text.len(), &mut out);
        return out;
    }
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let Some(quote) = bytes[at..].iter().position(|&b| b == b'"').map(|q| at + q) else {
            words(text, at, text.len(), &mut out);
            break;
        };
        words(text, at, quote, &mut out);
        // The string's closing quote (skipping escaped characters).
        let mut end = quote + 1;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(bytes.len());
        let after = bytes[(end + 1).min(bytes.len())..]
            .iter()
            .find(|b| !b.is_ascii_whitespace());
        if after != Some(&b':') {
            words(text, quote + 1, end, &mut out);
        }
        at = end + 1;
    }
    out
}

/// Appends the spans of the runs of letters and digits in `text[from..to]`.
fn words(text: &str, from: usize, to: usize, out: &mut Vec<(usize, usize)>) {
    let Some(part) = text.get(from..to) else {
        return;
    };
    let mut start = None;
    for (i, c) in part.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((from + s, from + i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((from + s, to));
    }
}

#[cfg(test)]
mod tests {
    use super::word_spans;

    fn words(text: &str) -> Vec<&str> {
        word_spans(text)
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect()
    }

    #[test]
    fn json_keys_are_not_words() {
        assert_eq!(
            words(r#"{"displayName": "User 12", "n":64496, "a\"b":"x\"y", "t":[ "é1" ]}"#),
            vec!["User", "12", "64496", "x", "y", "é1"]
        );
    }

    #[test]
    fn other_text_is_cut_at_non_alphanumerics() {
        assert_eq!(
            words("Failed password for bob from 10.0.0.5"),
            vec![
                "Failed", "password", "for", "bob", "from", "10", "0", "0", "5"
            ]
        );
        assert_eq!(words(r#"{"unterminated"#), vec!["unterminated"]);
    }
}
