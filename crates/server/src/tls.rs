//! TLS for Evident's listeners (HTTPS and syslog over TLS, DESIGN.md §8): [`server_config`]
//! turns PEM files into a rustls server configuration with the aws-lc-rs provider (the one
//! reqwest and object_store bring, so there is one crypto provider), and [`TlsListener`]
//! lets `axum::serve` accept HTTPS. Handshakes run beside the accept loop, so a slow or
//! garbage client delays nobody; a failed one is logged and counted, never fatal.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{TlsAcceptor, rustls::ServerConfig};

use crate::Counters;

/// How long a client may take to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; further connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 1024;

/// A certificate or key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TlsError {
    /// The certificate or key file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// Loads a PEM certificate chain (server certificate first) and private key (PKCS#8,
/// PKCS#1 or SEC1) into a rustls server configuration offering TLS 1.2 and 1.3.
pub fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let err = |path: &Path, message: String| TlsError {
        path: path.to_owned(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| err(cert, format!("reading the PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(err(cert, "no CERTIFICATE block in the file".into()));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| err(key, format!("reading the PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| err(key, format!("the key does not fit the certificate: {e}")))
}

/// [`server_config`] for the HTTP server: it speaks HTTP/1.1 only, and says so in ALPN.
pub fn https_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let mut config = server_config(cert, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A TCP listener whose connections come out TLS-terminated, for `axum::serve`. A task
/// accepts and hands each connection to its own handshake task; finished handshakes queue
/// here. The tasks end when the listener is dropped (after a graceful shutdown).
pub struct TlsListener {
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// The bound address, or why the OS would not tell it.
    local: Result<SocketAddr, std::io::ErrorKind>,
}

impl TlsListener {
    /// Starts accepting on `tcp`; every failed or timed-out handshake adds one to
    /// `counters.rejected_tls_handshake` (shown on `/healthz`).
    pub fn new(tcp: TcpListener, config: ServerConfig, counters: Arc<Counters>) -> TlsListener {
        let local = tcp.local_addr().map_err(|e| e.kind());
        let (tx, handshaken) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(Arc::new(config));
        tokio::spawn(accept_loop(tcp, acceptor, tx, counters));
        TlsListener { handshaken, local }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(conn) => conn,
            // The accept loop only ends once this listener is gone; wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.local.map_err(std::io::Error::from)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    counters: Arc<Counters>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            () = tx.closed() => return,
            a = tcp.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "HTTPS accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (acceptor, tx, counters) = (acceptor.clone(), tx.clone(), counters.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    // A closed channel means the server is shutting down: drop the connection.
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(e)) => {
                    counters
                        .rejected_tls_handshake
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%peer, error = %e, "HTTPS: TLS handshake failed");
                }
                Err(_) => {
                    counters
                        .rejected_tls_handshake
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%peer, "HTTPS: TLS handshake timed out");
                }
            }
        });
    }
}
