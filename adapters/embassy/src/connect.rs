//! Outbound connections to the authorization server over embassy-net: DNS through
//! the stack's resolver, sockets from a `TcpClient` pool, one deadline for a whole
//! exchange (connect, write and the answer); `https` endpoints through TLS slots
//! (feature `tls`, see `tls.rs`). It is also the core's `Timer`, and logs failed calls
//! with their cause (features `defmt`/`log`), a few lines per cause and window.
// Without `tls` the link has one variant, and matching on it is the same code either way.
#![cfg_attr(not(feature = "tls"), allow(clippy::infallible_destructuring_match))]

use embassy_net::Stack;
use embassy_net::dns::DnsQueryType;
use embassy_net::tcp::client::{TcpClient, TcpClientState, TcpConnection};
use embassy_time::{Duration, Instant, TimeoutError, with_deadline};
use embedded_io_async::{ErrorType, Read, Write};
use embedded_nal_async::TcpConnect;
use push_advisor_http::failure::ExchangeFailure;
use push_advisor_http::net::{Connect, Endpoint, Reusable};
use push_advisor_http::time::Timer;

use crate::connection::ConnectionError;

/// Why an outbound connection could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectError {
    /// The host name did not resolve (or the resolver failed).
    Dns,
    /// No free socket in the pool, or the peer refused or was unreachable.
    Connect,
    /// Resolving or connecting took longer than the connect timeout.
    TimedOut,
    /// The endpoint asks for TLS and this build has no `tls` feature (or no TLS slots).
    TlsUnavailable,
    /// The provider's certificate does not chain to the configured CA or names another host.
    Certificate,
    /// The TLS handshake failed for another reason.
    Tls,
}

/// Opens plain TCP connections; `N` at once, each with `TX`/`RX`-byte socket buffers
/// held in the caller's `TcpClientState`.
pub struct TcpConnector<'d, const N: usize, const TX: usize, const RX: usize> {
    stack: Stack<'d>,
    client: TcpClient<'d, N, TX, RX>,
    connect_timeout: Duration,
    io_timeout: Duration,
    #[cfg(feature = "tls")]
    tls: &'d [crate::tls::TlsSlot],
    #[cfg(any(feature = "defmt", feature = "log"))]
    gates: FailureGates,
}

/// One log gate per failure cause (only when something logs).
#[cfg(any(feature = "defmt", feature = "log"))]
type FailureGates = embassy_sync::blocking_mutex::Mutex<
    embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex,
    core::cell::RefCell<[push_advisor_http::failure::LogGate; push_advisor_http::failure::CAUSES]>,
>;

impl<const N: usize, const TX: usize, const RX: usize> core::fmt::Debug
    for TcpConnector<'_, N, TX, RX>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpConnector")
            .field("connections", &N)
            .field("connect_timeout", &self.connect_timeout)
            .field("io_timeout", &self.io_timeout)
            .finish()
    }
}

impl<'d, const N: usize, const TX: usize, const RX: usize> TcpConnector<'d, N, TX, RX> {
    /// `connect_timeout` bounds DNS plus the TCP handshake (for `https` also waiting
    /// for a TLS slot and the TLS handshake); `io_timeout` the whole exchange, from the
    /// connect call to the last byte read, on either link.
    pub fn new(
        stack: Stack<'d>,
        state: &'d TcpClientState<N, TX, RX>,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> Self {
        // No socket inactivity timeout: the exchange's deadline ends every exchange, and
        // an equal smoltcp timeout would race it, aborting a hung exchange as a reset
        // (logged `closed`) instead of letting it end as the timeout it is.
        let client = TcpClient::new(stack, state);
        TcpConnector {
            stack,
            client,
            connect_timeout,
            io_timeout,
            #[cfg(feature = "tls")]
            tls: &[],
            #[cfg(any(feature = "defmt", feature = "log"))]
            gates: embassy_sync::blocking_mutex::Mutex::new(core::cell::RefCell::new(
                [const { push_advisor_http::failure::LogGate::new() };
                    push_advisor_http::failure::CAUSES],
            )),
        }
    }

    /// Serves `https` endpoints through these slots, each run by a `run_tls_worker`.
    #[cfg(feature = "tls")]
    pub fn with_tls(self, slots: &'d [crate::tls::TlsSlot]) -> Self {
        TcpConnector { tls: slots, ..self }
    }

    /// A plain TCP connection to `host:port`: DNS and handshake end by `connected_by`,
    /// the exchange on it (every read and write) by `deadline`.
    pub(crate) async fn open_plain(
        &self,
        host: &str,
        port: u16,
        connected_by: Instant,
        deadline: Instant,
    ) -> Result<Outbound<'_, N, TX, RX>, ConnectError> {
        let endpoint = Endpoint {
            host,
            port,
            tls: false,
            path: "/",
        };
        let connection = with_deadline(connected_by, self.open(&endpoint))
            .await
            .map_err(|_| ConnectError::TimedOut)??;
        Ok(Outbound {
            link: Link::Plain(connection),
            deadline,
        })
    }

    /// Logs a failed call with its cause, unless its cause has had its lines lately.
    #[cfg(any(feature = "defmt", feature = "log"))]
    fn log_failure(&self, failure: ExchangeFailure) {
        let now_ms = Instant::now().as_millis();
        let admitted = self.gates.lock(|gates| {
            gates
                .borrow_mut()
                .get_mut(failure.index())
                .and_then(|gate| gate.admit(now_ms))
        });
        if let Some(suppressed) = admitted {
            let status = match failure {
                ExchangeFailure::Status(status) => status,
                _ => 0,
            };
            warn!(
                "provider call failed: cause={} status={} suppressed={}",
                failure.cause(),
                status,
                suppressed
            );
        }
    }

    async fn open(
        &self,
        endpoint: &Endpoint<'_>,
    ) -> Result<TcpConnection<'_, N, TX, RX>, ConnectError> {
        let addresses = self
            .stack
            .dns_query(endpoint.host, DnsQueryType::A)
            .await
            .map_err(|_| ConnectError::Dns)?;
        let address = addresses.first().ok_or(ConnectError::Dns)?;
        let remote = core::net::SocketAddr::new((*address).into(), endpoint.port);
        self.client
            .connect(remote)
            .await
            .map_err(|_| ConnectError::Connect)
    }
}

impl<const N: usize, const TX: usize, const RX: usize> Connect for TcpConnector<'_, N, TX, RX> {
    type Connection<'c>
        = Outbound<'c, N, TX, RX>
    where
        Self: 'c;
    type Error = ConnectError;

    async fn connect(&self, endpoint: &Endpoint<'_>) -> Result<Self::Connection<'_>, ConnectError> {
        let opened = self.open_link(endpoint).await;
        #[cfg(any(feature = "defmt", feature = "log"))]
        if let Err(error) = &opened {
            self.log_failure(match error {
                ConnectError::TimedOut => ExchangeFailure::Timeout,
                ConnectError::Certificate | ConnectError::Tls | ConnectError::TlsUnavailable => {
                    ExchangeFailure::Tls
                }
                ConnectError::Dns | ConnectError::Connect => ExchangeFailure::Connect,
            });
        }
        opened
    }

    fn exchange_failed(&self, failure: ExchangeFailure) {
        #[cfg(any(feature = "defmt", feature = "log"))]
        self.log_failure(failure);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        let _ = failure;
    }
}

/// Sleeps on embassy-time: the timer the core's deadlines race.
impl<const N: usize, const TX: usize, const RX: usize> Timer for TcpConnector<'_, N, TX, RX> {
    async fn sleep_ms(&self, ms: u64) {
        embassy_time::Timer::after_millis(ms).await;
    }
}

impl<const N: usize, const TX: usize, const RX: usize> TcpConnector<'_, N, TX, RX> {
    /// Opens the link for one exchange, whose deadline starts now: connecting (and the
    /// TLS handshake), writing and the whole answer all end by it.
    async fn open_link(
        &self,
        endpoint: &Endpoint<'_>,
    ) -> Result<Outbound<'_, N, TX, RX>, ConnectError> {
        let deadline = Instant::now() + self.io_timeout;
        let connected_by = deadline.min(Instant::now() + self.connect_timeout);
        if !endpoint.tls {
            return self
                .open_plain(endpoint.host, endpoint.port, connected_by, deadline)
                .await;
        }
        #[cfg(feature = "tls")]
        if !self.tls.is_empty() {
            let stream = crate::tls::open_stream(
                self.tls,
                endpoint.host,
                endpoint.port,
                connected_by,
                deadline,
            )
            .await?;
            return Ok(Outbound {
                link: Link::Tls(stream),
                deadline,
            });
        }
        Err(ConnectError::TlsUnavailable)
    }
}

/// An open outbound connection; dropping it closes the socket and frees its buffers.
/// It is never kept for reuse, so `mark_reusable` has nothing to do.
pub struct Outbound<'c, const N: usize, const TX: usize, const RX: usize> {
    link: Link<'c, N, TX, RX>,
    /// When the exchange must be over, whatever its reads and writes.
    deadline: Instant,
}

enum Link<'c, const N: usize, const TX: usize, const RX: usize> {
    Plain(TcpConnection<'c, N, TX, RX>),
    #[cfg(feature = "tls")]
    Tls(crate::tls::TlsStream<'c>),
}

impl<const N: usize, const TX: usize, const RX: usize> core::fmt::Debug
    for Outbound<'_, N, TX, RX>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outbound").finish_non_exhaustive()
    }
}

impl<const N: usize, const TX: usize, const RX: usize> ErrorType for Outbound<'_, N, TX, RX> {
    type Error = ConnectionError;
}

/// Every read, write and flush ends by the exchange's deadline, on either link.
impl<const N: usize, const TX: usize, const RX: usize> Read for Outbound<'_, N, TX, RX> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ConnectionError> {
        match &mut self.link {
            Link::Plain(connection) => {
                ended(with_deadline(self.deadline, connection.read(buf)).await)
            }
            #[cfg(feature = "tls")]
            Link::Tls(stream) => ended(with_deadline(self.deadline, stream.read(buf)).await),
        }
    }
}

impl<const N: usize, const TX: usize, const RX: usize> Write for Outbound<'_, N, TX, RX> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ConnectionError> {
        match &mut self.link {
            Link::Plain(connection) => {
                ended(with_deadline(self.deadline, connection.write(buf)).await)
            }
            #[cfg(feature = "tls")]
            Link::Tls(stream) => ended(with_deadline(self.deadline, stream.write(buf)).await),
        }
    }

    async fn flush(&mut self) -> Result<(), ConnectionError> {
        match &mut self.link {
            Link::Plain(connection) => {
                ended(with_deadline(self.deadline, connection.flush()).await)
            }
            #[cfg(feature = "tls")]
            Link::Tls(stream) => ended(with_deadline(self.deadline, stream.flush()).await),
        }
    }
}

/// A step's outcome by the exchange's deadline: `TimedOut` if it had not ended, a reset
/// for any error of the link (a plain function, not a future around the step: it would
/// grow every connection's future on a device).
fn ended<T, E>(outcome: Result<Result<T, E>, TimeoutError>) -> Result<T, ConnectionError> {
    match outcome {
        Ok(result) => result.map_err(|_| ConnectionError::Reset),
        Err(TimeoutError) => Err(ConnectionError::TimedOut),
    }
}

impl<const N: usize, const TX: usize, const RX: usize> Reusable for Outbound<'_, N, TX, RX> {
    fn mark_reusable(&mut self) {}
}
