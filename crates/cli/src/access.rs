//! `evident user …`, `evident token …`, `evident access export`: people and credentials from
//! the console. Every change is an access audit entry (actor `cli:<os user>`), sealed into the
//! ledger by the server within a second, or by the next command that holds the ledger.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use evident_model::Role;
use evident_server::Evident;
use evident_server::auth::access_log::{AccessEvent, Outcome as AccessOutcome, record_blocking};
use evident_server::auth::users_api::{access_list, one_time_password};
use evident_store::NewUser;

use crate::Outcome;

/// `evident user …`.
#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user and print a one-time password (shown once).
    Add {
        /// Login name.
        name: String,
        /// admin, analyst, reviewer or auditor.
        #[arg(long)]
        role: Role,
        /// Auditors: first day the account works (YYYY-MM-DD, UTC).
        #[arg(long)]
        access_from: Option<chrono::NaiveDate>,
        /// Auditors: last day the account works (YYYY-MM-DD, UTC, inclusive).
        #[arg(long)]
        access_until: Option<chrono::NaiveDate>,
    },
    /// List users.
    List {
        /// NDJSON output.
        #[arg(long)]
        json: bool,
    },
    /// Change a user's role.
    SetRole {
        /// Login name.
        name: String,
        /// The new role.
        role: Role,
    },
    /// Disable an account (ends its sessions).
    Disable {
        /// Login name.
        name: String,
    },
    /// Re-enable an account.
    Enable {
        /// Login name.
        name: String,
    },
    /// Set a new one-time password (printed once) and clear a lockout.
    ResetPassword {
        /// Login name.
        name: String,
    },
    /// Enroll a TOTP second factor; prints the otpauth:// URL for the authenticator app.
    EnrollTotp {
        /// Login name.
        name: String,
    },
}

/// `evident token …`.
#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Create an API token and print it (shown once).
    Create {
        /// A name saying who or what uses it.
        name: String,
        /// The role it acts with.
        #[arg(long, default_value = "analyst")]
        role: Role,
        /// Days until it expires (0 = never).
        #[arg(long, default_value_t = 90)]
        expires_days: u32,
    },
    /// List tokens (no secrets).
    List {
        /// NDJSON output.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke {
        /// Its name.
        name: String,
    },
}

/// Export formats of the access-control list.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ExportFormat {
    /// One row per principal.
    Csv,
    /// Users, tokens and ingest credentials as one JSON document.
    Json,
}

/// `evident access …`.
#[derive(Subcommand)]
pub(crate) enum AccessCommand {
    /// The access-control list (users, roles, tokens without secrets, last use, MFA) for the
    /// evidence package.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The permission matrix (roles × permissions) as Markdown.
    Matrix,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Records one console action in the audit trail without sealing it yet: `evident init`'s
/// entries wait for the server's first housekeeping tick (or the next console change), so a
/// fresh data directory's ledger starts empty.
pub(crate) fn record(
    node: &Evident,
    actor: &str,
    action: &str,
    target: &str,
) -> anyhow::Result<()> {
    record_blocking(
        &node.db,
        &AccessEvent {
            actor: actor.to_owned(),
            role: Some(Role::Admin),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: AccessOutcome::Success,
            detail: None,
            peer: None,
        },
        node.ledger.size(),
    )
    .context("recording the audit entry")
}

/// Records one console action and, when this process holds the ledger, seals it.
pub(crate) fn audit(node: &Evident, actor: &str, action: &str, target: &str) -> anyhow::Result<()> {
    record(node, actor, action, target)?;
    // Beside a running server (read-only ledger) the server seals it within a second.
    if !node.ledger.is_read_only() {
        evident_server::audit::seal_audit_trail(&node.ledger, &node.db)
            .context("sealing the audit entry")?;
    }
    Ok(())
}

/// Creates the first admin at `evident init`; returns the one-time password.
pub(crate) fn create_first_admin(node: &Evident, actor: &str) -> anyhow::Result<String> {
    let password = one_time_password()?;
    node.db.create_user(
        &NewUser {
            username: "admin",
            role: Role::Admin,
            password: Some(&password),
            window: None,
        },
        now_ms(),
    )?;
    record(node, actor, "user create", "admin (admin)")?;
    Ok(password)
}

pub(crate) fn user(node: &Evident, cmd: UserCommand, actor: &str) -> anyhow::Result<Outcome> {
    let db = &node.db;
    match cmd {
        UserCommand::Add {
            name,
            role,
            access_from,
            access_until,
        } => {
            let window = match (access_from, access_until) {
                (Some(f), Some(u)) => Some((day_start_ms(f), day_start_ms(u) + 86_400_000 - 1)),
                (None, None) if role == Role::Auditor => anyhow::bail!(
                    "auditor accounts need an access window: --access-from and --access-until"
                ),
                (None, None) => None,
                _ => anyhow::bail!("give both --access-from and --access-until, or neither"),
            };
            let password = one_time_password()?;
            db.create_user(
                &NewUser {
                    username: &name,
                    role,
                    password: Some(&password),
                    window,
                },
                now_ms(),
            )?;
            audit(node, actor, "user create", &format!("{name} ({role})"))?;
            println!("{password}");
            eprintln!(
                "User {name:?} ({role}) created. The line above is their one-time password, shown only once."
            );
        }
        UserCommand::List { json } => {
            for u in db.users()? {
                if json {
                    println!("{}", serde_json::to_string(&u)?);
                } else {
                    println!(
                        "{:<20} {:<9} {:<6} mfa={:<3} {}",
                        u.username,
                        u.role.as_str(),
                        if u.disabled { "off" } else { "on" },
                        if u.mfa { "yes" } else { "no" },
                        u.last_login_ms
                            .and_then(chrono::DateTime::from_timestamp_millis)
                            .map_or("never logged in".into(), |t| format!("last login {t}"))
                    );
                }
            }
        }
        UserCommand::SetRole { name, role } => {
            db.set_user_role(&name, role)?;
            audit(node, actor, "user set-role", &format!("{name} ({role})"))?;
            eprintln!("{name} is now {role}.");
        }
        UserCommand::Disable { name } => {
            db.set_user_disabled(&name, true)?;
            audit(node, actor, "user disable", &name)?;
            eprintln!("{name} disabled; their sessions ended.");
        }
        UserCommand::Enable { name } => {
            db.set_user_disabled(&name, false)?;
            audit(node, actor, "user enable", &name)?;
            eprintln!("{name} enabled.");
        }
        UserCommand::ResetPassword { name } => {
            let password = one_time_password()?;
            db.set_password(&name, &password)?;
            audit(node, actor, "user reset-password", &name)?;
            println!("{password}");
            eprintln!("New one-time password for {name:?} above, shown only once.");
        }
        UserCommand::EnrollTotp { name } => {
            let (url, _) = db.enroll_totp(&name)?;
            audit(node, actor, "user enroll-totp", &name)?;
            println!("{url}");
            eprintln!(
                "Add the URL above to {name}'s authenticator app (or render it as a QR code); logins now need its 6-digit code."
            );
        }
    }
    Ok(Outcome::Clean)
}

fn day_start_ms(d: chrono::NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

pub(crate) fn token(node: &Evident, cmd: TokenCommand, actor: &str) -> anyhow::Result<Outcome> {
    match cmd {
        TokenCommand::Create {
            name,
            role,
            expires_days,
        } => {
            let expires =
                (expires_days > 0).then(|| now_ms() + i64::from(expires_days) * 86_400_000);
            let token = node.db.create_api_token(&name, role, expires)?;
            audit(node, actor, "token create", &format!("{name} ({role})"))?;
            println!("{token}");
            let until = expires
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map_or("never expires".into(), |t| {
                    format!("expires {}", t.format("%Y-%m-%d"))
                });
            eprintln!(
                "API token {name:?} ({role}, {until}) created. The line above is shown only once."
            );
        }
        TokenCommand::List { json } => {
            for t in node.db.api_tokens()? {
                if json {
                    println!("{}", serde_json::to_string(&t)?);
                } else {
                    let state = if t.revoked_at_ms.is_some() {
                        "revoked"
                    } else if t.expires_at_ms.is_some_and(|e| e < now_ms()) {
                        "expired"
                    } else {
                        "active"
                    };
                    println!("{:<24} {:<9} {state}", t.name, t.role.as_str());
                }
            }
        }
        TokenCommand::Revoke { name } => {
            node.db.revoke_api_token(&name, now_ms())?;
            audit(node, actor, "token revoke", &name)?;
            eprintln!("API token {name:?} revoked.");
        }
    }
    Ok(Outcome::Clean)
}

pub(crate) fn access(node: &Evident, cmd: AccessCommand, actor: &str) -> anyhow::Result<Outcome> {
    match cmd {
        AccessCommand::Export { format, out } => {
            let list = access_list(&node.db)?;
            let text = match format {
                ExportFormat::Csv => list.to_csv(),
                ExportFormat::Json => serde_json::to_string_pretty(&list)? + "\n",
            };
            audit(node, actor, "export access-list", "access control list")?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
        }
        AccessCommand::Matrix => print!("{}", evident_model::permission_matrix_markdown()),
    }
    Ok(Outcome::Clean)
}
