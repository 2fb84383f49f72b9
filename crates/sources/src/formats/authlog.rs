//! Linux `auth.log` (`/var/log/secure`): RFC 3164 syslog lines from sshd, sudo, su, PAM's
//! `pam_unix` and the shadow-utils account tools (useradd, usermod, userdel, groupadd,
//! groupdel, gpasswd, passwd, chpasswd). Messages follow OpenSSH's `auth.c`/`auth2.c`
//! `sshd` log texts, sudo's `sudoers(5)` log format ("Log format" section), Linux-PAM
//! `pam_unix(8)` and shadow-utils' syslog calls; the header is read by
//! [`super::syslog::parse_syslog_header`].
//!
//! | message | OCSF class: activity |
//! | --- | --- |
//! | sshd `Accepted METHOD for U from IP port N` | Authentication 3002: Logon, Success |
//! | sshd `Failed METHOD for [invalid user ]U …`, `Invalid user U from IP`, `Connection closed by authenticating/invalid user …`, `Disconnected from authenticating/invalid user …`, `Disconnecting … user …: Too many authentication failures`, `maximum authentication attempts exceeded`, `User U from IP not allowed because …` | Authentication: Logon, Failure |
//! | sshd `Disconnected from user U IP port N`; `pam_unix(S:session): session closed for user U` | Authentication: Logoff |
//! | `pam_unix(S:session): session opened for user U(uid=N) by A(uid=M)` | Authentication: Logon, Success (`service.name` = S) |
//! | `pam_unix(S:auth): authentication failure; … user=U` | Authentication: Logon, Failure |
//! | `pam_unix(S:chauthtok): password changed for U`; passwd `password for 'U' changed by 'A'`; usermod `change user 'U' password` | Account Change 3001: Password Change |
//! | sudo `A : TTY=… ; PWD=… ; USER=U ; COMMAND=…` | Process Activity 1007: Launch, Success |
//! | sudo `A : REASON ; TTY=… ; COMMAND=…` (`user NOT in sudoers`, `3 incorrect password attempts`, …) | Process Activity: Launch, Failure, `status_detail` = REASON |
//! | su `(to U) A on TTY`, `Successful su for U by A`, `FAILED su for U by A` | Process Activity: Set User ID |
//! | useradd `new user: name=U, UID=…`; userdel `delete user 'U'`; usermod `lock`/`unlock user 'U' password`, `change user 'U' …` | Account Change: Create / Delete / Lock / Unlock / Other |
//! | `new group: name=G, GID=…`; userdel `removed group 'G' …`; groupdel `group 'G' removed` | Group Management 3006: Create / Delete |
//! | `add 'U' to group 'G'`, gpasswd `user U added by A to group G`; `delete 'U' from group 'G'`, `user U removed by A from group G` | Group Management: Add User / Remove User |
//!
//! Anything else (systemd-logind sessions, sshd's `Received disconnect`, the `shadow group`
//! and per-database duplicates shadow-utils writes beside its summary line, …) keeps the
//! generic syslog mapping (Event Log Activity: Other), so one change is one OCSF event.
//! rsyslog's `message repeated N times: [ … ]` is unwrapped, with `unmapped.repeated` = N.
//! Authentication events carry `src_endpoint.{ip,port}`, `user.name`, `dst_endpoint.hostname`
//! = the host, and sshd logons `auth_protocol` = the method (`publickey`, `password`, …) and
//! `logon_type` Remote Interactive.

use std::net::IpAddr;

use super::Shape;
use super::syslog::{self, SyslogHeader, parse_syslog_header};
use crate::parse::{ParseContext, ParseError, text};
use evident_model::{Class, Event, Status};

/// Programs whose lines are auth.log lines.
const PROGRAMS: &[&str] = &[
    "sshd",
    "sshd-session",
    "sshd-auth",
    "sudo",
    "su",
    "login",
    "useradd",
    "usermod",
    "userdel",
    "groupadd",
    "groupdel",
    "groupmod",
    "gpasswd",
    "passwd",
    "chpasswd",
    "chage",
    "systemd-logind",
];

/// Does the record look like an auth.log line: a syslog line from one of [`PROGRAMS`], or
/// any program's `pam_unix` line (cron, systemd-user, …)?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Text(s) = shape else { return false };
    parse_syslog_header(s, 0).is_some_and(|h| {
        h.app.is_some_and(|a| PROGRAMS.contains(&a)) || h.msg.contains("pam_unix(")
    })
}

/// Normalizes one auth.log line (see the module table; other lines keep the syslog mapping).
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let line = text(record)?;
    let h = parse_syslog_header(line, ctx.received_at_ms())
        .ok_or_else(|| syslog::not_syslog("authlog"))?;
    let (msg, repeated) = unrepeat(h.msg.trim_end());
    let mut e = map(&h, msg).unwrap_or_else(|| syslog::log_event(&h));
    e.set_opt("unmapped.repeated", repeated);
    Ok(vec![e])
}

/// The specific mapping of a message, or `None` for the generic one.
fn map(h: &SyslogHeader<'_>, msg: &str) -> Option<Event> {
    if let Some(rest) = msg.strip_prefix("pam_unix(") {
        return pam(h, rest);
    }
    match h.app? {
        "sshd" | "sshd-session" | "sshd-auth" => sshd(h, msg),
        "sudo" => sudo(h, msg),
        "su" => su(h, msg),
        "useradd" | "usermod" | "userdel" | "groupadd" | "groupdel" | "gpasswd" | "passwd" => {
            shadow(h, msg)
        }
        _ => None,
    }
}

/// rsyslog's `message repeated N times: [ MSG]` → (MSG, N).
fn unrepeat(msg: &str) -> (&str, Option<u64>) {
    let inner = msg
        .strip_prefix("message repeated ")
        .and_then(|r| r.split_once(" times: [ "))
        .and_then(|(n, r)| Some((n.parse().ok()?, r.strip_suffix(']').unwrap_or(r).trim_end())));
    match inner {
        Some((n, m)) => (m, Some(n)),
        None => (msg, None),
    }
}

/// Where an sshd login attempt came from.
struct Peer<'a> {
    user: &'a str,
    ip: &'a str,
    port: Option<u16>,
}

/// `USER from IP[ port N]…`.
fn user_from(s: &str) -> Option<Peer<'_>> {
    let (user, rest) = s.split_once(" from ")?;
    peer(user, rest)
}

/// `USER IP[ port N]…`.
fn user_ip(s: &str) -> Option<Peer<'_>> {
    let (user, rest) = s.split_once(' ')?;
    peer(user, rest)
}

/// The peer from a user name and `IP[ port N]…`.
fn peer<'a>(user: &'a str, rest: &'a str) -> Option<Peer<'a>> {
    let ip = rest
        .split([' ', ':'])
        .next()
        .filter(|ip| ip.parse::<IpAddr>().is_ok());
    let ip = match ip {
        Some(ip) => ip,
        // `:` inside an IPv6 address.
        None => rest
            .split(' ')
            .next()
            .filter(|ip| ip.parse::<IpAddr>().is_ok())?,
    };
    let port = rest[ip.len()..]
        .strip_prefix(" port ")
        .and_then(|p| p.split([' ', ':']).next())
        .and_then(|p| p.parse().ok());
    Some(Peer { user, ip, port })
}

/// An Authentication event of `activity` with `status`, for the host's sshd or PAM.
fn authentication(h: &SyslogHeader<'_>, activity: u8, status: Status) -> Event {
    let mut e = syslog::event(h, Class::Authentication, activity);
    e.set_status(status);
    e.set_opt("dst_endpoint.hostname", h.host);
    e
}

/// An sshd Authentication event from `peer`.
fn ssh_event(h: &SyslogHeader<'_>, activity: u8, status: Status, p: &Peer<'_>) -> Event {
    let mut e = authentication(h, activity, status);
    if !p.user.is_empty() {
        e.set("user.name", p.user);
    }
    e.set("src_endpoint.ip", p.ip);
    e.set_opt("src_endpoint.port", p.port);
    e.set("service.name", "sshd");
    e.set("logon_type_id", 10)
        .set("logon_type", "Remote Interactive");
    e.set("is_remote", true);
    e
}

/// A failed sshd login from `peer`, with `detail`; `invalid` when sshd named the user unknown.
fn ssh_failure(h: &SyslogHeader<'_>, p: &Peer<'_>, detail: &str, invalid: bool) -> Event {
    let mut e = ssh_event(h, 1, Status::Failure, p);
    e.set("status_detail", detail);
    if invalid {
        e.set("unmapped.invalid_user", true);
    }
    e
}

/// `[invalid user ]REST` → (REST, invalid).
fn invalid_user(s: &str) -> (&str, bool) {
    match s.strip_prefix("invalid user ") {
        Some(rest) => (rest, true),
        None => (s, false),
    }
}

/// sshd's login, failure and logout lines.
fn sshd(h: &SyslogHeader<'_>, msg: &str) -> Option<Event> {
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        let (method, rest) = rest.split_once(" for ")?;
        let p = user_from(rest)?;
        let mut e = ssh_event(h, 1, Status::Success, &p);
        e.set("auth_protocol_id", 99).set("auth_protocol", method);
        if let Some((_, key)) = rest.split_once(": ") {
            let (key_type, fingerprint) = key.split_once(' ').unwrap_or((key, ""));
            e.set("unmapped.key_type", key_type);
            if !fingerprint.is_empty() {
                e.set("unmapped.key_fingerprint", fingerprint);
            }
        }
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ")?;
        let (rest, invalid) = invalid_user(rest);
        let p = user_from(rest)?;
        let mut e = ssh_failure(h, &p, &format!("Failed {method}"), invalid);
        e.set("auth_protocol_id", 99).set("auth_protocol", method);
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        return Some(ssh_failure(h, &user_from(rest)?, "Invalid user", true));
    }
    for (prefix, detail) in [
        ("Connection closed by ", "Connection closed by"),
        ("Disconnected from ", "Disconnected from"),
    ] {
        let Some(rest) = msg.strip_prefix(prefix) else {
            continue;
        };
        if let Some(rest) = rest.strip_prefix("user ") {
            return Some(ssh_event(h, 2, Status::Success, &user_ip(rest)?));
        }
        if let Some(rest) = rest.strip_prefix("authenticating user ") {
            return Some(ssh_failure(
                h,
                &user_ip(rest)?,
                &format!("{detail} authenticating user"),
                false,
            ));
        }
        if let Some(rest) = rest.strip_prefix("invalid user ") {
            return Some(ssh_failure(
                h,
                &user_ip(rest)?,
                &format!("{detail} invalid user"),
                true,
            ));
        }
        return None;
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting ") {
        let (rest, invalid) = match rest.strip_prefix("authenticating user ") {
            Some(r) => (r, false),
            None => (rest.strip_prefix("invalid user ")?, true),
        };
        let p = user_ip(rest)?;
        let detail = rest
            .split_once(": ")
            .map_or("Disconnecting", |(_, d)| d.trim_end_matches(" [preauth]"));
        return Some(ssh_failure(h, &p, detail, invalid));
    }
    if let Some(rest) = msg.strip_prefix("error: maximum authentication attempts exceeded for ") {
        let (rest, invalid) = invalid_user(rest);
        return Some(ssh_failure(
            h,
            &user_from(rest)?,
            "maximum authentication attempts exceeded",
            invalid,
        ));
    }
    if let Some(rest) = msg.strip_prefix("User ") {
        let (who, why) = rest.split_once(" not allowed because ")?;
        let p = user_from(who)?;
        return Some(ssh_failure(
            h,
            &p,
            &format!("not allowed because {why}"),
            false,
        ));
    }
    None
}

/// `pam_unix(SERVICE:TYPE): …` lines (after `pam_unix(`).
fn pam(h: &SyslogHeader<'_>, rest: &str) -> Option<Event> {
    let (service, rest) = rest.split_once(':')?;
    let (_kind, msg) = rest.split_once("): ")?;
    if let Some(rest) = msg.strip_prefix("session opened for user ") {
        let (user, by) = rest.split_once(" by ").unwrap_or((rest, ""));
        let mut e = pam_session(h, service, 1);
        let (name, uid) = name_uid(user);
        e.set("user.name", name).set_opt("user.uid", uid);
        let (actor, actor_uid) = name_uid(by.trim());
        if !actor.is_empty() {
            e.set("actor.user.name", actor);
        }
        e.set_opt("actor.user.uid", actor_uid);
        return Some(e);
    }
    if let Some(user) = msg.strip_prefix("session closed for user ") {
        let mut e = pam_session(h, service, 2);
        e.set("user.name", user.trim());
        return Some(e);
    }
    if let Some(kv) = msg.strip_prefix("authentication failure;") {
        let mut e = authentication(h, 1, Status::Failure);
        e.set("service.name", service);
        e.set("status_detail", "authentication failure");
        for (k, v) in kv.split_whitespace().filter_map(|t| t.split_once('=')) {
            if !v.is_empty() {
                e.set(format!("unmapped.{k}"), v);
            }
            match (k, v) {
                (_, "") => {}
                ("user", v) => {
                    e.set("user.name", v);
                }
                ("ruser", v) => {
                    e.set("actor.user.name", v);
                }
                ("rhost", v) if v.parse::<IpAddr>().is_ok() => {
                    e.set("src_endpoint.ip", v);
                }
                ("rhost", v) => {
                    e.set("src_endpoint.hostname", v);
                }
                _ => {}
            }
        }
        return Some(e);
    }
    if let Some(user) = msg.strip_prefix("password changed for ") {
        let mut e = syslog::event(h, Class::AccountChange, 3);
        e.set_status(Status::Success);
        e.set("user.name", user.trim());
        e.set("unmapped.pam_service", service);
        return Some(e);
    }
    None
}

/// A PAM session Authentication event (Logon 1 / Logoff 2) for `service`.
fn pam_session(h: &SyslogHeader<'_>, service: &str, activity: u8) -> Event {
    let mut e = authentication(h, activity, Status::Success);
    e.set("service.name", service);
    let logon_type = match service {
        "sshd" => Some((10, "Remote Interactive")),
        "cron" => Some((4, "Batch")),
        "login" => Some((2, "Interactive")),
        _ => None,
    };
    if let Some((id, name)) = logon_type {
        e.set("logon_type_id", id).set("logon_type", name);
    }
    e
}

/// `name(uid=N)` → (name, N); a bare `name` → (name, None).
fn name_uid(s: &str) -> (&str, Option<&str>) {
    match s.split_once("(uid=") {
        Some((name, uid)) => (name, Some(uid.trim_end_matches(')'))),
        None => (s, None),
    }
}

/// sudo's `USER : [REASON ; ]TTY=… ; PWD=… ; USER=… ; COMMAND=…` lines.
fn sudo(h: &SyslogHeader<'_>, msg: &str) -> Option<Event> {
    let (user, rest) = msg.split_once(" : ")?;
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return None;
    }
    let (fields, command) = match rest.find("COMMAND=") {
        Some(at) => (&rest[..at], Some(&rest[at + "COMMAND=".len()..])),
        None => (rest, None),
    };
    let mut reason = None;
    let mut pairs = Vec::new();
    for part in fields.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
            {
                pairs.push((k, v))
            }
            _ if reason.is_none() && pairs.is_empty() => reason = Some(part),
            _ => return None,
        }
    }
    if command.is_none() && pairs.is_empty() {
        return None;
    }
    let mut e = syslog::event(h, Class::ProcessActivity, 1);
    e.set("actor.user.name", user);
    e.set("unmapped.sudo_user", user);
    for (k, v) in &pairs {
        e.set(format!("unmapped.{k}"), *v);
    }
    let target = pairs.iter().find(|(k, _)| *k == "USER").map(|(_, v)| *v);
    e.set_opt("process.user.name", target);
    let pwd = pairs.iter().find(|(k, _)| *k == "PWD").map(|(_, v)| *v);
    e.set_opt("process.working_directory", pwd);
    if let Some(command) = command.map(str::trim) {
        e.set("unmapped.COMMAND", command);
        e.set("process.cmd_line", command);
        if let Some(path) = command.split(' ').next().filter(|p| p.starts_with('/')) {
            e.set("process.file.path", path);
            e.set_opt(
                "process.name",
                path.rsplit('/').next().filter(|n| !n.is_empty()),
            );
        }
    }
    match reason {
        None => e.set_status(Status::Success),
        Some(r) => e.set_status(Status::Failure).set("status_detail", r),
    };
    Some(e)
}

/// su's `(to U) A on TTY`, `Successful su for U by A`, `FAILED su for U by A`.
fn su(h: &SyslogHeader<'_>, msg: &str) -> Option<Event> {
    let (target, actor, status) = if let Some(rest) = msg.strip_prefix("(to ") {
        let (target, rest) = rest.split_once(") ")?;
        let actor = rest.split(' ').next()?;
        (target, actor, Status::Success)
    } else if let Some(rest) = msg.strip_prefix("Successful su for ") {
        let (target, actor) = rest.split_once(" by ")?;
        (target, actor, Status::Success)
    } else if let Some(rest) = msg.strip_prefix("FAILED su for ") {
        let (target, actor) = rest.split_once(" by ")?;
        (target, actor, Status::Failure)
    } else {
        return None;
    };
    let mut e = syslog::event(h, Class::ProcessActivity, 5);
    e.set_status(status);
    e.set("actor.user.name", actor.trim());
    e.set("process.user.name", target.trim());
    Some(e)
}

/// `'NAME'REST` → (NAME, REST).
fn quoted(s: &str) -> Option<(&str, &str)> {
    s.strip_prefix('\'')?.split_once('\'')
}

/// `k=v, k=v` pairs of useradd/groupadd summary lines.
fn comma_pairs(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(',').filter_map(|p| p.trim().split_once('='))
}

/// An Account Change or Group Management event of `activity`, Success.
fn change(h: &SyslogHeader<'_>, class: Class, activity: u8) -> Event {
    let mut e = syslog::event(h, class, activity);
    e.set_status(Status::Success);
    e
}

/// A Group Management membership event (Add User 3 / Remove User 4).
fn membership(
    h: &SyslogHeader<'_>,
    activity: u8,
    user: &str,
    group: &str,
    actor: Option<&str>,
) -> Event {
    let mut e = change(h, Class::GroupManagement, activity);
    e.set("user.name", user).set("group.name", group);
    e.set_opt("actor.user.name", actor);
    e
}

/// shadow-utils' account and group changes.
fn shadow(h: &SyslogHeader<'_>, msg: &str) -> Option<Event> {
    if let Some(rest) = msg.strip_prefix("new user: ") {
        let mut e = change(h, Class::AccountChange, 1);
        for (k, v) in comma_pairs(rest) {
            e.set(format!("unmapped.{k}"), v);
            match k {
                "name" => e.set("user.name", v),
                "UID" => e.set("user.uid", v),
                _ => continue,
            };
        }
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("new group: ") {
        let mut e = change(h, Class::GroupManagement, 6);
        for (k, v) in comma_pairs(rest) {
            e.set(format!("unmapped.{k}"), v);
            match k {
                "name" => e.set("group.name", v),
                "GID" => e.set("group.uid", v),
                _ => continue,
            };
        }
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("failed adding user ") {
        let (user, detail) = quoted(rest)?;
        let mut e = syslog::event(h, Class::AccountChange, 1);
        e.set_status(Status::Failure);
        e.set("user.name", user);
        e.set("status_detail", detail.trim_start_matches([',', ' ']));
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("add ") {
        let (user, rest) = quoted(rest)?;
        let group = quoted(rest.strip_prefix(" to group ")?)?.0;
        return Some(membership(h, 3, user, group, None));
    }
    if let Some(rest) = msg.strip_prefix("delete ") {
        if let Some(rest) = rest.strip_prefix("user ") {
            let mut e = change(h, Class::AccountChange, 6);
            e.set("user.name", quoted(rest)?.0);
            return Some(e);
        }
        let (user, rest) = quoted(rest)?;
        let group = quoted(rest.strip_prefix(" from group ")?)?.0;
        return Some(membership(h, 4, user, group, None));
    }
    if let Some(rest) = msg.strip_prefix("user ") {
        let (user, rest) = rest.split_once(' ')?;
        let (activity, rest) = match rest.strip_prefix("added by ") {
            Some(r) => (3, r.split_once(" to group ")?),
            None => (
                4,
                rest.strip_prefix("removed by ")?
                    .split_once(" from group ")?,
            ),
        };
        return Some(membership(h, activity, user, rest.1, Some(rest.0)));
    }
    if let Some(rest) = msg.strip_prefix("removed group ") {
        let mut e = change(h, Class::GroupManagement, 5);
        e.set("group.name", quoted(rest)?.0);
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("group ") {
        let (group, rest) = quoted(rest)?;
        if rest != " removed" {
            return None;
        }
        let mut e = change(h, Class::GroupManagement, 5);
        e.set("group.name", group);
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("password for ") {
        let (user, rest) = quoted(rest)?;
        let actor = quoted(rest.strip_prefix(" changed by ")?)?.0;
        let mut e = change(h, Class::AccountChange, 3);
        e.set("user.name", user).set("actor.user.name", actor);
        return Some(e);
    }
    for (prefix, activity) in [("lock user ", 9), ("unlock user ", 12)] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let (user, rest) = quoted(rest)?;
            if rest != " password" {
                return None;
            }
            let mut e = change(h, Class::AccountChange, activity);
            e.set("user.name", user);
            return Some(e);
        }
    }
    if let Some(rest) = msg.strip_prefix("change user name ") {
        let (old, rest) = quoted(rest)?;
        let new = quoted(rest.strip_prefix(" to ")?)?.0;
        let mut e = change(h, Class::AccountChange, 99);
        e.set("user.name", new).set("unmapped.old_name", old);
        return Some(e);
    }
    if let Some(rest) = msg.strip_prefix("change user ") {
        let (user, rest) = quoted(rest)?;
        let activity = if rest == " password" { 3 } else { 99 };
        let mut e = change(h, Class::AccountChange, activity);
        e.set("user.name", user);
        return Some(e);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_messages_are_unwrapped() {
        assert_eq!(
            unrepeat(
                "message repeated 3 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]"
            ),
            (
                "Failed password for root from 1.2.3.4 port 22 ssh2",
                Some(3)
            )
        );
        assert_eq!(unrepeat("Failed password"), ("Failed password", None));
    }

    #[test]
    fn peers_with_ipv6_and_without_port() {
        let p = user_from("bob from 2001:db8::5 port 2222 ssh2").unwrap();
        assert_eq!((p.user, p.ip, p.port), ("bob", "2001:db8::5", Some(2222)));
        let p = user_from("bob from 203.0.113.9").unwrap();
        assert_eq!((p.ip, p.port), ("203.0.113.9", None));
        let p = user_ip("root 203.0.113.9 port 51000 [preauth]").unwrap();
        assert_eq!((p.user, p.port), ("root", Some(51000)));
        assert!(user_from("bob from nowhere port 1").is_none());
    }
}
