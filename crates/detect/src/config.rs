//! Enrichment and alerting settings: the `[business_hours]`, `[[assets]]`,
//! `[privileged_groups]`, `[change_tickets]` and `[detection]` tables of `evident.toml`
//! (DESIGN.md §6), with the defaults written there. The server's config embeds these
//! structs; `hunt --config` and rule test cases read the same keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::DetectError;

/// Everything detection reads from the config file, as one value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectConfig {
    /// When work happens; outside it is `evident.time.after_hours`.
    pub business_hours: BusinessHours,
    /// Sensitive data stores.
    pub assets: Vec<Asset>,
    /// Group, role and policy names that grant administrative power.
    pub privileged_groups: PrivilegedGroups,
    /// How change tickets cover privilege grants.
    pub change_tickets: ChangeTicketsConfig,
    /// Rule directories and alert noise control.
    pub detection: DetectionConfig,
}

/// `[business_hours]`: after-hours = outside `[start, end)` local time, on a day not
/// listed, or on a holiday.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessHours {
    /// IANA time zone name (`Europe/Berlin`).
    pub timezone: String,
    /// Working days: `mon` … `sun`.
    pub days: Vec<String>,
    /// Start of the working day, `HH:MM` local time.
    pub start: String,
    /// End of the working day (exclusive), `HH:MM` local time.
    pub end: String,
    /// Whole days off, `YYYY-MM-DD` local dates.
    pub holidays: Vec<String>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            timezone: "UTC".into(),
            days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .map(String::from)
                .to_vec(),
            start: "06:00".into(),
            end: "22:00".into(),
            holidays: Vec::new(),
        }
    }
}

/// One `[[assets]]` entry: events whose normalized fields equal every value in `match`
/// (case-insensitive; an array field matches when any member does) touch this asset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// Shown in alerts as `evident.asset.name`.
    pub name: String,
    /// Normalized OCSF dotted path → value.
    #[serde(rename = "match")]
    pub matches: BTreeMap<String, String>,
    /// Whether touching it sets `evident.asset.sensitive`.
    #[serde(default = "yes")]
    pub sensitive: bool,
}

fn yes() -> bool {
    true
}

/// `[privileged_groups]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivilegedGroups {
    /// Case-insensitive names, across sources.
    pub names: Vec<String>,
}

impl Default for PrivilegedGroups {
    fn default() -> Self {
        PrivilegedGroups {
            names: [
                "Domain Admins",
                "Enterprise Admins",
                "Administrators",
                "Super Admins",
                "AdministratorAccess",
                "admins",
                "wheel",
                "sudo",
                "owners",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// `[change_tickets]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeTicketsConfig {
    /// How late (or early) a ticket may be and still cover a change (`15m`).
    pub grace: String,
    /// Where the Jira webhook intake finds a ticket's fields.
    pub jira: JiraFields,
}

impl Default for ChangeTicketsConfig {
    fn default() -> Self {
        ChangeTicketsConfig {
            grace: "15m".into(),
            jira: JiraFields::default(),
        }
    }
}

/// `[change_tickets.jira]`: which Jira issue fields (ids under `issue.fields`, usually
/// custom fields) hold the change's target user, group and window, and which statuses mean
/// approved. Every Jira site numbers its custom fields differently.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JiraFields {
    /// Statuses (case-insensitive) that approve a change.
    pub approved_statuses: Vec<String>,
    /// Field holding the user being changed (text, or a user picker's e-mail address).
    pub target: String,
    /// Field holding the group or role (optional on the issue).
    pub group: String,
    /// Field holding the window start (RFC 3339 date-time).
    pub start: String,
    /// Field holding the window end (RFC 3339 date-time).
    pub end: String,
}

impl Default for JiraFields {
    fn default() -> Self {
        JiraFields {
            approved_statuses: vec!["Approved".into()],
            target: "customfield_10100".into(),
            group: "customfield_10101".into(),
            start: "customfield_10102".into(),
            end: "customfield_10103".into(),
        }
    }
}

/// `[detection]`: where rules come from and how alerts are kept quiet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionConfig {
    /// Load the rule pack built into the binary.
    pub builtin_rules: bool,
    /// Further directories of Sigma rules (SigmaHQ checkouts, your own).
    pub rules_dirs: Vec<PathBuf>,
    /// A repeat of an open alert (same dedup key) within this long after its last event
    /// updates its count instead of opening a new alert.
    pub suppress: String,
    /// New alerts a rule may open per hour of event time; more are counted as throttled.
    pub max_alerts_per_rule_per_hour: u32,
    /// Correlation state entries (correlation × group key) kept at most; the stalest are
    /// evicted past it, and evictions are counted.
    pub max_correlation_state: usize,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            builtin_rules: true,
            rules_dirs: Vec::new(),
            suppress: "1h".into(),
            max_alerts_per_rule_per_hour: 100,
            max_correlation_state: 100_000,
        }
    }
}

/// Parses `30s`, `15m`, `1h`, `2d` (or plain seconds) into milliseconds.
pub fn parse_duration_ms(what: &'static str, text: &str) -> Result<i64, DetectError> {
    let bad = || DetectError::Config {
        what,
        message: format!("{text:?} is not a duration like 30s, 15m, 1h or 1d"),
    };
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_design_documents() {
        let c = DetectConfig::default();
        assert_eq!(c.business_hours.start, "06:00");
        assert_eq!(c.business_hours.end, "22:00");
        assert_eq!(c.business_hours.days.len(), 7);
        assert_eq!(c.privileged_groups.names.len(), 9);
        assert_eq!(c.change_tickets.grace, "15m");
    }

    #[test]
    fn durations_parse_and_bad_ones_are_named() {
        assert_eq!(parse_duration_ms("grace", "15m").unwrap(), 900_000);
        assert_eq!(parse_duration_ms("grace", "90").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("grace", "2d").unwrap(), 172_800_000);
        assert_eq!(
            parse_duration_ms("change_tickets.grace", "5 weeks")
                .unwrap_err()
                .to_string(),
            "config change_tickets.grace: \"5 weeks\" is not a duration like 30s, 15m, 1h or 1d"
        );
    }
}
