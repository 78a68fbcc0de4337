//! The accept loop: admits connections up to a cap (503 beyond it), serves each on a
//! worker thread through the core's connection loop, and shuts down gracefully.
//!
//! Why worker threads with a `LocalSet` each instead of `tokio::spawn`: the core's
//! connection future is not `Send`, so `tokio::spawn` refuses it. `Service::call` is an
//! `async fn` in a trait, so for a generic `S` its future cannot be proven `Send` (that
//! needs return-type notation, unstable), and even for a concrete service the core's
//! responder holds a `Body::Render(&dyn Fn ..)`, which is not `Sync`, across awaits.
//! Each worker runs a current-thread runtime and spawns connections with `spawn_local`;
//! the acceptor hands them over as `std::net::TcpStream`s to the least-loaded worker.
//! The service is shared as `Arc<S>`, hence `S: Send + Sync`. This also lets the phase
//! be a plain `Cell<Phase>`, the observer the core provides.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use embedded_io_async::Write;
use push_advisor_http::response::{JSON, NOSNIFF, WriteError};
use push_advisor_http::server::{
    self, Buffers, Ended, IoError, Observer, Phase, ServerConfig, Service,
};
use push_advisor_http::{Limits, MethodSet, Request, RequestError, Responder, Sent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::{JoinSet, LocalSet};
use tokio::time::timeout;
use tracing::{debug, trace, warn};

use crate::client_address;
use crate::deadline::{DeadlineStream, Expired, Timeouts, WorkerStop};

/// Settings of the accept loop and of every connection it serves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Request limits enforced by the core (default: `Limits::default()`).
    pub limits: Limits,
    /// Origins allowed for CORS and MCP's Origin check; `"*"` allows any (default `["*"]`).
    pub allowed_origins: Vec<String>,
    /// Receive buffer per connection; must hold a request head plus body (default 8 KiB).
    pub rx_buffer: usize,
    /// Transmit buffer per connection (default 4 KiB). A response that fits goes out in one
    /// write (every API and MCP answer is under 2 KB); a larger one is rendered and sent
    /// window by window. Every connection holds one, so it is kept small.
    pub tx_buffer: usize,
    /// Connections served at once (default 512). When all are taken, a new connection
    /// closes the one that has waited longest without a request under way (idle in
    /// keep-alive, or still sending its request head); with none, it gets a 503.
    pub max_connections: usize,
    /// Connections one client address may hold (default 256); beyond it the same rule
    /// applies within that address's own connections.
    pub max_connections_per_address: usize,
    /// How long a kept-alive connection may wait for its next request (default 30 s).
    pub idle_timeout: Duration,
    /// How long a request (head and body) may take from its first byte; then 408 (default 10 s).
    pub head_timeout: Duration,
    /// How long one write may wait for a peer that does not read (default 10 s).
    pub write_timeout: Duration,
    /// After shutdown, how long in-flight requests may take before being aborted (default 10 s).
    pub shutdown_grace: Duration,
    /// Worker threads; 0 means two per available CPU (default 0). A connection stays on
    /// the worker it was handed to, so while the scheduler has a worker off its CPU, all
    /// of that worker's connections wait: with more workers than CPUs each such stall
    /// holds up fewer connections (BENCHMARKS.md, "Tail latency").
    pub workers: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            limits: Limits::default(),
            allowed_origins: vec!["*".to_owned()],
            rx_buffer: 8 * 1024,
            tx_buffer: 4 * 1024,
            max_connections: 512,
            max_connections_per_address: 256,
            idle_timeout: Duration::from_secs(30),
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            workers: 0,
        }
    }
}

/// Worker threads per CPU when `ServerOptions::workers` is 0.
const WORKERS_PER_CPU: usize = 2;

/// What `run` did, counted over its whole life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeStats {
    /// Connections admitted and served.
    pub accepted: u64,
    /// Connections answered 503 because `max_connections` (or the address's share)
    /// were open and none of them could be closed for it.
    pub refused_over_capacity: u64,
    /// Connections closed to make room for a new one (idle, or no full request head).
    pub evicted: u64,
    /// Connections closed because they stayed idle past `idle_timeout`.
    pub idle_timeouts: u64,
    /// Connections closed (after a 408) because a request was not received in time.
    pub head_timeouts: u64,
    /// Connections closed because a write blocked past `write_timeout`.
    pub write_timeouts: u64,
    /// Connections ended by another I/O error.
    pub failed: u64,
    /// Connections still busy when the shutdown grace period ran out.
    pub aborted_at_shutdown: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    refused_over_capacity: AtomicU64,
    evicted: AtomicU64,
    idle_timeouts: AtomicU64,
    head_timeouts: AtomicU64,
    write_timeouts: AtomicU64,
    failed: AtomicU64,
    aborted_at_shutdown: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ServeStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ServeStats {
            accepted: get(&self.accepted),
            refused_over_capacity: get(&self.refused_over_capacity),
            evicted: get(&self.evicted),
            idle_timeouts: get(&self.idle_timeouts),
            head_timeouts: get(&self.head_timeouts),
            write_timeouts: get(&self.write_timeouts),
            failed: get(&self.failed),
            aborted_at_shutdown: get(&self.aborted_at_shutdown),
        }
    }
}

/// The counts of a running server, readable while it serves (for metrics): hand one to
/// [`run_with_stats`] and read it from anywhere.
#[derive(Debug, Default)]
pub struct LiveStats {
    counters: Counters,
    open_connections: AtomicUsize,
}

impl LiveStats {
    /// The counts so far.
    pub fn snapshot(&self) -> ServeStats {
        self.counters.snapshot()
    }

    /// Connections being served now.
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::Acquire)
    }
}

struct Shared {
    options: ServerOptions,
    live: Arc<LiveStats>,
    slots: Mutex<Slots>,
    started: Instant,
}

/// The open connections, so that a new one can make room (see `ServerOptions::max_connections`).
#[derive(Default)]
struct Slots {
    next_id: u64,
    open: HashMap<u64, Arc<Slot>>,
    per_address: HashMap<IpAddr, usize>,
    /// Told to close, not closed yet: their room is already given away.
    closing: usize,
}

/// What the acceptor knows of one open connection, written by its worker.
struct Slot {
    address: IpAddr,
    /// Milliseconds since start (plus one) since it could be closed for a newcomer:
    /// idle in keep-alive or before its request head is complete; 0 while busy.
    closable_since: AtomicU64,
    evicted: AtomicBool,
    evict: Notify,
}

impl Slots {
    /// Picks the connection (of `address` only, when given) that has waited longest
    /// without a request under way, and tells it to close.
    fn evict_one(&mut self, address: Option<IpAddr>) -> bool {
        let victim = self
            .open
            .values()
            .filter(|slot| address.is_none_or(|address| slot.address == address))
            .filter(|slot| !slot.evicted.load(Ordering::Acquire))
            .map(|slot| (slot.closable_since.load(Ordering::Acquire), slot))
            .filter(|(since, _)| *since > 0)
            .min_by_key(|(since, _)| *since)
            .map(|(_, slot)| Arc::clone(slot));
        let Some(victim) = victim else {
            return false;
        };
        victim.evicted.store(true, Ordering::Release);
        victim.evict.notify_one();
        self.closing += 1;
        true
    }
}

/// Counts one open connection, globally, per address and on its worker, until dropped.
struct OpenConnection {
    shared: Arc<Shared>,
    worker_load: Arc<AtomicUsize>,
    id: u64,
    slot: Arc<Slot>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.shared
            .live
            .open_connections
            .fetch_sub(1, Ordering::AcqRel);
        self.worker_load.fetch_sub(1, Ordering::AcqRel);
        let mut slots = lock(&self.shared.slots);
        slots.open.remove(&self.id);
        if self.slot.evicted.load(Ordering::Acquire) {
            slots.closing = slots.closing.saturating_sub(1);
        }
        if let Some(count) = slots.per_address.get_mut(&self.slot.address) {
            *count -= 1;
            if *count == 0 {
                slots.per_address.remove(&self.slot.address);
            }
        }
    }
}

/// The slot table stays usable even if a thread panicked while holding it.
fn lock(slots: &Mutex<Slots>) -> std::sync::MutexGuard<'_, Slots> {
    slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Tells the acceptor, besides the phase cell, whether the connection may be closed
/// for a newcomer.
struct PublishedPhase<'a> {
    phase: &'a Cell<Phase>,
    slot: &'a Slot,
    started: Instant,
}

impl Observer for PublishedPhase<'_> {
    fn phase(&mut self, phase: Phase) {
        let was = self.phase.replace(phase);
        let closable = matches!(phase, Phase::Idle | Phase::Receiving);
        let since = if !closable {
            0
        } else if matches!(was, Phase::Idle | Phase::Receiving)
            && self.slot.closable_since.load(Ordering::Relaxed) > 0
        {
            return; // still waiting since before
        } else {
            self.started.elapsed().as_millis() as u64 + 1
        };
        self.slot.closable_since.store(since, Ordering::Release);
    }
}

/// Runs each request's `call` on the heap, so that a connection's future holds only the
/// connection loop between requests. Inline, every kept-alive connection would carry the
/// state of the largest route (kilobytes: a login's token exchange) for its whole life;
/// boxed, that memory is taken only while a request runs, for one allocation per request.
struct HeapCalls<'s, S>(&'s S);

impl<S: Service> Service for HeapCalls<'_, S> {
    type Route = S::Route;

    fn route(&self, path: &str) -> Option<(Self::Route, MethodSet)> {
        self.0.route(path)
    }

    async fn call<W: Write>(
        &self,
        route: Self::Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        Box::pin(self.0.call(route, request, response)).await
    }

    fn responded(&self, request: &Request<'_>, status: u16) {
        self.0.responded(request, status);
    }

    fn refused(&self, error: RequestError) {
        self.0.refused(error);
    }
}

struct Handoff {
    stream: std::net::TcpStream,
    open: OpenConnection,
}

struct Worker {
    incoming: mpsc::UnboundedSender<Handoff>,
    load: Arc<AtomicUsize>,
    finished: oneshot::Receiver<()>,
}

/// Serves `listener` until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish within `options.shutdown_grace`, aborts the rest, and returns the
/// counts. Errors only when the worker threads cannot be started.
///
/// Each admitted connection gets `TCP_NODELAY`, `rx_buffer`/`tx_buffer` heap buffers and
/// the core's `server::serve_observed` on one of `options.workers` worker threads (see
/// the module docs for why). The returned future is `Send` when `shutdown` is.
pub async fn run<S>(
    listener: TcpListener,
    service: Arc<S>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<ServeStats>
where
    S: Service + Send + Sync + 'static,
{
    run_with_stats(listener, service, options, shutdown, Arc::default()).await
}

/// [`run`], counting into `stats`, which others may read while it serves.
pub async fn run_with_stats<S>(
    listener: TcpListener,
    service: Arc<S>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
    stats: Arc<LiveStats>,
) -> io::Result<ServeStats>
where
    S: Service + Send + Sync + 'static,
{
    let worker_count = match options.workers {
        0 => WORKERS_PER_CPU * std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let shared = Arc::new(Shared {
        options,
        live: stats,
        slots: Mutex::default(),
        started: Instant::now(),
    });
    let (stop, stopped) = watch::channel(false);
    let mut workers = Vec::with_capacity(worker_count);
    for index in 0..worker_count {
        workers.push(spawn_worker(
            index,
            Arc::clone(&service),
            Arc::clone(&shared),
            stopped.clone(),
        )?);
    }

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => admit(stream, peer.ip().to_canonical(), &shared, &workers),
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    drop(listener);
    let _ = stop.send(true);
    let mut finished = Vec::with_capacity(workers.len());
    for worker in workers {
        drop(worker.incoming); // a worker drains once its channel closes
        finished.push(worker.finished);
    }
    for worker in finished {
        let _ = worker.await; // an error means the thread died; its count is lost either way
    }
    Ok(shared.live.counters.snapshot())
}

/// Takes a room for a connection from `address`, closing a waiting connection to make
/// one when needed; `None` when there is none to take.
fn take_slot(shared: &Arc<Shared>, address: IpAddr) -> Option<(u64, Arc<Slot>)> {
    let options = &shared.options;
    let mut slots = lock(&shared.slots);
    let from_address = slots.per_address.get(&address).copied().unwrap_or(0);
    if from_address >= options.max_connections_per_address
        && (from_address - closing_of(&slots, address) >= options.max_connections_per_address)
        && !slots.evict_one(Some(address))
    {
        return None;
    }
    let open = shared.live.open_connections.load(Ordering::Acquire);
    if open.saturating_sub(slots.closing) >= options.max_connections && !slots.evict_one(None) {
        return None;
    }
    let slot = Arc::new(Slot {
        address,
        closable_since: AtomicU64::new(shared.started.elapsed().as_millis() as u64 + 1),
        evicted: AtomicBool::new(false),
        evict: Notify::new(),
    });
    let id = slots.next_id;
    slots.next_id += 1;
    slots.open.insert(id, Arc::clone(&slot));
    *slots.per_address.entry(address).or_default() += 1;
    shared.live.open_connections.fetch_add(1, Ordering::AcqRel);
    Some((id, slot))
}

/// Connections of `address` already told to close.
fn closing_of(slots: &Slots, address: IpAddr) -> usize {
    slots
        .open
        .values()
        .filter(|slot| slot.address == address && slot.evicted.load(Ordering::Acquire))
        .count()
}

fn admit(stream: TcpStream, address: IpAddr, shared: &Arc<Shared>, workers: &[Worker]) {
    let Some((id, slot)) = take_slot(shared, address) else {
        Counters::bump(&shared.live.counters.refused_over_capacity, 1);
        tokio::spawn(refuse_over_capacity(stream, shared.options.write_timeout));
        return;
    };
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%error, "could not set TCP_NODELAY");
    }
    let stream = match stream.into_std() {
        Ok(stream) => stream,
        Err(error) => {
            debug!(%error, "could not hand over a connection");
            return;
        }
    };
    let Some(worker) = workers
        .iter()
        .min_by_key(|worker| worker.load.load(Ordering::Acquire))
    else {
        return;
    };
    worker.load.fetch_add(1, Ordering::AcqRel);
    let open = OpenConnection {
        shared: Arc::clone(shared),
        worker_load: Arc::clone(&worker.load),
        id,
        slot,
    };
    if worker.incoming.send(Handoff { stream, open }).is_err() {
        warn!("a worker thread has stopped; connection dropped");
        return;
    }
    Counters::bump(&shared.live.counters.accepted, 1);
}

fn spawn_worker<S>(
    index: usize,
    service: Arc<S>,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) -> io::Result<Worker>
where
    S: Service + Send + Sync + 'static,
{
    let (incoming, receiver) = mpsc::unbounded_channel();
    let (finished_tx, finished) = oneshot::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name(format!("push-advisor-worker-{index}"))
        .spawn(move || {
            let local = LocalSet::new();
            local.block_on(&runtime, worker_loop(service, shared, receiver, stopped));
            drop(local);
            drop(runtime);
            let _ = finished_tx.send(());
        })?;
    Ok(Worker {
        incoming,
        load: Arc::new(AtomicUsize::new(0)),
        finished,
    })
}

async fn worker_loop<S: Service + 'static>(
    service: Arc<S>,
    shared: Arc<Shared>,
    mut incoming: mpsc::UnboundedReceiver<Handoff>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let stop = Rc::new(WorkerStop::default());
    loop {
        tokio::select! {
            handoff = incoming.recv() => match handoff {
                Some(handoff) => {
                    let task = serve_connection(
                        handoff,
                        Arc::clone(&service),
                        Arc::clone(&shared),
                        Rc::clone(&stop),
                    );
                    connections.spawn_local(task);
                }
                None => break,
            },
            // A dropped sender means the server is gone: stop as well.
            _ = stopped.wait_for(|stop| *stop), if !stop.is_stopped() => stop.stop(),
            Some(joined) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = joined {
                    warn!(%error, "connection task failed");
                }
            }
        }
    }
    // Shutting down: idle connections have already been told to stop.
    stop.stop();
    let drain = async { while connections.join_next().await.is_some() {} };
    if timeout(shared.options.shutdown_grace, drain).await.is_err() {
        let aborted = connections.len() as u64;
        Counters::bump(&shared.live.counters.aborted_at_shutdown, aborted);
        debug!(aborted, "shutdown grace period over; aborting connections");
        connections.shutdown().await;
    }
}

async fn serve_connection<S: Service>(
    handoff: Handoff,
    service: Arc<S>,
    shared: Arc<Shared>,
    stop: Rc<WorkerStop>,
) {
    let Handoff { stream, open } = handoff;
    let stream = match TcpStream::from_std(stream) {
        Ok(stream) => stream,
        Err(error) => {
            debug!(%error, "could not register a connection");
            return;
        }
    };
    let peer = stream.peer_addr().ok();
    let options = &shared.options;
    let counters = &shared.live.counters;
    let origins: Vec<&str> = options.allowed_origins.iter().map(String::as_str).collect();
    let config = ServerConfig {
        limits: options.limits,
        allowed_origins: &origins,
    };
    let mut rx = vec![0; options.rx_buffer];
    let mut tx = vec![0; options.tx_buffer];
    let phase = Cell::new(Phase::Idle);
    let timeouts = Timeouts {
        idle: options.idle_timeout,
        head: options.head_timeout,
        write: options.write_timeout,
    };
    let mut conn = DeadlineStream::new(stream, &phase, timeouts, &stop, &open.slot.evict);
    let buffers = Buffers {
        rx: &mut rx,
        tx: &mut tx,
    };
    let mut observer = PublishedPhase {
        phase: &phase,
        slot: &open.slot,
        started: shared.started,
    };
    let service = HeapCalls(&*service);
    let serve = server::serve_observed(&mut conn, &service, &config, buffers, &mut observer);
    let result = client_address::serving(peer.map(|peer| peer.ip()), serve).await;
    let expired = conn.expired();
    let mut stream = conn.into_inner();
    match (result, expired) {
        (_, Some(Expired::Evicted)) => {
            Counters::bump(&counters.evicted, 1);
            trace!(?peer, "closed to make room for a new connection");
        }
        (Ok(_), Some(Expired::Idle)) => {
            Counters::bump(&counters.idle_timeouts, 1);
            trace!(?peer, "idle connection timed out");
        }
        (Ok(Ended::Closed), _) => close_gracefully(&mut stream).await,
        (Ok(Ended::PeerClosed), _) => trace!(?peer, "connection ended"),
        (Err(_), Some(Expired::Head)) => {
            Counters::bump(&counters.head_timeouts, 1);
            debug!(?peer, "request not received in time; answering 408");
            let answer = json_error(
                "408 Request Timeout",
                &[],
                r#"{"error":"Request not received in time"}"#,
            );
            if let Ok(Ok(())) = timeout(options.write_timeout, stream.write_all(&answer)).await {
                close_gracefully(&mut stream).await;
            }
        }
        (Err(_), Some(Expired::Write)) => {
            Counters::bump(&counters.write_timeouts, 1);
            debug!(?peer, "peer did not read the response in time");
        }
        (Err(IoError(error)), _) => {
            Counters::bump(&counters.failed, 1);
            debug!(?peer, %error, phase = ?phase.get(), "connection error");
        }
    }
}

/// Most that a lingering close reads and drops, and how long it waits.
const LINGER_BYTES: usize = 64 * 1024;
const LINGER: Duration = Duration::from_millis(250);

/// Sends FIN, then drains what the peer still sends for a moment so that closing with
/// unread data does not reset the connection before the peer has read our last answer.
async fn close_gracefully(stream: &mut TcpStream) {
    let linger = async {
        stream.shutdown().await?;
        let mut sink = [0; 1024];
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        io::Result::Ok(())
    };
    let _ = timeout(LINGER, linger).await;
}

fn json_error(status: &str, extra_headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let (nosniff_name, nosniff_value) = NOSNIFF;
    let mut answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {JSON}\r\nContent-Length: {}\r\n{nosniff_name}: {nosniff_value}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        answer.push_str(&format!("{name}: {value}\r\n"));
    }
    answer.push_str("\r\n");
    answer.push_str(body);
    answer.into_bytes()
}

async fn refuse_over_capacity(mut stream: TcpStream, write_timeout: Duration) {
    let _ = stream.set_nodelay(true);
    let answer = json_error(
        "503 Service Unavailable",
        &[("Retry-After", "1")],
        r#"{"error":"Too many connections; retry shortly"}"#,
    );
    match timeout(write_timeout, stream.write_all(&answer)).await {
        Ok(Ok(())) => close_gracefully(&mut stream).await,
        Ok(Err(error)) => debug!(%error, "could not answer 503"),
        Err(_) => debug!("peer did not read the 503 in time"),
    }
}

/// Resolves on SIGINT or SIGTERM (Ctrl-C elsewhere). If no signal handler can be
/// installed it logs a warning and never resolves.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => debug!("SIGINT received"),
                    _ = terminate.recv() => debug!("SIGTERM received"),
                }
            }
            (Err(error), _) | (_, Err(error)) => {
                warn!(%error, "cannot listen for shutdown signals");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        if let Err(error) = tokio::signal::ctrl_c().await {
            warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
