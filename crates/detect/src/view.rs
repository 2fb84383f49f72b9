//! How Sigma rules see a normalized event: by dotted path over its flat attributes
//! (`evident_model::Event`), without building the nested OCSF JSON. Building that tree for
//! every event, walking it and freeing it was most of detection's time (issue 5). Windows
//! events are seen the same way: in place, as the document Windows rules expect.

use std::borrow::Cow;
use std::cell::OnceCell;

use evident_model::{Event, TopLevelKey};
use rsigma_eval::EventValue;
use rsigma_eval::event::JsonEvent;
use serde_json::{Map, Value};

use crate::logsource::{WINLOG_RENAMED, windows_document, windows_event_id};

/// Nesting depth string walks stop at, as rsigma's own JSON event does.
const MAX_DEPTH: usize = 64;

/// A normalized event as an `rsigma_eval::Event`.
pub(crate) struct OcsfView<'e> {
    event: &'e Event,
    /// [`OcsfView::tops`], worked out once: rsigma asks for them at every evaluation.
    tops: OnceCell<Vec<&'e str>>,
    /// The only top-level keys the rules can probe ([`OcsfView::probing`]).
    roots: Option<&'e [TopLevelKey]>,
}

impl<'e> OcsfView<'e> {
    /// Views `event`.
    pub(crate) fn new(event: &'e Event) -> OcsfView<'e> {
        OcsfView {
            event,
            tops: OnceCell::new(),
            roots: None,
        }
    }

    /// Views `event` for rules that can probe only `roots` (every top-level key rsigma's
    /// index could look up): the same answers, but its top-level keys are those of
    /// `roots` it has. Listing all 30-odd keys of an event and looking each up in the
    /// index (most find no rule field under them) was a fifth of detection; asking the
    /// event for the dozen keys the rules use is a walk of one short bucket each.
    pub(crate) fn probing(event: &'e Event, roots: &'e [TopLevelKey]) -> OcsfView<'e> {
        OcsfView {
            roots: Some(roots),
            ..OcsfView::new(event)
        }
    }

    /// Calls `visit` with each top-level key rsigma is told of: those of `roots` the event
    /// has, or all.
    fn for_each_key(&self, mut visit: impl FnMut(&'e str)) {
        match self.roots {
            Some(roots) => roots
                .iter()
                .filter(|root| self.event.has_top_level_key(root))
                .for_each(|root| visit(root.as_str())),
            None => self.tops().iter().for_each(|top| visit(top)),
        }
    }

    /// The values `unmapped` and the attributes hold, for keyword matching.
    fn values(&self) -> impl Iterator<Item = &Value> {
        let record = self.event.unmapped_record();
        self.event.attributes().map(|(_, v)| v).chain(record)
    }

    /// Top-level keys, each once (`unmapped` when the record stands for it).
    fn tops(&self) -> &[&'e str] {
        let event: &'e Event = self.event;
        self.tops.get_or_init(|| event.top_level_keys())
    }
}

impl rsigma_eval::Event for OcsfView<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if path.bytes().any(|b| b == b'[' || b == b'\\') {
            // Indexes and escaped dots are rare in rules: read them from the JSON tree.
            let json = Value::Object(self.event.to_json());
            return JsonEvent::borrow(&json).get_field(path).map(|v| owned(&v));
        }
        if let Some((at, value)) = self.event.attribute_at(path) {
            return match path.get(at.len() + 1..) {
                Some(rest) if !rest.is_empty() => collected(value, rest),
                _ => Some(EventValue::from(value)),
            };
        }
        if let Some(record) = self.event.unmapped_record() {
            if path == "unmapped" {
                return Some(EventValue::from(record));
            }
            if let Some(rest) = path.strip_prefix("unmapped.") {
                return collected(record, rest);
            }
        }
        // An object path (`actor.user`) with attributes below it.
        self.event
            .assembled(path)
            .map(|v| owned(&EventValue::from(&v)))
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.values().any(|v| any_string(v, pred, MAX_DEPTH))
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        all_strings(self.values())
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.values()
            .for_each(|v| visit_strings(v, visit, MAX_DEPTH));
    }

    fn to_json(&self) -> Value {
        Value::Object(self.event.to_json())
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        let mut keys = Vec::new();
        self.for_each_key(|key| keys.push(Cow::Borrowed(key)));
        Some(keys)
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.for_each_key(visit);
        true
    }
}

/// A Windows Security event as Sigma's Windows rules see it, answering exactly as the
/// document [`windows_document`] builds (`EventID`, the renamed `winlog` fields and the
/// `EventData` fields at the top level, then the rest of the record) but read in place:
/// copying all of that for every event was 5 % of detection.
pub(crate) struct WindowsView<'e> {
    event: &'e Event,
    /// `winlog`, when the record has it as an object.
    winlog: Option<&'e Map<String, Value>>,
    /// `winlog.event_data`.
    data: Option<&'e Map<String, Value>>,
    /// The record (the event's `unmapped`).
    record: &'e Map<String, Value>,
    /// `EventID` as the document has it ([`windows_event_id`]).
    event_id: Option<Value>,
    /// The document's other top-level fields, each once, with the value that wins.
    fields: Vec<(&'e str, &'e Value)>,
}

impl<'e> WindowsView<'e> {
    /// Views `event`; `None` when its `unmapped` is not one object (then build the
    /// document).
    pub(crate) fn new(event: &'e Event) -> Option<WindowsView<'e>> {
        let Some(Value::Object(record)) = event.get("unmapped") else {
            return None;
        };
        let winlog = record.get("winlog").and_then(Value::as_object);
        let data = winlog
            .and_then(|w| w.get("event_data"))
            .and_then(Value::as_object);
        let mut view = WindowsView {
            event,
            winlog,
            data,
            record,
            event_id: None,
            fields: Vec::new(),
        };
        view.event_id = windows_event_id(view.recorded("EventID"), event);
        // Each key once, with the value that wins: renamed, then `EventData`, then record.
        let renamed: Vec<(&'e str, &'e Value)> = winlog
            .into_iter()
            .flat_map(|w| {
                WINLOG_RENAMED
                    .iter()
                    .filter_map(move |(from, to)| Some((*to, w.get(*from)?)))
            })
            .collect();
        let shadowed_by_renamed =
            |key: &str| key == "EventID" || renamed.iter().any(|(k, _)| *k == key);
        let data_fields = data
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v))
            .filter(|(k, _)| !shadowed_by_renamed(k));
        let record_fields = record
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .filter(|(k, _)| !shadowed_by_renamed(k) && !data.is_some_and(|d| d.contains_key(*k)));
        let mut fields =
            Vec::with_capacity(renamed.len() + data.map_or(0, Map::len) + record.len());
        fields.extend(renamed.iter().copied().filter(|(k, _)| *k != "EventID"));
        fields.extend(data_fields);
        fields.extend(record_fields);
        view.fields = fields;
        Some(view)
    }

    /// The document's top-level `key` before `EventID` is made a number: a renamed
    /// `winlog` field, else an `EventData` field, else the record's own.
    fn recorded(&self, key: &str) -> Option<&'e Value> {
        if let Some(winlog) = self.winlog {
            let renamed = WINLOG_RENAMED.iter().find(|(_, to)| *to == key);
            if let Some(v) = renamed.and_then(|(from, _)| winlog.get(*from)) {
                return Some(v);
            }
            if let Some(v) = self.data.and_then(|d| d.get(key)) {
                return Some(v);
            }
        }
        self.record.get(key)
    }

    /// The document's top-level `key`.
    fn top(&self, key: &str) -> Option<&Value> {
        if key == "EventID" {
            return self.event_id.as_ref();
        }
        self.recorded(key)
    }

    fn values(&self) -> impl Iterator<Item = &Value> {
        self.event_id
            .iter()
            .chain(self.fields.iter().map(|(_, v)| *v))
    }
}

impl rsigma_eval::Event for WindowsView<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(v) = self.top(path) {
            return Some(EventValue::from(v));
        }
        if let Some(found) = plain_path(path, |key| self.top(key)) {
            return found;
        }
        // Indexes, escapes and empty segments are rare in rules: read them from the
        // document itself.
        let doc = windows_document(self.event);
        JsonEvent::borrow(&doc).get_field(path).map(|v| owned(&v))
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.values().any(|v| any_string(v, pred, MAX_DEPTH))
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        all_strings(self.values())
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.values()
            .for_each(|v| visit_strings(v, visit, MAX_DEPTH));
    }

    fn to_json(&self) -> Value {
        windows_document(self.event)
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        let event_id = self.event_id.as_ref().map(|_| "EventID");
        let keys = event_id
            .into_iter()
            .chain(self.fields.iter().map(|(k, _)| *k));
        Some(keys.map(Cow::Borrowed).collect())
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        if self.event_id.is_some() {
            visit("EventID");
        }
        for (key, _) in &self.fields {
            visit(key);
        }
        true
    }
}

/// A vendor record as rsigma's JSON event over it sees it, but with plain dotted paths
/// read straight from the record: the JSON event parses every path into steps (a
/// vector of owned strings) before it looks, and vendor rules look up a dozen per event.
pub(crate) struct RecordView<'e> {
    record: &'e Value,
    json: JsonEvent<'e>,
    /// Whether a top-level key has a dot in it (vendor records rarely do): only then can
    /// a dotted path name a key of its own, worth a lookup before walking the path.
    dotted_keys: OnceCell<bool>,
}

impl<'e> RecordView<'e> {
    /// Views `record`.
    pub(crate) fn new(record: &'e Value) -> RecordView<'e> {
        RecordView {
            record,
            json: JsonEvent::borrow(record),
            dotted_keys: OnceCell::new(),
        }
    }
}

impl rsigma_eval::Event for RecordView<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Value::Object(map) = self.record {
            let flat_key_possible = || {
                !path.contains('.')
                    || *self
                        .dotted_keys
                        .get_or_init(|| map.keys().any(|k| k.contains('.')))
            };
            if flat_key_possible()
                && let Some(v) = map.get(path)
            {
                return Some(EventValue::from(v));
            }
            if let Some(found) = plain_path(path, |key| map.get(key)) {
                return found;
            }
        }
        self.json.get_field(path)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.json.any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.json.all_string_values()
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.json.visit_string_values(visit);
    }

    fn to_json(&self) -> Value {
        self.record.clone()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        self.json.top_level_keys()
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.json.visit_top_level_keys(visit)
    }
}

/// `path` read through a document's top-level fields (`top`), for a path whose whole
/// (flat) key the caller already looked up: `Some(None)` when a plain path (dotted
/// segments, none empty, no index or escape) is not there, `None` when the path is not
/// plain and must be read the long way.
fn plain_path<'v>(
    path: &str,
    top: impl Fn(&str) -> Option<&'v Value>,
) -> Option<Option<EventValue<'v>>> {
    let plain = |s: &str| !s.is_empty() && !s.contains(['[', '\\']);
    match path.split_once('.') {
        None if plain(path) => Some(None),
        Some((root, rest)) if plain(root) && rest.split('.').all(plain) => {
            Some(top(root).and_then(|v| collected(v, rest)))
        }
        _ => None,
    }
}

/// The values at dotted `path` inside `v`, through arrays on the way (each member), as
/// rsigma's JSON event collects them: none, one, or an array of all.
fn collected<'v>(v: &'v Value, path: &str) -> Option<EventValue<'v>> {
    // Most paths meet no array: walk those without collecting.
    let (mut at, mut rest) = (v, path);
    while !rest.is_empty() {
        match at {
            Value::Object(map) => {
                let (key, tail) = rest.split_once('.').unwrap_or((rest, ""));
                at = map.get(key)?;
                rest = tail;
            }
            Value::Array(_) => break,
            _ => return None,
        }
    }
    if rest.is_empty() {
        return Some(EventValue::from(at));
    }
    let mut out = Vec::new();
    collect(at, rest, &mut out);
    match out.len() {
        0 => None,
        1 => out.pop(),
        _ => Some(EventValue::Array(out)),
    }
}

fn collect<'v>(v: &'v Value, path: &str, out: &mut Vec<EventValue<'v>>) {
    if path.is_empty() {
        out.push(EventValue::from(v));
        return;
    }
    let (key, rest) = path.split_once('.').unwrap_or((path, ""));
    match v {
        Value::Object(map) => {
            if let Some(next) = map.get(key) {
                collect(next, rest, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, path, out);
            }
        }
        _ => {}
    }
}

/// A value that outlives the temporary it was read from.
fn owned(v: &EventValue<'_>) -> EventValue<'static> {
    match v {
        EventValue::Str(s) => EventValue::Str(Cow::Owned(s.to_string())),
        EventValue::Int(n) => EventValue::Int(*n),
        EventValue::Float(f) => EventValue::Float(*f),
        EventValue::Bool(b) => EventValue::Bool(*b),
        EventValue::Null => EventValue::Null,
        EventValue::Array(items) => EventValue::Array(items.iter().map(owned).collect()),
        EventValue::Map(entries) => EventValue::Map(
            entries
                .iter()
                .map(|(k, v)| (Cow::Owned(k.to_string()), owned(v)))
                .collect(),
        ),
    }
}

/// Every string in `values`, for keyword matching.
fn all_strings<'v>(values: impl Iterator<Item = &'v Value>) -> Vec<Cow<'v, str>> {
    let mut out = Vec::new();
    for v in values {
        visit_strings(v, &mut |s| out.push(Cow::Borrowed(s)), MAX_DEPTH);
    }
    out
}

fn any_string(v: &Value, pred: &dyn Fn(&str) -> bool, depth: usize) -> bool {
    if depth == 0 {
        return false;
    }
    match v {
        Value::String(s) => pred(s),
        Value::Object(map) => map.values().any(|v| any_string(v, pred, depth - 1)),
        Value::Array(items) => items.iter().any(|v| any_string(v, pred, depth - 1)),
        _ => false,
    }
}

fn visit_strings<'v>(v: &'v Value, visit: &mut dyn FnMut(&'v str), depth: usize) {
    if depth == 0 {
        return;
    }
    match v {
        Value::String(s) => visit(s),
        Value::Object(map) => map
            .values()
            .for_each(|v| visit_strings(v, visit, depth - 1)),
        Value::Array(items) => items
            .iter()
            .for_each(|v| visit_strings(v, visit, depth - 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evident_model::Class;
    use rsigma_eval::Event as _;
    use serde_json::json;

    /// Every dotted path to an object member in `v`, below `prefix`.
    fn paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = v {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                paths(v, &path, out);
            }
        }
    }

    /// `view` reads every path of `doc` and every one of `extra` as rsigma's JSON event
    /// over `doc` does.
    fn assert_same_answers(
        view: &dyn rsigma_eval::Event,
        doc: &Value,
        extra: &[&str],
        record: usize,
    ) {
        let json = JsonEvent::borrow(doc);
        let mut probes = Vec::new();
        paths(doc, "", &mut probes);
        probes.extend(extra.iter().map(|p| p.to_string()));
        for path in &probes {
            assert_eq!(
                view.get_field(path).map(|v| owned(&v)),
                json.get_field(path).map(|v| owned(&v)),
                "record {record}: {path}"
            );
        }
    }

    /// The Windows view answers every path, key listing and string search exactly as
    /// rsigma's JSON event over the document `windows_document` builds, whichever layer
    /// (renamed `winlog` field, `EventData`, record) a field comes from or is shadowed in.
    #[test]
    fn the_windows_view_answers_as_the_built_document_does() {
        let records = [
            json!({
                "winlog": {"event_id": "4728", "channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing",
                    "computer_name": "DC1", "record_id": 12,
                    "event_data": {"TargetUserName": "Domain Admins", "SubjectUserName": "alice",
                        "EventID": "999", "Channel": "shadowed", "Members": ["a", "b"]}},
                "message": "A member was added", "EventID": 1, "TargetUserName": "shadowed too",
                "host": {"name": "dc1", "ip": ["10.0.0.1", "10.0.0.2"]},
                "tags": [{"k": "a"}, {"k": "b"}]
            }),
            json!({"EventID": "4625", "IpAddress": "203.0.113.9", "Status": {"code": "0xc000006d"}}),
            json!({"IpAddress": "203.0.113.9"}),
            json!({"winlog": {"channel": "Security", "event_data": {"EventID": "4624", "LogonType": 3}}}),
            json!({"winlog": {"event_id": "not a number", "event_data": "not an object"}, "x": 1}),
        ];
        for (i, record) in records.iter().enumerate() {
            let mut e = Event::new(Class::Authentication, 1, 1_764_150_000_000);
            e.set("metadata.event_code", "1102")
                .set("unmapped", record.clone());
            let doc = windows_document(&e);
            let json = JsonEvent::borrow(&doc);
            let view = WindowsView::new(&e).unwrap();
            let extra = [
                "EventID",
                "missing",
                "missing.x",
                "host.ip[0]",
                "host.ip[-1]",
                "tags.k",
                "tags[1].k",
                "winlog.event_data.TargetUserName",
                "host..name",
                ".host",
                "host.",
                "Status\\.code",
            ];
            assert_same_answers(&view, &doc, &extra, i);
            let sorted = |mut v: Vec<Cow<'_, str>>| {
                v.sort();
                v.into_iter().map(|c| c.into_owned()).collect::<Vec<_>>()
            };
            assert_eq!(
                sorted(view.top_level_keys().unwrap()),
                sorted(json.top_level_keys().unwrap()),
                "record {i}"
            );
            assert_eq!(
                sorted(view.all_string_values()),
                sorted(json.all_string_values()),
                "record {i}"
            );
            assert!(
                view.any_string_value(&|s| s == "203.0.113.9")
                    == json.any_string_value(&|s| s == "203.0.113.9")
            );
        }
    }

    /// The record view answers every path exactly as rsigma's JSON event over the same
    /// record: flat dotted keys before nested ones, arrays on the way (nested too),
    /// scalars in the way, indexes, escapes, empty segments and non-object records.
    #[test]
    fn the_record_view_answers_as_the_json_event_does() {
        let records = [
            json!({
                "eventName": "PutBucketPolicy",
                "userIdentity": {"type": "Root", "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
                "requestParameters": {"bucketName": "logs", "tags": [{"k": "a"}, {"k": "b", "v": [{"x": 1}, {"x": 2}]}]},
                "a.b": "flat", "a": {"b": "nested", "c": [[{"d": 1}], {"d": 2}]},
                "n": 5, "list": ["p", "q"], "empty": {}, "nil": null
            }),
            // No dotted key: dotted paths skip the flat lookup.
            json!({"a": {"b": "nested", "c": [{"d": 1}, {"d": 2}]}, "list": ["p"]}),
            json!([{"eventName": "x"}]),
            json!("a string"),
        ];
        for (i, record) in records.iter().enumerate() {
            let json = JsonEvent::borrow(record);
            let view = RecordView::new(record);
            let extra = [
                "a.b",
                "a.c.d",
                "requestParameters.tags.k",
                "requestParameters.tags.v.x",
                "requestParameters.tags[1].k",
                "n.x",
                "list.x",
                "nil.x",
                "missing",
                "missing.x",
                "a..b",
                ".a",
                "a.",
                "a\\.b",
                "list[0]",
                "[0]",
                "eventName",
            ];
            assert_same_answers(&view, record, &extra, i);
            assert_eq!(view.top_level_keys(), json.top_level_keys(), "record {i}");
            assert_eq!(view.all_string_values(), json.all_string_values());
            assert_eq!(view.to_json(), *record);
        }
    }

    /// Every path reads the same through the view as through rsigma's JSON event over the
    /// event's JSON tree.
    #[test]
    fn the_view_answers_as_the_json_tree_does() {
        let mut e = Event::new(Class::ApiActivity, 3, 1_764_150_000_000);
        e.set("actor.user.name", "alice")
            .set("actor.user.uid", "u-1")
            .set("src_endpoint.ip", "10.0.0.1")
            .set(
                "resources",
                json!([{"uid": "arn:1", "type": "AWS::S3::Bucket"}, {"uid": "arn:2"}]),
            )
            .set("api", json!({"operation": "PutBucketPolicy"}))
            .set("api.service.name", "s3.amazonaws.com")
            .set("raw_data", r#"{"eventName":"PutBucketPolicy","requestParameters":{"bucketName":"logs","tags":[{"k":"a"},{"k":"b"}]}}"#);
        e.set_unmapped_record();
        e.set("unmapped.evident_parse", "time_not_parsed");
        let tree = Value::Object(e.to_json());
        let json = JsonEvent::borrow(&tree);
        let view = OcsfView::new(&e);
        for path in [
            "class_uid",
            "actor.user.name",
            "actor.user",
            "actor",
            "resources.uid",
            "resources.type",
            "resources",
            "api.operation",
            "api.service.name",
            "unmapped.eventName",
            "unmapped.requestParameters.bucketName",
            "unmapped.requestParameters.tags.k",
            "unmapped.evident_parse",
            "resources[1].uid",
            "missing",
            "actor.user.missing",
            "unmapped.missing",
        ] {
            assert_eq!(
                view.get_field(path).map(|v| owned(&v)),
                json.get_field(path).map(|v| owned(&v)),
                "{path}"
            );
        }
        let mut from_view = view.all_string_values();
        let mut from_json = json.all_string_values();
        from_view.sort();
        from_json.sort();
        assert_eq!(from_view, from_json);
        assert!(view.any_string_value(&|s| s == "logs"));
        assert!(!view.any_string_value(&|s| s == "nowhere"));
        let mut tops = view.top_level_keys().unwrap();
        let mut want = json.top_level_keys().unwrap();
        tops.sort();
        want.sort();
        assert_eq!(tops, want);
    }
}
