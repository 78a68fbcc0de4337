//! Binds `push-advisor-core` to embassy-net (smoltcp) on microcontrollers:
//! N listening sockets serving a core `Service` with timeouts, an outbound
//! connector for the core's HTTP client, and a clock that learns wall time late.
//!
//! Features: `defmt` or `log` for logging. Outbound TLS is not there yet: `TcpConnector`
//! refuses `https` endpoints with `ConnectError::TlsUnavailable`.
//! Nothing here logs request contents, so tokens never reach a log.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[macro_use]
mod fmt;

pub mod clock;
pub mod connect;
pub mod connection;
pub mod server;
pub mod time_sync;

pub use clock::EmbassyClock;
pub use connect::{ConnectError, Outbound, TcpConnector};
pub use connection::{ConnectionError, TimedSocket};
pub use server::{
    DropUnmatchedTcp, SocketMemory, SocketSlot, Timeouts, serve_socket, serve_sockets,
};
pub use time_sync::{TimeSyncError, learn_wall_time};
