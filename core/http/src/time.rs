//! The clock seam: monotonic time for timeouts and expiry, wall time only where a
//! handler needs it (and may be unknown on a device that has not learned it yet).

/// A clock supplied by the adapter.
pub trait Clock {
    /// Milliseconds on a clock that never goes back; its zero is arbitrary.
    fn monotonic_ms(&self) -> u64;
    /// Seconds since the Unix epoch, or `None` while wall time is unknown.
    fn unix_seconds(&self) -> Option<u64>;
}

impl<T: Clock + ?Sized> Clock for &T {
    fn monotonic_ms(&self) -> u64 {
        (**self).monotonic_ms()
    }
    fn unix_seconds(&self) -> Option<u64> {
        (**self).unix_seconds()
    }
}

/// Waiting, supplied by the adapter: the core has no timer of its own, so whatever must
/// end by a deadline (a provider exchange, a wait for a lane) races one of these.
#[allow(async_fn_in_trait)]
pub trait Timer {
    /// Completes `ms` milliseconds after it is first polled.
    async fn sleep_ms(&self, ms: u64);
}

impl<T: Timer + ?Sized> Timer for &T {
    async fn sleep_ms(&self, ms: u64) {
        (**self).sleep_ms(ms).await;
    }
}

/// Days of the week, as the UTC calendar names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// The UTC weekday of a Unix time (1970-01-01 was a Thursday).
    pub fn from_unix_seconds(seconds: u64) -> Weekday {
        const ORDER: [Weekday; 7] = [
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
        ];
        let index = ((seconds / 86_400) % 7) as usize;
        ORDER.get(index).copied().unwrap_or(Weekday::Thursday)
    }

    pub fn name(self) -> &'static str {
        match self {
            Weekday::Monday => "Monday",
            Weekday::Tuesday => "Tuesday",
            Weekday::Wednesday => "Wednesday",
            Weekday::Thursday => "Thursday",
            Weekday::Friday => "Friday",
            Weekday::Saturday => "Saturday",
            Weekday::Sunday => "Sunday",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Weekday;

    #[test]
    fn weekdays_of_known_dates() {
        assert_eq!(Weekday::from_unix_seconds(0), Weekday::Thursday);
        // 2024-08-13T15:30:00Z was a Tuesday; 2026-11-27 is a Friday.
        assert_eq!(Weekday::from_unix_seconds(1_723_563_000), Weekday::Tuesday);
        assert_eq!(Weekday::from_unix_seconds(1_795_737_600), Weekday::Friday);
        assert_eq!(
            Weekday::from_unix_seconds(1_795_737_600 + 86_400).name(),
            "Saturday"
        );
    }
}
