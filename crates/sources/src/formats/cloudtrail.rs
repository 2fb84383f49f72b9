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
//! Speed: the record is read into a typed struct that borrows its strings (fields the
//! mapping does not use are skipped, not built), the attributes are set flat, and
//! `unmapped` is the record text in `raw_data`, parsed only when read
//! (docs/design/events.md); about 4× the old `Value`-tree parser. Records the typed read
//! refuses go through `serde_json::Value`. Measure with `cargo bench -p evident-sources
//! --bench event_shapes`.

use std::net::IpAddr;

use evident_model::{Class, Event, Status};
use serde_json::{Map, Value};

use serde::Deserialize;

use super::Shape;
use super::lenient::{List, Obj, Scalar};
use super::util::{arn_tail, mark_unparsed_time, starts_as_json_object};
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
    let name = obj.get("eventName").or_else(|| obj.get("eventname"));
    matches!(name, Some(Value::String(_))) && COMPANION_KEYS.iter().any(|k| obj.contains_key(*k))
}

/// Normalizes one record. `eventName` is required (except in a Panther row); an `eventTime`
/// that is not a time leaves the fallback time and `unmapped.evident_parse` set.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    // Validated once here: `from_str` does not check each string again, and `raw_data`
    // (which `unmapped` is read from) is a copy of the same text.
    let text = std::str::from_utf8(record)
        .ok()
        .filter(|_| starts_as_json_object(record));
    let fast = text.and_then(|t| Some((t, serde_json::from_str::<Record<'_>>(t).ok()?)));
    let (mut event, time_parsed) = match fast {
        Some((text, r)) => {
            let (mut event, time_parsed) = normalize(&r, ctx)?;
            event.set("raw_data", text.to_owned());
            (event, time_parsed)
        }
        None => {
            // A Panther row with both `eventName` and `eventname`, or not JSON at all: the
            // tree says exactly what is wrong, and keeps the AWS spelling of a doubled key.
            let mut obj = json_object(record)?;
            for (camel, lower) in ALIASES {
                if obj.contains_key(*camel) {
                    obj.remove(*lower);
                }
            }
            let tree = Value::Object(obj);
            let r = Record::deserialize(&tree).map_err(|e| ParseError::InvalidJson {
                detail: e.to_string(),
            })?;
            normalize(&r, ctx)?
        }
    };
    event.set_unmapped_record();
    mark_unparsed_time(&mut event, time_parsed);
    Ok(vec![event])
}

/// Top-level keys under their AWS name and the lower-case one some Panther rows have.
const ALIASES: &[(&str, &str)] = &[
    ("eventVersion", "eventversion"),
    ("userIdentity", "useridentity"),
    ("eventTime", "eventtime"),
    ("eventSource", "eventsource"),
    ("eventName", "eventname"),
    ("awsRegion", "awsregion"),
    ("sourceIPAddress", "sourceipaddress"),
    ("userAgent", "useragent"),
    ("requestID", "requestid"),
    ("eventID", "eventid"),
    ("recipientAccountId", "recipientaccountid"),
    ("apiVersion", "apiversion"),
    ("readOnly", "readonly"),
    ("errorCode", "errorcode"),
    ("errorMessage", "errormessage"),
];

/// The fields of a record the mapping reads (keys as [`ALIASES`] lists them); the rest of
/// the record is skipped here and kept as `unmapped` through `raw_data`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Record<'a> {
    #[serde(alias = "eventversion")]
    event_version: Scalar<'a>,
    #[serde(alias = "useridentity")]
    user_identity: Obj<Identity<'a>>,
    #[serde(alias = "eventtime")]
    event_time: Scalar<'a>,
    #[serde(alias = "eventsource")]
    event_source: Scalar<'a>,
    #[serde(alias = "eventname")]
    event_name: Scalar<'a>,
    #[serde(alias = "awsregion")]
    aws_region: Scalar<'a>,
    #[serde(rename = "sourceIPAddress", alias = "sourceipaddress")]
    source_ip_address: Scalar<'a>,
    #[serde(alias = "useragent")]
    user_agent: Scalar<'a>,
    #[serde(rename = "requestID", alias = "requestid")]
    request_id: Scalar<'a>,
    #[serde(rename = "eventID", alias = "eventid")]
    event_id: Scalar<'a>,
    #[serde(alias = "recipientaccountid")]
    recipient_account_id: Scalar<'a>,
    #[serde(alias = "apiversion")]
    api_version: Scalar<'a>,
    #[serde(alias = "readonly")]
    read_only: Scalar<'a>,
    #[serde(alias = "errorcode")]
    error_code: Scalar<'a>,
    #[serde(alias = "errormessage")]
    error_message: Scalar<'a>,
    request_parameters: Obj<Request<'a>>,
    response_elements: Obj<Response<'a>>,
    additional_event_data: Obj<Additional<'a>>,
    resources: List<Resource<'a>>,
    #[serde(rename = "p_log_type")]
    panther_log_type: Scalar<'a>,
    #[serde(rename = "p_event_time")]
    panther_event_time: Scalar<'a>,
}

/// `userIdentity`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Identity<'a> {
    #[serde(rename = "type")]
    kind: Scalar<'a>,
    principal_id: Scalar<'a>,
    arn: Scalar<'a>,
    account_id: Scalar<'a>,
    access_key_id: Scalar<'a>,
    user_name: Scalar<'a>,
    invoked_by: Scalar<'a>,
    session_context: Obj<SessionContext<'a>>,
}

/// `userIdentity.sessionContext`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct SessionContext<'a> {
    attributes: Obj<SessionAttributes<'a>>,
    session_issuer: Obj<SessionIssuer<'a>>,
}

/// `userIdentity.sessionContext.attributes`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct SessionAttributes<'a> {
    mfa_authenticated: Scalar<'a>,
    creation_date: Scalar<'a>,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct SessionIssuer<'a> {
    user_name: Scalar<'a>,
    arn: Scalar<'a>,
}

/// The `requestParameters` IAM changes name their target with.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Request<'a> {
    user_name: Scalar<'a>,
    group_name: Scalar<'a>,
    policy_arn: Scalar<'a>,
    policy_name: Scalar<'a>,
}

/// The `responseElements` the mapping reads.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Response<'a> {
    #[serde(rename = "ConsoleLogin")]
    console_login: Scalar<'a>,
    user: Obj<CreatedUser<'a>>,
    group: Obj<CreatedGroup<'a>>,
}

/// `responseElements.user` of `CreateUser`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct CreatedUser<'a> {
    user_id: Scalar<'a>,
}

/// `responseElements.group` of `CreateGroup`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct CreatedGroup<'a> {
    group_id: Scalar<'a>,
}

/// `additionalEventData` of `ConsoleLogin`.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Additional<'a> {
    #[serde(rename = "MFAUsed")]
    mfa_used: Scalar<'a>,
}

/// One of `resources`.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Resource<'a> {
    #[serde(rename = "ARN")]
    arn: Scalar<'a>,
    #[serde(rename = "type")]
    kind: Scalar<'a>,
    #[serde(rename = "accountId")]
    account_id: Scalar<'a>,
}

/// Builds the event from the record's fields (everything but `unmapped`); the flag is false
/// when `eventTime` was present but not a time.
fn normalize(r: &Record<'_>, ctx: &ParseContext<'_>) -> Result<(Event, bool), ParseError> {
    let panther = r.panther_log_type != Scalar::Absent;
    let name = match &r.event_name {
        Scalar::Str(s) => Some(s.as_ref()),
        Scalar::Absent | Scalar::Null if panther => None,
        Scalar::Absent | Scalar::Null => {
            return Err(ParseError::MissingField {
                field: "eventName".into(),
            });
        }
        _ => {
            return Err(ParseError::WrongType {
                field: "eventName".into(),
                expected: "a string",
            });
        }
    };
    let parsed_time = r.event_time.time_ms();
    let time = parsed_time
        .or_else(|| r.panther_event_time.time_ms())
        .unwrap_or_else(|| ctx.received_at_ms());
    let source = r.event_source.str();
    let kind = classify(name.unwrap_or(""), source, r.read_only.bool());
    let (class, activity) = kind.class_activity();
    let mut e = Event::new(class, activity, time);
    let identity = r.user_identity.get();
    let request = r.request_parameters.get();
    let response = r.response_elements.get();
    let error_code = r.error_code.nonempty();

    e.set("metadata.product.name", "CloudTrail");
    e.set("metadata.product.vendor_name", "AWS");
    put(&mut e, "metadata.uid", r.event_id.str());
    put(&mut e, "metadata.event_code", name);
    put(&mut e, "metadata.log_version", r.event_version.str());

    put(&mut e, "api.operation", name);
    put(&mut e, "api.version", r.api_version.str());
    e.set_opt("api.service.name", source);
    e.set_opt("api.request.uid", r.request_id.str());
    put(&mut e, "api.response.error", error_code);
    put(&mut e, "api.response.message", r.error_message.str());

    e.set("cloud.provider", "AWS");
    put(&mut e, "cloud.region", r.aws_region.str());
    e.set_opt("cloud.account.uid", r.recipient_account_id.str());

    let user = identity.map(ActorUser::of).unwrap_or_default();
    user.put(&mut e, ACTOR_USER);
    if let Some(i) = identity {
        put(
            &mut e,
            "actor.session.credential_uid",
            i.access_key_id.str(),
        );
        if let Some(context) = i.session_context.get() {
            if let Some(attributes) = context.attributes.get() {
                match attributes.mfa_authenticated.str() {
                    Some("true") => {
                        e.set("actor.session.is_mfa", true);
                    }
                    Some("false") => {
                        e.set("actor.session.is_mfa", false);
                    }
                    _ => {}
                }
                e.set_opt(
                    "actor.session.created_time",
                    attributes.creation_date.time_ms(),
                );
            }
            let issuer = context.session_issuer.get().and_then(|s| s.arn.str());
            put(&mut e, "actor.session.issuer", issuer);
        }
        put(&mut e, "actor.invoked_by", i.invoked_by.str());
    }

    if let Some((path, value)) = r.source_ip_address.str().and_then(source_endpoint) {
        e.set(path, value);
    }
    e.set_opt("http_request.user_agent", r.user_agent.str());
    if !r.resources.0.is_empty() {
        let list: Vec<Value> = r.resources.0.iter().map(resource).collect();
        e.set("resources", list);
    }

    let status = match kind {
        Kind::Logon => match response.and_then(|r| r.console_login.str()) {
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
        e.set_opt("status_detail", error_code.or(r.error_message.str()));
    }

    match kind {
        Kind::Logon => {
            user.put(&mut e, USER);
            let mfa = r.additional_event_data.get().and_then(|a| a.mfa_used.str());
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
            let target = request.and_then(|r| r.user_name.str()).or_else(|| {
                if name == Some("ChangePassword") {
                    user.name
                } else {
                    None
                }
            });
            e.set_opt("user.name", target);
            e.set_opt(
                "user.uid",
                response
                    .and_then(|r| r.user.get())
                    .and_then(|u| u.user_id.str()),
            );
            if matches!(activity, 7 | 8) {
                let arn = request.and_then(|r| r.policy_arn.str());
                e.set_opt("policy.uid", arn);
                e.set_opt(
                    "policy.name",
                    request
                        .and_then(|r| r.policy_name.str())
                        .or_else(|| arn.map(arn_tail)),
                );
            }
        }
        Kind::Group(activity) => {
            e.set_opt("group.name", request.and_then(|r| r.group_name.str()));
            e.set_opt(
                "group.uid",
                response
                    .and_then(|r| r.group.get())
                    .and_then(|g| g.group_id.str()),
            );
            e.set_opt("user.name", request.and_then(|r| r.user_name.str()));
            if matches!(activity, 1 | 2) {
                let privilege =
                    request.and_then(|r| r.policy_arn.str().or_else(|| r.policy_name.str()));
                if let Some(p) = privilege {
                    e.set("privileges", vec![Value::from(p)]);
                }
            }
        }
        Kind::Api(_) => {}
    }
    Ok((e, !r.event_time.is_given() || parsed_time.is_some()))
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

/// Where [`ActorUser::put`] writes: `type`, `uid`, `uid_alt`, `name`, `account.uid`.
type UserPaths = [&'static str; 5];

/// `actor.user`.
const ACTOR_USER: UserPaths = [
    "actor.user.type",
    "actor.user.uid",
    "actor.user.uid_alt",
    "actor.user.name",
    "actor.user.account.uid",
];

/// `user` (the account a console sign-in is for).
const USER: UserPaths = [
    "user.type",
    "user.uid",
    "user.uid_alt",
    "user.name",
    "user.account.uid",
];

/// The user `userIdentity` names: type, uid (principalId), uid_alt (ARN), name (userName,
/// else the session issuer's userName, else the ARN's last part), account.uid.
#[derive(Default)]
struct ActorUser<'r> {
    kind: Option<&'r str>,
    uid: Option<&'r str>,
    arn: Option<&'r str>,
    name: Option<&'r str>,
    account: Option<&'r str>,
}

impl<'r> ActorUser<'r> {
    fn of(identity: &'r Identity<'_>) -> ActorUser<'r> {
        let arn = identity.arn.nonempty();
        let issuer = identity
            .session_context
            .get()
            .and_then(|c| c.session_issuer.get());
        let name = identity
            .user_name
            .str()
            .or_else(|| issuer.and_then(|i| i.user_name.str()))
            .or_else(|| identity.arn.str().map(arn_tail))
            .filter(|n| !n.is_empty());
        ActorUser {
            kind: identity.kind.nonempty(),
            uid: identity.principal_id.nonempty(),
            arn,
            name,
            account: identity.account_id.str(),
        }
    }

    /// Writes the user's attributes at `paths` (failed sign-ins have `"principalId": ""`:
    /// empty strings are left out, except the account id, which AWS always fills).
    fn put(&self, e: &mut Event, paths: UserPaths) {
        let [kind, uid, arn, name, account] = paths;
        e.set_opt(kind, self.kind);
        e.set_opt(uid, self.uid);
        e.set_opt(arn, self.arn);
        e.set_opt(name, self.name);
        e.set_opt(account, self.account);
    }
}

/// An OCSF resource from one of `resources`.
fn resource(r: &Resource<'_>) -> Value {
    let mut out = Map::new();
    if let Some(uid) = r.arn.nonempty() {
        out.insert("uid".into(), uid.into());
    }
    if let Some(kind) = r.kind.nonempty() {
        out.insert("type".into(), kind.into());
    }
    if let Some(account) = r.account_id.str() {
        let mut uid = Map::new();
        uid.insert("uid".into(), account.into());
        let mut owner = Map::new();
        owner.insert("account".into(), Value::Object(uid));
        out.insert("owner".into(), Value::Object(owner));
    }
    Value::Object(out)
}

/// `src_endpoint` from `sourceIPAddress`: an IP address, or the AWS service host name that
/// made the call (`ec2.amazonaws.com`) as `domain`. `AWS Internal` maps to nothing.
fn source_endpoint(addr: &str) -> Option<(&'static str, &str)> {
    if addr.parse::<IpAddr>().is_ok() {
        return Some(("src_endpoint.ip", addr));
    }
    let is_host = addr.contains('.')
        && addr
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    is_host.then_some(("src_endpoint.domain", addr))
}

/// Sets a string when there is a non-empty one.
fn put(e: &mut Event, path: &'static str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        e.set(path, v);
    }
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
