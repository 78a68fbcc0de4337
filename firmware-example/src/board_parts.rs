//! What a board hands to the program it runs, shared by both programs on these boards
//! (the Push Advisor firmware, `main.rs`, and the auth-only gateway,
//! `bin/auth_gateway.rs`), so a board file knows neither.
//!
//! One file per board, `src/board/<board>.rs`, chosen by its cargo feature (`build.rs`
//! writes the `mod board` each program includes). Each provides:
//! - `Device`, its embassy-net driver, and `Rng`, a `RngCore + CryptoRng + Copy`;
//! - `TCP_WINDOW`, the bytes of each listening socket's receive and transmit buffers;
//! - `init() -> BoardParts`: clocks, pins, the driver, the RNG and the settings;
//! - `halt(reason) -> !`, for settings that cannot work;
//! - with feature `tls`, `ca_der()`: the CA an `https` provider must chain to (a
//!   function, not a task argument: on the board it is a constant, and an argument
//!   would cost each TLS worker's task memory);
//! - on a microcontroller, its panic handler and `src/board/<board>.x` (memory layout).

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use push_advisor_oauth::OAuthConfig;

/// The mutex kind of everything shared between tasks (the board's RNG, the token
/// cache, the provider buffers, the clock).
pub type Mx = CriticalSectionRawMutex;

/// What a board hands to the start-up every board shares.
pub struct BoardParts {
    pub device: crate::board::Device,
    /// How the interface gets its address: static or DHCP.
    pub network: embassy_net::Config,
    /// Seeds the TCP/IP stack's choices (initial sequence numbers, local ports).
    pub seed: u64,
    pub rng: crate::board::Rng,
    /// Where the API listens.
    pub port: u16,
    pub settings: Settings,
}

/// Where the provider is and who this device is to it. Secrets are never logged.
pub struct Settings {
    /// The provider's issuer URL (`http://`, or `https://` with feature `tls`).
    pub issuer: &'static str,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    /// This API's canonical URL as clients reach it, e.g. `http://nucleo.lan`.
    pub public_url: &'static str,
    /// Longest time an introspection answer is trusted.
    pub cache_ttl_seconds: u64,
    /// How long one provider call may take in all (connect, TLS, write, the whole
    /// answer), so also the longest a protected request waits for it; `None`: the
    /// core's default (`OAuthConfig::provider_timeout_ms`, 5 s).
    pub provider_timeout_ms: Option<u64>,
}

impl Settings {
    /// `config` with this device's cache lifetimes (inactive answers at most 5 s) and
    /// provider timeout.
    pub fn tune<'a>(&self, config: OAuthConfig<'a>) -> OAuthConfig<'a> {
        OAuthConfig {
            cache_max_lifetime_ms: self.cache_ttl_seconds * 1000,
            negative_lifetime_ms: self.cache_ttl_seconds.min(5) * 1000,
            provider_timeout_ms: self
                .provider_timeout_ms
                .unwrap_or(config.provider_timeout_ms),
            ..config
        }
    }
}
