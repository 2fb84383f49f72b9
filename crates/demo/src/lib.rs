//! Generates a month of realistic raw vendor logs for a fictional company, for `evident demo`
//! and for benchmarks.
//!
//! [`generate`] invents "Northwind Labs", a company of about [`DemoConfig::employees`] people on
//! `northwind.example`, and writes what its systems would have sent over [`DemoConfig::days`]
//! days: AWS CloudTrail, Okta System Log, GitHub audit log, Debian `auth.log`, VPC Flow Logs,
//! PostgreSQL with pgaudit, the product's JSON application logs, the domain controller's Windows
//! Security events (winlogbeat JSON), the edge firewall's iptables log lines and weekly Trivy
//! image scans, so every source category (cloud, identity, network, OS, application, database,
//! vulnerability) has a source. Each [`DemoSource`] holds records byte-for-byte in the vendor's
//! wire format, with each record's true occurrence time beside it and the cadence the source is
//! expected to keep, so the demo exercises the same ingest path as production and can replay
//! the month as live collection. Traffic follows office hours and weekdays, and seventeen
//! [`PlantedIncident`]s (brute force, privilege grants without a change ticket, after-hours
//! database reads, root login, CloudTrail stopped, the Security log cleared, a log forwarder that
//! went silent, a firewall whose clock runs slow, …) give the default SOC 2 rules and the
//! source-health checks something to find.
//!
//! The output depends only on the [`DemoConfig`]: the same config gives the same bytes.
//!
//! ```
//! use chrono::DateTime;
//! use evident_demo::{DemoConfig, generate};
//!
//! let end = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")?.to_utc();
//! let demo = generate(&DemoConfig::new(2, end));
//!
//! let okta = demo.sources.iter().find(|s| s.name == "okta").expect("an okta source");
//! assert_eq!(okta.format, "okta");
//! assert!(okta.records[0].starts_with(b"{"));
//! assert_eq!(okta.times_ms.len(), okta.records.len());
//! assert_eq!(okta.cadence_secs, Some(86_400));
//! assert!(demo.incidents.iter().any(|i| i.name == "ssh-brute-force"));
//! # Ok::<(), chrono::ParseError>(())
//! ```

mod app;
mod authlog;
mod clock;
mod cloudtrail;
mod company;
mod dice;
mod firewall;
mod github;
mod json;
mod okta;
mod pgaudit;
mod plan;
mod trivy;
mod vpcflow;
mod windows;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::clock::Window;
use crate::company::{Company, Person};
use crate::plan::Plan;

/// What to generate: how long a period, for how big a company, from which seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Length of the period in days; the records cover `[end - days, end)`.
    pub days: u32,
    /// Seed for every random choice; the same config always yields the same bytes.
    pub seed: u64,
    /// Exclusive end of the period (generation never reads the clock).
    pub end: DateTime<Utc>,
    /// Head count; volume scales linearly with it. The roster itself never drops below twenty
    /// people, so the planted incidents always have their cast.
    pub employees: u32,
}

impl DemoConfig {
    /// A config for `days` days ending at `end`, with seed 42 and 200 employees.
    pub fn new(days: u32, end: DateTime<Utc>) -> Self {
        DemoConfig {
            days,
            seed: 42,
            end,
            employees: 200,
        }
    }
}

/// The raw records of one log source, ready to feed to ingest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSource {
    /// Source name as `evident` configures it, e.g. `"aws-cloudtrail"`.
    pub name: &'static str,
    /// Wire format: `"cloudtrail"`, `"okta"`, `"github"`, `"authlog"`, `"vpcflow"`, `"pgaudit"`,
    /// `"json"`, `"windows-security"`, `"netfilter"` or `"trivy"`.
    pub format: &'static str,
    /// One record each, exactly as the vendor emits it, without a trailing newline; sorted by
    /// [`DemoSource::times_ms`].
    pub records: Vec<Vec<u8>>,
    /// When each record's event truly happened, milliseconds since the Unix epoch: same length
    /// and order as `records`, non-decreasing, all inside the configured period. It is the time
    /// written in the record, except where the record lies on purpose (the firewall's clock runs
    /// slow, see the `firewall-clock-skew` incident).
    pub times_ms: Vec<i64>,
    /// The longest gap, in seconds, a healthy instance of this source leaves between records:
    /// the cadence to configure so that silence is noticed (an hour for busy sources, eight
    /// days for the weekly scan).
    pub cadence_secs: Option<i64>,
}

/// An attack or policy violation hidden in the demo data, so detections can be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlantedIncident {
    /// Stable identifier, e.g. `"ssh-brute-force"`.
    pub name: &'static str,
    /// The [`DemoSource::name`] whose records show it.
    pub source: &'static str,
    /// When it starts.
    pub time: DateTime<Utc>,
    /// What happened, naming the people and addresses involved.
    pub description: String,
}

/// Everything [`generate`] produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demo {
    /// One entry per source, in a fixed order.
    pub sources: Vec<DemoSource>,
    /// The planted incidents in time order; empty when the period is empty.
    pub incidents: Vec<PlantedIncident>,
}

/// Generates the demo data set described by `config`.
///
/// Deterministic: it reads no clock and draws only from generators seeded by `config.seed`.
pub fn generate(config: &DemoConfig) -> Demo {
    let window = Window::new(config.end, config.days);
    let company = Company::new(&mut rng(config.seed, "company"), config.employees);
    let plan = Plan::new(&mut rng(config.seed, "plan"), &window, &company);
    let world = World {
        window,
        company,
        plan,
        scale: f64::from(config.employees),
    };
    let sources = std::thread::scope(|scope| {
        let world = &world;
        let handles: Vec<_> = SOURCES
            .iter()
            .map(|source| {
                scope.spawn(move || {
                    let mut records = (source.generate)(world, &mut rng(config.seed, source.name));
                    records.sort_by_key(|r| r.at);
                    records.retain(|r| world.window.contains(r.at));
                    let (times_ms, records) = records.into_iter().map(|r| (r.at, r.bytes)).unzip();
                    DemoSource {
                        name: source.name,
                        format: source.format,
                        records,
                        times_ms,
                        cadence_secs: source.cadence_secs,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let incidents = match &world.plan {
        Some(plan) => plan.incidents(&world.company),
        None => Vec::new(),
    };
    Demo { sources, incidents }
}

/// A source's name, format, cadence and generator.
struct SourceSpec {
    name: &'static str,
    format: &'static str,
    /// See [`DemoSource::cadence_secs`]; chosen well above the longest quiet spell (weekend
    /// nights included) of a month at the default 200 people.
    cadence_secs: Option<i64>,
    generate: fn(&World, &mut StdRng) -> Vec<Rec>,
}

/// One hour, in seconds.
const HOURLY: Option<i64> = Some(3600);
/// One day, in seconds: sources driven by people at their desks go quiet overnight and on
/// weekends.
const DAILY: Option<i64> = Some(86_400);

const SOURCES: [SourceSpec; 10] = [
    SourceSpec {
        name: "aws-cloudtrail",
        format: "cloudtrail",
        cadence_secs: HOURLY,
        generate: cloudtrail::generate,
    },
    SourceSpec {
        name: "okta",
        format: "okta",
        cadence_secs: DAILY,
        generate: okta::generate,
    },
    SourceSpec {
        name: "github",
        format: "github",
        cadence_secs: DAILY,
        generate: github::generate,
    },
    SourceSpec {
        name: "linux-auth",
        format: "authlog",
        cadence_secs: Some(2 * 3600),
        generate: authlog::generate,
    },
    SourceSpec {
        name: "vpc-flow",
        format: "vpcflow",
        cadence_secs: HOURLY,
        generate: vpcflow::generate,
    },
    SourceSpec {
        name: "postgres",
        format: "pgaudit",
        cadence_secs: HOURLY,
        generate: pgaudit::generate,
    },
    SourceSpec {
        name: "app",
        format: "json",
        cadence_secs: HOURLY,
        generate: app::generate,
    },
    SourceSpec {
        name: "windows-dc",
        format: "windows-security",
        cadence_secs: HOURLY,
        generate: windows::generate,
    },
    SourceSpec {
        name: "firewall",
        format: "netfilter",
        cadence_secs: HOURLY,
        generate: firewall::generate,
    },
    SourceSpec {
        name: "trivy",
        format: "trivy",
        cadence_secs: Some(8 * 86_400),
        generate: trivy::generate,
    },
];

/// A generator per purpose, so one source's draws never shift another's.
fn rng(seed: u64, purpose: &str) -> StdRng {
    StdRng::seed_from_u64(seed ^ dice::stable_u64(purpose))
}

/// What every generator reads: the period, the roster and the incident plan.
pub(crate) struct World {
    pub(crate) window: Window,
    pub(crate) company: Company,
    pub(crate) plan: Option<Plan>,
    /// Configured head count, the multiplier for every per-employee rate.
    pub(crate) scale: f64,
}

impl World {
    /// A roster member from `pool` who is still employed at `at`, or `None` if the draw hit the
    /// leaver (callers then skip the event; the pools are never empty, see [`Company`]).
    pub(crate) fn pick(&self, rng: &mut StdRng, pool: &[usize], at: i64) -> Option<&Person> {
        let who = *dice::pick(rng, pool);
        self.active(who, at).then(|| &self.company.people[who])
    }

    /// Whether roster member `who` still works here at `at`.
    pub(crate) fn active(&self, who: usize, at: i64) -> bool {
        self.plan.as_ref().is_none_or(|p| p.active(who, at))
    }

    /// Roster member `who`.
    pub(crate) fn person(&self, who: usize) -> &Person {
        &self.company.people[who]
    }
}

/// One generated record and its event time, before sorting.
pub(crate) struct Rec {
    /// Event time, milliseconds since the epoch.
    pub(crate) at: i64,
    pub(crate) bytes: Vec<u8>,
}

impl Rec {
    /// A record of `bytes` at `at`.
    pub(crate) fn new(at: i64, bytes: impl Into<Vec<u8>>) -> Self {
        let mut bytes = bytes.into();
        // Half a million records live at once; don't keep the writers' spare capacity.
        bytes.shrink_to_fit();
        Rec { at, bytes }
    }
}
