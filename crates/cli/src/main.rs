//! `evident`: the one binary. Each subcommand is a thin layer over the library crates;
//! errors print as one line (`error: what: where: why`) with exit code 2, and checks that
//! find a problem (verify) exit 1.

mod access;
mod bench;
mod bench_all;
mod bench_detect;
mod bench_evidence;
mod bench_otlp;
mod bench_search;
mod bench_soak;
mod bench_verify;
mod case;
mod demo;
mod demo_live;
mod demo_response;
mod evidence;
mod health;
mod hunt;
mod import;
mod log;
mod outbox;
mod parse;
mod retention;
mod review;
mod rules;
mod search;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use evident_server::{DataDir, Evident};

/// Normalizing events allocates many small strings and maps; mimalloc measured markedly
/// faster than glibc malloc for that (BENCHMARKS.md, `evident bench parse`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Evident: tamper-evident log collection and SOC 2 evidence.
#[derive(Parser)]
#[command(name = "evident", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Clone)]
struct Global {
    /// Data directory (config, key, ledger, state).
    #[arg(long, global = true, env = "EVIDENT_DATA")]
    data: Option<PathBuf>,
    /// Config file (default DIR/evident.toml).
    #[arg(long, global = true, env = "EVIDENT_CONFIG")]
    config: Option<PathBuf>,
}

impl Global {
    fn data_dir(&self) -> DataDir {
        let data = DataDir::new(
            self.data
                .clone()
                .unwrap_or_else(|| PathBuf::from("evident-data")),
        );
        match &self.config {
            Some(c) => data.with_config(c),
            None => data,
        }
    }

    fn open(&self) -> anyhow::Result<Evident> {
        let data = self.data_dir();
        Evident::open(&data).with_context(|| format!("opening {}", data.root().display()))
    }

    /// Opens for commands that only read: when a server holds the ledger, falls back to a
    /// read-only view as of the latest checkpoint.
    fn open_for_reading(&self) -> anyhow::Result<Evident> {
        let data = self.data_dir();
        match Evident::open(&data) {
            Err(evident_server::Error::Ledger(evident_ledger::LedgerError::Locked { .. })) => {
                Evident::open_read_only(&data)
                    .with_context(|| format!("opening {} read-only", data.root().display()))
            }
            other => other.with_context(|| format!("opening {}", data.root().display())),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: config, signing key (mode 0600), empty ledger.
    Init {
        /// Log origin (checkpoint first line); default evident.local/<hostname>.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Manage sources.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Append records from files ('-' = stdin; gzip detected) to the ledger.
    Ingest {
        /// Source the records come from.
        #[arg(long)]
        source: String,
        /// Files to read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the HTTP server.
    Serve {
        /// Listen address (default from config, 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        #[command(flatten)]
        syslog: SyslogFlags,
    },
    /// Work incident cases: list, show, triage, advance, note, post-mortem.
    #[command(subcommand)]
    Case(case::CaseCommand),
    /// Log reviews: what is due or overdue, the review packet, sign-off.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// The integration outbox: messages to Jira, ServiceNow, PagerDuty, Slack, webhooks.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Retention: status per source, archive lock status, policy; legal holds per case.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Print the incident-response plan (Markdown) and seal it if it changed.
    IrPlan {
        /// Write it to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the latest signed checkpoint (signing a new one if the tree grew).
    Checkpoint,
    /// Print the log's verifier key.
    Key,
    /// Show one ledger entry.
    Entry {
        /// Entry index.
        index: u64,
        /// Write the exact entry bytes (the leaf preimage) instead of JSON.
        #[arg(long)]
        raw: bool,
    },
    /// Print inclusion and consistency proofs.
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Re-read and re-hash everything; exit 1 on damage.
    Verify {
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Normalize records offline and print one OCSF event per line (errors: FILE:LINE).
    Parse {
        /// Log format (`auto` detects per record).
        #[arg(long, default_value = "auto")]
        format: String,
        /// Files to read ('-' = stdin; gzip detected).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Source health: volume, last event, parse errors, clock skew, silent sources.
    Sources {
        /// NDJSON output.
        #[arg(long)]
        json: bool,
    },
    /// The control-mapping matrix: TSC criterion → sources → event counts, with gaps.
    Controls {
        /// First day of the period (YYYY-MM-DD; default 30 days before --to).
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day of the period (YYYY-MM-DD; default today).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: health::MatrixFormat,
    },
    /// Manage API tokens: a role, an expiry, revocation.
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// Manage users: roles, passwords, TOTP, auditors' access windows.
    #[command(subcommand)]
    User(access::UserCommand),
    /// Access-control list export and the permission matrix.
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// The evidence package for an audit period: export it, or verify one offline.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// Build a month of realistic activity for a fictional company and serve it.
    Demo(demo::DemoArgs),
    /// Measure throughput.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Load, lint and test Sigma rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Search the index: Lucene-like filters plus `| stats`, `| timechart`, `| sort`,
    /// `| head`, `| fields` (docs/search.md).
    Search {
        /// The query (empty or `*`: everything in the window).
        #[arg(default_value = "")]
        query: String,
        /// Window start: RFC 3339, YYYY-MM-DD, ms, or a span ago (2h, 7d); default --to minus 24h.
        #[arg(long)]
        from: Option<String>,
        /// Window end (exclusive), same forms; default now.
        #[arg(long)]
        to: Option<String>,
        /// Most hits to print.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON document (hits, table or timechart).
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the search index from every ledger entry (stop the server first).
    Reindex,
    /// Run Sigma rules over log files offline; print alerts as NDJSON.
    Hunt {
        /// More rule directories (besides the built-in pack and `[detection] rules_dirs`).
        #[arg(long = "rules")]
        rules: Vec<PathBuf>,
        /// Leave the built-in rule pack out.
        #[arg(long)]
        no_builtin: bool,
        /// Log format (`auto` detects per record).
        #[arg(long, default_value = "auto")]
        format: String,
        /// Change tickets, one JSON object per line.
        #[arg(long)]
        change_tickets: Option<PathBuf>,
        /// Files to read (gzip detected).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load rules and report every one that cannot be used, with the reason; exit 1 if any.
    Lint {
        /// A rule file or directory.
        dir: PathBuf,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run each rule's test cases (DIR/tests/<stem>.yml); exit 1 on any mismatch.
    Test {
        /// A rule directory (default: the built-in pack).
        dir: Option<PathBuf>,
        /// NDJSON, one line per case.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Register a source and print its ingest token (shown once).
    Add {
        /// Source name (a-z, 0-9, '.', '_', '-').
        name: String,
        /// Log format.
        #[arg(long)]
        format: String,
        /// Expected cadence: flag the source silent when no record arrives for this long
        /// (e.g. 15m, 1h, 1d).
        #[arg(long, value_parser = parse_duration_secs)]
        cadence: Option<i64>,
    },
    /// List sources.
    List {
        /// NDJSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ProofCommand {
    /// A C2SP tlog-proof for entry N against the checkpoint of size S.
    Inclusion {
        /// Entry index.
        #[arg(long)]
        index: u64,
        /// Checkpoint size (default: latest).
        #[arg(long)]
        size: Option<u64>,
    },
    /// RFC 9162 consistency proof between checkpoints of size A and B.
    Consistency {
        /// Older size.
        #[arg(long)]
        from: u64,
        /// Newer size (default: latest).
        #[arg(long)]
        to: Option<u64>,
        /// JSON {"from","to","from_root","to_root","proof"}.
        #[arg(long)]
        json: bool,
    },
}

/// Parses `30s`, `15m`, `1h`, `2d` (or plain seconds) into seconds.
fn parse_duration_secs(text: &str) -> Result<i64, String> {
    let (num, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 15m, 1h or 1d"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use s, m, h or d)"
            ));
        }
    };
    if n <= 0 {
        return Err(format!("{text:?}: the cadence must be positive"));
    }
    Ok(n * mult)
}

/// `serve` flags that add syslog listeners (source `syslog`) to the config's `[[syslog]]`, and
/// the HTTPS certificate.
#[derive(Args)]
struct SyslogFlags {
    /// Also receive syslog over UDP on ADDR (e.g. 0.0.0.0:514).
    #[arg(long, value_name = "ADDR")]
    syslog_udp: Option<std::net::SocketAddr>,
    /// Also receive syslog over TCP on ADDR (octet-counted or newline-framed).
    #[arg(long, value_name = "ADDR")]
    syslog_tcp: Option<std::net::SocketAddr>,
    /// Also receive syslog over TLS on ADDR (e.g. 0.0.0.0:6514).
    #[arg(long, value_name = "ADDR")]
    syslog_tls: Option<std::net::SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (overrides [server.tls]); --syslog-tls
    /// uses it too.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl SyslogFlags {
    /// Appends the listeners the flags ask for to `config.syslog`, and serves HTTPS
    /// (`config.server.tls`) with --tls-cert/--tls-key.
    fn add_to(self, config: &mut evident_server::Config) -> anyhow::Result<()> {
        use evident_server::receivers::syslog::{SyslogListenerConfig, SyslogProtocol, validate};
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.server.tls = Some(evident_server::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        let mut added = Vec::new();
        if let Some(addr) = self.syslog_udp {
            added.push(SyslogListenerConfig::new(SyslogProtocol::Udp, addr));
        }
        if let Some(addr) = self.syslog_tcp {
            added.push(SyslogListenerConfig::new(SyslogProtocol::Tcp, addr));
        }
        if let Some(addr) = self.syslog_tls {
            let configured = config
                .syslog
                .iter()
                .find(|l| l.protocol == SyslogProtocol::Tls);
            let tls_cert = self
                .tls_cert
                .or_else(|| configured.and_then(|l| l.tls_cert.clone()));
            let tls_key = self
                .tls_key
                .or_else(|| configured.and_then(|l| l.tls_key.clone()));
            anyhow::ensure!(
                tls_cert.is_some() && tls_key.is_some(),
                "--syslog-tls needs --tls-cert FILE and --tls-key FILE (or a [[syslog]] listener with protocol = \"tls\" in the config whose files it reuses)"
            );
            added.push(SyslogListenerConfig {
                tls_cert,
                tls_key,
                ..SyslogListenerConfig::new(SyslogProtocol::Tls, addr)
            });
        }
        config.syslog.extend(added);
        validate(&config.syslog).map_err(|e| anyhow::anyhow!("syslog listeners: {e}"))
    }
}

/// Exit status of a command that ran: clean, or a check that found problems.
pub(crate) enum Outcome {
    Clean,
    Problems,
}

/// Threads of the server's blocking pool at most (tokio's default is 512). Ingest stores
/// each request on it; with 10,000 concurrent requests the default started hundreds of
/// threads, each with its own stack and allocator heap, and RSS peaked past 1 GiB in the
/// 10k-connection test. Requests beyond this wait for a thread; the ledger commits them
/// together anyway.
const SERVE_BLOCKING_THREADS: usize = 64;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EVIDENT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let g = cli.global;
    match cli.command {
        Command::Init { origin } => log::init(&g.data_dir(), origin, &cli_actor()),
        Command::Source(SourceCommand::Add {
            name,
            format,
            cadence,
        }) => import::source_add(&g.open_for_reading()?, &name, &format, cadence),
        Command::Source(SourceCommand::List { json }) => {
            import::source_list(&g.open_for_reading()?, json)
        }
        Command::Ingest { source, files } => import::ingest_files(&g.open()?, &source, &files),
        Command::Serve { listen, syslog } => {
            let mut node = g.open()?;
            syslog.add_to(&mut node.config)?;
            // An unusable certificate is refused before "listening" is printed.
            if let Some(t) = &node.config.server.tls {
                evident_server::tls::https_config(&t.cert, &t.key)
                    .map_err(|e| anyhow::anyhow!("server.tls: {e}"))?;
            }
            serve(node, listen)
        }
        Command::Case(cmd) => case::run(&g.open_for_reading()?, cmd, &cli_actor()),
        Command::Review(cmd) => review::run(&g.open_for_reading()?, cmd, &cli_actor()),
        Command::Outbox(cmd) => outbox::run(&g.open_for_reading()?, cmd),
        Command::Retention(cmd) => retention::run(g.open_for_reading()?, cmd, &cli_actor()),
        Command::IrPlan { out } => {
            let node = g.open_for_reading()?;
            let text = evident_server::ir_plan::render(&node)?;
            match out {
                Some(path) => std::fs::write(&path, &text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            if let Some(v) = evident_server::ir_plan::record_if_changed(&node)? {
                eprintln!("the plan changed: recorded as version {v} in the audit trail");
            }
            Ok(Outcome::Clean)
        }
        Command::Checkpoint => log::checkpoint(&g.open_for_reading()?),
        Command::Key => log::key(&g.data_dir()),
        Command::Entry { index, raw } => {
            log::entry(&g.open_for_reading()?, index, raw, &cli_actor())
        }
        Command::Proof(ProofCommand::Inclusion { index, size }) => {
            log::inclusion(&g.open_for_reading()?, index, size)
        }
        Command::Proof(ProofCommand::Consistency { from, to, json }) => {
            log::consistency(&g.open_for_reading()?, from, to, json)
        }
        Command::Verify { json } => log::verify(&g.data_dir(), json),
        Command::Parse { format, files } => parse::run(&format, &files),
        Command::Sources { json } => health::sources(&g.open_for_reading()?, json),
        Command::Controls { from, to, format } => {
            health::controls(&g.open_for_reading()?, from, to, format)
        }
        Command::Token(cmd) => access::token(&g.open_for_reading()?, cmd, &cli_actor()),
        Command::User(cmd) => access::user(&g.open_for_reading()?, cmd, &cli_actor()),
        Command::Access(access::AccessCommand::Matrix) => {
            print!("{}", evident_model::permission_matrix_markdown());
            Ok(Outcome::Clean)
        }
        Command::Access(cmd) => access::access(&g.open_for_reading()?, cmd, &cli_actor()),
        Command::Evidence(cmd) => evidence::run(cmd, || g.open_for_reading(), &cli_actor()),
        Command::Demo(args) => demo::run(g.data.clone(), args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Rules(RulesCommand::Lint { dir, json }) => rules::lint(&dir, json),
        Command::Rules(RulesCommand::Test { dir, json }) => rules::test(dir.as_deref(), json),
        Command::Search {
            query,
            from,
            to,
            limit,
            json,
        } => search::search(
            &g.open_for_reading()?,
            search::SearchArgs {
                query: &query,
                from: from.as_deref(),
                to: to.as_deref(),
                limit,
                json,
            },
        ),
        Command::Reindex => search::reindex(&g.open()?),
        Command::Hunt {
            rules,
            no_builtin,
            format,
            change_tickets,
            files,
        } => hunt::run(hunt::HuntArgs {
            rules: &rules,
            no_builtin,
            format: &format,
            change_tickets: change_tickets.as_deref(),
            config: g.config.as_deref(),
            files: &files,
        }),
    }
}

/// Who a CLI change is attributed to in the audit trail: the OS user.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into())
    )
}

/// Runs the server until Ctrl-C or SIGTERM.
pub(crate) fn serve(
    node: Evident,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<Outcome> {
    serve_with(node, listen, |_| async {})
}

/// [`serve`], running `beside(bound address)` on the same runtime once the server listens
/// (the demo's live shippers).
pub(crate) fn serve_with<F>(
    node: Evident,
    listen: Option<std::net::SocketAddr>,
    beside: impl FnOnce(std::net::SocketAddr) -> F,
) -> anyhow::Result<Outcome>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let addr = listen.unwrap_or(node.config.server.listen);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(SERVE_BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr().context("reading the bound address")?;
        tracing::info!(%local, "serving");
        let scheme = if node.config.server.tls.is_some() {
            "https"
        } else {
            "http"
        };
        eprintln!("Evident is listening on {scheme}://{local}");
        tokio::spawn(beside(local));
        evident_server::serve(std::sync::Arc::new(node), listener, shutdown_signal()).await?;
        Ok(Outcome::Clean)
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
