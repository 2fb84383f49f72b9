//! MySQL audit log records in JSON: MySQL Enterprise Audit's JSON format (`{"timestamp",
//! "id", "class", "event", "connection_id", "account": {user, host}, "login": {user, ip, …},
//! "connection_data" | "general_data" | "table_access_data" | "query_data": {…}}`, MySQL
//! Reference Manual "JSON Audit Log File Format") and the Percona Audit Log Plugin's JSON
//! (`{"audit_record": {"name", "timestamp", "command_class", "connection_id", "status",
//! "sqltext", "user", "host", "ip", "db", …}}`, Percona Server "Audit log plugin" docs), one
//! record per JSON object.
//!
//! | record | OCSF class: activity |
//! | --- | --- |
//! | connection `connect` / `change_user`; Percona `Connect` / `Change user` | Authentication 3002: Logon (status 0 → Success, else Failure with `status_code` = the MySQL error number) |
//! | connection `disconnect`; Percona `Quit` | Authentication: Logoff |
//! | general / query / table_access records, Percona `Query`/`Execute`/… | Datastore Activity 6005 by SQL command: `select` Read, `insert`/`replace`/`load` Write, `update` Update, `delete`/`truncate`/`drop_*` Delete, `create_*` Create, `alter_*` Update, `show_*` List, table_access `read`/`insert`/`update`/`delete` likewise, else Other |
//! | SQL command `grant` / `revoke` | Group Management 3006: Assign / Revoke Privileges |
//! | SQL command `create_user` / `drop_user` / `alter_user` / `set_password` | Account Change 3001: Create / Delete / Other / Password Change |
//! | audit `startup` / `shutdown`; Percona `Audit` / `NoAudit` | Event Log Activity 1008: Start / Stop |
//!
//! `actor.user.name` (Datastore, Account Change, Group Management) / `user.name`
//! (Authentication) is the login user (`login.user`, else `account.user`, Percona `user` up
//! to `[`), `src_endpoint.ip` the client address (`login.ip`, Percona `ip`; Percona's `host`
//! as `src_endpoint.hostname`), `database.name` and `table.name` the db
//! and table, `query_info.query_string` the SQL. `unmapped` is the whole record.

use evident_model::{Class, Event, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{get, get_id, get_nonempty_str, parse_time, require_str};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like a MySQL audit record: Percona's `audit_record` object, or
/// MySQL's `class` + `event` + `connection_id`?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("audit_record").is_some_and(Value::is_object)
        || (obj.get("class").is_some_and(Value::is_string)
            && obj.get("event").is_some_and(Value::is_string)
            && obj.contains_key("connection_id"))
}

/// Normalizes one audit record.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let r = match obj.get("audit_record") {
        Some(Value::Object(inner)) => percona(inner)?,
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "audit_record".into(),
                expected: "an object",
            });
        }
        None => mysql(&obj)?,
    };
    let mut e = r.event(ctx);
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// What kind of record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Connect,
    Disconnect,
    Statement,
    AuditStart,
    AuditStop,
    Other,
}

/// A record of either flavour, reduced to what the mapping uses.
struct Rec<'a> {
    product: &'static str,
    vendor: &'static str,
    kind: Kind,
    time_ms: Option<i64>,
    id: Option<String>,
    connection_id: Option<String>,
    user: Option<&'a str>,
    ip: Option<&'a str>,
    host: Option<&'a str>,
    db: Option<&'a str>,
    table: Option<&'a str>,
    /// Lower-case SQL command (`select`, `create_table`, …).
    command: Option<String>,
    /// table_access event (`read`, `insert`, …).
    table_event: Option<&'a str>,
    query: Option<&'a str>,
    /// MySQL error number; 0 is success.
    status: Option<i64>,
}

/// A status number at `path` (number or digit string).
fn status_at(obj: &Map<String, Value>, path: &str) -> Option<i64> {
    match get(obj, path)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a MySQL Enterprise Audit record.
fn mysql(obj: &Map<String, Value>) -> Result<Rec<'_>, ParseError> {
    let class = require_str(obj, "class")?;
    let event = require_str(obj, "event")?;
    let kind = match (class, event) {
        ("connection", "connect" | "change_user") => Kind::Connect,
        ("connection", "disconnect") => Kind::Disconnect,
        ("general" | "query" | "table_access", _) => Kind::Statement,
        ("audit", "startup") => Kind::AuditStart,
        ("audit", "shutdown") => Kind::AuditStop,
        _ => Kind::Other,
    };
    let data = |field: &str| {
        [
            "connection_data",
            "general_data",
            "table_access_data",
            "query_data",
        ]
        .iter()
        .find_map(|d| get_nonempty_str(obj, &format!("{d}.{field}")))
    };
    let status = ["connection_data", "general_data", "query_data"]
        .iter()
        .find_map(|d| status_at(obj, &format!("{d}.status")));
    Ok(Rec {
        product: "MySQL Enterprise Audit",
        vendor: "Oracle",
        kind,
        time_ms: get(obj, "timestamp").and_then(parse_time),
        id: get_id(obj, "id"),
        connection_id: get_id(obj, "connection_id"),
        user: get_nonempty_str(obj, "login.user").or_else(|| get_nonempty_str(obj, "account.user")),
        ip: get_nonempty_str(obj, "login.ip"),
        // `account.host` is the account's host pattern (`%`), not the client.
        host: None,
        db: data("db"),
        table: get_nonempty_str(obj, "table_access_data.table"),
        command: data("sql_command").map(str::to_ascii_lowercase),
        table_event: (class == "table_access").then_some(event),
        query: data("query"),
        status,
    })
}

/// Reads a Percona `audit_record`.
fn percona(r: &Map<String, Value>) -> Result<Rec<'_>, ParseError> {
    let name = r
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::MissingField {
            field: "audit_record.name".into(),
        })?;
    let kind = match name {
        "Connect" | "Change user" => Kind::Connect,
        "Quit" => Kind::Disconnect,
        "Audit" => Kind::AuditStart,
        "NoAudit" => Kind::AuditStop,
        _ if r.contains_key("command_class") || r.contains_key("sqltext") => Kind::Statement,
        _ => Kind::Other,
    };
    // `user`: "app[app] @ host [10.0.0.5]" — the name before `[`.
    let user = get_nonempty_str(r, "user")
        .map(|u| u.split(['[', ' ']).next().unwrap_or(u))
        .filter(|u| !u.is_empty());
    let time = r.get("timestamp").and_then(|t| match t {
        Value::String(s) => parse_time(&Value::String(s.trim_end_matches(" UTC").to_owned())),
        other => parse_time(other),
    });
    Ok(Rec {
        product: "Percona Audit Log Plugin",
        vendor: "Percona",
        kind,
        time_ms: time,
        id: get_id(r, "record"),
        connection_id: get_id(r, "connection_id"),
        user: get_nonempty_str(r, "priv_user").or(user),
        ip: get_nonempty_str(r, "ip"),
        host: get_nonempty_str(r, "host"),
        db: get_nonempty_str(r, "db"),
        table: None,
        command: get_nonempty_str(r, "command_class").map(str::to_ascii_lowercase),
        table_event: None,
        query: get_nonempty_str(r, "sqltext"),
        status: status_at(r, "status"),
    })
}

/// Class and activity for a statement's SQL command (or table_access event).
fn statement_class(command: Option<&str>, table_event: Option<&str>) -> (Class, u8) {
    use Class::*;
    if let Some(ev) = table_event {
        return match ev {
            "read" => (DatastoreActivity, 1),
            "insert" => (DatastoreActivity, 5),
            "update" => (DatastoreActivity, 2),
            "delete" => (DatastoreActivity, 7),
            _ => (DatastoreActivity, 99),
        };
    }
    let Some(c) = command else {
        return (DatastoreActivity, 99);
    };
    match c {
        "select" => (DatastoreActivity, 1),
        "insert" | "insert_select" | "replace" | "replace_select" | "load" => {
            (DatastoreActivity, 5)
        }
        "update" | "update_multi" => (DatastoreActivity, 2),
        "delete" | "delete_multi" | "truncate" => (DatastoreActivity, 7),
        "grant" | "grant_roles" => (GroupManagement, if c == "grant" { 1 } else { 3 }),
        "revoke" | "revoke_all" | "revoke_roles" => {
            (GroupManagement, if c == "revoke_roles" { 4 } else { 2 })
        }
        "create_user" => (AccountChange, 1),
        "drop_user" => (AccountChange, 6),
        "alter_user" | "rename_user" => (AccountChange, 99),
        "set_password" => (AccountChange, 3),
        c if c.starts_with("create_") => (DatastoreActivity, 6),
        c if c.starts_with("drop_") => (DatastoreActivity, 7),
        c if c.starts_with("alter_") || c.starts_with("rename_") => (DatastoreActivity, 2),
        c if c.starts_with("show_") => (DatastoreActivity, 8),
        _ => (DatastoreActivity, 99),
    }
}

impl Rec<'_> {
    /// The OCSF event.
    fn event(&self, ctx: &ParseContext<'_>) -> Event {
        let (class, activity) = match self.kind {
            Kind::Connect => (Class::Authentication, 1),
            Kind::Disconnect => (Class::Authentication, 2),
            Kind::AuditStart => (Class::EventLogActivity, 6),
            Kind::AuditStop => (Class::EventLogActivity, 7),
            Kind::Statement => statement_class(self.command.as_deref(), self.table_event),
            Kind::Other => (Class::DatastoreActivity, 99),
        };
        let mut e = Event::new(
            class,
            activity,
            self.time_ms.unwrap_or_else(|| ctx.received_at_ms()),
        );
        e.set("metadata.product.name", self.product);
        e.set("metadata.product.vendor_name", self.vendor);
        e.set_opt("metadata.uid", self.id.as_deref());
        e.set_opt("actor.session.uid", self.connection_id.as_deref());
        match self.status {
            Some(0) => {
                e.set_status(Status::Success);
            }
            Some(code) => {
                e.set_status(Status::Failure)
                    .set("status_code", code.to_string());
            }
            None if self.kind == Kind::Disconnect => {
                e.set_status(Status::Success);
            }
            None => {}
        }
        let ip = self
            .ip
            .or(self.host.filter(|h| h.parse::<std::net::IpAddr>().is_ok()));
        e.set_opt("src_endpoint.ip", ip);
        e.set_opt(
            "src_endpoint.hostname",
            self.host.filter(|h| Some(*h) != ip),
        );
        if class == Class::Authentication {
            e.set_opt("user.name", self.user);
            e.set_opt("service.name", self.db);
        } else {
            e.set_opt("actor.user.name", self.user);
        }
        if class == Class::DatastoreActivity {
            e.set_opt("database.name", self.db);
            e.set("database.type_id", 1)
                .set("database.type", "Relational");
            e.set_opt("table.name", self.table);
            e.set_opt("query_info.query_string", self.query);
        } else if self.kind == Kind::Statement {
            e.set_opt("message", self.query);
        }
        e
    }
}
