//! Tokio host adapter for the Push Advisor core crates: the accept loop with phase-aware
//! timeouts, a connection cap and graceful shutdown (`server`), the outbound TCP/TLS
//! connector with a keep-alive pool (`connector`), host time and randomness (`host`), and
//! a sharded token cache sized for many users (`token_cache`).
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod client_address;
pub mod connector;
mod deadline;
pub mod host;
pub mod server;
pub mod token_cache;

pub use connector::{
    ConnectError, ConnectErrorKind, Connection, Connector, ConnectorOptions, ConnectorSetupError,
    TlsRoots,
};
pub use host::{HostClock, OsRng};
pub use server::{LiveStats, ServeStats, ServerOptions, run, run_with_stats, shutdown_signal};
pub use token_cache::TokenCache;
