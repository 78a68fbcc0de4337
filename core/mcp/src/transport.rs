//! The Streamable HTTP rules a POST must pass before its JSON-RPC message is read:
//! method, Origin (DNS-rebinding protection), media types, size; and the request
//! headers checked against the message once it is read (`MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name`).

use crate::http::codec::header_list;
use crate::http::json::JsonStr;
use crate::http::server::ServerConfig;
use crate::http::{Method, Request, Status};

use super::{MODERN_PROTOCOL_VERSION, McpConfig, PROTOCOL_VERSIONS};

/// The version a request without `MCP-Protocol-Version` is taken to speak.
pub const DEFAULT_HEADER_VERSION: &str = "2025-03-26";

/// Why the transport refused a request, with the HTTP answer it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// GET (no SSE stream offered) and DELETE (no sessions) and anything else but POST.
    MethodNotAllowed,
    /// `Origin` present and not in the allowed list.
    ForbiddenOrigin,
    /// `Accept` lacks `application/json` or `text/event-stream`.
    NotAcceptable,
    /// `Content-Type` is missing or not `application/json`.
    UnsupportedMediaType,
    /// The message exceeds `McpConfig::max_message_bytes`.
    TooLarge,
}

impl TransportError {
    /// The HTTP status it is answered with.
    pub fn status(self) -> Status {
        match self {
            TransportError::MethodNotAllowed => Status::METHOD_NOT_ALLOWED,
            TransportError::ForbiddenOrigin => Status::FORBIDDEN,
            TransportError::NotAcceptable => Status::NOT_ACCEPTABLE,
            TransportError::UnsupportedMediaType => Status::UNSUPPORTED_MEDIA_TYPE,
            TransportError::TooLarge => Status::CONTENT_TOO_LARGE,
        }
    }

    /// The JSON-RPC error message of the answer.
    pub fn message(self) -> &'static str {
        match self {
            TransportError::MethodNotAllowed => {
                "Method not allowed: this stateless MCP endpoint only accepts POST"
            }
            TransportError::ForbiddenOrigin => "Forbidden: Origin not allowed",
            TransportError::NotAcceptable => {
                "Not Acceptable: Accept must list both application/json and text/event-stream"
            }
            TransportError::UnsupportedMediaType => {
                "Unsupported Media Type: Content-Type must be application/json"
            }
            TransportError::TooLarge => "Content Too Large: the JSON-RPC message exceeds the limit",
        }
    }
}

/// Applies the transport rules in the order a client can best act on.
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn check(request: &Request<'_>, config: &McpConfig<'_>) -> Result<(), TransportError> {
    if request.method != Method::Post {
        return Err(TransportError::MethodNotAllowed);
    }
    if let Some(origin) = request.header("origin") {
        let origins = ServerConfig {
            allowed_origins: config.allowed_origins,
            ..ServerConfig::default()
        };
        if !origins.origin_allowed(origin) {
            return Err(TransportError::ForbiddenOrigin);
        }
    }
    if !accepts_both(request) {
        return Err(TransportError::NotAcceptable);
    }
    if !request
        .header("content-type")
        .is_some_and(|value| media_type(value).eq_ignore_ascii_case(b"application/json"))
    {
        return Err(TransportError::UnsupportedMediaType);
    }
    if request.body.len() > config.max_message_bytes {
        return Err(TransportError::TooLarge);
    }
    Ok(())
}

/// The protocol version the request's header names, or the default when absent;
/// `None` when the header names a version this server does not speak (either era).
pub fn protocol_version(request: &Request<'_>) -> Option<&'static str> {
    const SPOKEN: [&str; 4] = [
        MODERN_PROTOCOL_VERSION,
        PROTOCOL_VERSIONS[0],
        PROTOCOL_VERSIONS[1],
        PROTOCOL_VERSIONS[2],
    ];
    let value = request.header("mcp-protocol-version");
    let Some(value) = value else {
        return Some(DEFAULT_HEADER_VERSION);
    };
    SPOKEN
        .into_iter()
        .find(|version| version.as_bytes() == value.trim_ascii())
}

/// Whether the request has header `name` and its value names the body's `expected`
/// string; with `sentinel`, a value in the `=?base64?...?=` form is decoded first.
/// Compared byte by byte while decoding, so nothing is buffered.
#[inline(never)] // one copy for its three callers: less flash
pub fn header_matches(
    request: &Request<'_>,
    name: &str,
    expected: JsonStr<'_>,
    sentinel: bool,
) -> bool {
    let Some(value) = request.header(name) else {
        return false;
    };
    let encoded = value
        .strip_prefix(b"=?base64?")
        .and_then(|rest| rest.strip_suffix(b"?="))
        .filter(|_| sentinel);
    let mut decoded = Decoded {
        rest: encoded.unwrap_or(value).iter(),
        base64: encoded.is_some(),
        bits: 0,
        count: 0,
    };
    for c in expected.chars() {
        let Ok(c) = c else { return false };
        for &byte in c.encode_utf8(&mut [0; 4]).as_bytes() {
            if decoded.next() != Some(Some(byte)) {
                return false;
            }
        }
    }
    decoded.next().is_none()
}

/// The bytes a header value stands for: as is, or Base64-decoded (standard alphabet,
/// padding optional); `Some(None)` marks a character outside the alphabet.
struct Decoded<'a> {
    rest: core::slice::Iter<'a, u8>,
    base64: bool,
    bits: u16,
    count: u8,
}

impl Iterator for Decoded<'_> {
    type Item = Option<u8>;

    fn next(&mut self) -> Option<Option<u8>> {
        if !self.base64 {
            return self.rest.next().map(|&byte| Some(byte));
        }
        loop {
            if self.count >= 8 {
                self.count -= 8;
                return Some(Some((self.bits >> self.count) as u8));
            }
            let sextet = match *self.rest.next()? {
                c @ b'A'..=b'Z' => c - b'A',
                c @ b'a'..=b'z' => c - b'a' + 26,
                c @ b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                // Padding ends the value; leftover bits are dropped.
                b'=' if self.rest.as_slice().iter().all(|&c| c == b'=') => return None,
                _ => return Some(None),
            };
            // At most 13 bits are pending, so a u16 loses nothing that is still needed.
            self.bits = (self.bits << 6) | u16::from(sextet);
            self.count += 6;
        }
    }
}

/// The spec requires both types to be listed; wildcards do not count, as in the
/// reference SDKs, so a client that cannot take the stream learns it at once.
fn accepts_both(request: &Request<'_>) -> bool {
    let (mut json, mut stream) = (false, false);
    for value in request
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("accept"))
        .map(|(_, value)| value)
    {
        for range in header_list(value) {
            let range = media_type(range);
            json |= range.eq_ignore_ascii_case(b"application/json");
            stream |= range.eq_ignore_ascii_case(b"text/event-stream");
        }
    }
    json && stream
}

/// The `type/subtype` of a media type or range, parameters dropped.
fn media_type(value: &[u8]) -> &[u8] {
    value
        .split(|&b| b == b';')
        .next()
        .unwrap_or(&[])
        .trim_ascii()
}
