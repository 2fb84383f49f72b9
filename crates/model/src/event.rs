//! The normalized event: an OCSF 1.8 object. It is a JSON object underneath, because OCSF
//! is a JSON schema with hundreds of optional attributes and rules address them by dotted
//! path (`actor.user.name`); the constructor fixes the attributes every event must have.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// OCSF schema version every event declares in `metadata.version`.
pub const OCSF_VERSION: &str = "1.8.0";

macro_rules! classes {
    ($($variant:ident = $uid:literal, $name:literal, $cat:literal, $cat_name:literal,
        [$($aid:literal => $aname:literal),* $(,)?];)*) => {
        /// The OCSF classes Evident produces.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Class {
            $(#[doc = $name] $variant,)*
        }

        impl Class {
            /// Every class.
            pub const ALL: &'static [Class] = &[$(Class::$variant,)*];

            /// `class_uid`.
            pub fn uid(self) -> u32 {
                match self { $(Class::$variant => $uid,)* }
            }

            /// `class_name`.
            pub fn name(self) -> &'static str {
                match self { $(Class::$variant => $name,)* }
            }

            /// `category_uid`.
            pub fn category_uid(self) -> u32 {
                match self { $(Class::$variant => $cat,)* }
            }

            /// `category_name`.
            pub fn category_name(self) -> &'static str {
                match self { $(Class::$variant => $cat_name,)* }
            }

            /// `activity_name` for an `activity_id` of this class (0 Unknown, 99 Other).
            pub fn activity_name(self, activity_id: u8) -> Option<&'static str> {
                match (self, activity_id) {
                    (_, 0) => Some("Unknown"),
                    (_, 99) => Some("Other"),
                    $($((Class::$variant, $aid) => Some($aname),)*)*
                    _ => None,
                }
            }

            /// The class with this `class_uid`.
            pub fn from_uid(uid: u64) -> Option<Class> {
                match uid { $($uid => Some(Class::$variant),)* _ => None }
            }
        }
    };
}

classes! {
    BaseEvent = 0, "Base Event", 0, "Uncategorized", [];
    ProcessActivity = 1007, "Process Activity", 1, "System Activity",
        [1 => "Launch", 2 => "Terminate", 3 => "Open", 4 => "Inject", 5 => "Set User ID"];
    EventLogActivity = 1008, "Event Log Activity", 1, "System Activity",
        [1 => "Clear", 2 => "Delete", 3 => "Export", 4 => "Archive", 5 => "Rotate", 6 => "Start",
         7 => "Stop", 8 => "Restart", 9 => "Enable", 10 => "Disable"];
    VulnerabilityFinding = 2002, "Vulnerability Finding", 2, "Findings",
        [1 => "Create", 2 => "Update", 3 => "Close"];
    DetectionFinding = 2004, "Detection Finding", 2, "Findings",
        [1 => "Create", 2 => "Update", 3 => "Close"];
    AccountChange = 3001, "Account Change", 3, "Identity & Access Management",
        [1 => "Create", 2 => "Enable", 3 => "Password Change", 4 => "Password Reset",
         5 => "Disable", 6 => "Delete", 7 => "Attach Policy", 8 => "Detach Policy", 9 => "Lock",
         10 => "MFA Factor Enable", 11 => "MFA Factor Disable", 12 => "Unlock"];
    Authentication = 3002, "Authentication", 3, "Identity & Access Management",
        [1 => "Logon", 2 => "Logoff", 3 => "Authentication Ticket", 4 => "Service Ticket Request",
         5 => "Service Ticket Renew", 6 => "Preauth"];
    GroupManagement = 3006, "Group Management", 3, "Identity & Access Management",
        [1 => "Assign Privileges", 2 => "Revoke Privileges", 3 => "Add User", 4 => "Remove User",
         5 => "Delete", 6 => "Create"];
    NetworkActivity = 4001, "Network Activity", 4, "Network Activity",
        [1 => "Open", 2 => "Close", 3 => "Reset", 4 => "Fail", 5 => "Refuse", 6 => "Traffic",
         7 => "Listen"];
    HttpActivity = 4002, "HTTP Activity", 4, "Network Activity",
        [1 => "Connect", 2 => "Delete", 3 => "Get", 4 => "Head", 5 => "Options", 6 => "Post",
         7 => "Put", 8 => "Trace", 9 => "Patch"];
    ApiActivity = 6003, "API Activity", 6, "Application Activity",
        [1 => "Create", 2 => "Read", 3 => "Update", 4 => "Delete"];
    DatastoreActivity = 6005, "Datastore Activity", 6, "Application Activity",
        [1 => "Read", 2 => "Update", 3 => "Connect", 4 => "Query", 5 => "Write", 6 => "Create",
         7 => "Delete", 8 => "List", 9 => "Encrypt", 10 => "Decrypt"];
}

/// OCSF `severity_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// 0
    Unknown = 0,
    /// 1
    Informational = 1,
    /// 2
    Low = 2,
    /// 3
    Medium = 3,
    /// 4
    High = 4,
    /// 5
    Critical = 5,
    /// 6
    Fatal = 6,
    /// 99
    Other = 99,
}

impl Severity {
    /// OCSF `severity` caption.
    pub fn caption(self) -> &'static str {
        match self {
            Severity::Unknown => "Unknown",
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
            Severity::Fatal => "Fatal",
            Severity::Other => "Other",
        }
    }
}

/// OCSF `status_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// 0
    Unknown = 0,
    /// 1
    Success = 1,
    /// 2
    Failure = 2,
    /// 99
    Other = 99,
}

impl Status {
    /// OCSF `status` caption.
    pub fn caption(self) -> &'static str {
        match self {
            Status::Unknown => "Unknown",
            Status::Success => "Success",
            Status::Failure => "Failure",
            Status::Other => "Other",
        }
    }
}

/// A normalized OCSF event. Build with [`Event::new`], fill with [`Event::set`] by dotted
/// path; serializes as the OCSF JSON object itself.
///
/// Attributes are kept flat, as `(dotted path, value)` pairs, and nested only when the event
/// is serialized or [`Event::to_json`] is asked for: building nested maps for every event
/// cost as much as parsing the vendor record (issue 3's `event_shapes` bench: 112k events/s
/// nested vs 160k–174k flat). No path is ever a dotted prefix of another (setting a path
/// under an object value writes into that object; setting an object path replaces what was
/// under it), so each leaf has exactly one place.
///
/// A parser whose `unmapped` is the vendor record itself says so with
/// [`Event::set_unmapped_record`] instead of storing a second copy of it: `unmapped` is then
/// read from `raw_data` when something asks for it.
#[derive(Debug)]
pub struct Event {
    attrs: Vec<Attr>,
    /// The first attribute (index + 1, 0 for none) of each bucket of top-level keys
    /// ([`bucket_of`]); each attribute links to the next of its bucket ([`Attr::next`]), in
    /// the order set. A lookup walks its own bucket, usually the handful of attributes
    /// under one key, instead of scanning all 30–45: rule engines look up a dozen paths
    /// per event, most of them misses, and that scan was the largest share of detection
    /// Evident itself spent (issue 5).
    heads: [u16; BUCKETS],
    /// More attributes than a bucket link can number (`u16::MAX`): lookups scan them all.
    unlinked: bool,
    unmapped_record: bool,
    record: OnceLock<Option<Value>>,
}

impl Default for Event {
    fn default() -> Event {
        Event {
            attrs: Vec::new(),
            heads: [0; BUCKETS],
            unlinked: false,
            unmapped_record: false,
            record: OnceLock::new(),
        }
    }
}

impl Clone for Event {
    /// A copy with the same room to grow as a new event: the detector enriches the events
    /// it is handed, and a derived clone (exactly as long as the original) reallocated
    /// and copied every attribute at the first one it added.
    fn clone(&self) -> Event {
        let mut attrs = Vec::with_capacity(self.attrs.len().max(ATTRIBUTES_RESERVED));
        attrs.extend(self.attrs.iter().cloned());
        Event {
            attrs,
            heads: self.heads,
            unlinked: self.unlinked,
            unmapped_record: self.unmapped_record,
            record: self.record.clone(),
        }
    }
}

impl Event {
    /// An event of `class` with `activity_id` at `time_ms` (ms since the epoch), with the
    /// derived attributes (`category_uid`, `type_uid` = class_uid·100 + activity_id, names,
    /// `metadata.version`) and severity Informational.
    pub fn new(class: Class, activity_id: u8, time_ms: i64) -> Event {
        let activity = class.activity_name(activity_id).unwrap_or("Other");
        // Parsed events carry 30-45 attributes once enriched: room for them up front saves
        // the two or three reallocations (each copying every attribute) growing from 16 took.
        let mut attrs = Vec::with_capacity(ATTRIBUTES_RESERVED);
        let mut push = |path: &'static str, value: Value| attrs.push(Attr::new(path.into(), value));
        push("class_uid", class.uid().into());
        push("class_name", class.name().into());
        push("category_uid", class.category_uid().into());
        push("category_name", class.category_name().into());
        push("activity_id", activity_id.into());
        push("activity_name", activity.into());
        push(
            "type_uid",
            (class.uid() as u64 * 100 + activity_id as u64).into(),
        );
        push("type_name", format!("{}: {activity}", class.name()).into());
        push("time", time_ms.into());
        push("severity_id", (Severity::Informational as u8).into());
        push("severity", Severity::Informational.caption().into());
        push("metadata.version", OCSF_VERSION.into());
        Event::with_attrs(attrs)
    }

    fn with_attrs(attrs: Vec<Attr>) -> Event {
        let mut event = Event {
            attrs,
            ..Event::default()
        };
        event.relink();
        event
    }

    /// The attributes whose [`top_key`] is `top`, in the order set.
    fn bucket(&self, top: u64) -> Bucket<'_> {
        let at = if self.unlinked {
            Link::Scan(0)
        } else {
            Link::Chain(self.heads[bucket_of(top)])
        };
        Bucket {
            attrs: &self.attrs,
            top,
            at,
        }
    }

    /// Adds `attr` at the end, linked at the end of its bucket.
    fn push(&mut self, mut attr: Attr) {
        attr.next = 0;
        let Ok(link) = u16::try_from(self.attrs.len() + 1) else {
            self.attrs.push(attr);
            self.unlinked = true;
            return;
        };
        let slot = bucket_of(attr.top);
        self.attrs.push(attr);
        if self.unlinked {
            return;
        }
        let mut last = self.heads[slot];
        if last == 0 {
            self.heads[slot] = link;
            return;
        }
        while let Some(a) = self.attrs.get(usize::from(last) - 1) {
            if a.next == 0 {
                break;
            }
            last = a.next;
        }
        if let Some(a) = self.attrs.get_mut(usize::from(last) - 1) {
            a.next = link;
        }
    }

    /// Links every attribute into its bucket again, after attributes were removed.
    fn relink(&mut self) {
        self.heads = [0; BUCKETS];
        self.unlinked = u16::try_from(self.attrs.len()).is_err();
        if self.unlinked {
            return;
        }
        let mut tails = [0u16; BUCKETS];
        for i in 0..self.attrs.len() {
            let link = (i + 1) as u16;
            let slot = bucket_of(self.attrs[i].top);
            self.attrs[i].next = 0;
            match tails[slot] {
                0 => self.heads[slot] = link,
                tail => self.attrs[usize::from(tail) - 1].next = link,
            }
            tails[slot] = link;
        }
    }

    /// The event's class, if it is one Evident knows.
    pub fn class(&self) -> Option<Class> {
        self.get("class_uid")
            .and_then(Value::as_u64)
            .and_then(Class::from_uid)
    }

    /// Event time, ms since the epoch.
    pub fn time_ms(&self) -> Option<i64> {
        self.get("time").and_then(Value::as_i64)
    }

    /// Sets `severity_id` and `severity`.
    pub fn set_severity(&mut self, s: Severity) -> &mut Event {
        self.set("severity_id", s as u8);
        self.set("severity", s.caption())
    }

    /// Sets `status_id` and `status`.
    pub fn set_status(&mut self, s: Status) -> &mut Event {
        self.set("status_id", s as u8);
        self.set("status", s.caption())
    }

    /// Sets the value at a dotted path (`actor.user.name`). Under an object value already set
    /// (`actor` set as a whole object) it writes into that object, creating objects on the way
    /// and replacing non-objects in the way; over attributes set below it (`actor` after
    /// `actor.user.name`) it replaces them all. A `null` value is not stored. Setting
    /// `unmapped` itself replaces the record [`Event::set_unmapped_record`] stood for.
    pub fn set(
        &mut self,
        path: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
    ) -> &mut Event {
        let value = value.into();
        if value.is_null() {
            return self;
        }
        let path = path.into();
        if path == "unmapped" {
            self.unmapped_record = false;
        }
        if path == "unmapped" || path == "raw_data" {
            self.record = OnceLock::new();
        }
        let top = top_key(&path);
        // The attribute at `path` or the one above it (with where its path ends), and
        // whether any lies below `path`.
        let mut hit = None;
        let mut below = false;
        for (i, attr) in self.bucket(top) {
            let existing = attr.path.as_ref();
            if existing == path {
                hit = Some((i, None));
                break;
            }
            if under(&path, existing).is_some() {
                hit = Some((i, Some(existing.len() + 1)));
                break;
            }
            below |= under(existing, &path).is_some();
        }
        match hit {
            Some((i, None)) => self.attrs[i].value = value,
            Some((i, Some(rest_at))) => {
                let attr = &mut self.attrs[i];
                if let Value::Object(map) = &mut attr.value {
                    set_in(map, &path[rest_at..], value);
                } else {
                    // Same top-level key: the attribute keeps its place in its bucket.
                    attr.path = path;
                    attr.value = value;
                }
            }
            None => {
                if below {
                    self.attrs.retain(|a| under(&a.path, &path).is_none());
                    self.relink();
                }
                self.push(Attr {
                    top,
                    next: 0,
                    path,
                    value,
                });
            }
        }
        self
    }

    /// Sets the value when there is one.
    pub fn set_opt<V: Into<Value>>(
        &mut self,
        path: impl Into<Cow<'static, str>>,
        value: Option<V>,
    ) -> &mut Event {
        if let Some(v) = value {
            self.set(path, v);
        }
        self
    }

    /// Declares that `unmapped` is the JSON object in `raw_data` (the vendor record as it
    /// came), so it is not stored twice; `unmapped.*` attributes set explicitly (a parse
    /// marker) are kept beside it and win over the record's own keys.
    pub fn set_unmapped_record(&mut self) -> &mut Event {
        let before = self.attrs.len();
        self.attrs.retain(|a| a.path != "unmapped");
        if self.attrs.len() < before {
            self.relink();
        }
        self.unmapped_record = true;
        self.record = OnceLock::new();
        self
    }

    /// The value at a dotted path: an attribute, or a member of an object-valued attribute.
    /// A path with attributes only below it (`actor.user` when `actor.user.name` is set) has
    /// no single value here: use [`Event::object`]. `unmapped` and paths under it are read
    /// from the record when [`Event::set_unmapped_record`] was used (explicit `unmapped.*`
    /// attributes first).
    pub fn get(&self, path: &str) -> Option<&Value> {
        for (_, a) in self.bucket(top_key(path)) {
            if a.path == path {
                return Some(&a.value);
            }
            if let Some(rest) = under(path, &a.path) {
                return descend(&a.value, rest);
            }
        }
        if !self.unmapped_record {
            return None;
        }
        if path == "unmapped" {
            return self.record();
        }
        let rest = under(path, "unmapped")?;
        descend(self.record()?, rest)
    }

    /// The attribute at `path`, or the one above it whose value holds it, with that
    /// attribute's own path: for readers that walk into arrays below an attribute
    /// (`resources.uid` when `resources` is a list), which [`Event::get`] does not.
    pub fn attribute_at(&self, path: &str) -> Option<(&str, &Value)> {
        self.bucket(top_key(path))
            .map(|(_, a)| a)
            .find(|a| a.path == path || under(path, &a.path).is_some())
            .map(|a| (a.path.as_ref(), &a.value))
    }

    /// The string at a dotted path.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// The value at a dotted path as JSON, objects assembled from the attributes below it
    /// (`actor.user` from `actor.user.name`, `actor.user.uid`; `unmapped` from the record
    /// and the explicit `unmapped.*` attributes).
    pub fn object(&self, path: &str) -> Option<Value> {
        if path == "unmapped"
            && let Some(Value::Object(record)) = self.unmapped_record()
        {
            let mut map = record.clone();
            self.assemble_into(&mut map, path);
            return Some(Value::Object(map));
        }
        if let Some(v) = self.get(path) {
            return Some(v.clone());
        }
        self.assembled(path)
    }

    /// The object the attributes below `path` make (`actor.user` from `actor.user.name`,
    /// `actor.user.uid`), if any is set; for readers that already know no attribute is at
    /// `path` itself, so [`Event::object`]'s first lookup would be wasted.
    pub fn assembled(&self, path: &str) -> Option<Value> {
        let mut map = Map::new();
        self.assemble_into(&mut map, path)
            .then_some(Value::Object(map))
    }

    /// Sets the attributes below `path` into `map`; whether there was any.
    fn assemble_into(&self, map: &mut Map<String, Value>, path: &str) -> bool {
        let mut found = false;
        for (_, a) in self.bucket(top_key(path)) {
            if let Some(rest) = under(&a.path, path) {
                set_in(map, rest, a.value.clone());
                found = true;
            }
        }
        found
    }

    /// Every attribute as `(dotted path, value)`, in the order set; `unmapped` read from the
    /// record is not among them (see [`Event::unmapped_record`]).
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.attrs.iter().map(|a| (a.path.as_ref(), &a.value))
    }

    /// Each top-level key once, in the order first set (`unmapped` last when the record
    /// stands for it): rule engines probe their field indexes by these, for every event.
    pub fn top_level_keys<'e>(&'e self) -> Vec<&'e str> {
        if self.attrs.len() > WIDE_EVENT {
            // Searching the keys listed so far would take quadratic time: a set instead.
            let mut seen = std::collections::HashSet::new();
            let mut tops: Vec<&'e str> = self
                .attrs
                .iter()
                .map(|a| top_level_key(&a.path, a.top))
                .filter(|key| seen.insert(*key))
                .collect();
            if self.unmapped_record && seen.insert("unmapped") {
                tops.push("unmapped");
            }
            return tops;
        }
        let mut tops: Vec<(u64, &'_ str)> = Vec::with_capacity(32);
        // A bit per 256th of the key numbers: a key whose bit is clear is new without a
        // search. Most attributes are top-level keys of their own, and with 64 bits half
        // of an event's 30 keys found their bit taken and searched the whole list.
        let mut seen = [0u64; 4];
        let unmapped = self
            .unmapped_record
            .then(|| (top_key("unmapped"), "unmapped"));
        let attrs = self.attrs.iter().map(|a| (a.top, a.path.as_ref()));
        for (top, path) in attrs.chain(unmapped) {
            let slot = (top.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
            let (word, bit) = (slot / 64, 1u64 << (slot % 64));
            // Attributes of one key are usually set together: look at the last one first.
            if seen[word] & bit != 0
                && tops
                    .iter()
                    .rev()
                    .any(|(t, key)| *t == top && has_top_key(path, key))
            {
                continue;
            }
            seen[word] |= bit;
            tops.push((top, top_level_key(path, top)));
        }
        tops.into_iter().map(|(_, k)| k).collect()
    }

    /// Whether an attribute is set under the top-level `key` (`unmapped` also when the
    /// record stands for it): a rule engine that knows which keys its rules can probe asks
    /// for those, a walk of one bucket each, instead of listing every key of the event.
    pub fn has_top_level_key(&self, key: &TopLevelKey) -> bool {
        let name = key.name.as_str();
        key.dotless
            && ((self.unmapped_record && name == "unmapped")
                || self
                    .bucket(key.top)
                    .any(|(_, a)| has_top_key(&a.path, name)))
    }

    /// The vendor record `unmapped` stands for, when [`Event::set_unmapped_record`] was used
    /// (parsed from `raw_data` on first use).
    pub fn unmapped_record(&self) -> Option<&Value> {
        if self.unmapped_record {
            self.record()
        } else {
            None
        }
    }

    /// Whether `unmapped` is the record in `raw_data` ([`Event::set_unmapped_record`]),
    /// without parsing it.
    pub fn has_unmapped_record(&self) -> bool {
        self.unmapped_record
    }

    fn record(&self) -> Option<&Value> {
        self.record
            .get_or_init(|| {
                let raw = self
                    .attrs
                    .iter()
                    .find(|a| a.path == "raw_data")?
                    .value
                    .as_str()?;
                match serde_json::from_str::<Value>(raw) {
                    Ok(v @ Value::Object(_)) => Some(v),
                    _ => None,
                }
            })
            .as_ref()
    }

    /// The event as the nested OCSF JSON object.
    pub fn to_json(&self) -> Map<String, Value> {
        self.to_json_with(|_| true)
    }

    /// [`Event::to_json`] with only the top-level keys `keep` accepts: the search index
    /// stores the event without `raw_data` and `unmapped`, and should not parse the record
    /// only to drop it.
    pub fn to_json_with(&self, keep: impl Fn(&str) -> bool) -> Map<String, Value> {
        let mut map = Map::new();
        if keep("unmapped")
            && let Some(Value::Object(record)) = self.unmapped_record()
        {
            map.insert("unmapped".into(), Value::Object(record.clone()));
        }
        for a in &self.attrs {
            let top = a.path.split('.').next().unwrap_or(&a.path);
            if keep(top) {
                set_in(&mut map, &a.path, a.value.clone());
            }
        }
        map
    }
}

/// A top-level key to look for in many events ([`Event::has_top_level_key`]), its number
/// worked out once.
#[derive(Clone, Debug)]
pub struct TopLevelKey {
    name: String,
    top: u64,
    /// Not empty and without a dot (a key with one is no event's top-level key).
    dotless: bool,
}

impl TopLevelKey {
    /// The key `name`.
    pub fn new(name: &str) -> TopLevelKey {
        let top = top_key(name);
        let dotless = !name.is_empty()
            && match (top >> 56) as usize {
                // The number's length byte is where the first dot is.
                255 => !name.contains('.'),
                len => len == name.len(),
            };
        TopLevelKey {
            name: name.to_owned(),
            top,
            dotless,
        }
    }

    /// The key's name.
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

/// Attributes room is made for in a new event ([`Event::new`]).
const ATTRIBUTES_RESERVED: usize = 48;

/// One attribute of an [`Event`].
#[derive(Clone, Debug)]
struct Attr {
    /// [`top_key`] of `path`: only attributes with the same top-level key can be the same
    /// path or one above the other, and comparing it first keeps `set` and `get` from
    /// comparing strings with every attribute (that was 45 % of a CloudTrail parse).
    top: u64,
    /// The next attribute of its bucket ([`Event::heads`]): index + 1, 0 for none.
    next: u16,
    path: Cow<'static, str>,
    value: Value,
}

impl Attr {
    fn new(path: Cow<'static, str>, value: Value) -> Attr {
        Attr {
            top: top_key(&path),
            next: 0,
            path,
            value,
        }
    }
}

/// Attributes past which [`Event::top_level_keys`] keeps a set of the keys it has listed.
const WIDE_EVENT: usize = 256;

/// Buckets of top-level keys an event links its attributes into.
const BUCKETS: usize = 64;

/// The bucket of a [`top_key`].
fn bucket_of(top: u64) -> usize {
    (top.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize
}

/// The attributes of one top-level key ([`Event::bucket`]), with their indexes.
struct Bucket<'e> {
    attrs: &'e [Attr],
    top: u64,
    at: Link,
}

/// Where a [`Bucket`] walk goes next.
enum Link {
    /// The next link of a bucket's chain (index + 1, 0 at the end).
    Chain(u16),
    /// The next index of a scan over every attribute ([`Event::unlinked`]).
    Scan(usize),
}

impl<'e> Iterator for Bucket<'e> {
    type Item = (usize, &'e Attr);

    fn next(&mut self) -> Option<(usize, &'e Attr)> {
        loop {
            let i = match &mut self.at {
                Link::Chain(0) => return None,
                Link::Chain(link) => usize::from(*link) - 1,
                Link::Scan(i) => *i,
            };
            let attr = self.attrs.get(i)?;
            match &mut self.at {
                Link::Chain(link) => *link = attr.next,
                Link::Scan(next) => *next += 1,
            }
            if attr.top == self.top {
                return Some((i, attr));
            }
        }
    }
}

/// A path's top-level key (`metadata` of `metadata.uid`) as a number: its first 7 bytes and,
/// in the last byte, its length (255 for 255 and more). Equal for paths under the same key,
/// and nearly always different otherwise; the length also tells where the key ends.
fn top_key(path: &str) -> u64 {
    let bytes = path.as_bytes();
    let Some(head) = bytes.first_chunk::<8>() else {
        return top_key_bytewise(bytes);
    };
    // Eight bytes at once (every lookup starts here): a zero byte of `word ^ dots` is a
    // dot, and the lowest flagged byte of the zero-byte test is the first one.
    let word = u64::from_le_bytes(*head);
    let x = word ^ 0x2e2e_2e2e_2e2e_2e2e;
    let dots = x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080;
    let len = if dots != 0 {
        (dots.trailing_zeros() / 8) as usize
    } else {
        8 + bytes[8..]
            .iter()
            .position(|b| *b == b'.')
            .unwrap_or(bytes.len() - 8)
    };
    let prefix = len.min(7);
    let kept = if prefix == 0 {
        0
    } else {
        word & (u64::MAX >> (64 - 8 * prefix))
    };
    kept | (len.min(255) as u64) << 56
}

/// [`top_key`] of a path shorter than eight bytes.
fn top_key_bytewise(bytes: &[u8]) -> u64 {
    let len = bytes.iter().position(|b| *b == b'.').unwrap_or(bytes.len());
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(&bytes[..len.min(7)]) {
        *k = *b;
    }
    key[7] = u8::try_from(len).unwrap_or(u8::MAX);
    u64::from_le_bytes(key)
}

/// The top-level key of `path`, whose [`top_key`] is `top`.
fn top_level_key(path: &str, top: u64) -> &str {
    match (top >> 56) as usize {
        255 => &path[..path.bytes().position(|b| b == b'.').unwrap_or(path.len())],
        len => &path[..len],
    }
}

/// Is `key` the top-level key of `path`, given that their [`top_key`]s are equal (so are
/// their lengths and first 7 bytes)? Compares only what the number does not cover: a
/// string comparison per attribute was most of listing an event's keys.
fn has_top_key(path: &str, key: &str) -> bool {
    let n = key.len();
    if n >= 255 {
        return path.split('.').next() == Some(key);
    }
    // Byte by byte: these tails are short, shorter than a call to `memcmp`.
    let (path, key) = (path.as_bytes(), key.as_bytes());
    n <= 7 || (7..n).all(|i| path.get(i) == key.get(i))
}

/// `path` below `prefix` (`actor.user.name` below `actor`): the rest after the dot.
fn under<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    // The dot first: it rules out nearly every sibling without comparing strings.
    if path.as_bytes().get(prefix.len()) != Some(&b'.') {
        return None;
    }
    path.strip_prefix(prefix)?.strip_prefix('.')
}

/// The value at a dotted path inside `v`.
fn descend<'v>(mut v: &'v Value, path: &str) -> Option<&'v Value> {
    for part in path.split('.') {
        v = v.as_object()?.get(part)?;
    }
    Some(v)
}

/// Sets a dotted path inside a JSON object, creating objects on the way and replacing
/// non-objects in the way.
fn set_in(mut map: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            match (map.get_mut(part), value) {
                // Two attributes that both write into one object (an explicit
                // `unmapped.evident_parse` beside the record) merge.
                (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
                (Some(slot), value) => *slot = value,
                (None, value) => {
                    map.insert(part.to_owned(), value);
                }
            }
            return;
        }
        // Look up before inserting: most paths share prefixes, and a lookup does not
        // allocate the key.
        if !map.get(part).is_some_and(Value::is_object) {
            map.insert(part.to_owned(), Value::Object(Map::new()));
        }
        map = match map.get_mut(part) {
            Some(Value::Object(m)) => m,
            // Made an object above.
            _ => return,
        };
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.to_json() == other.to_json()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Event, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        Ok(Event::from(map))
    }
}

impl From<Map<String, Value>> for Event {
    /// An event from its OCSF JSON object (stored events read back).
    fn from(map: Map<String, Value>) -> Event {
        Event::with_attrs(
            map.into_iter()
                .map(|(k, v)| Attr::new(Cow::Owned(k), v))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_event_carries_the_derived_ocsf_attributes() {
        let e = Event::new(Class::Authentication, 1, 1_764_150_000_000);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            json!({
                "class_uid": 3002, "class_name": "Authentication",
                "category_uid": 3, "category_name": "Identity & Access Management",
                "activity_id": 1, "activity_name": "Logon",
                "type_uid": 300201, "type_name": "Authentication: Logon",
                "time": 1_764_150_000_000i64,
                "severity_id": 1, "severity": "Informational",
                "metadata": {"version": "1.8.0"}
            })
        );
        assert_eq!(e.class(), Some(Class::Authentication));
    }

    #[test]
    fn dotted_paths_create_and_read_nested_objects() {
        let mut e = Event::new(Class::ApiActivity, 2, 0);
        e.set("actor.user.name", "alice")
            .set("actor.user.uid", "u1");
        e.set("src_endpoint.ip", "10.0.0.1")
            .set("ignored", Value::Null);
        e.set_status(Status::Failure);
        assert_eq!(e.get_str("actor.user.name"), Some("alice"));
        assert_eq!(e.object("actor.user").unwrap()["uid"], "u1");
        assert_eq!(e.get("ignored"), None);
        assert_eq!(e.get("status_id").unwrap(), 2);
        // A scalar in the way is replaced by an object.
        e.set("actor.user.name.first", "a");
        assert_eq!(e.get_str("actor.user.name.first"), Some("a"));
    }

    /// Lookups walk only their key's bucket: whatever was set (directly, by `from`,
    /// replaced, or moved under an object) is found, whatever was not is not, across more
    /// keys than there are buckets.
    #[test]
    fn lookups_find_exactly_what_was_set() {
        let mut e = Event::from(
            json!({"actor": {"user": {"name": "alice"}}, "time": 5})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        assert_eq!(e.get_str("actor.user.name"), Some("alice"));
        assert_eq!(
            e.attribute_at("actor.user.name").map(|(p, _)| p),
            Some("actor")
        );
        e.set("api.service.name", "s3")
            .set("api.operation", "GetObject");
        assert_eq!(
            e.object("api"),
            Some(json!({"service": {"name": "s3"}, "operation": "GetObject"}))
        );
        assert_eq!(e.assembled("api.service"), Some(json!({"name": "s3"})));
        assert_eq!(e.assembled("api.operation"), None);
        // An object set over attributes below it replaces them; they stay findable in it.
        e.set("api", json!({"operation": "PutObject"}));
        assert_eq!(e.get_str("api.operation"), Some("PutObject"));
        assert_eq!(e.get("api.service.name"), None);
        for i in 0..150 {
            e.set(format!("key{i}.value"), i);
        }
        for i in 0..150 {
            assert_eq!(e.get(&format!("key{i}.value")), Some(&json!(i)), "key{i}");
            assert_eq!(e.get(&format!("absent{i}.value")), None, "absent{i}");
            assert_eq!(
                e.attribute_at(&format!("key{i}.value")),
                Some((format!("key{i}.value").as_str(), &json!(i))),
                "key{i}"
            );
            assert_eq!(e.attribute_at(&format!("absent{i}")), None, "absent{i}");
            assert_eq!(e.assembled(&format!("key{i}")), Some(json!({"value": i})));
            assert_eq!(e.object(&format!("absent{i}")), None, "absent{i}");
        }
        assert_eq!(Event::default().get("time"), None);
    }

    /// The eight-bytes-at-once key number is the one the byte-by-byte definition gives,
    /// wherever the first dot is (or none), for short, long and non-ASCII keys.
    #[test]
    fn top_keys_match_their_bytewise_definition() {
        let mut paths = vec![String::new(), ".".into(), "a".into(), "é.b".into()];
        for key_len in 0..20 {
            for tail in ["", ".x", ".user.name", "..", ".é"] {
                paths.push(format!("{}{tail}", "k".repeat(key_len)));
                paths.push(format!("{}{tail}", "é".repeat(key_len)));
            }
        }
        paths.push(format!("{}.x", "a".repeat(300)));
        paths.push("a".repeat(300));
        for path in &paths {
            assert_eq!(top_key(path), top_key_bytewise(path.as_bytes()), "{path:?}");
        }
    }

    /// An event with more attributes than bucket links can number is scanned instead,
    /// and still finds exactly what was set.
    #[test]
    fn lookups_past_the_bucket_links_scan_every_attribute() {
        let map: Map<String, Value> = (0..70_000).map(|i| (format!("k{i}"), json!(i))).collect();
        let mut e = Event::from(map);
        e.set("actor.user.name", "alice").set("k5.x", 1);
        assert_eq!(e.get("k69999"), Some(&json!(69_999)));
        assert_eq!(e.get_str("actor.user.name"), Some("alice"));
        // A number in the way was replaced (by `k5.x`, in its place).
        assert_eq!(e.get("k5.x"), Some(&json!(1)));
        assert_eq!(e.get("k5"), None);
        assert_eq!(e.get("k70000"), None);
        assert_eq!(e.top_level_keys().len(), 70_001);
        // Removing attributes links the rest again.
        e.set("actor", "bob");
        let small = Event::from(
            json!({"a": 1, "b": {"c": 2}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        assert_eq!(small.get("b.c"), Some(&json!(2)));
        assert_eq!(e.get_str("actor"), Some("bob"));
        assert_eq!(e.get("actor.user.name"), None);
    }

    #[test]
    fn top_level_keys_are_listed_once_in_the_order_first_set() {
        let mut e = Event::new(Class::ApiActivity, 2, 0);
        // `metadata_x` shares its first 7 bytes with `metadata`; `src` is a prefix of
        // `src_endpoint` but a different key.
        e.set("actor.user.name", "alice")
            .set("metadata_x", 1)
            .set("src", "a")
            .set("src_endpoint.ip", "10.0.0.1")
            .set("actor.session.uid", "s")
            .set("http_request.url", "u")
            .set("http_requests", 2)
            .set("http_request.uid", "r")
            .set("raw_data", "{}");
        assert_eq!(
            e.top_level_keys(),
            [
                "class_uid",
                "class_name",
                "category_uid",
                "category_name",
                "activity_id",
                "activity_name",
                "type_uid",
                "type_name",
                "time",
                "severity_id",
                "severity",
                "metadata",
                "actor",
                "metadata_x",
                "src",
                "src_endpoint",
                "http_request",
                "http_requests",
                "raw_data"
            ]
        );
        // Exactly the listed keys are had, and nothing else.
        for key in e.top_level_keys() {
            assert!(e.has_top_level_key(&TopLevelKey::new(key)), "{key}");
        }
        for key in [
            "metadata_",
            "metadat",
            "sr",
            "src_",
            "http_reques",
            "actor.user",
            "",
            "unmapped",
        ] {
            assert!(!e.has_top_level_key(&TopLevelKey::new(key)), "{key}");
        }
        e.set_unmapped_record();
        assert!(e.has_top_level_key(&TopLevelKey::new("unmapped")));
        assert_eq!(e.top_level_keys().last(), Some(&"unmapped"));
        e.set("unmapped.evident_parse", "x");
        let tops = e.top_level_keys();
        assert_eq!(tops.iter().filter(|k| **k == "unmapped").count(), 1);

        // More keys than the lookup table holds: each still listed once, in order.
        let mut wide = Event::default();
        let names: Vec<String> = (0..150).map(|i| format!("key_{i:03}")).collect();
        for name in names.iter().chain(&names) {
            wide.set(format!("{name}.a"), 1).set(format!("{name}.b"), 2);
        }
        assert_eq!(wide.top_level_keys(), names);
        // Fewer attributes than that, but still more keys than buckets.
        let mut medium = Event::default();
        for name in &names[..100] {
            medium
                .set(format!("{name}.a"), 1)
                .set(format!("{name}.b"), 2);
        }
        assert_eq!(medium.top_level_keys(), names[..100]);

        // Keys of 255 bytes and more share a length byte; they are still told apart.
        let (long_a, long_b) = ("a".repeat(300), format!("{}b", "a".repeat(299)));
        let mut long = Event::default();
        long.set(format!("{long_a}.x"), 1)
            .set(format!("{long_b}.x"), 2)
            .set(format!("{long_a}.y"), 3);
        assert_eq!(long.top_level_keys(), [long_a.as_str(), long_b.as_str()]);
        let has = |key: &str| long.has_top_level_key(&TopLevelKey::new(key));
        assert!(has(&long_a) && has(&long_b));
        assert!(!has(&"a".repeat(299)) && !has(&format!("{}c", "a".repeat(299))));
        assert!(!has(&format!("{long_a}.x")));
        assert_eq!(long.get(&format!("{long_a}.y")), Some(&Value::from(3)));
        assert_eq!(long.get(&format!("{long_b}.y")), None);
        assert_eq!(
            long.attribute_at(&format!("{long_a}.y")).map(|(_, v)| v),
            Some(&Value::from(3))
        );
        assert_eq!(long.attribute_at(&format!("{long_b}.y")), None);
    }

    #[test]
    fn unknown_activity_is_named_other() {
        let e = Event::new(Class::GroupManagement, 42, 0);
        assert_eq!(e.get_str("activity_name"), Some("Other"));
        assert_eq!(e.get("type_uid").unwrap(), 300642);
    }

    #[test]
    fn object_paths_replace_the_attributes_below_and_leaves_write_into_objects() {
        let mut e = Event::new(Class::ApiActivity, 2, 0);
        e.set("actor.user.name", "alice")
            .set("actor.user.uid", "u1");
        assert_eq!(
            e.get("actor.user"),
            None,
            "no single value stands for flat leaves"
        );
        assert_eq!(
            e.object("actor.user"),
            Some(serde_json::json!({"name": "alice", "uid": "u1"}))
        );
        e.set("actor", serde_json::json!({"user": {"name": "bob"}}));
        assert_eq!(e.get_str("actor.user.name"), Some("bob"));
        assert_eq!(
            e.get_str("actor.user.uid"),
            None,
            "replaced with the object"
        );
        e.set("actor.user.uid", "u2");
        assert_eq!(e.get("actor").unwrap()["user"]["uid"], "u2");
        assert_eq!(
            e.attributes()
                .filter(|(p, _)| p.starts_with("actor"))
                .count(),
            1,
            "written into the object, not beside it"
        );
    }

    #[test]
    fn unmapped_is_read_from_the_raw_record_and_explicit_members_win() {
        let record = r#"{"eventName":"GetObject","nested":{"a":[1,2]},"evident_parse":"x"}"#;
        let mut e = Event::new(Class::ApiActivity, 2, 0);
        e.set_unmapped_record();
        e.set("unmapped.evident_parse", "time_not_parsed");
        assert_eq!(e.get("unmapped.eventName"), None, "no raw_data yet");
        e.set("raw_data", record);
        assert_eq!(e.get_str("unmapped.eventName"), Some("GetObject"));
        assert_eq!(e.get("unmapped.nested.a").unwrap()[1], 2);
        assert_eq!(e.get_str("unmapped.evident_parse"), Some("time_not_parsed"));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json["unmapped"],
            json!({"eventName": "GetObject", "nested": {"a": [1, 2]},
                "evident_parse": "time_not_parsed"})
        );
        assert_eq!(json["raw_data"], record);
        assert!(
            e.to_json_with(|k| k != "unmapped")
                .get("unmapped")
                .is_none()
        );

        let back: Event = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        assert_eq!(back, e);

        e.set("unmapped", serde_json::json!({"replaced": true}));
        assert_eq!(e.unmapped_record(), None);
        assert_eq!(e.get("unmapped.eventName"), None);
        assert_eq!(e.get("unmapped.replaced"), Some(&Value::Bool(true)));
    }
}
