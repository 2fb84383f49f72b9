//! API tests: wire shapes, ordering, volume, determinism, and that every planted incident can be
//! found in its source's records the way a detection rule would look for it.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use evident_demo::{Demo, DemoConfig, DemoSource, PlantedIncident, generate};
use serde_json::Value;

/// Incidents that are a state of a source rather than something that happened at an instant.
const CONDITIONS: [&str; 2] = ["windows-dc-silent", "firewall-clock-skew"];

fn end() -> DateTime<Utc> {
    // 2026-12-01T00:00:00Z: a month that does not cross a year boundary.
    match Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single() {
        Some(t) => t,
        None => panic!("valid date"),
    }
}

/// Thirty days at 200 people; `EVIDENT_DEMO_SEED=n` runs the suite against another seed.
fn month_config() -> DemoConfig {
    let seed = std::env::var("EVIDENT_DEMO_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    DemoConfig {
        seed: seed.unwrap_or(42),
        ..DemoConfig::new(30, end())
    }
}

/// The 30-day demo, generated once for the whole test binary.
fn month() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| generate(&month_config()))
}

fn source<'a>(demo: &'a Demo, name: &str) -> &'a DemoSource {
    match demo.sources.iter().find(|s| s.name == name) {
        Some(s) => s,
        None => panic!("no source {name}"),
    }
}

fn incident<'a>(demo: &'a Demo, name: &str) -> &'a PlantedIncident {
    match demo.incidents.iter().find(|i| i.name == name) {
        Some(i) => i,
        None => panic!("no incident {name}"),
    }
}

fn text(record: &[u8]) -> &str {
    match std::str::from_utf8(record) {
        Ok(s) => s,
        Err(e) => panic!("record is not UTF-8: {e}"),
    }
}

fn json(record: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(record) {
        Ok(v) if v.is_object() => v,
        Ok(v) => panic!("not an object: {v}"),
        Err(e) => panic!("{e}: {}", String::from_utf8_lossy(record)),
    }
}

fn jsons(demo: &Demo, name: &str) -> Vec<Value> {
    source(demo, name).records.iter().map(|r| json(r)).collect()
}

/// The month's records of a JSON source, parsed once for the whole test binary.
fn parsed(name: &str) -> &'static [Value] {
    static PARSED: OnceLock<HashMap<&'static str, Vec<Value>>> = OnceLock::new();
    let all = PARSED.get_or_init(|| {
        ["aws-cloudtrail", "okta", "github", "windows-dc", "trivy"]
            .into_iter()
            .map(|n| (n, jsons(month(), n)))
            .collect()
    });
    match all.get(name) {
        Some(v) => v,
        None => panic!("{name} is not cached"),
    }
}

fn rfc3339(s: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.to_utc(),
        Err(e) => panic!("{s}: {e}"),
    }
}

fn millis(ms: i64) -> DateTime<Utc> {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t,
        None => panic!("{ms} out of range"),
    }
}

/// A parsed `<PRI>Mmm dd hh:mm:ss host prog[pid]: msg` line.
struct Syslog<'a> {
    pri: u8,
    time: DateTime<Utc>,
    host: &'a str,
    program: &'a str,
    msg: &'a str,
}

/// Parses an RFC 3164 line strictly; the year comes from the demo's end.
fn syslog(line: &str) -> Option<Syslog<'_>> {
    let rest = line.strip_prefix('<')?;
    let (pri, rest) = rest.split_once('>')?;
    if pri.is_empty() || pri.len() > 3 || !pri.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pri: u8 = pri.parse().ok()?;
    let stamp = rest.get(..15)?;
    let b = stamp.as_bytes();
    let shape = b[3] == b' '
        && (b[4] == b' ' || b[4].is_ascii_digit())
        && b[5].is_ascii_digit()
        && b[6] == b' '
        && b[9] == b':'
        && b[12] == b':';
    if !shape {
        return None;
    }
    let year = end().year();
    let time =
        NaiveDateTime::parse_from_str(&format!("{year} {stamp}"), "%Y %b %e %H:%M:%S").ok()?;
    let rest = rest.get(15..)?.strip_prefix(' ')?;
    let (host, rest) = rest.split_once(' ')?;
    let (tag, msg) = rest.split_once(": ")?;
    let (program, pid) = tag.strip_suffix(']')?.split_once('[')?;
    if host.is_empty()
        || program.is_empty()
        || pid.is_empty()
        || !pid.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(Syslog {
        pri,
        time: time.and_utc(),
        host,
        program,
        msg,
    })
}

fn parse_syslog(line: &str) -> Syslog<'_> {
    match syslog(line) {
        Some(s) => s,
        None => panic!("not RFC 3164: {line}"),
    }
}

/// A parsed `<PRI>Mmm dd hh:mm:ss host kernel: [uptime] message` line.
struct KernLog<'a> {
    pri: u8,
    time: DateTime<Utc>,
    host: &'a str,
    /// Seconds since boot, in microseconds.
    uptime_us: i64,
    msg: &'a str,
}

/// Parses a kernel line as rsyslog writes kern.log; the year comes from the demo's end.
fn kern_log(line: &str) -> Option<KernLog<'_>> {
    let (pri, rest) = line.strip_prefix('<')?.split_once('>')?;
    let pri: u8 = pri.parse().ok()?;
    let stamp = rest.get(..15)?;
    let year = end().year();
    let time =
        NaiveDateTime::parse_from_str(&format!("{year} {stamp}"), "%Y %b %e %H:%M:%S").ok()?;
    let rest = rest.get(15..)?.strip_prefix(' ')?;
    let (host, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("kernel: [")?;
    let (uptime, msg) = rest.split_once("] ")?;
    let (secs, micros) = uptime.trim_start().split_once('.')?;
    if micros.len() != 6 {
        return None;
    }
    let uptime_us = secs.parse::<i64>().ok()? * 1_000_000 + micros.parse::<i64>().ok()?;
    Some(KernLog {
        pri,
        time: time.and_utc(),
        host,
        uptime_us,
        msg,
    })
}

fn parse_kern_log(line: &str) -> KernLog<'_> {
    match kern_log(line) {
        Some(k) => k,
        None => panic!("not a kern.log line: {line}"),
    }
}

/// `2026-11-03 09:14:07.123 UTC [4242] user@db LOG:  message` → (time, user, db, message).
fn postgres(line: &str) -> (DateTime<Utc>, &str, &str, &str) {
    let parsed = (|| {
        let time = NaiveDateTime::parse_from_str(line.get(..23)?, "%Y-%m-%d %H:%M:%S%.3f").ok()?;
        let rest = line.get(23..)?.strip_prefix(" UTC [")?;
        let (_pid, rest) = rest.split_once("] ")?;
        let (who, message) = rest.split_once(" LOG:  ")?;
        let (user, db) = who.split_once('@')?;
        Some((time.and_utc(), user, db, message))
    })();
    match parsed {
        Some(p) => p,
        None => panic!("not a PostgreSQL log line: {line}"),
    }
}

/// The event time of a record, read the way ingest would read it.
fn event_time(source: &DemoSource, record: &[u8]) -> DateTime<Utc> {
    match source.format {
        "cloudtrail" => rfc3339(json(record)["eventTime"].as_str().unwrap_or_default()),
        "okta" => rfc3339(json(record)["published"].as_str().unwrap_or_default()),
        "github" => millis(json(record)["@timestamp"].as_i64().unwrap_or(i64::MIN)),
        "json" => rfc3339(json(record)["ts"].as_str().unwrap_or_default()),
        "authlog" => parse_syslog(text(record)).time,
        "pgaudit" => postgres(text(record)).0,
        "vpcflow" => {
            let start = text(record).split(' ').nth(10).and_then(|s| s.parse().ok());
            millis(start.unwrap_or(i64::MIN) * 1000)
        }
        "windows-security" => rfc3339(json(record)["@timestamp"].as_str().unwrap_or_default()),
        "netfilter" => parse_kern_log(text(record)).time,
        "trivy" => rfc3339(json(record)["CreatedAt"].as_str().unwrap_or_default()),
        other => panic!("unknown format {other}"),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The largest number of `times` inside any window of `width`.
fn densest(times: &mut [DateTime<Utc>], width: Duration) -> usize {
    times.sort();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] > width {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

#[test]
fn same_config_gives_same_bytes_and_other_seeds_differ() {
    let config = DemoConfig::new(3, end());
    let a = generate(&config);
    let b = generate(&config);
    assert_eq!(a, b);
    let c = generate(&DemoConfig { seed: 7, ..config });
    assert_eq!(a.sources.len(), c.sources.len());
    for (x, y) in a.sources.iter().zip(&c.sources) {
        assert_eq!(x.name, y.name);
        assert_ne!(x.records, y.records, "{} ignores the seed", x.name);
    }
}

#[test]
fn sources_have_the_documented_names_and_formats() {
    let names: Vec<(&str, &str)> = month().sources.iter().map(|s| (s.name, s.format)).collect();
    assert_eq!(
        names,
        [
            ("aws-cloudtrail", "cloudtrail"),
            ("okta", "okta"),
            ("github", "github"),
            ("linux-auth", "authlog"),
            ("vpc-flow", "vpcflow"),
            ("postgres", "pgaudit"),
            ("app", "json"),
            ("windows-dc", "windows-security"),
            ("firewall", "netfilter"),
            ("trivy", "trivy"),
        ]
    );
    for s in &month().sources {
        assert!(
            s.records
                .iter()
                .all(|r| !r.is_empty() && !r.ends_with(b"\n")),
            "{}",
            s.name
        );
    }
}

#[test]
fn json_records_carry_the_vendor_fields() {
    let required: [(&str, &[&str]); 4] = [
        (
            "aws-cloudtrail",
            &[
                "/eventVersion",
                "/userIdentity/type",
                "/eventTime",
                "/eventSource",
                "/eventName",
                "/awsRegion",
                "/sourceIPAddress",
                "/userAgent",
                "/eventID",
                "/eventType",
                "/readOnly",
                "/recipientAccountId",
            ],
        ),
        (
            "okta",
            &[
                "/uuid",
                "/published",
                "/eventType",
                "/version",
                "/severity",
                "/displayMessage",
                "/actor/id",
                "/actor/alternateId",
                "/client/ipAddress",
                "/outcome/result",
                "/transaction/id",
            ],
        ),
        (
            "github",
            &[
                "/@timestamp",
                "/_document_id",
                "/action",
                "/actor",
                "/created_at",
                "/org",
                "/operation_type",
            ],
        ),
        (
            "app",
            &[
                "/ts",
                "/level",
                "/service",
                "/msg",
                "/request_id",
                "/http/status",
                "/client_ip",
            ],
        ),
    ];
    for (name, pointers) in required {
        let records = jsons(month(), name);
        assert!(!records.is_empty(), "{name} is empty");
        for v in &records {
            for p in pointers {
                assert!(
                    v.pointer(p).is_some_and(|x| !x.is_null()),
                    "{name}: no {p} in {v}"
                );
            }
        }
    }
    for v in parsed("aws-cloudtrail") {
        let id = str_at(v, "/eventID");
        assert_eq!(
            id.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{id}"
        );
        assert!(str_at(v, "/eventTime").ends_with('Z'));
        let failed = v.get("errorCode").is_some();
        assert!(!failed || v["responseElements"].is_null(), "{v}");
    }
}

#[test]
fn times_are_sorted_inside_the_window_and_match_the_records() {
    let config = month_config();
    let (start, end) = (
        (config.end - Duration::days(i64::from(config.days))).timestamp_millis(),
        config.end.timestamp_millis(),
    );
    for s in &month().sources {
        assert_eq!(s.times_ms.len(), s.records.len(), "{}", s.name);
        assert!(
            s.times_ms.windows(2).all(|w| w[0] <= w[1]),
            "{}: times_ms not sorted",
            s.name
        );
        assert!(
            s.times_ms.iter().all(|t| (start..end).contains(t)),
            "{}: a time outside the window",
            s.name
        );
        // The time written in a record is its true time, to the record's precision, except
        // on the firewall, whose clock runs slow.
        let lag = if s.name == "firewall" { 7 * 60_000 } else { 0 };
        for (r, &t) in s.records.iter().zip(&s.times_ms) {
            let behind = t - lag - event_time(s, r).timestamp_millis();
            assert!(
                (0..1000).contains(&behind),
                "{}: {t} vs {}",
                s.name,
                text(r)
            );
        }
    }
}

#[test]
fn every_source_has_a_cadence_that_a_live_source_keeps() {
    let end = month_config().end.timestamp_millis();
    for s in &month().sources {
        let Some(cadence) = s.cadence_secs else {
            panic!("{} has no cadence", s.name)
        };
        assert!(cadence > 0, "{}", s.name);
        if s.name == "windows-dc" {
            continue; // Goes silent on purpose, see windows_dc_goes_silent_three_days_before_the_end.
        }
        let mut last = end - 30 * 86_400_000;
        for &t in s.times_ms.iter().chain([end].iter()) {
            assert!(
                t - last <= cadence * 1000,
                "{}: {} s without a record before {}",
                s.name,
                (t - last) / 1000,
                millis(t)
            );
            last = t;
        }
    }
    let cadence = |name: &str| source(month(), name).cadence_secs;
    assert_eq!(cadence("windows-dc"), Some(3600));
    assert_eq!(cadence("firewall"), Some(3600));
    assert_eq!(cadence("trivy"), Some(8 * 86_400));
}

#[test]
fn a_month_has_the_expected_volume_and_shape() {
    let counts: HashMap<&str, usize> = month()
        .sources
        .iter()
        .map(|s| (s.name, s.records.len()))
        .collect();
    let total: usize = counts.values().sum();
    assert!(
        (300_000..=650_000).contains(&total),
        "{total} records: {counts:?}"
    );
    let mut by_size: Vec<(&str, usize)> = counts.iter().map(|(k, v)| (*k, *v)).collect();
    by_size.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let top: HashSet<&str> = by_size[..2].iter().map(|(k, _)| *k).collect();
    assert_eq!(top, HashSet::from(["vpc-flow", "app"]), "{by_size:?}");
    assert!(
        counts
            .iter()
            .all(|(name, &n)| n >= 5_000 || *name == "trivy"),
        "{counts:?}"
    );
    // Three images a week.
    assert_eq!(counts["trivy"], 15, "{counts:?}");

    // Office hours are busier than nights, weekdays busier than weekends.
    let okta = source(month(), "okta");
    let mut by_hour = [0usize; 24];
    let mut by_day: HashMap<chrono::NaiveDate, usize> = HashMap::new();
    for r in &okta.records {
        let t = event_time(okta, r);
        by_hour[chrono::Timelike::hour(&t) as usize] += 1;
        *by_day.entry(t.date_naive()).or_default() += 1;
    }
    assert!(by_hour[10] > 5 * by_hour[3], "{by_hour:?}");
    let (weekends, weekdays): (Vec<_>, Vec<_>) = by_day
        .iter()
        .partition(|(d, _)| d.weekday().num_days_from_monday() >= 5);
    let mean = |days: &[(&chrono::NaiveDate, &usize)]| {
        days.iter().map(|(_, n)| **n).sum::<usize>() / days.len().max(1)
    };
    assert!(mean(&weekdays) > 3 * mean(&weekends), "{by_day:?}");
}

#[test]
fn volume_scales_with_days_and_employees() {
    let base = DemoConfig::new(6, end());
    let count =
        |c: &DemoConfig| -> usize { generate(c).sources.iter().map(|s| s.records.len()).sum() };
    let small = count(&DemoConfig {
        employees: 100,
        ..base.clone()
    }) as f64;
    let large = count(&DemoConfig {
        employees: 400,
        ..base.clone()
    }) as f64;
    assert!((3.0..5.0).contains(&(large / small)), "{small} vs {large}");
    let short = count(&DemoConfig::new(3, end())) as f64;
    let long = count(&base) as f64;
    assert!((1.6..2.4).contains(&(long / short)), "{short} vs {long}");
}

#[test]
fn tiny_and_empty_configs_work() {
    let empty = generate(&DemoConfig::new(0, end()));
    assert!(empty.incidents.is_empty());
    assert!(empty.sources.iter().all(|s| s.records.is_empty()));
    let one = generate(&DemoConfig {
        employees: 1,
        ..DemoConfig::new(1, end() - Duration::minutes(90))
    });
    assert_eq!(one.incidents.len(), 17);
    let start = end() - Duration::minutes(90) - Duration::days(1);
    for i in &one.incidents {
        assert!(
            i.time >= start && i.time < end() - Duration::minutes(90),
            "{}",
            i.name
        );
        let s = source(&one, i.source);
        let after = s.times_ms.iter().any(|&t| t >= i.time.timestamp_millis());
        // The silence is the absence of records; everything else shows in some.
        assert_eq!(after, i.name != "windows-dc-silent", "{}", i.name);
    }
    assert!(!source(&one, "windows-dc").records.is_empty());
    assert_eq!(source(&one, "trivy").records.len(), 3);
}

#[test]
fn vpc_flow_lines_are_version_2_default_format() {
    let vpc = source(month(), "vpc-flow");
    let mut rejected_from_internet = 0;
    for r in &vpc.records {
        let line = text(r);
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 14, "{line}");
        assert_eq!(f[0], "2");
        assert_eq!(f[1].len(), 12);
        assert!(f[2].starts_with("eni-"), "{line}");
        match f[13] {
            "OK" => {
                assert!(matches!(f[12], "ACCEPT" | "REJECT"), "{line}");
                for n in [5, 6, 7, 8, 9] {
                    assert!(f[n].parse::<u64>().is_ok(), "{line}");
                }
            }
            "NODATA" => assert!(f[3..10].iter().all(|x| *x == "-") && f[12] == "-", "{line}"),
            _ => panic!("log-status: {line}"),
        }
        let (start, end): (i64, i64) = (f[10].parse().unwrap_or(-1), f[11].parse().unwrap_or(-2));
        assert!(start <= end, "{line}");
        if f[12] == "REJECT" && f[3].starts_with("203.0.113.") {
            rejected_from_internet += 1;
        }
    }
    assert!(rejected_from_internet > 500, "{rejected_from_internet}");
}

#[test]
fn auth_log_lines_are_rfc_3164() {
    let auth = source(month(), "linux-auth");
    let mut programs = HashSet::new();
    let mut hosts = HashSet::new();
    for r in &auth.records {
        let line = parse_syslog(text(r));
        assert!(line.pri < 192, "{}", text(r));
        programs.insert(line.program);
        hosts.insert(line.host);
    }
    for p in ["sshd", "sudo", "CRON", "systemd-logind", "usermod"] {
        assert!(programs.contains(p), "no {p} lines: {programs:?}");
    }
    assert!(hosts.len() >= 5, "{hosts:?}");
    // A line that is not RFC 3164 is caught.
    assert!(syslog("Nov  3 09:14:07 bastion-1 sshd[1]: x").is_none());
    assert!(syslog("<38>Nov  3 09:14:07 bastion-1 sshd: x").is_none());
    assert!(syslog("<38>Nov  3 09:14:07 bastion-1 sshd[12]: x").is_some());
}

#[test]
fn postgres_lines_are_pgaudit() {
    let pg = source(month(), "postgres");
    let mut dbs = HashSet::new();
    let mut audits = 0;
    for r in &pg.records {
        let (_, _, db, message) = postgres(text(r));
        dbs.insert(db.to_owned());
        if let Some(audit) = message.strip_prefix("AUDIT: ") {
            audits += 1;
            let fields: Vec<&str> = audit.splitn(8, ',').collect();
            assert_eq!(fields.len(), 8, "{audit}");
            assert!(matches!(fields[0], "SESSION" | "OBJECT"), "{audit}");
            assert!(
                fields[1].parse::<u64>().is_ok() && fields[2].parse::<u64>().is_ok(),
                "{audit}"
            );
            assert!(
                matches!(
                    fields[3],
                    "READ" | "WRITE" | "DDL" | "ROLE" | "FUNCTION" | "MISC"
                ),
                "{audit}"
            );
            assert!(audit.ends_with(",<not logged>"), "{audit}");
        }
    }
    assert!(
        dbs.contains("customers") && dbs.contains("analytics"),
        "{dbs:?}"
    );
    assert!(audits * 10 > pg.records.len() * 9);
}

#[test]
fn incidents_land_on_distinct_days_inside_the_window() {
    let config = month_config();
    let start = config.end - Duration::days(30);
    let incidents = &month().incidents;
    assert_eq!(incidents.len(), 17);
    // The silent DC and the skewed firewall are conditions of a whole source, not events.
    let days: HashSet<_> = incidents
        .iter()
        .filter(|i| !CONDITIONS.contains(&i.name))
        .map(|i| i.time.date_naive())
        .collect();
    assert_eq!(days.len(), incidents.len() - CONDITIONS.len());
    for i in incidents {
        assert!(i.time >= start && i.time < config.end, "{}", i.name);
        assert!(!i.description.is_empty());
        assert!(
            month().sources.iter().any(|s| s.name == i.source),
            "{}",
            i.source
        );
    }
    assert!(incidents.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn ssh_brute_force_is_in_auth_log_and_alone() {
    let incident = incident(month(), "ssh-brute-force");
    let auth = source(month(), "linux-auth");
    let mut failures: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for r in &auth.records {
        let line = parse_syslog(text(r));
        if line.program != "sshd" || !line.msg.starts_with("Failed password for ") {
            continue;
        }
        let ip = line
            .msg
            .split(" from ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap_or_default();
        failures.entry(ip.to_owned()).or_default().push(line.time);
    }
    let noisy: Vec<(String, usize)> = failures
        .iter_mut()
        .map(|(ip, times)| (ip.clone(), densest(times, Duration::minutes(5))))
        .filter(|(_, n)| *n >= 10)
        .collect();
    assert_eq!(noisy.len(), 1, "{noisy:?}");
    let (ip, n) = &noisy[0];
    assert!(*n >= 12, "{n}");
    assert!(
        incident.description.contains(ip.as_str()),
        "{}",
        incident.description
    );
    let window = failures[ip]
        .iter()
        .filter(|t| **t >= incident.time && **t <= incident.time + Duration::minutes(5));
    assert!(window.count() >= 12);
}

#[test]
fn okta_brute_force_is_in_okta_and_alone() {
    let incident = incident(month(), "okta-brute-force");
    let mut failures: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for v in parsed("okta") {
        if str_at(v, "/eventType") == "user.session.start"
            && str_at(v, "/outcome/result") == "FAILURE"
        {
            let ip = str_at(v, "/client/ipAddress").to_owned();
            failures
                .entry(ip)
                .or_default()
                .push(rfc3339(str_at(v, "/published")));
        }
    }
    let noisy: Vec<(&String, usize)> = failures
        .iter_mut()
        .map(|(ip, times)| (ip, densest(times, Duration::minutes(5))))
        .filter(|(_, n)| *n >= 10)
        .collect();
    assert_eq!(noisy.len(), 1, "{noisy:?}");
    assert!(incident.description.contains(noisy[0].0.as_str()));
    assert!(!noisy[0].0.starts_with("10."), "attacker is external");
}

#[test]
fn privileged_group_grants_are_planted_and_rare() {
    let okta = parsed("okta");
    let grants: Vec<&Value> = okta
        .iter()
        .filter(|v| str_at(v, "/eventType") == "group.user_membership.add")
        .filter(|v| {
            v["target"].as_array().is_some_and(|t| {
                t.iter()
                    .any(|t| t["type"] == "UserGroup" && t["displayName"] == "Super Admins")
            })
        })
        .collect();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        rfc3339(str_at(grants[0], "/published")),
        incident(month(), "okta-super-admin-grant").time
    );

    let github = parsed("github");
    let owners: Vec<&Value> = github
        .iter()
        .filter(|v| v["action"] == "team.add_member" && str_at(v, "/team").ends_with("/owners"))
        .collect();
    assert_eq!(owners.len(), 1);
    assert!(owners[0]["user"].is_string() && owners[0]["actor"] != owners[0]["user"]);
    assert_eq!(
        millis(owners[0]["@timestamp"].as_i64().unwrap_or_default()),
        incident(month(), "github-owner-grant").time
    );
}

#[test]
fn after_hours_customer_reads_are_only_the_planted_ones() {
    let incident = incident(month(), "after-hours-customer-db");
    let services = ["app", "metabase", "etl", "migrator", "[unknown]"];
    let pg = source(month(), "postgres");
    let mut reads = Vec::new();
    for r in &pg.records {
        let (t, user, db, message) = postgres(text(r));
        let hour = chrono::Timelike::hour(&t);
        let after_hours = !(6..22).contains(&hour);
        if db == "customers"
            && after_hours
            && !services.contains(&user)
            && message.starts_with("AUDIT: SESSION")
        {
            reads.push((t, user, message));
        }
    }
    assert!(reads.len() >= 4, "{reads:?}");
    assert!(reads.iter().all(|(_, _, m)| m.contains(",READ,")));
    assert!(reads.iter().all(|(t, _, _)| chrono::Timelike::hour(t) == 2));
    assert!(
        reads
            .iter()
            .all(|(t, _, _)| *t >= incident.time && *t - incident.time < Duration::hours(1))
    );
    assert!(reads.iter().any(|(_, _, m)| m.contains("public.customers")));
    assert!(incident.description.contains(reads[0].1));
}

#[test]
fn aws_incidents_are_in_cloudtrail() {
    let trail = parsed("aws-cloudtrail");
    let root: Vec<&Value> = trail
        .iter()
        .filter(|v| str_at(v, "/userIdentity/type") == "Root")
        .collect();
    assert!(
        root.iter()
            .any(|v| v["eventName"] == "ConsoleLogin" && v["eventType"] == "AwsConsoleSignIn")
    );
    assert!(
        root.iter()
            .all(|v| rfc3339(str_at(v, "/eventTime")) >= incident(month(), "aws-root-login").time)
    );

    let no_mfa: Vec<&Value> = trail
        .iter()
        .filter(|v| {
            v["eventName"] == "ConsoleLogin"
                && str_at(v, "/additionalEventData/MFAUsed") == "No"
                && str_at(v, "/responseElements/ConsoleLogin") == "Success"
        })
        .collect();
    assert_eq!(no_mfa.len(), 1);
    assert_eq!(str_at(no_mfa[0], "/userIdentity/type"), "IAMUser");
    assert_eq!(
        rfc3339(str_at(no_mfa[0], "/eventTime")),
        incident(month(), "aws-console-login-without-mfa").time
    );
    assert!(
        trail.iter().any(|v| v["eventName"] == "ConsoleLogin"
            && str_at(v, "/additionalEventData/MFAUsed") == "Yes")
    );

    let stopped = incident(month(), "cloudtrail-stopped").time;
    for name in ["StopLogging", "DeleteTrail"] {
        let hits: Vec<&Value> = trail.iter().filter(|v| v["eventName"] == name).collect();
        assert_eq!(hits.len(), 1, "{name}");
        assert_eq!(hits[0]["eventSource"], "cloudtrail.amazonaws.com");
        assert!(rfc3339(str_at(hits[0], "/eventTime")) >= stopped);
    }

    let open: Vec<&Value> = trail
        .iter()
        .filter(|v| v["eventName"] == "AuthorizeSecurityGroupIngress")
        .filter(|v| {
            let rule = v
                .pointer("/requestParameters/ipPermissions/items/0")
                .cloned()
                .unwrap_or_default();
            rule["fromPort"] == 22
                && rule.pointer("/ipRanges/items/0/cidrIp") == Some(&Value::from("0.0.0.0/0"))
        })
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(
        rfc3339(str_at(open[0], "/eventTime")),
        incident(month(), "security-group-ssh-open").time
    );
}

#[test]
fn branch_protection_removal_is_in_github() {
    let github = parsed("github");
    let destroyed: Vec<&Value> = github
        .iter()
        .filter(|v| v["action"] == "protected_branch.destroy")
        .collect();
    assert_eq!(destroyed.len(), 1);
    assert_eq!(destroyed[0]["repo"], "northwind-labs/platform");
    assert_eq!(destroyed[0]["name"], "main");
    assert_eq!(
        millis(destroyed[0]["@timestamp"].as_i64().unwrap_or_default()),
        incident(month(), "branch-protection-removed").time
    );
}

#[test]
fn admin_mfa_deactivation_is_in_okta() {
    let okta = parsed("okta");
    let deactivated: Vec<&Value> = okta
        .iter()
        .filter(|v| v["eventType"] == "user.mfa.factor.deactivate")
        .collect();
    assert_eq!(deactivated.len(), 1);
    let target = str_at(deactivated[0], "/target/0/alternateId");
    assert_ne!(str_at(deactivated[0], "/actor/alternateId"), target);
    let description = &incident(month(), "admin-mfa-deactivated").description;
    assert!(description.contains(target), "{description}");
    // The target administers Okta: they appear as an actor of admin work or hold the title.
    assert!(description.contains("administrator"));
}

#[test]
fn terminated_user_acts_only_through_the_planted_clones() {
    let okta = parsed("okta");
    let deactivations: Vec<&Value> = okta
        .iter()
        .filter(|v| v["eventType"] == "user.lifecycle.deactivate")
        .collect();
    assert_eq!(deactivations.len(), 1);
    let email = str_at(deactivations[0], "/target/0/alternateId").to_owned();
    let at = rfc3339(str_at(deactivations[0], "/published"));

    // Before leaving they were an ordinary employee.
    assert!(
        okta.iter()
            .any(|v| str_at(v, "/actor/alternateId") == email
                && rfc3339(str_at(v, "/published")) < at)
    );
    // Afterwards Okta never sees them act.
    assert!(!okta.iter().any(
        |v| str_at(v, "/actor/alternateId") == email && rfc3339(str_at(v, "/published")) >= at
    ));

    let github = parsed("github");
    let after: Vec<&Value> = github
        .iter()
        .filter(|v| str_at(v, "/external_identity_nameid") == email)
        .filter(|v| millis(v["@timestamp"].as_i64().unwrap_or_default()) >= at)
        .collect();
    assert!(after.len() >= 3, "{after:?}");
    assert!(
        after
            .iter()
            .all(|v| v["action"] == "git.clone" && v["programmatic_access_type"].is_string())
    );
    let planted = incident(month(), "terminated-user-activity");
    assert_eq!(
        millis(after[0]["@timestamp"].as_i64().unwrap_or_default()),
        planted.time
    );
    assert!(planted.description.contains(&email));

    // Nor do CloudTrail, auth.log or PostgreSQL.
    let local = email.split('@').next().unwrap_or_default();
    let trail = parsed("aws-cloudtrail");
    assert!(
        !trail
            .iter()
            .any(|v| str_at(v, "/userIdentity/arn").ends_with(&email)
                && rfc3339(str_at(v, "/eventTime")) >= at)
    );
    assert!(
        trail
            .iter()
            .all(|v| str_at(v, "/userIdentity/userName") != local
                || rfc3339(str_at(v, "/eventTime")) < at)
    );
}

#[test]
fn sudo_refusal_is_in_auth_log() {
    let incident = incident(month(), "sudo-not-in-sudoers");
    let auth = source(month(), "linux-auth");
    let refused: Vec<Syslog<'_>> = auth
        .records
        .iter()
        .map(|r| parse_syslog(text(r)))
        .filter(|l| l.program == "sudo" && l.msg.contains(" : user NOT in sudoers ; "))
        .collect();
    assert!(!refused.is_empty());
    let user = refused[0]
        .msg
        .split(" : ")
        .next()
        .unwrap_or_default()
        .trim();
    assert!(
        incident.description.starts_with(user),
        "{}",
        incident.description
    );
    assert!(
        refused
            .iter()
            .all(|l| l.time >= incident.time && l.time - incident.time < Duration::hours(1))
    );
    assert!(refused.iter().all(|l| l.pri == 81 && l.host == "app-1"));
    // Accepted sudo by the same user never happens: they are not a sudoer.
    assert!(!auth.records.iter().any(|r| {
        let l = parse_syslog(text(r));
        l.program == "sudo" && l.msg.trim_start().starts_with(&format!("{user} : TTY="))
    }));
}

#[test]
fn windows_events_are_winlogbeat_json() {
    let events = parsed("windows-dc");
    let mut by_id: HashMap<i64, usize> = HashMap::new();
    let mut logon_types = HashSet::new();
    let mut office_hours = 0;
    for v in events {
        let id = v.pointer("/winlog/event_id").and_then(Value::as_i64);
        let Some(id) = id else {
            panic!("no numeric winlog.event_id: {v}")
        };
        *by_id.entry(id).or_default() += 1;
        assert_eq!(str_at(v, "/event/code"), id.to_string(), "{v}");
        assert_eq!(str_at(v, "/winlog/channel"), "Security");
        assert_eq!(str_at(v, "/winlog/computer_name"), "DC1.northwind.example");
        assert_eq!(str_at(v, "/host/name"), "DC1.northwind.example");
        let provider = str_at(v, "/winlog/provider_name");
        match id {
            1102 => assert_eq!(provider, "Microsoft-Windows-Eventlog"),
            _ => assert_eq!(provider, "Microsoft-Windows-Security-Auditing"),
        }
        let data = |field: &str| {
            let section = if id == 1102 {
                "user_data"
            } else {
                "event_data"
            };
            str_at(v, &format!("/winlog/{section}/{field}")).to_owned()
        };
        match id {
            4624 => {
                logon_types.insert(data("LogonType"));
                assert_eq!(data("TargetDomainName"), "NORTHWIND");
                assert!(!data("TargetUserName").is_empty() && !data("IpAddress").is_empty());
                let t = rfc3339(str_at(v, "/@timestamp"));
                if (8..18).contains(&chrono::Timelike::hour(&t)) {
                    office_hours += 1;
                }
            }
            4625 => {
                assert_eq!(data("Status"), "0xc000006d", "{v}");
                assert_eq!(data("SubStatus"), "0xc000006a", "{v}");
            }
            4672 => assert!(data("PrivilegeList").starts_with("Se"), "{v}"),
            4728 => assert!(data("MemberName").starts_with("CN="), "{v}"),
            1102 => assert!(!data("SubjectUserName").is_empty(), "{v}"),
            other => panic!("unexpected event id {other}"),
        }
    }
    assert_eq!(
        logon_types,
        HashSet::from(["2".to_owned(), "3".to_owned(), "10".to_owned()])
    );
    let logons = by_id[&4624];
    assert!(logons * 10 > events.len() * 7, "{by_id:?}");
    assert!(office_hours * 2 > logons, "{office_hours} of {logons}");
    assert!(by_id[&4625] > 100 && by_id[&4672] > 100, "{by_id:?}");
    assert_eq!(by_id[&1102], 1, "{by_id:?}");

    // Every 4672 shares its logon id with a 4624 of the same account at the same instant.
    let logon_ids: HashSet<(&str, &str, &str)> = events
        .iter()
        .filter(|v| v.pointer("/winlog/event_id") == Some(&Value::from(4624)))
        .map(|v| {
            (
                str_at(v, "/@timestamp"),
                str_at(v, "/winlog/event_data/TargetLogonId"),
                str_at(v, "/winlog/event_data/TargetUserName"),
            )
        })
        .collect();
    for v in events
        .iter()
        .filter(|v| v.pointer("/winlog/event_id") == Some(&Value::from(4672)))
    {
        let key = (
            str_at(v, "/@timestamp"),
            str_at(v, "/winlog/event_data/SubjectLogonId"),
            str_at(v, "/winlog/event_data/SubjectUserName"),
        );
        assert!(logon_ids.contains(&key), "{v}");
    }
}

#[test]
fn windows_dc_goes_silent_three_days_before_the_end() {
    let dc = source(month(), "windows-dc");
    let silent_from = month_config().end - Duration::days(3);
    let (Some(&first), Some(&last)) = (dc.times_ms.first(), dc.times_ms.last()) else {
        panic!("windows-dc is empty")
    };
    assert!(millis(last) < silent_from, "last record {}", millis(last));
    assert!(
        silent_from - millis(last) < Duration::hours(1),
        "{}",
        millis(last)
    );
    assert!(millis(first) < month_config().end - Duration::days(29));
    let planted = incident(month(), "windows-dc-silent");
    assert_eq!(planted.source, "windows-dc");
    assert_eq!(planted.time, silent_from);
    // Every other source keeps sending until the end.
    for s in month().sources.iter().filter(|s| s.name != "windows-dc") {
        let last = s.times_ms.last().copied().unwrap_or_default();
        assert!(millis(last) >= silent_from, "{} stops early", s.name);
    }
}

#[test]
fn domain_admins_grant_and_log_clear_are_in_windows_dc() {
    let events = parsed("windows-dc");
    let of = |id: i64| -> Vec<&Value> {
        events
            .iter()
            .filter(|v| v.pointer("/winlog/event_id") == Some(&Value::from(id)))
            .collect()
    };
    let grants: Vec<&Value> = of(4728)
        .into_iter()
        .filter(|v| str_at(v, "/winlog/event_data/TargetUserName") == "Domain Admins")
        .collect();
    assert_eq!(grants.len(), 1);
    let grant = grants[0];
    let planted = incident(month(), "domain-admins-grant");
    assert_eq!(rfc3339(str_at(grant, "/@timestamp")), planted.time);
    assert_eq!(
        str_at(grant, "/winlog/event_data/TargetDomainName"),
        "NORTHWIND"
    );
    assert!(str_at(grant, "/winlog/event_data/TargetSid").ends_with("-512"));
    let actor = str_at(grant, "/winlog/event_data/SubjectUserName");
    assert!(
        planted.description.starts_with(actor),
        "{}",
        planted.description
    );
    // Ordinary groups change too, so a rule must look at the group.
    assert!(of(4728).len() > 1);

    let cleared = of(1102);
    assert_eq!(cleared.len(), 1);
    let planted = incident(month(), "security-log-cleared");
    let at = rfc3339(str_at(cleared[0], "/@timestamp"));
    assert_eq!(at, planted.time);
    assert!((1..4).contains(&chrono::Timelike::hour(&at)), "{at}");
    let admin = str_at(cleared[0], "/winlog/user_data/SubjectUserName");
    assert!(planted.description.starts_with(admin));
    // The one who cleared it is an administrator: their logons get special privileges.
    assert!(
        of(4672)
            .iter()
            .any(|v| str_at(v, "/winlog/event_data/SubjectUserName") == admin)
    );
}

#[test]
fn firewall_lines_are_kern_log_and_seven_minutes_behind() {
    let fw = source(month(), "firewall");
    let mut blocked = 0;
    let mut boot = None;
    for (r, &t) in fw.records.iter().zip(&fw.times_ms) {
        let line = text(r);
        let k = parse_kern_log(line);
        assert_eq!((k.pri, k.host), (4, "fw-1"), "{line}");
        // The written stamp has whole seconds: it is the true time minus 7 minutes, truncated.
        let expected = (t - 7 * 60_000).div_euclid(1000) * 1000;
        assert_eq!(
            k.time.timestamp_millis(),
            expected,
            "{line} at {}",
            millis(t)
        );
        // The uptime counter runs on true time.
        let b = t * 1000 - k.uptime_us;
        let boot = *boot.get_or_insert(b);
        assert!((b - boot).abs() < 1000, "{line}");
        let fields: HashMap<&str, &str> =
            k.msg.split(' ').filter_map(|f| f.split_once('=')).collect();
        for key in ["IN", "OUT", "MAC", "SRC", "DST", "LEN", "TTL", "PROTO"] {
            assert!(fields.contains_key(key), "no {key}: {line}");
        }
        if k.msg.starts_with("[FW-BLOCK] ") {
            blocked += 1;
            assert_eq!(fields["OUT"], "", "{line}");
        } else {
            assert!(k.msg.starts_with("[FW-ACCEPT] "), "{line}");
            assert_eq!((fields["PROTO"], fields["DPT"]), ("TCP", "443"), "{line}");
        }
        if fields["PROTO"] == "TCP" {
            assert!(k.msg.ends_with(" SYN URGP=0"), "{line}");
        }
    }
    assert!(blocked * 10 > fw.records.len() * 7, "{blocked}");
    assert!(blocked < fw.records.len());
    let planted = incident(month(), "firewall-clock-skew");
    assert_eq!(planted.source, "firewall");
    assert!(planted.description.contains("7 minutes"));
}

#[test]
fn trivy_reports_are_single_line_json_with_results() {
    let trivy = source(month(), "trivy");
    let reports = parsed("trivy");
    let mut by_image: HashMap<String, Vec<(String, HashSet<String>)>> = HashMap::new();
    for (r, v) in trivy.records.iter().zip(reports) {
        assert!(!r.contains(&b'\n'), "not one line");
        assert_eq!(v["SchemaVersion"], 2);
        assert_eq!(v["ArtifactType"], "container_image");
        assert!(
            v.pointer("/Metadata/OS/Family")
                .is_some_and(Value::is_string)
        );
        let name = str_at(v, "/ArtifactName");
        let Some((image, tag)) = name.rsplit_once(':') else {
            panic!("{name}")
        };
        assert!(image.starts_with("registry.northwind.example/"), "{name}");
        let Some(results) = v["Results"].as_array() else {
            panic!("no Results: {v}")
        };
        assert!(!results.is_empty());
        let mut ids = HashSet::new();
        for result in results {
            assert!(result["Target"].is_string());
            assert!(matches!(
                result["Class"].as_str(),
                Some("os-pkgs" | "lang-pkgs")
            ));
            for vuln in result["Vulnerabilities"].as_array().into_iter().flatten() {
                let id = str_at(vuln, "/VulnerabilityID");
                assert!(id.starts_with("CVE-"), "{vuln}");
                assert!(matches!(
                    str_at(vuln, "/Severity"),
                    "CRITICAL" | "HIGH" | "MEDIUM" | "LOW"
                ));
                for field in ["/PkgName", "/InstalledVersion", "/Title", "/PrimaryURL"] {
                    assert!(!str_at(vuln, field).is_empty(), "no {field}: {vuln}");
                }
                ids.insert(id.to_owned());
            }
        }
        assert!(!ids.is_empty(), "{name}");
        by_image
            .entry(image.to_owned())
            .or_default()
            .push((tag.to_owned(), ids));
    }
    assert_eq!(by_image.len(), 3, "{:?}", by_image.keys());
    for (image, scans) in &by_image {
        assert_eq!(scans.len(), 5, "{image}");
        let (first, last) = (&scans[0], &scans[scans.len() - 1]);
        assert_ne!(first.0, last.0, "{image} never got a new version");
        assert!(
            first.1.difference(&last.1).count() >= 2,
            "{image}: nothing fixed"
        );
        assert!(last.1.len() < first.1.len(), "{image}");
    }
    // Weekly: about seven days between scans of one image.
    let times: Vec<i64> = trivy.times_ms.iter().step_by(3).copied().collect();
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!((gap - 7 * 86_400_000).abs() < 10 * 60_000, "{gap}");
    }
}
