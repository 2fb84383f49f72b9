//! PostgreSQL server log lines (stderr log with a `log_line_prefix`), in particular the
//! pgaudit extension's `AUDIT:` entries: `2026-11-03 09:14:07.123 UTC [4242] app@customers
//! LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.customers,"SELECT …",<not logged>`. The
//! AUDIT fields follow the pgaudit README ("Format"): AUDIT_TYPE, STATEMENT_ID,
//! SUBSTATEMENT_ID, CLASS, COMMAND, OBJECT_TYPE, OBJECT_NAME, STATEMENT, PARAMETER (and ROWS
//! with `pgaudit.log_rows`), CSV-quoted. Prefixes are read loosely: a `%m`/`%t` time (with
//! `UTC`, `+hh[:mm]` or a zone name, taken as UTC) or `%n` epoch at the start, `[%p]`, `%u@%d`,
//! `user=… db=… app=… client=…` and RDS's `%t:%r:%u@%d:[%p]:`; the message starts after the
//! first `SEVERITY:  ` (PostgreSQL "Error Reporting and Logging" §`log_line_prefix`). Lines
//! sent to syslog (`postgres[pid]: [n-1] …`) take their time, pid and host from the header.
//!
//! | line | OCSF class: activity |
//! | --- | --- |
//! | AUDIT READ (SELECT, COPY … TO) | Datastore Activity 6005: Read |
//! | AUDIT WRITE INSERT / COPY … FROM, UPDATE / MERGE, DELETE / TRUNCATE | Datastore: Write / Update / Delete |
//! | AUDIT DDL CREATE …, ALTER … / COMMENT, DROP … | Datastore: Create / Update / Delete (other DDL: Other) |
//! | AUDIT FUNCTION, MISC, MISC_SET | Datastore: Other (99) |
//! | AUDIT ROLE GRANT/REVOKE privileges ON object | Group Management 3006: Assign / Revoke Privileges (`group.name` = grantee, `privileges`) |
//! | AUDIT ROLE GRANT/REVOKE role TO/FROM role | Group Management: Add User / Remove User |
//! | AUDIT ROLE CREATE / ALTER (… PASSWORD …) / DROP ROLE or USER | Account Change 3001: Create / Other (Password Change) / Delete |
//! | `connection received: host=…` | Datastore: Connect |
//! | `connection authorized: user=… database=…` | Authentication 3002: Logon, Success (`service.name` = database) |
//! | FATAL `password authentication failed …`, `no pg_hba.conf entry …`, `role "…" does not exist` | Authentication: Logon, Failure |
//! | `disconnection: …` | Authentication: Logoff |
//! | `statement: …`, `execute …: …`, `duration: … statement: …` | Datastore: Query |
//! | any other line | Datastore: Other (ERROR/FATAL/PANIC → Failure, severity Medium/High/Critical; WARNING → Low) |
//!
//! Datastore events carry `actor.user.name`, `database.name`, `query_info.query_string`,
//! `table.name` (TABLE/VIEW objects) and `resources`; every parsed field is in `unmapped`
//! under pgaudit's upper-case names and csvlog's column names (`log_time`, `process_id`,
//! `user_name`, `database_name`, `application_name`, `connection_from`, `error_severity`,
//! `message`).

use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value, json};

use super::Shape;
use super::syslog::parse_syslog_header;
use super::util::put;
use crate::parse::{ParseContext, ParseError, text};

/// Severity words PostgreSQL writes before `:  `.
const LEVELS: &[&str] = &[
    "LOG",
    "ERROR",
    "FATAL",
    "PANIC",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
    "DETAIL",
    "HINT",
    "STATEMENT",
    "CONTEXT",
    "QUERY",
    "LOCATION",
];

/// Does the record look like a PostgreSQL log line: a pgaudit `AUDIT: SESSION,`/`OBJECT,`
/// entry, or a timestamp prefix with a `[pid]` and a `SEVERITY:  ` marker?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Text(s) = shape else { return false };
    let Some(line) = Line::split(s) else {
        return false;
    };
    if line.message.starts_with("AUDIT: SESSION,") || line.message.starts_with("AUDIT: OBJECT,") {
        return true;
    }
    let p = Prefix::parse(line.prefix);
    p.time_ms.is_some() && p.pid.is_some()
}

/// Normalizes one PostgreSQL log line.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let s = text(record)?.trim_end();
    let line = Line::split(s).ok_or_else(|| ParseError::Unrecognized {
        format: "pgaudit",
        detail: "no `LOG:  `/`ERROR:  ` severity marker".into(),
    })?;
    let prefix = Prefix::parse(line.prefix);
    let mut unmapped = prefix.fields();
    unmapped.insert("error_severity".into(), line.level.into());
    unmapped.insert("message".into(), line.message.into());
    let mut e = match line.message.strip_prefix("AUDIT: ") {
        Some(audit) => audit_event(&prefix, audit, &mut unmapped),
        None => server_event(&prefix, line.level, line.message),
    };
    // Lines sent with `log_destination = syslog` carry the time and pid in the syslog header.
    let header = prefix
        .time_ms
        .is_none()
        .then(|| parse_syslog_header(s, ctx.received_at_ms()))
        .flatten();
    if prefix.time_ms.is_none() {
        e.set(
            "time",
            header.as_ref().map_or(ctx.received_at_ms(), |h| h.time_ms),
        );
    }
    if let Some(h) = &header {
        e.set_opt("device.hostname", h.host);
        e.set_opt(
            "actor.process.pid",
            h.pid_number().filter(|_| prefix.pid.is_none()),
        );
    }
    e.set("metadata.product.name", "PostgreSQL");
    e.set(
        "metadata.product.vendor_name",
        "PostgreSQL Global Development Group",
    );
    e.set("message", line.message);
    e.set_opt("actor.process.pid", prefix.pid);
    e.set_opt("src_endpoint.ip", prefix.client_ip);
    e.set_opt("src_endpoint.port", prefix.client_port);
    e.set("unmapped", Value::Object(unmapped));
    Ok(vec![e])
}

/// A log line cut at its severity marker.
struct Line<'a> {
    prefix: &'a str,
    level: &'a str,
    message: &'a str,
}

impl<'a> Line<'a> {
    /// Splits at the first `LEVEL:  ` whose word is a PostgreSQL severity.
    fn split(s: &'a str) -> Option<Line<'a>> {
        let mut from = 0;
        while let Some(at) = s.get(from..)?.find(":  ").map(|i| i + from) {
            let head = &s[..at];
            let start = head.rfind([' ', ':', ']']).map_or(0, |i| i + 1);
            let word = &head[start..];
            if LEVELS.contains(&word) {
                return Some(Line {
                    prefix: &s[..start],
                    level: word,
                    message: &s[at + 3..],
                });
            }
            from = at + 1;
        }
        None
    }
}

/// What a `log_line_prefix` told.
#[derive(Default)]
struct Prefix<'a> {
    time: Option<&'a str>,
    time_ms: Option<i64>,
    pid: Option<u64>,
    user: Option<&'a str>,
    db: Option<&'a str>,
    app: Option<&'a str>,
    client: Option<&'a str>,
    client_ip: Option<&'a str>,
    client_port: Option<u16>,
}

impl<'a> Prefix<'a> {
    /// Reads the fields of a prefix.
    fn parse(s: &'a str) -> Prefix<'a> {
        let mut p = Prefix::default();
        let rest = match leading_time(s) {
            Some((time, ms, len)) => {
                p.time = Some(time);
                p.time_ms = Some(ms);
                &s[len..]
            }
            None => s,
        };
        for token in rest.split([' ', ',']).filter(|t| !t.is_empty()) {
            let token = token.trim_matches(':');
            if let Some(pid) = token
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
            {
                p.pid = p.pid.or(Some(pid));
            } else if let Some((k, v)) = token.split_once('=') {
                match k {
                    "user" => p.user = known(v),
                    "db" | "database" => p.db = known(v),
                    "app" => p.app = known(v),
                    "client" | "host" | "remote" => p.set_client(v),
                    _ => {}
                }
            } else {
                // `user@db`, or RDS's `%r:%u@%d:[%p]` run together with `:`.
                for part in token.split(':') {
                    p.read_part(part);
                }
            }
        }
        p
    }

    /// One `user@db`, `host(port)` or `[pid]` part.
    fn read_part(&mut self, part: &'a str) {
        if let Some(pid) = part
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse().ok())
        {
            self.pid = self.pid.or(Some(pid));
        } else if let Some((user, db)) = part.split_once('@') {
            if self.user.is_none() && self.db.is_none() {
                self.user = known(user);
                self.db = known(db);
            }
        } else if part.ends_with(')') && part.contains('(') {
            self.set_client(part);
        }
    }

    /// `host` or `host(port)`.
    fn set_client(&mut self, v: &'a str) {
        let Some(v) = known(v) else { return };
        self.client = Some(v);
        let (host, port) = match v.split_once('(') {
            Some((h, port)) => (h, port.trim_end_matches(')').parse().ok()),
            None => (v, None),
        };
        if host.parse::<std::net::IpAddr>().is_ok() {
            self.client_ip = Some(host);
            self.client_port = port;
        }
    }

    /// The prefix fields by csvlog column name.
    fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        put(&mut m, "log_time", self.time);
        put(&mut m, "process_id", self.pid);
        put(&mut m, "user_name", self.user);
        put(&mut m, "database_name", self.db);
        put(&mut m, "application_name", self.app);
        put(&mut m, "connection_from", self.client);
        m
    }
}

/// A value unless PostgreSQL's placeholder `[unknown]` or empty.
fn known(v: &str) -> Option<&str> {
    (!v.is_empty() && v != "[unknown]" && v != "[local]").then_some(v)
}

/// A `%m`/`%t` (`YYYY-MM-DD HH:MM:SS[.fff] ZONE`) or `%n` (epoch) time at the start:
/// (as written, ms since the epoch, byte length).
fn leading_time(s: &str) -> Option<(&str, i64, usize)> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7) && b.get(10) == Some(&b' ') {
        let mut end = 19;
        if b.get(end) == Some(&b'.') {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        let naive = NaiveDateTime::parse_from_str(s.get(..end)?, "%Y-%m-%d %H:%M:%S%.f").ok()?;
        let mut len = end;
        let mut offset = 0;
        if b.get(end) == Some(&b' ') {
            let zone = s[end + 1..].split([' ', ':']).next().unwrap_or("");
            let zone = if zone.starts_with(['+', '-']) {
                // `+05:30`: the `:` split cut the minutes off.
                let full = s[end + 1..].split(' ').next().unwrap_or(zone);
                let full = full.trim_end_matches(':');
                offset = zone_offset(full).unwrap_or(0);
                full
            } else {
                zone
            };
            if !zone.is_empty()
                && zone.bytes().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b':' | b'/' | b'_')
                })
            {
                len = end + 1 + zone.len();
            }
        }
        let time = FixedOffset::east_opt(offset)?
            .from_local_datetime(&naive)
            .single()?
            .timestamp_millis();
        return Some((&s[..len], time, len));
    }
    let token = s.split(' ').next()?;
    let (secs, frac) = token.split_once('.')?;
    if secs.len() == 10
        && secs.bytes().all(|c| c.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|c| c.is_ascii_digit())
    {
        let ms = format!("{:0<3}", frac.get(..3.min(frac.len()))?)
            .parse::<i64>()
            .ok()?;
        return Some((token, secs.parse::<i64>().ok()? * 1000 + ms, token.len()));
    }
    None
}

/// Seconds east of UTC for `+hh`, `+hhmm`, `+hh:mm` (and `-`).
fn zone_offset(z: &str) -> Option<i32> {
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    Some(sign * (h * 3600 + m * 60))
}

/// pgaudit's field names, in order.
const AUDIT_FIELDS: [&str; 10] = [
    "AUDIT_TYPE",
    "STATEMENT_ID",
    "SUBSTATEMENT_ID",
    "CLASS",
    "COMMAND",
    "OBJECT_TYPE",
    "OBJECT_NAME",
    "STATEMENT",
    "PARAMETER",
    "ROWS",
];

/// Splits a CSV row (double-quoted fields with `""` escapes; an unterminated quote runs to
/// the end).
fn csv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.next_if_eq(&'"').is_some() {
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                out.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            c => field.push(c),
        }
        at_start = false;
    }
    out.push(field);
    out
}

/// The event for a pgaudit `AUDIT:` entry; adds its fields to `unmapped`.
fn audit_event(p: &Prefix<'_>, audit: &str, unmapped: &mut Map<String, Value>) -> Event {
    let values = csv(audit);
    for (i, v) in values.iter().enumerate() {
        let name = AUDIT_FIELDS
            .get(i)
            .map_or_else(|| format!("FIELD_{}", i + 1), |n| (*n).to_owned());
        unmapped.insert(name, Value::String(v.clone()));
    }
    let field = |i: usize| values.get(i).map(String::as_str).filter(|v| !v.is_empty());
    let class = field(3).unwrap_or("");
    let command = field(4).unwrap_or("").to_ascii_uppercase();
    let statement = field(7).filter(|s| !s.starts_with('<'));
    let time = p.time_ms.unwrap_or(0);
    let mut e = if class == "ROLE" {
        role_event(&command, statement, time)
    } else {
        let mut e = Event::new(
            Class::DatastoreActivity,
            datastore_activity(class, &command, statement),
            time,
        );
        e.set_opt("query_info.query_string", statement);
        e
    };
    e.set_status(Status::Success);
    e.set("metadata.log_provider", "pgaudit");
    e.set_opt("actor.user.name", p.user);
    if e.class() == Some(Class::DatastoreActivity) {
        e.set_opt("database.name", p.db);
        e.set("database.type_id", 1)
            .set("database.type", "Relational");
    }
    if let Some(name) = field(6) {
        let object_type = field(5);
        e.set("resources", json!([{"name": name, "type": object_type}]));
        if e.class() == Some(Class::DatastoreActivity)
            && matches!(
                object_type,
                Some(
                    "TABLE" | "VIEW" | "MATERIALIZED VIEW" | "FOREIGN TABLE" | "PARTITIONED TABLE"
                )
            )
        {
            e.set("table.name", name);
        }
    }
    e
}

/// Datastore activity for a pgaudit CLASS and COMMAND.
fn datastore_activity(class: &str, command: &str, statement: Option<&str>) -> u8 {
    match class {
        "READ" => 1,
        "WRITE" => match command {
            "UPDATE" | "MERGE" => 2,
            "DELETE" | "TRUNCATE TABLE" | "TRUNCATE" => 7,
            "COPY" if statement.is_some_and(|s| s.to_ascii_uppercase().contains(" TO ")) => 1,
            _ => 5,
        },
        "DDL" => {
            if command.starts_with("CREATE") || command == "SELECT INTO" {
                6
            } else if command.starts_with("DROP") {
                7
            } else if command.starts_with("ALTER") || command.starts_with("COMMENT") {
                2
            } else {
                99
            }
        }
        _ => 99,
    }
}

/// Words of a statement, with double-quoted identifiers kept whole and unquoted.
fn words(statement: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in statement.chars() {
        match c {
            '"' => quoted = !quoted,
            c if !quoted && (c.is_whitespace() || c == ';' || c == ',') => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                if c == ',' {
                    out.push(",".into());
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The event for a pgaudit ROLE statement (GRANT, REVOKE, CREATE/ALTER/DROP ROLE).
fn role_event(command: &str, statement: Option<&str>, time: i64) -> Event {
    let words = statement.map(words).unwrap_or_default();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let find = |kw: &str| upper.iter().position(|w| w == kw);
    let list = |from: usize, to: usize| -> Vec<&str> {
        words
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .filter(|w| *w != ",")
            .collect()
    };
    match command {
        "GRANT" | "REVOKE" => {
            let grant = command == "GRANT";
            let (on, target_kw) = (find("ON"), if grant { "TO" } else { "FROM" });
            let target = find(target_kw);
            let end_of_targets = upper
                .iter()
                .position(|w| w == "WITH" || w == "GRANTED" || w == "CASCADE" || w == "RESTRICT")
                .unwrap_or(upper.len());
            let grantees = target
                .map(|t| list(t + 1, end_of_targets))
                .unwrap_or_default();
            let first_arg = if !grant && upper.get(1).is_some_and(|w| w == "GRANT" || w == "ADMIN")
            {
                4
            } else {
                1
            };
            match (on, target) {
                (Some(on), _) => {
                    let mut e = Event::new(Class::GroupManagement, if grant { 1 } else { 2 }, time);
                    let privileges: Vec<Value> = list(first_arg, on)
                        .into_iter()
                        .map(|p| Value::from(p.to_ascii_uppercase()))
                        .collect();
                    if !privileges.is_empty() {
                        e.set("privileges", privileges);
                    }
                    e.set_opt("group.name", grantees.first().copied());
                    e
                }
                (None, Some(t)) => {
                    let mut e = Event::new(Class::GroupManagement, if grant { 3 } else { 4 }, time);
                    e.set_opt("group.name", list(first_arg, t).first().copied());
                    e.set_opt("user.name", grantees.first().copied());
                    e
                }
                (None, None) => Event::new(Class::GroupManagement, 99, time),
            }
        }
        _ => {
            let activity = if command.starts_with("CREATE") {
                1
            } else if command.starts_with("DROP") {
                6
            } else if command.starts_with("ALTER") && find("PASSWORD").is_some() {
                3
            } else {
                99
            };
            let mut e = Event::new(Class::AccountChange, activity, time);
            // `CREATE ROLE [IF NOT EXISTS] name`, `DROP USER IF EXISTS name`, `ALTER ROLE name …`.
            let name_at = upper
                .iter()
                .position(|w| w == "ROLE" || w == "USER" || w == "GROUP")
                .map(|i| i + 1)
                .map(|i| {
                    if upper.get(i).is_some_and(|w| w == "IF") {
                        i + 2 + usize::from(upper.get(i + 1).is_some_and(|w| w == "NOT"))
                    } else {
                        i
                    }
                });
            e.set_opt(
                "user.name",
                name_at.and_then(|i| words.get(i)).map(String::as_str),
            );
            e
        }
    }
}

/// The event for a server line that is not an AUDIT entry.
fn server_event(p: &Prefix<'_>, level: &str, message: &str) -> Event {
    let time = p.time_ms.unwrap_or(0);
    let kv = |key: &str| -> Option<&str> {
        message
            .split(' ')
            .find_map(|t| t.strip_prefix(key)?.strip_prefix('='))
            .and_then(known)
    };
    if let Some(rest) = message.strip_prefix("connection received: ") {
        let mut e = Event::new(Class::DatastoreActivity, 3, time);
        e.set_status(Status::Success);
        let host = rest.split(' ').find_map(|t| t.strip_prefix("host="));
        e.set_opt(
            "src_endpoint.ip",
            host.filter(|h| h.parse::<std::net::IpAddr>().is_ok()),
        );
        e.set_opt(
            "src_endpoint.port",
            kv("port").and_then(|v| v.parse::<u16>().ok()),
        );
        return e;
    }
    if message.starts_with("connection authorized: ") {
        let mut e = Event::new(Class::Authentication, 1, time);
        e.set_status(Status::Success);
        e.set_opt("user.name", kv("user").or(p.user));
        e.set_opt("service.name", kv("database").or(p.db));
        return e;
    }
    if message.starts_with("disconnection: ") {
        let mut e = Event::new(Class::Authentication, 2, time);
        e.set_status(Status::Success);
        e.set_opt("user.name", kv("user").or(p.user));
        e.set_opt("service.name", kv("database").or(p.db));
        e.set_opt(
            "src_endpoint.ip",
            kv("host").filter(|h| h.parse::<std::net::IpAddr>().is_ok()),
        );
        e.set_opt(
            "src_endpoint.port",
            kv("port").and_then(|v| v.parse::<u16>().ok()),
        );
        return e;
    }
    if level == "FATAL" {
        let failed_user = message
            .strip_prefix("password authentication failed for user \"")
            .or_else(|| message.strip_prefix("role \""))
            .and_then(|r| r.split_once('"'))
            .map(|(u, _)| u);
        let hba = message.strip_prefix("no pg_hba.conf entry for ");
        if failed_user.is_some() || hba.is_some() {
            let mut e = Event::new(Class::Authentication, 1, time);
            e.set_status(Status::Failure);
            e.set("status_detail", message);
            e.set_severity(Severity::Medium);
            let hba_user = hba
                .and_then(|r| r.split_once("user \""))
                .and_then(|(_, r)| r.split_once('"'))
                .map(|(u, _)| u);
            e.set_opt("user.name", failed_user.or(hba_user).or(p.user));
            let hba_host = hba
                .and_then(|r| r.strip_prefix("host \""))
                .and_then(|r| r.split_once('"'))
                .map(|(h, _)| h);
            e.set_opt(
                "src_endpoint.ip",
                hba_host.filter(|h| h.parse::<std::net::IpAddr>().is_ok()),
            );
            e.set_opt("service.name", p.db);
            return e;
        }
    }
    let query = if let Some(q) = message.strip_prefix("statement: ") {
        Some(q)
    } else if message.starts_with("execute ") || message.starts_with("duration: ") {
        message
            .split_once(": ")
            .map(|(_, q)| q)
            .map(|q| q.split_once("statement: ").map_or(q, |(_, s)| s))
    } else {
        None
    };
    let mut e = Event::new(
        Class::DatastoreActivity,
        if query.is_some() { 4 } else { 99 },
        time,
    );
    e.set_opt(
        "query_info.query_string",
        query.or((level == "STATEMENT").then_some(message)),
    );
    e.set_opt("actor.user.name", p.user);
    if let Some(db) = p.db {
        e.set("database.name", db)
            .set("database.type_id", 1)
            .set("database.type", "Relational");
    }
    match level {
        "ERROR" => {
            e.set_status(Status::Failure).set_severity(Severity::Medium);
        }
        "FATAL" => {
            e.set_status(Status::Failure).set_severity(Severity::High);
        }
        "PANIC" => {
            e.set_status(Status::Failure)
                .set_severity(Severity::Critical);
        }
        "WARNING" => {
            e.set_severity(Severity::Low);
        }
        _ => {}
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_commas() {
        assert_eq!(
            csv(r#"SESSION,1,1,READ,SELECT,,,"SELECT a, ""b"" FROM t",<not logged>"#),
            [
                "SESSION",
                "1",
                "1",
                "READ",
                "SELECT",
                "",
                "",
                r#"SELECT a, "b" FROM t"#,
                "<not logged>"
            ]
        );
        assert_eq!(
            csv(r#"a,"unterminated, still"#),
            ["a", "unterminated, still"]
        );
    }

    #[test]
    fn prefixes() {
        let l =
            Line::split("2026-11-03 09:14:07.123 UTC [4242] app@customers LOG:  AUDIT: x").unwrap();
        let p = Prefix::parse(l.prefix);
        assert_eq!(
            (p.time_ms, p.pid, p.user, p.db),
            (
                Some(1_793_697_247_123),
                Some(4242),
                Some("app"),
                Some("customers")
            )
        );
        let l =
            Line::split("2026-11-03 09:14:07 UTC:10.0.0.5(52345):app@customers:[4242]:LOG:  hi")
                .unwrap();
        let p = Prefix::parse(l.prefix);
        assert_eq!(
            (p.pid, p.user, p.db, p.client_ip, p.client_port),
            (
                Some(4242),
                Some("app"),
                Some("customers"),
                Some("10.0.0.5"),
                Some(52345)
            )
        );
        assert_eq!(l.message, "hi");
        let l = Line::split("2026-11-03 10:14:07 +01:00 [7]: [3-1] user=bob,db=shop,app=psql,client=10.1.1.1 ERROR:  oops").unwrap();
        let p = Prefix::parse(l.prefix);
        assert_eq!(
            (p.time_ms, p.pid, p.user, p.db, p.app, p.client_ip),
            (
                Some(1_793_697_247_000),
                Some(7),
                Some("bob"),
                Some("shop"),
                Some("psql"),
                Some("10.1.1.1")
            )
        );
        assert_eq!(l.level, "ERROR");
        assert!(Line::split("nothing here").is_none());
    }
}
