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
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(index) => (rest.get(..index)?, rest.get(index..)?),
            None => (rest, "/"),
        };
        let path = path.split_once('#').map_or(path, |(path, _)| path);
        let path = if path.starts_with('/') { path } else { "/" };
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']')?;
            match after.strip_prefix(':') {
                Some(port) => (host, parse_port(port)?),
                None if after.is_empty() => (host, default_port),
                None => return None,
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, parse_port(port)?),
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
    }
}
