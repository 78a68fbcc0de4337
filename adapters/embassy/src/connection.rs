//! One accepted socket as an `embedded_io_async` connection whose reads and writes
//! are bounded in time, with the bound chosen by where the core's loop is.

use core::cell::Cell;

use embassy_net::tcp::TcpSocket;
use embassy_time::{Instant, with_deadline, with_timeout};
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};
use push_advisor_http::server::Phase;

use crate::server::{Listening, Timeouts};

/// Why a read or write on a served connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConnectionError {
    /// The peer reset the connection (or smoltcp gave up on it).
    Reset,
    /// The peer was too slow for the timeout of the current phase.
    TimedOut,
}

impl core::fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConnectionError::Reset => "connection reset",
            ConnectionError::TimedOut => "timed out",
        })
    }
}

impl core::error::Error for ConnectionError {}

impl embedded_io_async::Error for ConnectionError {
    fn kind(&self) -> ErrorKind {
        match self {
            ConnectionError::Reset => ErrorKind::ConnectionReset,
            ConnectionError::TimedOut => ErrorKind::TimedOut,
        }
    }
}

/// A `TcpSocket` whose reads wait at most the idle timeout between requests and at
/// most the request timeout for a whole request once it started; writes wait at most
/// the write timeout each.
pub struct TimedSocket<'s, 'b> {
    socket: &'s mut TcpSocket<'b>,
    phase: &'s Cell<Phase>,
    timeouts: &'s Timeouts,
    listening: &'s Listening,
    /// When the request now being received must be complete.
    request_deadline: Option<Instant>,
}

impl core::fmt::Debug for TimedSocket<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TimedSocket")
            .field("phase", &self.phase.get())
            .field("timeouts", self.timeouts)
            .finish()
    }
}

impl<'s, 'b> TimedSocket<'s, 'b> {
    /// `phase` must be the cell the core's loop reports into (`serve_observed`);
    /// `listening` tells an idle connection when to give up early (`Timeouts::idle_when_full`).
    pub fn new(
        socket: &'s mut TcpSocket<'b>,
        phase: &'s Cell<Phase>,
        timeouts: &'s Timeouts,
        listening: &'s Listening,
    ) -> Self {
        TimedSocket {
            socket,
            phase,
            timeouts,
            listening,
            request_deadline: None,
        }
    }

    fn read_deadline(&mut self) -> Instant {
        let now = Instant::now();
        match self.phase.get() {
            Phase::Idle => {
                self.request_deadline = None;
                now + self.timeouts.idle
            }
            Phase::Receiving | Phase::Body => *self
                .request_deadline
                .get_or_insert(now + self.timeouts.request),
            Phase::Sending => now + self.timeouts.write,
        }
    }
}

impl ErrorType for TimedSocket<'_, '_> {
    type Error = ConnectionError;
}

impl Read for TimedSocket<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ConnectionError> {
        let deadline = self.read_deadline();
        let idle = self.phase.get() == Phase::Idle;
        loop {
            // Idle in keep-alive, look up now and then: when every socket is busy, give
            // up this one so a new connection can be served.
            let until = match idle {
                true => deadline.min(Instant::now() + self.timeouts.idle_when_full),
                false => deadline,
            };
            match with_deadline(until, self.socket.read(buf)).await {
                Ok(Ok(n)) => return Ok(n),
                Ok(Err(_)) => return Err(ConnectionError::Reset),
                Err(_) if until >= deadline || self.listening.none() => {
                    return Err(ConnectionError::TimedOut);
                }
                Err(_) => {}
            }
        }
    }
}

impl Write for TimedSocket<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ConnectionError> {
        // An answer is under way: the next request gets its own deadline.
        self.request_deadline = None;
        match with_timeout(self.timeouts.write, self.socket.write(buf)).await {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(_)) => Err(ConnectionError::Reset),
            Err(_) => Err(ConnectionError::TimedOut),
        }
    }

    async fn flush(&mut self) -> Result<(), ConnectionError> {
        match with_timeout(self.timeouts.write, self.socket.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ConnectionError::Reset),
            Err(_) => Err(ConnectionError::TimedOut),
        }
    }
}
