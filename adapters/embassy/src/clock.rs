//! A monotonic clock from embassy-time plus wall time learned later (a device has
//! no RTC): `set_unix_time` from SNTP or a provider's HTTP `Date` header.

use core::cell::Cell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::Instant;
use push_advisor_core::time::Clock;

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

/// Parses an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT` to Unix seconds.
/// The obsolete RFC 850 and asctime forms are refused: providers send IMF-fixdate.
pub fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value.trim().get(5..)?; // "Sun, "
    let mut fields = rest.split(' ');
    let day: u64 = number(fields.next()?, 2)?;
    let month = match fields.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = number(fields.next()?, 4)?;
    let mut clock = fields.next()?.split(':');
    let hour: u64 = number(clock.next()?, 2)?;
    let minute: u64 = number(clock.next()?, 2)?;
    let second: u64 = number(clock.next()?, 2)?;
    if fields.next()? != "GMT" || fields.next().is_some() || clock.next().is_some() {
        return None;
    }
    if year < 1970 || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

fn number(text: &str, digits: usize) -> Option<u64> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days from 1970-01-01 to a proleptic Gregorian date (year >= 1970, month 1..=12).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    // Count from 1 March 0000 so the leap day ends the year.
    let (year, month) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = year / 400;
    let year_of_era = year % 400;
    let day_of_year = (153 * month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days lie between 0000-03-01 and 1970-01-01.
    era * 146_097 + day_of_era - 719_468
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
    fn refuses_other_forms_and_garbage() {
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 6 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1969 08:49:37 GMT"), None);
        assert_eq!(parse_http_date(""), None);
        assert_eq!(parse_http_date("Sun, 06 Nov +994 08:49:37 GMT"), None);
    }
}
