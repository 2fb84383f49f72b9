//! Evident's detection engine: Sigma rules over events, as alerts worth a human's time.
//! A [`RuleSet`] loads Sigma detection rules, correlations and filters (from directories,
//! or the pack built into the binary) and keeps every document it cannot use as a
//! [`LoadFailure`]. A [`Detector`] compiles them with `rsigma-eval`, routes each event to
//! the rules whose logsource fits it ([`logsource`]: vendor rules see the raw record,
//! `product: evident` rules the normalized OCSF event), enriches the event first
//! ([`Enricher`]: after hours, sensitive assets, privileged groups, change tickets,
//! terminated users), waits the change-ticket grace period before rules that look at
//! tickets decide, and turns matches into deduplicated, throttled [`Alert`]s.
//! Pure over events: no storage, no HTTP.
//!
//! ```
//! use evident_detect::{DetectConfig, Detector, EventRef, RuleSet};
//! use evident_model::{Class, Event, Status};
//! let mut rules = RuleSet::new();
//! rules.add_yaml("inline.yml", r#"
//! title: Failed logon
//! id: failed-logon
//! logsource: {product: evident}
//! detection:
//!   sel: {class_uid: 3002, status_id: 2}
//!   condition: sel
//! level: low
//! "#);
//! let mut detector = Detector::new(&rules, &DetectConfig::default())?;
//! let mut e = Event::new(Class::Authentication, 1, 1_764_150_000_000);
//! e.set_status(Status::Failure);
//! detector.process(e, None, EventRef::ledger(7));
//! detector.finish();
//! let alerts = detector.take_alerts();
//! assert_eq!(alerts[0].rule_id, "failed-logon");
//! assert_eq!(alerts[0].events, [EventRef::ledger(7)]);
//! # Ok::<(), evident_detect::DetectError>(())
//! ```

mod alert;
mod config;
mod detector;
mod enrich;
mod gate;
mod literals;
pub mod logsource;
mod ruleset;
pub mod testing;
mod view;

use std::path::PathBuf;

pub use alert::{Alert, EventRef, RuleCounters};
pub use config::{
    Asset, BusinessHours, ChangeTicketsConfig, DetectConfig, DetectionConfig, JiraFields,
    PrivilegedGroups, parse_duration_ms,
};
pub use detector::{DetectStats, Detector, RawRecord};
pub use enrich::{ChangeTicket, Enricher};
pub use ruleset::{LoadFailure, RuleSet, builtin_files};

/// Errors of the detection engine's inputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// A config value that cannot be used.
    #[error("config {what}: {message}")]
    Config {
        /// Which setting.
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A change ticket that cannot be used.
    #[error("invalid change ticket: {message}")]
    Ticket {
        /// What is wrong with it.
        message: String,
    },
    /// A rule or test file that cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A rule test file that does not have the documented shape.
    #[error("{file}: {message}")]
    TestFile {
        /// The test file.
        file: String,
        /// What is wrong.
        message: String,
    },
}
