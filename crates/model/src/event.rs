//! The normalized event: an OCSF 1.8 object. It is a JSON object underneath, because OCSF
//! is a JSON schema with hundreds of optional attributes and rules address them by dotted
//! path (`actor.user.name`); the constructor fixes the attributes every event must have.

use serde::{Deserialize, Serialize};
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Event(Map<String, Value>);

impl Event {
    /// An event of `class` with `activity_id` at `time_ms` (ms since the epoch), with the
    /// derived attributes (`category_uid`, `type_uid` = class_uid·100 + activity_id, names,
    /// `metadata.version`) and severity Informational.
    pub fn new(class: Class, activity_id: u8, time_ms: i64) -> Event {
        let mut e = Event(Map::new());
        let activity = class.activity_name(activity_id).unwrap_or("Other");
        e.set("class_uid", class.uid());
        e.set("class_name", class.name());
        e.set("category_uid", class.category_uid());
        e.set("category_name", class.category_name());
        e.set("activity_id", activity_id);
        e.set("activity_name", activity);
        e.set("type_uid", class.uid() as u64 * 100 + activity_id as u64);
        e.set("type_name", format!("{}: {activity}", class.name()));
        e.set("time", time_ms);
        e.set_severity(Severity::Informational);
        e.set("metadata.version", OCSF_VERSION);
        e
    }

    /// The event's class, if it is one Evident knows.
    pub fn class(&self) -> Option<Class> {
        self.0
            .get("class_uid")
            .and_then(Value::as_u64)
            .and_then(Class::from_uid)
    }

    /// Event time, ms since the epoch.
    pub fn time_ms(&self) -> Option<i64> {
        self.0.get("time").and_then(Value::as_i64)
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

    /// Sets the value at a dotted path (`actor.user.name`), creating objects on the way and
    /// replacing non-objects in the way. A `null` value is not stored.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) -> &mut Event {
        let value = value.into();
        if value.is_null() {
            return self;
        }
        let mut map = &mut self.0;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                match map.get_mut(part) {
                    Some(slot) => *slot = value,
                    None => {
                        map.insert(part.to_owned(), value);
                    }
                }
                break;
            }
            // Look up before inserting: most paths share prefixes (`actor.user.*`), and a
            // lookup does not allocate the key.
            if !map.get(part).is_some_and(Value::is_object) {
                map.insert(part.to_owned(), Value::Object(Map::new()));
            }
            map = match map.get_mut(part) {
                Some(Value::Object(m)) => m,
                // Made an object above.
                _ => return self,
            };
        }
        self
    }

    /// Sets the value when there is one.
    pub fn set_opt<V: Into<Value>>(&mut self, path: &str, value: Option<V>) -> &mut Event {
        if let Some(v) = value {
            self.set(path, v);
        }
        self
    }

    /// The value at a dotted path.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut v = self.0.get(parts.next()?)?;
        for part in parts {
            v = v.as_object()?.get(part)?;
        }
        Some(v)
    }

    /// The string at a dotted path.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(Value::as_str)
    }

    /// The underlying JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Consumes the event into its JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_event_carries_the_derived_ocsf_attributes() {
        let e = Event::new(Class::Authentication, 1, 1_764_150_000_000);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
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
        assert_eq!(e.get("actor.user").unwrap()["uid"], "u1");
        assert_eq!(e.get("ignored"), None);
        assert_eq!(e.get("status_id").unwrap(), 2);
        // A scalar in the way is replaced by an object.
        e.set("actor.user.name.first", "a");
        assert_eq!(e.get_str("actor.user.name.first"), Some("a"));
    }

    #[test]
    fn unknown_activity_is_named_other() {
        let e = Event::new(Class::GroupManagement, 42, 0);
        assert_eq!(e.get_str("activity_name"), Some("Other"));
        assert_eq!(e.get("type_uid").unwrap(), 300642);
    }
}
