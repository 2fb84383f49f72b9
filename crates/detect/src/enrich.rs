//! Enrichment before detection: facts a rule cannot see in one record, added to the
//! normalized event under `evident.*` (DESIGN.md §6):
//!
//! | field | from |
//! |---|---|
//! | `evident.time.after_hours`, `evident.time.local` | `[business_hours]`: time zone, days, start/end, holidays |
//! | `evident.asset.sensitive`, `evident.asset.name` | `[[assets]]`: normalized field → value |
//! | `evident.group.privileged`, `evident.group.name` | `[privileged_groups]`, against `group.name`, `privileges`, `policy.name` |
//! | `evident.change_ticket` | the id of an approved [`ChangeTicket`] covering the change |
//! | `evident.user.terminated`, `evident.user.terminated_at` | an IdP deprovisioning event seen earlier for the actor |
//!
//! The [`Enricher`] is stateful: it learns terminated users from the events it enriches and
//! change tickets from [`Enricher::add_ticket`], so it must see events in time order.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveTime, Offset, TimeZone, Timelike};
use evident_model::{Class, Event};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::DetectError;
use crate::config::{Asset, DetectConfig, parse_duration_ms};

/// Terminated users remembered at most; the oldest terminations are forgotten first.
const MAX_TERMINATED: usize = 100_000;

/// Operations (`api.operation`) that deprovision a user in an identity provider.
const DEPROVISION: &[&str] = &[
    "user.lifecycle.deactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.delete.initiated",
    "delete user",
    "disable account",
    "org.remove_member",
    "business.remove_member",
    "delete_user",
    "suspend_user",
];

/// Operations that give a deprovisioned user their access back.
const REPROVISION: &[&str] = &[
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.lifecycle.unsuspend",
    "restore user",
    "enable account",
    "org.add_member",
    "business.add_member",
    "undelete_user",
    "unsuspend_user",
];

/// An approved (or not) change: who may change whom, in which group, when. The body of
/// `POST /api/v1/change-tickets`, a line of `hunt --change-tickets`, or what the Jira
/// webhook intake makes of an issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeTicket {
    /// Ticket id (`CHG-123`).
    pub id: String,
    /// Only `approved` tickets cover anything.
    pub status: String,
    /// Who carries out the change (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The user being changed (matched case-insensitively).
    pub target: String,
    /// The group or role granted; when given it must match too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Window start, RFC 3339.
    pub start: String,
    /// Window end, RFC 3339.
    pub end: String,
}

impl ChangeTicket {
    /// Parses and checks a ticket from JSON text.
    pub fn from_json(text: &str) -> Result<ChangeTicket, DetectError> {
        let t: ChangeTicket = serde_json::from_str(text).map_err(|e| DetectError::Ticket {
            message: e.to_string(),
        })?;
        t.window_ms()?;
        if t.id.trim().is_empty() || t.target.trim().is_empty() {
            return Err(DetectError::Ticket {
                message: "`id` and `target` must not be empty".into(),
            });
        }
        Ok(t)
    }

    /// The ticket a Jira `jira:issue_updated` webhook describes when the update moved the
    /// issue into an approved status; `Ok(None)` for any other event or transition. The
    /// id is the issue key, the actor the user who approved it (`user.emailAddress`, else
    /// the assignee), and target, group and window come from the fields `jira` names.
    pub fn from_jira(
        payload: &Value,
        jira: &crate::config::JiraFields,
    ) -> Result<Option<ChangeTicket>, DetectError> {
        let bad = |message: String| DetectError::Ticket { message };
        if payload.get("webhookEvent").and_then(Value::as_str) != Some("jira:issue_updated") {
            return Ok(None);
        }
        let approved = |s: &str| {
            jira.approved_statuses
                .iter()
                .any(|a| a.eq_ignore_ascii_case(s))
        };
        let became_approved = payload
            .pointer("/changelog/items")
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items.iter().any(|i| {
                    i.get("field").and_then(Value::as_str) == Some("status")
                        && i.get("toString")
                            .and_then(Value::as_str)
                            .is_some_and(approved)
                })
            });
        if !became_approved {
            return Ok(None);
        }
        let key = payload
            .pointer("/issue/key")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("the webhook has no `issue.key`".into()))?;
        let field = |id: &str| {
            payload
                .pointer(&format!("/issue/fields/{id}"))
                .and_then(jira_text)
        };
        let need = |what: &str, id: &str| {
            field(id).ok_or_else(|| {
                bad(format!(
                    "issue {key}: field `{id}` ({what}, see [change_tickets.jira]) is empty"
                ))
            })
        };
        let ticket = ChangeTicket {
            id: key.to_owned(),
            status: "approved".into(),
            actor: payload
                .pointer("/user/emailAddress")
                .or_else(|| payload.pointer("/issue/fields/assignee/emailAddress"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            target: need("target", &jira.target)?,
            group: field(&jira.group),
            start: need("start", &jira.start)?,
            end: need("end", &jira.end)?,
        };
        ticket.window_ms()?;
        Ok(Some(ticket))
    }

    /// `[start, end]` in ms since the epoch; an error names the bad field.
    pub fn window_ms(&self) -> Result<(i64, i64), DetectError> {
        let parse = |field: &str, v: &str| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|e| DetectError::Ticket {
                    message: format!("`{field}` {v:?} is not an RFC 3339 time: {e}"),
                })
        };
        let (start, end) = (parse("start", &self.start)?, parse("end", &self.end)?);
        if end < start {
            return Err(DetectError::Ticket {
                message: format!("`end` {} is before `start` {}", self.end, self.start),
            });
        }
        Ok((start, end))
    }

    /// Approved, in the window (± `grace_ms`), for this user and (when given) group.
    fn covers(&self, time_ms: i64, grace_ms: i64, users: &[&str], groups: &[&str]) -> bool {
        let Ok((start, end)) = self.window_ms() else {
            return false;
        };
        self.status.eq_ignore_ascii_case("approved")
            && time_ms >= start.saturating_sub(grace_ms)
            && time_ms <= end.saturating_add(grace_ms)
            && users.iter().any(|u| u.eq_ignore_ascii_case(&self.target))
            && self
                .group
                .as_ref()
                .is_none_or(|g| groups.iter().any(|x| x.eq_ignore_ascii_case(g)))
    }
}

/// Adds the `evident.*` fields; see the module documentation.
#[derive(Debug)]
pub struct Enricher {
    tz: chrono_tz::Tz,
    /// Bit `n` set: weekday `n` (Monday = 0) is a working day.
    days: u8,
    start: NaiveTime,
    end: NaiveTime,
    holidays: HashSet<NaiveDate>,
    assets: Vec<Asset>,
    /// Lower-cased privileged names.
    privileged: HashSet<String>,
    grace_ms: i64,
    tickets: Vec<ChangeTicket>,
    /// Lower-cased user identifier → termination time (ms).
    terminated: HashMap<String, i64>,
    /// The last UTC minute's business-hours answer (minute, after hours, local time):
    /// events arrive roughly in time order, and the time-zone arithmetic and formatting
    /// were a fifth of enrichment.
    last_minute: Option<(i64, bool, String)>,
}

impl Enricher {
    /// Checks the config and builds the enricher; errors name the bad setting.
    pub fn new(config: &DetectConfig) -> Result<Enricher, DetectError> {
        let bh = &config.business_hours;
        let bad = |what: &'static str, message: String| DetectError::Config { what, message };
        let tz: chrono_tz::Tz = bh.timezone.parse().map_err(|_| {
            bad(
                "business_hours.timezone",
                format!("{:?} is not an IANA time zone name", bh.timezone),
            )
        })?;
        let mut days = 0u8;
        for d in &bh.days {
            let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|x| x.eq_ignore_ascii_case(d))
                .ok_or_else(|| {
                    bad(
                        "business_hours.days",
                        format!("{d:?} is not a day (mon, tue, wed, thu, fri, sat, sun)"),
                    )
                })?;
            days |= 1 << i;
        }
        let time = |what, v: &str| {
            NaiveTime::parse_from_str(v, "%H:%M")
                .map_err(|_| bad(what, format!("{v:?} is not a time of day like 06:00")))
        };
        let start = time("business_hours.start", &bh.start)?;
        let end = time("business_hours.end", &bh.end)?;
        let holidays = bh
            .holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| {
                    bad(
                        "business_hours.holidays",
                        format!("{h:?} is not a date like 2026-12-25"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Enricher {
            tz,
            days,
            start,
            end,
            holidays,
            assets: config.assets.clone(),
            privileged: config
                .privileged_groups
                .names
                .iter()
                .map(|n| n.to_lowercase())
                .collect(),
            grace_ms: parse_duration_ms("change_tickets.grace", &config.change_tickets.grace)?,
            tickets: Vec::new(),
            terminated: HashMap::new(),
            last_minute: None,
        })
    }

    /// The grace period for late change tickets, ms.
    pub fn grace_ms(&self) -> i64 {
        self.grace_ms
    }

    /// Learns a change ticket (a later one with the same id replaces it).
    pub fn add_ticket(&mut self, ticket: ChangeTicket) {
        self.tickets.retain(|t| t.id != ticket.id);
        self.tickets.push(ticket);
    }

    /// Adds every `evident.*` field to `event` and learns deprovisioning from it.
    pub fn enrich(&mut self, event: &mut Event) {
        let time_ms = event.time_ms();
        if let Some(ms) = time_ms {
            self.business_hours(event, ms);
        }
        if let Some(asset) = self.assets.iter().find(|a| asset_matches(a, event)) {
            let (name, sensitive) = (asset.name.clone(), asset.sensitive);
            event.set("evident.asset.name", name);
            event.set("evident.asset.sensitive", sensitive);
        }
        // A qualified name (GitHub's `org/team`, a `DOMAIN\group`) counts by its last part.
        if let Some(group) = granted_names(event)
            .into_iter()
            .find(|g| {
                let g = g.to_lowercase();
                let last = g.rsplit(['/', '\\']).next().unwrap_or(&g);
                self.privileged.contains(&g) || self.privileged.contains(last)
            })
            .map(str::to_owned)
        {
            event.set("evident.group.privileged", true);
            event.set("evident.group.name", group);
        }
        self.apply_change_ticket(event);
        if let Some(ms) = time_ms {
            self.terminations(event, ms);
        }
    }

    /// Sets `evident.change_ticket` when a known ticket covers the event (and removes it
    /// when none does): called again when a rule waited for late tickets.
    pub fn apply_change_ticket(&self, event: &mut Event) {
        if self.tickets.is_empty() {
            return;
        }
        let Some(time) = event.time_ms() else {
            return;
        };
        let users = identifiers(event, Principal::User);
        if users.is_empty() {
            return;
        }
        let groups = granted_names(event);
        if let Some(t) = self
            .tickets
            .iter()
            .find(|t| t.covers(time, self.grace_ms, &users, &groups))
        {
            event.set("evident.change_ticket", t.id.clone());
        }
    }

    fn business_hours(&mut self, event: &mut Event, ms: i64) {
        let minute = ms.div_euclid(60_000);
        if let Some((m, after, local)) = &self.last_minute
            && *m == minute
        {
            event.set("evident.time.after_hours", *after);
            event.set("evident.time.local", local.clone());
            return;
        }
        let Some(local) = self.tz.timestamp_millis_opt(ms).single() else {
            return;
        };
        let day = local.weekday().num_days_from_monday();
        let t = local.time();
        let in_hours = if self.start <= self.end {
            t >= self.start && t < self.end
        } else {
            // An overnight shift (22:00-06:00 working): inside unless between end and start.
            t >= self.start || t < self.end
        };
        let working_day = self.days & (1 << day) != 0;
        let after = !(in_hours && working_day) || self.holidays.contains(&local.date_naive());
        let text = format!(
            "{} {:02}:{:02}",
            local.date_naive(),
            local.hour(),
            local.minute()
        );
        event.set("evident.time.after_hours", after);
        event.set("evident.time.local", text.clone());
        // Zones whose offset has seconds (local mean time, before ~1900) change the local
        // minute within a UTC minute: not cached.
        if local.offset().fix().local_minus_utc() % 60 == 0 {
            self.last_minute = Some((minute, after, text));
        }
    }

    fn terminations(&mut self, event: &mut Event, ms: i64) {
        // Lower-cased only when not ASCII (rare): the lists are ASCII.
        let op = match event.get_str("api.operation") {
            Some(s) if s.is_ascii() => Cow::Borrowed(s),
            Some(s) => Cow::Owned(s.to_lowercase()),
            None => Cow::Borrowed(""),
        };
        let listed = |list: &[&str]| list.iter().any(|o| o.eq_ignore_ascii_case(&op));
        if listed(DEPROVISION) {
            let ids: Vec<String> = identifiers(event, Principal::User)
                .into_iter()
                .map(str::to_lowercase)
                .collect();
            for id in ids {
                if self.terminated.len() >= MAX_TERMINATED
                    && let Some(oldest) = self
                        .terminated
                        .iter()
                        .min_by_key(|(_, t)| **t)
                        .map(|(k, _)| k.clone())
                {
                    self.terminated.remove(&oldest);
                }
                self.terminated.insert(id, ms);
            }
            return;
        }
        if listed(REPROVISION) {
            for id in identifiers(event, Principal::User) {
                self.terminated.remove(&id.to_lowercase());
            }
            return;
        }
        if self.terminated.is_empty() {
            return;
        }
        let mut who = identifiers(event, Principal::Actor);
        if event.class() == Some(Class::Authentication) {
            who.extend(identifiers(event, Principal::User));
        }
        if let Some(at) = who
            .iter()
            .filter_map(|id| self.terminated.get(&id.to_lowercase()))
            .filter(|t| **t <= ms)
            .min()
        {
            event.set("evident.user.terminated", true);
            event.set("evident.user.terminated_at", *at);
        }
    }
}

/// A Jira field's text: a string, or a user / option object's e-mail address, value or
/// name.
fn jira_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Object(m) => ["emailAddress", "value", "name", "displayName"]
            .iter()
            .find_map(|k| m.get(*k).and_then(Value::as_str))
            .map(str::to_owned),
        _ => None,
    }
}

/// The names, e-mail addresses and ids of the principal at `prefix` (`user`, `actor.user`).
fn identifiers(event: &Event, prefix: Principal) -> Vec<&str> {
    let paths = match prefix {
        Principal::User => ["user.name", "user.email_addr", "user.uid"],
        Principal::Actor => ["actor.user.name", "actor.user.email_addr", "actor.user.uid"],
    };
    paths
        .iter()
        .filter_map(|p| event.get_str(p))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whose identifiers [`identifiers`] reads.
#[derive(Clone, Copy)]
enum Principal {
    /// `user.*`: the account acted on.
    User,
    /// `actor.user.*`: the account acting.
    Actor,
}

/// Group, privilege and policy names an event grants or touches.
fn granted_names(event: &Event) -> Vec<&str> {
    let mut out = Vec::new();
    for path in ["group.name", "policy.name"] {
        if let Some(s) = event.get_str(path) {
            out.push(s);
        }
    }
    if let Some(Value::Array(a)) = event.get("privileges") {
        out.extend(a.iter().filter_map(Value::as_str));
    }
    out
}

/// Does every `match` pair hold (case-insensitive, any member of an array)?
fn asset_matches(asset: &Asset, event: &Event) -> bool {
    !asset.matches.is_empty()
        && asset
            .matches
            .iter()
            .all(|(path, want)| event_matches(event, path, want))
}

/// [`value_matches`] over the event's attributes: the one at `path` or the object-valued one
/// above it (arrays on the way match by any member).
fn event_matches(event: &Event, path: &str, want: &str) -> bool {
    let in_record = || {
        let rest = path.strip_prefix("unmapped.")?;
        Some(leaf_matches(event.unmapped_record()?, Some(rest), want))
    };
    in_record() == Some(true)
        || event.attributes().any(|(p, v)| {
            if p == path {
                leaf_matches(v, None, want)
            } else {
                match path.strip_prefix(p).and_then(|r| r.strip_prefix('.')) {
                    Some(rest) => leaf_matches(v, Some(rest), want),
                    None => false,
                }
            }
        })
}

fn value_matches(map: &serde_json::Map<String, Value>, path: &str, want: &str) -> bool {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let Some(v) = map.get(head) else {
        return false;
    };
    leaf_matches(v, rest, want)
}

fn leaf_matches(v: &Value, rest: Option<&str>, want: &str) -> bool {
    match (v, rest) {
        (Value::Array(items), _) => items.iter().any(|i| leaf_matches(i, rest, want)),
        (Value::Object(m), Some(rest)) => value_matches(m, rest, want),
        (Value::String(s), None) => s.eq_ignore_ascii_case(want),
        (Value::Number(n), None) => n.to_string() == want,
        (Value::Bool(b), None) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Asset, BusinessHours};

    fn at(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn enricher(config: DetectConfig) -> Enricher {
        Enricher::new(&config).unwrap()
    }

    #[test]
    fn after_hours_follows_the_local_calendar() {
        let c = DetectConfig {
            business_hours: BusinessHours {
                timezone: "America/New_York".into(),
                days: vec![
                    "mon".into(),
                    "tue".into(),
                    "wed".into(),
                    "thu".into(),
                    "fri".into(),
                ],
                start: "09:00".into(),
                end: "17:00".into(),
                holidays: vec!["2026-11-26".into()],
            },
            ..DetectConfig::default()
        };
        let mut en = enricher(c);
        let check = |en: &mut Enricher, t: &str| {
            let mut e = Event::new(Class::ApiActivity, 1, at(t));
            en.enrich(&mut e);
            (
                e.get("evident.time.after_hours")
                    .unwrap()
                    .as_bool()
                    .unwrap(),
                e.get_str("evident.time.local").unwrap().to_owned(),
            )
        };
        // Wednesday 2026-11-25 10:00 in New York (UTC-5) is 15:00 UTC.
        assert_eq!(
            check(&mut en, "2026-11-25T15:00:00Z"),
            (false, "2026-11-25 10:00".into())
        );
        assert_eq!(
            check(&mut en, "2026-11-25T22:00:00Z"),
            (true, "2026-11-25 17:00".into())
        );
        // Thanksgiving, a listed holiday.
        assert_eq!(
            check(&mut en, "2026-11-26T15:00:00Z"),
            (true, "2026-11-26 10:00".into())
        );
        // Saturday.
        assert_eq!(
            check(&mut en, "2026-11-28T15:00:00Z"),
            (true, "2026-11-28 10:00".into())
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let mut c = DetectConfig::default();
        c.business_hours.timezone = "Mars/Olympus".into();
        assert_eq!(
            Enricher::new(&c).unwrap_err().to_string(),
            "config business_hours.timezone: \"Mars/Olympus\" is not an IANA time zone name"
        );
        let mut c = DetectConfig::default();
        c.business_hours.days = vec!["funday".into()];
        assert_eq!(
            Enricher::new(&c).unwrap_err().to_string(),
            "config business_hours.days: \"funday\" is not a day (mon, tue, wed, thu, fri, sat, sun)"
        );
    }

    #[test]
    fn assets_and_privileged_groups_match_case_insensitively() {
        let c = DetectConfig {
            assets: vec![Asset {
                name: "customer database".into(),
                matches: [("database.name".to_owned(), "customers".to_owned())].into(),
                sensitive: true,
            }],
            ..DetectConfig::default()
        };
        let mut en = enricher(c);
        let mut e = Event::new(Class::DatastoreActivity, 1, 0);
        e.set("database.name", "Customers");
        en.enrich(&mut e);
        assert_eq!(e.get("evident.asset.sensitive"), Some(&Value::Bool(true)));
        assert_eq!(e.get_str("evident.asset.name"), Some("customer database"));

        let mut g = Event::new(Class::GroupManagement, 3, 0);
        g.set("group.name", "DOMAIN ADMINS");
        en.enrich(&mut g);
        assert_eq!(g.get("evident.group.privileged"), Some(&Value::Bool(true)));
        assert_eq!(g.get_str("evident.group.name"), Some("DOMAIN ADMINS"));
        let mut p = Event::new(Class::GroupManagement, 1, 0);
        p.set(
            "privileges",
            vec![Value::from("Read"), Value::from("owners")],
        );
        en.enrich(&mut p);
        assert_eq!(p.get_str("evident.group.name"), Some("owners"));
        let mut t = Event::new(Class::GroupManagement, 3, 0);
        t.set("group.name", "northwind-labs/owners");
        en.enrich(&mut t);
        assert_eq!(
            t.get_str("evident.group.name"),
            Some("northwind-labs/owners")
        );
        let mut d = Event::new(Class::GroupManagement, 3, 0);
        d.set("group.name", "CORP\\Domain Admins");
        en.enrich(&mut d);
        assert_eq!(d.get("evident.group.privileged"), Some(&Value::Bool(true)));
        let mut n = Event::new(Class::GroupManagement, 3, 0);
        n.set("group.name", "engineering");
        en.enrich(&mut n);
        assert_eq!(n.get("evident.group.privileged"), None);
    }

    #[test]
    fn change_tickets_cover_within_the_grace_period_only() {
        let mut en = enricher(DetectConfig::default());
        en.add_ticket(
            ChangeTicket::from_json(
                r#"{"id":"CHG-1","status":"approved","target":"Bob@example.com","group":"Super Admins",
                "start":"2026-11-26T10:00:00Z","end":"2026-11-26T12:00:00Z"}"#,
            )
            .unwrap(),
        );
        let grant = |t: &str, group: &str| {
            let mut e = Event::new(Class::GroupManagement, 3, at(t));
            e.set("user.email_addr", "bob@example.com")
                .set("group.name", group);
            e
        };
        for (t, group, want) in [
            ("2026-11-26T11:00:00Z", "Super Admins", Some("CHG-1")),
            ("2026-11-26T09:46:00Z", "super admins", Some("CHG-1")),
            ("2026-11-26T12:14:59Z", "Super Admins", Some("CHG-1")),
            ("2026-11-26T12:15:01Z", "Super Admins", None),
            ("2026-11-26T11:00:00Z", "Read Only Admins", None),
        ] {
            let mut e = grant(t, group);
            en.enrich(&mut e);
            assert_eq!(e.get_str("evident.change_ticket"), want, "{t} {group}");
        }
        let err = ChangeTicket::from_json(
            r#"{"id":"C","status":"approved","target":"x","start":"yesterday","end":"2026-11-26T12:00:00Z"}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid change ticket: `start` \"yesterday\" is not an RFC 3339 time: premature end of input"
        );
    }

    #[test]
    fn a_jira_approval_becomes_a_ticket() {
        let jira = crate::config::JiraFields::default();
        let payload = serde_json::json!({
            "webhookEvent": "jira:issue_updated",
            "user": {"emailAddress": "cab@example.com"},
            "issue": {"key": "CHG-7", "fields": {
                "status": {"name": "Approved"},
                "customfield_10100": {"emailAddress": "bob@example.com"},
                "customfield_10101": {"value": "Super Admins"},
                "customfield_10102": "2026-11-26T10:00:00Z",
                "customfield_10103": "2026-11-26T12:00:00Z"}},
            "changelog": {"items": [{"field": "status", "fromString": "In Review", "toString": "Approved"}]}
        });
        let t = ChangeTicket::from_jira(&payload, &jira).unwrap().unwrap();
        assert_eq!(
            t,
            ChangeTicket {
                id: "CHG-7".into(),
                status: "approved".into(),
                actor: Some("cab@example.com".into()),
                target: "bob@example.com".into(),
                group: Some("Super Admins".into()),
                start: "2026-11-26T10:00:00Z".into(),
                end: "2026-11-26T12:00:00Z".into(),
            }
        );
        let mut other = payload.clone();
        other["changelog"]["items"][0]["toString"] = "Rejected".into();
        assert_eq!(ChangeTicket::from_jira(&other, &jira).unwrap(), None);
        let mut missing = payload.clone();
        missing["issue"]["fields"]["customfield_10102"] = Value::Null;
        assert_eq!(
            ChangeTicket::from_jira(&missing, &jira)
                .unwrap_err()
                .to_string(),
            "invalid change ticket: issue CHG-7: field `customfield_10102` (start, see [change_tickets.jira]) is empty"
        );
    }

    #[test]
    fn deprovisioned_users_are_flagged_until_reactivated() {
        let mut en = enricher(DetectConfig::default());
        let mut deact = Event::new(Class::AccountChange, 5, 1_000);
        deact
            .set("api.operation", "user.lifecycle.deactivate")
            .set("actor.user.name", "admin@example.com")
            .set("user.email_addr", "mallory@example.com");
        en.enrich(&mut deact);
        assert_eq!(deact.get("evident.user.terminated"), None);
        let mut later = Event::new(Class::ApiActivity, 1, 2_000);
        later.set("actor.user.email_addr", "MALLORY@example.com");
        en.enrich(&mut later);
        assert_eq!(
            later.get("evident.user.terminated"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            later.get("evident.user.terminated_at"),
            Some(&Value::from(1_000))
        );
        let mut login = Event::new(Class::Authentication, 1, 3_000);
        login.set("user.name", "mallory@example.com");
        en.enrich(&mut login);
        assert_eq!(
            login.get("evident.user.terminated"),
            Some(&Value::Bool(true))
        );
        let mut react = Event::new(Class::AccountChange, 2, 4_000);
        react
            .set("api.operation", "user.lifecycle.reactivate")
            .set("user.email_addr", "mallory@example.com");
        en.enrich(&mut react);
        let mut after = Event::new(Class::ApiActivity, 1, 5_000);
        after.set("actor.user.email_addr", "mallory@example.com");
        en.enrich(&mut after);
        assert_eq!(after.get("evident.user.terminated"), None);
    }
}
