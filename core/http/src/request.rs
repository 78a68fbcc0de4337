//! Bounded HTTP/1.1 request parsing on `httparse`: limits, RFC 9112 §6 framing rules,
//! connection persistence, and a borrowed view of one request for handlers.

use core::mem::MaybeUninit;

use super::codec::form_value;
use super::h1::{BodyLength, request_framing};
use super::method::Method;
use super::response::Status;

/// Header slots on the stack while a head is parsed; `Limits::max_headers` may lower it.
pub const HEADER_SLOTS: usize = 32;

/// Request limits. Each bound also caps how far a client can push the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Headers per request (at most `HEADER_SLOTS`).
    pub max_headers: usize,
    /// Bytes of the request-target (path and query).
    pub max_target_len: usize,
    /// Bytes of the request line and headers together.
    pub max_head_bytes: usize,
    /// Bytes of a request body.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 24,
            max_target_len: 512,
            max_head_bytes: 4096,
            max_body_bytes: 4096,
        }
    }
}

/// Why a request was refused before it reached a handler; `status` and `message` are
/// the one place these become answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// 400: the head or the chunked framing breaks HTTP/1.1.
    Malformed,
    /// 411: a POST, PUT or PATCH without `Content-Length` or chunked coding.
    LengthRequired,
    /// 413: the body is over `Limits::max_body_bytes` or does not fit the buffer.
    BodyTooLarge,
    /// 414: the request-target is over `Limits::max_target_len`.
    TargetTooLong,
    /// 431: the head (or a chunked body's trailers) is over the header limits.
    HeadersTooLarge,
    /// 501: a transfer coding other than `chunked`.
    UnsupportedTransferCoding,
    /// 505: not HTTP/1.0 or HTTP/1.1.
    UnsupportedVersion,
}

impl RequestError {
    /// The status of the answer.
    pub fn status(self) -> Status {
        match self {
            RequestError::Malformed => Status::BAD_REQUEST,
            RequestError::LengthRequired => Status::LENGTH_REQUIRED,
            RequestError::BodyTooLarge => Status::CONTENT_TOO_LARGE,
            RequestError::TargetTooLong => Status::URI_TOO_LONG,
            RequestError::HeadersTooLarge => Status::HEADERS_TOO_LARGE,
            RequestError::UnsupportedTransferCoding => Status::NOT_IMPLEMENTED,
            RequestError::UnsupportedVersion => Status::VERSION_NOT_SUPPORTED,
        }
    }

    /// The text of the answer's `{"error": ...}` body.
    pub fn message(self) -> &'static str {
        match self {
            RequestError::Malformed => "Malformed request",
            RequestError::LengthRequired => "A Content-Length or a chunked body is required",
            RequestError::BodyTooLarge => "Request body too large",
            RequestError::TargetTooLong => "Request target too long",
            RequestError::HeadersTooLarge => "Request headers too large",
            RequestError::UnsupportedTransferCoding => "Transfer coding not implemented",
            RequestError::UnsupportedVersion => "HTTP version not supported",
        }
    }
}

/// A parsed request head plus what framing it implies.
#[derive(Debug)]
pub struct Head<'b> {
    /// The request; its `body` is empty until a `Known` body has arrived, and for a
    /// chunked one (the connection loop decodes it and sets it).
    pub request: Request<'b>,
    /// Bytes of the head, including the blank line.
    pub head_len: usize,
    /// How the body that follows the head is delimited (never `UntilClose`).
    pub body: BodyLength,
    /// The client waits for `100 Continue` before it sends the body.
    pub expects_continue: bool,
}

/// One request as handlers see it; everything borrows the receive buffer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'b> {
    pub method: Method,
    pub path: &'b str,
    pub query: Option<&'b str>,
    /// `0` for HTTP/1.0, `1` for HTTP/1.1.
    pub minor_version: u8,
    pub keep_alive: bool,
    pub body: &'b [u8],
    /// The header lines as received (validated by the parser). Lookups scan them, so a
    /// connection keeps no per-header table while its request is answered.
    header_block: &'b [u8],
}

impl<'b> Request<'b> {
    /// The first value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.header_values(name).next()
    }

    /// The first value of a header as text, if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'b str> {
        self.header(name)
            .and_then(|value| core::str::from_utf8(value).ok())
    }

    /// How many times a header occurs.
    pub fn header_count(&self, name: &str) -> usize {
        self.header_values(name).count()
    }

    /// Every value of one header, in order, without surrounding whitespace.
    pub fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'b [u8]> + use<'b, 'n> {
        HeaderLines {
            rest: self.header_block,
        }
        .filter(move |(header, _)| header.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, value)| value.trim_ascii())
    }

    /// The raw (percent-encoded) value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&'b str> {
        self.query.and_then(|query| form_value(query, name))
    }

    /// Every header as (name, value), values without surrounding whitespace.
    pub fn headers(&self) -> impl Iterator<Item = (&'b str, &'b [u8])> + use<'b> {
        HeaderLines {
            rest: self.header_block,
        }
        .filter_map(|(name, value)| Some((core::str::from_utf8(name).ok()?, value.trim_ascii())))
    }
}

/// The headers of a parsed head, read line by line: (name, value as sent after the
/// colon). Values are trimmed only when asked for.
#[derive(Debug, Clone)]
struct HeaderLines<'b> {
    rest: &'b [u8],
}

impl<'b> Iterator for HeaderLines<'b> {
    type Item = (&'b [u8], &'b [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let (line, rest) = match self.rest.iter().position(|&b| b == b'\n') {
                Some(end) => self
                    .rest
                    .split_at_checked(end)
                    .map_or((self.rest, &[][..]), |(line, rest)| {
                        (line, rest.get(1..).unwrap_or(&[]))
                    }),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.rest = &[];
                return None;
            }
            let Some((name, value)) = line
                .iter()
                .position(|&b| b == b':')
                .and_then(|colon| line.split_at_checked(colon))
            else {
                continue;
            };
            return Some((name, value.get(1..).unwrap_or(&[])));
        }
        None
    }
}

/// Outcome of looking at the bytes received so far.
#[derive(Debug)]
pub enum Parse<'b> {
    /// The head is not complete yet.
    Partial,
    Complete(Head<'b>),
}

/// Parses a request head from `buf`, enforcing `limits`. A partial head that already
/// breaks a limit is refused at once, so a client cannot make the engine wait for it.
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn parse_head<'b>(buf: &'b [u8], limits: &Limits) -> Result<Parse<'b>, RequestError> {
    let mut slots = [MaybeUninit::uninit(); HEADER_SLOTS];
    let max_headers = limits.max_headers.min(slots.len());
    let slots = slots.get_mut(..max_headers).unwrap_or(&mut []);
    let mut raw = httparse::Request::new(&mut []);
    // Uninitialised slots spare zeroing them for every request; httparse fills what it uses.
    let status = raw
        .parse_with_uninit_headers(buf, slots)
        .map_err(|error| match error {
            httparse::Error::Version => RequestError::UnsupportedVersion,
            httparse::Error::TooManyHeaders => RequestError::HeadersTooLarge,
            _ => RequestError::Malformed,
        });
    let status = match status {
        Ok(status) => status,
        Err(error) => return Err(partial_limit(buf, limits).unwrap_or(error)),
    };
    let head_len = match status {
        httparse::Status::Partial => {
            return match partial_limit(buf, limits) {
                Some(error) => Err(error),
                None => Ok(Parse::Partial),
            };
        }
        httparse::Status::Complete(len) => len,
    };
    if head_len > limits.max_head_bytes {
        return Err(RequestError::HeadersTooLarge);
    }
    let (Some(method), Some(target), Some(minor_version)) = (raw.method, raw.path, raw.version)
    else {
        return Err(RequestError::Malformed);
    };
    if target.len() > limits.max_target_len {
        return Err(RequestError::TargetTooLong);
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let path = path.split_once('#').map_or(path, |(path, _)| path);
    if !path.starts_with('/') && path != "*" {
        return Err(RequestError::Malformed);
    }
    let method = Method::parse(method);
    let framing = request_framing(raw.headers, method, minor_version)?;
    let body = match framing.body {
        BodyLength::Known(length) if length > limits.max_body_bytes => {
            return Err(RequestError::BodyTooLarge);
        }
        // Empty until all of it has arrived; the loop waits for that.
        BodyLength::Known(length) => buf.get(head_len..head_len + length).unwrap_or(&[]),
        _ => &[],
    };
    let head = buf.get(..head_len).unwrap_or(&[]);
    let header_block = head
        .iter()
        .position(|&b| b == b'\n')
        .and_then(|end| head.get(end + 1..))
        .unwrap_or(&[]);
    Ok(Parse::Complete(Head {
        request: Request {
            method,
            path,
            query,
            minor_version,
            keep_alive: framing.keep_alive,
            body,
            header_block,
        },
        head_len,
        body: framing.body,
        expects_continue: framing.expects_continue,
    }))
}

/// Decides whether an incomplete head has already outgrown a limit.
fn partial_limit(buf: &[u8], limits: &Limits) -> Option<RequestError> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    match line_end {
        None if buf.len() > request_line_budget(limits) => Some(RequestError::TargetTooLong),
        _ if buf.len() > limits.max_head_bytes => Some(RequestError::HeadersTooLarge),
        _ => None,
    }
}

/// The longest request line allowed: method SP target SP version, with room for the
/// method and version.
fn request_line_budget(limits: &Limits) -> usize {
    limits.max_target_len + 32
}

/// Tells when a head still arriving is worth parsing again: at the first look (most heads
/// arrive whole), then once a line has ended since the last look or a limit is crossed. A
/// client sending a byte per read then costs a parse per line instead of one per byte.
#[derive(Debug, Default)]
pub(crate) struct HeadWatch {
    scanned: usize,
}

impl HeadWatch {
    /// Whether `received` (what has arrived of the head so far, growing between calls)
    /// may parse differently from the last time.
    pub(crate) fn worth_parsing(&mut self, received: &[u8], limits: &Limits) -> bool {
        let before = core::mem::replace(&mut self.scanned, received.len());
        let crosses = |limit: usize| before <= limit && received.len() > limit;
        before == 0
            || crosses(request_line_budget(limits))
            || crosses(limits.max_head_bytes)
            || received
                .get(before..)
                .is_some_and(|fresh| fresh.contains(&b'\n'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_arriving_byte_by_byte_is_parsed_once_per_line() {
        let limits = Limits::default();
        let head = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";
        let mut watch = HeadWatch::default();
        let parses: heapless::Vec<usize, 8> = (1..=head.len())
            .filter(|&end| watch.worth_parsing(&head[..end], &limits))
            .collect();
        assert_eq!(
            parses,
            [1, 16, 25, 27],
            "at the first byte, then at line ends only"
        );
    }

    #[test]
    fn a_head_past_a_limit_is_parsed_before_its_line_ends() {
        let limits = Limits::default();
        let mut watch = HeadWatch::default();
        let line = [b'a'; 4096];
        let budget = request_line_budget(&limits);
        assert!(watch.worth_parsing(&line[..1], &limits), "the first look");
        assert!(!watch.worth_parsing(&line[..budget], &limits));
        assert!(
            watch.worth_parsing(&line[..budget + 1], &limits),
            "the request line is too long"
        );
        let mut watch = HeadWatch::default();
        let mut head = [b'b'; 8192];
        let start = b"GET / HTTP/1.1\r\nX-Big: ";
        head[..start.len()].copy_from_slice(start);
        let head = &head[..limits.max_head_bytes + 1];
        assert!(watch.worth_parsing(&head[..10], &limits), "the first look");
        assert!(watch.worth_parsing(&head[..20], &limits), "a line ended");
        let past_line_budget = request_line_budget(&limits) + 1;
        assert!(
            watch.worth_parsing(&head[..past_line_budget], &limits),
            "once"
        );
        assert!(!watch.worth_parsing(&head[..past_line_budget + 1], &limits));
        assert!(!watch.worth_parsing(&head[..limits.max_head_bytes], &limits));
        assert!(watch.worth_parsing(head, &limits), "the head is too large");
    }

    fn parsed(raw: &[u8]) -> Request<'_> {
        match parse_head(raw, &Limits::default()) {
            Ok(Parse::Complete(head)) => head.request,
            other => panic!("{other:?}"),
        }
    }

    /// Headers are looked up in the received lines; the results must be what the
    /// parser saw: trimmed values, either line ending, the body never read as a header.
    #[test]
    fn header_lines_read_like_the_parser() {
        let raw = b"POST /mcp HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nAuthorization: \t Bearer  abc \t\r\nx-twice: 1\nX-Twice: 2\r\nContent-Length: 13\r\n\r\nNot-A: header";
        let request = parsed(raw);
        assert_eq!(request.header("authorization"), Some(&b"Bearer  abc"[..]));
        assert_eq!(request.header("X-EMPTY"), Some(&b""[..]));
        assert_eq!(request.header("x-twice"), Some(&b"1"[..]));
        assert_eq!(request.header_count("X-Twice"), 2);
        assert_eq!(request.header("not-a"), None);
        assert_eq!(request.body, b"Not-A: header");
        let names: heapless::Vec<&str, 8> = request.headers().map(|(name, _)| name).collect();
        assert_eq!(
            names.as_slice(),
            [
                "Host",
                "X-Empty",
                "Authorization",
                "x-twice",
                "X-Twice",
                "Content-Length"
            ]
        );
    }
}
