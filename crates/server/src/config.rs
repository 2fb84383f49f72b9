//! The data directory and its config file (`evident.toml`), shared by every command.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why the data directory or config cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// File-system failure.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// The config file does not parse.
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message (names line and column).
        message: String,
    },
    /// `init` where a config already exists.
    #[error("{0} is already initialized (it has an evident.toml); use another --data directory")]
    AlreadyInitialized(PathBuf),
    /// A command needing an initialized directory found none.
    #[error(
        "{0} is not an Evident data directory (no evident.toml); run `evident init --data {0}` first"
    )]
    NotInitialized(PathBuf),
    /// A config value that is out of range.
    #[error("config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// `evident.toml`. Unknown keys are rejected so typos do not silently fall back to defaults.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Log origin: first line of every checkpoint and the signing key's name.
    pub origin: String,
    /// HTTP server settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// Ingest limits and queueing.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Source health thresholds.
    #[serde(default)]
    pub health: HealthConfig,
    /// Overrides of the source → TSC criteria mapping.
    #[serde(default)]
    pub controls: ControlsConfig,
    /// Field mappings for sources of the generic `json` format, by source name.
    #[serde(default)]
    pub json_mappings: BTreeMap<String, evident_sources::JsonMapping>,
    /// Case response-time targets.
    #[serde(default)]
    pub cases: crate::cases::CasesConfig,
    /// Log review schedules.
    #[serde(default)]
    pub reviews: Vec<crate::reviews::ReviewSchedule>,
    /// The incident-response plan's contacts.
    #[serde(default)]
    pub ir_plan: crate::ir_plan::IrPlanConfig,
    /// Pull connectors (`[[connectors]]`, one table each): Okta, GitHub, S3/SQS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connectors: Vec<crate::connectors::ConnectorConfig>,
    /// Syslog listeners (`[[syslog]]`, one table each): UDP, TCP or TLS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub syslog: Vec<crate::receivers::syslog::SyslogListenerConfig>,
    /// Ticket integrations (`[[integrations]]`, one table each): Jira, ServiceNow,
    /// PagerDuty, Slack, signed webhooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<crate::integrations::IntegrationConfig>,
    /// Business hours: outside them events get `evident.time.after_hours`.
    #[serde(default)]
    pub business_hours: evident_detect::BusinessHours,
    /// Sensitive data stores (`[[assets]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<evident_detect::Asset>,
    /// Names of privileged groups, roles and policies.
    #[serde(default)]
    pub privileged_groups: evident_detect::PrivilegedGroups,
    /// How change tickets cover privilege grants (grace period).
    #[serde(default)]
    pub change_tickets: evident_detect::ChangeTicketsConfig,
    /// Rule directories and alert noise control.
    #[serde(default)]
    pub detection: evident_detect::DetectionConfig,
    /// Retention policies and the cold-storage archive (`[retention]`).
    #[serde(default)]
    pub retention: crate::retention::RetentionConfig,
    /// Sign-in: single sign-on through an OpenID Connect provider (`[auth.oidc]`).
    #[serde(default, skip_serializing_if = "AuthConfig::is_empty")]
    pub auth: AuthConfig,
}

/// `[auth]`: how people sign in besides local passwords.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Single sign-on through the company's OpenID Connect provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
}

impl AuthConfig {
    fn is_empty(&self) -> bool {
        self.oidc.is_none()
    }
}

/// `[auth.oidc]`: an OpenID Connect provider (Okta, Entra ID, Google, Keycloak) signing
/// people in with the authorization code flow + PKCE; its groups claim picks the role.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; discovery reads `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The client id Evident is registered under at the provider.
    pub client_id: String,
    /// The client secret (sent to the token endpoint only).
    pub client_secret: String,
    /// Where the provider sends the browser back: `https://HOST/auth/oidc/callback`, as
    /// registered at the provider.
    pub redirect_url: String,
    /// Scopes requested (`openid` is always sent).
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
    /// The ID token claim listing the user's groups.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// The ID token claim used as the Evident user name.
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// How Evident authenticates at the token endpoint.
    #[serde(default)]
    pub token_auth: OidcTokenAuth,
    /// Group → role (`"evident-admins" = "admin"`); with several groups the highest role
    /// wins (admin, analyst, reviewer, auditor); no mapped group, no sign-in.
    #[serde(default)]
    pub roles: BTreeMap<String, evident_model::Role>,
}

/// The client authentication methods of OpenID Connect Core §9 that use the secret.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OidcTokenAuth {
    /// HTTP Basic with the client id and secret.
    #[default]
    ClientSecretBasic,
    /// The client id and secret in the form body.
    ClientSecretPost,
}

fn default_oidc_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(str::to_owned).to_vec()
}

fn default_groups_claim() -> String {
    "groups".into()
}

fn default_username_claim() -> String {
    "email".into()
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("groups_claim", &self.groups_claim)
            .field("username_claim", &self.username_claim)
            .field("token_auth", &self.token_auth)
            .field("roles", &self.roles)
            .finish()
    }
}

impl OidcConfig {
    /// Checks what parsing cannot: URLs, the secret, at least one group mapped. Plain
    /// `http` is accepted only for a provider on this machine (tests, a local Keycloak).
    pub fn validate(&self) -> Result<(), String> {
        let url = |field: &str, value: &str| {
            let u = reqwest::Url::parse(value)
                .map_err(|e| format!("auth.oidc.{field}: {value:?} is not a URL: {e}"))?;
            let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            match u.scheme() {
                "https" => Ok(u),
                "http" if loopback => Ok(u),
                _ => Err(format!(
                    "auth.oidc.{field}: {value:?} must be an https:// URL (http only for localhost)"
                )),
            }
        };
        url("issuer", &self.issuer)?;
        let redirect = url("redirect_url", &self.redirect_url)?;
        if !redirect.path().ends_with("/auth/oidc/callback") {
            return Err(format!(
                "auth.oidc.redirect_url: {:?} must end in /auth/oidc/callback, where Evident receives the provider's answer",
                self.redirect_url
            ));
        }
        for (field, value) in [
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
            ("groups_claim", &self.groups_claim),
            ("username_claim", &self.username_claim),
        ] {
            if value.trim().is_empty() {
                return Err(format!("auth.oidc.{field}: must not be empty"));
            }
        }
        if self.roles.is_empty() {
            return Err(
                "auth.oidc.roles: map at least one group to a role, e.g. \"evident-admins\" = \"admin\""
                    .into(),
            );
        }
        Ok(())
    }
}

/// `[health]`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// A source whose median clock skew (receive time − event time) exceeds this many
    /// seconds, either way, is flagged as skewed.
    pub skew_threshold_secs: f64,
    /// The server re-verifies the whole ledger when the last verification run is this
    /// many seconds old (daily by default; 0 turns the schedule off). See `integrity.rs`.
    pub verify_every_secs: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            skew_threshold_secs: 300.0,
            verify_every_secs: 86_400,
        }
    }
}

/// `[controls]`: which TSC criteria each source's logs evidence.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ControlsConfig {
    /// Category name (`cloud`, `identity`, …) → criteria, replacing that category's default.
    pub categories: BTreeMap<String, Vec<String>>,
    /// Source name → criteria, replacing what the source's category gives it.
    pub sources: BTreeMap<String, Vec<String>>,
}

/// `[server]`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP server binds (overridden by `serve --listen`).
    pub listen: SocketAddr,
    /// Serve HTTPS from these PEM files (rustls); session cookies are then `Secure` and
    /// responses carry HSTS.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Seconds a client has to send a complete request head (and, between requests on a
    /// kept-alive connection, to start the next one) before the connection is closed: a
    /// slowloris client holds a connection for this long at most.
    #[serde(default = "default_header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body, from the end of its head; a
    /// stalled upload is then answered 408 and its connection closed.
    #[serde(default = "default_request_body_timeout_secs")]
    pub request_body_timeout_secs: u64,
    /// HTTP connections open at once (after the TLS handshake for HTTPS), and connections
    /// per syslog TCP/TLS listener; a connection beyond this is closed at once and
    /// counted, so the open ones keep their share.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

fn default_header_read_timeout_secs() -> u64 {
    10
}

fn default_request_body_timeout_secs() -> u64 {
    60
}

fn default_max_connections() -> usize {
    10_000
}

/// A PEM certificate chain and private key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain, server certificate first.
    pub cert: std::path::PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: None,
            header_read_timeout_secs: default_header_read_timeout_secs(),
            request_body_timeout_secs: default_request_body_timeout_secs(),
            max_connections: default_max_connections(),
        }
    }
}

/// `[ingest]`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest request body accepted (compressed size on the wire).
    pub max_body_bytes: usize,
    /// Largest single record.
    pub max_record_bytes: usize,
    /// Records admitted but not yet durable; above this the server answers 503.
    pub queue_records: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_body_bytes: 10 << 20,
            max_record_bytes: 1 << 20,
            queue_records: 500_000,
        }
    }
}

impl Config {
    /// A config with defaults for `origin`.
    pub fn new(origin: &str) -> Config {
        Config {
            origin: origin.to_owned(),
            server: ServerConfig::default(),
            ingest: IngestConfig::default(),
            health: HealthConfig::default(),
            controls: ControlsConfig::default(),
            json_mappings: BTreeMap::new(),
            cases: crate::cases::CasesConfig::default(),
            reviews: vec![crate::reviews::ReviewSchedule::weekly(
                &chrono::Utc::now().format("%Y-%m-%d").to_string(),
            )],
            ir_plan: crate::ir_plan::IrPlanConfig::default(),
            connectors: Vec::new(),
            syslog: Vec::new(),
            integrations: Vec::new(),
            business_hours: Default::default(),
            assets: Vec::new(),
            privileged_groups: Default::default(),
            change_tickets: Default::default(),
            detection: Default::default(),
            retention: Default::default(),
            auth: AuthConfig::default(),
        }
    }

    /// The detection settings as the detector takes them.
    pub fn detect_config(&self) -> evident_detect::DetectConfig {
        evident_detect::DetectConfig {
            business_hours: self.business_hours.clone(),
            assets: self.assets.clone(),
            privileged_groups: self.privileged_groups.clone(),
            change_tickets: self.change_tickets.clone(),
            detection: self.detection.clone(),
        }
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = fs::read_to_string(path).map_err(|source| ConfigError::Io {
            op: "read",
            path: path.to_owned(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if config.ingest.max_record_bytes == 0
            || config.ingest.max_record_bytes > evident_ledger::MAX_ENTRY_BYTES / 2
        {
            return Err(invalid(format!(
                "ingest.max_record_bytes must be between 1 and {}",
                evident_ledger::MAX_ENTRY_BYTES / 2
            )));
        }
        config.cases.slas().map_err(invalid)?;
        let mut names = std::collections::BTreeSet::new();
        for r in &config.reviews {
            r.validate().map_err(invalid)?;
            if !names.insert(&r.name) {
                return Err(invalid(format!(
                    "reviews: two schedules are named {:?}",
                    r.name
                )));
            }
        }
        crate::connectors::validate(&config.connectors).map_err(invalid)?;
        crate::receivers::syslog::validate(&config.syslog).map_err(invalid)?;
        crate::integrations::validate(&config.integrations).map_err(invalid)?;
        crate::retention::validate(&config.retention).map_err(invalid)?;
        if let Some(oidc) = &config.auth.oidc {
            oidc.validate().map_err(invalid)?;
        }
        evident_detect::Enricher::new(&config.detect_config())
            .map_err(|e| invalid(e.to_string()))?;
        evident_detect::parse_duration_ms("detection.suppress", &config.detection.suppress)
            .map_err(|e| invalid(e.to_string()))?;
        if config.ingest.queue_records == 0 {
            return Err(invalid("ingest.queue_records must be at least 1".into()));
        }
        for (key, value) in [
            (
                "server.header_read_timeout_secs",
                config.server.header_read_timeout_secs,
            ),
            (
                "server.request_body_timeout_secs",
                config.server.request_body_timeout_secs,
            ),
            (
                "server.max_connections",
                config.server.max_connections as u64,
            ),
        ] {
            if value == 0 {
                return Err(invalid(format!("{key} must be at least 1")));
            }
        }
        for (name, ids) in config
            .controls
            .categories
            .iter()
            .chain(&config.controls.sources)
        {
            for id in ids {
                if evident_model::criterion(id).is_none() {
                    return Err(invalid(format!(
                        "controls: {name} maps to {id:?}, which is not a TSC criterion id (e.g. CC6.1)"
                    )));
                }
            }
        }
        for name in config.controls.categories.keys() {
            if !evident_model::SourceCategory::ALL
                .iter()
                .any(|c| c.as_str() == name)
            {
                return Err(invalid(format!(
                    "controls.categories: unknown category {name:?} (cloud, identity, network, os, application, database, vulnerability)"
                )));
            }
        }
        Ok(config)
    }
}

/// The layout of a data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
    /// `--config FILE`, when the config does not live in the data directory.
    config: Option<PathBuf>,
}

impl DataDir {
    /// Wraps a path; nothing is checked until something is opened.
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir {
            root: root.into(),
            config: None,
        }
    }

    /// Reads (and `init` writes) the config at `path` instead of `DIR/evident.toml`.
    pub fn with_config(mut self, path: impl Into<PathBuf>) -> DataDir {
        self.config = Some(path.into());
        self
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The config file: `--config FILE`, or `DIR/evident.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| self.root.join("evident.toml"))
    }

    /// The log's signing key (mode 0600).
    pub fn key_path(&self) -> PathBuf {
        self.root.join("keys").join("log.key")
    }

    /// The ledger directory (also the tlog-tiles prefix: `checkpoint`, `tile/…`).
    pub fn ledger_path(&self) -> PathBuf {
        self.root.join("ledger")
    }

    /// The state database.
    pub fn state_db_path(&self) -> PathBuf {
        self.root.join("state.db")
    }

    /// Writes the config and a fresh signing key. Refuses an initialized directory.
    pub fn init(&self, origin: &str) -> Result<evident_ledger::NoteSigner, crate::Error> {
        if self.config_path().exists() {
            return Err(ConfigError::AlreadyInitialized(self.root.clone()).into());
        }
        let io = |op, path: &Path| {
            let path = path.to_owned();
            move |source| ConfigError::Io { op, path, source }
        };
        let keys = self.root.join("keys");
        fs::create_dir_all(&keys).map_err(io("create", &keys))?;
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o700))
            .map_err(io("chmod", &keys))?;
        let signer = evident_ledger::NoteSigner::generate(origin)?;
        let key_path = self.key_path();
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(io("create", &key_path))?;
        io::Write::write_all(&mut f, format!("{}\n", signer.to_key_string()).as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io("write", &key_path))?;
        let config = Config::new(origin);
        let text = toml::to_string_pretty(&config).map_err(|e| ConfigError::Parse {
            path: self.config_path(),
            message: e.to_string(),
        })?;
        let header = "# Evident configuration. See README.md for every setting.\n";
        let cfg_path = self.config_path();
        fs::write(&cfg_path, format!("{header}{text}")).map_err(io("write", &cfg_path))?;
        Ok(signer)
    }

    /// Loads the config, failing clearly when the directory was never initialized.
    pub fn config(&self) -> Result<Config, ConfigError> {
        if !self.config_path().exists() {
            return Err(ConfigError::NotInitialized(self.root.clone()));
        }
        Config::load(&self.config_path())
    }

    /// Loads the signing key.
    pub fn signer(&self) -> Result<evident_ledger::NoteSigner, crate::Error> {
        let path = self.key_path();
        let text = fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            op: "read",
            path: path.clone(),
            source,
        })?;
        Ok(evident_ledger::NoteSigner::parse(&text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_a_private_key_and_a_loadable_config() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path().join("d"));
        let signer = data.init("evident.test/x").unwrap();
        let mode = fs::metadata(data.key_path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(data.config().unwrap(), Config::new("evident.test/x"));
        assert_eq!(data.signer().unwrap().verifier(), signer.verifier());
        let again = data.init("evident.test/x").unwrap_err().to_string();
        assert!(again.ends_with(
            "is already initialized (it has an evident.toml); use another --data directory"
        ));
    }

    #[test]
    fn config_errors_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("evident.toml");
        fs::write(&p, "origin = \"o\"\n[ingest]\nmax_recod_bytes = 5\n").unwrap();
        let err = Config::load(&p).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "config {}: TOML parse error at line 3",
                p.display()
            )),
            "{err}"
        );
        assert!(err.contains("unknown field `max_recod_bytes`"), "{err}");
        let data = DataDir::new(dir.path().join("none"));
        assert!(
            data.config()
                .unwrap_err()
                .to_string()
                .contains("run `evident init --data")
        );
    }
}
