//! Binds the Push Advisor core crates to embassy-net (smoltcp) on microcontrollers:
//! N listening sockets serving a core `Service` with timeouts, an outbound
//! connector for the core's HTTP client, and a clock that learns wall time late.
//!
//! Features: `defmt` or `log` for logging; `tls` for `https` providers (TLS 1.3 through
//! embedded-tls, certificate chain checked against one CA; see `tls`). Without it
//! `TcpConnector` refuses `https` endpoints with `ConnectError::TlsUnavailable`.
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
#[cfg(feature = "tls")]
pub mod tls;

pub use clock::EmbassyClock;
pub use connect::{ConnectError, Outbound, TcpConnector};
pub use connection::{ConnectionError, TimedSocket};
pub use server::{
    DropUnmatchedTcp, Listening, SocketMemory, SocketSlot, Timeouts, serve_socket, serve_sockets,
};
#[cfg(feature = "tls")]
pub use tls::{TLS_READ_RECORD, TLS_WRITE_RECORD, TlsFailure, TlsSlot, TlsStream, run_tls_worker};
