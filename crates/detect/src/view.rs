//! How Sigma rules see a normalized event: by dotted path over its flat attributes
//! (`evident_model::Event`), without building the nested OCSF JSON. Building that tree for
//! every event, walking it and freeing it was most of detection's time (issue 5).

use std::borrow::Cow;
use std::cell::OnceCell;

use evident_model::Event;
use rsigma_eval::EventValue;
use rsigma_eval::event::JsonEvent;
use serde_json::Value;

/// Nesting depth string walks stop at, as rsigma's own JSON event does.
const MAX_DEPTH: usize = 64;

/// A normalized event as an `rsigma_eval::Event`.
pub(crate) struct OcsfView<'e> {
    event: &'e Event,
    /// [`OcsfView::tops`], worked out once: rsigma asks for them at every evaluation.
    tops: OnceCell<Vec<&'e str>>,
}

impl<'e> OcsfView<'e> {
    /// Views `event`.
    pub(crate) fn new(event: &'e Event) -> OcsfView<'e> {
        OcsfView {
            event,
            tops: OnceCell::new(),
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
        let mut out = Vec::new();
        for v in self.values() {
            visit_strings(v, &mut |s| out.push(Cow::Borrowed(s)), MAX_DEPTH);
        }
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        for v in self.values() {
            visit_strings(v, visit, MAX_DEPTH);
        }
    }

    fn to_json(&self) -> Value {
        Value::Object(self.event.to_json())
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        Some(self.tops().iter().map(|t| Cow::Borrowed(*t)).collect())
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        for top in self.tops().iter().copied() {
            visit(top);
        }
        true
    }
}

/// The values at dotted `path` inside `v`, through arrays on the way (each member), as
/// rsigma's JSON event collects them: none, one, or an array of all.
fn collected<'v>(v: &'v Value, path: &str) -> Option<EventValue<'v>> {
    let mut out = Vec::new();
    collect(v, path, &mut out);
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
