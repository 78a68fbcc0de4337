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
    /// `Origin` present and neither the public URL's nor in the allowed list.
    ForbiddenOrigin,
    /// A loopback server was reached under a `Host` that is neither a loopback name
    /// nor the public URL's host (DNS rebinding).
    ForbiddenHost,
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
            TransportError::ForbiddenOrigin | TransportError::ForbiddenHost => Status::FORBIDDEN,
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
            TransportError::ForbiddenHost => "Forbidden: Host not allowed",
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
        if !origin_allowed(origin, config) {
            return Err(TransportError::ForbiddenOrigin);
        }
    }
    if config.loopback {
        let public_host = authority(config.public_url.as_bytes());
        let host = request.header("host").unwrap_or(b"");
        if !(host.eq_ignore_ascii_case(public_host) || is_loopback_authority(host)) {
            return Err(TransportError::ForbiddenHost);
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

/// DNS-rebinding defence: an `Origin` is allowed when it is the public URL's, listed
/// (or `*` is), or a page of this machine calling a loopback server.
fn origin_allowed(origin: &[u8], config: &McpConfig<'_>) -> bool {
    let listed = ServerConfig {
        allowed_origins: config.allowed_origins,
        ..ServerConfig::default()
    };
    let public = config.public_url.as_bytes();
    let public_origin = public
        .get(..scheme_len(public) + authority(public).len())
        .unwrap_or(public);
    origin.eq_ignore_ascii_case(public_origin)
        || listed.origin_allowed(origin)
        || (config.loopback
            && is_loopback_authority(origin.get(scheme_len(origin)..).unwrap_or(b"")))
}

/// Length of `scheme://` at the front of a URL, 0 when there is none.
fn scheme_len(url: &[u8]) -> usize {
    url.windows(3)
        .position(|window| window == b"://")
        .map_or(0, |at| at + 3)
}

/// The `host[:port]` of a URL (or of an origin).
fn authority(url: &[u8]) -> &[u8] {
    let rest = url.get(scheme_len(url)..).unwrap_or(b"");
    rest.split(|&b| b == b'/').next().unwrap_or(b"")
}

/// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn is_loopback_authority(authority: &[u8]) -> bool {
    if let Some(rest) = authority.strip_prefix(b"[::1]") {
        return rest.is_empty() || rest.first() == Some(&b':');
    }
    let host = authority.split(|&b| b == b':').next().unwrap_or(b"");
    host.eq_ignore_ascii_case(b"localhost")
        || (host.starts_with(b"127.")
            && host.split(|&b| b == b'.').count() == 4
            && host.iter().all(|&b| b == b'.' || b.is_ascii_digit()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Limits;
    use crate::http::request::{Parse, parse_head};

    const CONFIG: McpConfig<'static> = McpConfig {
        name: "t",
        title: "t",
        version: "1",
        instructions: "",
        max_message_bytes: 64,
        allowed_origins: &["https://app.example"],
        public_url: "http://127.0.0.1:8787",
        loopback: true,
    };

    fn checked(
        host: &str,
        origin: Option<&str>,
        config: &McpConfig<'_>,
    ) -> Result<(), TransportError> {
        let origin = origin.map_or(std::string::String::new(), |o| {
            std::format!("Origin: {o}\r\n")
        });
        let raw = std::format!(
            "POST /mcp HTTP/1.1\r\nHost: {host}\r\n{origin}Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"
        );
        let Ok(Parse::Complete(head)) = parse_head(raw.as_bytes(), &Limits::default()) else {
            panic!("unparsed: {raw}")
        };
        check(&head.request, config)
    }

    extern crate std;

    #[test]
    fn a_loopback_server_refuses_foreign_hosts_and_origins() {
        let forbidden_origin = Err(TransportError::ForbiddenOrigin);
        let forbidden_host = Err(TransportError::ForbiddenHost);
        let cases: &[(&str, Option<&str>, Result<(), TransportError>)] = &[
            ("127.0.0.1:8787", None, Ok(())),
            ("127.0.0.1:8787", Some("http://127.0.0.1:8787"), Ok(())),
            ("localhost:9999", Some("http://localhost:9999"), Ok(())),
            ("[::1]:8787", Some("http://[::1]:8787"), Ok(())),
            ("127.0.0.1:8787", Some("https://app.example"), Ok(())),
            (
                "evil.example.com",
                Some("http://evil.example.com"),
                forbidden_origin,
            ),
            (
                "127.0.0.1:8787",
                Some("https://evil.example"),
                forbidden_origin,
            ),
            ("127.0.0.1:8787", Some("null"), forbidden_origin),
            (
                "127.0.0.1:8787",
                Some("http://127.0.0.1.evil.example"),
                forbidden_origin,
            ),
            ("evil.example.com", None, forbidden_host),
            ("127.0.0.1.nip.io:8787", None, forbidden_host),
            ("localhost.evil.example", None, forbidden_host),
        ];
        for (host, origin, expected) in cases {
            assert_eq!(
                checked(host, *origin, &CONFIG),
                *expected,
                "{host} {origin:?}"
            );
        }
    }

    #[test]
    fn a_public_server_checks_origin_only() {
        let config = McpConfig {
            public_url: "https://advisor.example/",
            loopback: false,
            allowed_origins: &[],
            ..CONFIG
        };
        assert_eq!(
            checked("advisor.example", Some("https://advisor.example"), &config),
            Ok(())
        );
        assert_eq!(checked("10.0.0.7", None, &config), Ok(()));
        for origin in [
            "http://localhost:6274",
            "https://evil.example",
            "http://advisor.example",
        ] {
            assert_eq!(
                checked("advisor.example", Some(origin), &config),
                Err(TransportError::ForbiddenOrigin),
                "{origin}"
            );
        }
        let any = McpConfig {
            allowed_origins: &["*"],
            ..config
        };
        assert_eq!(
            checked("advisor.example", Some("https://evil.example"), &any),
            Ok(())
        );
    }
}
