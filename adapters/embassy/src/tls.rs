//! Outbound TLS 1.3 (embedded-tls) to the authorization server, verifying its
//! certificate chain against one configured CA (ECDSA P-256).
//!
//! Why workers: embedded-tls borrows its record buffers for the whole connection, and a
//! connection returned by `Connect::connect(&self)` cannot borrow buffers it also owns
//! without `unsafe`. So each TLS session runs inside a worker future (`run_tls_worker`,
//! spawned once per slot by the firmware) whose own frame lends the buffers; the
//! connection handed to the core is a `TlsStream` that talks to its worker through two
//! small pipes. A slot serves one session at a time.
//!
//! Certificate validity dates are not checked (`NoClock`): the device learns wall time
//! from the provider, over this very connection. The server name is matched against the
//! certificate's DNS names or common name (embedded-tls does not read IP address SANs).

use core::cell::Cell;

use embassy_futures::select::{Either, Either3, select, select3};
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::pipe::Pipe;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Instant, with_deadline};
use embedded_io_async::{ErrorType, Read, Write};
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CryptoProvider, CryptoRngCore, NoClock, TlsConfig, TlsConnection,
    TlsContext, TlsError, TlsVerifier,
};

use crate::connect::{ConnectError, TcpConnector};
use crate::connection::ConnectionError;

type Mx = CriticalSectionRawMutex;
type Suite = Aes128GcmSha256;
/// Largest server certificate the verifier keeps for the signature check.
const CERT_BYTES: usize = 2048;
/// Longest host name a session can be asked for.
const HOST_BYTES: usize = 64;

/// The record buffer sizes a worker needs: any server may send 16 KiB records
/// (16,640 bytes with overhead); requests are small, so 2 KiB suffice for writing.
pub const TLS_READ_RECORD: usize = 16_640;
pub const TLS_WRITE_RECORD: usize = 2048;

/// Where a session goes, and by when: the client's exchange deadline holds for the
/// worker's side of the session too.
#[derive(Debug, Clone)]
struct Target {
    host: heapless::String<HOST_BYTES>,
    port: u16,
    /// When the TCP and TLS handshakes must be done.
    connected_by: Instant,
    /// When the whole exchange must be over.
    deadline: Instant,
}

/// Why the worker could not open a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TlsFailure {
    /// DNS, TCP or the handshake's I/O failed.
    Connect(ConnectError),
    /// The server's certificate does not chain to the CA or does not name the host.
    Certificate,
    /// Any other handshake failure.
    Handshake,
    /// The handshake did not end by the connect deadline.
    TimedOut,
}

/// One TLS session's meeting point between a `TlsStream` and its worker.
pub struct TlsSlot {
    busy: BlockingMutex<Mx, Cell<bool>>,
    ended: BlockingMutex<Mx, Cell<bool>>,
    request: Signal<Mx, Target>,
    opened: Signal<Mx, Result<(), TlsFailure>>,
    ended_wake: Signal<Mx, ()>,
    client_done: Signal<Mx, ()>,
    to_server: Pipe<Mx, 512>,
    from_server: Pipe<Mx, 1024>,
}

impl core::fmt::Debug for TlsSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsSlot")
            .field("busy", &self.busy.lock(Cell::get))
            .finish_non_exhaustive()
    }
}

impl Default for TlsSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsSlot {
    pub const fn new() -> Self {
        TlsSlot {
            busy: BlockingMutex::new(Cell::new(false)),
            ended: BlockingMutex::new(Cell::new(false)),
            request: Signal::new(),
            opened: Signal::new(),
            ended_wake: Signal::new(),
            client_done: Signal::new(),
            to_server: Pipe::new(),
            from_server: Pipe::new(),
        }
    }

    /// Claims the slot if it is free.
    fn claim(&self) -> bool {
        self.busy.lock(|busy| !busy.replace(true))
    }

    fn has_ended(&self) -> bool {
        self.ended.lock(Cell::get)
    }

    fn end(&self) {
        self.ended.lock(|ended| ended.set(true));
        self.ended_wake.signal(());
    }
}

/// How often a connect waiting for a busy TLS slot looks again.
const SLOT_POLL: Duration = Duration::from_millis(20);

/// Opens a session on a free slot (waiting for one) and waits for its handshake, all by
/// `connected_by`; the worker's side of the session ends by `deadline` too.
pub(crate) async fn open_stream<'s>(
    slots: &'s [TlsSlot],
    host: &str,
    port: u16,
    connected_by: Instant,
    deadline: Instant,
) -> Result<TlsStream<'s>, ConnectError> {
    let host = heapless::String::try_from(host).map_err(|_| ConnectError::Dns)?;
    // A slot frees once its worker has closed the previous session, which can trail the
    // previous connection's drop: wait for one within the connect deadline instead of
    // refusing at once.
    let slot = loop {
        if let Some(slot) = slots.iter().find(|slot| slot.claim()) {
            break slot;
        }
        if slots.is_empty() || Instant::now() >= connected_by {
            return Err(ConnectError::Connect);
        }
        embassy_time::Timer::after(SLOT_POLL).await;
    };
    // From here the stream's drop tells the worker the client is gone, whatever happens.
    let stream = TlsStream { slot };
    slot.opened.reset();
    slot.request.signal(Target {
        host,
        port,
        connected_by,
        deadline,
    });
    // The worker ends its handshake by the same instant.
    match with_deadline(connected_by, slot.opened.wait()).await {
        Ok(Ok(())) => Ok(stream),
        Ok(Err(TlsFailure::Connect(error))) => Err(error),
        Ok(Err(TlsFailure::TimedOut)) | Err(_) => Err(ConnectError::TimedOut),
        Ok(Err(TlsFailure::Certificate)) => Err(ConnectError::Certificate),
        Ok(Err(TlsFailure::Handshake)) => Err(ConnectError::Tls),
    }
}

/// The client's end of a TLS session; dropping it ends the session. Its reads and
/// writes wait for the worker: the `Outbound` holding it bounds them by the exchange's
/// deadline.
pub struct TlsStream<'s> {
    slot: &'s TlsSlot,
}

impl core::fmt::Debug for TlsStream<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TlsStream").finish_non_exhaustive()
    }
}

impl Drop for TlsStream<'_> {
    fn drop(&mut self) {
        self.slot.client_done.signal(());
    }
}

impl ErrorType for TlsStream<'_> {
    type Error = ConnectionError;
}

impl Read for TlsStream<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ConnectionError> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Ok(n) = self.slot.from_server.try_read(buf) {
                return Ok(n);
            }
            if self.slot.has_ended() {
                return Ok(0);
            }
            match select(self.slot.from_server.read(buf), self.slot.ended_wake.wait()).await {
                Either::First(n) => return Ok(n),
                Either::Second(()) => continue,
            }
        }
    }
}

impl Write for TlsStream<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ConnectionError> {
        if self.slot.has_ended() {
            return Err(ConnectionError::Reset);
        }
        Ok(self.slot.to_server.write(buf).await)
    }

    /// The worker sends what it takes from the pipe at once, one record per read.
    async fn flush(&mut self) -> Result<(), ConnectionError> {
        match self.slot.has_ended() {
            true => Err(ConnectionError::Reset),
            false => Ok(()),
        }
    }
}

/// Serves `slot` forever: one TLS session per request, each verified against `ca_der`
/// (a DER certificate). `tcp` opens the underlying connections; the record buffers are
/// lent for each session (at least `TLS_READ_RECORD` / `TLS_WRITE_RECORD` bytes unless
/// the server is known to send smaller records).
pub async fn run_tls_worker<const N: usize, const TX: usize, const RX: usize>(
    slot: &TlsSlot,
    tcp: &TcpConnector<'_, N, TX, RX>,
    ca_der: &[u8],
    rng: &mut impl CryptoRngCore,
    read_record: &mut [u8],
    write_record: &mut [u8],
) -> ! {
    loop {
        let target = slot.request.wait().await;
        slot.to_server.clear();
        slot.from_server.clear();
        slot.client_done.reset();
        slot.ended_wake.reset();
        slot.ended.lock(|ended| ended.set(false));
        let client_gone = session(
            slot,
            tcp,
            &target,
            ca_der,
            &mut *rng,
            &mut *read_record,
            &mut *write_record,
        )
        .await;
        slot.end();
        if !client_gone {
            slot.client_done.wait().await;
        }
        slot.busy.lock(|busy| busy.set(false));
    }
}

/// One session; true when it ended because the client dropped its stream.
async fn session<const N: usize, const TX: usize, const RX: usize>(
    slot: &TlsSlot,
    tcp: &TcpConnector<'_, N, TX, RX>,
    target: &Target,
    ca_der: &[u8],
    rng: &mut impl CryptoRngCore,
    read_record: &mut [u8],
    write_record: &mut [u8],
) -> bool {
    // The socket's reads and writes end by the client's deadline, as the handshake
    // ends by its connect deadline: a provider that stalls cannot hold the slot longer.
    let socket = match tcp
        .open_plain(
            &target.host,
            target.port,
            target.connected_by,
            target.deadline,
        )
        .await
    {
        Ok(socket) => socket,
        Err(error) => {
            slot.opened.signal(Err(TlsFailure::Connect(error)));
            return false;
        }
    };
    let config = TlsConfig::new().with_server_name(&target.host);
    let provider = VerifyingProvider {
        rng,
        verifier: CertVerifier::new(Certificate::X509(ca_der)),
    };
    let mut tls: TlsConnection<'_, _, Suite> =
        TlsConnection::new(socket, read_record, write_record);
    let opened = with_deadline(
        target.connected_by,
        tls.open(TlsContext::new(&config, provider)),
    )
    .await;
    match opened {
        Ok(Ok(())) => slot.opened.signal(Ok(())),
        Ok(Err(error)) => {
            let failure = match error {
                TlsError::InvalidCertificate
                | TlsError::InvalidSignature
                | TlsError::InvalidSignatureScheme
                | TlsError::InvalidCertificateEntry
                | TlsError::DecodeError => TlsFailure::Certificate,
                _ => TlsFailure::Handshake,
            };
            if failure == TlsFailure::Certificate {
                warn!(
                    "TLS: the provider's certificate is not accepted ({:?}): it must chain to the configured CA and name {}",
                    error,
                    target.host.as_str()
                );
            } else {
                warn!("TLS: handshake with the provider failed ({:?})", error);
            }
            slot.opened.signal(Err(failure));
            return false;
        }
        Err(_) => {
            warn!("TLS: handshake with the provider timed out");
            slot.opened.signal(Err(TlsFailure::TimedOut));
            return false;
        }
    }
    relay(slot, &mut tls).await
}

/// Moves bytes between the pipes and the TLS connection until either side is done.
async fn relay<S: Read + Write>(slot: &TlsSlot, tls: &mut TlsConnection<'_, S, Suite>) -> bool {
    let mut incoming = [0u8; 512];
    let mut outgoing = [0u8; 512];
    loop {
        let step = select3(
            tls.read(&mut incoming),
            slot.to_server.read(&mut outgoing),
            slot.client_done.wait(),
        )
        .await;
        match step {
            Either3::First(Ok(n)) if n > 0 => {
                let data = incoming.get(..n).unwrap_or(&[]);
                let delivered =
                    select(slot.from_server.write_all(data), slot.client_done.wait()).await;
                if let Either::Second(()) = delivered {
                    return true;
                }
            }
            Either3::First(_) => return false,
            Either3::Second(n) => {
                let data = outgoing.get(..n).unwrap_or(&[]);
                if tls.write_all(data).await.is_err() || tls.flush().await.is_err() {
                    return false;
                }
            }
            Either3::Third(()) => return true,
        }
    }
}

/// embedded-tls's crypto provider: the board's RNG and a CA-based verifier.
struct VerifyingProvider<'a, R> {
    rng: R,
    verifier: CertVerifier<'a, Suite, NoClock, CERT_BYTES>,
}

impl<R: CryptoRngCore> CryptoProvider for VerifyingProvider<'_, R> {
    type CipherSuite = Suite;
    type Signature = &'static [u8];

    fn rng(&mut self) -> impl CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Suite>, TlsError> {
        Ok(&mut self.verifier)
    }
}
