//! People and credentials (DESIGN.md §8): local users with argon2id passwords, an optional
//! TOTP second factor and lockout after repeated failures; browser sessions; API tokens with
//! a role, an expiry and revocation. Secrets are never stored: passwords as argon2id PHC
//! strings, session and API tokens as SHA-256 hashes, so a copy of the database logs no one in.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use evident_model::Role;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::{StateDb, StoreError, new_token, token_hash};

/// Consecutive failed logins that lock an account.
pub const LOCKOUT_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// Absolute lifetime of a browser session.
pub const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// Shortest password accepted (NIST SP 800-63B asks for at least 8; we ask for more).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// How a user proves who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Password (+ TOTP when enrolled) checked by Evident.
    Local,
    /// Single sign-on through the company's OpenID Connect provider.
    Oidc,
}

/// A user account, without its secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Stable id.
    pub id: i64,
    /// Login name (unique).
    pub username: String,
    /// What they may do.
    pub role: Role,
    /// Password or SSO.
    pub auth: AuthMethod,
    /// Whether a TOTP second factor is enrolled (or the IdP enforces MFA, for SSO users).
    pub mfa: bool,
    /// Auditors: the first instant (ms) their account works.
    pub access_from_ms: Option<i64>,
    /// Auditors: the last instant (ms) their account works.
    pub access_until_ms: Option<i64>,
    /// Locked by failed logins until then (ms), if in the future.
    pub locked_until_ms: Option<i64>,
    /// Disabled accounts cannot log in; kept so the trail still names them.
    pub disabled: bool,
    /// When the account was created (ms).
    pub created_at_ms: i64,
    /// Last successful login (ms).
    pub last_login_ms: Option<i64>,
}

impl User {
    /// Whether `now_ms` lies inside the account's access window (always, without one).
    pub fn in_window(&self, now_ms: i64) -> bool {
        self.access_from_ms.is_none_or(|f| now_ms >= f)
            && self.access_until_ms.is_none_or(|u| now_ms <= u)
    }
}

/// What a new local user gets.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Role.
    pub role: Role,
    /// Password (None for SSO-only accounts).
    pub password: Option<&'a str>,
    /// Auditors' access window (ms), inclusive.
    pub window: Option<(i64, i64)>,
}

/// Why a login was refused; the message is safe to show (it never says whether the user
/// exists, except for locks and windows, which only a correct password reveals).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefused {
    /// Unknown user or wrong password.
    #[error("wrong username or password")]
    BadCredentials,
    /// TOTP enrolled and the code was missing or wrong.
    #[error("a valid one-time code from your authenticator app is required")]
    BadSecondFactor,
    /// Too many failures.
    #[error("account locked after {LOCKOUT_FAILURES} failed logins; try again after {until}")]
    Locked {
        /// When the lock ends (RFC 3339).
        until: String,
    },
    /// Auditor outside the audit window.
    #[error("this account may only be used between {from} and {until}")]
    OutsideWindow {
        /// Window start (RFC 3339).
        from: String,
        /// Window end (RFC 3339).
        until: String,
    },
    /// Disabled account.
    #[error("account disabled")]
    Disabled,
    /// Single sign-on for a name that belongs to a password account.
    #[error(
        "{username:?} is a password account in Evident; sign in with its password, or ask an admin to remove it before using single sign-on"
    )]
    LocalAccount {
        /// The user name the identity provider asserted.
        username: String,
    },
}

/// Outcome of an authentication attempt: who, or why not.
pub type LoginResult = Result<User, LoginRefused>;

/// A live API token's holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHolder {
    /// Token id.
    pub id: i64,
    /// Token name.
    pub name: String,
    /// Role the token acts with.
    pub role: Role,
    /// The user who owns it, if any.
    pub user: Option<String>,
}

/// Why an API token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefused {
    /// Not a token we issued.
    #[error("the API token is not valid")]
    Unknown,
    /// Past its expiry.
    #[error("the API token {name:?} expired at {at}")]
    Expired {
        /// Token name.
        name: String,
        /// Expiry (RFC 3339).
        at: String,
    },
    /// Revoked by an admin.
    #[error("the API token {name:?} was revoked at {at}")]
    Revoked {
        /// Token name.
        name: String,
        /// Revocation (RFC 3339).
        at: String,
    },
}

/// An API token as the access-control list shows it (no secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiTokenInfo {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Owning user.
    pub user: Option<String>,
    /// Created (ms).
    pub created_at_ms: i64,
    /// Expires (ms).
    pub expires_at_ms: Option<i64>,
    /// Revoked (ms).
    pub revoked_at_ms: Option<i64>,
    /// Last used (ms).
    pub last_used_at_ms: Option<i64>,
}

/// A live browser session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The anti-CSRF token form posts must carry.
    pub csrf: String,
    /// Absolute expiry (ms).
    pub expires_at_ms: i64,
}

/// Formats ms as RFC 3339 (seconds) for messages.
pub(crate) fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days → civil date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Access(format!(
            "password too short: use at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Access(format!("cannot hash the password: {e}")))
}

fn password_matches(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh TOTP secret (160 bits, RFC 4226's recommendation), base32 without padding.
fn new_totp_secret() -> Result<Vec<u8>, StoreError> {
    let mut b = vec![0u8; 20];
    getrandom::fill(&mut b).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(b)
}

fn totp(secret: &[u8], username: &str) -> Result<totp_rs::TOTP, StoreError> {
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret.to_vec(),
        Some("Evident".to_owned()),
        username.to_owned(),
    )
    .map_err(|e| StoreError::Access(format!("TOTP secret: {e}")))
}

const USER_COLUMNS: &str = "id, username, role, auth, totp_secret IS NOT NULL, access_from_ms,
     access_until_ms, locked_until_ms, disabled, created_at_ms, last_login_ms";

fn row_to_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String, String)> {
    let role: String = r.get(2)?;
    let auth: String = r.get(3)?;
    Ok((
        User {
            id: r.get(0)?,
            username: r.get(1)?,
            role: Role::Admin,
            auth: AuthMethod::Local,
            mfa: r.get(4)?,
            access_from_ms: r.get(5)?,
            access_until_ms: r.get(6)?,
            locked_until_ms: r.get(7)?,
            disabled: r.get(8)?,
            created_at_ms: r.get(9)?,
            last_login_ms: r.get(10)?,
        },
        role,
        auth,
    ))
}

fn finish_user((mut u, role, auth): (User, String, String)) -> Result<User, StoreError> {
    u.role = role.parse().map_err(|_| StoreError::Invalid {
        what: "role",
        value: role.clone(),
    })?;
    u.auth = match auth.as_str() {
        "local" => AuthMethod::Local,
        "oidc" => AuthMethod::Oidc,
        _ => {
            return Err(StoreError::Invalid {
                what: "auth method",
                value: auth,
            });
        }
    };
    if u.auth == AuthMethod::Oidc {
        u.mfa = true;
    }
    Ok(u)
}

impl StateDb {
    /// Creates a local user. Names are 1–64 characters of letters, digits, `.`, `_`, `-`, `@`.
    pub fn create_user(&self, new: &NewUser<'_>, now_ms: i64) -> Result<User, StoreError> {
        let name_ok = !new.username.is_empty()
            && new.username.len() <= 64
            && new
                .username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if !name_ok {
            return Err(StoreError::Access(format!(
                "invalid username {:?}: use 1-64 letters, digits, '.', '_', '-' or '@'",
                new.username
            )));
        }
        let hash = new.password.map(hash_password).transpose()?;
        let auth = if new.password.is_some() {
            "local"
        } else {
            "oidc"
        };
        let inserted = self.conn().execute(
            "INSERT INTO users (username, role, auth, password_hash, access_from_ms,
                 access_until_ms, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(username) DO NOTHING",
            params![
                new.username,
                new.role.as_str(),
                auth,
                hash,
                new.window.map(|w| w.0),
                new.window.map(|w| w.1),
                now_ms
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::Access(format!(
                "a user named {:?} already exists",
                new.username
            )));
        }
        self.user(new.username)?
            .ok_or_else(|| StoreError::Access(format!("user {:?} vanished", new.username)))
    }

    /// The user named `username`.
    pub fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
        self.conn()
            .query_row(&sql, [username], row_to_user)
            .optional()?
            .map(finish_user)
            .transpose()
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map([], row_to_user)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(finish_user).collect()
    }

    /// Changes a user's role.
    pub fn set_user_role(&self, username: &str, role: Role) -> Result<User, StoreError> {
        self.update_user(username, "role = ?2", role.as_str())
    }

    /// Disables (or re-enables) an account and ends its sessions.
    pub fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<User, StoreError> {
        let user = self.update_user(username, "disabled = ?2", &i64::from(disabled).to_string())?;
        self.conn()
            .execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
        Ok(user)
    }

    /// Sets a new password (and clears a lock).
    pub fn set_password(&self, username: &str, password: &str) -> Result<User, StoreError> {
        let hash = hash_password(password)?;
        self.update_user(
            username,
            "password_hash = ?2, auth = 'local', failed_logins = 0, locked_until_ms = NULL",
            &hash,
        )
    }

    /// Enrolls a TOTP second factor and returns its `otpauth://` URL (shown once, for the
    /// authenticator app) and the base32 secret.
    pub fn enroll_totp(&self, username: &str) -> Result<(String, String), StoreError> {
        let secret = new_totp_secret()?;
        let t = totp(&secret, username)?;
        let b32 = t.get_secret_base32();
        self.update_user(username, "totp_secret = ?2", &b32)?;
        Ok((t.get_url(), b32))
    }

    fn update_user(&self, username: &str, set: &str, value: &str) -> Result<User, StoreError> {
        let n = self.conn().execute(
            &format!("UPDATE users SET {set} WHERE username = ?1"),
            params![username, value],
        )?;
        if n == 0 {
            return Err(StoreError::Access(format!("no user named {username:?}")));
        }
        self.user(username)?
            .ok_or_else(|| StoreError::Access(format!("no user named {username:?}")))
    }

    /// Checks a password login at `now_ms`: counts failures, locks after
    /// [`LOCKOUT_FAILURES`] in a row for [`LOCKOUT_MS`], checks the TOTP code when one is
    /// enrolled and the auditor window. A success resets the failure count.
    pub fn check_login(
        &self,
        username: &str,
        password: &str,
        totp_code: Option<&str>,
        now_ms: i64,
    ) -> Result<LoginResult, StoreError> {
        let row: Option<(Option<String>, Option<String>, u32)> = self
            .conn()
            .query_row(
                "SELECT password_hash, totp_secret, failed_logins FROM users WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let (Some((phc, totp_secret, failures)), Some(user)) = (row, self.user(username)?) else {
            // Same work as a real check, so timing does not reveal which names exist.
            password_matches(dummy_phc(), password);
            return Ok(Err(LoginRefused::BadCredentials));
        };
        if let Some(until) = user.locked_until_ms.filter(|u| *u > now_ms) {
            return Ok(Err(LoginRefused::Locked {
                until: rfc3339(until),
            }));
        }
        let password_ok = phc
            .as_deref()
            .is_some_and(|p| password_matches(p, password));
        let factor_ok = match &totp_secret {
            None => true,
            Some(b32) => match (totp_rs::Secret::Encoded(b32.clone()).to_bytes(), totp_code) {
                (Ok(secret), Some(code)) => {
                    totp(&secret, username)?.check(code.trim(), (now_ms / 1000).max(0) as u64)
                }
                _ => false,
            },
        };
        if !(password_ok && factor_ok) {
            let failures = failures + 1;
            let locked = (failures >= LOCKOUT_FAILURES).then_some(now_ms + LOCKOUT_MS);
            self.conn().execute(
                "UPDATE users SET failed_logins = ?2, locked_until_ms = ?3 WHERE id = ?1",
                params![user.id, if locked.is_some() { 0 } else { failures }, locked],
            )?;
            return Ok(Err(match locked {
                Some(until) => LoginRefused::Locked {
                    until: rfc3339(until),
                },
                None if password_ok => LoginRefused::BadSecondFactor,
                None => LoginRefused::BadCredentials,
            }));
        }
        if user.disabled {
            return Ok(Err(LoginRefused::Disabled));
        }
        if !user.in_window(now_ms) {
            return Ok(Err(outside_window(&user)));
        }
        self.conn().execute(
            "UPDATE users SET failed_logins = 0, locked_until_ms = NULL, last_login_ms = ?2
             WHERE id = ?1",
            params![user.id, now_ms],
        )?;
        Ok(Ok(User {
            last_login_ms: Some(now_ms),
            locked_until_ms: None,
            ..user
        }))
    }

    /// Whether an SSO user may log in now (exists or is created with `role`, enabled, in
    /// window); records the login.
    pub fn sso_login(
        &self,
        username: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<LoginResult, StoreError> {
        let user = match self.user(username)? {
            // Single sign-on never takes over a password account of the same name.
            Some(u) if u.auth == AuthMethod::Local => {
                return Ok(Err(LoginRefused::LocalAccount {
                    username: username.to_owned(),
                }));
            }
            Some(u) => {
                if u.role != role {
                    self.set_user_role(username, role)?
                } else {
                    u
                }
            }
            None => self.create_user(
                &NewUser {
                    username,
                    role,
                    password: None,
                    window: None,
                },
                now_ms,
            )?,
        };
        if user.disabled {
            return Ok(Err(LoginRefused::Disabled));
        }
        if !user.in_window(now_ms) {
            return Ok(Err(outside_window(&user)));
        }
        self.conn().execute(
            "UPDATE users SET last_login_ms = ?2 WHERE id = ?1",
            params![user.id, now_ms],
        )?;
        Ok(Ok(User {
            last_login_ms: Some(now_ms),
            ..user
        }))
    }

    /// Starts a session for `user_id`: returns the session token (the cookie value; only its
    /// hash is stored) and its CSRF token. Always a new token, so a session id planted before
    /// login (fixation) is never promoted.
    pub fn create_session(
        &self,
        user_id: i64,
        now_ms: i64,
    ) -> Result<(String, String), StoreError> {
        let token = new_token()?;
        let csrf = new_token()?;
        let conn = self.conn();
        conn.execute("DELETE FROM sessions WHERE expires_at_ms < ?1", [now_ms])?;
        conn.execute(
            "INSERT INTO sessions (token_sha256, user_id, csrf, created_at_ms, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_hash(&token),
                user_id,
                csrf,
                now_ms,
                now_ms + SESSION_MS
            ],
        )?;
        Ok((token, csrf))
    }

    /// The live session for a cookie value at `now_ms` (the user must still be enabled and
    /// in window).
    pub fn session(&self, token: &str, now_ms: i64) -> Result<Option<Session>, StoreError> {
        let row: Option<(String, String, i64)> = self
            .conn()
            .query_row(
                "SELECT u.username, s.csrf, s.expires_at_ms FROM sessions s
                 JOIN users u ON u.id = s.user_id
                 WHERE s.token_sha256 = ?1 AND s.expires_at_ms >= ?2",
                params![token_hash(token), now_ms],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((username, csrf, expires_at_ms)) = row else {
            return Ok(None);
        };
        Ok(self
            .user(&username)?
            .filter(|u| !u.disabled && u.in_window(now_ms))
            .map(|user| Session {
                user,
                csrf,
                expires_at_ms,
            }))
    }

    /// Ends a session; returns whether it existed.
    pub fn delete_session(&self, token: &str) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            [token_hash(token)],
        )? > 0)
    }

    /// Creates an API token acting with `role` (optionally owned by a user, optionally
    /// expiring) and returns it, the one time it is shown: only its hash is kept.
    pub fn create_api_token(
        &self,
        name: &str,
        role: Role,
        expires_at_ms: Option<i64>,
    ) -> Result<String, StoreError> {
        let token = new_token()?;
        let inserted = self.conn().execute(
            "INSERT INTO api_tokens (name, token_sha256, created_at_ns, role, expires_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(name) DO NOTHING",
            params![
                name,
                token_hash(&token),
                crate::now_ns(),
                role.as_str(),
                expires_at_ms
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::TokenExists(name.to_owned()));
        }
        Ok(token)
    }

    /// Revokes the token named `name` at `now_ms`.
    pub fn revoke_api_token(&self, name: &str, now_ms: i64) -> Result<(), StoreError> {
        let n = self.conn().execute(
            "UPDATE api_tokens SET revoked_at_ms = ?2 WHERE name = ?1 AND revoked_at_ms IS NULL",
            params![name, now_ms],
        )?;
        if n == 0 {
            return Err(StoreError::Access(format!(
                "no live API token named {name:?}"
            )));
        }
        Ok(())
    }

    /// The holder of `token` at `now_ms`, or why it is refused; records its use.
    pub fn authenticate_api(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Result<TokenHolder, TokenRefused>, StoreError> {
        type Row = (i64, String, String, Option<i64>, Option<i64>);
        let row: Option<Row> = self
            .conn()
            .query_row(
                "SELECT id, name, role, expires_at_ms, revoked_at_ms FROM api_tokens
                 WHERE token_sha256 = ?1",
                [token_hash(token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((id, name, role, expires, revoked)) = row else {
            return Ok(Err(TokenRefused::Unknown));
        };
        if let Some(at) = revoked {
            return Ok(Err(TokenRefused::Revoked {
                name,
                at: rfc3339(at),
            }));
        }
        if let Some(at) = expires.filter(|e| *e < now_ms) {
            return Ok(Err(TokenRefused::Expired {
                name,
                at: rfc3339(at),
            }));
        }
        self.conn().execute(
            "UPDATE api_tokens SET last_used_at_ms = ?2 WHERE id = ?1",
            params![id, now_ms],
        )?;
        let role = role.parse().map_err(|_| StoreError::Invalid {
            what: "role",
            value: role.clone(),
        })?;
        Ok(Ok(TokenHolder {
            id,
            name,
            role,
            user: None,
        }))
    }

    /// Every API token, without secrets, by name.
    pub fn api_tokens(&self) -> Result<Vec<ApiTokenInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT t.id, t.name, t.role, u.username, t.created_at_ns, t.expires_at_ms,
                    t.revoked_at_ms, t.last_used_at_ms
             FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.name",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(id, name, role, user, created_ns, expires, revoked, used)| {
                    Ok(ApiTokenInfo {
                        id,
                        name,
                        role: role.parse().map_err(|_| StoreError::Invalid {
                            what: "role",
                            value: role.clone(),
                        })?,
                        user,
                        created_at_ms: created_ns / 1_000_000,
                        expires_at_ms: expires,
                        revoked_at_ms: revoked,
                        last_used_at_ms: used,
                    })
                },
            )
            .collect()
    }
}

fn outside_window(user: &User) -> LoginRefused {
    LoginRefused::OutsideWindow {
        from: user.access_from_ms.map_or("-".into(), rfc3339),
        until: user.access_until_ms.map_or("-".into(), rfc3339),
    }
}

/// An argon2id hash of a random password, checked when the user does not exist.
fn dummy_phc() -> &'static str {
    static PHC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PHC.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no such user", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// The migration adding users, sessions and token roles. Tokens created before roles
/// existed could do everything; they keep the admin role so nothing breaks on upgrade.
pub(crate) const MIGRATION: &str = "
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        auth TEXT NOT NULL,
        password_hash TEXT,
        totp_secret TEXT,
        access_from_ms INTEGER,
        access_until_ms INTEGER,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until_ms INTEGER,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        last_login_ms INTEGER
    );
    CREATE TABLE sessions (
        token_sha256 BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        csrf TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
    ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id);
    ALTER TABLE api_tokens ADD COLUMN expires_at_ms INTEGER;
    ALTER TABLE api_tokens ADD COLUMN revoked_at_ms INTEGER;
    ALTER TABLE api_tokens ADD COLUMN last_used_at_ms INTEGER;
";

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, StateDb) {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("state.db")).unwrap();
        (dir, db)
    }

    const T0: i64 = 1_790_000_000_000;

    fn alice(db: &StateDb) -> User {
        db.create_user(
            &NewUser {
                username: "alice",
                role: Role::Analyst,
                password: Some("correct horse battery"),
                window: None,
            },
            T0,
        )
        .unwrap()
    }

    #[test]
    fn passwords_are_argon2id_and_short_ones_are_refused() {
        let (_d, db) = db();
        alice(&db);
        let phc: String = db
            .conn()
            .query_row("SELECT password_hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        let err = db
            .create_user(
                &NewUser {
                    username: "bob",
                    role: Role::Admin,
                    password: Some("short"),
                    window: None,
                },
                T0,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "password too short: use at least 12 characters"
        );
    }

    #[test]
    fn five_failures_lock_the_account_for_fifteen_minutes() {
        let (_d, db) = db();
        alice(&db);
        for i in 0..4 {
            assert_eq!(
                db.check_login("alice", "wrong", None, T0 + i).unwrap(),
                Err(LoginRefused::BadCredentials)
            );
        }
        let locked = db.check_login("alice", "wrong", None, T0 + 4).unwrap();
        assert_eq!(
            locked.unwrap_err().to_string(),
            format!(
                "account locked after 5 failed logins; try again after {}",
                rfc3339(T0 + 4 + LOCKOUT_MS)
            )
        );
        // The right password does not help while locked…
        assert!(matches!(
            db.check_login("alice", "correct horse battery", None, T0 + 60_000)
                .unwrap(),
            Err(LoginRefused::Locked { .. })
        ));
        // …and works once the lock has passed.
        let ok = db
            .check_login("alice", "correct horse battery", None, T0 + 5 + LOCKOUT_MS)
            .unwrap()
            .unwrap();
        assert_eq!(ok.last_login_ms, Some(T0 + 5 + LOCKOUT_MS));
    }

    #[test]
    fn totp_is_required_once_enrolled() {
        let (_d, db) = db();
        alice(&db);
        let (url, b32) = db.enroll_totp("alice").unwrap();
        assert!(
            url.starts_with("otpauth://totp/Evident:alice?secret="),
            "{url}"
        );
        let secret = totp_rs::Secret::Encoded(b32).to_bytes().unwrap();
        let code = totp(&secret, "alice").unwrap().generate((T0 / 1000) as u64);
        assert_eq!(
            db.check_login("alice", "correct horse battery", None, T0)
                .unwrap(),
            Err(LoginRefused::BadSecondFactor)
        );
        assert!(
            db.check_login("alice", "correct horse battery", Some(&code), T0)
                .unwrap()
                .is_ok()
        );
    }

    #[test]
    fn auditors_log_in_only_inside_their_window() {
        let (_d, db) = db();
        let day = 86_400_000;
        db.create_user(
            &NewUser {
                username: "audrey",
                role: Role::Auditor,
                password: Some("auditor password 1"),
                window: Some((T0, T0 + day)),
            },
            T0,
        )
        .unwrap();
        assert!(
            db.check_login("audrey", "auditor password 1", None, T0 + 1)
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            db.check_login("audrey", "auditor password 1", None, T0 + 2 * day)
                .unwrap()
                .unwrap_err()
                .to_string(),
            format!(
                "this account may only be used between {} and {}",
                rfc3339(T0),
                rfc3339(T0 + day)
            )
        );
    }

    #[test]
    fn sessions_are_new_on_every_login_and_end_on_logout() {
        let (_d, db) = db();
        let u = alice(&db);
        let (a, csrf_a) = db.create_session(u.id, T0).unwrap();
        let (b, _) = db.create_session(u.id, T0).unwrap();
        assert_ne!(a, b);
        let s = db.session(&a, T0 + 1).unwrap().unwrap();
        assert_eq!((s.user.username.as_str(), s.csrf), ("alice", csrf_a));
        assert!(db.session(&a, T0 + SESSION_MS + 1).unwrap().is_none());
        assert!(db.delete_session(&b).unwrap());
        assert!(db.session(&b, T0 + 1).unwrap().is_none());
        db.set_user_disabled("alice", true).unwrap();
        assert!(db.session(&a, T0 + 1).unwrap().is_none());
    }

    #[test]
    fn tokens_expire_and_revoke_with_exact_reasons() {
        let (_d, db) = db();
        let t = db
            .create_api_token("ci", Role::Analyst, Some(T0 + 1000))
            .unwrap();
        let h = db.authenticate_api(&t, T0).unwrap().unwrap();
        assert_eq!((h.name.as_str(), h.role), ("ci", Role::Analyst));
        assert_eq!(
            db.authenticate_api(&t, T0 + 2000)
                .unwrap()
                .unwrap_err()
                .to_string(),
            format!("the API token \"ci\" expired at {}", rfc3339(T0 + 1000))
        );
        db.revoke_api_token("ci", T0 + 500).unwrap();
        assert_eq!(
            db.authenticate_api(&t, T0)
                .unwrap()
                .unwrap_err()
                .to_string(),
            format!("the API token \"ci\" was revoked at {}", rfc3339(T0 + 500))
        );
        assert_eq!(
            db.authenticate_api("evd_nope", T0).unwrap(),
            Err(TokenRefused::Unknown)
        );
        let listed = db.api_tokens().unwrap();
        assert_eq!(listed[0].last_used_at_ms, Some(T0));
        assert_eq!(listed[0].revoked_at_ms, Some(T0 + 500));
    }

    #[test]
    fn single_sign_on_creates_and_updates_sso_users_but_never_takes_over_a_password_account() {
        let (_d, db) = db();
        alice(&db);
        assert_eq!(
            db.sso_login("alice", Role::Admin, T0).unwrap(),
            Err(LoginRefused::LocalAccount {
                username: "alice".into()
            })
        );
        let u = db
            .sso_login("bob@example.com", Role::Analyst, T0)
            .unwrap()
            .unwrap();
        assert_eq!(
            (u.auth, u.role, u.mfa),
            (AuthMethod::Oidc, Role::Analyst, true)
        );
        let u = db
            .sso_login("bob@example.com", Role::Admin, T0 + 1)
            .unwrap()
            .unwrap();
        assert_eq!((u.role, u.last_login_ms), (Role::Admin, Some(T0 + 1)));
        // An SSO account has no password to guess.
        assert_eq!(
            db.check_login("bob@example.com", "anything at all", None, T0)
                .unwrap(),
            Err(LoginRefused::BadCredentials)
        );
    }

    #[test]
    fn rfc3339_formats_civil_time() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_790_000_000_000), "2026-09-21T14:13:20Z");
    }
}
