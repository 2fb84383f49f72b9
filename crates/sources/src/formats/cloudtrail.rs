//! AWS CloudTrail: one event record, as AWS documents it in "CloudTrail record contents for
//! management, data, and network activity events" and "CloudTrail userIdentity element"
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>).
//! Log files (`{"Records":[…]}`) are split into records by framing. Panther's export of a
//! record is accepted too: some rows have lower-case top-level keys (`eventname`,
//! `awsregion`) and `p_*` fields, and a Panther row may lack any vendor field.
//!
//! | `eventName` | OCSF class | activity |
//! |---|---|---|
//! | `ConsoleLogin` | Authentication 3002 | Logon 1 |
//! | IAM `CreateUser`, `DeleteUser`, `UpdateUser` | Account Change 3001 | Create 1, Delete 6, Other 99 |
//! | IAM `CreateLoginProfile`, `DeleteLoginProfile` | Account Change 3001 | Enable 2, Disable 5 |
//! | IAM `ChangePassword`, `UpdateLoginProfile` | Account Change 3001 | Password Change 3, Password Reset 4 |
//! | IAM `EnableMFADevice`, `DeactivateMFADevice` | Account Change 3001 | MFA Factor Enable 10, Disable 11 |
//! | IAM `AttachUserPolicy`/`PutUserPolicy`, `DetachUserPolicy`/`DeleteUserPolicy` | Account Change 3001 | Attach Policy 7, Detach Policy 8 |
//! | IAM `AddUserToGroup`, `RemoveUserFromGroup` | Group Management 3006 | Add User 3, Remove User 4 |
//! | IAM `CreateGroup`, `DeleteGroup` | Group Management 3006 | Create 6, Delete 5 |
//! | IAM `AttachGroupPolicy`/`PutGroupPolicy`, `DetachGroupPolicy`/`DeleteGroupPolicy` | Group Management 3006 | Assign Privileges 1, Revoke Privileges 2 |
//! | anything else | API Activity 6003 | by the operation's verb, below |
//!
//! API Activity by verb: `Create`, `Run`, `Put`, `Start` → Create 1; `Get`, `Describe`,
//! `List`, `Head` → Read 2; `Update`, `Modify`, `Set`, `Authorize`, `Attach`, `Stop` → Update
//! 3; `Delete`, `Remove`, `Revoke`, `Terminate` → Delete 4; another verb → Read 2 when the
//! record says `readOnly: true`, else Other 99.
//!
//! The IAM rows apply when `eventSource` is `iam.amazonaws.com` (or absent): other services
//! have their own `CreateUser`/`CreateGroup` calls (Transfer Family, Amazon MQ, Cognito) that
//! are not IAM accounts. Every class gets, as far as the record has them: `metadata.uid`
//! (`eventID`), `metadata.event_code` (`eventName`), `api.{operation, service.name,
//! request.uid, response.error, response.message}`, `cloud.{provider, region, account.uid}`,
//! `actor.user.{type, uid (principalId), uid_alt (ARN), name, account.uid}` (name: `userName`,
//! else the session issuer's, else the ARN's last part), `actor.session.{credential_uid,
//! is_mfa, created_time, issuer}`, `src_endpoint.ip` (or `.domain` when `sourceIPAddress` is a
//! service host name), `http_request.user_agent` and `resources`. The status is Failure when
//! `errorCode` is present (for `ConsoleLogin`, from `responseElements.ConsoleLogin`); the
//! target user/group/policy of IAM changes come from `requestParameters`.
//!
//! A record without `eventTime` takes Panther's `p_event_time` or the receive time; so does
//! one whose `eventTime` is not a time (Panther rows hold `"redacted"`), which is marked
//! `unmapped.evident_parse = "time_not_parsed"` instead of being lost to a parse error.
//!
//! Speed: the record is parsed once into a `serde_json::Value` (it becomes `unmapped`
//! without a copy) and the OCSF objects are assembled as whole maps rather than by dotted
//! path. Allocation dominates the cost (about 200 per ~1 KiB record: the parsed tree, the
//! event's maps and strings); see `bench_cloudtrail_throughput` in `tests/aws.rs`.

use std::net::IpAddr;

use evident_model::{Class, Event, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{arn_tail, fallback_time, mark_unparsed_time, parse_time};
use crate::parse::{ParseContext, ParseError, json_object};

/// Top-level keys that, beside `eventName`, mark a CloudTrail record (camel case as AWS
/// writes them, lower case as some Panther rows have them).
const COMPANION_KEYS: &[&str] = &[
    "eventSource",
    "eventsource",
    "eventVersion",
    "eventversion",
    "userIdentity",
    "useridentity",
    "awsRegion",
    "awsregion",
    "recipientAccountId",
];

/// Does the record look like CloudTrail? A string `eventName` plus one of `eventSource`,
/// `eventVersion`, `userIdentity`, `awsRegion`, `recipientAccountId`.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    matches!(top(obj, "eventName", "eventname"), Some(Value::String(_)))
        && COMPANION_KEYS.iter().any(|k| obj.contains_key(*k))
}

/// Normalizes one record. `eventName` is required (except in a Panther row); an `eventTime`
/// that is not a time leaves the fallback time and `unmapped.evident_parse` set.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let (mut event, time_parsed) = normalize(&obj, ctx)?;
    event.set("unmapped", Value::Object(obj));
    mark_unparsed_time(&mut event, time_parsed);
    Ok(vec![event])
}

/// Builds the event from the record's fields (everything but `unmapped`); the flag is false
/// when `eventTime` was present but not a time.
fn normalize(
    obj: &Map<String, Value>,
    ctx: &ParseContext<'_>,
) -> Result<(Event, bool), ParseError> {
    let panther = obj.contains_key("p_log_type");
    let name = match top(obj, "eventName", "eventname") {
        Some(Value::String(s)) => Some(s.as_str()),
        None | Some(Value::Null) if panther => None,
        None | Some(Value::Null) => {
            return Err(ParseError::MissingField {
                field: "eventName".into(),
            });
        }
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "eventName".into(),
                expected: "a string",
            });
        }
    };
    let event_time = top(obj, "eventTime", "eventtime").filter(|v| !v.is_null());
    let parsed_time = event_time.and_then(parse_time);
    let time = parsed_time.unwrap_or_else(|| fallback_time(obj, ctx));
    let source = top_str(obj, "eventSource", "eventsource");
    let read_only = top(obj, "readOnly", "readonly").and_then(Value::as_bool);
    let kind = classify(name.unwrap_or(""), source, read_only);
    let (class, activity) = kind.class_activity();
    let mut e = Event::new(class, activity, time);

    let identity = top(obj, "userIdentity", "useridentity").and_then(Value::as_object);
    let request = obj.get("requestParameters").and_then(Value::as_object);
    let response = obj.get("responseElements").and_then(Value::as_object);
    let error_code = top_str(obj, "errorCode", "errorcode").filter(|s| !s.is_empty());
    let error_message = top_str(obj, "errorMessage", "errormessage");

    let mut metadata = Map::new();
    metadata.insert("version".into(), evident_model::OCSF_VERSION.into());
    metadata.insert(
        "product".into(),
        Value::Object(object([
            ("name", "CloudTrail".into()),
            ("vendor_name", "AWS".into()),
        ])),
    );
    put_str(&mut metadata, "uid", top_str(obj, "eventID", "eventid"));
    put_str(&mut metadata, "event_code", name);
    put_str(
        &mut metadata,
        "log_version",
        top_str(obj, "eventVersion", "eventversion"),
    );
    e.set("metadata", Value::Object(metadata));

    let mut api = Map::new();
    put_str(&mut api, "operation", name);
    put_str(
        &mut api,
        "version",
        top_str(obj, "apiVersion", "apiversion"),
    );
    if let Some(s) = source {
        api.insert(
            "service".into(),
            Value::Object(object([("name", s.into())])),
        );
    }
    if let Some(id) = top_str(obj, "requestID", "requestid") {
        api.insert(
            "request".into(),
            Value::Object(object([("uid", id.into())])),
        );
    }
    let mut api_response = Map::new();
    put_str(&mut api_response, "error", error_code);
    put_str(&mut api_response, "message", error_message);
    if !api_response.is_empty() {
        api.insert("response".into(), Value::Object(api_response));
    }
    if !api.is_empty() {
        e.set("api", Value::Object(api));
    }

    let mut cloud = object([("provider", "AWS".into())]);
    put_str(&mut cloud, "region", top_str(obj, "awsRegion", "awsregion"));
    if let Some(account) = top_str(obj, "recipientAccountId", "recipientaccountid") {
        cloud.insert(
            "account".into(),
            Value::Object(object([("uid", account.into())])),
        );
    }
    e.set("cloud", Value::Object(cloud));

    let user = identity.map(actor_user).filter(|u| !u.is_empty());
    let mut actor = Map::new();
    if let Some(u) = &user {
        actor.insert("user".into(), Value::Object(u.clone()));
    }
    if let Some(session) = identity.map(actor_session).filter(|s| !s.is_empty()) {
        actor.insert("session".into(), Value::Object(session));
    }
    put_str(
        &mut actor,
        "invoked_by",
        identity.and_then(|i| str_of(i, "invokedBy")),
    );
    if !actor.is_empty() {
        e.set("actor", Value::Object(actor));
    }

    if let Some(endpoint) =
        top_str(obj, "sourceIPAddress", "sourceipaddress").and_then(source_endpoint)
    {
        e.set("src_endpoint", Value::Object(endpoint));
    }
    if let Some(agent) = top_str(obj, "userAgent", "useragent") {
        e.set(
            "http_request",
            Value::Object(object([("user_agent", agent.into())])),
        );
    }
    if let Some(resources) = obj.get("resources").and_then(Value::as_array) {
        let list: Vec<Value> = resources
            .iter()
            .filter_map(Value::as_object)
            .map(|r| {
                let mut out = Map::new();
                put_str(&mut out, "uid", str_of(r, "ARN"));
                put_str(&mut out, "type", str_of(r, "type"));
                if let Some(account) = str_of(r, "accountId") {
                    out.insert(
                        "owner".into(),
                        Value::Object(object([(
                            "account",
                            Value::Object(object([("uid", account.into())])),
                        )])),
                    );
                }
                Value::Object(out)
            })
            .collect();
        if !list.is_empty() {
            e.set("resources", list);
        }
    }

    let status = match kind {
        Kind::Logon => match response.and_then(|r| str_of(r, "ConsoleLogin")) {
            Some("Success") => Status::Success,
            Some("Failure") => Status::Failure,
            _ if error_code.is_some() => Status::Failure,
            _ => Status::Success,
        },
        _ if error_code.is_some() => Status::Failure,
        _ => Status::Success,
    };
    e.set_status(status);
    if status == Status::Failure {
        e.set_opt("status_detail", error_code.or(error_message));
    }

    match kind {
        Kind::Logon => {
            if let Some(u) = user {
                e.set("user", Value::Object(u));
            }
            let mfa = obj
                .get("additionalEventData")
                .and_then(Value::as_object)
                .and_then(|a| str_of(a, "MFAUsed"));
            match mfa {
                Some("Yes") => {
                    e.set("is_mfa", true);
                }
                Some("No") => {
                    e.set("is_mfa", false);
                }
                _ => {}
            }
        }
        Kind::Account(activity) => {
            let target = request.and_then(|r| str_of(r, "userName")).or_else(|| {
                if name == Some("ChangePassword") {
                    user.as_ref().and_then(|u| str_of(u, "name"))
                } else {
                    None
                }
            });
            e.set_opt("user.name", target);
            e.set_opt(
                "user.uid",
                response
                    .and_then(|r| r.get("user"))
                    .and_then(Value::as_object)
                    .and_then(|u| str_of(u, "userId")),
            );
            if matches!(activity, 7 | 8) {
                let arn = request.and_then(|r| str_of(r, "policyArn"));
                e.set_opt("policy.uid", arn);
                e.set_opt(
                    "policy.name",
                    request
                        .and_then(|r| str_of(r, "policyName"))
                        .or_else(|| arn.map(arn_tail)),
                );
            }
        }
        Kind::Group(activity) => {
            e.set_opt("group.name", request.and_then(|r| str_of(r, "groupName")));
            e.set_opt(
                "group.uid",
                response
                    .and_then(|r| r.get("group"))
                    .and_then(Value::as_object)
                    .and_then(|g| str_of(g, "groupId")),
            );
            e.set_opt("user.name", request.and_then(|r| str_of(r, "userName")));
            if matches!(activity, 1 | 2) {
                let privilege = request
                    .and_then(|r| str_of(r, "policyArn").or_else(|| str_of(r, "policyName")));
                if let Some(p) = privilege {
                    e.set("privileges", vec![Value::from(p)]);
                }
            }
        }
        Kind::Api(_) => {}
    }
    Ok((e, event_time.is_none() || parsed_time.is_some()))
}

/// What an event name maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `ConsoleLogin`.
    Logon,
    /// An IAM user change, with its Account Change activity.
    Account(u8),
    /// An IAM group change, with its Group Management activity.
    Group(u8),
    /// Any other call, with its API Activity activity.
    Api(u8),
}

impl Kind {
    /// OCSF class and activity id.
    fn class_activity(self) -> (Class, u8) {
        match self {
            Kind::Logon => (Class::Authentication, 1),
            Kind::Account(a) => (Class::AccountChange, a),
            Kind::Group(a) => (Class::GroupManagement, a),
            Kind::Api(a) => (Class::ApiActivity, a),
        }
    }
}

/// Maps an event name (and source, `readOnly`) to its class and activity (see the module
/// table).
fn classify(name: &str, source: Option<&str>, read_only: Option<bool>) -> Kind {
    if name == "ConsoleLogin" {
        return Kind::Logon;
    }
    if matches!(source, None | Some("iam.amazonaws.com")) {
        let account = match name {
            "CreateUser" => Some(1),
            "CreateLoginProfile" => Some(2),
            "ChangePassword" => Some(3),
            "UpdateLoginProfile" => Some(4),
            "DeleteLoginProfile" => Some(5),
            "DeleteUser" => Some(6),
            "AttachUserPolicy" | "PutUserPolicy" => Some(7),
            "DetachUserPolicy" | "DeleteUserPolicy" => Some(8),
            "EnableMFADevice" => Some(10),
            "DeactivateMFADevice" => Some(11),
            "UpdateUser" => Some(99),
            _ => None,
        };
        if let Some(a) = account {
            return Kind::Account(a);
        }
        let group = match name {
            "AttachGroupPolicy" | "PutGroupPolicy" => Some(1),
            "DetachGroupPolicy" | "DeleteGroupPolicy" => Some(2),
            "AddUserToGroup" => Some(3),
            "RemoveUserFromGroup" => Some(4),
            "DeleteGroup" => Some(5),
            "CreateGroup" => Some(6),
            _ => None,
        };
        if let Some(a) = group {
            return Kind::Group(a);
        }
    }
    Kind::Api(api_activity(name, read_only))
}

/// API Activity id from the verb that starts an AWS operation name.
fn api_activity(name: &str, read_only: Option<bool>) -> u8 {
    const VERBS: &[(&str, u8)] = &[
        ("Create", 1),
        ("Run", 1),
        ("Put", 1),
        ("Start", 1),
        ("Get", 2),
        ("Describe", 2),
        ("List", 2),
        ("Head", 2),
        ("Update", 3),
        ("Modify", 3),
        ("Set", 3),
        ("Authorize", 3),
        ("Attach", 3),
        ("Stop", 3),
        ("Delete", 4),
        ("Remove", 4),
        ("Revoke", 4),
        ("Terminate", 4),
    ];
    for (verb, activity) in VERBS {
        if let Some(rest) = name.strip_prefix(verb) {
            // `Settle…` or `Getaway` is not the verb: the next word starts upper case.
            if rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase()) {
                return *activity;
            }
        }
    }
    if read_only == Some(true) { 2 } else { 99 }
}

/// `actor.user` from `userIdentity`: type, uid (principalId), uid_alt (ARN), name (userName,
/// else the session issuer's userName, else the ARN's last part), account.uid.
fn actor_user(identity: &Map<String, Value>) -> Map<String, Value> {
    let mut user = Map::new();
    put_str(&mut user, "type", str_of(identity, "type"));
    put_str(&mut user, "uid", str_of(identity, "principalId"));
    let arn = str_of(identity, "arn");
    put_str(&mut user, "uid_alt", arn);
    let issuer = session_context(identity)
        .and_then(|c| c.get("sessionIssuer"))
        .and_then(Value::as_object);
    let name = str_of(identity, "userName")
        .or_else(|| issuer.and_then(|i| str_of(i, "userName")))
        .or_else(|| arn.map(arn_tail));
    put_str(&mut user, "name", name);
    if let Some(account) = str_of(identity, "accountId") {
        user.insert(
            "account".into(),
            Value::Object(object([("uid", account.into())])),
        );
    }
    user
}

/// `actor.session` from `userIdentity`: access key, MFA flag, creation time, issuer ARN.
fn actor_session(identity: &Map<String, Value>) -> Map<String, Value> {
    let mut session = Map::new();
    put_str(
        &mut session,
        "credential_uid",
        str_of(identity, "accessKeyId"),
    );
    if let Some(context) = session_context(identity) {
        if let Some(attributes) = context.get("attributes").and_then(Value::as_object) {
            match str_of(attributes, "mfaAuthenticated") {
                Some("true") => {
                    session.insert("is_mfa".into(), true.into());
                }
                Some("false") => {
                    session.insert("is_mfa".into(), false.into());
                }
                _ => {}
            }
            if let Some(t) = attributes.get("creationDate").and_then(parse_time) {
                session.insert("created_time".into(), t.into());
            }
        }
        let issuer = context
            .get("sessionIssuer")
            .and_then(Value::as_object)
            .and_then(|i| str_of(i, "arn"));
        put_str(&mut session, "issuer", issuer);
    }
    session
}

/// `userIdentity.sessionContext`.
fn session_context(identity: &Map<String, Value>) -> Option<&Map<String, Value>> {
    identity.get("sessionContext").and_then(Value::as_object)
}

/// `src_endpoint` from `sourceIPAddress`: an IP address, or the AWS service host name that
/// made the call (`ec2.amazonaws.com`) as `domain`. `AWS Internal` maps to nothing.
fn source_endpoint(addr: &str) -> Option<Map<String, Value>> {
    if addr.parse::<IpAddr>().is_ok() {
        return Some(object([("ip", addr.into())]));
    }
    let is_host = addr.contains('.')
        && addr
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    is_host.then(|| object([("domain", addr.into())]))
}

/// A top-level field under its CloudTrail name or Panther's lower-case one.
fn top<'a>(obj: &'a Map<String, Value>, camel: &str, lower: &str) -> Option<&'a Value> {
    obj.get(camel).or_else(|| obj.get(lower))
}

/// [`top`] as a string.
fn top_str<'a>(obj: &'a Map<String, Value>, camel: &str, lower: &str) -> Option<&'a str> {
    top(obj, camel, lower).and_then(Value::as_str)
}

/// A string member of an object.
fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// Inserts a string when there is a non-empty one (failed sign-ins have `"principalId": ""`).
fn put_str(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        map.insert(key.to_owned(), Value::from(v));
    }
}

/// An object from key/value pairs (inserted one by one: collecting would sort through a
/// temporary vector).
fn object<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in pairs {
        map.insert(k.to_owned(), v);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_verbs_pick_the_api_activity() {
        assert_eq!(api_activity("RunInstances", None), 1);
        assert_eq!(api_activity("GetObject", None), 2);
        assert_eq!(api_activity("StopLogging", None), 3);
        assert_eq!(api_activity("TerminateInstances", None), 4);
        assert_eq!(api_activity("Getaway", Some(false)), 99);
        assert_eq!(api_activity("AssumeRole", Some(true)), 2);
        assert_eq!(api_activity("Settle", None), 99);
    }

    #[test]
    fn iam_names_map_only_for_iam() {
        assert_eq!(
            classify("CreateUser", Some("iam.amazonaws.com"), None),
            Kind::Account(1)
        );
        assert_eq!(
            classify("CreateUser", Some("transfer.amazonaws.com"), None),
            Kind::Api(1)
        );
        assert_eq!(classify("AddUserToGroup", None, None), Kind::Group(3));
    }

    #[test]
    fn arn_tails() {
        assert_eq!(
            arn_tail("arn:aws:iam::123456789012:user/dev/alice"),
            "alice"
        );
        assert_eq!(arn_tail("arn:aws:iam::123456789012:root"), "root");
        assert_eq!(arn_tail("plain"), "plain");
    }
}
