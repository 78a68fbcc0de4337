//! Phase-aware deadlines for one server connection: the core's connection loop says
//! (through a shared `Cell<Phase>`) whether it waits for a new request, is in the middle
//! of one, or is answering, and this wrapper picks the matching timeout for each read
//! and write. It also ends idle connections when the server shuts down.

use std::cell::Cell;
use std::io;
use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use embedded_io_async::{Read, Write};
use push_advisor_http::server::Phase;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, timeout, timeout_at};

/// The three per-connection timeouts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// How long a kept-alive connection may wait for the first byte of a request.
    pub idle: Duration,
    /// How long a whole request (head and body) may take from its first byte.
    pub head: Duration,
    /// How long one write may block on a peer that does not read.
    pub write: Duration,
}

/// The server's shutdown as one worker thread sees it: set once by the worker, read by
/// its connections. Worker-local so that waiting for it on every idle read touches no
/// state shared across threads (a `watch` receiver per connection did: reference counts
/// and a waiter list that every worker's connections locked, once per request).
#[derive(Debug, Default)]
pub(crate) struct WorkerStop {
    stopped: Cell<bool>,
    notify: Notify,
}

impl WorkerStop {
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Stops the worker's connections: idle ones end now, busy ones at their next idle read.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.notify.notify_waiters();
    }

    /// Resolves once `stop` has been called.
    async fn stopped(&self) {
        // Registered before the check, so a `stop` in between is not missed.
        let notified = self.notify.notified();
        if self.is_stopped() {
            return;
        }
        notified.await;
    }
}

/// Which timeout ended the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    Idle,
    Head,
    Write,
    /// Closed, while idle or before its request head was complete, to make room.
    Evicted,
}

/// A tokio TCP stream seen through `embedded-io-async`, with deadlines chosen by phase.
///
/// An idle timeout or a shutdown while idle reads as end-of-stream, so the core ends
/// the connection as if the peer had closed it; a head or write timeout is an
/// `io::ErrorKind::TimedOut` error. `expired()` tells which deadline fired.
pub(crate) struct DeadlineStream<'p> {
    inner: FromTokio<TcpStream>,
    phase: &'p Cell<Phase>,
    timeouts: Timeouts,
    stop: &'p WorkerStop,
    evict: &'p Notify,
    request_started: Option<Instant>,
    expired: Option<Expired>,
}

impl<'p> DeadlineStream<'p> {
    pub fn new(
        stream: TcpStream,
        phase: &'p Cell<Phase>,
        timeouts: Timeouts,
        stop: &'p WorkerStop,
        evict: &'p Notify,
    ) -> Self {
        DeadlineStream {
            inner: FromTokio::new(stream),
            phase,
            timeouts,
            stop,
            evict,
            request_started: None,
            expired: None,
        }
    }

    pub fn expired(&self) -> Option<Expired> {
        self.expired
    }

    pub fn into_inner(self) -> TcpStream {
        self.inner.into_inner()
    }

    async fn read_idle(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.request_started = None;
        if self.stop.is_stopped() {
            return Ok(0);
        }
        enum Woke {
            Read(io::Result<usize>),
            IdleTimeout,
            Shutdown,
            Evicted,
        }
        let deadline = Instant::now() + self.timeouts.idle;
        let woke = tokio::select! {
            read = timeout_at(deadline, self.inner.read(buf)) => match read {
                Ok(result) => Woke::Read(result),
                Err(_) => Woke::IdleTimeout,
            },
            () = self.stop.stopped() => Woke::Shutdown,
            () = self.evict.notified() => Woke::Evicted,
        };
        match woke {
            Woke::Read(Ok(n)) => {
                if n > 0 {
                    self.request_started = Some(Instant::now());
                }
                Ok(n)
            }
            Woke::Read(Err(error)) => Err(error),
            Woke::IdleTimeout => {
                self.expired = Some(Expired::Idle);
                Ok(0)
            }
            Woke::Shutdown => Ok(0),
            Woke::Evicted => {
                self.expired = Some(Expired::Evicted);
                Ok(0)
            }
        }
    }

    async fn read_request(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One deadline for the whole request, so trickling bytes cannot extend it.
        let started = *self.request_started.get_or_insert_with(Instant::now);
        let deadline = started + self.timeouts.head;
        // Until its head is complete, a request may be closed to make room.
        let closable = self.phase.get() == Phase::Receiving;
        let read = tokio::select! {
            read = timeout_at(deadline, self.inner.read(buf)) => read,
            () = self.evict.notified(), if closable => {
                self.expired = Some(Expired::Evicted);
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "closed to make room"));
            }
        };
        match read {
            Ok(result) => result,
            Err(_) => {
                self.expired = Some(Expired::Head);
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request not received in time",
                ))
            }
        }
    }

    fn write_timed_out(&mut self) -> io::Error {
        self.expired = Some(Expired::Write);
        io::Error::new(
            io::ErrorKind::TimedOut,
            "peer did not accept the response in time",
        )
    }
}

impl embedded_io::ErrorType for DeadlineStream<'_> {
    type Error = io::Error;
}

impl Read for DeadlineStream<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.phase.get() {
            Phase::Idle => self.read_idle(buf).await,
            Phase::Receiving | Phase::Body | Phase::Sending => self.read_request(buf).await,
        }
    }
}

impl Write for DeadlineStream<'_> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match timeout(self.timeouts.write, self.inner.write(buf)).await {
            Ok(result) => result,
            Err(_) => Err(self.write_timed_out()),
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match timeout(self.timeouts.write, self.inner.flush()).await {
            Ok(result) => result,
            Err(_) => Err(self.write_timed_out()),
        }
    }
}
