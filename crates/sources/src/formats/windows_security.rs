//! Windows Security event log events, as winlogbeat JSON (`winlog.event_id`,
//! `winlog.event_data.*`, `winlog.user_data.*`, `@timestamp`, `winlog.computer_name`; Elastic
//! "Winlogbeat fields" reference) or as the rendered event XML on one line
//! (`<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>…</System>
//! <EventData><Data Name="…">…</Data>…</EventData></Event>`, the Windows Event Log schema).
//! The XML is read by a small hand-written extractor: `EventID`, `TimeCreated@SystemTime`,
//! `Computer`, `Channel`, `Provider@Name`, `EventRecordID`, `Level`, `Keywords`, every
//! `<Data Name="…">` and the leaf elements of `<UserData>` (1102), with the five XML entities
//! and numeric character references decoded. Field meanings follow Microsoft's "Audit
//! logon" / "Audit user account management" / "Audit security group management" event pages.
//!
//! | EventID | OCSF class: activity |
//! | --- | --- |
//! | 4624 / 4625 | Authentication 3002: Logon, Success / Failure (`status_detail` from SubStatus, else Status) |
//! | 4672 (special privileges assigned to new logon) | Authentication: Logon, `privileges` from PrivilegeList |
//! | 4720, 4722, 4723, 4724, 4725, 4726, 4740, 4767, 4738 | Account Change 3001: Create, Enable, Password Change, Password Reset, Disable, Delete, Lock, Unlock, Other |
//! | 4727/4731/4754, 4730/4734/4758 | Group Management 3006: Create, Delete |
//! | 4728/4732/4756, 4729/4733/4757 | Group Management: Add User, Remove User (`group` = Target*, `user` from MemberName/MemberSid) |
//! | 1102, 1100 | Event Log Activity 1008: Clear, Stop |
//! | any other id | Event Log Activity: Other (99): the record is an entry of the Security log that Evident does not interpret; the id is in `metadata.event_code` and `unmapped` |
//!
//! `unmapped`: the whole winlogbeat object for JSON; for XML the System fields and every
//! Data / UserData field by its Windows name, flat (`EventID`, `Computer`, `TargetUserName`,
//! …), as Sigma's Windows rules name them.

use chrono::DateTime;
use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{get, get_str, parse_time};
use crate::parse::{ParseContext, ParseError, json_object, text};

/// Does the record look like a Windows Security event: winlogbeat JSON with
/// `winlog.event_id`, or event XML starting with `<Event`?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    match shape {
        Shape::Json(obj) => get(obj, "winlog.event_id").is_some(),
        Shape::Text(s) => {
            let s = s.trim_start();
            s.starts_with("<Event") && s.contains("<EventID")
        }
    }
}

/// Normalizes one event (JSON or XML).
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let first = record.iter().find(|b| !b.is_ascii_whitespace());
    let (win, unmapped) = if first == Some(&b'<') {
        from_xml(text(record)?)?
    } else {
        let obj = json_object(record)?;
        (from_json(&obj)?, obj)
    };
    let mut e = map(&win, ctx);
    e.set("unmapped", Value::Object(unmapped));
    Ok(vec![e])
}

/// What the mapping needs of an event, from either encoding.
struct WinEvent {
    id: u32,
    time_ms: Option<i64>,
    computer: Option<String>,
    record_id: Option<String>,
    channel: Option<String>,
    provider: Option<String>,
    /// Windows level: 1 critical, 2 error, 3 warning, 4 information.
    level: Option<u8>,
    /// Audit Success (`Some(true)`) / Audit Failure (`Some(false)`) from the keywords.
    audit_success: Option<bool>,
    /// EventData and UserData fields.
    data: Map<String, Value>,
}

impl WinEvent {
    /// A data field, unless absent, empty, `-` or the NULL SID `S-1-0-0`.
    fn d(&self, name: &str) -> Option<&str> {
        self.data
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "-" && *v != "S-1-0-0")
    }
}

/// The event id as a number, from a JSON number or digit string.
fn event_id(v: Option<&Value>, field: &str) -> Result<u32, ParseError> {
    let wrong = || ParseError::WrongType {
        field: field.into(),
        expected: "an event id number",
    };
    match v {
        None | Some(Value::Null) => Err(ParseError::MissingField {
            field: field.into(),
        }),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(wrong),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| wrong()),
        Some(_) => Err(wrong()),
    }
}

/// A scalar JSON value as text.
fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a winlogbeat event.
fn from_json(obj: &Map<String, Value>) -> Result<WinEvent, ParseError> {
    let id = event_id(get(obj, "winlog.event_id"), "winlog.event_id")?;
    let mut data = Map::new();
    for path in ["winlog.event_data", "winlog.user_data"] {
        if let Some(Value::Object(m)) = get(obj, path) {
            data.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    let level = get_str(obj, "log.level").and_then(|l| match l.to_ascii_lowercase().as_str() {
        "critical" => Some(1),
        "error" => Some(2),
        "warning" => Some(3),
        "information" | "info" => Some(4),
        _ => None,
    });
    let keywords = get(obj, "winlog.keywords").and_then(Value::as_array);
    let has_keyword = |k: &str| keywords.is_some_and(|ks| ks.iter().any(|v| v.as_str() == Some(k)));
    let audit_success = match get_str(obj, "event.outcome") {
        Some("success") => Some(true),
        Some("failure") => Some(false),
        _ if has_keyword("Audit Success") => Some(true),
        _ if has_keyword("Audit Failure") => Some(false),
        _ => None,
    };
    Ok(WinEvent {
        id,
        time_ms: get(obj, "@timestamp").and_then(parse_time),
        computer: get_str(obj, "winlog.computer_name")
            .or_else(|| get_str(obj, "host.name"))
            .map(str::to_owned),
        record_id: scalar(get(obj, "winlog.record_id")),
        channel: get_str(obj, "winlog.channel").map(str::to_owned),
        provider: get_str(obj, "winlog.provider_name").map(str::to_owned),
        level,
        audit_success,
        data,
    })
}

/// Reads a rendered event XML record; also returns its flat field map for `unmapped`.
fn from_xml(xml: &str) -> Result<(WinEvent, Map<String, Value>), ParseError> {
    if !xml.trim_start().starts_with("<Event") {
        return Err(ParseError::Unrecognized {
            format: "windows-security",
            detail: "XML record does not start with <Event".into(),
        });
    }
    let id_text = element(xml, "EventID").map(|(_, inner)| decode_xml(inner));
    let id = event_id(id_text.map(Value::String).as_ref(), "EventID")?;
    let text_of = |name: &str| {
        element(xml, name)
            .map(|(_, inner)| decode_xml(inner))
            .filter(|s| !s.is_empty())
    };
    let system_time = element(xml, "TimeCreated").and_then(|(tag, _)| attr(tag, "SystemTime"));
    let provider = element(xml, "Provider").and_then(|(tag, _)| attr(tag, "Name"));
    let keywords = text_of("Keywords");
    let audit_success = keywords
        .as_deref()
        .and_then(|k| u64::from_str_radix(k.trim_start_matches("0x"), 16).ok())
        .and_then(|k| {
            if k & 0x0020_0000_0000_0000 != 0 {
                Some(true)
            } else if k & 0x0010_0000_0000_0000 != 0 {
                Some(false)
            } else {
                None
            }
        });
    let mut win = WinEvent {
        id,
        time_ms: system_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis()),
        computer: text_of("Computer"),
        record_id: text_of("EventRecordID"),
        channel: text_of("Channel"),
        provider: provider.clone(),
        level: text_of("Level").and_then(|l| l.parse().ok()),
        audit_success,
        data: Map::new(),
    };
    let mut flat = Map::new();
    flat.insert("EventID".into(), id.into());
    let system = [
        ("TimeCreated", system_time),
        ("Computer", win.computer.clone()),
        ("EventRecordID", win.record_id.clone()),
        ("Channel", win.channel.clone()),
        ("Provider_Name", provider),
        ("Level", text_of("Level")),
        ("Keywords", keywords),
        ("Task", text_of("Task")),
        ("Opcode", text_of("Opcode")),
    ];
    for (k, v) in system {
        if let Some(v) = v {
            flat.insert(k.into(), v.into());
        }
    }
    if let Some((tag, _)) = element(xml, "Execution") {
        for (a, k) in [("ProcessID", "ProcessID"), ("ThreadID", "ThreadID")] {
            if let Some(v) = attr(tag, a) {
                flat.insert(k.into(), v.into());
            }
        }
    }
    win.data = event_data(xml);
    if let Some((_, user_data)) = element(xml, "UserData") {
        for (k, v) in leaves(user_data) {
            win.data.entry(k).or_insert(Value::String(v));
        }
    }
    for (k, v) in &win.data {
        flat.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok((win, flat))
}

/// The first element `<name …>inner</name>` (or `<name …/>`): (start tag, inner XML).
fn element<'a>(xml: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    element_at(xml, name).map(|(tag, inner, _)| (tag, inner))
}

/// [`element`], with the byte offset just past the element.
fn element_at<'a>(xml: &'a str, name: &str) -> Option<(&'a str, &'a str, usize)> {
    let mut from = 0;
    loop {
        let at = from + xml.get(from..)?.find('<')?;
        let after = &xml[at + 1..];
        if after.starts_with(name)
            && after[name.len()..].starts_with([' ', '>', '/', '\t', '\r', '\n'])
        {
            let gt = after.find('>')?;
            let tag = &after[..gt];
            let body_start = at + 1 + gt + 1;
            if tag.ends_with('/') {
                return Some((tag, "", body_start));
            }
            let body = &after[gt + 1..];
            let close = format!("</{name}>");
            let end = body.find(&close)?;
            return Some((tag, &body[..end], body_start + end + close.len()));
        }
        from = at + 1;
    }
}

/// Attribute `name` of a start tag, entity-decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut from = 0;
    loop {
        let at = from + tag.get(from..)?.find(name)?;
        let before_ok = at > 0 && tag.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = tag[at + name.len()..].trim_start();
        if before_ok && let Some(rest) = rest.strip_prefix('=') {
            let rest = rest.trim_start();
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let value = &rest[1..];
            let end = value.find(quote)?;
            return Some(decode_xml(&value[..end]));
        }
        from = at + name.len();
    }
}

/// Every `<Data Name="N">V</Data>` (unnamed ones under `Data` as an array).
fn event_data(xml: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut unnamed = Vec::new();
    let mut rest = xml;
    while let Some((tag, inner, end)) = element_at(rest, "Data") {
        let value = decode_xml(inner);
        match attr(tag, "Name") {
            Some(name) => {
                out.insert(name, Value::String(value));
            }
            None => unnamed.push(Value::String(value)),
        }
        rest = rest.get(end..).unwrap_or("");
    }
    if !unnamed.is_empty() {
        out.insert("Data".into(), Value::Array(unnamed));
    }
    out
}

/// Leaf elements `<N …>text</N>` anywhere inside `xml`, in order.
fn leaves(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else { break };
        let tag = &after[..gt];
        let body = &after[gt + 1..];
        rest = body;
        if tag.starts_with(['/', '?', '!']) || tag.ends_with('/') {
            continue;
        }
        let name = tag
            .split(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or(tag);
        let text_end = body.find('<').unwrap_or(body.len());
        if body[text_end..].starts_with(&format!("</{name}>")) {
            out.push((name.to_owned(), decode_xml(&body[..text_end])));
            rest = &body[text_end..];
        }
    }
    out
}

/// Decodes `&amp; &lt; &gt; &quot; &apos;` and `&#N;`/`&#xH;`; anything else is kept.
fn decode_xml(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let decoded = after.find(';').filter(|semi| *semi <= 10).and_then(|semi| {
            let c = match &after[1..semi] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                num => {
                    let code = match num.strip_prefix("#x").or_else(|| num.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// OCSF class and activity for an event id.
fn class_of(id: u32) -> (Class, u8) {
    use Class::*;
    match id {
        4624 | 4625 | 4672 => (Authentication, 1),
        4720 => (AccountChange, 1),
        4722 => (AccountChange, 2),
        4723 => (AccountChange, 3),
        4724 => (AccountChange, 4),
        4725 => (AccountChange, 5),
        4726 => (AccountChange, 6),
        4740 => (AccountChange, 9),
        4767 => (AccountChange, 12),
        4738 => (AccountChange, 99),
        4727 | 4731 | 4754 => (GroupManagement, 6),
        4730 | 4734 | 4758 => (GroupManagement, 5),
        4728 | 4732 | 4756 => (GroupManagement, 3),
        4729 | 4733 | 4757 => (GroupManagement, 4),
        1102 => (EventLogActivity, 1),
        1100 => (EventLogActivity, 7),
        _ => (EventLogActivity, 99),
    }
}

/// OCSF logon type name for a Windows LogonType (the ids are the same).
fn logon_type(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "System",
        2 => "Interactive",
        3 => "Network",
        4 => "Batch",
        5 => "OS Service",
        7 => "Unlock",
        8 => "Network Cleartext",
        9 => "New Credentials",
        10 => "Remote Interactive",
        11 => "Cached Interactive",
        12 => "Cached Remote Interactive",
        13 => "Cached Unlock",
        _ => return None,
    })
}

/// What an NTSTATUS code of a failed logon means (Microsoft's 4625 page).
fn failure_reason(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_lowercase().as_str() {
        "0xc0000064" => "user name does not exist",
        "0xc000006a" => "bad password",
        "0xc000006d" => "bad user name or authentication information",
        "0xc000006e" => "account restriction",
        "0xc000006f" => "logon outside authorized hours",
        "0xc0000070" => "workstation restriction",
        "0xc0000071" => "password expired",
        "0xc0000072" => "account disabled",
        "0xc00000dc" => "server in the wrong state",
        "0xc0000133" => "clocks out of sync",
        "0xc000015b" => "logon type not granted",
        "0xc000018c" => "trust relationship failed",
        "0xc0000192" => "Netlogon service not started",
        "0xc0000193" => "account expired",
        "0xc0000224" => "password must change at next logon",
        "0xc0000225" => "Windows error, not a risk",
        "0xc0000234" => "account locked out",
        "0xc00002ee" => "error during logon",
        "0xc0000413" => "authentication firewall",
        _ => return None,
    })
}

/// Sets `{prefix}.name/domain/uid` from the `{who}UserName`, `{who}DomainName`, `{who}{sid}`
/// fields (`who` = `Target` / `Subject`).
fn set_user(e: &mut Event, w: &WinEvent, prefix: &str, who: &str, sid: &str) {
    e.set_opt(format!("{prefix}.name"), w.d(&format!("{who}UserName")));
    e.set_opt(format!("{prefix}.domain"), w.d(&format!("{who}DomainName")));
    e.set_opt(format!("{prefix}.uid"), w.d(&format!("{who}{sid}")));
}

/// The user name inside a MemberName DN (`CN=Smith\, Bob,OU=…` → `Smith, Bob`), or the
/// value itself when it is not a DN.
fn member_name(dn: &str) -> String {
    let Some(rest) = dn.strip_prefix("CN=").or_else(|| dn.strip_prefix("cn=")) else {
        return dn.to_owned();
    };
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            ',' => break,
            c => out.push(c),
        }
    }
    out
}

/// The OCSF event for `w`.
fn map(w: &WinEvent, ctx: &ParseContext<'_>) -> Event {
    let (class, activity) = class_of(w.id);
    let mut e = Event::new(
        class,
        activity,
        w.time_ms.unwrap_or_else(|| ctx.received_at_ms()),
    );
    e.set("metadata.product.name", "Microsoft Windows");
    e.set("metadata.product.vendor_name", "Microsoft");
    e.set("metadata.event_code", w.id.to_string());
    e.set_opt("metadata.uid", w.record_id.as_deref());
    e.set_opt("metadata.log_name", w.channel.as_deref());
    e.set_opt("metadata.log_provider", w.provider.as_deref());
    e.set_opt("device.hostname", w.computer.as_deref());
    let severity = match w.level {
        Some(1) => Severity::Critical,
        Some(2) => Severity::High,
        Some(3) => Severity::Medium,
        _ => Severity::Informational,
    };
    e.set_severity(severity);
    let status = match (w.id, w.audit_success) {
        (4625, _) => Some(Status::Failure),
        (_, Some(true)) => Some(Status::Success),
        (_, Some(false)) => Some(Status::Failure),
        (_, None) if class != Class::EventLogActivity || activity != 99 => Some(Status::Success),
        _ => None,
    };
    if let Some(s) = status {
        e.set_status(s);
    }
    match class {
        Class::Authentication => authentication(&mut e, w),
        Class::AccountChange => {
            set_user(&mut e, w, "user", "Target", "Sid");
            set_user(&mut e, w, "actor.user", "Subject", "UserSid");
            e.set_opt("actor.session.uid", w.d("SubjectLogonId"));
        }
        Class::GroupManagement => {
            set_user(&mut e, w, "group", "Target", "Sid");
            set_user(&mut e, w, "actor.user", "Subject", "UserSid");
            e.set_opt("actor.session.uid", w.d("SubjectLogonId"));
            let group_type = match w.id {
                4727..=4730 => Some("Security Enabled Global Group"),
                4731..=4734 => Some("Security Enabled Local Group"),
                4754..=4758 => Some("Security Enabled Universal Group"),
                _ => None,
            };
            e.set_opt("group.type", group_type);
            e.set_opt("user.name", w.d("MemberName").map(member_name));
            e.set_opt("user.uid", w.d("MemberSid"));
        }
        _ => {
            set_user(&mut e, w, "actor.user", "Subject", "UserSid");
            e.set_opt("log_name", w.channel.as_deref());
            e.set_opt("log_provider", w.provider.as_deref());
        }
    }
    e
}

/// Authentication attributes of 4624 / 4625 / 4672.
fn authentication(e: &mut Event, w: &WinEvent) {
    e.set_opt("dst_endpoint.hostname", w.computer.as_deref());
    if w.id == 4672 {
        set_user(e, w, "user", "Subject", "UserSid");
        e.set_opt("session.uid", w.d("SubjectLogonId"));
        if let Some(list) = w.d("PrivilegeList") {
            let privileges: Vec<Value> = list.split_whitespace().map(Value::from).collect();
            e.set("privileges", privileges);
        }
        return;
    }
    set_user(e, w, "user", "Target", "UserSid");
    set_user(e, w, "actor.user", "Subject", "UserSid");
    e.set_opt("session.uid", w.d("TargetLogonId"));
    if let Some(t) = w.d("LogonType").and_then(|t| t.parse::<u8>().ok()) {
        e.set("logon_type_id", t);
        e.set("logon_type", logon_type(t).unwrap_or("Other"));
        e.set("is_remote", matches!(t, 3 | 8 | 10 | 12));
    }
    e.set_opt("src_endpoint.ip", w.d("IpAddress"));
    e.set_opt(
        "src_endpoint.port",
        w.d("IpPort")
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0),
    );
    e.set_opt("src_endpoint.hostname", w.d("WorkstationName"));
    e.set_opt("logon_process.name", w.d("LogonProcessName"));
    if let Some(package) = w.d("AuthenticationPackageName") {
        let id = match package.to_ascii_lowercase().as_str() {
            "ntlm" => 1,
            "kerberos" => 2,
            _ => 99,
        };
        e.set("auth_protocol_id", id).set("auth_protocol", package);
    }
    if w.id == 4625 {
        let sub = w.d("SubStatus").filter(|s| !s.eq_ignore_ascii_case("0x0"));
        let code = sub.or_else(|| w.d("Status"));
        e.set_opt("status_code", code);
        e.set_opt(
            "status_detail",
            code.and_then(failure_reason)
                .or_else(|| w.d("FailureReason")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_extraction_and_entities() {
        let xml = r#"<Event xmlns="x"><System><EventID Qualifiers="0">4624</EventID><TimeCreated SystemTime='2026-11-26T10:00:00.1234567Z'/></System><EventData><Data Name="A">x &amp; &lt;y&gt; &#65;&#x42;</Data><Data Name="B"/><Data Name="C">-</Data></EventData></Event>"#;
        assert_eq!(element(xml, "EventID").map(|(_, i)| i), Some("4624"));
        assert_eq!(
            element(xml, "TimeCreated")
                .and_then(|(t, _)| attr(t, "SystemTime"))
                .as_deref(),
            Some("2026-11-26T10:00:00.1234567Z")
        );
        let data = event_data(xml);
        assert_eq!(data["A"], "x & <y> AB");
        assert_eq!(data["B"], "");
        assert_eq!(data["C"], "-");
        assert_eq!(decode_xml("a &bogus; &amp"), "a &bogus; &amp");
    }

    #[test]
    fn user_data_leaves_and_member_dns() {
        let ud = r#"<LogFileCleared xmlns="y"><SubjectUserSid>S-1-5-21-1</SubjectUserSid><SubjectUserName>adm</SubjectUserName><Empty/></LogFileCleared>"#;
        assert_eq!(
            leaves(ud),
            vec![
                ("SubjectUserSid".to_owned(), "S-1-5-21-1".to_owned()),
                ("SubjectUserName".to_owned(), "adm".to_owned())
            ]
        );
        assert_eq!(
            member_name(r"CN=Smith\, Bob,OU=Staff,DC=corp"),
            "Smith, Bob"
        );
        assert_eq!(member_name("bob"), "bob");
    }
}
