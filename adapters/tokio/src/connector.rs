//! Outbound connections for the core's HTTP client (`push_advisor_http::net::Connect`):
//! TCP with one deadline per exchange (connect, write and the whole answer), HTTPS through
//! rustls (ring provider), a small pool of idle keep-alive connections per (host, port,
//! tls), and the core's `Timer` on tokio's clock.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use embedded_io_adapters::tokio_1::FromTokio;
use embedded_io_async::{Read, Write};
use push_advisor_http::net::{Connect, Endpoint, Reusable};
use push_advisor_http::time::Timer;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant as Deadline, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tracing::debug;

/// Which certificate authorities HTTPS connections trust.
#[derive(Debug, Clone, Default)]
pub enum TlsRoots {
    /// Mozilla's root store as shipped by `webpki-roots` (default).
    #[default]
    WebPki,
    /// Only the CA certificates in this PEM file.
    PemFile(PathBuf),
    /// Only the CA certificates in these PEM bytes.
    Pem(Vec<u8>),
}

/// Settings of a `Connector`.
#[derive(Debug, Clone)]
pub struct ConnectorOptions {
    /// Bound on TCP connect plus TLS handshake (default 5 s).
    pub connect_timeout: Duration,
    /// Bound on each read (default 10 s).
    pub read_timeout: Duration,
    /// Bound on each write (default 10 s).
    pub write_timeout: Duration,
    /// Bound on a whole exchange, from asking for a connection to the last byte of the
    /// answer, so a provider dripping bytes cannot stretch it read by read (default 10 s).
    pub exchange_timeout: Duration,
    /// Idle connections kept per (host, port, tls) (default 4; 0 disables pooling).
    pub max_idle_per_host: usize,
    /// A pooled connection unused this long is closed rather than reused (default 30 s).
    pub idle_timeout: Duration,
    /// Trusted roots for HTTPS (default `TlsRoots::WebPki`).
    pub roots: TlsRoots,
}

impl Default for ConnectorOptions {
    fn default() -> Self {
        ConnectorOptions {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            exchange_timeout: Duration::from_secs(10),
            max_idle_per_host: 4,
            idle_timeout: Duration::from_secs(30),
            roots: TlsRoots::WebPki,
        }
    }
}

/// Why a `Connector` could not be built.
#[derive(Debug)]
pub enum ConnectorSetupError {
    /// The CA file could not be read.
    ReadCaFile { path: PathBuf, error: io::Error },
    /// The PEM holds no usable CA certificate.
    NoCaCertificates,
    /// A PEM block or certificate was rejected.
    InvalidCaCertificate(String),
}

impl fmt::Display for ConnectorSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectorSetupError::ReadCaFile { path, error } => {
                write!(f, "cannot read CA file {}: {error}", path.display())
            }
            ConnectorSetupError::NoCaCertificates => {
                f.write_str("the CA PEM contains no certificate")
            }
            ConnectorSetupError::InvalidCaCertificate(reason) => {
                write!(f, "invalid CA certificate: {reason}")
            }
        }
    }
}

impl std::error::Error for ConnectorSetupError {}

/// What went wrong while connecting.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// TCP connect plus TLS handshake took longer than `connect_timeout`.
    Timeout,
    /// Name resolution or TCP connect failed.
    Io(io::Error),
    /// The host is neither a DNS name nor an IP address rustls accepts.
    InvalidServerName,
    /// The server's certificate did not verify against the configured roots.
    CertificateVerification(rustls::Error),
    /// Any other TLS handshake failure.
    Tls(io::Error),
}

/// A failed outbound connection, naming the host it was for.
#[derive(Debug)]
pub struct ConnectError {
    host: String,
    port: u16,
    kind: ConnectErrorKind,
}

impl ConnectError {
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn kind(&self) -> &ConnectErrorKind {
        &self.kind
    }

    pub fn is_certificate_error(&self) -> bool {
        matches!(self.kind, ConnectErrorKind::CertificateVerification(_))
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (host, port) = (&self.host, self.port);
        match &self.kind {
            ConnectErrorKind::Timeout => write!(f, "connecting to {host}:{port} timed out"),
            ConnectErrorKind::Io(error) => write!(f, "connecting to {host}:{port} failed: {error}"),
            ConnectErrorKind::InvalidServerName => {
                write!(f, "{host} is not a valid TLS server name")
            }
            ConnectErrorKind::CertificateVerification(error) => write!(
                f,
                "TLS certificate verification failed for {host}:{port}: {error}"
            ),
            ConnectErrorKind::Tls(error) => {
                write!(f, "TLS handshake with {host}:{port} failed: {error}")
            }
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ConnectErrorKind::Io(error) | ConnectErrorKind::Tls(error) => Some(error),
            ConnectErrorKind::CertificateVerification(error) => Some(error),
            ConnectErrorKind::Timeout | ConnectErrorKind::InvalidServerName => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    host: String,
    port: u16,
    tls: bool,
}

/// A plain or TLS stream, both as tokio I/O.
enum MaybeTls {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl MaybeTls {
    fn tcp(&self) -> &TcpStream {
        match self {
            MaybeTls::Plain(tcp) => tcp,
            MaybeTls::Tls(tls) => tls.get_ref().0,
        }
    }

    /// Whether an idle connection still looks usable: the peer has neither closed it
    /// nor sent anything unasked. Best effort; a connection can still die right after.
    fn idle_and_open(&self) -> bool {
        let mut probe = [0; 1];
        matches!(self.tcp().try_read(&mut probe), Err(error) if error.kind() == io::ErrorKind::WouldBlock)
    }
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            MaybeTls::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            MaybeTls::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            MaybeTls::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            MaybeTls::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

struct IdleConnection {
    stream: MaybeTls,
    since: Instant,
}

struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<IdleConnection>>>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
}

impl Pool {
    fn take(&self, key: &PoolKey) -> Option<MaybeTls> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let parked = idle.get_mut(key)?;
        while let Some(connection) = parked.pop() {
            if connection.since.elapsed() < self.idle_timeout && connection.stream.idle_and_open() {
                return Some(connection.stream);
            }
        }
        None
    }

    fn put(&self, key: PoolKey, stream: MaybeTls) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let parked = idle.entry(key).or_default();
        parked.retain(|connection| connection.since.elapsed() < self.idle_timeout);
        if parked.len() < self.max_idle_per_host {
            parked.push(IdleConnection {
                stream,
                since: Instant::now(),
            });
        }
    }

    fn len(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.values().map(Vec::len).sum()
    }
}

/// Opens plain and TLS connections for the core's HTTP client, reusing pooled ones.
/// Share it (e.g. in an `Arc` or inside the service) so the pool is shared too.
pub struct Connector {
    options: ConnectorOptions,
    tls: TlsConnector,
    pool: Pool,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("options", &self.options)
            .field("idle_connections", &self.pool.len())
            .finish()
    }
}

impl Connector {
    pub fn new(options: ConnectorOptions) -> Result<Connector, ConnectorSetupError> {
        let roots = root_store(&options.roots)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| ConnectorSetupError::InvalidCaCertificate(error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Connector {
            tls: TlsConnector::from(Arc::new(config)),
            pool: Pool {
                idle: Mutex::new(HashMap::new()),
                max_idle_per_host: options.max_idle_per_host,
                idle_timeout: options.idle_timeout,
            },
            options,
        })
    }

    /// Idle connections currently pooled, over all hosts.
    pub fn idle_connections(&self) -> usize {
        self.pool.len()
    }

    async fn open(&self, key: &PoolKey) -> Result<MaybeTls, ConnectErrorKind> {
        let tcp = TcpStream::connect((key.host.as_str(), key.port))
            .await
            .map_err(ConnectErrorKind::Io)?;
        if let Err(error) = tcp.set_nodelay(true) {
            debug!(%error, "could not set TCP_NODELAY");
        }
        if !key.tls {
            return Ok(MaybeTls::Plain(tcp));
        }
        let name = ServerName::try_from(key.host.clone())
            .map_err(|_| ConnectErrorKind::InvalidServerName)?;
        match self.tls.connect(name, tcp).await {
            Ok(tls) => Ok(MaybeTls::Tls(Box::new(tls))),
            Err(error) => Err(classify_tls_error(error)),
        }
    }
}

fn classify_tls_error(error: io::Error) -> ConnectErrorKind {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(reason)) => {
            ConnectErrorKind::CertificateVerification(rustls::Error::InvalidCertificate(
                reason.clone(),
            ))
        }
        _ => ConnectErrorKind::Tls(error),
    }
}

fn root_store(roots: &TlsRoots) -> Result<RootCertStore, ConnectorSetupError> {
    let pem = match roots {
        TlsRoots::WebPki => {
            return Ok(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            });
        }
        TlsRoots::PemFile(path) => {
            std::fs::read(path).map_err(|error| ConnectorSetupError::ReadCaFile {
                path: path.clone(),
                error,
            })?
        }
        TlsRoots::Pem(pem) => pem.clone(),
    };
    let mut store = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate
            .map_err(|error| ConnectorSetupError::InvalidCaCertificate(error.to_string()))?;
        store
            .add(certificate)
            .map_err(|error| ConnectorSetupError::InvalidCaCertificate(error.to_string()))?;
    }
    if store.is_empty() {
        return Err(ConnectorSetupError::NoCaCertificates);
    }
    Ok(store)
}

impl Connect for Connector {
    type Connection<'c> = Connection<'c>;
    type Error = ConnectError;

    async fn connect(&self, endpoint: &Endpoint<'_>) -> Result<Connection<'_>, ConnectError> {
        let started = Deadline::now();
        let deadline = started + self.options.exchange_timeout;
        let key = PoolKey {
            host: endpoint.host.to_ascii_lowercase(),
            port: endpoint.port,
            tls: endpoint.tls,
        };
        let stream = match self.pool.take(&key) {
            Some(stream) => stream,
            None => match timeout_at(
                deadline.min(started + self.options.connect_timeout),
                self.open(&key),
            )
            .await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(kind)) => return Err(self.error(&key, kind)),
                Err(_) => return Err(self.error(&key, ConnectErrorKind::Timeout)),
            },
        };
        Ok(Connection {
            stream: Some(FromTokio::new(stream)),
            key,
            connector: self,
            deadline,
            reusable: false,
            broken: false,
        })
    }
}

/// Sleeps on tokio's clock: the timer the core's deadlines race.
impl Timer for Connector {
    async fn sleep_ms(&self, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

impl Connector {
    fn error(&self, key: &PoolKey, kind: ConnectErrorKind) -> ConnectError {
        let error = ConnectError {
            host: key.host.clone(),
            port: key.port,
            kind,
        };
        debug!(%error, "outbound connection failed");
        error
    }
}

/// One outbound connection. Dropped, it returns to the pool if the client marked it
/// reusable and no I/O error or timeout happened on it; otherwise it closes.
pub struct Connection<'c> {
    stream: Option<FromTokio<MaybeTls>>,
    key: PoolKey,
    connector: &'c Connector,
    /// When the exchange must be over, whatever its reads and writes.
    deadline: Deadline,
    reusable: bool,
    broken: bool,
}

impl fmt::Debug for Connection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.key.host)
            .field("port", &self.key.port)
            .field("tls", &self.key.tls)
            .field("reusable", &self.reusable)
            .finish()
    }
}

impl Connection<'_> {
    /// The end of the next read or write: its own bound or the exchange's, whichever is first.
    fn limit(&self, per_call: Duration) -> Deadline {
        self.deadline.min(Deadline::now() + per_call)
    }

    fn stream(&mut self) -> io::Result<&mut FromTokio<MaybeTls>> {
        self.stream
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    fn note<T>(
        &mut self,
        result: Result<io::Result<T>, tokio::time::error::Elapsed>,
    ) -> io::Result<T> {
        let result = result.unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "outbound I/O timed out",
            ))
        });
        if result.is_err() {
            self.broken = true;
        }
        result
    }
}

impl Reusable for Connection<'_> {
    fn mark_reusable(&mut self) {
        self.reusable = true;
    }
}

impl embedded_io::ErrorType for Connection<'_> {
    type Error = io::Error;
}

impl Read for Connection<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let limit = self.limit(self.connector.options.read_timeout);
        let result = timeout_at(limit, self.stream()?.read(buf)).await;
        self.note(result)
    }
}

impl Write for Connection<'_> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let limit = self.limit(self.connector.options.write_timeout);
        let result = timeout_at(limit, self.stream()?.write(buf)).await;
        self.note(result)
    }

    async fn flush(&mut self) -> io::Result<()> {
        let limit = self.limit(self.connector.options.write_timeout);
        let result = timeout_at(limit, self.stream()?.flush()).await;
        self.note(result)
    }
}

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            if self.reusable && !self.broken {
                let key = self.key.clone();
                self.connector.pool.put(key, stream.into_inner());
            }
        }
    }
}
