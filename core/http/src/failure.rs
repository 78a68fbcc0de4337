//! Why an exchange with the provider failed, as one word for a log line, and a gate
//! that keeps such lines to a few per window and cause (counting the ones it held
//! back), so a failing provider is visible without flooding the log.

use embedded_io::{Error, ErrorKind};

use crate::client::ClientError;

/// The cause of one failed provider exchange. Carries no request or answer content, so
/// a line built from it cannot leak a token or a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeFailure {
    /// The exchange did not finish within its deadline.
    Timeout,
    /// The connection could not be opened (DNS, refused, unreachable).
    Connect,
    /// The TLS handshake or the certificate check failed.
    Tls,
    /// The provider answered with an unexpected status.
    Status(u16),
    /// The answer broke HTTP/1.1, or its body was not the JSON expected.
    Malformed,
    /// The answer did not fit the buffer.
    TooLarge,
    /// The provider closed or reset the connection before the answer was complete.
    Closed,
}

/// How many causes there are, for one `LogGate` per cause.
pub const CAUSES: usize = 7;

impl ExchangeFailure {
    /// A distinct number below `CAUSES` for each cause, so each can have its own gate and
    /// a flood of one cause does not hide the first line of another.
    pub fn index(self) -> usize {
        match self {
            ExchangeFailure::Timeout => 0,
            ExchangeFailure::Connect => 1,
            ExchangeFailure::Tls => 2,
            ExchangeFailure::Status(_) => 3,
            ExchangeFailure::Malformed => 4,
            ExchangeFailure::TooLarge => 5,
            ExchangeFailure::Closed => 6,
        }
    }

    /// The cause as one lower-case word (`status` without its code).
    pub fn cause(self) -> &'static str {
        match self {
            ExchangeFailure::Timeout => "timeout",
            ExchangeFailure::Connect => "connect",
            ExchangeFailure::Tls => "tls",
            ExchangeFailure::Status(_) => "status",
            ExchangeFailure::Malformed => "malformed",
            ExchangeFailure::TooLarge => "too_large",
            ExchangeFailure::Closed => "closed",
        }
    }

    /// The cause of a failed `client::exchange`; `None` for a request we could not form
    /// (our own misconfiguration, not the provider's failure).
    pub fn of_client_error<E: Error>(error: &ClientError<E>) -> Option<ExchangeFailure> {
        Some(match error {
            ClientError::Io(error) if error.kind() == ErrorKind::TimedOut => {
                ExchangeFailure::Timeout
            }
            ClientError::Io(_) | ClientError::Truncated => ExchangeFailure::Closed,
            ClientError::Malformed => ExchangeFailure::Malformed,
            ClientError::ResponseTooLarge => ExchangeFailure::TooLarge,
            ClientError::RequestTooLarge | ClientError::InvalidRequest => return None,
        })
    }
}

/// Lines a `LogGate` lets through per window.
pub const LOG_LINES_PER_WINDOW: u16 = 5;
/// A `LogGate`'s window.
pub const LOG_WINDOW_MS: u64 = 10_000;

/// Lets at most `LOG_LINES_PER_WINDOW` lines through per `LOG_WINDOW_MS` and counts the
/// rest. The caller keeps it behind its own lock.
#[derive(Debug, Clone, Default)]
pub struct LogGate {
    window_start_ms: u64,
    logged: u16,
    suppressed: u32,
}

impl LogGate {
    /// A gate that has let nothing through yet.
    pub const fn new() -> LogGate {
        LogGate {
            window_start_ms: 0,
            logged: 0,
            suppressed: 0,
        }
    }

    /// Whether a line may be written now (`now_ms` on a monotonic clock): `Some(n)`
    /// with the `n` lines held back since the last one let through, or `None` (counted).
    pub fn admit(&mut self, now_ms: u64) -> Option<u32> {
        if self.logged == 0 || now_ms.saturating_sub(self.window_start_ms) >= LOG_WINDOW_MS {
            self.window_start_ms = now_ms;
            self.logged = 0;
        }
        if self.logged >= LOG_LINES_PER_WINDOW {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.logged += 1;
        Some(core::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_cut_and_the_held_back_lines_are_counted() {
        let mut gate = LogGate::new();
        for _ in 0..LOG_LINES_PER_WINDOW {
            assert_eq!(gate.admit(1_000), Some(0));
        }
        for _ in 0..7 {
            assert_eq!(gate.admit(2_000), None);
        }
        assert_eq!(gate.admit(1_000 + LOG_WINDOW_MS - 1), None);
        assert_eq!(gate.admit(1_000 + LOG_WINDOW_MS), Some(8));
        assert_eq!(gate.admit(1_000 + LOG_WINDOW_MS), Some(0));
    }

    #[test]
    fn causes_of_client_errors() {
        let timeout: ClientError<ErrorKind> = ClientError::Io(ErrorKind::TimedOut);
        assert_eq!(
            ExchangeFailure::of_client_error(&timeout),
            Some(ExchangeFailure::Timeout)
        );
        let reset: ClientError<ErrorKind> = ClientError::Io(ErrorKind::ConnectionReset);
        assert_eq!(
            ExchangeFailure::of_client_error(&reset).map(ExchangeFailure::cause),
            Some("closed")
        );
        let ours: ClientError<ErrorKind> = ClientError::RequestTooLarge;
        assert_eq!(ExchangeFailure::of_client_error(&ours), None);
        assert_eq!(ExchangeFailure::Status(500).cause(), "status");
    }
}
