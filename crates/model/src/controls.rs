//! The AICPA Trust Services Criteria (2017, points of focus revised 2022) that log evidence
//! speaks to, described in our own words, and the default mapping from a source's category
//! to the criteria its logs help prove (DESIGN.md §5). Config can override both mappings.

use std::fmt;

use crate::Format;

/// One criterion: id as auditors write it, and what it asks, briefly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Criterion {
    /// `CC6.1`, `A1.2`, …
    pub id: &'static str,
    /// A one-line paraphrase.
    pub description: &'static str,
}

/// The criteria catalog, in the AICPA's order. Security (CC), Availability (A),
/// Confidentiality (C) and Processing Integrity (PI); Privacy is out of scope for logs.
pub const CRITERIA: &[Criterion] = &[
    c(
        "CC1.1",
        "Leadership shows a commitment to integrity and ethical values.",
    ),
    c(
        "CC1.2",
        "The board oversees internal control independently of management.",
    ),
    c(
        "CC1.3",
        "Management sets structures, reporting lines and responsibilities.",
    ),
    c(
        "CC1.4",
        "The organization attracts, develops and keeps competent people.",
    ),
    c(
        "CC1.5",
        "People are held accountable for their internal control duties.",
    ),
    c(
        "CC2.1",
        "Relevant, quality information is produced and used to support control.",
    ),
    c(
        "CC2.2",
        "Control information and responsibilities are communicated internally.",
    ),
    c(
        "CC2.3",
        "Matters affecting control are communicated with outside parties.",
    ),
    c(
        "CC3.1",
        "Objectives are specified clearly enough to identify risks to them.",
    ),
    c("CC3.2", "Risks to objectives are identified and analyzed."),
    c(
        "CC3.3",
        "The potential for fraud is considered when assessing risk.",
    ),
    c(
        "CC3.4",
        "Changes that could significantly affect control are identified and assessed.",
    ),
    c(
        "CC4.1",
        "Controls are evaluated on an ongoing or separate basis to confirm they work.",
    ),
    c(
        "CC4.2",
        "Control deficiencies are communicated and corrected in time.",
    ),
    c(
        "CC5.1",
        "Control activities are chosen to reduce risks to acceptable levels.",
    ),
    c(
        "CC5.2",
        "General controls over technology are chosen and developed.",
    ),
    c(
        "CC5.3",
        "Policies set expectations and procedures put them into action.",
    ),
    c(
        "CC6.1",
        "Logical access to information assets is restricted by software, infrastructure and architecture.",
    ),
    c(
        "CC6.2",
        "Users are registered and authorized before credentials are issued, and removed when no longer needed.",
    ),
    c(
        "CC6.3",
        "Access is granted, changed and removed by role, with least privilege and separation of duties.",
    ),
    c(
        "CC6.4",
        "Physical access to facilities and protected assets is restricted.",
    ),
    c(
        "CC6.5",
        "Assets are disposed of, and access to them ended, securely.",
    ),
    c(
        "CC6.6",
        "Threats from outside the system boundary are blocked or detected.",
    ),
    c(
        "CC6.7",
        "Data in transit and on removable media is protected and restricted.",
    ),
    c(
        "CC6.8",
        "Unauthorized or malicious software is prevented or detected.",
    ),
    c(
        "CC7.1",
        "Configuration changes and new vulnerabilities are detected and monitored.",
    ),
    c(
        "CC7.2",
        "System components are monitored for anomalies that indicate attacks or errors.",
    ),
    c(
        "CC7.3",
        "Security events are evaluated to decide whether they are incidents.",
    ),
    c(
        "CC7.4",
        "Incidents are responded to with a defined program: contain, remediate, communicate.",
    ),
    c(
        "CC7.5",
        "The organization recovers from incidents and learns from them.",
    ),
    c(
        "CC8.1",
        "Changes to infrastructure, data, software and procedures are authorized, tested and approved.",
    ),
    c(
        "CC9.1",
        "Risks from business disruption are identified and mitigated.",
    ),
    c(
        "CC9.2",
        "Risks from vendors and business partners are assessed and managed.",
    ),
    c(
        "A1.1",
        "Capacity is monitored and managed to meet availability commitments.",
    ),
    c(
        "A1.2",
        "Environmental protections, backups and recovery infrastructure are in place.",
    ),
    c("A1.3", "Recovery plans are tested."),
    c(
        "C1.1",
        "Confidential information is identified and protected.",
    ),
    c(
        "C1.2",
        "Confidential information is disposed of when no longer needed.",
    ),
    c(
        "PI1.1",
        "Information about processing objectives and specifications is defined and used.",
    ),
    c("PI1.2", "System inputs are complete and accurate."),
    c("PI1.3", "Processing is complete, accurate and timely."),
    c(
        "PI1.4",
        "Outputs are complete, accurate, distributed only as intended.",
    ),
    c(
        "PI1.5",
        "Stored inputs, items in process and outputs are complete, accurate and protected.",
    ),
];

const fn c(id: &'static str, description: &'static str) -> Criterion {
    Criterion { id, description }
}

/// The criterion with this id (case-insensitive).
pub fn criterion(id: &str) -> Option<&'static Criterion> {
    CRITERIA.iter().find(|c| c.id.eq_ignore_ascii_case(id))
}

/// What kind of system a source's logs come from: decides which criteria they evidence.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SourceCategory {
    /// Cloud control planes (CloudTrail, Azure Activity, GCP Audit, GuardDuty, S3 access).
    Cloud,
    /// Identity providers and SSO/MFA (Okta, Entra, Workspace, Auth0, Duo, OneLogin).
    Identity,
    /// Network flows, firewalls, WAF, load balancers.
    Network,
    /// Operating systems (syslog, auth.log, auditd, Windows Security).
    Os,
    /// Applications and SaaS (app logs, GitHub, Slack, Zoom, Box, Atlas).
    Application,
    /// Databases (pgaudit, MySQL audit).
    Database,
    /// Vulnerability scanners (Inspector, Trivy).
    Vulnerability,
}

impl SourceCategory {
    /// Every category.
    pub const ALL: &'static [SourceCategory] = &[
        SourceCategory::Cloud,
        SourceCategory::Identity,
        SourceCategory::Network,
        SourceCategory::Os,
        SourceCategory::Application,
        SourceCategory::Database,
        SourceCategory::Vulnerability,
    ];

    /// Lowercase name, as in config.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceCategory::Cloud => "cloud",
            SourceCategory::Identity => "identity",
            SourceCategory::Network => "network",
            SourceCategory::Os => "os",
            SourceCategory::Application => "application",
            SourceCategory::Database => "database",
            SourceCategory::Vulnerability => "vulnerability",
        }
    }

    /// The default criteria of DESIGN.md §5.
    pub fn default_criteria(self) -> &'static [&'static str] {
        match self {
            SourceCategory::Cloud => &["CC7.2", "CC6.3"],
            SourceCategory::Identity => &["CC6.1", "CC6.2", "CC6.5"],
            SourceCategory::Network => &["CC6.6", "CC7.1"],
            SourceCategory::Os | SourceCategory::Application => &["CC7.3", "PI1.1"],
            SourceCategory::Database => &["C1.2", "CC6.1"],
            SourceCategory::Vulnerability => &["CC7.1", "CC8.1"],
        }
    }
}

impl fmt::Display for SourceCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Format {
    /// The category of system this format's logs come from.
    pub fn category(self) -> SourceCategory {
        use SourceCategory::*;
        match self {
            Format::CloudTrail
            | Format::AzureActivity
            | Format::GcpAudit
            | Format::GuardDuty
            | Format::S3Access => Cloud,
            Format::Okta
            | Format::EntraSignin
            | Format::AzureAudit
            | Format::GoogleWorkspace
            | Format::Auth0
            | Format::DuoAuth
            | Format::DuoAdmin
            | Format::OneLogin => Identity,
            Format::VpcFlow | Format::AwsWaf | Format::AwsAlb | Format::Netfilter => Network,
            Format::Syslog | Format::AuthLog | Format::Auditd | Format::WindowsSecurity => Os,
            Format::PgAudit | Format::MysqlAudit => Database,
            Format::Inspector2 | Format::Trivy => Vulnerability,
            Format::GitHub
            | Format::SlackAudit
            | Format::ZoomOperation
            | Format::Box
            | Format::MongoAtlas
            | Format::Otlp
            | Format::JsonApp
            | Format::Text
            | Format::Auto => Application,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_criterion_is_in_the_catalog() {
        for cat in SourceCategory::ALL {
            for id in cat.default_criteria() {
                assert!(criterion(id).is_some(), "{cat}: {id}");
            }
        }
        assert_eq!(criterion("cc6.1").map(|c| c.id), Some("CC6.1"));
        assert_eq!(CRITERIA.len(), 43);
    }

    #[test]
    fn formats_fall_into_the_design_categories() {
        assert_eq!(
            Format::CloudTrail.category().default_criteria(),
            ["CC7.2", "CC6.3"]
        );
        assert_eq!(Format::Okta.category(), SourceCategory::Identity);
        assert_eq!(
            Format::PgAudit.category().default_criteria(),
            ["C1.2", "CC6.1"]
        );
        assert_eq!(
            Format::Trivy.category().default_criteria(),
            ["CC7.1", "CC8.1"]
        );
        assert_eq!(Format::VpcFlow.category(), SourceCategory::Network);
        assert_eq!(Format::AuthLog.category(), SourceCategory::Os);
    }
}
