//! Generates a month of realistic raw vendor logs for a fictional company, for `evident demo`
//! and for benchmarks.
//!
//! [`generate`] invents "Northwind Labs", a company of about [`DemoConfig::employees`] people on
//! `northwind.example`, and writes what its systems would have sent over [`DemoConfig::days`]
//! days: AWS CloudTrail, Okta System Log, GitHub audit log, Debian `auth.log`, VPC Flow Logs,
//! PostgreSQL with pgaudit, and the product's JSON application logs. Each [`DemoSource`] holds
//! records byte-for-byte in the vendor's wire format, so the demo exercises the same ingest path
//! as production. Traffic follows office hours and weekdays, and thirteen [`PlantedIncident`]s
//! (brute force, privilege grants without a change ticket, after-hours database reads, root
//! login, CloudTrail stopped, …) give the default SOC 2 rules something to find.
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
//! assert!(demo.incidents.iter().any(|i| i.name == "ssh-brute-force"));
//! # Ok::<(), chrono::ParseError>(())
//! ```

mod app;
mod authlog;
mod clock;
mod cloudtrail;
mod company;
mod dice;
mod github;
mod json;
mod okta;
mod pgaudit;
mod plan;
mod vpcflow;

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
    /// Wire format: `"cloudtrail"`, `"okta"`, `"github"`, `"authlog"`, `"vpcflow"`, `"pgaudit"`
    /// or `"json"`.
    pub format: &'static str,
    /// One record each, exactly as the vendor emits it, without a trailing newline; sorted by
    /// event time, all inside the configured period.
    pub records: Vec<Vec<u8>>,
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
                    DemoSource {
                        name: source.name,
                        format: source.format,
                        records: records.into_iter().map(|r| r.bytes).collect(),
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

/// A source's name, format and generator.
struct SourceSpec {
    name: &'static str,
    format: &'static str,
    generate: fn(&World, &mut StdRng) -> Vec<Rec>,
}

const SOURCES: [SourceSpec; 7] = [
    SourceSpec {
        name: "aws-cloudtrail",
        format: "cloudtrail",
        generate: cloudtrail::generate,
    },
    SourceSpec {
        name: "okta",
        format: "okta",
        generate: okta::generate,
    },
    SourceSpec {
        name: "github",
        format: "github",
        generate: github::generate,
    },
    SourceSpec {
        name: "linux-auth",
        format: "authlog",
        generate: authlog::generate,
    },
    SourceSpec {
        name: "vpc-flow",
        format: "vpcflow",
        generate: vpcflow::generate,
    },
    SourceSpec {
        name: "postgres",
        format: "pgaudit",
        generate: pgaudit::generate,
    },
    SourceSpec {
        name: "app",
        format: "json",
        generate: app::generate,
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
