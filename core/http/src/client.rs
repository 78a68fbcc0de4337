//! A minimal, bounded HTTP/1.1 client for talking to the authorization server:
//! writes one request from a lent buffer, reads the response into another lent
//! buffer (Content-Length, chunked or close-delimited), and tells the connection
//! whether it may be reused.

use core::fmt::{self, Write as _};

use embedded_io_async::{Read, Write};

use super::codec::{ByteCount, SliceSink, write_decimal};
use crate::h1::{
    BodyLength, ChunkError, ChunkedDecoder, ResponseFraming, is_interim, parse_decimal,
    response_framing,
};
use crate::net::{Endpoint, Reusable};

/// Header slots for a provider's response; more headers than this is refused.
const RESPONSE_HEADER_SLOTS: usize = 32;
/// Bytes of chunked-body trailers skipped before the response is refused.
const MAX_TRAILER_BYTES: usize = 1024;
/// Interim (1xx) answers skipped before the final one; more is refused as malformed, so
/// a peer cannot keep an exchange alive with an endless stream of them.
pub const MAX_INTERIM_RESPONSES: usize = 4;

/// Renders a form body or a header value into a writer.
pub type FormRenderer<'a> = &'a (dyn Fn(&mut dyn crate::codec::TextSink) -> fmt::Result + Sync);

/// One outgoing request. A `form` body is rendered twice (measure, then write) and
/// must produce the same bytes each time.
#[derive(Clone, Copy)]
pub struct Outgoing<'a> {
    pub method: &'a str,
    pub endpoint: &'a Endpoint<'a>,
    /// Extra headers; values must not contain CR or LF.
    pub headers: &'a [(&'a str, &'a str)],
    /// Writes an `Authorization` header value (client credentials), if any; it must
    /// not write CR or LF.
    pub authorization: Option<FormRenderer<'a>>,
    /// An `application/x-www-form-urlencoded` body.
    pub form: Option<FormRenderer<'a>>,
    /// Ask the server to keep the connection open for another request.
    pub keep_alive: bool,
}

impl<'a> Outgoing<'a> {
    /// A plain `GET` of `endpoint` (metadata, key sets): no headers, credentials or body.
    pub fn get(endpoint: &'a Endpoint<'a>, keep_alive: bool) -> Self {
        Outgoing {
            method: "GET",
            endpoint,
            headers: &[],
            authorization: None,
            form: None,
            keep_alive,
        }
    }
}

impl fmt::Debug for Outgoing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("method", &self.method)
            .field("endpoint", &self.endpoint)
            .field("has_form", &self.form.is_some())
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

/// Why an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError<E> {
    Io(E),
    /// The request does not fit the transmit buffer.
    RequestTooLarge,
    /// A header value or the path holds bytes that would break the request.
    InvalidRequest,
    /// The response does not fit the receive buffer.
    ResponseTooLarge,
    /// The response breaks HTTP/1.1.
    Malformed,
    /// The peer closed the connection before the response was complete.
    Truncated,
}

/// A complete response, borrowing the receive buffer.
#[derive(Debug, Clone, Copy)]
pub struct Response<'b> {
    pub status: u16,
    pub body: &'b [u8],
    /// The `Date` header as Unix seconds, so a device without a clock can learn the time.
    pub date: Option<u64>,
    /// Whether the connection was marked reusable.
    pub reusable: bool,
    head: &'b [u8],
}

impl<'b> Response<'b> {
    /// The first value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.head
            .split(|&b| b == b'\n')
            .skip(1)
            .filter_map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let colon = line.iter().position(|&b| b == b':')?;
                Some((line.get(..colon)?, line.get(colon + 1..)?))
            })
            .find(|(key, _)| key.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value.trim_ascii())
    }
}

/// Sends `request` on `conn` and reads the response, both in one `buffer`: the request
/// is written at its front and the response head and decoded body fill the rest.
pub async fn exchange<'b, C: Read + Write + Reusable>(
    conn: &mut C,
    request: &Outgoing<'_>,
    buffer: &'b mut [u8],
) -> Result<Response<'b>, ClientError<C::Error>> {
    let written = write_request(request, buffer)?;
    transmit(conn, written, buffer).await
}

/// A request `write_request` put at the front of a buffer.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub len: usize,
    head_request: bool,
    keep_alive: bool,
}

/// Sends a request already written by `write_request` at the front of `buffer` and
/// reads the response into the rest. Lets a caller refuse a request that does not fit
/// before opening any connection.
pub async fn transmit<'b, C: Read + Write + Reusable>(
    conn: &mut C,
    written: Written,
    buffer: &'b mut [u8],
) -> Result<Response<'b>, ClientError<C::Error>> {
    let (tx, rx) = buffer.split_at_mut(written.len.min(buffer.len()));
    conn.write_all(tx).await.map_err(ClientError::Io)?;
    conn.flush().await.map_err(ClientError::Io)?;
    read_response(conn, rx, written.head_request, written.keep_alive).await
}

/// Why a request could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwritable {
    /// It does not fit the transmit buffer.
    TooLarge,
    /// A header value or the path holds bytes that would break the request.
    Invalid,
}

impl<E> From<Unwritable> for ClientError<E> {
    fn from(refused: Unwritable) -> Self {
        match refused {
            Unwritable::TooLarge => ClientError::RequestTooLarge,
            Unwritable::Invalid => ClientError::InvalidRequest,
        }
    }
}

/// Writes the request head and body at the front of `tx`.
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn write_request(request: &Outgoing<'_>, tx: &mut [u8]) -> Result<Written, Unwritable> {
    let endpoint = request.endpoint;
    let safe = |text: &str| !text.bytes().any(|b| b.is_ascii_control() || b == b' ');
    let header_safe = |text: &str| !text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
    if !safe(request.method)
        || !safe(endpoint.path)
        || !safe(endpoint.host)
        || !request
            .headers
            .iter()
            .all(|(name, value)| safe(name) && !name.contains(':') && header_safe(value))
    {
        return Err(Unwritable::Invalid);
    }
    let body_len = request.form.map_or(0, |render| {
        let mut count = ByteCount::default();
        let _ = render(&mut count);
        count.0
    });
    let mut out = SliceSink::new(tx);
    let written = (|| -> fmt::Result {
        out.write_str(request.method)?;
        out.write_str(" ")?;
        out.write_str(endpoint.path)?;
        out.write_str(" HTTP/1.1\r\nHost: ")?;
        if endpoint.host.contains(':') {
            out.write_str("[")?;
            out.write_str(endpoint.host)?;
            out.write_str("]")?;
        } else {
            out.write_str(endpoint.host)?;
        }
        let default_port = if endpoint.tls { 443 } else { 80 };
        if endpoint.port != default_port {
            out.write_str(":")?;
            write_decimal(&mut out, endpoint.port.into())?;
        }
        out.write_str("\r\nAccept: application/json\r\n")?;
        if !request.keep_alive {
            out.write_str("Connection: close\r\n")?;
        }
        if let Some(render) = request.authorization {
            out.write_str("Authorization: ")?;
            render(&mut out)?;
            out.write_str("\r\n")?;
        }
        for (name, value) in request.headers {
            out.write_str(name)?;
            out.write_str(": ")?;
            out.write_str(value)?;
            out.write_str("\r\n")?;
        }
        if let Some(render) = request.form {
            out.write_str("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ")?;
            write_decimal(&mut out, body_len as u64)?;
            out.write_str("\r\n\r\n")?;
            render(&mut out)?;
        } else {
            out.write_str("\r\n")?;
        }
        Ok(())
    })();
    written.map_err(|_| Unwritable::TooLarge)?;
    Ok(Written {
        len: out.len(),
        head_request: request.method.eq_ignore_ascii_case("HEAD"),
        keep_alive: request.keep_alive,
    })
}

/// What the response head says, copied out so the buffer can be read into again.
struct HeadFacts {
    status: u16,
    head_len: usize,
    framing: ResponseFraming,
}

async fn read_response<'b, C: Read + Write + Reusable>(
    conn: &mut C,
    rx: &'b mut [u8],
    head_request: bool,
    asked_keep_alive: bool,
) -> Result<Response<'b>, ClientError<C::Error>> {
    let mut filled = 0;
    let mut interim = 0;
    let facts = loop {
        match parse_head(rx.get(..filled).unwrap_or(&[]), head_request)? {
            Some(facts) if is_interim(facts.status) => {
                // Interim responses (100 Continue, 103 Early Hints) precede the real one.
                interim += 1;
                if interim > MAX_INTERIM_RESPONSES {
                    return Err(ClientError::Malformed);
                }
                rx.copy_within(facts.head_len..filled, 0);
                filled -= facts.head_len;
            }
            Some(facts) => break facts,
            None => {
                if !fill(conn, rx, &mut filled).await? {
                    return Err(ClientError::Truncated);
                }
            }
        }
    };
    let start = facts.head_len;
    let (body_end, exact) = match facts.framing.body {
        BodyLength::Known(length) => {
            let end = start
                .checked_add(length)
                .ok_or(ClientError::ResponseTooLarge)?;
            if end > rx.len() {
                return Err(ClientError::ResponseTooLarge);
            }
            while filled < end {
                if !fill(conn, rx, &mut filled).await? {
                    return Err(ClientError::Truncated);
                }
            }
            (end, filled == end)
        }
        BodyLength::Chunked => dechunk(conn, rx, start, filled).await?,
        BodyLength::UntilClose => {
            while fill(conn, rx, &mut filled).await? {}
            (filled, false)
        }
    };
    let reusable = exact && asked_keep_alive && facts.framing.persistent;
    if reusable {
        conn.mark_reusable();
    }
    let rx: &'b [u8] = rx;
    let head = rx.get(..start).unwrap_or(&[]);
    let mut response = Response {
        status: facts.status,
        body: rx.get(start..body_end).unwrap_or(&[]),
        date: None,
        reusable,
        head,
    };
    response.date = response.header("date").and_then(parse_http_date);
    Ok(response)
}

/// Reads more bytes after `filled`; `false` at end of stream.
async fn fill<C: Read>(
    conn: &mut C,
    rx: &mut [u8],
    filled: &mut usize,
) -> Result<bool, ClientError<C::Error>> {
    let room = rx.get_mut(*filled..).unwrap_or(&mut []);
    if room.is_empty() {
        return Err(ClientError::ResponseTooLarge);
    }
    let read = conn.read(room).await.map_err(ClientError::Io)?;
    *filled += read;
    Ok(read > 0)
}

fn parse_head<E>(buf: &[u8], head_request: bool) -> Result<Option<HeadFacts>, ClientError<E>> {
    let mut slots = [httparse::EMPTY_HEADER; RESPONSE_HEADER_SLOTS];
    let mut response = httparse::Response::new(&mut slots);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ClientError::Malformed),
    };
    let (Some(status), Some(minor)) = (response.code, response.version) else {
        return Err(ClientError::Malformed);
    };
    // Three digits, first one 1–5 and beyond (RFC 9110 §15): `010` is no status.
    if status < 100 {
        return Err(ClientError::Malformed);
    }
    let framing = response_framing(response.headers, status, minor, head_request)
        .ok_or(ClientError::Malformed)?;
    Ok(Some(HeadFacts {
        status,
        head_len,
        framing,
    }))
}

/// Decodes a chunked body in place after `start`, reading as needed. Returns the end
/// of the decoded body and whether nothing followed the message.
async fn dechunk<C: Read>(
    conn: &mut C,
    rx: &mut [u8],
    start: usize,
    filled: usize,
) -> Result<(usize, bool), ClientError<C::Error>> {
    let mut decoder = ChunkedDecoder::default();
    let body = rx.get_mut(start..).unwrap_or(&mut []);
    let mut filled = filled.saturating_sub(start);
    loop {
        match decoder.decode(body, &mut filled, usize::MAX, MAX_TRAILER_BYTES) {
            Ok(Some(end)) => return Ok((start + decoder.body_len(), end == filled)),
            Ok(None) => {}
            Err(ChunkError::Malformed) => return Err(ClientError::Malformed),
            Err(_) => return Err(ClientError::ResponseTooLarge),
        }
        if !fill(conn, body, &mut filled).await? {
            return Err(ClientError::Truncated);
        }
    }
}

/// Parses an RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
pub fn parse_http_date(value: &[u8]) -> Option<u64> {
    let text = core::str::from_utf8(value).ok()?;
    // Byte searches here and below: a `&str` pattern pulls in the two-way searcher.
    let (_, rest) = text.split_once(',')?;
    let rest = rest.strip_prefix(' ')?;
    let mut parts = rest.split(' ');
    let day = parse_decimal(parts.next()?.as_bytes())?;
    let month = parts.next()?;
    let year = parse_decimal(parts.next()?.as_bytes())?;
    let time = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|name| *name == month)? as u64 + 1;
    let mut clock = time.split(':');
    let hour = parse_decimal(clock.next()?.as_bytes())?;
    let minute = parse_decimal(clock.next()?.as_bytes())?;
    let second = parse_decimal(clock.next()?.as_bytes())?;
    if clock.next().is_some()
        || !(1970..=9999).contains(&year)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from civil date (proleptic Gregorian), shifted so March starts the year.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let year_of_era = y % 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = (era * 146_097 + day_of_era).checked_sub(719_468)?;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeConnection;
    use embassy_futures::block_on;

    fn get<'a>(endpoint: &'a Endpoint<'a>) -> Outgoing<'a> {
        Outgoing::get(endpoint, true)
    }

    #[test]
    fn writes_request_with_host_port_and_form() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9000/token/introspection").unwrap();
        let form = |out: &mut dyn crate::codec::TextSink| out.write_str("a=1&b=2");
        let request = Outgoing {
            method: "POST",
            endpoint: &endpoint,
            headers: &[],
            authorization: Some(&|out: &mut dyn crate::codec::TextSink| {
                out.write_str("Basic eDp5")
            }),
            form: Some(&form),
            keep_alive: false,
        };
        let mut conn = FakeConnection::new(&[b"HTTP/1.1 204 No Content\r\n\r\n"]);
        let mut buffer = [0u8; 1024];
        let response = block_on(exchange(&mut conn, &request, &mut buffer)).unwrap();
        assert_eq!(response.status, 204);
        assert_eq!(
            conn.written(),
            b"POST /token/introspection HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nAccept: application/json\r\nConnection: close\r\nAuthorization: Basic eDp5\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2"
        );
        assert!(!conn.reused());
    }

    #[test]
    fn refuses_header_injection_and_small_buffers() {
        let endpoint = Endpoint::parse("http://[::1]/x").unwrap();
        let mut request = get(&endpoint);
        request.headers = &[("X", "a\r\nInjected: 1")];
        let mut conn = FakeConnection::new(&[]);
        let mut buffer = [0u8; 512];
        let result = block_on(exchange(&mut conn, &request, &mut buffer));
        assert_eq!(result.unwrap_err(), ClientError::InvalidRequest);
        request.headers = &[];
        let mut tiny = [0u8; 16];
        let result = block_on(exchange(&mut conn, &request, &mut tiny));
        assert_eq!(result.unwrap_err(), ClientError::RequestTooLarge);
        assert!(conn.written().is_empty());
        let mut conn = FakeConnection::new(&[b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]);
        block_on(exchange(&mut conn, &request, &mut buffer)).unwrap();
        assert!(
            conn.written()
                .starts_with(b"GET /x HTTP/1.1\r\nHost: [::1]\r\n")
        );
    }

    #[test]
    fn reads_content_length_across_reads_and_marks_reusable() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let mut conn = FakeConnection::new(&[
            b"HTTP/1.1 200 OK\r\nDate: Tue, 13 Aug 2024 15:30:00 GMT\r\nCont",
            b"ent-Length: 5\r\n\r\nhe",
            b"llo",
        ]);
        let mut buffer = [0u8; 512];
        let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
        assert_eq!(response.body, b"hello");
        assert_eq!(response.date, Some(1_723_563_000));
        assert_eq!(response.header("content-length"), Some(&b"5"[..]));
        assert!(response.reusable && conn.reused());
    }

    #[test]
    fn connection_close_and_close_delimited_are_not_reused() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let mut buffer = [0u8; 512];
        let mut conn = FakeConnection::new(&[
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        ]);
        let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
        assert_eq!((response.body, response.reusable), (&b"ok"[..], false));
        let mut conn = FakeConnection::new(&[b"HTTP/1.0 200 OK\r\n\r\nuntil", b" close"]);
        let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
        assert_eq!(
            (response.body, response.reusable),
            (&b"until close"[..], false)
        );
        assert!(!conn.reused());
    }

    #[test]
    fn decodes_chunked_bodies_split_anywhere() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let whole: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"ac\r\nB;ext=1\r\ntive\":false\r\n1\r\n}\r\n0\r\nX-Trailer: y\r\n\r\n";
        for split in 1..whole.len() {
            let (first, second) = whole.split_at(split);
            let mut conn = FakeConnection::new(&[first, second]);
            let mut buffer = [0u8; 512];
            let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
            assert_eq!(response.body, b"{\"active\":false}", "split at {split}");
            assert!(response.reusable);
        }
    }

    #[test]
    fn chunk_framing_does_not_count_against_the_buffer() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let mut chunks: heapless::Vec<&[u8], 64> = heapless::Vec::new();
        chunks
            .push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        for _ in 0..40 {
            chunks.push(b"1\r\nx\r\n").unwrap();
        }
        chunks.push(b"0\r\n\r\n").unwrap();
        let mut conn = FakeConnection::new(&chunks);
        let mut buffer = [0u8; 160];
        let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
        assert_eq!(response.body, [b'x'; 40]);
    }

    #[test]
    fn refuses_bad_responses() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let cases: [(&[u8], ClientError<embedded_io::ErrorKind>); 6] = [
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
                ClientError::Truncated,
            ),
            (b"garbage\r\n\r\n", ClientError::Malformed),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ClientError::Malformed,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                ClientError::Malformed,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ClientError::Malformed,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n",
                ClientError::ResponseTooLarge,
            ),
        ];
        for (reply, expected) in cases {
            let mut conn = FakeConnection::new(&[reply]);
            let mut buffer = [0u8; 512];
            let result = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer));
            assert_eq!(result.unwrap_err(), expected);
        }
    }

    /// The client reads responses by the rules the server reads requests by.
    #[test]
    fn framing_rules_are_the_servers() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let mut buffer = [0u8; 512];
        let mut conn = FakeConnection::new(&[b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"]);
        let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
        assert_eq!(response.body, b"ok", "one length sent twice");
        for reply in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n",
        ] {
            let mut conn = FakeConnection::new(&[reply]);
            let result = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer));
            assert_eq!(result.unwrap_err(), ClientError::Malformed);
        }
    }

    #[test]
    fn endless_trailers_are_refused() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let mut chunks: heapless::Vec<&[u8], 128> = heapless::Vec::new();
        chunks
            .push(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
            .unwrap();
        for _ in 0..100 {
            chunks.push(b"X-Trailer: aaaaaaaaaaaaaaaaaaaa\r\n").unwrap();
        }
        let mut conn = FakeConnection::new(&chunks);
        let mut buffer = [0u8; 192];
        let result = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer));
        assert_eq!(result.unwrap_err(), ClientError::ResponseTooLarge);
    }

    #[test]
    fn skips_interim_responses() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let mut conn = FakeConnection::new(&[
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 1\r\n\r\nx",
        ]);
        let mut buffer = [0u8; 512];
        let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
        assert_eq!((response.status, response.body), (500, &b"x"[..]));
    }

    #[test]
    fn a_status_below_100_is_malformed() {
        // Found by the `client_response` fuzz target: `010` was taken as a final answer.
        let endpoint = Endpoint::parse("http://a/").unwrap();
        for reply in [
            &b"HTTP/1.1 010 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..],
            b"HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n",
        ] {
            let mut conn = FakeConnection::new(&[reply]);
            let mut buffer = [0u8; 512];
            let result = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer));
            assert_eq!(result.unwrap_err(), ClientError::Malformed);
        }
    }

    #[test]
    fn a_flood_of_interim_responses_is_refused() {
        let endpoint = Endpoint::parse("http://a/").unwrap();
        let mut chunks: heapless::Vec<&[u8], 16> = heapless::Vec::new();
        for _ in 0..=MAX_INTERIM_RESPONSES {
            chunks.push(b"HTTP/1.1 103 Early Hints\r\n\r\n").unwrap();
        }
        chunks
            .push(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        let mut buffer = [0u8; 512];
        let mut conn = FakeConnection::new(&chunks);
        let result = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer));
        assert_eq!(result.unwrap_err(), ClientError::Malformed);
        // As many as allowed still reach the final answer.
        let mut conn = FakeConnection::new(chunks.get(1..).unwrap());
        let response = block_on(exchange(&mut conn, &get(&endpoint), &mut buffer)).unwrap();
        assert_eq!(response.status, 200);
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(parse_http_date(b"Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date(b"Sat, 29 Feb 2020 12:00:00 GMT"),
            Some(1_582_977_600)
        );
        assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date(b"Sun, 99 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date(b""), None);
    }
}
