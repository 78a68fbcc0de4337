//! The outbound-connection seam: how the core reaches the authorization server.
//! Adapters implement `Connect` (plain TCP or TLS); the core's HTTP client uses it.

use embedded_io_async::{Read, Write};

use crate::failure::ExchangeFailure;
use crate::h1::parse_decimal;

/// Where to connect, parsed from an `http://` or `https://` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint<'a> {
    pub host: &'a str,
    pub port: u16,
    pub tls: bool,
    /// Path and query, starting with `/`.
    pub path: &'a str,
}

impl<'a> Endpoint<'a> {
    /// Parses an absolute `http` or `https` URL; `None` for anything else.
    pub fn parse(url: &'a str) -> Option<Endpoint<'a>> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, url.strip_prefix("http://")?)
        };
        // Byte searches: the delimiters are ASCII, so every split is on a char boundary.
        let (authority, path) = split_at_byte(rest, |b| matches!(b, b'/' | b'?' | b'#'));
        let path = split_at_byte(path, |b| b == b'#').0;
        let path = if path.starts_with('/') { path } else { "/" };
        if authority.is_empty() || authority.bytes().any(|b| b == b'@') {
            return None;
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = split_at_byte(bracketed, |b| b == b']');
            match after.as_bytes() {
                [b']'] => (host, default_port),
                [b']', b':', ..] => (host, parse_port(after.get(2..)?)?),
                _ => return None,
            }
        } else {
            match authority.bytes().rposition(|b| b == b':') {
                Some(colon) => (
                    authority.get(..colon)?,
                    parse_port(authority.get(colon + 1..)?)?,
                ),
                None => (authority, default_port),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(Endpoint {
            host,
            port,
            tls,
            path,
        })
    }
}

/// `text` split before its first byte that `stop` accepts (all of it and `""` when none).
fn split_at_byte(text: &str, stop: impl Fn(u8) -> bool) -> (&str, &str) {
    let at = text.bytes().position(stop).unwrap_or(text.len());
    text.split_at_checked(at).unwrap_or((text, ""))
}

fn parse_port(digits: &str) -> Option<u16> {
    u16::try_from(parse_decimal(digits.as_bytes())?).ok()
}

/// A connection the HTTP client may hand back for reuse after a complete
/// keep-alive exchange. Connections are not reusable unless marked.
pub trait Reusable {
    fn mark_reusable(&mut self);
}

/// Opens outbound connections (plain or TLS, as `Endpoint::tls` says).
#[allow(async_fn_in_trait)]
pub trait Connect {
    type Connection<'c>: Read + Write + Reusable
    where
        Self: 'c;
    type Error: core::fmt::Debug;

    async fn connect(&self, endpoint: &Endpoint<'_>) -> Result<Self::Connection<'_>, Self::Error>;

    /// Told when an exchange on one of its connections failed after connecting (timeout,
    /// status, malformed or oversize answer), so the adapter can log the cause; failed
    /// connects it sees itself. Does nothing unless the adapter logs.
    fn exchange_failed(&self, failure: ExchangeFailure) {
        let _ = failure;
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn parses_urls() {
        let e = Endpoint::parse("https://auth.example.com/oauth2/introspect").unwrap();
        assert_eq!(
            (e.host, e.port, e.tls, e.path),
            ("auth.example.com", 443, true, "/oauth2/introspect")
        );
        let e = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            (e.host, e.port, e.tls, e.path),
            ("127.0.0.1", 9000, false, "/")
        );
        let e = Endpoint::parse("http://[::1]:8080/x?y#z").unwrap();
        assert_eq!((e.host, e.port, e.path), ("::1", 8080, "/x?y"));
        assert!(Endpoint::parse("ftp://x").is_none());
        assert!(Endpoint::parse("http://user@host/").is_none());
        assert!(Endpoint::parse("http://host:99999/").is_none());
        assert!(Endpoint::parse("http://:80/").is_none());
        let e = Endpoint::parse("https://[fe80::1]?q#f").unwrap();
        assert_eq!((e.host, e.port, e.path), ("fe80::1", 443, "/"));
        for bad in [
            "http://[::1",
            "http://[::1]x/",
            "http://[::1]:/",
            "http://[]/",
        ] {
            assert!(Endpoint::parse(bad).is_none(), "{bad}");
        }
    }
}
