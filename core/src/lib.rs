//! Push Advisor core: a `no_std`, allocation-free HTTP/1.1 engine, an OAuth 2.0
//! resource-server guard and the Push Advisor API, generic over the connection,
//! the clock, randomness and the token validator that adapters supply.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "std")]
extern crate std;

pub mod app;
pub mod http;
pub mod mcp;
pub mod net;
pub mod oauth;
pub mod server;
pub mod time;

pub use server::{Buffers, ServerConfig, Service, serve};
