//! The planted incidents: when each happens and who is involved, decided once so that every
//! source tells the same story and [`PlantedIncident`](crate::PlantedIncident) can describe it.

use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::PlantedIncident;
use crate::clock::{self, DAY, MINUTE, SECOND, Window};
use crate::company::{Company, Dept, FOREIGN, Place};

/// Something that happens at `at`, done by roster member `who`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act {
    pub(crate) at: i64,
    pub(crate) who: usize,
}

/// Something done by `actor` to `target`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grant {
    pub(crate) at: i64,
    pub(crate) actor: usize,
    pub(crate) target: usize,
}

/// An attack from one internet address.
#[derive(Clone, Debug)]
pub(crate) struct Attack {
    pub(crate) at: i64,
    pub(crate) ip: String,
    pub(crate) place: &'static Place,
}

/// A leaver whose GitHub access outlived their Okta account.
#[derive(Clone, Debug)]
pub(crate) struct Departure {
    /// When IT deactivated the Okta user.
    pub(crate) deactivated: i64,
    /// The IT admin who did it.
    pub(crate) admin: usize,
    pub(crate) who: usize,
    /// First of the later `git.clone`s with the leaver's still-valid token.
    pub(crate) used: i64,
    pub(crate) ip: String,
    pub(crate) place: &'static Place,
}

/// Every planted incident. Each lands on its own UTC day when the window has enough whole days.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) ssh_brute_force: Attack,
    pub(crate) okta_brute_force: Attack,
    pub(crate) okta_super_admin: Grant,
    pub(crate) github_owner: Grant,
    pub(crate) db_after_hours: Act,
    pub(crate) root_login: Attack,
    pub(crate) login_without_mfa: Act,
    pub(crate) trail_stopped: Act,
    pub(crate) ssh_open_to_world: Act,
    pub(crate) branch_unprotected: Act,
    pub(crate) admin_mfa_removed: Grant,
    pub(crate) departure: Departure,
    pub(crate) sudo_denied: Act,
    /// A Domain Admins grant on the domain controller (event 4728).
    pub(crate) domain_admin_grant: Grant,
    /// The Security event log cleared on the domain controller at night (event 1102).
    pub(crate) audit_log_cleared: Act,
    /// When the domain controller's log forwarder broke: it sends nothing from then on.
    /// [`DC_SILENCE`] before the end of the window, or the window's midpoint for windows
    /// shorter than twice that, so a short demo still shows both the traffic and the silence.
    pub(crate) dc_silent_from: i64,
    /// Start of the window: the firewall's clock has run [`FIREWALL_SKEW`] slow all along.
    pub(crate) skewed_since: i64,
}

/// Incidents that happen at an instant, each on a distinct day when the window allows.
const POINT_INCIDENTS: usize = 15;
/// Every incident: the point incidents plus two conditions of a whole source (the silent
/// domain controller and the skewed firewall clock).
const INCIDENTS: usize = POINT_INCIDENTS + 2;

/// How long before the end of the window the domain controller stops sending.
pub(crate) const DC_SILENCE: i64 = 3 * DAY;
/// How far the edge firewall's clock lags behind the true time.
pub(crate) const FIREWALL_SKEW: i64 = 7 * MINUTE;

impl Plan {
    /// Places the incidents inside `window`; `None` when the window is empty.
    pub(crate) fn new(rng: &mut StdRng, window: &Window, company: &Company) -> Option<Plan> {
        if window.start >= window.end {
            return None;
        }
        let mut days = window.whole_days();
        if days.is_empty() {
            // A window of a day or more always holds 24 hours from its start.
            days.push(window.start);
        }
        days.shuffle(rng);
        let mut slot = 0;
        // A time on the next incident's day, between `from` and `to` (minutes after midnight).
        let mut at = |rng: &mut StdRng, from: i64, to: i64| {
            let day = days[slot % days.len()];
            slot += 1;
            day + rng.random_range(from..to) * MINUTE + rng.random_range(0..60) * SECOND
        };

        let admin = company.okta_admins[0];
        let second_admin = company.security[0];
        // The leaver comes last in a shuffled engineer list; the others act in turn, skipping
        // the leaver, so nobody acts after their own departure.
        let mut engineers = company.engineers.clone();
        engineers.shuffle(rng);
        let leaver = engineers[engineers.len() - 1];
        let others = &engineers[..engineers.len() - 1];
        let others = if others.is_empty() {
            &engineers[..]
        } else {
            others
        };
        let engineer = |n: usize| others[n % others.len()];
        let analyst = company.data[0];
        let finance = company
            .iam_users
            .iter()
            .copied()
            .find(|&i| company.people[i].dept == Dept::Finance)
            .unwrap_or(company.iam_users[0]);
        let attacker = |rng: &mut StdRng| format!("203.0.113.{}", rng.random_range(200..255));

        let ssh_brute_force = Attack {
            at: at(rng, 60, 300),
            ip: attacker(rng),
            place: &FOREIGN[1],
        };
        let mut okta_ip = attacker(rng);
        while okta_ip == ssh_brute_force.ip {
            okta_ip = attacker(rng);
        }
        let okta_brute_force = Attack {
            at: at(rng, 0, 23 * 60),
            ip: okta_ip,
            place: &FOREIGN[0],
        };
        let okta_super_admin = Grant {
            at: at(rng, 19 * 60, 21 * 60),
            actor: admin,
            target: engineer(0),
        };
        let github_owner = Grant {
            at: at(rng, 10 * 60, 17 * 60),
            actor: company.github_owners[1],
            target: engineer(1),
        };
        let db_after_hours = Act {
            at: at(rng, 2 * 60 + 25, 2 * 60 + 35),
            who: analyst,
        };
        let root_login = Attack {
            at: at(rng, 0, 23 * 60),
            ip: "198.51.100.10".to_owned(),
            place: &crate::company::PORTLAND,
        };
        let login_without_mfa = Act {
            at: at(rng, 9 * 60, 17 * 60),
            who: finance,
        };
        let trail_stopped = Act {
            at: at(rng, 22 * 60, 23 * 60),
            who: engineer(2),
        };
        let ssh_open_to_world = Act {
            at: at(rng, 10 * 60, 18 * 60),
            who: engineer(3),
        };
        let branch_unprotected = Act {
            at: at(rng, 13 * 60, 18 * 60),
            who: engineer(4),
        };
        let admin_mfa_removed = Grant {
            at: at(rng, 8 * 60, 20 * 60),
            actor: admin,
            target: second_admin,
        };
        let deactivated = at(rng, 16 * 60, 17 * 60 + 30);
        let departure = Departure {
            deactivated,
            admin,
            who: leaver,
            used: deactivated + rng.random_range(4 * 60..6 * 60) * MINUTE,
            ip: attacker(rng),
            place: &FOREIGN[2],
        };
        let sudo_denied = Act {
            at: at(rng, 10 * 60, 17 * 60),
            who: analyst,
        };
        debug_assert_eq!(slot, 13);

        // The domain controller's incidents need days before its forwarder broke: the next
        // unused days that end before the silence, else any time before it.
        let span = window.end - window.start;
        let dc_silent_from = window
            .end
            .saturating_sub(DC_SILENCE)
            .max(window.start + span / 2);
        let mut spare = days
            .iter()
            .skip(slot)
            .copied()
            .filter(|&d| d + DAY <= dc_silent_from);
        let mut before_silence = |rng: &mut StdRng, from: i64, to: i64| match spare.next() {
            Some(day) => {
                day + rng.random_range(from..to) * MINUTE + rng.random_range(0..60) * SECOND
            }
            None => window.start + rng.random_range(0..(dc_silent_from - window.start).max(1)),
        };
        let it_admin = company.okta_admins[company.okta_admins.len() - 1];
        let domain_admin_grant = Grant {
            at: before_silence(rng, 10 * 60, 17 * 60),
            actor: admin,
            target: engineer(5),
        };
        let audit_log_cleared = Act {
            at: before_silence(rng, 60, 4 * 60),
            who: it_admin,
        };
        Some(Plan {
            ssh_brute_force,
            okta_brute_force,
            okta_super_admin,
            github_owner,
            db_after_hours,
            root_login,
            login_without_mfa,
            trail_stopped,
            ssh_open_to_world,
            branch_unprotected,
            admin_mfa_removed,
            departure,
            sudo_denied,
            domain_admin_grant,
            audit_log_cleared,
            dc_silent_from,
            skewed_since: window.start,
        })
    }

    /// Whether roster member `who` may still act at `at` (false for the leaver afterwards).
    pub(crate) fn active(&self, who: usize, at: i64) -> bool {
        who != self.departure.who || at < self.departure.deactivated
    }

    /// The incidents as the public API reports them, in time order.
    pub(crate) fn incidents(&self, company: &Company) -> Vec<PlantedIncident> {
        let p = |i: usize| &company.people[i];
        let mut out = vec![
            incident(
                "ssh-brute-force",
                "linux-auth",
                self.ssh_brute_force.at,
                format!(
                    "{} tried passwords for root, admin and other accounts on bastion-1 over SSH: \
                     more than 12 failed logins within 5 minutes",
                    self.ssh_brute_force.ip
                ),
            ),
            incident(
                "okta-brute-force",
                "okta",
                self.okta_brute_force.at,
                format!(
                    "{} sprayed passwords at Okta: more than 10 failed user.session.start \
                     within 5 minutes across several accounts",
                    self.okta_brute_force.ip
                ),
            ),
            incident(
                "okta-super-admin-grant",
                "okta",
                self.okta_super_admin.at,
                format!(
                    "{} added {} to the Okta group Super Admins, with no change ticket",
                    p(self.okta_super_admin.actor).email,
                    p(self.okta_super_admin.target).email
                ),
            ),
            incident(
                "github-owner-grant",
                "github",
                self.github_owner.at,
                format!(
                    "{} added {} to the GitHub team owners, with no change ticket",
                    p(self.github_owner.actor).github,
                    p(self.github_owner.target).github
                ),
            ),
            incident(
                "after-hours-customer-db",
                "postgres",
                self.db_after_hours.at,
                format!(
                    "{} read and exported the customers table from the customers database \
                     at about 02:30 UTC",
                    p(self.db_after_hours.who).unix
                ),
            ),
            incident(
                "aws-root-login",
                "aws-cloudtrail",
                self.root_login.at,
                "the AWS root user signed in to the console and listed IAM users".to_owned(),
            ),
            incident(
                "aws-console-login-without-mfa",
                "aws-cloudtrail",
                self.login_without_mfa.at,
                format!(
                    "IAM user {} signed in to the AWS console without MFA",
                    p(self.login_without_mfa.who).login
                ),
            ),
            incident(
                "cloudtrail-stopped",
                "aws-cloudtrail",
                self.trail_stopped.at,
                format!(
                    "{} stopped logging on the CloudTrail trail and then deleted it",
                    p(self.trail_stopped.who).email
                ),
            ),
            incident(
                "security-group-ssh-open",
                "aws-cloudtrail",
                self.ssh_open_to_world.at,
                format!(
                    "{} opened port 22 to 0.0.0.0/0 on the app servers' security group",
                    p(self.ssh_open_to_world.who).email
                ),
            ),
            incident(
                "branch-protection-removed",
                "github",
                self.branch_unprotected.at,
                format!(
                    "{} removed branch protection from main on {}/platform",
                    p(self.branch_unprotected.who).github,
                    crate::company::GITHUB_ORG
                ),
            ),
            incident(
                "admin-mfa-deactivated",
                "okta",
                self.admin_mfa_removed.at,
                format!(
                    "{} deactivated the Okta Verify factor of administrator {}",
                    p(self.admin_mfa_removed.actor).email,
                    p(self.admin_mfa_removed.target).email
                ),
            ),
            incident(
                "terminated-user-activity",
                "github",
                self.departure.used,
                format!(
                    "{} was deactivated in Okta at {}, yet GitHub user {} cloned repositories \
                     from {} afterwards",
                    p(self.departure.who).email,
                    clock::iso_seconds(self.departure.deactivated),
                    p(self.departure.who).github,
                    self.departure.ip
                ),
            ),
            incident(
                "sudo-not-in-sudoers",
                "linux-auth",
                self.sudo_denied.at,
                format!(
                    "{} ran sudo on app-1 without being in sudoers",
                    p(self.sudo_denied.who).unix
                ),
            ),
            incident(
                "domain-admins-grant",
                "windows-dc",
                self.domain_admin_grant.at,
                format!(
                    "{} added {} to the Active Directory group Domain Admins on DC1, with no \
                     change ticket",
                    p(self.domain_admin_grant.actor).login,
                    p(self.domain_admin_grant.target).login
                ),
            ),
            incident(
                "security-log-cleared",
                "windows-dc",
                self.audit_log_cleared.at,
                format!(
                    "{} cleared the Security event log on DC1 in the middle of the night",
                    p(self.audit_log_cleared.who).login
                ),
            ),
            incident(
                "windows-dc-silent",
                "windows-dc",
                self.dc_silent_from,
                "the log forwarder on domain controller DC1 broke: no Windows Security events \
                 since, against an expected cadence of one hour"
                    .to_owned(),
            ),
            incident(
                "firewall-clock-skew",
                "firewall",
                self.skewed_since,
                format!(
                    "the edge firewall fw-1's clock runs {} minutes slow: every kern.log line is \
                     stamped that much before the packet was seen",
                    FIREWALL_SKEW / MINUTE
                ),
            ),
        ];
        debug_assert_eq!(out.len(), INCIDENTS);
        out.sort_by_key(|i| i.time);
        out
    }
}

fn incident(
    name: &'static str,
    source: &'static str,
    at: i64,
    description: String,
) -> PlantedIncident {
    PlantedIncident {
        name,
        source,
        time: clock::to_datetime(at),
        description,
    }
}

/// A random internet scanner address, never one of the planted attackers (which use .200–.254).
pub(crate) fn scanner_ip(rng: &mut StdRng) -> String {
    format!("203.0.113.{}", rng.random_range(1..200))
}

#[cfg(test)]
mod tests {
    // Incident placement: distinct days, inside the window, before the silence where needed.
    use super::*;
    use crate::clock::DAY;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn incidents_land_on_distinct_days_inside_the_window() {
        let company = Company::new(&mut StdRng::seed_from_u64(1), 200);
        let end = clock::to_datetime(20_400 * DAY + 5 * clock::HOUR);
        let window = Window::new(end, 30);
        let plan = Plan::new(&mut StdRng::seed_from_u64(2), &window, &company);
        let Some(plan) = plan else {
            panic!("no plan for a 30-day window")
        };
        let incidents = plan.incidents(&company);
        assert_eq!(incidents.len(), INCIDENTS);
        let days: HashSet<i64> = incidents
            .iter()
            .filter(|i| !matches!(i.name, "windows-dc-silent" | "firewall-clock-skew"))
            .map(|i| i.time.timestamp_millis().div_euclid(DAY))
            .collect();
        assert_eq!(days.len(), POINT_INCIDENTS);
        assert!(window.contains(plan.departure.used));
        assert_eq!(plan.dc_silent_from, window.end - DC_SILENCE);
        assert!(plan.domain_admin_grant.at < plan.dc_silent_from);
        assert!(plan.audit_log_cleared.at < plan.dc_silent_from);
        let hour = plan.audit_log_cleared.at.rem_euclid(DAY) / clock::HOUR;
        assert!((1..4).contains(&hour), "{hour}");
        assert!(plan.departure.used > plan.departure.deactivated);
        assert_ne!(plan.departure.who, plan.trail_stopped.who);
        assert!(!plan.active(plan.departure.who, plan.departure.used));
    }

    #[test]
    fn short_windows_still_hold_every_incident() {
        let company = Company::new(&mut StdRng::seed_from_u64(1), 0);
        let end = clock::to_datetime(20_400 * DAY + 5 * clock::HOUR);
        let window = Window::new(end, 1);
        let Some(plan) = Plan::new(&mut StdRng::seed_from_u64(2), &window, &company) else {
            panic!("no plan for a 1-day window")
        };
        for i in plan.incidents(&company) {
            assert!(window.contains(i.time.timestamp_millis()), "{}", i.name);
        }
        assert!(window.contains(plan.departure.used));
        assert_eq!(plan.dc_silent_from, window.start + clock::DAY / 2);
        assert!(plan.domain_admin_grant.at < plan.dc_silent_from);
        assert!(plan.audit_log_cleared.at < plan.dc_silent_from);
        assert!(
            Plan::new(
                &mut StdRng::seed_from_u64(2),
                &Window::new(end, 0),
                &company
            )
            .is_none()
        );
    }
}
