//! Syslog receivers: UDP, TCP and TLS listeners for RFC 5424 and RFC 3164 messages, so
//! rsyslog, syslog-ng and `logger` can forward to Evident unchanged.
//!
//! [`start`] binds the `[[syslog]]` listeners of the config ([`SyslogListenerConfig`]) and
//! returns [`SyslogListeners`] (their bound addresses, and [`SyslogListeners::shutdown`]).
//! Each message is stored verbatim as one ledger entry through [`super::deliver`], with
//! metadata `peer`, `receiver` (`syslog-udp`, `syslog-tcp`, `syslog-tls`) and
//! `format=syslog`; the pipeline parses it later with its source's parser.
//!
//! - **TCP / TLS**: RFC 6587 octet counting and LF (CRLF, NUL) framing, detected per frame
//!   (see `framing`). What one connection has buffered is stored in one call, while the next
//!   batch is read; when the intake is full the call waits and the connection is not read
//!   any further, so the sender's TCP window closes: back-pressure, nothing dropped.
//! - **UDP**: one datagram is one message. A datagram cannot wait, so when the intake is full
//!   it is dropped and counted (`dropped`), as the auditor needs to see.
//! - **Sources**: a listener stores under its `source` (`syslog` unless configured), or under
//!   the first `map` rule matching the sender's address (`from`, a CIDR range) and/or the
//!   message's APP-NAME (`app`). A rule naming a source that does not exist (yet) falls back
//!   to the listener's source, with a warning; the listener's own source must exist.
//! - Frames over `ingest.max_record_bytes` are skipped with a warning and counted as
//!   `rejected`; the stream stays in sync.

mod framing;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant as TokioInstant;
use tokio_rustls::TlsAcceptor;

use self::framing::{Frame, Framer};
use super::{DeliverError, Delivery, ReceiverStats, deliver, try_deliver};
use crate::Evident;

/// Messages stored per ledger call from one TCP/TLS connection, at most.
const MAX_BATCH_RECORDS: usize = 4096;
/// Bytes stored per ledger call from one TCP/TLS connection, at most (one message up to
/// `ingest.max_record_bytes` can exceed it alone). With the batch being stored, a connection
/// holds at most about twice this plus one read and one partial message.
const MAX_BATCH_BYTES: usize = 1 << 20;
/// Bytes read from a socket at once, at most.
const READ_BUF: usize = 64 << 10;
/// A connection's first read buffer: it doubles (up to [`READ_BUF`]) each time a read fills
/// it, so thousands of quiet connections cost 4 KiB each instead of 64.
const READ_BUF_START: usize = 4 << 10;
/// UDP datagrams stored per ledger call, at most.
const MAX_UDP_BATCH: usize = 1024;
/// UDP stores in flight per listener before datagrams wait in the pending batch.
const MAX_UDP_IN_FLIGHT: usize = 8;
/// Datagrams waiting for a store, at most (and at most 4 MiB); past this the server is
/// overloaded and further datagrams are dropped (and counted) rather than queued without
/// bound.
const MAX_UDP_PENDING: usize = 16_384;
/// How long a TLS client has to finish its handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for connections to store what they have read.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// On shutdown, an open connection is still read until it has been quiet this long: syslog
/// over TCP has no acknowledgment, so a sender (rsyslog's omfwd) counts what it wrote as
/// delivered, and messages still in the socket buffer would be lost.
const SHUTDOWN_DRAIN_IDLE: Duration = Duration::from_millis(250);
/// … and at most this long, for senders that never pause.
const SHUTDOWN_DRAIN_MAX: Duration = Duration::from_secs(2);
/// How often a rule's unknown source is looked up again (it may be added while running).
const SOURCE_REFRESH: Duration = Duration::from_secs(2);

/// `protocol` of a `[[syslog]]` listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyslogProtocol {
    /// RFC 5426: one message per datagram; drops (counted) when the intake is full.
    Udp,
    /// RFC 6587 over plain TCP; back-pressure when the intake is full.
    Tcp,
    /// RFC 5425: RFC 6587 framing inside TLS (rustls).
    Tls,
}

impl SyslogProtocol {
    /// The receiver name its counters and entries carry: `syslog-udp`, `syslog-tcp`,
    /// `syslog-tls`.
    pub fn receiver(self) -> &'static str {
        match self {
            SyslogProtocol::Udp => "syslog-udp",
            SyslogProtocol::Tcp => "syslog-tcp",
            SyslogProtocol::Tls => "syslog-tls",
        }
    }
}

impl fmt::Display for SyslogProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyslogProtocol::Udp => "udp",
            SyslogProtocol::Tcp => "tcp",
            SyslogProtocol::Tls => "tls",
        })
    }
}

/// One `[[syslog]]` listener of `evident.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogListenerConfig {
    /// `udp`, `tcp` or `tls`.
    pub protocol: SyslogProtocol,
    /// Address to bind (port 0 picks a free port; see [`SyslogListeners::addrs`]).
    pub listen: SocketAddr,
    /// Source for messages no `map` rule claims; must exist (`evident source add`).
    #[serde(default = "default_source")]
    pub source: String,
    /// PEM certificate chain (server certificate first); `tls` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1); `tls` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Rules tried in order; the first that matches names the message's source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map: Vec<SourceRule>,
}

impl SyslogListenerConfig {
    /// A listener storing everything under the source `syslog` (what the `serve` flags
    /// create).
    pub fn new(protocol: SyslogProtocol, listen: SocketAddr) -> SyslogListenerConfig {
        SyslogListenerConfig {
            protocol,
            listen,
            source: default_source(),
            tls_cert: None,
            tls_key: None,
            map: Vec::new(),
        }
    }
}

fn default_source() -> String {
    "syslog".to_owned()
}

/// One `map` rule: messages from `from` and/or with APP-NAME `app` belong to `source`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRule {
    /// Sender address range; any sender when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SenderRange>,
    /// APP-NAME (RFC 3164 TAG), compared exactly; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The source matching messages are stored under.
    pub source: String,
}

impl SourceRule {
    fn matches(&self, ip: IpAddr, app: &mut AppName<'_>) -> bool {
        self.from.is_none_or(|range| range.contains(ip))
            && self
                .app
                .as_deref()
                .is_none_or(|want| app.get() == Some(want))
    }
}

/// A sender address range: a CIDR network (`10.0.0.0/8`, `2001:db8::/32`) or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SenderRange(IpNet);

impl SenderRange {
    /// Whether `ip` is in the range (IPv4-mapped IPv6 senders count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for SenderRange {
    type Err = String;
    fn from_str(s: &str) -> Result<SenderRange, String> {
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(|net| SenderRange(net.trunc()))
            .map_err(|_| {
                format!("{s:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8 or 192.0.2.7)")
            })
    }
}

impl TryFrom<String> for SenderRange {
    type Error = String;
    fn try_from(s: String) -> Result<SenderRange, String> {
        s.parse()
    }
}

impl From<SenderRange> for String {
    fn from(r: SenderRange) -> String {
        r.0.to_string()
    }
}

/// Why syslog listeners could not start; the server does not start either.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyslogError {
    /// A listener's settings are inconsistent (the message names the field).
    #[error("{0}")]
    Config(String),
    /// The listener's own source is not registered.
    #[error(
        "syslog {protocol} listener on {listen}: source {source_name:?} does not exist; create it with `evident source add {source_name} --format syslog`"
    )]
    UnknownSource {
        /// The listener's protocol.
        protocol: SyslogProtocol,
        /// Its configured address.
        listen: SocketAddr,
        /// The missing source.
        source_name: String,
    },
    /// The address is taken or not allowed.
    #[error("syslog {protocol} listener: cannot listen on {listen}: {error}")]
    Bind {
        /// The listener's protocol.
        protocol: SyslogProtocol,
        /// The address.
        listen: SocketAddr,
        /// Why binding failed.
        error: std::io::Error,
    },
    /// The TLS certificate or key cannot be used.
    #[error("syslog tls listener on {listen}: {path}: {message}")]
    Tls {
        /// The listener's address.
        listen: SocketAddr,
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The state database could not list sources.
    #[error("syslog listeners: reading sources: {0}")]
    Store(#[from] evident_store::StoreError),
}

/// Checks `[[syslog]]` entries beyond what parsing checks; the error names the entry and
/// field (`syslog[1].tls_cert: …`).
pub fn validate(listeners: &[SyslogListenerConfig]) -> Result<(), String> {
    let valid_source = |field: String, name: &str| {
        name.parse::<evident_model::SourceName>()
            .map(drop)
            .map_err(|e| format!("{field}: {e}"))
    };
    for (i, l) in listeners.iter().enumerate() {
        let at = format!("syslog[{i}]");
        valid_source(format!("{at}.source"), &l.source)?;
        let tls = l.protocol == SyslogProtocol::Tls;
        for (field, value) in [("tls_cert", &l.tls_cert), ("tls_key", &l.tls_key)] {
            match (tls, value) {
                (true, None) => {
                    return Err(format!(
                        "{at}.{field}: required for protocol \"tls\" (a PEM file)"
                    ));
                }
                (false, Some(_)) => {
                    return Err(format!(
                        "{at}.{field}: only used with protocol \"tls\", this listener is \"{}\"",
                        l.protocol
                    ));
                }
                _ => {}
            }
        }
        for (j, rule) in l.map.iter().enumerate() {
            let at = format!("{at}.map[{j}]");
            if rule.from.is_none() && rule.app.is_none() {
                return Err(format!(
                    "{at}: a rule needs `from` (an address or CIDR range) or `app` (an APP-NAME)"
                ));
            }
            if rule.app.as_deref() == Some("") {
                return Err(format!("{at}.app: must not be empty"));
            }
            valid_source(format!("{at}.source"), &rule.source)?;
        }
        let stream = |p| p != SyslogProtocol::Udp;
        if l.listen.port() != 0
            && let Some(j) = listeners[..i]
                .iter()
                .position(|o| o.listen == l.listen && stream(o.protocol) == stream(l.protocol))
        {
            return Err(format!(
                "{at}.listen: {} is already used by syslog[{j}] ({})",
                l.listen, listeners[j].protocol
            ));
        }
    }
    Ok(())
}

/// Running syslog listeners. [`SyslogListeners::shutdown`] stops them; dropping the value
/// leaves them running until the runtime ends.
#[derive(Debug)]
pub struct SyslogListeners {
    bound: Vec<(SyslogProtocol, SocketAddr)>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl SyslogListeners {
    /// The bound address of each listener, in config order (port 0 resolved).
    pub fn addrs(&self) -> &[(SyslogProtocol, SocketAddr)] {
        &self.bound
    }

    /// Stops accepting; open connections are read until they are quiet for a moment (what
    /// senders already wrote is not lost), store what they read (up to a few seconds in
    /// all), then close.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!("syslog listeners did not stop in time; aborting them");
            self.tasks.shutdown().await;
        }
    }
}

/// Binds every listener in `configs` and starts serving them. Fails, binding nothing, when
/// a config is invalid, a listener's source does not exist or a TLS file is unusable.
pub async fn start(
    node: &Arc<Evident>,
    configs: &[SyslogListenerConfig],
) -> Result<SyslogListeners, SyslogError> {
    validate(configs).map_err(SyslogError::Config)?;
    let (stop, stop_rx) = watch::channel(false);
    let mut listeners = SyslogListeners {
        bound: Vec::new(),
        stop,
        tasks: JoinSet::new(),
    };
    if configs.is_empty() {
        return Ok(listeners);
    }
    let db = node.db.clone();
    let known: HashSet<String> = tokio::task::spawn_blocking(move || db.sources())
        .await
        .map_err(|e| SyslogError::Config(format!("syslog listeners: reading sources: {e}")))??
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    let mut prepared = Vec::new();
    for c in configs {
        if !known.contains(&c.source) {
            return Err(SyslogError::UnknownSource {
                protocol: c.protocol,
                listen: c.listen,
                source_name: c.source.clone(),
            });
        }
        let tls = match (c.protocol, &c.tls_cert, &c.tls_key) {
            (SyslogProtocol::Tls, Some(cert), Some(key)) => {
                Some(tls_acceptor(c.listen, cert, key)?)
            }
            _ => None,
        };
        prepared.push((c, tls));
    }
    for (c, tls) in prepared {
        let bind_err = |error| SyslogError::Bind {
            protocol: c.protocol,
            listen: c.listen,
            error,
        };
        let shared = Arc::new(Listener {
            node: node.clone(),
            protocol: c.protocol,
            source: c.source.clone(),
            rules: c.map.clone(),
            stats: node.receivers.stats(c.protocol.receiver()),
            max: node.config.ingest.max_record_bytes,
            known: Mutex::new(KnownSources {
                names: known.clone(),
                refreshed: Instant::now(),
                warned: HashSet::new(),
            }),
        });
        let stop = stop_rx.clone();
        let local = if c.protocol == SyslogProtocol::Udp {
            let socket = UdpSocket::bind(c.listen).await.map_err(bind_err)?;
            let local = socket.local_addr().map_err(bind_err)?;
            listeners.tasks.spawn(run_udp(shared, socket, stop));
            local
        } else {
            let socket = TcpListener::bind(c.listen).await.map_err(bind_err)?;
            let local = socket.local_addr().map_err(bind_err)?;
            listeners
                .tasks
                .spawn(run_stream_listener(shared, socket, tls, stop));
            local
        };
        tracing::info!(
            protocol = %c.protocol, %local, source = %c.source, rules = c.map.len(),
            "syslog listener started"
        );
        listeners.bound.push((c.protocol, local));
    }
    Ok(listeners)
}

/// Loads the certificate chain and key into a rustls acceptor (see [`crate::tls`]).
fn tls_acceptor(listen: SocketAddr, cert: &Path, key: &Path) -> Result<TlsAcceptor, SyslogError> {
    let config = crate::tls::server_config(cert, key).map_err(|e| SyslogError::Tls {
        listen,
        path: e.path,
        message: e.message,
    })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// What every connection and datagram of one listener shares.
struct Listener {
    node: Arc<Evident>,
    protocol: SyslogProtocol,
    /// The listener's source, known to exist.
    source: String,
    rules: Vec<SourceRule>,
    stats: Arc<ReceiverStats>,
    /// `ingest.max_record_bytes`.
    max: usize,
    known: Mutex<KnownSources>,
}

/// Source names that exist, refreshed when a rule names one that did not.
struct KnownSources {
    names: HashSet<String>,
    refreshed: Instant,
    /// Unknown sources already warned about (once each).
    warned: HashSet<String>,
}

/// Records from one sender, grouped by the source they are stored under.
type Routed = Vec<(String, Vec<Vec<u8>>)>;

impl Listener {
    fn metadata(&self, peer: SocketAddr) -> Vec<(String, String)> {
        vec![
            ("peer".to_owned(), peer.to_string()),
            ("receiver".to_owned(), self.protocol.receiver().to_owned()),
            ("format".to_owned(), "syslog".to_owned()),
        ]
    }

    /// Counts a frame and keeps its message; oversized and truncated frames are rejected
    /// with a warning naming the sender.
    fn on_frame(&self, frame: Frame<'_>, peer: SocketAddr, batch: &mut Batch) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        match frame {
            Frame::Message(m) => batch.push(m.to_vec()),
            Frame::Oversized { len, counted } => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    receiver = self.protocol.receiver(), %peer, bytes = len,
                    limit = self.max, framing = if counted { "octet-counted" } else { "line" },
                    "syslog message larger than ingest.max_record_bytes; skipped, the rest of the stream is kept"
                );
            }
            Frame::Truncated { declared, got } => {
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    receiver = self.protocol.receiver(), %peer, declared, got,
                    "syslog connection closed inside an octet-counted frame; the partial message is not stored"
                );
            }
        }
    }

    /// The source of the first rule matching `ip` and the message, else the listener's.
    fn source_for<'a>(&'a self, ip: IpAddr, message: &[u8]) -> &'a str {
        let mut app = AppName::new(message);
        self.rules
            .iter()
            .find(|r| r.matches(ip, &mut app))
            .map_or(&self.source, |r| &r.source)
    }

    /// Groups `records` by source, sending those of rules whose source does not exist to
    /// the listener's source.
    async fn route(&self, ip: IpAddr, records: Vec<Vec<u8>>) -> Routed {
        if self.rules.is_empty() {
            return vec![(self.source.clone(), records)];
        }
        let mut groups: Vec<(&str, Vec<Vec<u8>>)> = Vec::new();
        for r in records {
            let source = self.source_for(ip, &r);
            match groups.iter_mut().find(|(s, _)| *s == source) {
                Some((_, v)) => v.push(r),
                None => groups.push((source, vec![r])),
            }
        }
        let mut routed: Routed = Vec::with_capacity(groups.len());
        let mut fallback = Vec::new();
        for (source, records) in groups {
            if source == self.source || self.exists(source).await {
                routed.push((source.to_owned(), records));
            } else {
                fallback.extend(records);
            }
        }
        if !fallback.is_empty() {
            match routed.iter_mut().find(|(s, _)| *s == self.source) {
                Some((_, v)) => v.extend(fallback),
                None => routed.push((self.source.clone(), fallback)),
            }
        }
        routed
    }

    /// Whether source `name` exists, looking it up again at most every [`SOURCE_REFRESH`].
    async fn exists(&self, name: &str) -> bool {
        let stale = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            if known.names.contains(name) {
                return true;
            }
            known.refreshed.elapsed() >= SOURCE_REFRESH
        };
        if stale {
            let db = self.node.db.clone();
            match tokio::task::spawn_blocking(move || db.sources()).await {
                Ok(Ok(sources)) => {
                    let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
                    known.names = sources.into_iter().map(|s| s.name.to_string()).collect();
                    known.refreshed = Instant::now();
                }
                Ok(Err(e)) => tracing::error!(error = %e, "syslog: reading sources failed"),
                Err(e) => tracing::error!(error = %e, "syslog: reading sources failed"),
            }
        }
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.names.contains(name) {
            return true;
        }
        if known.warned.insert(name.to_owned()) {
            tracing::warn!(
                receiver = self.protocol.receiver(), rule_source = name, stored_as = %self.source,
                "a syslog map rule names a source that does not exist; its messages go to the listener's source until it is created with `evident source add`"
            );
        }
        false
    }

    /// Stores one connection's batch, in order; on a storage failure the batch is counted
    /// as dropped (a stream sender is never told).
    async fn store(self: Arc<Self>, peer: SocketAddr, records: Vec<Vec<u8>>) -> StoreResult {
        let routed = self.route(peer.ip(), records).await;
        let mut groups = routed.into_iter();
        while let Some((source, records)) = groups.next() {
            let n = records.len();
            let delivery = Delivery {
                source,
                records,
                metadata: self.metadata(peer),
            };
            if let Err(e) = deliver(&self.node, &self.node.intake, &self.stats, delivery).await {
                let lost = n + groups.map(|(_, r)| r.len()).sum::<usize>();
                return Err(self.storage_failed(e, peer, lost));
            }
        }
        Ok(())
    }

    /// Logs a failed append and counts its `lost` records as dropped.
    fn storage_failed(&self, e: DeliverError, peer: SocketAddr, lost: usize) -> DeliverError {
        self.stats.dropped.fetch_add(lost as u64, Ordering::Relaxed);
        self.node
            .counters
            .storage_errors
            .fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            receiver = self.protocol.receiver(), %peer, error = %e, lost,
            "syslog messages could not be stored"
        );
        e
    }
}

/// A message's APP-NAME, parsed on first use and at most once.
struct AppName<'a> {
    message: &'a [u8],
    app: Option<Option<&'a str>>,
}

impl<'a> AppName<'a> {
    fn new(message: &'a [u8]) -> AppName<'a> {
        AppName { message, app: None }
    }

    fn get(&mut self) -> Option<&'a str> {
        *self
            .app
            .get_or_insert_with(|| evident_sources::syslog_app_name(self.message))
    }
}

/// Messages framed but not yet handed to the ledger.
#[derive(Default)]
struct Batch {
    records: Vec<Vec<u8>>,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, record: Vec<u8>) {
        self.bytes += record.len();
        self.records.push(record);
    }

    fn is_full(&self) -> bool {
        self.records.len() >= MAX_BATCH_RECORDS || self.bytes >= MAX_BATCH_BYTES
    }

    /// The records so far; the next batch starts with room for as many.
    fn take(&mut self) -> Vec<Vec<u8>> {
        self.bytes = 0;
        let room = self.records.len();
        std::mem::replace(&mut self.records, Vec::with_capacity(room))
    }
}

type StoreResult = Result<(), DeliverError>;
type StoreFuture = Pin<Box<dyn Future<Output = StoreResult> + Send>>;

/// Accepts TCP (and TLS) connections until stopped, then waits for them to finish.
async fn run_stream_listener(
    listener: Arc<Listener>,
    socket: TcpListener,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let cap = listener.node.config.server.max_connections;
    loop {
        tokio::select! {
            accepted = socket.accept() => match accepted {
                Ok((stream, peer)) if connections.len() >= cap => {
                    // Over `server.max_connections`: closed at once, so the open ones and
                    // the process's file descriptors keep their share.
                    listener
                        .node
                        .counters
                        .syslog_connections_refused
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        receiver = listener.protocol.receiver(), %peer, max_connections = cap,
                        "syslog connection refused: server.max_connections are open"
                    );
                    drop(stream);
                }
                Ok((stream, peer)) => {
                    let (l, tls, stop) = (listener.clone(), tls.clone(), stop.clone());
                    connections.spawn(connection(l, stream, peer, tls, stop));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(receiver = listener.protocol.receiver(), error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
            _ = stop.changed() => break,
        }
    }
    drop(socket);
    while connections.join_next().await.is_some() {}
}

/// One TCP connection, after the TLS handshake when the listener has TLS.
async fn connection(
    listener: Arc<Listener>,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
) {
    let receiver = listener.protocol.receiver();
    tracing::debug!(receiver, %peer, "syslog connection opened");
    match tls {
        None => read_stream(listener, stream, peer, stop).await,
        Some(acceptor) => {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => read_stream(listener, stream, peer, stop).await,
                Ok(Err(e)) => {
                    tracing::warn!(receiver, %peer, error = %e, "TLS handshake failed");
                }
                Err(_) => tracing::warn!(receiver, %peer, "TLS handshake timed out"),
            }
        }
    }
    tracing::debug!(receiver, %peer, "syslog connection closed");
}

/// Reads, frames and stores one stream until it ends or the listener stops. One batch is
/// being stored while the next is read; when the next is full too, reading pauses until
/// the store finishes (back-pressure on the sender).
async fn read_stream<S: AsyncRead + Unpin>(
    listener: Arc<Listener>,
    mut stream: S,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let mut framer = Framer::new(listener.max);
    let mut buf = vec![0u8; READ_BUF_START];
    let mut batch = Batch::default();
    let mut storing: Option<StoreFuture> = None;
    let mut reading = true;
    // Set once the listener stops: when reading ends (quiet since the last read, or the
    // drain's end), see SHUTDOWN_DRAIN_IDLE.
    let mut draining: Option<(TokioInstant, TokioInstant)> = None;
    loop {
        if storing.is_none() && !batch.records.is_empty() {
            storing = Some(Box::pin(listener.clone().store(peer, batch.take())));
        }
        if storing.is_none() && !reading {
            return;
        }
        let room = !batch.is_full();
        tokio::select! {
            stored = wait_for(&mut storing) => {
                storing = None;
                if stored.is_err() {
                    let lost = batch.records.len();
                    listener.stats.dropped.fetch_add(lost as u64, Ordering::Relaxed);
                    return;
                }
            }
            read = stream.read(&mut buf), if reading && room => match read {
                Ok(0) => {
                    framer.finish(|f| listener.on_frame(f, peer, &mut batch));
                    reading = false;
                }
                Ok(n) => {
                    if let Some((quiet_at, _)) = &mut draining {
                        *quiet_at = TokioInstant::now() + SHUTDOWN_DRAIN_IDLE;
                    }
                    framer.push(&buf[..n], |f| listener.on_frame(f, peer, &mut batch));
                    if n == buf.len() && buf.len() < READ_BUF {
                        buf.resize(buf.len() * 2, 0);
                    }
                }
                // A TLS peer that closes without close_notify: the data before it is whole.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    framer.finish(|f| listener.on_frame(f, peer, &mut batch));
                    reading = false;
                }
                Err(e) => {
                    tracing::warn!(
                        receiver = listener.protocol.receiver(), %peer, error = %e,
                        "syslog connection failed; storing the messages read before it"
                    );
                    reading = false;
                }
            },
            _ = stop.changed(), if reading && draining.is_none() => {
                let now = TokioInstant::now();
                draining = Some((now + SHUTDOWN_DRAIN_IDLE, now + SHUTDOWN_DRAIN_MAX));
            }
            // A message cut off by the end of the drain is not stored: only whole frames.
            _ = drain_end(draining), if reading && draining.is_some() => reading = false,
        }
    }
}

/// When a draining connection stops reading: quiet for SHUTDOWN_DRAIN_IDLE, or the drain's
/// end; never when not draining.
async fn drain_end(draining: Option<(TokioInstant, TokioInstant)>) {
    match draining {
        Some((quiet_at, end)) => tokio::time::sleep_until(quiet_at.min(end)).await,
        None => std::future::pending().await,
    }
}

/// The result of the store in progress; never ready when there is none.
async fn wait_for(storing: &mut Option<StoreFuture>) -> StoreResult {
    match storing {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Receives datagrams until stopped. What arrives while earlier datagrams are being stored
/// waits in one pending batch, stored (one call per sender and source) as soon as a store
/// finishes; only when that batch is full too are datagrams dropped, and counted.
async fn run_udp(listener: Arc<Listener>, socket: UdpSocket, mut stop: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 65536];
    let mut storing: JoinSet<()> = JoinSet::new();
    let mut pending = UdpPending::default();
    loop {
        if !pending.datagrams.is_empty() && storing.len() < MAX_UDP_IN_FLIGHT {
            for (peer, records) in by_peer(pending.take()) {
                storing.spawn(listener.clone().store_datagrams(peer, records));
            }
        }
        let first = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            Some(_) = storing.join_next() => continue,
            _ = stop.changed() => break,
        };
        let mut next = first;
        let mut dropped = 0usize;
        loop {
            match next {
                Ok((n, peer)) => {
                    if let Some(m) = listener.datagram(&buf[..n], peer) {
                        if pending.is_full() {
                            dropped += 1;
                        } else {
                            pending.push(peer, m);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(receiver = "syslog-udp", error = %e, "receive failed");
                    break;
                }
            }
            if pending.datagrams.len() >= MAX_UDP_BATCH {
                break;
            }
            next = match socket.try_recv_from(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                other => other,
            };
        }
        if dropped > 0 {
            listener
                .stats
                .dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::warn!(
                receiver = "syslog-udp",
                dropped,
                "syslog over UDP arrives faster than it can be stored; datagrams dropped"
            );
        }
    }
    for (peer, records) in by_peer(pending.take()) {
        storing.spawn(listener.clone().store_datagrams(peer, records));
    }
    while storing.join_next().await.is_some() {}
}

/// Datagrams received while the stores in flight are busy.
#[derive(Default)]
struct UdpPending {
    datagrams: Vec<(SocketAddr, Vec<u8>)>,
    bytes: usize,
}

impl UdpPending {
    fn push(&mut self, peer: SocketAddr, message: Vec<u8>) {
        self.bytes += message.len();
        self.datagrams.push((peer, message));
    }

    fn is_full(&self) -> bool {
        self.datagrams.len() >= MAX_UDP_PENDING || self.bytes >= MAX_BATCH_BYTES * 4
    }

    fn take(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        self.bytes = 0;
        std::mem::take(&mut self.datagrams)
    }
}

impl Listener {
    /// Counts a datagram and returns its message without trailing LF / CR / NUL; `None`
    /// (rejected) when it is empty or over the limit.
    fn datagram(&self, data: &[u8], peer: SocketAddr) -> Option<Vec<u8>> {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let end = data
            .iter()
            .rposition(|&c| !matches!(c, b'\n' | b'\r' | 0))
            .map_or(0, |i| i + 1);
        let message = &data[..end];
        if message.is_empty() || message.len() > self.max {
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                receiver = "syslog-udp", %peer, bytes = message.len(), limit = self.max,
                "syslog datagram empty or larger than ingest.max_record_bytes; skipped"
            );
            return None;
        }
        Some(message.to_vec())
    }

    /// Stores datagrams from one sender without waiting for the intake: when it is full
    /// they are dropped and counted.
    async fn store_datagrams(self: Arc<Self>, peer: SocketAddr, records: Vec<Vec<u8>>) {
        for (source, records) in self.route(peer.ip(), records).await {
            let n = records.len();
            let delivery = Delivery {
                source,
                records,
                metadata: self.metadata(peer),
            };
            match try_deliver(&self.node, &self.node.intake, &self.stats, delivery).await {
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    self.storage_failed(e, peer, n);
                }
                None => {
                    self.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                    tracing::warn!(
                        receiver = "syslog-udp", %peer, dropped = n,
                        "intake full; syslog datagrams dropped"
                    );
                }
            }
        }
    }
}

/// Groups a burst by sender, keeping each sender's order.
fn by_peer(burst: Vec<(SocketAddr, Vec<u8>)>) -> Vec<(SocketAddr, Vec<Vec<u8>>)> {
    let mut out: Vec<(SocketAddr, Vec<Vec<u8>>)> = Vec::new();
    for (peer, m) in burst {
        match out.iter_mut().find(|(p, _)| *p == peer) {
            Some((_, v)) => v.push(m),
            None => out.push((peer, vec![m])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(toml_text: &str) -> Result<Vec<SyslogListenerConfig>, String> {
        #[derive(Deserialize)]
        struct Doc {
            syslog: Vec<SyslogListenerConfig>,
        }
        let doc: Doc = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        validate(&doc.syslog)?;
        Ok(doc.syslog)
    }

    #[test]
    fn config_parses_with_defaults_and_rules() {
        let got = listener(
            r#"
            [[syslog]]
            protocol = "udp"
            listen = "0.0.0.0:514"
            [[syslog]]
            protocol = "tls"
            listen = "0.0.0.0:6514"
            source = "servers"
            tls_cert = "/etc/evident/cert.pem"
            tls_key = "/etc/evident/key.pem"
            map = [{ from = "10.0.0.0/8", source = "vpn" }, { app = "sshd", source = "linux-auth" },
                   { from = "192.0.2.7", app = "sudo", source = "bastion" }]
            "#,
        )
        .unwrap();
        assert_eq!(
            got[0],
            SyslogListenerConfig::new(SyslogProtocol::Udp, "0.0.0.0:514".parse().unwrap())
        );
        assert_eq!(got[1].source, "servers");
        assert_eq!(
            got[1].tls_key.as_deref(),
            Some(Path::new("/etc/evident/key.pem"))
        );
        let rules = &got[1].map;
        assert_eq!(rules.len(), 3);
        assert_eq!(String::from(rules[0].from.unwrap()), "10.0.0.0/8");
        assert_eq!(String::from(rules[2].from.unwrap()), "192.0.2.7/32");
        assert_eq!(rules[1].app.as_deref(), Some("sshd"));
    }

    #[test]
    fn config_errors_name_the_field() {
        let cases = [
            (
                "protocol = \"tls\"\nlisten = \"127.0.0.1:6514\"",
                "syslog[0].tls_cert: required for protocol \"tls\" (a PEM file)",
            ),
            (
                "protocol = \"tcp\"\nlisten = \"127.0.0.1:514\"\ntls_key = \"k.pem\"",
                "syslog[0].tls_key: only used with protocol \"tls\", this listener is \"tcp\"",
            ),
            (
                "protocol = \"udp\"\nlisten = \"127.0.0.1:514\"\nsource = \"Bad Name\"",
                "syslog[0].source: invalid source name \"Bad Name\": use 1-64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            ),
            (
                "protocol = \"udp\"\nlisten = \"127.0.0.1:514\"\nmap = [{ source = \"x\" }]",
                "syslog[0].map[0]: a rule needs `from` (an address or CIDR range) or `app` (an APP-NAME)",
            ),
            (
                "protocol = \"udp\"\nlisten = \"127.0.0.1:514\"\nmap = [{ app = \"sshd\", source = \"A\" }]",
                "syslog[0].map[0].source: invalid source name \"A\": use 1-64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(listener(&format!("[[syslog]]\n{body}")).unwrap_err(), want);
        }
        let dup = "[[syslog]]\nprotocol = \"tcp\"\nlisten = \"127.0.0.1:514\"\n[[syslog]]\nprotocol = \"udp\"\nlisten = \"127.0.0.1:514\"\n[[syslog]]\nprotocol = \"tls\"\nlisten = \"127.0.0.1:514\"\ntls_cert = \"c\"\ntls_key = \"k\"";
        assert_eq!(
            listener(dup).unwrap_err(),
            "syslog[2].listen: 127.0.0.1:514 is already used by syslog[0] (tcp)"
        );
        let bad_range = listener(
            "[[syslog]]\nprotocol = \"udp\"\nlisten = \"127.0.0.1:514\"\nmap = [{ from = \"10.0.0.0/33\", source = \"x\" }]",
        )
        .unwrap_err();
        assert!(
            bad_range.contains(
                "\"10.0.0.0/33\" is not an IP address or CIDR range (e.g. 10.0.0.0/8 or 192.0.2.7)"
            ),
            "{bad_range}"
        );
        let bad_protocol =
            listener("[[syslog]]\nprotocol = \"relp\"\nlisten = \"127.0.0.1:514\"").unwrap_err();
        assert!(
            bad_protocol.contains("unknown variant `relp`, expected one of `udp`, `tcp`, `tls`"),
            "{bad_protocol}"
        );
    }

    #[test]
    fn sender_ranges_match_v4_v6_and_mapped_addresses() {
        let net: SenderRange = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let host: SenderRange = "2001:db8::7".parse().unwrap();
        assert!(host.contains("2001:db8::7".parse().unwrap()));
        assert!(!host.contains("2001:db8::8".parse().unwrap()));
        // Host bits are cleared: 10.1.2.3/8 means 10.0.0.0/8.
        assert_eq!(
            String::from("10.1.2.3/8".parse::<SenderRange>().unwrap()),
            "10.0.0.0/8"
        );
    }

    #[test]
    fn first_matching_rule_names_the_source() {
        let rule = |from: Option<&str>, app: Option<&str>, source: &str| SourceRule {
            from: from.map(|f| f.parse().unwrap()),
            app: app.map(str::to_owned),
            source: source.to_owned(),
        };
        let rules = [
            rule(Some("10.0.0.0/8"), Some("sudo"), "bastion"),
            rule(None, Some("sshd"), "linux-auth"),
            rule(Some("10.0.0.0/8"), None, "vpn"),
        ];
        let matching = |ip: &str, msg: &[u8]| {
            let ip: IpAddr = ip.parse().unwrap();
            let mut app = AppName::new(msg);
            rules
                .iter()
                .find(|r| r.matches(ip, &mut app))
                .map(|r| r.source.as_str())
        };
        let sudo = b"<85>Nov 26 10:00:00 h sudo: alice : COMMAND=/bin/ls";
        let sshd = b"<38>1 2026-11-26T10:00:00Z h sshd 42 - - Accepted";
        let cron = b"<78>Nov 26 10:00:00 h CRON[7]: job";
        assert_eq!(matching("10.1.1.1", sudo), Some("bastion"));
        assert_eq!(matching("192.0.2.1", sudo), None);
        assert_eq!(matching("192.0.2.1", sshd), Some("linux-auth"));
        assert_eq!(matching("10.1.1.1", sshd), Some("linux-auth"));
        assert_eq!(matching("10.1.1.1", cron), Some("vpn"));
        assert_eq!(matching("10.1.1.1", b"garbage"), Some("vpn"));
        assert_eq!(matching("192.0.2.1", b"garbage"), None);
    }
}
