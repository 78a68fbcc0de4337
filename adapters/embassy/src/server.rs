//! N listening sockets on one port, each running the core's connection loop:
//! accept → serve → flush → close (bounded) → accept again. embassy-net has no
//! listen backlog, so N sockets are N concurrent connections.

use core::cell::Cell;
use core::convert::Infallible;

use embassy_futures::join::join_array;
use embassy_net::Stack;
use embassy_net::raw::{IpProtocol, IpVersion, RawSocket};
use embassy_net::tcp::{State, TcpSocket};
use embassy_time::{Duration, Timer, with_timeout};
use push_advisor_http::server::{Ended, IoError, Phase, serve_observed};
use push_advisor_http::{Buffers, ServerConfig, Service};

use crate::connection::{ConnectionError, TimedSocket};

/// Time bounds for one served connection.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timeouts {
    /// How long a keep-alive connection may wait for the next request.
    pub idle: Duration,
    /// How long it may wait while no socket listens (all are busy): then it is given up
    /// so that a new connection is served. embassy-net shows no waiting connection (its
    /// SYN is dropped and retransmitted, see `DropUnmatchedTcp`), so "all sockets busy"
    /// stands for "someone may be waiting"; checked every `idle_when_full`.
    pub idle_when_full: Duration,
    /// How long a request (head and body) may take once its first bytes arrived.
    pub request: Duration,
    /// How long one write may wait for room in the socket's transmit buffer.
    pub write: Duration,
    /// How long closing may take: sending what is left, the FIN, and the peer's FIN.
    pub close: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle: Duration::from_secs(5),
            idle_when_full: Duration::from_millis(500),
            request: Duration::from_secs(10),
            write: Duration::from_secs(10),
            close: Duration::from_secs(2),
        }
    }
}

/// Memory for one socket: smoltcp's TCP buffers and the core's request/response buffers.
/// Keep it in a `static` (e.g. `static_cell::ConstStaticCell`) so it is not on a stack.
#[derive(Debug)]
pub struct SocketMemory<const TCP_RX: usize, const TCP_TX: usize, const RX: usize, const TX: usize>
{
    tcp_rx: [u8; TCP_RX],
    tcp_tx: [u8; TCP_TX],
    rx: [u8; RX],
    tx: [u8; TX],
}

impl<const TCP_RX: usize, const TCP_TX: usize, const RX: usize, const TX: usize>
    SocketMemory<TCP_RX, TCP_TX, RX, TX>
{
    pub const fn new() -> Self {
        SocketMemory {
            tcp_rx: [0; TCP_RX],
            tcp_tx: [0; TCP_TX],
            rx: [0; RX],
            tx: [0; TX],
        }
    }

    /// Lends this memory to one socket of `serve_sockets`.
    pub fn slot(&mut self) -> SocketSlot<'_> {
        SocketSlot {
            tcp_rx: &mut self.tcp_rx,
            tcp_tx: &mut self.tcp_tx,
            rx: &mut self.rx,
            tx: &mut self.tx,
        }
    }
}

impl<const TCP_RX: usize, const TCP_TX: usize, const RX: usize, const TX: usize> Default
    for SocketMemory<TCP_RX, TCP_TX, RX, TX>
{
    fn default() -> Self {
        Self::new()
    }
}

/// The buffers one socket borrows; sizes are the caller's choice.
#[derive(Debug)]
pub struct SocketSlot<'a> {
    pub tcp_rx: &'a mut [u8],
    pub tcp_tx: &'a mut [u8],
    /// The core's request buffer: a request head and body must fit.
    pub rx: &'a mut [u8],
    /// The core's response buffer: a response head and the largest JSON body must fit.
    pub tx: &'a mut [u8],
}

/// Serves `service` on `port` with one listening socket per slot, forever.
///
/// Each slot takes one smoltcp socket in the stack's `StackResources`.
pub async fn serve_sockets<S: Service, const N: usize>(
    stack: Stack<'_>,
    port: u16,
    service: &S,
    config: &ServerConfig<'_>,
    timeouts: &Timeouts,
    slots: [SocketSlot<'_>; N],
) -> Infallible {
    let mut index = 0;
    let listening = Listening::default();
    let listening = &listening;
    let sockets = slots.map(|slot| {
        index += 1;
        serve_socket(
            stack,
            port,
            service,
            config,
            timeouts,
            slot,
            listening,
            index - 1,
        )
    });
    let _ = join_array(sockets).await;
    // Every `serve_socket` loops forever; this join never completes.
    loop {
        Timer::after_secs(3600).await;
    }
}

/// How many of the sockets serving one port are listening; shared by them (one executor).
#[derive(Debug, Default)]
pub struct Listening(Cell<usize>);

impl Listening {
    /// Whether every socket is busy with a connection.
    pub fn none(&self) -> bool {
        self.0.get() == 0
    }
}

/// One listening socket's accept → serve → close loop, forever. `listening` is shared
/// by the sockets of the port; `index` only names it in logs.
#[allow(clippy::too_many_arguments)]
pub async fn serve_socket<S: Service>(
    stack: Stack<'_>,
    port: u16,
    service: &S,
    config: &ServerConfig<'_>,
    timeouts: &Timeouts,
    slot: SocketSlot<'_>,
    listening: &Listening,
    index: usize,
) -> Infallible {
    let SocketSlot {
        tcp_rx,
        tcp_tx,
        rx,
        tx,
    } = slot;
    loop {
        let mut socket = TcpSocket::new(stack, tcp_rx, tcp_tx);
        // smoltcp's own bound on a silent peer, for states no read or write waits in.
        socket.set_timeout(Some(timeouts.request + timeouts.write + timeouts.idle));
        listening.0.set(listening.0.get() + 1);
        let accepted = socket.accept(port).await;
        listening.0.set(listening.0.get().saturating_sub(1));
        if let Err(error) = accepted {
            warn!("socket {}: accept failed: {:?}", index, error);
            Timer::after_millis(100).await; // never spin on a persistent error
            continue;
        }
        debug!("socket {}: accepted", index);
        let phase = Cell::new(Phase::Idle);
        let outcome = {
            let mut connection = TimedSocket::new(&mut socket, &phase, timeouts, listening);
            let buffers = Buffers {
                rx: &mut *rx,
                tx: &mut *tx,
            };
            serve_observed(&mut connection, service, config, buffers, &mut &phase).await
        };
        let graceful = match outcome {
            Ok(Ended::PeerClosed | Ended::Closed) => true,
            // An idle keep-alive connection that timed out ends normally.
            Err(IoError(ConnectionError::TimedOut)) => phase.get() == Phase::Idle,
            Err(IoError(ConnectionError::Reset)) => false,
        };
        close(&mut socket, graceful, timeouts.close).await;
        debug!("socket {}: closed", index);
    }
}

/// Ends a connection within `bound` (twice at most): a graceful close delivers what
/// was written and waits for the peer's FIN; otherwise, or if that fails, an RST.
async fn close(socket: &mut TcpSocket<'_>, graceful: bool, bound: Duration) {
    if graceful
        && with_timeout(bound, close_gracefully(socket)).await.is_ok()
        && matches!(socket.state(), State::Closed | State::TimeWait)
    {
        return;
    }
    socket.abort();
    // Dropping the socket discards the RST unless it was sent; `flush` waits for it.
    let _ = with_timeout(bound, socket.flush()).await;
}

async fn close_gracefully(socket: &mut TcpSocket<'_>) {
    if socket.flush().await.is_err() {
        return;
    }
    socket.close();
    // Read (and drop) whatever the peer still sends until its FIN.
    let mut scratch = [0u8; 32];
    while let Ok(n) = socket.read(&mut scratch).await {
        if n == 0 {
            break;
        }
    }
    let _ = socket.flush().await; // our FIN acknowledged
}

/// Makes the stack drop TCP segments no socket wants instead of answering them with
/// RST. A client whose SYN arrives while all N sockets are busy then retransmits it
/// (Linux after 1 s, 3 s, ...) and is served when a socket listens again, instead of
/// being refused. Costs one socket in `StackResources`; keep it alive while serving.
///
/// It works through smoltcp's rule that a segment some raw socket saw is never reset;
/// the raw socket has no buffers, so it keeps nothing.
pub struct DropUnmatchedTcp<'d> {
    _raw: RawSocket<'d>,
}

impl core::fmt::Debug for DropUnmatchedTcp<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DropUnmatchedTcp")
    }
}

impl<'d> DropUnmatchedTcp<'d> {
    pub fn new(stack: Stack<'d>) -> Self {
        let raw = RawSocket::new(
            stack,
            Some(IpVersion::Ipv4),
            Some(IpProtocol::Tcp),
            &mut [],
            &mut [],
            &mut [],
            &mut [],
        );
        DropUnmatchedTcp { _raw: raw }
    }
}
