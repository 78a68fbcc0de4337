//! HTTP/1.1 building blocks: methods, bounded request parsing, response writing
//! and the text codecs (percent, JSON and HTML escaping) handlers need.

pub mod client;
pub mod codec;
pub mod method;
pub mod request;
pub mod response;

pub use method::{Method, MethodSet};
pub use request::{Limits, Request, RequestError};
pub use response::{Body, Header, RenderedHeader, Responder, Sent, Status};
