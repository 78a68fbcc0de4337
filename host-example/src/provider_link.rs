//! The host's link to the OAuth provider: the tokio connector with failures logged
//! (so a wrong CA or a down provider is visible) and every call counted in the metrics,
//! and discovery retried with back-off.

use std::time::{Duration, Instant};

use embedded_io_async::{ErrorType, Read, Write};
use push_advisor_app::Metadata;
use push_advisor_http::net::{Connect, Endpoint, Reusable};
use push_advisor_oauth::{DiscoveryError, OAuthConfig, discover};
use push_advisor_tokio::{ConnectError, Connection, Connector};
use tracing::{info, warn};

use crate::metrics::Metrics;

/// The tokio connector, logging every failed connection once and counting each call
/// (a connection's life, from connecting to dropping it) by outcome and latency.
#[derive(Debug)]
pub struct LoggedConnector {
    /// The connector.
    pub connector: Connector,
    /// Where calls are counted.
    pub metrics: &'static Metrics,
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
                warn!("provider connection failed: {error}");
                self.metrics
                    .provider_call("connect_failed", started.elapsed());
                Err(error)
            }
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
                        "the provider's metadata names another issuer: `push-advisor check` shows which (a trailing `/` counts)"
                    );
                }
                warn!(issuer = config.issuer, ?error, retry_in = ?delay, "provider discovery failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
