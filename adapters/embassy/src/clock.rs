//! A monotonic clock from embassy-time plus wall time learned later (a device has
//! no RTC): `set_unix_time` from SNTP or a provider's HTTP `Date` header.

use core::cell::Cell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::Instant;
use push_advisor_http::time::Clock;

/// `monotonic_ms` from `embassy_time::Instant`; `unix_seconds` is `None` until set.
pub struct EmbassyClock<M: RawMutex> {
    /// Unix time in milliseconds when `Instant` was zero, once known.
    unix_ms_at_zero: Mutex<M, Cell<Option<u64>>>,
}

impl<M: RawMutex> core::fmt::Debug for EmbassyClock<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EmbassyClock")
            .field("unix_seconds", &self.unix_seconds())
            .finish()
    }
}

impl<M: RawMutex> EmbassyClock<M> {
    pub const fn new() -> Self {
        EmbassyClock {
            unix_ms_at_zero: Mutex::new(Cell::new(None)),
        }
    }

    /// Learns wall time: `seconds` since the Unix epoch is the time now.
    pub fn set_unix_time(&self, seconds: u64) {
        let now_ms = Instant::now().as_millis();
        let at_zero = seconds.saturating_mul(1000).saturating_sub(now_ms);
        self.unix_ms_at_zero.lock(|cell| cell.set(Some(at_zero)));
    }

    /// Learns wall time from an HTTP `Date` value (IMF-fixdate, RFC 9110 §5.6.7);
    /// returns whether it could be read.
    pub fn set_from_http_date(&self, value: &str) -> bool {
        match parse_http_date(value) {
            Some(seconds) => {
                self.set_unix_time(seconds);
                true
            }
            None => false,
        }
    }
}

impl<M: RawMutex> Default for EmbassyClock<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: RawMutex> Clock for EmbassyClock<M> {
    fn monotonic_ms(&self) -> u64 {
        Instant::now().as_millis()
    }

    fn unix_seconds(&self) -> Option<u64> {
        let at_zero = self.unix_ms_at_zero.lock(Cell::get)?;
        Some(at_zero.saturating_add(Instant::now().as_millis()) / 1000)
    }
}

/// Unix seconds of an HTTP `Date` value (IMF-fixdate); the core's parser.
pub fn parse_http_date(value: &str) -> Option<u64> {
    push_advisor_http::client::parse_http_date(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::parse_http_date;

    #[test]
    fn reads_imf_fixdates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 13 Aug 2024 15:30:00 GMT"),
            Some(1_723_563_000)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1969 08:49:37 GMT"), None);
        assert_eq!(parse_http_date(""), None);
        assert_eq!(parse_http_date("Sun, 06 Nov +994 08:49:37 GMT"), None);
    }
}
