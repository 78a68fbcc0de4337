//! The Streamable HTTP rules a POST must pass before its JSON-RPC message is read:
//! method, Origin (DNS-rebinding protection), media types, protocol version, size.

use crate::http::codec::header_list;
use crate::http::server::ServerConfig;
use crate::http::{Method, Request, Status};

use super::{McpConfig, PROTOCOL_VERSIONS};

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
    /// `MCP-Protocol-Version` names a version this server does not speak.
    UnsupportedProtocolVersion,
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
            TransportError::UnsupportedProtocolVersion => Status::BAD_REQUEST,
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
            TransportError::UnsupportedProtocolVersion => {
                "Bad Request: unsupported MCP-Protocol-Version (supported: 2025-11-25, 2025-06-18, 2025-03-26)"
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
    protocol_version(request).ok_or(TransportError::UnsupportedProtocolVersion)?;
    if request.body.len() > config.max_message_bytes {
        return Err(TransportError::TooLarge);
    }
    Ok(())
}

/// The protocol version the request's header names, or the default when absent;
/// `None` when the header names a version this server does not speak.
pub fn protocol_version(request: &Request<'_>) -> Option<&'static str> {
    match request.header("mcp-protocol-version") {
        None => Some(DEFAULT_HEADER_VERSION),
        Some(value) => PROTOCOL_VERSIONS
            .iter()
            .copied()
            .find(|version| version.as_bytes() == value.trim_ascii()),
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
