//! Syslog lines: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`) and RFC 3164
//! (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`), including the `/var/log` file form without
//! `<PRI>` and rsyslog's "high precision" form with an RFC 3339 timestamp in place of the
//! BSD one. Written by hand after RFC 5424 §6 and RFC 3164 §4.1 (no parser dependency).
//!
//! RFC 3164 timestamps carry no year and no zone: the zone is taken as UTC and the year as
//! the latest one that puts the timestamp no more than a day after the receive time (so a
//! `Dec 31` line received on `Jan 1` is last year's).
//!
//! OCSF mapping: a generic syslog message is a program writing an entry to the system log,
//! so it becomes **Event Log Activity (1008), activity Other (99)**, with the writing program
//! as `actor.process.{name,pid}`, `log_provider` = the program, `device.hostname` = HOST and
//! `message` = MSG. (Process Activity would need a target `process`, which a log message has
//! not; Base Event is reserved for unknown formats.) Severity comes from the PRI severity:
//! 0-2 Critical, 3 High, 4 Medium, 5 Low, 6-7 Informational (Informational without PRI).
//! `unmapped` holds the header fields under their RFC 5424 names (`facility`, `severity`,
//! `timestamp`, `hostname`, `app_name`, `procid`, `msgid`, `structured_data`, `msg`);
//! structured data becomes `{SD-ID: {PARAM: value}}` (a repeated PARAM becomes an array).
//!
//! [`parse_syslog_header`] and [`event`] are shared with `authlog` and `netfilter`, which
//! read the same header and map the message further.

use chrono::{DateTime, Datelike, NaiveDate};
use evident_model::{Class, Event, Severity};
use serde_json::{Map, Value};

use super::Shape;
use super::util::put;
use crate::parse::{ParseContext, ParseError, text};

/// Does the record look like a syslog line? A `<PRI>` prefix or a BSD timestamp at the
/// start with a header that parses; an RFC 3339 timestamp at the start only with a
/// `TAG:` after the host (plain application logs start with timestamps too).
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Text(s) = shape else { return false };
    match parse_syslog_header(s, 0) {
        Some(h) => h.form != Form::Rfc3339 || h.facility.is_some() || h.app.is_some(),
        None => false,
    }
}

/// Normalizes one syslog line into an Event Log Activity: Other event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let line = text(record)?;
    let h = parse_syslog_header(line, ctx.received_at_ms()).ok_or_else(|| not_syslog("syslog"))?;
    Ok(vec![log_event(&h)])
}

/// The APP-NAME (RFC 5424) or TAG (RFC 3164) of a syslog message, so a receiver can route
/// it to a source before it is parsed. Reads only the header (a message that is not valid
/// UTF-8 after it still has one); `None` when there is no header or no APP-NAME.
pub fn syslog_app_name(message: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(message) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&message[..e.valid_up_to()]).ok()?,
    };
    parse_syslog_header(text, chrono::Utc::now().timestamp_millis())?.app
}

/// Which header form a line had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// RFC 5424.
    Rfc5424,
    /// RFC 3164 with a BSD `Mmm dd hh:mm:ss` timestamp.
    Bsd,
    /// RFC 3164 layout with an RFC 3339 timestamp (rsyslog high precision).
    Rfc3339,
}

/// The parsed header of a syslog line; `&str`s borrow from the line.
#[derive(Clone, Debug)]
pub(crate) struct SyslogHeader<'a> {
    /// Which header form the line had.
    pub(crate) form: Form,
    /// Event time, ms since the epoch (the receive time when the line has none).
    pub(crate) time_ms: i64,
    /// The timestamp as written, when there is one.
    pub(crate) timestamp: Option<&'a str>,
    /// HOSTNAME.
    pub(crate) host: Option<&'a str>,
    /// APP-NAME (RFC 3164 TAG).
    pub(crate) app: Option<&'a str>,
    /// PROCID (the `[PID]` of an RFC 3164 TAG).
    pub(crate) pid: Option<&'a str>,
    /// MSGID (RFC 5424 only).
    pub(crate) msgid: Option<&'a str>,
    /// STRUCTURED-DATA as written (RFC 5424 only).
    pub(crate) structured_data: Option<&'a str>,
    /// MSG, without a leading BOM.
    pub(crate) msg: &'a str,
    /// PRI facility, when the line has a PRI.
    pub(crate) facility: Option<u8>,
    /// PRI severity, when the line has a PRI.
    pub(crate) severity: Option<u8>,
}

impl SyslogHeader<'_> {
    /// PROCID as a number, when it is one.
    pub(crate) fn pid_number(&self) -> Option<u64> {
        self.pid.and_then(|p| p.parse().ok())
    }
}

/// Parses the header of an RFC 5424 or RFC 3164 line; `received_at_ms` supplies the year of
/// BSD timestamps and the time of lines without one. `None` when the line has neither form.
pub(crate) fn parse_syslog_header(line: &str, received_at_ms: i64) -> Option<SyslogHeader<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (pri, rest) = match line.strip_prefix('<') {
        Some(after) => {
            let end = after.find('>')?;
            let digits = &after[..end];
            if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let pri: u8 = digits.parse().ok().filter(|p| *p <= 191)?;
            (Some(pri), &after[end + 1..])
        }
        None => (None, line),
    };
    let mut h = match rfc5424_body(rest) {
        Some(body) => rfc5424(body, received_at_ms)?,
        None => rfc3164(rest, received_at_ms)?,
    };
    h.facility = pri.map(|p| p >> 3);
    h.severity = pri.map(|p| p & 7);
    Some(h)
}

/// OCSF severity for a syslog PRI severity.
pub(crate) fn severity_of(syslog_severity: u8) -> Severity {
    match syslog_severity {
        0..=2 => Severity::Critical,
        3 => Severity::High,
        4 => Severity::Medium,
        5 => Severity::Low,
        _ => Severity::Informational,
    }
}

/// An event of `class`/`activity` for a syslog line with what every syslog-based event
/// carries: time, severity from PRI, `device.hostname`, `actor.process`, `message`,
/// `metadata.product.name` (the program) and the header fields in `unmapped`.
pub(crate) fn event(h: &SyslogHeader<'_>, class: Class, activity: u8) -> Event {
    let mut e = Event::new(class, activity, h.time_ms);
    if let Some(sev) = h.severity {
        e.set_severity(severity_of(sev));
    }
    e.set("metadata.product.name", h.app.unwrap_or("syslog"));
    e.set_opt("device.hostname", h.host);
    e.set_opt("actor.process.name", h.app);
    e.set_opt("actor.process.pid", h.pid_number());
    e.set("message", h.msg);
    e.set("unmapped", Value::Object(header_fields(h)));
    e
}

/// The generic mapping: Event Log Activity, Other, with the program as `log_provider`.
pub(crate) fn log_event(h: &SyslogHeader<'_>) -> Event {
    let mut e = event(h, Class::EventLogActivity, 99);
    e.set_opt("log_provider", h.app);
    e
}

/// The error for a line with no syslog header, for `format`.
pub(crate) fn not_syslog(format: &'static str) -> ParseError {
    ParseError::Unrecognized {
        format,
        detail: "no RFC 5424 or RFC 3164 syslog header".into(),
    }
}

/// The header fields by their RFC 5424 names.
fn header_fields(h: &SyslogHeader<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    put(&mut m, "facility", h.facility);
    put(&mut m, "severity", h.severity);
    put(&mut m, "timestamp", h.timestamp);
    put(&mut m, "hostname", h.host);
    put(&mut m, "app_name", h.app);
    put(&mut m, "procid", h.pid);
    put(&mut m, "msgid", h.msgid);
    put(
        &mut m,
        "structured_data",
        h.structured_data.map(structured_data_json),
    );
    m.insert("msg".into(), Value::from(h.msg));
    m
}

/// After `<PRI>`, the rest of an RFC 5424 line past `VERSION SP`, if it has one.
fn rfc5424_body(rest: &str) -> Option<&str> {
    let (version, body) = rest.split_once(' ')?;
    let ok = !version.is_empty()
        && version.len() <= 2
        && version.bytes().all(|b| b.is_ascii_digit())
        && !version.starts_with('0');
    ok.then_some(body)
}

/// The nil value `-` as `None`.
fn nil(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

/// Parses `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`.
fn rfc5424(body: &str, received_at_ms: i64) -> Option<SyslogHeader<'_>> {
    let (timestamp, rest) = body.split_once(' ')?;
    let (host, rest) = rest.split_once(' ')?;
    let (app, rest) = rest.split_once(' ')?;
    let (pid, rest) = rest.split_once(' ')?;
    let (msgid, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let time_ms = match nil(timestamp) {
        None => received_at_ms,
        Some(t) => DateTime::parse_from_rfc3339(t).ok()?.timestamp_millis(),
    };
    let (structured_data, after) = if let Some(after) = rest.strip_prefix('-') {
        (None, after)
    } else if rest.starts_with('[') {
        let end = sd_end(rest)?;
        (Some(&rest[..end]), &rest[end..])
    } else if rest.is_empty() {
        (None, rest)
    } else {
        return None;
    };
    let msg = match after.strip_prefix(' ') {
        Some(m) => m,
        None if after.is_empty() => after,
        None => return None,
    };
    Some(SyslogHeader {
        form: Form::Rfc5424,
        time_ms,
        timestamp: nil(timestamp),
        host: nil(host),
        app: nil(app),
        pid: nil(pid),
        msgid: nil(msgid),
        structured_data,
        msg: msg.strip_prefix('\u{feff}').unwrap_or(msg),
        facility: None,
        severity: None,
    })
}

/// Byte length of the SD-ELEMENTs at the start of `s` (`[id k="v"][id2]`), honouring
/// quoted values with `\"`, `\\` and `\]` escapes. `None` when an element is unterminated.
fn sd_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        let mut quoted = false;
        loop {
            match b.get(i)? {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    Some(i)
}

/// Structured data as `{SD-ID: {PARAM-NAME: value}}`, values unescaped.
fn structured_data_json(sd: &str) -> Value {
    let mut out = Map::new();
    let mut chars = sd.chars().peekable();
    while chars.next() == Some('[') {
        let mut id = String::new();
        while let Some(c) = chars.next_if(|c| *c != ' ' && *c != ']') {
            id.push(c);
        }
        let mut params = Map::new();
        loop {
            match chars.next() {
                Some(' ') => {}
                Some(']') | None => break,
                Some(c) => {
                    let mut name = String::from(c);
                    while let Some(c) = chars.next_if(|c| *c != '=' && *c != ']') {
                        name.push(c);
                    }
                    if chars.next_if_eq(&'=').is_none() || chars.next_if_eq(&'"').is_none() {
                        continue;
                    }
                    let mut value = String::new();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => match chars.next() {
                                Some(e @ ('"' | '\\' | ']')) => value.push(e),
                                Some(other) => {
                                    value.push('\\');
                                    value.push(other);
                                }
                                None => value.push('\\'),
                            },
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    add_param(&mut params, name, value);
                }
            }
        }
        out.insert(id, Value::Object(params));
    }
    Value::Object(out)
}

/// Adds a PARAM, turning a repeated name into an array of its values.
fn add_param(params: &mut Map<String, Value>, name: String, value: String) {
    match params.get_mut(&name) {
        None => {
            params.insert(name, Value::String(value));
        }
        Some(Value::Array(values)) => values.push(Value::String(value)),
        Some(first) => {
            let first = first.take();
            params.insert(name, Value::Array(vec![first, Value::String(value)]));
        }
    }
}

/// Parses `TIMESTAMP HOST TAG[PID]: MSG` with a BSD or RFC 3339 timestamp.
fn rfc3164(s: &str, received_at_ms: i64) -> Option<SyslogHeader<'_>> {
    let (form, time_ms, len) = match bsd_timestamp(s, received_at_ms) {
        Some((t, len)) => (Form::Bsd, t, len),
        None => {
            let token = s.split(' ').next()?;
            if !token.starts_with(|c: char| c.is_ascii_digit()) || !token.contains('T') {
                return None;
            }
            (
                Form::Rfc3339,
                DateTime::parse_from_rfc3339(token).ok()?.timestamp_millis(),
                token.len(),
            )
        }
    };
    let timestamp = &s[..len];
    let rest = &s[len..];
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let rest = rest.trim_start_matches(' ');
    let first = rest.split(' ').next().unwrap_or(rest);
    let (host, tagged) = if first.ends_with(':') {
        (None, rest)
    } else {
        let after = rest
            .get(first.len()..)
            .unwrap_or("")
            .trim_start_matches(' ');
        (nil(first), after)
    };
    let (app, pid, msg) = tag(tagged);
    Some(SyslogHeader {
        form,
        time_ms,
        timestamp: Some(timestamp),
        host,
        app,
        pid,
        msgid: None,
        structured_data: None,
        msg,
        facility: None,
        severity: None,
    })
}

/// Splits `TAG[PID]: MSG` / `TAG: MSG`; a message without a tag is all MSG.
fn tag(s: &str) -> (Option<&str>, Option<&str>, &str) {
    let Some(end) = s.find([':', '[', ' ']) else {
        return (None, None, s);
    };
    let name = &s[..end];
    if name.is_empty() || name.len() > 64 {
        return (None, None, s);
    }
    match s.as_bytes()[end] {
        b':' => (Some(name), None, strip_space(&s[end + 1..])),
        b'[' => {
            let after = &s[end + 1..];
            let Some(close) = after.find(']') else {
                return (None, None, s);
            };
            let pid = &after[..close];
            let rest = &after[close + 1..];
            let rest = rest.strip_prefix(':').unwrap_or(rest);
            (Some(name), nil(pid), strip_space(rest))
        }
        _ => (None, None, s),
    }
}

/// `s` without one leading space.
fn strip_space(s: &str) -> &str {
    s.strip_prefix(' ').unwrap_or(s)
}

/// A BSD timestamp `Mmm dd hh:mm:ss[.fff]` at the start of `s`: (ms since the epoch, the
/// year inferred from `received_at_ms`; byte length).
fn bsd_timestamp(s: &str, received_at_ms: i64) -> Option<(i64, usize)> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| s.starts_with(m))? as u32 + 1;
    let b = s.as_bytes();
    let mut i = 3;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let day_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == day_start || i - day_start > 2 || b.get(i) != Some(&b' ') {
        return None;
    }
    let day: u32 = s[day_start..i].parse().ok()?;
    i += 1;
    let clock = b.get(i..i + 8)?;
    let two = |k: usize| -> Option<u32> {
        let (x, y) = (clock[k], clock[k + 1]);
        (x.is_ascii_digit() && y.is_ascii_digit())
            .then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
    };
    if clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (two(0)?, two(3)?, two(6)?);
    i += 8;
    let mut milli = 0;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        let mut scale = 100;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            milli += u32::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
    }
    let time = infer_year(month, day, (hour, minute, second, milli), received_at_ms)?;
    Some((time, i))
}

/// The latest year (from next year back four) that puts the date no more than a day after
/// `received_at_ms`, as ms since the epoch (UTC). Four years back finds a `Feb 29`.
fn infer_year(
    month: u32,
    day: u32,
    (h, m, s, ms): (u32, u32, u32, u32),
    received_at_ms: i64,
) -> Option<i64> {
    const DAY_MS: i64 = 86_400_000;
    let year = DateTime::from_timestamp_millis(received_at_ms)?.year();
    (year - 4..=year + 1).rev().find_map(|y| {
        let t = NaiveDate::from_ymd_opt(y, month, day)?
            .and_hms_milli_opt(h, m, s, ms)?
            .and_utc()
            .timestamp_millis();
        (t <= received_at_ms.saturating_add(DAY_MS)).then_some(t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_26_2026: i64 = 1_795_687_200_000; // 2026-11-26T10:00:00Z

    #[test]
    fn bsd_header_with_pri_tag_and_pid() {
        let h = parse_syslog_header(
            "<38>Nov 26 09:59:58 bastion-1 sshd[4242]: Accepted publickey",
            NOV_26_2026,
        )
        .unwrap();
        assert_eq!(h.form, Form::Bsd);
        assert_eq!(h.time_ms, NOV_26_2026 - 2_000);
        assert_eq!((h.facility, h.severity), (Some(4), Some(6)));
        assert_eq!(
            (h.host, h.app, h.pid),
            (Some("bastion-1"), Some("sshd"), Some("4242"))
        );
        assert_eq!(h.msg, "Accepted publickey");
        assert_eq!(h.timestamp, Some("Nov 26 09:59:58"));
    }

    #[test]
    fn year_rolls_back_across_new_year_and_forward_for_small_skew() {
        let jan_1 = 1_798_761_600_000; // 2027-01-01T00:00:00Z
        let h = parse_syslog_header("Dec 31 23:59:59 h cron: x", jan_1).unwrap();
        assert_eq!(h.time_ms, jan_1 - 1_000);
        let dec_31 = jan_1 - 60_000;
        let h = parse_syslog_header("Jan  1 00:00:30 h cron: x", dec_31).unwrap();
        assert_eq!(h.time_ms, jan_1 + 30_000);
        // Two days ahead is last year's.
        let h = parse_syslog_header("Nov 28 10:00:00 h cron: x", NOV_26_2026).unwrap();
        assert_eq!(h.time_ms, NOV_26_2026 + 2 * 86_400_000 - 365 * 86_400_000);
        // Feb 29 goes back to the last leap year.
        let h = parse_syslog_header("Feb 29 00:00:00 h cron: x", NOV_26_2026).unwrap();
        assert_eq!(h.time_ms, 1_709_164_800_000); // 2024-02-29
        assert!(parse_syslog_header("Feb 30 00:00:00 h cron: x", NOV_26_2026).is_none());
    }

    #[test]
    fn tags_without_pid_without_host_and_without_tag() {
        let h =
            parse_syslog_header("Nov  6 10:00:00 fw kernel: [12.5] IN=eth0", NOV_26_2026).unwrap();
        assert_eq!(
            (h.host, h.app, h.pid, h.msg),
            (Some("fw"), Some("kernel"), None, "[12.5] IN=eth0")
        );
        let h = parse_syslog_header("<13>Nov  6 10:00:00 myprog[12]: hi", NOV_26_2026).unwrap();
        assert_eq!(
            (h.host, h.app, h.pid, h.msg),
            (None, Some("myprog"), Some("12"), "hi")
        );
        let h = parse_syslog_header("Nov  6 10:00:00 host just words: here", NOV_26_2026).unwrap();
        assert_eq!(
            (h.host, h.app, h.msg),
            (Some("host"), None, "just words: here")
        );
    }

    #[test]
    fn rfc5424_with_structured_data_and_nil_values() {
        let line = r#"<165>1 2026-11-26T10:00:00.123Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\"x\]"][b@1 k="1" k="2"] ﻿An application event"#;
        let h = parse_syslog_header(line, 0).unwrap();
        assert_eq!(h.form, Form::Rfc5424);
        assert_eq!(h.time_ms, NOV_26_2026 + 123);
        assert_eq!(
            (h.host, h.app, h.pid, h.msgid),
            (
                Some("mymachine.example.com"),
                Some("evntslog"),
                None,
                Some("ID47")
            )
        );
        assert_eq!(h.msg, "An application event");
        assert_eq!(
            structured_data_json(h.structured_data.unwrap()),
            serde_json::json!({"exampleSDID@32473": {"iut": "3", "eventSource": "App\"x]"}, "b@1": {"k": ["1", "2"]}})
        );
        let h = parse_syslog_header("<14>1 - - - - - -", 77).unwrap();
        assert_eq!((h.time_ms, h.host, h.msg), (77, None, ""));
    }

    #[test]
    fn app_name_for_routing() {
        assert_eq!(
            syslog_app_name(b"<38>Nov 26 09:59:58 bastion-1 sshd[4242]: Accepted publickey"),
            Some("sshd")
        );
        assert_eq!(
            syslog_app_name(b"<165>1 2026-11-26T10:00:00Z host evntslog - ID47 - hi"),
            Some("evntslog")
        );
        assert_eq!(
            syslog_app_name(b"<13>1 2026-11-26T10:00:00Z host cron - - - \xff\xfe"),
            Some("cron")
        );
        assert_eq!(syslog_app_name(b"<14>1 - - - - - -"), None);
        assert_eq!(syslog_app_name(b"not syslog"), None);
    }

    #[test]
    fn not_syslog() {
        for line in [
            "",
            "hello world",
            "<999>Nov 26 10:00:00 h x: y",
            "<13>1 2026-13-01T00:00:00Z h a - - -",
            "Nov 26 1:00:00 h x",
            "<13>1 2026-11-26T10:00:00Z h a p m [unterminated",
        ] {
            assert!(parse_syslog_header(line, NOV_26_2026).is_none(), "{line}");
        }
    }
}
