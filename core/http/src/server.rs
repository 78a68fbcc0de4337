//! The keep-alive connection loop: reads requests from one connection, refuses the
//! ones that break the HTTP rules or limits, answers routing-level questions (404, 405,
//! CORS preflight) and hands the rest to a `Service`, in order, until the peer is done.

use core::cell::Cell;

use embedded_io_async::{Read, Write};

use crate::codec::write_json_object;
use crate::h1::{BodyLength, ChunkedDecoder};
use crate::request::{HeadWatch, Parse, parse_head};
use crate::response::{Framing, JSON, WriteError};
use crate::{Body, Limits, Method, MethodSet, Request, RequestError, Responder, Sent, Status};

/// Engine settings shared by every connection.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig<'a> {
    pub limits: Limits,
    /// Origins allowed for CORS and for MCP's DNS-rebinding check; `"*"` allows any.
    pub allowed_origins: &'a [&'a str],
}

impl Default for ServerConfig<'_> {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            allowed_origins: &["*"],
        }
    }
}

impl ServerConfig<'_> {
    /// Whether a browser `Origin` may use this server.
    pub fn origin_allowed(&self, origin: &[u8]) -> bool {
        self.allowed_origins
            .iter()
            .any(|allowed| *allowed == "*" || allowed.as_bytes() == origin)
    }
}

/// Buffers the adapter lends to one connection. A request head and body must fit `rx`;
/// `tx` holds a response head plus the largest JSON body.
#[derive(Debug)]
pub struct Buffers<'a> {
    pub rx: &'a mut [u8],
    pub tx: &'a mut [u8],
}

/// What an application provides to the connection loop.
#[allow(async_fn_in_trait)]
pub trait Service {
    /// What routing found, handed back to `call` so a path is matched only once.
    type Route: Copy;

    /// The route of a path and the methods it answers, or `None` when the path is
    /// unknown (404).
    fn route(&self, path: &str) -> Option<(Self::Route, MethodSet)>;

    /// Answers a request whose path and method `route` accepted.
    async fn call<W: Write>(
        &self,
        route: Self::Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>>;

    /// Told after every answered request, including the engine's own 404, 405 and
    /// preflight answers (for access logs). Does nothing by default.
    fn responded(&self, _request: &Request<'_>, _status: u16) {}

    /// Told after the engine refused a request it could not parse or accept (400, 413,
    /// 414, 431, 501, 505), which never became a `Request`. Does nothing by default.
    fn refused(&self, _error: RequestError) {}
}

/// A shared service serves as itself (e.g. one built once and leaked by a host).
impl<S: Service> Service for &S {
    type Route = S::Route;

    fn route(&self, path: &str) -> Option<(Self::Route, MethodSet)> {
        (**self).route(path)
    }

    async fn call<W: Write>(
        &self,
        route: Self::Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        (**self).call(route, request, response).await
    }

    fn responded(&self, request: &Request<'_>, status: u16) {
        (**self).responded(request, status)
    }

    fn refused(&self, error: RequestError) {
        (**self).refused(error)
    }
}

/// Where the loop is, so an adapter can pick the right timeout for the next read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the first byte of a request (idle keep-alive).
    Idle,
    /// In the middle of a request head.
    Receiving,
    /// The head is complete; waiting for the rest of the body.
    Body,
    /// Writing a response.
    Sending,
}

/// Receives phase changes; `()` ignores them, a `Cell<Phase>` records them.
pub trait Observer {
    fn phase(&mut self, phase: Phase);
}

impl Observer for () {
    fn phase(&mut self, _: Phase) {}
}

impl Observer for &Cell<Phase> {
    fn phase(&mut self, phase: Phase) {
        self.set(phase);
    }
}

/// How a connection ended without an I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The peer closed the connection.
    PeerClosed,
    /// A response said `Connection: close` (asked for, HTTP/1.0, or after a refused request).
    Closed,
}

/// An I/O error on the connection; the loop stops at the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoError<E>(pub E);

/// Serves one connection until it ends.
pub async fn serve<C: Read + Write, S: Service>(
    conn: &mut C,
    service: &S,
    config: &ServerConfig<'_>,
    buffers: Buffers<'_>,
) -> Result<Ended, IoError<C::Error>> {
    serve_observed(conn, service, config, buffers, &mut ()).await
}

/// `serve`, telling `observer` before each read whether a request is under way.
pub async fn serve_observed<C: Read + Write, S: Service, O: Observer>(
    conn: &mut C,
    service: &S,
    config: &ServerConfig<'_>,
    buffers: Buffers<'_>,
    observer: &mut O,
) -> Result<Ended, IoError<C::Error>> {
    let Buffers { rx, tx } = buffers;
    let mut filled = 0;
    let mut progress = Progress::default();
    loop {
        let step = if filled > 0 {
            step(
                conn,
                service,
                config,
                rx,
                &mut filled,
                tx,
                &mut progress,
                observer,
            )
            .await?
        } else {
            Step::NeedMore { head_done: false }
        };
        let refused = match step {
            Step::Answered {
                consumed,
                keep_alive,
            } => {
                progress = Progress::default();
                if !keep_alive {
                    return Ok(Ended::Closed);
                }
                rx.copy_within(consumed.min(filled)..filled, 0);
                filled -= consumed.min(filled);
                if filled > 0 {
                    continue; // a pipelined request is already here
                }
                None
            }
            Step::NeedMore { .. } if filled < rx.len() => None,
            // Only reachable when the limits exceed the buffer; refuse rather than stall.
            Step::NeedMore { .. } => Some(RequestError::HeadersTooLarge),
            Step::Refused(error) => Some(error),
        };
        if let Some(error) = refused {
            observer.phase(Phase::Sending);
            refuse(conn, service, config, tx, error).await?;
            return Ok(Ended::Closed);
        }
        observer.phase(match step {
            _ if filled == 0 => Phase::Idle,
            Step::NeedMore { head_done: true } => Phase::Body,
            _ => Phase::Receiving,
        });
        let free = rx.get_mut(filled..).unwrap_or(&mut []);
        match conn.read(free).await.map_err(IoError)? {
            0 => return Ok(Ended::PeerClosed),
            n => filled += n,
        }
    }
}

/// What one request has got so far, kept across reads until it is answered.
#[derive(Default)]
struct Progress {
    continue_sent: bool,
    chunked: ChunkedDecoder,
    head: HeadWatch,
    head_in: bool,
    /// Where a body of known length ends, once the head is in: until then nothing to parse.
    body_end: Option<usize>,
}

enum Step {
    /// The request is not complete yet; `head_done` once its head is.
    NeedMore {
        head_done: bool,
    },
    /// Refused before a handler saw it; the connection closes after the answer.
    Refused(RequestError),
    Answered {
        consumed: usize,
        keep_alive: bool,
    },
}

/// Looks at what `rx[..filled]` holds: answers the request at its front once it is
/// complete, decoding a chunked body in place first (which may shrink `filled`).
#[allow(clippy::too_many_arguments)]
async fn step<C: Write, S: Service, O: Observer>(
    conn: &mut C,
    service: &S,
    config: &ServerConfig<'_>,
    rx: &mut [u8],
    filled: &mut usize,
    tx: &mut [u8],
    progress: &mut Progress,
    observer: &mut O,
) -> Result<Step, IoError<C::Error>> {
    let limits = &config.limits;
    let received = rx.get(..*filled).unwrap_or(&[]);
    match progress.body_end {
        Some(body_end) if received.len() < body_end => {
            return Ok(Step::NeedMore { head_done: true });
        }
        Some(_) => {}
        None if !progress.head_in && !progress.head.worth_parsing(received, limits) => {
            return Ok(Step::NeedMore { head_done: false });
        }
        None => {}
    }
    let head = match parse_head(received, limits) {
        Ok(Parse::Partial) => return Ok(Step::NeedMore { head_done: false }),
        Ok(Parse::Complete(head)) => head,
        Err(error) => return Ok(Step::Refused(error)),
    };
    progress.head_in = true;
    let (head_len, expects_continue) = (head.head_len, head.expects_continue);
    let ready = match head.body {
        BodyLength::Known(length) => {
            let total = head_len + length;
            if total > rx.len() {
                return Ok(Step::Refused(RequestError::BodyTooLarge));
            }
            if received.len() < total {
                progress.body_end = Some(total);
                None
            } else {
                Some((head.request, total))
            }
        }
        // Chunked (a request is never delimited by closing).
        _ => {
            let body = rx.get_mut(head_len..).unwrap_or(&mut []);
            let mut body_filled = filled.saturating_sub(head_len);
            let decoded = progress.chunked.decode(
                body,
                &mut body_filled,
                limits.max_body_bytes,
                limits.max_head_bytes,
            );
            *filled = head_len + body_filled;
            match decoded {
                Ok(Some(end)) => {
                    // The head is as it arrived: read it again, with the body in place.
                    let received = rx.get(..*filled).unwrap_or(&[]);
                    let Ok(Parse::Complete(head)) = parse_head(received, limits) else {
                        return Ok(Step::Refused(RequestError::Malformed));
                    };
                    let body_end = head_len + progress.chunked.body_len();
                    let mut request = head.request;
                    request.body = received.get(head_len..body_end).unwrap_or(&[]);
                    Some((request, head_len + end))
                }
                Ok(None) => None,
                Err(error) => return Ok(Step::Refused(error.into())),
            }
        }
    };
    let Some((request, consumed)) = ready else {
        if expects_continue && !progress.continue_sent {
            progress.continue_sent = true;
            conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(IoError)?;
        }
        return Ok(Step::NeedMore { head_done: true });
    };
    observer.phase(Phase::Sending);
    let keep_alive = dispatch(conn, service, config, &request, tx).await?;
    Ok(Step::Answered {
        consumed,
        keep_alive,
    })
}

/// Sends the engine's own answers: `{"error": message}`, or no body (the 204 preflight).
async fn send_engine_answer<W: Write>(
    responder: Responder<'_, W>,
    status: Status,
    headers: &[(&str, &str)],
    message: Option<&str>,
) -> Result<Sent, WriteError<W::Error>> {
    let render = |out: &mut dyn crate::codec::TextSink| match message {
        Some(message) => write_json_object(out, &[("error", message)]),
        None => Ok(()),
    };
    let (content_type, body) = match message {
        Some(_) => (JSON, Body::Render(&render)),
        None => ("", Body::Empty),
    };
    responder.send(status, content_type, headers, body).await
}

/// Routes one complete request and writes its answer; returns whether to keep the connection.
async fn dispatch<C: Write, S: Service>(
    conn: &mut C,
    service: &S,
    config: &ServerConfig<'_>,
    request: &Request<'_>,
    tx: &mut [u8],
) -> Result<bool, IoError<C::Error>> {
    let framing = framing_for(config, request);
    let responder = Responder::new(conn, tx, framing);
    let found = service.route(request.path);
    let sent = match found {
        Some((route, methods))
            if request.method != Method::Options && methods.contains(request.method) =>
        {
            service.call(route, request, responder).await
        }
        // The engine's own answers (404, preflight, 405) share one write.
        _ => {
            let methods = found.map_or("", |(_, methods)| methods.list());
            let preflight = [
                ("Access-Control-Allow-Methods", methods),
                (
                    "Access-Control-Allow-Headers",
                    "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Method, Mcp-Name",
                ),
                ("Access-Control-Max-Age", "600"),
            ];
            let allow = [("Allow", methods)];
            let (status, headers, message): (Status, &[(&str, &str)], _) = match found {
                None => (Status::NOT_FOUND, &[], Some("Not found")),
                Some(_) if request.method == Method::Options => {
                    (Status::NO_CONTENT, &preflight, None)
                }
                Some(_) => (
                    Status::METHOD_NOT_ALLOWED,
                    &allow,
                    Some("Method not allowed"),
                ),
            };
            send_engine_answer(responder, status, headers, message).await
        }
    };
    match sent {
        Ok(sent) => {
            service.responded(request, sent.status());
            Ok(sent.keep_alive)
        }
        Err(WriteError::Io(error)) => Err(IoError(error)),
        Err(WriteError::BufferTooSmall) => {
            // Nothing was written yet: say so and close, the request cannot be answered.
            let responder = Responder::new(
                conn,
                tx,
                Framing {
                    keep_alive: false,
                    ..framing
                },
            );
            let message = "Response too large for the server's buffer";
            match send_engine_answer(responder, Status::INTERNAL_SERVER_ERROR, &[], Some(message))
                .await
            {
                Err(WriteError::Io(error)) => Err(IoError(error)),
                _ => Ok(false),
            }
        }
    }
}

fn framing_for<'r>(config: &ServerConfig<'r>, request: &Request<'r>) -> Framing<'r> {
    let wildcard = config.allowed_origins.contains(&"*");
    let allow_origin = if wildcard {
        Some("*")
    } else {
        request
            .header_str("origin")
            .filter(|origin| config.allowed_origins.contains(origin))
    };
    Framing {
        head_only: request.method == Method::Head,
        keep_alive: request.keep_alive,
        allow_origin,
        vary_origin: !wildcard,
    }
}

/// Answers a request the engine refused, then the connection closes.
async fn refuse<C: Write, S: Service>(
    conn: &mut C,
    service: &S,
    config: &ServerConfig<'_>,
    tx: &mut [u8],
    error: RequestError,
) -> Result<(), IoError<C::Error>> {
    let framing = Framing {
        head_only: false,
        keep_alive: false,
        allow_origin: config.allowed_origins.contains(&"*").then_some("*"),
        vary_origin: false,
    };
    let responder = Responder::new(conn, tx, framing);
    let sent = send_engine_answer(responder, error.status(), &[], Some(error.message())).await;
    if sent.is_ok() {
        service.refused(error);
    }
    match sent {
        Err(WriteError::Io(error)) => Err(IoError(error)),
        _ => Ok(()),
    }
}
