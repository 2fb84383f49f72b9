//! Who may do what (DESIGN.md §8): the roles Evident knows, the permissions every API route
//! and command declares, and the matrix between them. It lives here, beside the other shared
//! vocabulary, so the store, the server and the docs read one table and cannot drift apart.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A person's role. Least privilege: each role gets the permissions its job needs and no
/// more; write-only ingest credentials are not a role a person holds (they are per source).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the system: configuration, users, tokens, keys — and everything an analyst does.
    Admin,
    /// Investigates: searches logs, works alerts and cases.
    Analyst,
    /// Performs the scheduled log reviews and signs them off.
    Reviewer,
    /// The external auditor: reads everything evidence-related, changes nothing, sees no
    /// secrets, and only inside the audit window of their account.
    Auditor,
}

impl Role {
    /// Every role, in the order tables show them.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Reviewer, Role::Auditor];

    /// The name used in config, the API and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
        }
    }

    /// Whether this role holds `permission`: the permission matrix.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Analyst => matches!(
                permission,
                P::ReadLogs
                    | P::ReadHealth
                    | P::ReadAlerts
                    | P::WriteCases
                    | P::ReadReviews
                    | P::WriteChangeTickets
                    | P::ReadIntegrations
                    | P::ReadMetrics
            ),
            Role::Reviewer => matches!(
                permission,
                P::ReadLogs
                    | P::ReadHealth
                    | P::ReadAlerts
                    | P::ReadReviews
                    | P::SignReviews
                    | P::ReadAccessTrail
            ),
            Role::Auditor => matches!(
                permission,
                P::ReadLogs
                    | P::ReadHealth
                    | P::ReadAlerts
                    | P::ReadReviews
                    | P::ReadAccessTrail
                    | P::ExportEvidence
            ),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// A role name Evident does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; roles are admin, analyst, reviewer, auditor")]
pub struct UnknownRole(pub String);

/// What a request or command needs. Each API route declares exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Search log records and view ledger entries (raw log data).
    ReadLogs,
    /// Source health, the controls matrix, the integrity status.
    ReadHealth,
    /// Alerts and cases, read-only.
    ReadAlerts,
    /// Open, change and annotate cases.
    WriteCases,
    /// Review schedules, packets and sign-offs, read-only.
    ReadReviews,
    /// Sign off a due review.
    SignReviews,
    /// File change tickets (they suppress alerts, so not everyone may).
    WriteChangeTickets,
    /// The integrations outbox (payloads name external systems).
    ReadIntegrations,
    /// Prometheus metrics.
    ReadMetrics,
    /// Who accessed the log system: the meta-audit trail and the access-control list.
    ReadAccessTrail,
    /// Export the evidence package.
    ExportEvidence,
    /// Users, roles, API tokens.
    ManageUsers,
    /// Configuration, rules, signing keys.
    ManageConfig,
}

impl Permission {
    /// Every permission, in the order the docs list them.
    pub const ALL: [Permission; 13] = [
        Permission::ReadLogs,
        Permission::ReadHealth,
        Permission::ReadAlerts,
        Permission::WriteCases,
        Permission::ReadReviews,
        Permission::SignReviews,
        Permission::WriteChangeTickets,
        Permission::ReadIntegrations,
        Permission::ReadMetrics,
        Permission::ReadAccessTrail,
        Permission::ExportEvidence,
        Permission::ManageUsers,
        Permission::ManageConfig,
    ];

    /// The name used in docs and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ReadLogs => "read_logs",
            Permission::ReadHealth => "read_health",
            Permission::ReadAlerts => "read_alerts",
            Permission::WriteCases => "write_cases",
            Permission::ReadReviews => "read_reviews",
            Permission::SignReviews => "sign_reviews",
            Permission::WriteChangeTickets => "write_change_tickets",
            Permission::ReadIntegrations => "read_integrations",
            Permission::ReadMetrics => "read_metrics",
            Permission::ReadAccessTrail => "read_access_trail",
            Permission::ExportEvidence => "export_evidence",
            Permission::ManageUsers => "manage_users",
            Permission::ManageConfig => "manage_config",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permission matrix as a Markdown table (roles across, permissions down), for the docs
/// and the evidence package's access section.
pub fn permission_matrix_markdown() -> String {
    let mut out = String::from("| permission |");
    for r in Role::ALL {
        out.push_str(&format!(" {r} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(Role::ALL.len()));
    out.push('\n');
    for p in Permission::ALL {
        out.push_str(&format!("| `{p}` |"));
        for r in Role::ALL {
            out.push_str(if r.allows(p) { " yes |" } else { " — |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_unknown_names_are_refused() {
        assert_eq!("auditor".parse::<Role>(), Ok(Role::Auditor));
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "unknown role \"root\"; roles are admin, analyst, reviewer, auditor"
        );
    }

    #[test]
    fn auditor_reads_evidence_but_changes_nothing() {
        let allowed: Vec<_> = Permission::ALL
            .into_iter()
            .filter(|p| Role::Auditor.allows(*p))
            .collect();
        assert_eq!(
            allowed,
            [
                Permission::ReadLogs,
                Permission::ReadHealth,
                Permission::ReadAlerts,
                Permission::ReadReviews,
                Permission::ReadAccessTrail,
                Permission::ExportEvidence
            ]
        );
    }

    #[test]
    fn only_admins_manage_users_and_config() {
        for p in [Permission::ManageUsers, Permission::ManageConfig] {
            let holders: Vec<_> = Role::ALL.into_iter().filter(|r| r.allows(p)).collect();
            assert_eq!(holders, [Role::Admin]);
        }
    }

    #[test]
    fn the_user_docs_show_the_matrix_the_code_enforces() {
        let docs = include_str!("../../../docs/access.md");
        assert!(
            docs.contains(&permission_matrix_markdown()),
            "docs/access.md's permission matrix is out of date: paste `evident access matrix`"
        );
    }

    #[test]
    fn the_markdown_matrix_has_a_row_per_permission() {
        let md = permission_matrix_markdown();
        assert_eq!(md.lines().count(), 2 + Permission::ALL.len());
        assert!(md.contains("| `sign_reviews` | yes | — | yes | — |"));
    }
}
