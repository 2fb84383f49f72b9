//! Evident's server side: [`Evident`] opens a data directory (config, signing key, ledger,
//! state DB); [`ingest`] is the one path every record takes into the ledger (CLI import,
//! HTTP, demo); [`app`] is the axum router (authenticated ingest, the public C2SP
//! tlog-tiles API, health) and [`serve`] runs it with a once-a-second checkpointer and a
//! graceful shutdown that signs a final checkpoint.
//!
//! ```no_run
//! # async fn run() -> Result<(), evident_server::Error> {
//! let node = evident_server::Evident::open(&evident_server::DataDir::new("evident-data"))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.map_err(evident_server::Error::Bind)?;
//! evident_server::serve(std::sync::Arc::new(node), listener, std::future::pending()).await
//! # }
//! ```

mod api;
pub mod audit;
pub mod auth;
pub mod cases;
mod cases_api;
mod change_tickets;
mod config;
pub mod connectors;
pub mod evidence;
mod http_listen;
pub mod indexer;
mod ingest;
pub mod integrations;
pub mod integrity;
pub mod ir_plan;
mod log_api;
mod metrics;
mod pipeline;
pub mod receivers;
mod report;
pub mod retention;
pub mod reviews;
mod reviews_api;
pub mod search_api;
pub mod system_events;
pub mod tls;
mod ui;

use std::sync::Arc;

pub use api::{Counters, Intake, app, app_with_intake};
pub use config::{
    AuthConfig, Config, ConfigError, ControlsConfig, DataDir, HealthConfig, IngestConfig,
    OidcConfig, OidcTokenAuth, ServerConfig, TlsFiles,
};
pub use ingest::{IngestOutcome, build_entries, ingest};
pub use pipeline::{PIPELINE_BATCH, Pipeline, detector_for};
pub use report::{
    ControlRow, ControlSource, SourceReport, controls_matrix, criteria_for, source_report,
};

use evident_ledger::{Ledger, LedgerOptions};
use evident_store::StateDb;

/// Errors at the server's edge; the CLI adds context and prints them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Data directory or config problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Ledger problem.
    #[error(transparent)]
    Ledger(#[from] evident_ledger::LedgerError),
    /// Key problem.
    #[error("signing key: {0}")]
    Key(#[from] evident_ledger::NoteError),
    /// State database problem.
    #[error(transparent)]
    Store(#[from] evident_store::StoreError),
    /// The listen address is taken or not allowed.
    #[error("cannot listen: {0}")]
    Bind(std::io::Error),
    /// The detection rules or their settings cannot be used.
    #[error(transparent)]
    Detect(#[from] evident_detect::DetectError),
    /// The operating system had no randomness for a secret.
    #[error("no randomness available: {0}")]
    Random(String),
    /// A syslog listener could not start (bad settings, missing source, address taken).
    #[error(transparent)]
    Syslog(#[from] receivers::syslog::SyslogError),
    /// The search index cannot be opened or written.
    #[error(transparent)]
    Search(#[from] evident_search::SearchError),
    /// The HTTPS certificate or key (`[server.tls]`) cannot be used (no `source`: the
    /// message already carries the file and the reason).
    #[error("server.tls: {0}")]
    Tls(tls::TlsError),
    /// The evidence package could not be built.
    #[error(transparent)]
    Evidence(#[from] evident_evidence::EvidenceError),
}

/// An opened data directory: what every command and the server work with.
pub struct Evident {
    /// Where it lives.
    pub data: DataDir,
    /// Its configuration.
    pub config: Config,
    /// The ledger.
    pub ledger: Arc<Ledger>,
    /// The state database.
    pub db: Arc<StateDb>,
    /// What receivers accepted and refused since start, shared by all of them.
    pub counters: Arc<Counters>,
    /// Per-receiver counters (`GET /metrics`).
    pub receivers: Arc<receivers::Receivers>,
    /// The intake queue every receiver shares (sized by `ingest.queue_records`).
    pub intake: Intake,
}

impl Evident {
    /// Opens an initialized data directory (recovering the ledger after a crash).
    pub fn open(data: &DataDir) -> Result<Evident, Error> {
        Evident::open_with(data, Some(LedgerOptions::default()))
    }

    /// Opens with ledger tuning (small segments make retention testable).
    pub fn open_with_ledger_options(
        data: &DataDir,
        options: LedgerOptions,
    ) -> Result<Evident, Error> {
        Evident::open_with(data, Some(options))
    }

    /// Opens for reading only, alongside a running server: the ledger as of its latest
    /// checkpoint (see [`Ledger::open_read_only`]).
    pub fn open_read_only(data: &DataDir) -> Result<Evident, Error> {
        Evident::open_with(data, None)
    }

    /// `options: None` opens read-only.
    fn open_with(data: &DataDir, options: Option<LedgerOptions>) -> Result<Evident, Error> {
        let config = data.config()?;
        let signer = data.signer()?;
        if signer.name() != config.origin {
            return Err(ConfigError::Invalid {
                path: data.config_path(),
                message: format!(
                    "origin {:?} does not match the signing key's name {:?}",
                    config.origin,
                    signer.name()
                ),
            }
            .into());
        }
        let ledger = match options {
            None => Ledger::open_read_only(&data.ledger_path(), signer)?,
            Some(o) => Ledger::open(&data.ledger_path(), signer, o)?,
        };
        let db = StateDb::open(&data.state_db_path())?;
        Ok(Evident {
            data: data.clone(),
            ledger: Arc::new(ledger),
            db: Arc::new(db),
            counters: Arc::new(Counters::default()),
            receivers: Arc::new(receivers::Receivers::default()),
            intake: Intake::new(config.ingest.queue_records),
            config,
        })
    }
}

/// Serves [`app`] on `listener` until `shutdown` completes, signing a checkpoint every
/// second while the tree grows and once more on the way out.
pub async fn serve(
    node: Arc<Evident>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // A bad certificate stops the start, before anything else runs.
    let https = match &node.config.server.tls {
        Some(files) => Some(tls::https_config(&files.cert, &files.key).map_err(Error::Tls)?),
        None => None,
    };
    let syslog = receivers::syslog::start(&node, &node.config.syslog).await?;
    let plan_node = node.clone();
    match tokio::task::spawn_blocking(move || ir_plan::record_if_changed(&plan_node)).await {
        Ok(Ok(Some(v))) => tracing::info!(version = v, "incident-response plan changed; sealed"),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "recording the incident-response plan failed"),
        Err(e) => tracing::error!(error = %e, "incident-response plan task failed"),
    }
    let config_node = node.clone();
    match tokio::task::spawn_blocking(move || auth::config_audit::record_if_changed(&config_node))
        .await
    {
        Ok(Ok(Some(files))) => tracing::info!(?files, "configuration or rules changed; audited"),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "recording the configuration change failed"),
        Err(e) => tracing::error!(error = %e, "configuration audit task failed"),
    }
    let housekeeping_node = node.clone();
    let checkpointer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let watch =
            std::sync::Arc::new(std::sync::Mutex::new(system_events::HealthWatch::default()));
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            ticks += 1;
            let n = housekeeping_node.clone();
            // Source health is checked once a minute (and at start).
            let health = (ticks % 60 == 1).then(|| watch.clone());
            let clock_due = ticks > 1;
            // Due reviews, then the audit trail (case changes made by the CLI while the
            // server holds the ledger wait for this), then the checkpoint covering them.
            let sealed = tokio::task::spawn_blocking(move || {
                let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
                if let Some(w) = health {
                    let mut w = w.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Err(e) = w.check(&n, now_ms) {
                        tracing::error!(error = %e, "source health check failed");
                    }
                    // The clock status once a minute, from the first full minute on.
                    if clock_due && let Err(e) = system_events::record_clock_status(&n, now_ms) {
                        tracing::error!(error = %e, "recording the clock status failed");
                    }
                }
                if let Err(e) = reviews::tick(&n, now_ms) {
                    tracing::error!(error = %e, "review scheduler failed");
                }
                if let Err(e) = audit::seal_audit_trail(&n.ledger, &n.db) {
                    tracing::error!(error = %e, "sealing the audit trail failed");
                }
                n.ledger.checkpoint()
            });
            match sealed.await {
                Ok(Err(e)) => tracing::error!(error = %e, "checkpoint failed"),
                Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
                Ok(Ok(_)) => {}
            }
        }
    });
    let verify_node = node.clone();
    let verifier = tokio::spawn(async move {
        // Checked once a minute; the first check runs at start.
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let n = verify_node.clone();
            let ran = tokio::task::spawn_blocking(move || {
                let every = n.config.health.verify_every_secs;
                let last = integrity::runs(&n)?.into_iter().next();
                let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
                if !integrity::scheduled_run_due(last.as_ref(), every, now_ms) {
                    return Ok(None);
                }
                integrity::verify_now(&n, integrity::SCHEDULER).map(Some)
            })
            .await;
            match ran {
                Ok(Ok(Some(run))) if run.is_clean() => {
                    tracing::info!(
                        entries = run.entries,
                        millis = run.millis,
                        "ledger verified"
                    )
                }
                Ok(Ok(Some(run))) => {
                    tracing::error!(damage = ?run.damage, "ledger verification found damage")
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "scheduled ledger verification failed"),
                Err(e) => tracing::error!(error = %e, "ledger verification task failed"),
            }
        }
    });
    let pipeline_node = node.clone();
    let detector = detector_for(&node.config, &node.db)?;
    let pipeline = tokio::spawn(async move {
        let mut pipeline =
            Pipeline::new(pipeline_node.config.json_mappings.clone()).with_detector(detector);
        loop {
            let n = pipeline_node.clone();
            let step = tokio::task::spawn_blocking(move || {
                let processed = pipeline.run_once(&n.ledger, &n.db, PIPELINE_BATCH);
                // Every alert gets a case, as soon as detection stored it.
                if let Err(e) = cases::open_cases_for_alerts(&n.ledger, &n.db) {
                    tracing::error!(error = %e, "opening cases for alerts failed");
                }
                (pipeline, processed)
            })
            .await;
            let processed = match step {
                Ok((p, result)) => {
                    pipeline = p;
                    result.unwrap_or_else(|e| {
                        tracing::error!(error = %e, "pipeline step failed");
                        0
                    })
                }
                Err(e) => {
                    // Start over with fresh parsers; the watermark did not move.
                    tracing::error!(error = %e, "pipeline task failed; restarting it");
                    pipeline = Pipeline::new(pipeline_node.config.json_mappings.clone());
                    match detector_for(&pipeline_node.config, &pipeline_node.db) {
                        Ok(d) => pipeline = pipeline.with_detector(d),
                        Err(e) => tracing::error!(error = %e, "detection stays off"),
                    }
                    0
                }
            };
            if processed == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
    });
    // Search follows the pipeline on its own task: an alert never waits for indexing.
    let indexer_task = indexer::spawn(node.clone());
    let retention_task = retention::spawn(node.clone());
    let (stop_connectors, stop) = tokio::sync::watch::channel(false);
    let connectors = connectors::start(&node, &stop);
    let outbox = integrations::start(&node, &stop);
    // Timeouts and the connection cap (`[server]`) apply to HTTP and HTTPS alike.
    let limits = http_listen::Limits::from_config(&node.config.server);
    let router = app(node.clone());
    let counters = node.counters.clone();
    match https {
        None => http_listen::serve(listener, router, limits, counters, shutdown).await,
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config, counters.clone());
            http_listen::serve(listener, router, limits, counters, shutdown).await;
        }
    }
    syslog.shutdown().await;
    // Stop the connectors before the last checkpoint. A step cut short is like a crash there,
    // which they recover from (docs/receivers/connectors.md); an append already begun completes.
    let _ = stop_connectors.send(true);
    for c in connectors {
        if tokio::time::timeout(std::time::Duration::from_secs(10), c)
            .await
            .is_err()
        {
            tracing::warn!("a connector did not stop within 10 s");
        }
    }
    if let Some(o) = outbox
        && tokio::time::timeout(std::time::Duration::from_secs(10), o)
            .await
            .is_err()
    {
        tracing::warn!("the integration outbox did not stop within 10 s");
    }
    checkpointer.abort();
    verifier.abort();
    retention_task.abort();
    pipeline.abort();
    indexer_task.abort();
    let l = node.ledger.clone();
    match tokio::task::spawn_blocking(move || l.checkpoint()).await {
        Ok(Ok(cp)) => tracing::info!(size = cp.checkpoint.size, "final checkpoint signed"),
        Ok(Err(e)) => tracing::error!(error = %e, "final checkpoint failed"),
        Err(e) => tracing::error!(error = %e, "final checkpoint task failed"),
    }
    Ok(())
}
