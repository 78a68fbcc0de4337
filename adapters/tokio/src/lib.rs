//! Tokio host adapter for the Push Advisor core crates: the accept loop with phase-aware
//! timeouts, a connection cap and graceful shutdown (`server`), the outbound TCP/TLS
//! connector with a keep-alive pool (`connector`), and host time and randomness (`host`).
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod client_address;
pub mod connector;
mod deadline;
pub mod host;
pub mod server;

pub use connector::{
    ConnectError, ConnectErrorKind, Connection, Connector, ConnectorOptions, ConnectorSetupError,
    TlsRoots,
};
pub use host::{HostClock, OsRng};
pub use server::{LiveStats, ServeStats, ServerOptions, run, run_with_stats, shutdown_signal};
