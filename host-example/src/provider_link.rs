//! The host's link to the OAuth provider: the tokio connector with every failure logged
//! with its cause, a few lines per window (so a wrong CA, a down or misbehaving provider
//! is visible without flooding the log), every call counted in the metrics, and
//! discovery retried with back-off.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use embedded_io_async::{ErrorType, Read, Write};
use push_advisor_app::Metadata;
use push_advisor_http::failure::{CAUSES, ExchangeFailure, LogGate};
use push_advisor_http::net::{Connect, Endpoint, Reusable};
use push_advisor_http::time::Timer;
use push_advisor_oauth::{DiscoveryError, OAuthConfig, discover};
use push_advisor_tokio::{ConnectError, ConnectErrorKind, Connection, Connector};
use tracing::{info, warn};

use crate::metrics::Metrics;

/// The tokio connector, logging failed calls with their cause and counting each call
/// (a connection's life, from connecting to dropping it) by outcome and latency.
#[derive(Debug)]
pub struct LoggedConnector {
    /// The connector.
    pub connector: Connector,
    /// Where calls are counted.
    pub metrics: &'static Metrics,
    /// One gate per cause, so a flood of one cause does not hide another.
    gates: Mutex<[LogGate; CAUSES]>,
    origin: Instant,
}

impl LoggedConnector {
    pub fn new(connector: Connector, metrics: &'static Metrics) -> Self {
        LoggedConnector {
            connector,
            metrics,
            gates: Mutex::new([const { LogGate::new() }; CAUSES]),
            origin: Instant::now(),
        }
    }

    /// Writes one line for a failed call unless too many were written lately; `detail`
    /// names the host or status, never a token or a secret.
    fn log_failure(&self, failure: ExchangeFailure, detail: &dyn std::fmt::Display) {
        let now_ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        let admitted = self
            .gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(failure.index())
            .and_then(|gate| gate.admit(now_ms));
        if let Some(suppressed) = admitted {
            let cause = failure.cause();
            warn!(cause, suppressed, "provider call failed: {detail}");
        }
    }
}

/// The cause of a failed connect.
fn connect_failure(kind: &ConnectErrorKind) -> ExchangeFailure {
    match kind {
        ConnectErrorKind::Timeout => ExchangeFailure::Timeout,
        ConnectErrorKind::CertificateVerification(_) | ConnectErrorKind::Tls(_) => {
            ExchangeFailure::Tls
        }
        _ => ExchangeFailure::Connect,
    }
}

impl Timer for LoggedConnector {
    async fn sleep_ms(&self, ms: u64) {
        self.connector.sleep_ms(ms).await;
    }
}

impl Connect for LoggedConnector {
    type Connection<'c> = CountedConnection<'c>;
    type Error = ConnectError;

    async fn connect(
        &self,
        endpoint: &Endpoint<'_>,
    ) -> Result<CountedConnection<'_>, ConnectError> {
        let started = Instant::now();
        match self.connector.connect(endpoint).await {
            Ok(connection) => Ok(CountedConnection {
                connection,
                metrics: self.metrics,
                started,
                failed: false,
            }),
            Err(error) => {
                self.log_failure(connect_failure(error.kind()), &error);
                self.metrics
                    .provider_call("connect_failed", started.elapsed());
                Err(error)
            }
        }
    }

    fn exchange_failed(&self, failure: ExchangeFailure) {
        match failure {
            ExchangeFailure::Status(status) => {
                self.log_failure(failure, &format_args!("answered {status}"));
            }
            ExchangeFailure::Timeout => {
                self.log_failure(failure, &"no answer within the provider timeout");
            }
            other => self.log_failure(other, &"the answer was refused"),
        }
    }
}

/// A provider connection that records its call when dropped: `io_failed` after a read
/// or write error (timeouts included), `ok` otherwise.
#[derive(Debug)]
pub struct CountedConnection<'c> {
    connection: Connection<'c>,
    metrics: &'static Metrics,
    started: Instant,
    failed: bool,
}

impl Drop for CountedConnection<'_> {
    fn drop(&mut self) {
        let outcome = if self.failed { "io_failed" } else { "ok" };
        self.metrics.provider_call(outcome, self.started.elapsed());
    }
}

impl ErrorType for CountedConnection<'_> {
    type Error = <Connection<'static> as ErrorType>::Error;
}

impl Read for CountedConnection<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let read = self.connection.read(buf).await;
        self.failed |= read.is_err();
        read
    }
}

impl Write for CountedConnection<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let written = self.connection.write(buf).await;
        self.failed |= written.is_err();
        written
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        let flushed = self.connection.flush().await;
        self.failed |= flushed.is_err();
        flushed
    }
}

impl Reusable for CountedConnection<'_> {
    fn mark_reusable(&mut self) {
        self.connection.mark_reusable();
    }
}

/// Discovers the provider, retrying with back-off until it answers; protected routes
/// answer 503 until then while public ones already serve.
pub async fn discover_until_known(
    connector: &LoggedConnector,
    config: &OAuthConfig<'_>,
    metadata: &Metadata,
) {
    let mut delay = Duration::from_millis(250);
    let mut rx = vec![0u8; 16 * 1024];
    loop {
        match discover(connector, config, &mut rx).await {
            Ok(found) => {
                let view = found.view();
                info!(
                    issuer = view.issuer(),
                    introspection = view.introspection_endpoint().unwrap_or("none"),
                    "provider discovered"
                );
                metadata.set(found);
                return;
            }
            Err(error) => {
                if error == DiscoveryError::IssuerMismatch {
                    warn!(
                        issuer = config.issuer,
                        retry_in = ?delay,
                        "provider discovery failed: the provider's metadata names another issuer; `push-advisor check` shows which (a trailing `/` counts)"
                    );
                } else {
                    warn!(issuer = config.issuer, ?error, retry_in = ?delay, "provider discovery failed");
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
