//! API tests: wire shapes, ordering, volume, determinism, and that every planted incident can be
//! found in its source's records the way a detection rule would look for it.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use evident_demo::{Demo, DemoConfig, DemoSource, PlantedIncident, generate};
use serde_json::Value;

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
        ["aws-cloudtrail", "okta", "github"]
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
fn records_are_sorted_and_inside_the_window() {
    let config = month_config();
    let start = config.end - Duration::days(i64::from(config.days));
    for s in &month().sources {
        let mut previous = start;
        for r in &s.records {
            let t = event_time(s, r);
            assert!(
                t >= previous,
                "{}: {} before {previous}: {}",
                s.name,
                t,
                text(r)
            );
            assert!(t < config.end, "{}: {} after the end", s.name, t);
            previous = t;
        }
    }
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
        (300_000..=600_000).contains(&total),
        "{total} records: {counts:?}"
    );
    let mut by_size: Vec<(&str, usize)> = counts.iter().map(|(k, v)| (*k, *v)).collect();
    by_size.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let top: HashSet<&str> = by_size[..2].iter().map(|(k, _)| *k).collect();
    assert_eq!(top, HashSet::from(["vpc-flow", "app"]), "{by_size:?}");
    assert!(counts.values().all(|&n| n >= 5_000), "{counts:?}");

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
    assert_eq!(one.incidents.len(), 13);
    let start = end() - Duration::minutes(90) - Duration::days(1);
    for i in &one.incidents {
        assert!(
            i.time >= start && i.time < end() - Duration::minutes(90),
            "{}",
            i.name
        );
        let s = source(&one, i.source);
        assert!(
            s.records.iter().any(|r| event_time(s, r) >= i.time),
            "{}",
            i.name
        );
    }
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
    assert_eq!(incidents.len(), 13);
    let days: HashSet<_> = incidents.iter().map(|i| i.time.date_naive()).collect();
    assert_eq!(days.len(), incidents.len());
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
