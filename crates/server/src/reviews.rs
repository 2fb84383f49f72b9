//! Log reviews (SOC 2 CC4.1, CC7.2): schedules from config produce due reviews; each comes
//! with a generated packet (cases, alerts, source health and gaps, activity on Evident
//! itself in the period); a reviewer signs off with findings. A review left unsigned past
//! its grace period is flagged and opens a case, so a skipped review is itself followed up.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use evident_model::CaseChange;
use evident_store::{Review, SignOff};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Evident};

/// One `[[reviews]]` schedule in evident.toml.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReviewSchedule {
    /// Unique name (`weekly log review`).
    pub name: String,
    /// `day`, `week` or `month`.
    pub every: String,
    /// For weekly schedules: `mon` … `sun`.
    #[serde(default = "default_weekday")]
    pub weekday: String,
    /// For monthly schedules: 1–28.
    #[serde(default = "default_day_of_month")]
    pub day_of_month: u32,
    /// Local time the review is due, `HH:MM`.
    #[serde(default = "default_at")]
    pub at: String,
    /// IANA time zone of `at`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// How long after the due time it becomes overdue (`2d`).
    #[serde(default = "default_grace")]
    pub grace: String,
    /// First day of the first period (`YYYY-MM-DD`); reviews are due from then on.
    pub start: String,
}

fn default_weekday() -> String {
    "mon".into()
}
fn default_day_of_month() -> u32 {
    1
}
fn default_at() -> String {
    "09:00".into()
}
fn default_timezone() -> String {
    "UTC".into()
}
fn default_grace() -> String {
    "2d".into()
}

impl ReviewSchedule {
    /// A weekly Monday-morning review starting on `start` (what `evident init` writes).
    pub fn weekly(start: &str) -> ReviewSchedule {
        ReviewSchedule {
            name: "weekly log review".into(),
            every: "week".into(),
            weekday: default_weekday(),
            day_of_month: default_day_of_month(),
            at: default_at(),
            timezone: default_timezone(),
            grace: default_grace(),
            start: start.into(),
        }
    }

    /// Checks every field, naming the bad one.
    pub fn validate(&self) -> Result<(), String> {
        self.parsed().map(|_| ())
    }

    fn parsed(&self) -> Result<Parsed, String> {
        let field = |f: &str, msg: String| format!("reviews {:?}: {f}: {msg}", self.name);
        let tz: Tz = self.timezone.parse().map_err(|_| {
            field(
                "timezone",
                format!("{:?} is not an IANA time zone", self.timezone),
            )
        })?;
        let at = NaiveTime::parse_from_str(&self.at, "%H:%M")
            .map_err(|_| field("at", format!("{:?} is not a time like 09:00", self.at)))?;
        let start = NaiveDate::parse_from_str(&self.start, "%Y-%m-%d").map_err(|_| {
            field(
                "start",
                format!("{:?} is not a date like 2026-01-05", self.start),
            )
        })?;
        let grace_ms = evident_detect::parse_duration_ms("grace", &self.grace)
            .map_err(|e| field("grace", e.to_string()))?;
        let every = match self.every.as_str() {
            "day" => Every::Day,
            "week" => Every::Week(self.weekday.parse::<Weekday>().map_err(|_| {
                field(
                    "weekday",
                    format!("{:?} is not a weekday like mon", self.weekday),
                )
            })?),
            "month" if (1..=28).contains(&self.day_of_month) => Every::Month(self.day_of_month),
            "month" => {
                return Err(field(
                    "day_of_month",
                    format!("{} is not between 1 and 28", self.day_of_month),
                ));
            }
            other => {
                return Err(field(
                    "every",
                    format!("{other:?} is not day, week or month"),
                ));
            }
        };
        Ok(Parsed {
            tz,
            at,
            start,
            grace_ms,
            every,
        })
    }

    /// Due times (ms since the epoch) from the day after the schedule's start up to
    /// `until_ms` (the first period is `start` to the first due time),
    /// at the local time in the schedule's zone — so a 09:00 review stays at 09:00 local
    /// across daylight-saving changes. A local time skipped by a DST jump moves to the
    /// first valid instant after it.
    pub fn due_times(&self, until_ms: i64) -> Result<Vec<i64>, String> {
        let p = self.parsed()?;
        let mut out = Vec::new();
        let Some(mut day) = p.start.succ_opt() else {
            return Ok(out);
        };
        while let Some(next) = day.succ_opt() {
            let due_day = match p.every {
                Every::Day => true,
                Every::Week(w) => day.weekday() == w,
                Every::Month(d) => day.day() == d,
            };
            if due_day {
                let due = local_ms(&p.tz, day, p.at);
                if due > until_ms {
                    break;
                }
                out.push(due);
            }
            day = next;
        }
        Ok(out)
    }
}

struct Parsed {
    tz: Tz,
    at: NaiveTime,
    start: NaiveDate,
    grace_ms: i64,
    every: Every,
}

#[derive(Clone, Copy)]
enum Every {
    Day,
    Week(Weekday),
    Month(u32),
}

/// The instant of local `date` `time` in `tz`; a time in a DST gap moves forward to the
/// first minute that exists.
fn local_ms(tz: &Tz, date: NaiveDate, time: NaiveTime) -> i64 {
    let mut local = date.and_time(time);
    for _ in 0..=180 {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.timestamp_millis();
        }
        local += chrono::Duration::minutes(1);
    }
    date.and_time(time).and_utc().timestamp_millis()
}

/// What a scheduler pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReviewTick {
    /// Reviews that became due.
    pub scheduled: u64,
    /// Cases opened for reviews that went overdue.
    pub overdue_cases: u64,
}

/// Creates the reviews that are due by `now_ms` and opens a case for each unsigned review
/// past its grace period (once). Idempotent: run it as often as you like.
pub fn tick(node: &Evident, now_ms: i64) -> Result<ReviewTick, Error> {
    let mut out = ReviewTick::default();
    let size = node.ledger.size();
    for schedule in &node.config.reviews {
        let p = schedule.parsed().map_err(config_error(node))?;
        let last = node.db.last_review_due(&schedule.name)?;
        let mut period_start = last.unwrap_or_else(|| local_ms(&p.tz, p.start, NaiveTime::MIN));
        for due in schedule.due_times(now_ms).map_err(config_error(node))? {
            if last.is_some_and(|l| due <= l) {
                continue;
            }
            let (_, new) = node.db.schedule_review(
                &schedule.name,
                period_start,
                due,
                due + p.grace_ms,
                size,
            )?;
            out.scheduled += u64::from(new);
            period_start = due;
        }
    }
    // Oldest first, so cases open in the order the reviews were missed.
    for review in node.db.reviews()?.into_iter().rev() {
        if review.signed.is_some()
            || review.overdue_case.is_some()
            || now_ms <= review.overdue_at_ms
        {
            continue;
        }
        let opened = CaseChange::Opened {
            title: format!(
                "Log review overdue: {} due {}",
                review.schedule,
                day_text(review.due_at_ms)
            ),
            severity: "Medium".into(),
            rule: Some("evident.review_overdue".into()),
            group_key: format!("review-overdue:{}", review.id),
            alert: None,
        };
        let (case, _) = node.db.open_case("evident", now_ms, opened, size)?;
        node.db.set_review_overdue_case(review.id, case.id)?;
        out.overdue_cases += 1;
    }
    Ok(out)
}

fn config_error(node: &Evident) -> impl Fn(String) -> Error + '_ {
    move |message| {
        crate::ConfigError::Invalid {
            path: node.data.config_path(),
            message,
        }
        .into()
    }
}

fn day_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Where a review stands at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Signed off.
    Signed,
    /// Due, within its grace period.
    Due,
    /// Past its grace period, unsigned.
    Overdue,
}

/// A review with its status, as the API and CLI show it.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewView {
    /// The review.
    #[serde(flatten)]
    pub review: Review,
    /// Its status now.
    pub status: ReviewStatus,
}

impl ReviewView {
    /// `review` as of `now_ms`.
    pub fn new(review: Review, now_ms: i64) -> ReviewView {
        let status = match (&review.signed, now_ms > review.overdue_at_ms) {
            (Some(_), _) => ReviewStatus::Signed,
            (None, true) => ReviewStatus::Overdue,
            (None, false) => ReviewStatus::Due,
        };
        ReviewView { review, status }
    }
}

/// The packet for a review: what happened in its period that a reviewer must look at.
/// It is stored with the sign-off and its SHA-256 is in the sealed sign-off record, so
/// what the reviewer saw is part of the evidence.
pub fn packet(node: &Evident, review: &Review) -> Result<serde_json::Value, Error> {
    let (from, to) = (review.period_start_ms, review.period_end_ms);
    let in_period = |t: i64| t >= from && t < to;
    let cases = node.db.cases(evident_store::CaseFilter::All)?;
    let opened: Vec<_> = cases.iter().filter(|c| in_period(c.opened_at_ms)).collect();
    let closed: Vec<_> = cases
        .iter()
        .filter(|c| c.closed_at_ms.is_some_and(in_period))
        .collect();
    let open_at_end: Vec<_> = cases
        .iter()
        .filter(|c| c.opened_at_ms < to && c.closed_at_ms.is_none_or(|t| t >= to))
        .collect();
    let mut by_severity: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &opened {
        *by_severity.entry(c.severity.as_str()).or_default() += 1;
    }
    let case_line = |c: &&evident_model::Case| serde_json::json!({"id": c.id, "title": c.title, "severity": c.severity, "stage": c.stage});
    let day = |ms: i64| ms.div_euclid(86_400_000);
    let counts = node.db.event_counts(day(from), day(to - 1) + 1)?;
    let health = crate::report::source_report(node, to)?;
    let sources: Vec<_> = health
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "events_in_period": counts.get(&s.name).copied().unwrap_or(0),
                "parse_errors": s.parse_errors,
                "silent": s.silent,
                "last_error": s.last_error,
            })
        })
        .collect();
    let gaps: Vec<String> = crate::report::controls_matrix(node, day(from), day(to - 1) + 1)?
        .into_iter()
        .filter(|r| r.status == "gap")
        .map(|r| r.id)
        .collect();
    let mut activity: BTreeMap<String, u64> = BTreeMap::new();
    for row in node.db.all_audit_rows()? {
        let Ok(body) = serde_json::from_str::<serde_json::Value>(&row.body) else {
            continue;
        };
        let at = body["at_ms"].as_i64().unwrap_or(i64::MIN);
        if in_period(at) {
            let actor = body["actor"].as_str().unwrap_or("unknown");
            let change = body["change"]["type"].as_str().unwrap_or("unknown");
            *activity
                .entry(format!("{actor} {} {change}", row.kind))
                .or_default() += 1;
        }
    }
    Ok(serde_json::json!({
        "review": review.id,
        "schedule": review.schedule,
        "period": {"from_ms": from, "to_ms": to},
        "cases": {
            "opened": opened.len(),
            "opened_by_severity": by_severity,
            "closed": closed.len(),
            "open_at_end": open_at_end.iter().map(case_line).collect::<Vec<_>>(),
            "opened_in_period": opened.iter().map(case_line).collect::<Vec<_>>(),
        },
        "sources": sources,
        "control_gaps": gaps,
        "activity_on_evident": activity,
    }))
}

/// Signs review `id` off as `reviewer`, storing the packet they saw and its hash.
pub fn sign(
    node: &Evident,
    id: i64,
    reviewer: &str,
    findings: &str,
    follow_ups: Vec<String>,
    now_ms: i64,
) -> Result<Review, Error> {
    let review = node
        .db
        .review(id)?
        .ok_or(evident_store::StoreError::UnknownReview(id))?;
    let packet = packet(node, &review)?;
    let packet_sha256 = hex(&Sha256::digest(packet.to_string().as_bytes()));
    let review = node.db.sign_review(
        id,
        SignOff {
            reviewer: reviewer.to_owned(),
            at_ms: now_ms,
            findings: findings.trim().to_owned(),
            follow_ups,
            packet_sha256,
        },
        packet,
        node.ledger.size(),
    )?;
    crate::audit::seal_audit_trail(&node.ledger, &node.db)?;
    Ok(review)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reviews with their status, newest first.
pub fn list(node: &Evident, now_ms: i64) -> Result<Vec<ReviewView>, Error> {
    Ok(node
        .db
        .reviews()?
        .into_iter()
        .map(|r| ReviewView::new(r, now_ms))
        .collect())
}

/// Seals what [`tick`] recorded (when this process holds the ledger).
pub fn tick_and_seal(node: &Evident, now_ms: i64) -> Result<ReviewTick, Error> {
    let out = tick(node, now_ms)?;
    crate::audit::seal_audit_trail(&node.ledger, &node.db)?;
    Ok(out)
}
