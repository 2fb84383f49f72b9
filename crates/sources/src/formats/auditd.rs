//! Linux audit records as auditd writes them to `audit.log`: `[node=HOST ]type=TYPE
//! msg=audit(SECONDS.MILLIS:SERIAL): key=value …`, with the user-space records' payload in
//! `msg='key=value …'` and, in `log_format = ENRICHED`, the interpreted fields after a `\x1d`
//! separator (`AUID="grace" UID="root" SYSCALL=execve`). Follows the Red Hat "Understanding
//! Audit Log Files" reference and `auparse`'s field encoding: untrusted strings (`comm`, `exe`,
//! `proctitle`, `cmd`, `acct`, EXECVE `aN`, …) are written quoted, or as hex when they hold
//! spaces, quotes or control characters; hex values are decoded here (NULs as spaces). A line
//! forwarded through syslog (`audisp-syslog`) is accepted too, its syslog host standing in
//! for `node`.
//!
//! | record type | OCSF class: activity |
//! | --- | --- |
//! | `USER_LOGIN`, `USER_AUTH`, `USER_START` | Authentication 3002: Logon (`res=` → status) |
//! | `USER_LOGOUT`, `USER_END` | Authentication: Logoff |
//! | `USER_ACCT`, `USER_ERR`, `CRED_ACQ`, `CRED_DISP`, `CRED_REFR` | Authentication: Other (99) |
//! | `ADD_USER`, `DEL_USER`, `USER_CHAUTHTOK`, `USER_MGMT` | Account Change 3001: Create / Delete / Password Change / Other |
//! | `ADD_GROUP`, `DEL_GROUP`, `GRP_MGMT`, `GRP_CHAUTHTOK` | Group Management 3006: Create / Delete / Add or Remove User (by `op`) or Other |
//! | `SYSCALL` of execve/execveat, `EXECVE`, `USER_CMD` | Process Activity 1007: Launch |
//! | `CONFIG_CHANGE` (`audit_enabled=0`/`1`), `DAEMON_START`, `DAEMON_END`, `DAEMON_ABORT`, `DAEMON_ROTATE` | Event Log Activity 1008: Disable / Enable / Other, Start, Stop, Stop (Failure), Rotate |
//! | anything else (`PATH`, `CWD`, `PROCTITLE`, `AVC`, other syscalls, …) | Process Activity: Other (99) |
//!
//! Every record keeps its fields in `unmapped` by their audit names (the `msg='…'` payload
//! flattened beside the outer fields, which win on a clash; enriched fields in upper case),
//! and `metadata.correlation_uid` = `SECONDS.MILLIS:SERIAL`, which all records of one audit
//! event share. `auid`/`AUID` is the login user (`actor.user`), `uid`/`acct`/`id` the subject.

use evident_model::{Class, Event, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::syslog::parse_syslog_header;
use crate::parse::{ParseContext, ParseError, text};

/// Does the record look like an audit record: `type=` (after an optional `node=…`) and
/// `msg=audit(`?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Text(s) = shape else { return false };
    body(s).is_some() || parse_syslog_header(s, 0).is_some_and(|h| body(h.msg).is_some())
}

/// Normalizes one audit record.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let line = text(record)?.trim_end();
    let (node, rest) = match body(line) {
        Some(b) => b,
        None => parse_syslog_header(line, ctx.received_at_ms())
            .and_then(|h| body(h.msg).map(|(node, rest)| (node.or(h.host), rest)))
            .ok_or_else(|| ParseError::Unrecognized {
                format: "auditd",
                detail: "no `type=… msg=audit(…)` record".into(),
            })?,
    };
    let rec = Record::parse(node, rest)?;
    Ok(vec![rec.event()])
}

/// `(node, "type=…")` when `line` is an audit record with an optional `node=` prefix.
fn body(line: &str) -> Option<(Option<&str>, &str)> {
    let (node, rest) = match line.strip_prefix("node=") {
        Some(after) => {
            let (node, rest) = after.split_once(' ')?;
            (Some(node), rest.trim_start())
        }
        None => (None, line),
    };
    (rest.starts_with("type=") && rest.contains(" msg=audit(")).then_some((node, rest))
}

/// Fields whose unquoted values are hex-encoded strings (auparse's encoded fields).
const ENCODED: &[&str] = &[
    "comm",
    "exe",
    "proctitle",
    "cwd",
    "name",
    "path",
    "acct",
    "cmd",
    "key",
    "data",
    "ocomm",
    "watch",
    "grp",
    "new_group",
    "old_group",
    "vm",
    "vm-ctx",
    "root_dir",
    "dir",
    "file",
    "new-disk",
    "old-disk",
];

/// One audit record.
struct Record<'a> {
    node: Option<&'a str>,
    kind: &'a str,
    /// `SECONDS.MILLIS:SERIAL`.
    stamp: &'a str,
    time_ms: i64,
    fields: Map<String, Value>,
}

impl<'a> Record<'a> {
    /// Parses `type=T msg=audit(S.M:N): fields…`.
    fn parse(node: Option<&'a str>, s: &'a str) -> Result<Record<'a>, ParseError> {
        let wrong = || ParseError::WrongType {
            field: "msg".into(),
            expected: "audit(SECONDS.MILLIS:SERIAL):",
        };
        let (kind, rest) = s
            .strip_prefix("type=")
            .and_then(|r| r.split_once(' '))
            .ok_or_else(wrong)?;
        let rest = rest
            .trim_start()
            .strip_prefix("msg=audit(")
            .ok_or_else(wrong)?;
        let (stamp, rest) = rest.split_once(')').ok_or_else(wrong)?;
        let time_ms = stamp_ms(stamp).ok_or_else(wrong)?;
        let rest = rest.strip_prefix(':').unwrap_or(rest);
        let (plain, enriched) = rest.split_once('\u{1d}').unwrap_or((rest, ""));
        let mut fields = Map::new();
        fields.insert("type".into(), kind.into());
        if let Some(node) = node {
            fields.insert("node".into(), node.into());
        }
        fields.insert("msg".into(), format!("audit({stamp})").into());
        let execve = kind == "EXECVE";
        let mut inner = Map::new();
        for (k, v) in pairs(plain) {
            match v {
                Raw::Single(payload) if k == "msg" => {
                    for (ik, iv) in pairs(payload) {
                        inner.insert(ik.to_owned(), decode(ik, iv, false));
                    }
                }
                v => {
                    fields.insert(k.to_owned(), decode(k, v, execve));
                }
            }
        }
        for (k, v) in inner {
            fields.entry(k).or_insert(v);
        }
        for (k, v) in pairs(enriched) {
            fields.insert(k.to_owned(), decode(k, v, false));
        }
        Ok(Record {
            node,
            kind,
            stamp,
            time_ms,
            fields,
        })
    }

    /// The string value of field `k`, unless it is auditd's "none" (`?`, `(null)`, `(none)`).
    fn str(&self, k: &str) -> Option<&str> {
        self.fields
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && !matches!(*v, "?" | "(null)" | "(none)"))
    }

    /// A numeric id field, unless unset (`4294967295`, `-1`).
    fn id(&self, k: &str) -> Option<&str> {
        self.str(k)
            .filter(|v| *v != "4294967295" && *v != "-1" && v.bytes().all(|b| b.is_ascii_digit()))
    }

    /// `res=success|failed|1|0` or SYSCALL `success=yes|no`.
    fn status(&self) -> Option<Status> {
        match self.str("res").or_else(|| self.str("success"))? {
            "success" | "yes" | "1" => Some(Status::Success),
            "failed" | "no" | "0" => Some(Status::Failure),
            _ => None,
        }
    }

    /// Class and activity for this record type.
    fn class(&self) -> (Class, u8) {
        use Class::*;
        match self.kind {
            "USER_LOGIN" | "USER_AUTH" | "USER_START" => (Authentication, 1),
            "USER_LOGOUT" | "USER_END" => (Authentication, 2),
            "USER_ACCT" | "USER_ERR" | "CRED_ACQ" | "CRED_DISP" | "CRED_REFR" => {
                (Authentication, 99)
            }
            "ADD_USER" => (AccountChange, 1),
            "DEL_USER" => (AccountChange, 6),
            "USER_CHAUTHTOK" => (AccountChange, 3),
            "USER_MGMT" => (AccountChange, 99),
            "ADD_GROUP" => (GroupManagement, 6),
            "DEL_GROUP" => (GroupManagement, 5),
            "GRP_MGMT" => {
                let op = self.str("op").unwrap_or("");
                let activity = if op.contains("add") && op.contains("group") {
                    3
                } else if (op.contains("del") || op.contains("remov")) && op.contains("group") {
                    4
                } else {
                    99
                };
                (GroupManagement, activity)
            }
            "GRP_CHAUTHTOK" => (GroupManagement, 99),
            "EXECVE" | "USER_CMD" => (ProcessActivity, 1),
            "SYSCALL" if self.is_exec() => (ProcessActivity, 1),
            "CONFIG_CHANGE" => match self.str("audit_enabled") {
                Some("0") => (EventLogActivity, 10),
                Some("1" | "2") => (EventLogActivity, 9),
                _ => (EventLogActivity, 99),
            },
            "DAEMON_START" => (EventLogActivity, 6),
            "DAEMON_END" | "DAEMON_ABORT" => (EventLogActivity, 7),
            "DAEMON_ROTATE" => (EventLogActivity, 5),
            _ => (ProcessActivity, 99),
        }
    }

    /// Whether a SYSCALL record is execve/execveat (x86_64, i386, aarch64, or enriched).
    fn is_exec(&self) -> bool {
        if let Some(name) = self.str("SYSCALL") {
            return name == "execve" || name == "execveat";
        }
        matches!(
            (self.str("arch"), self.str("syscall")),
            (Some("c000003e"), Some("59" | "322"))
                | (Some("40000003"), Some("11" | "358"))
                | (Some("c00000b7"), Some("221" | "281"))
        )
    }

    /// The OCSF event.
    fn event(&self) -> Event {
        let (class, activity) = self.class();
        let mut e = Event::new(class, activity, self.time_ms);
        e.set("metadata.product.name", "auditd");
        e.set("metadata.product.vendor_name", "Linux");
        e.set("metadata.log_name", "audit.log");
        e.set("metadata.correlation_uid", self.stamp);
        e.set_opt("device.hostname", self.node);
        if let Some(s) = self.status() {
            e.set_status(s);
        }
        if self.kind == "DAEMON_ABORT" {
            e.set_status(Status::Failure);
        }
        e.set_opt("actor.user.uid", self.id("auid"));
        e.set_opt("actor.user.name", self.str("AUID"));
        e.set_opt("actor.session.uid", self.id("ses"));
        match class {
            Class::Authentication | Class::AccountChange => self.subject(&mut e),
            Class::GroupManagement => {
                let group = self.str("grp").or_else(|| self.str("new_group"));
                match group {
                    Some(g) => {
                        e.set("group.name", g);
                        e.set_opt("user.name", self.str("acct"));
                    }
                    None => {
                        e.set_opt("group.name", self.str("acct"));
                        e.set_opt("group.uid", self.id("id"));
                    }
                }
                self.actor_process(&mut e);
            }
            Class::ProcessActivity => self.process(&mut e),
            _ => self.actor_process(&mut e),
        }
        if class == Class::Authentication {
            e.set_opt("src_endpoint.ip", self.str("addr"));
            e.set_opt(
                "src_endpoint.hostname",
                self.str("hostname")
                    .filter(|h| Some(*h) != self.str("addr")),
            );
            e.set_opt("unmapped.terminal", self.str("terminal"));
        }
        e.set_opt(
            "message",
            self.str("op").map(|op| format!("{} {op}", self.kind)),
        );
        e.set("unmapped", Value::Object(self.fields.clone()));
        e
    }

    /// `user` (acct / id / uid) and the acting process, for Authentication and Account Change.
    fn subject(&self, e: &mut Event) {
        e.set_opt("user.name", self.str("acct").or_else(|| self.str("ID")));
        e.set_opt("user.uid", self.id("id"));
        self.actor_process(e);
    }

    /// `actor.process` = the recording process (`pid`, `exe`, `comm`).
    fn actor_process(&self, e: &mut Event) {
        e.set_opt(
            "actor.process.pid",
            self.id("pid").and_then(|p| p.parse::<u64>().ok()),
        );
        e.set_opt("actor.process.file.path", self.str("exe"));
        e.set_opt("actor.process.name", self.str("comm"));
    }

    /// `process` for Process Activity: the launched program and its command line.
    fn process(&self, e: &mut Event) {
        if self.kind == "USER_CMD" {
            // sudo records the command it runs; the record's pid/exe are sudo's.
            self.actor_process(e);
            e.set_opt(
                "actor.user.uid",
                self.id("uid").filter(|_| self.id("auid").is_none()),
            );
            e.set_opt("process.cmd_line", self.str("cmd"));
            e.set_opt("process.working_directory", self.str("cwd"));
            return;
        }
        e.set_opt(
            "process.pid",
            self.id("pid").and_then(|p| p.parse::<u64>().ok()),
        );
        e.set_opt(
            "process.parent_process.pid",
            self.id("ppid").and_then(|p| p.parse::<u64>().ok()),
        );
        e.set_opt("process.file.path", self.str("exe"));
        e.set_opt("process.name", self.str("comm"));
        e.set_opt("process.user.uid", self.id("uid"));
        e.set_opt("process.user.name", self.str("UID"));
        e.set_opt(
            "process.cmd_line",
            self.cmd_line()
                .or_else(|| self.str("proctitle").map(str::to_owned)),
        );
    }

    /// EXECVE's `a0…a(argc-1)` (long arguments split as `aN[i]`) joined by spaces.
    fn cmd_line(&self) -> Option<String> {
        let argc: usize = self.str("argc")?.parse().ok()?;
        let mut args = Vec::with_capacity(argc.min(64));
        for i in 0..argc.min(4096) {
            match self.str(&format!("a{i}")) {
                Some(a) => args.push(a.to_owned()),
                None => {
                    let parts: Vec<&str> = (0..)
                        .map_while(|j| {
                            self.fields
                                .get(&format!("a{i}[{j}]"))
                                .and_then(Value::as_str)
                        })
                        .collect();
                    if parts.is_empty() {
                        break;
                    }
                    args.push(parts.concat());
                }
            }
        }
        (!args.is_empty()).then(|| args.join(" "))
    }
}

/// `SECONDS.MILLIS:SERIAL` → ms since the epoch.
fn stamp_ms(stamp: &str) -> Option<i64> {
    let (time, _serial) = stamp.split_once(':')?;
    let (secs, frac) = time.split_once('.').unwrap_or((time, "0"));
    let secs: i64 = secs.parse().ok()?;
    let frac = frac.get(..3.min(frac.len()))?;
    let millis: i64 = format!("{frac:0<3}").parse().ok()?;
    secs.checked_mul(1000)?.checked_add(millis)
}

/// A raw field value.
enum Raw<'a> {
    /// `"…"`.
    Double(&'a str),
    /// `'…'` (the user-space `msg` payload).
    Single(&'a str),
    /// Unquoted.
    Bare(&'a str),
}

/// `key=value` pairs separated by spaces, values bare or quoted (auditd does not escape
/// inside quotes: a value with a quote is hex-encoded instead).
fn pairs(s: &str) -> Vec<(&str, Raw<'_>)> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find(['=', ' ']) else {
            break;
        };
        if rest.as_bytes()[eq] == b' ' {
            rest = rest[eq..].trim_start();
            continue;
        }
        let key = &rest[..eq];
        let after = &rest[eq + 1..];
        let (value, tail) = match after.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => {
                let inner = &after[1..];
                let end = inner.find(q as char).unwrap_or(inner.len());
                let v = &inner[..end];
                let tail = inner.get(end + 1..).unwrap_or("");
                (
                    if q == b'"' {
                        Raw::Double(v)
                    } else {
                        Raw::Single(v)
                    },
                    tail,
                )
            }
            _ => {
                let end = after.find(' ').unwrap_or(after.len());
                (Raw::Bare(&after[..end]), &after[end..])
            }
        };
        if !key.is_empty() {
            out.push((key, value));
        }
        rest = tail.trim_start();
    }
    out
}

/// A field's value: quoted values as written, hex-encoded ones decoded.
fn decode(key: &str, raw: Raw<'_>, execve: bool) -> Value {
    match raw {
        Raw::Double(v) | Raw::Single(v) => v.into(),
        Raw::Bare(v) => {
            let encoded = ENCODED.contains(&key) || (execve && is_arg(key));
            match encoded.then(|| unhex(v)).flatten() {
                Some(text) => text.into(),
                None => v.into(),
            }
        }
    }
}

/// EXECVE argument keys: `a0`, `a12`, `a3[0]`.
fn is_arg(key: &str) -> bool {
    let Some(rest) = key.strip_prefix('a') else {
        return false;
    };
    let digits = rest.split('[').next().unwrap_or(rest);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Decodes auditd's upper-case hex encoding; NULs (argument separators in `proctitle`)
/// become spaces. `None` when `v` is not hex.
fn unhex(v: &str) -> Option<String> {
    if v.is_empty()
        || !v.len().is_multiple_of(2)
        || !v
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        return None;
    }
    let bytes: Vec<u8> = v
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| {
                if b.is_ascii_digit() {
                    b - b'0'
                } else {
                    b - b'A' + 10
                }
            };
            match (digit(pair[0]) << 4) | digit(pair[1]) {
                0 => b' ',
                b => b,
            }
        })
        .collect();
    Some(String::from_utf8_lossy(&bytes).trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_hex() {
        assert_eq!(stamp_ms("1700000000.123:456"), Some(1_700_000_000_123));
        assert_eq!(stamp_ms("1700000000.5:1"), Some(1_700_000_000_500));
        assert_eq!(stamp_ms("x:1"), None);
        assert_eq!(
            unhex("2F746D702F6D7920646972").as_deref(),
            Some("/tmp/my dir")
        );
        assert_eq!(unhex("6C73002D6C00").as_deref(), Some("ls -l"));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("root"), None);
    }

    #[test]
    fn pairs_with_quotes_and_payload() {
        let p = pairs(r#"pid=1 msg='op=login acct="bob" res=success' exe="/a b""#);
        let keys: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["pid", "msg", "exe"]);
        assert!(matches!(
            p[1].1,
            Raw::Single("op=login acct=\"bob\" res=success")
        ));
        assert!(matches!(p[2].1, Raw::Double("/a b")));
    }
}
