//! A `no_std`, allocation-free HTTP/1.1 engine: methods, the HTTP/1.1 message rules of
//! both directions ([`h1`]), bounded request parsing, response writing, a small client for provider calls, the text codecs (percent, form,
//! JSON and HTML escaping) and a bounded JSON scanner, the keep-alive connection loop
//! ([`serve`]) and the seams adapters implement: connections ([`net::Connect`]) and
//! time ([`time::Clock`]). Every limit is a number in [`Limits`] or a buffer the
//! caller lends; no input makes it panic.
//!
//! A request parsed from bytes, and an answer written through a [`Responder`] into
//! any `embedded_io_async::Write` (here a byte slice):
//!
//! ```
//! use push_advisor_http::request::{Parse, parse_head};
//! use push_advisor_http::response::{Framing, JSON};
//! use push_advisor_http::{Body, Limits, Method, Responder, Status};
//!
//! let raw = b"GET /vibe-check?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
//! let Ok(Parse::Complete(head)) = parse_head(raw, &Limits::default()) else { panic!() };
//! assert_eq!((head.request.method, head.request.path), (Method::Get, "/vibe-check"));
//! assert_eq!(head.request.query_param("x"), Some("1"));
//!
//! let (mut wire, mut transmit) = ([0u8; 256], [0u8; 128]);
//! let mut conn = &mut wire[..];
//! let framing = Framing { head_only: false, keep_alive: true, allow_origin: None, vary_origin: false };
//! let responder = Responder::new(&mut conn, &mut transmit, framing);
//! let body = Body::Bytes(br#"{"vibe":"good"}"#);
//! embassy_futures::block_on(responder.send(Status::OK, JSON, &[], body)).unwrap();
//! let written = 256 - conn.len();
//! assert!(wire[..written].starts_with(b"HTTP/1.1 200 OK\r\n"));
//! assert!(wire[..written].ends_with(br#"{"vibe":"good"}"#));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "std")]
extern crate std;

pub mod client;
pub mod codec;
pub mod failure;
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
