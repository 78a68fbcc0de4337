//! Response writing: the status line and headers are built in the lent transmit
//! buffer and streamed with the body to an `embedded_io_async::Write`; bodies that do
//! not fit the buffer are rendered again window by window, so nothing must fit at once.

use core::fmt;
use embedded_io_async::Write;

use super::codec::{ByteCount, Renderer, SliceSink, decimal};
use super::h1::{can_have_body, can_have_content_length};

/// An HTTP status with its status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    /// The status line after `HTTP/1.1 ` (written once, not in every line).
    code_and_reason: &'static str,
}

/// What every status line starts with.
const VERSION: &str = "HTTP/1.1 ";

/// The most digits a Content-Length can have (`u64::MAX`).
const MAX_LENGTH_DIGITS: usize = 20;

macro_rules! statuses {
    ($($name:ident = $code:literal $reason:literal;)*) => {
        impl Status {
            $(pub const $name: Status = Status { code: $code, code_and_reason: concat!($code, " ", $reason, "\r\n") };)*
        }
    };
}

statuses! {
    CONTINUE = 100 "Continue";
    OK = 200 "OK";
    ACCEPTED = 202 "Accepted";
    NO_CONTENT = 204 "No Content";
    FOUND = 302 "Found";
    BAD_REQUEST = 400 "Bad Request";
    UNAUTHORIZED = 401 "Unauthorized";
    FORBIDDEN = 403 "Forbidden";
    NOT_FOUND = 404 "Not Found";
    METHOD_NOT_ALLOWED = 405 "Method Not Allowed";
    NOT_ACCEPTABLE = 406 "Not Acceptable";
    LENGTH_REQUIRED = 411 "Length Required";
    CONTENT_TOO_LARGE = 413 "Content Too Large";
    URI_TOO_LONG = 414 "URI Too Long";
    UNSUPPORTED_MEDIA_TYPE = 415 "Unsupported Media Type";
    HEADERS_TOO_LARGE = 431 "Request Header Fields Too Large";
    INTERNAL_SERVER_ERROR = 500 "Internal Server Error";
    BAD_GATEWAY = 502 "Bad Gateway";
    NOT_IMPLEMENTED = 501 "Not Implemented";
    SERVICE_UNAVAILABLE = 503 "Service Unavailable";
    VERSION_NOT_SUPPORTED = 505 "HTTP Version Not Supported";
}

/// One extra response header.
pub type Header<'a> = (&'a str, &'a str);

/// The one spelling of `NOSNIFF`, also as a head line (`concat!` needs literals).
macro_rules! nosniff {
    (name) => {
        "X-Content-Type-Options"
    };
    (value) => {
        "nosniff"
    };
    (line) => {
        concat!(nosniff!(name), ": ", nosniff!(value), "\r\n")
    };
}

/// `X-Content-Type-Options: nosniff`: on every answer the engine writes, so browsers never
/// guess a type other than the one declared. Adapters that write answers of their own
/// (the tower layer's challenges and metadata) add it too.
pub const NOSNIFF: Header<'static> = (nosniff!(name), nosniff!(value));

/// The media type of JSON answers.
pub const JSON: &str = "application/json";
/// The media type of the HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// A header whose value a closure writes straight into the head (a challenge built from
/// configuration, say), so no buffer holds it while the response is written. Like a
/// `Render` body it is called more than once and must write the same bytes each time.
#[derive(Clone, Copy)]
pub struct RenderedHeader<'a> {
    pub name: &'a str,
    pub value: Renderer<'a>,
}

impl fmt::Debug for RenderedHeader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedHeader")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A response body. `Render` is called once to measure and then once per transmit
/// window, so it must write the same bytes every time.
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Render(Renderer<'a>),
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Bytes(bytes) => write!(f, "Bytes({})", bytes.len()),
            Body::Render(_) => f.write_str("Render"),
        }
    }
}

/// Proof that a response was sent; handlers return it so none forgets to answer.
#[derive(Debug)]
pub struct Sent {
    pub(crate) keep_alive: bool,
    status: u16,
}

impl Sent {
    /// The status code that was sent (for access logs).
    pub fn status(&self) -> u16 {
        self.status
    }
}

/// Why a response could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError<E> {
    Io(E),
    /// The response head does not fit the transmit buffer.
    BufferTooSmall,
}

/// Connection-level facts every response carries.
#[derive(Debug, Clone, Copy)]
pub struct Framing<'a> {
    /// Answer a HEAD: headers only.
    pub head_only: bool,
    /// Keep the connection open after this response.
    pub keep_alive: bool,
    /// `Access-Control-Allow-Origin`, if the origin is allowed.
    pub allow_origin: Option<&'a str>,
    /// Add `Vary: Origin` (the answer depends on the origin).
    pub vary_origin: bool,
}

/// Writes exactly one response to the connection.
pub struct Responder<'a, W> {
    conn: &'a mut W,
    buf: &'a mut [u8],
    framing: Framing<'a>,
}

impl<W> fmt::Debug for Responder<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("framing", &self.framing)
            .finish()
    }
}

impl<'a, W: Write> Responder<'a, W> {
    /// A responder writing to `conn` through the transmit buffer `buf`; the connection
    /// loop makes one per request, other HTTP stacks may make their own.
    pub fn new(conn: &'a mut W, buf: &'a mut [u8], framing: Framing<'a>) -> Self {
        Responder { conn, buf, framing }
    }

    /// Whether this answers a HEAD request (headers only; the body is not sent).
    pub fn is_head(&self) -> bool {
        self.framing.head_only
    }

    /// Leaves out the CORS headers: for pages no other origin should read (login).
    pub fn without_cors(mut self) -> Self {
        self.framing.allow_origin = None;
        self.framing.vary_origin = false;
        self
    }

    /// Sends a response with the given content type (ignored for `Body::Empty` when empty).
    pub async fn send(
        self,
        status: Status,
        content_type: &str,
        headers: &[Header<'_>],
        body: Body<'_>,
    ) -> Result<Sent, WriteError<W::Error>> {
        self.send_with(status, content_type, headers, None, body)
            .await
    }

    /// Sends a response with one more header, whose value is rendered into the head.
    pub async fn send_with(
        mut self,
        status: Status,
        content_type: &str,
        headers: &[Header<'_>],
        rendered: Option<RenderedHeader<'_>>,
        body: Body<'_>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let headers = HeadExtras { headers, rendered };
        if let Body::Render(render) = body {
            if let Some(sent) = self
                .send_rendered_at_once(status, content_type, &headers, render)
                .await
            {
                return sent;
            }
        }
        let length = match &body {
            Body::Empty => 0,
            Body::Bytes(bytes) => bytes.len(),
            Body::Render(render) => measure(*render),
        };
        let Responder { conn, buf, framing } = self;
        let head_len = write_head(buf, &framing, status, content_type, &headers, length)?;
        let send_body = !framing.head_only && can_have_body(status.code);
        // One write of the head alone, whether there is no body or none is sent.
        match body {
            Body::Bytes(bytes) if send_body => write_bytes(conn, buf, head_len, bytes).await?,
            Body::Render(render) if send_body => {
                write_rendered(conn, buf, head_len, length, render).await?
            }
            _ => conn
                .write_all(buf.get(..head_len).unwrap_or(&[]))
                .await
                .map_err(WriteError::Io)?,
        }
        Ok(Sent {
            keep_alive: framing.keep_alive,
            status: status.code,
        })
    }

    /// Renders a body once, behind room for the head, when it fits the transmit buffer;
    /// `None` (nothing written) when it does not, so the caller renders window by window.
    async fn send_rendered_at_once(
        &mut self,
        status: Status,
        content_type: &str,
        headers: &HeadExtras<'_>,
        render: Renderer<'_>,
    ) -> Option<Result<Sent, WriteError<W::Error>>> {
        let framing = self.framing;
        // The head is measured once, with the shortest Content-Length: the longest one
        // and the real one differ from it only in digits.
        let shortest = head_length(&framing, status, content_type, headers, 0);
        let has_length = can_have_content_length(status.code);
        let reserve = shortest + if has_length { MAX_LENGTH_DIGITS - 1 } else { 0 };
        let mut sink = SliceSink::new(self.buf.get_mut(reserve..)?);
        render(&mut sink).ok()?;
        let body_len = sink.len();
        let head_len = if has_length {
            shortest.saturating_sub(1) + decimal(body_len as u64, &mut [0; MAX_LENGTH_DIGITS]).len()
        } else {
            shortest
        };
        let start = reserve.checked_sub(head_len)?;
        let slot = self.buf.get_mut(start..reserve)?;
        let written =
            write_head::<W::Error>(slot, &framing, status, content_type, headers, body_len).ok()?;
        if written != head_len {
            return None;
        }
        let send_body = !framing.head_only && can_have_body(status.code);
        let end = if send_body {
            reserve + body_len
        } else {
            reserve
        };
        let written = self
            .conn
            .write_all(self.buf.get(start..end).unwrap_or(&[]))
            .await;
        Some(match written {
            Ok(()) => Ok(Sent {
                keep_alive: framing.keep_alive,
                status: status.code,
            }),
            Err(error) => Err(WriteError::Io(error)),
        })
    }
}

async fn write_bytes<W: Write>(
    conn: &mut W,
    buf: &mut [u8],
    head_len: usize,
    bytes: &[u8],
) -> Result<(), WriteError<W::Error>> {
    let room = buf.len().saturating_sub(head_len);
    if bytes.len() <= room {
        let end = head_len + bytes.len();
        if let Some(slot) = buf.get_mut(head_len..end) {
            slot.copy_from_slice(bytes);
        }
        conn.write_all(buf.get(..end).unwrap_or(&[]))
            .await
            .map_err(WriteError::Io)
    } else {
        conn.write_all(buf.get(..head_len).unwrap_or(&[]))
            .await
            .map_err(WriteError::Io)?;
        conn.write_all(bytes).await.map_err(WriteError::Io)
    }
}

async fn write_rendered<W: Write>(
    conn: &mut W,
    buf: &mut [u8],
    head_len: usize,
    length: usize,
    render: Renderer<'_>,
) -> Result<(), WriteError<W::Error>> {
    let mut start = head_len;
    let mut written = 0;
    while written < length || start > 0 {
        let window = buf.get_mut(start..).unwrap_or(&mut []);
        let mut sink = WindowSink {
            out: window,
            skip: written,
            filled: 0,
            seen: 0,
        };
        // A render error only means the window is full.
        let _ = render(&mut sink);
        let filled = sink.filled;
        if filled == 0 && start == 0 {
            break;
        }
        written += filled;
        conn.write_all(buf.get(..start + filled).unwrap_or(&[]))
            .await
            .map_err(WriteError::Io)?;
        start = 0;
    }
    Ok(())
}

fn measure(render: Renderer<'_>) -> usize {
    let mut count = ByteCount::default();
    let _ = render(&mut count);
    count.0
}

/// Keeps the bytes of a rendering that fall in `[skip, skip + out.len())`.
struct WindowSink<'o> {
    out: &'o mut [u8],
    skip: usize,
    filled: usize,
    seen: usize,
}

impl fmt::Write for WindowSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let start = self.skip.saturating_sub(self.seen).min(bytes.len());
        self.seen += bytes.len();
        let wanted = bytes.get(start..).unwrap_or(&[]);
        let room = self.out.len() - self.filled;
        let take = wanted.len().min(room);
        if let (Some(dst), Some(src)) = (
            self.out.get_mut(self.filled..self.filled + take),
            wanted.get(..take),
        ) {
            dst.copy_from_slice(src);
        }
        self.filled += take;
        if take < wanted.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// Appends bytes to a slice, remembering overflow instead of panicking. `len` counts
/// every byte put, stored or not, so over an empty slice it measures.
struct SliceWriter<'o> {
    out: &'o mut [u8],
    len: usize,
    overflow: bool,
}

impl SliceWriter<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        match self.out.get_mut(self.len..end) {
            Some(dst) if !self.overflow => dst.copy_from_slice(bytes),
            _ => self.overflow = true,
        }
        self.len = end;
    }
}

fn head_length(
    framing: &Framing<'_>,
    status: Status,
    content_type: &str,
    headers: &HeadExtras<'_>,
    length: usize,
) -> usize {
    // One emitter for measuring and writing: a second instance would cost flash.
    let mut counter = SliceWriter {
        out: &mut [],
        len: 0,
        overflow: false,
    };
    emit_head(&mut counter, framing, status, content_type, headers, length);
    counter.len
}

fn write_head<E>(
    buf: &mut [u8],
    framing: &Framing<'_>,
    status: Status,
    content_type: &str,
    headers: &HeadExtras<'_>,
    length: usize,
) -> Result<usize, WriteError<E>> {
    let mut writer = SliceWriter {
        out: buf,
        len: 0,
        overflow: false,
    };
    emit_head(&mut writer, framing, status, content_type, headers, length);
    if writer.overflow {
        Err(WriteError::BufferTooSmall)
    } else {
        Ok(writer.len)
    }
}

fn emit_head(
    sink: &mut SliceWriter<'_>,
    framing: &Framing<'_>,
    status: Status,
    content_type: &str,
    headers: &HeadExtras<'_>,
    length: usize,
) {
    sink.put(VERSION.as_bytes());
    sink.put(status.code_and_reason.as_bytes());
    // Every answer: browsers must not guess a type other than the one declared.
    sink.put(nosniff!(line).as_bytes());
    // 1xx and 204 never have content: neither header describes any.
    let describes_content = can_have_content_length(status.code);
    if !content_type.is_empty() && describes_content {
        sink.put(b"Content-Type: ");
        sink.put(content_type.as_bytes());
        sink.put(b"\r\n");
    }
    if describes_content {
        let mut digits = [0u8; MAX_LENGTH_DIGITS];
        sink.put(b"Content-Length: ");
        sink.put(decimal(length as u64, &mut digits));
        sink.put(b"\r\n");
    }
    if let Some(origin) = framing.allow_origin {
        sink.put(b"Access-Control-Allow-Origin: ");
        sink.put(origin.as_bytes());
        sink.put(b"\r\nAccess-Control-Expose-Headers: WWW-Authenticate\r\n");
    }
    if framing.vary_origin {
        sink.put(b"Vary: Origin\r\n");
    }
    if !framing.keep_alive {
        sink.put(b"Connection: close\r\n");
    }
    for (name, value) in headers.headers {
        sink.put(name.as_bytes());
        sink.put(b": ");
        sink.put(value.as_bytes());
        sink.put(b"\r\n");
    }
    if let Some(header) = headers.rendered {
        sink.put(header.name.as_bytes());
        sink.put(b": ");
        // Head sinks never fail; a renderer's own error just ends its value early.
        let _ = (header.value)(&mut HeadText(sink));
        sink.put(b"\r\n");
    }
    sink.put(b"\r\n");
}

/// The headers a handler adds to the engine's own.
struct HeadExtras<'h> {
    headers: &'h [Header<'h>],
    rendered: Option<RenderedHeader<'h>>,
}

/// Lets a header renderer write into a head.
struct HeadText<'s, 'o>(&'s mut SliceWriter<'o>);

impl fmt::Write for HeadText<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.put(text.as_bytes());
        Ok(())
    }
}
