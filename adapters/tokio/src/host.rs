//! Host time and randomness for the core: a monotonic clock from `Instant`, wall time
//! from `SystemTime`, and the operating system's RNG.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use push_advisor_http::time::Clock;

/// The operating system's RNG (`getrandom`), usable as `rand_core::RngCore` (0.6).
pub use rand_core::OsRng;

/// The host's clocks. `monotonic_ms` counts from when the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct HostClock {
    origin: Instant,
}

impl HostClock {
    pub fn new() -> HostClock {
        HostClock {
            origin: Instant::now(),
        }
    }
}

impl Default for HostClock {
    fn default() -> Self {
        HostClock::new()
    }
}

impl Clock for HostClock {
    fn monotonic_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `None` only if the system clock is set before 1970.
    fn unix_seconds(&self) -> Option<u64> {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|since| since.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn clocks_move_forward_and_wall_time_is_recent() {
        let clock = HostClock::new();
        let before = clock.monotonic_ms();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(clock.monotonic_ms() >= before + 20);
        // 2024-01-01T00:00:00Z; any working host clock is past it.
        assert!(clock.unix_seconds().unwrap() > 1_704_067_200);
    }

    #[test]
    fn os_rng_fills_bytes() {
        let mut first = [0u8; 32];
        let mut second = [0u8; 32];
        OsRng.fill_bytes(&mut first);
        OsRng.fill_bytes(&mut second);
        assert_ne!(first, second);
    }
}
