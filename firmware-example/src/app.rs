//! What every board serves, and with how much memory. `service()` is the one place
//! that builds the application, so the Push Advisor app can replace the test service.

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::{Duration, Instant, Timer};
use embedded_io_async::Write;
use push_advisor_core::http::response::WriteError;
use push_advisor_core::http::{MethodSet, Request, Responder, Sent, Status};
use push_advisor_core::time::Clock;
use push_advisor_core::{ServerConfig, Service};
use push_advisor_embassy::{EmbassyClock, SocketMemory, Timeouts};
use serde::Serialize;

/// Listening sockets, so concurrent connections.
pub const SOCKETS: usize = 4;
/// Per socket: smoltcp receive/transmit buffers, the core's request/response buffers.
pub type Memory = SocketMemory<2048, 2048, 2048, 1024>;
/// Sockets the stack must hold: the listeners, the raw socket of `DropUnmatchedTcp`,
/// DNS, DHCP and one outbound connection.
pub const STACK_SOCKETS: usize = SOCKETS + 4;

/// The device's clock; wall time is unknown until `wall_time` learns it.
pub static CLOCK: EmbassyClock<CriticalSectionRawMutex> = EmbassyClock::new();

pub fn server_config() -> ServerConfig<'static> {
    ServerConfig::default()
}

pub fn timeouts() -> Timeouts {
    Timeouts::default()
}

/// The application this firmware serves.
pub fn service() -> TestService {
    TestService
}

/// A stand-in until the Push Advisor app lands: `GET /vibe-check` answers JSON,
/// `GET /slow?ms=N` answers after N ms (at most 5000) so tests can hold sockets busy.
#[derive(Debug)]
pub struct TestService;

#[derive(Serialize)]
struct VibeCheck<'a> {
    vibe: &'a str,
    uptime_ms: u64,
    /// `null` until the device has learned wall time.
    unix_time: Option<u64>,
}

const MAX_HOLD_MS: u64 = 5000;

impl Service for TestService {
    fn route(&self, path: &str) -> Option<MethodSet> {
        match path {
            "/vibe-check" | "/slow" => Some(MethodSet::GET),
            _ => None,
        }
    }

    async fn call<W: Write>(
        &self,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        if request.path == "/slow" {
            let hold = request
                .query_param("ms")
                .and_then(|ms| ms.parse::<u64>().ok())
                .unwrap_or(0)
                .min(MAX_HOLD_MS);
            Timer::after(Duration::from_millis(hold)).await;
        }
        let body = VibeCheck {
            vibe: "immaculate",
            uptime_ms: Instant::now().as_millis(),
            unix_time: CLOCK.unix_seconds(),
        };
        response
            .json(Status::OK, &[("Cache-Control", "no-store")], &body)
            .await
    }
}
