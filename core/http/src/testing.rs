//! Test fakes (feature `testing`) for faults and replays a real provider cannot give on demand: a
//! byte-replaying connection that records what was written, a connector handing out
//! such connections, and a settable clock.

extern crate std;

use core::cell::{Cell, RefCell};
use std::vec::Vec;

use embedded_io::ErrorKind;
use embedded_io_async::{ErrorType, Read, Write};

use crate::net::{Connect, Endpoint, Reusable};
use crate::time::Clock;

/// Replays scripted reads (one chunk per `read`) and records every written byte.
#[derive(Debug)]
pub struct FakeConnection<'c> {
    replies: Vec<Vec<u8>>,
    next: usize,
    offset: usize,
    written: Vec<u8>,
    reused: bool,
    fail_reads: Option<ErrorKind>,
    log: Option<&'c RefCell<Vec<Vec<u8>>>>,
}

impl FakeConnection<'static> {
    pub fn new(replies: &[&[u8]]) -> Self {
        FakeConnection {
            replies: replies.iter().map(|reply| reply.to_vec()).collect(),
            next: 0,
            offset: 0,
            written: Vec::new(),
            reused: false,
            fail_reads: None,
            log: None,
        }
    }
}

impl FakeConnection<'_> {
    pub fn written(&self) -> &[u8] {
        &self.written
    }

    pub fn reused(&self) -> bool {
        self.reused
    }
}

impl Drop for FakeConnection<'_> {
    fn drop(&mut self) {
        if let Some(log) = self.log {
            log.borrow_mut().push(core::mem::take(&mut self.written));
        }
    }
}

impl ErrorType for FakeConnection<'_> {
    type Error = ErrorKind;
}

impl Read for FakeConnection<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        if let Some(kind) = self.fail_reads {
            return Err(kind);
        }
        let Some(reply) = self.replies.get(self.next) else {
            return Ok(0);
        };
        let rest = &reply[self.offset..];
        let take = rest.len().min(buf.len());
        buf[..take].copy_from_slice(&rest[..take]);
        self.offset += take;
        if self.offset == reply.len() {
            self.next += 1;
            self.offset = 0;
        }
        Ok(take)
    }
}

impl Write for FakeConnection<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

impl Reusable for FakeConnection<'_> {
    fn mark_reusable(&mut self) {
        self.reused = true;
    }
}

/// What a `FakeConnector` does on each `connect`.
#[derive(Debug, Clone)]
pub enum Script {
    /// Replay these reads.
    Replies(Vec<Vec<u8>>),
    /// Refuse to connect.
    Refused,
    /// Connect, then fail every read with this kind.
    FailReads(ErrorKind),
}

/// Hands out scripted connections, one script per `connect`, and keeps what each
/// connection was sent.
#[derive(Debug, Default)]
pub struct FakeConnector {
    scripts: RefCell<Vec<Script>>,
    pub connects: Cell<usize>,
    pub sent: RefCell<Vec<Vec<u8>>>,
    /// The failures reported through `Connect::exchange_failed`, in order.
    pub failures: RefCell<Vec<crate::failure::ExchangeFailure>>,
}

impl FakeConnector {
    pub fn new(scripts: Vec<Script>) -> Self {
        FakeConnector {
            scripts: RefCell::new(scripts),
            ..Default::default()
        }
    }

    pub fn replying(replies: &[&[u8]]) -> Self {
        Self::new(std::vec![Script::Replies(
            replies.iter().map(|reply| reply.to_vec()).collect()
        )])
    }

    /// Everything sent on the `index`-th connection, as text.
    pub fn sent_text(&self, index: usize) -> std::string::String {
        std::string::String::from_utf8_lossy(&self.sent.borrow()[index]).into_owned()
    }
}

impl Connect for FakeConnector {
    type Connection<'c> = FakeConnection<'c>;
    type Error = ();

    async fn connect(&self, _endpoint: &Endpoint<'_>) -> Result<FakeConnection<'_>, ()> {
        self.connects.set(self.connects.get() + 1);
        let mut scripts = self.scripts.borrow_mut();
        if scripts.is_empty() {
            return Err(());
        }
        let (replies, fail_reads) = match scripts.remove(0) {
            Script::Replies(replies) => (replies, None),
            Script::Refused => return Err(()),
            Script::FailReads(kind) => (Vec::new(), Some(kind)),
        };
        Ok(FakeConnection {
            replies,
            next: 0,
            offset: 0,
            written: Vec::new(),
            reused: false,
            fail_reads,
            log: Some(&self.sent),
        })
    }

    fn exchange_failed(&self, failure: crate::failure::ExchangeFailure) {
        self.failures.borrow_mut().push(failure);
    }
}

/// A timer on no clock: `sleep_ms(n)` lets the executor take `n` turns, so a test sets
/// a deadline in turns of a `block_on` loop.
impl crate::time::Timer for FakeConnector {
    async fn sleep_ms(&self, ms: u64) {
        for _ in 0..ms {
            embassy_futures::yield_now().await;
        }
    }
}

/// A clock the test sets by hand.
#[derive(Debug, Default)]
pub struct FakeClock {
    pub monotonic_ms: Cell<u64>,
    pub unix_seconds: Cell<Option<u64>>,
}

impl FakeClock {
    pub fn at(unix_seconds: Option<u64>) -> Self {
        FakeClock {
            monotonic_ms: Cell::new(1_000),
            unix_seconds: Cell::new(unix_seconds),
        }
    }

    /// Moves both clocks forward.
    pub fn advance_ms(&self, ms: u64) {
        self.monotonic_ms.set(self.monotonic_ms.get() + ms);
        if let Some(now) = self.unix_seconds.get() {
            self.unix_seconds.set(Some(now + ms / 1000));
        }
    }
}

impl Clock for FakeClock {
    fn monotonic_ms(&self) -> u64 {
        self.monotonic_ms.get()
    }
    fn unix_seconds(&self) -> Option<u64> {
        self.unix_seconds.get()
    }
}

/// Parses a raw request and hands it to `f` (a test helper, not a fake).
pub fn with_request<R>(raw: &[u8], f: impl FnOnce(&crate::Request<'_>) -> R) -> R {
    use crate::request::{Parse, parse_head};
    match parse_head(raw, &crate::Limits::default()) {
        Ok(Parse::Complete(head)) => f(&head.request),
        other => panic!("test request did not parse: {other:?}"),
    }
}

/// Sends a response through a real `Responder` into a recording connection and
/// returns the bytes on the wire.
pub fn capture_response(
    send: impl for<'a> AsyncFnOnce(
        crate::Responder<'a, FakeConnection<'static>>,
    ) -> Result<crate::Sent, crate::response::WriteError<ErrorKind>>,
) -> std::string::String {
    use crate::response::Framing;
    let mut conn = FakeConnection::new(&[]);
    let mut buf = [0u8; 2048];
    let framing = Framing {
        head_only: false,
        keep_alive: true,
        allow_origin: None,
        vary_origin: false,
    };
    let responder = crate::Responder::new(&mut conn, &mut buf, framing);
    embassy_futures::block_on(send(responder)).expect("response fits");
    std::string::String::from_utf8(conn.written().to_vec()).unwrap()
}
