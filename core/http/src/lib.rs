//! A `no_std`, allocation-free HTTP/1.1 engine: methods, the HTTP/1.1 message rules of
//! both directions ([`h1`]), bounded request parsing, response writing, a small client for provider calls, the text codecs (percent, form,
//! JSON and HTML escaping) and a bounded JSON scanner, the keep-alive connection loop
//! ([`serve`]) and the seams adapters implement: connections ([`net::Connect`]) and
//! time ([`time::Clock`]).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "std")]
extern crate std;

pub mod client;
pub mod codec;
pub mod h1;
pub mod json;
pub mod method;
pub mod net;
pub mod request;
pub mod response;
pub mod server;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;

pub use method::{Method, MethodSet};
pub use request::{Limits, Request, RequestError};
pub use response::{Body, Header, RenderedHeader, Responder, Sent, Status};
pub use server::{Buffers, ServerConfig, Service, serve};
