//! A stateless MCP server over Streamable HTTP: one POST carries one JSON-RPC message,
//! answered with one `application/json` object (or 202 for notifications). No session
//! is issued and no SSE stream is offered, so GET and DELETE get 405.
//!
//! Both eras are spoken at once, decided per request and remembered nowhere: a request
//! whose `params._meta` names [`MODERN_PROTOCOL_VERSION`] (2026-07-28) is served by that
//! revision's rules (`server/discover`, the `MCP-Protocol-Version`, `Mcp-Method` and
//! `Mcp-Name` headers checked against the body, `resultType` and server info in every
//! result, cache hints on `tools/list`, 404 for unknown methods); any other request is
//! served as 2025-11-25, 2025-06-18 or 2025-03-26 (`initialize` and the requests after
//! it), which never needed per-client state here either.
//!
//! The application describes its tools with a [`ToolSet`], and decides access with an
//! [`Authorize`] hook: before a well-formed request is executed, [`handle`] tells the
//! hook what it needs ([`Access::Session`] for the handshake, listing, pings,
//! notifications and public tools; [`Access::Tool`] with the scope a protected tool
//! demands). The hook grants access (with what the tool may know of the caller) or
//! refuses it, and then answers its own refusal, e.g. 401/403 with a `WWW-Authenticate`
//! challenge. Messages that are not JSON-RPC at all (-32700, -32600)
//! and transport refusals are answered without consulting it: they run no method.
//!
//! Results need no heap and no buffer: a tool returns a [`ToolOutput`], which renders its
//! structured JSON on demand, and the envelope renders it twice (raw as
//! `structuredContent`, escaped as the text block) while it streams into the transmit
//! buffer.
//!
//! A server with one public tool, answering a `tools/call`:
//!
//! ```
//! use core::fmt;
//! use push_advisor_http::codec::{TextSink, write_decimal};
//! use push_advisor_http::request::{Parse, parse_head};
//! use push_advisor_http::response::Framing;
//! use push_advisor_http::{Limits, Responder};
//! use push_advisor_mcp::*;
//!
//! struct Clock;
//! struct Now(u32);
//! impl ToolOutput for Now {
//!     fn render_json(&self, out: &mut dyn TextSink) -> fmt::Result {
//!         out.write_str("{\"hour\":")?;
//!         write_decimal(out, self.0.into())?;
//!         out.write_str("}")
//!     }
//! }
//! const TOOLS: [Tool; 1] = [Tool {
//!     name: "hour", title: "Hour", description: "The hour of the day.",
//!     input_schema: NO_ARGUMENTS, output_schema: None,
//!     read_only: true, takes_arguments: false, scope: None,
//! }];
//! impl ToolSet<()> for Clock {
//!     type Output<'a> = Now;
//!     fn tools(&self) -> &[Tool] { &TOOLS }
//!     async fn call<'a>(&'a self, _: ToolCall<'a, ()>) -> ToolOutcome<Now> {
//!         ToolOutcome::Json(Now(9))
//!     }
//! }
//!
//! let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hour"}}"#;
//! let raw = format!("POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n\
//!     Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}", body.len());
//! let Ok(Parse::Complete(head)) = parse_head(raw.as_bytes(), &Limits::default()) else { panic!() };
//! let config = McpConfig {
//!     name: "clock", title: "Clock", version: "1", instructions: "",
//!     max_message_bytes: 4096, allowed_origins: &[],
//!     public_url: "https://clock.example", loopback: false,
//! };
//! let (mut wire, mut transmit) = ([0u8; 1024], [0u8; 256]);
//! let mut conn = &mut wire[..];
//! let framing = Framing { head_only: false, keep_alive: true, allow_origin: None, vary_origin: false };
//! let responder = Responder::new(&mut conn, &mut transmit, framing);
//! embassy_futures::block_on(handle(&head.request, responder, &Clock, &Unprotected, &config)).unwrap();
//! let written = 1024 - conn.len();
//! let answer = core::str::from_utf8(&wire[..written]).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.contains(r#""structuredContent":{"hour":9}"#));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod rpc;
pub mod transport;

use core::fmt;

use embedded_io_async::Write;

use http::json;
use push_advisor_http as http;

use crate::http::response::{JSON, WriteError};
use crate::http::{Body, Header, MethodSet, Request, Responder, Sent, Status};

use json::{Kind, Value};
use rpc::{
    HEADER_MISMATCH, INVALID_PARAMS, METHOD_NOT_FOUND, Message, Reply, SERVER_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
};
use transport::TransportError;

/// The handshake (`initialize`) protocol versions spoken, newest first.
pub const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
/// Offered when an `initialize` asks for a version this server does not speak.
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";
/// The stateless revision: no handshake, the version in every request's `_meta`.
pub const MODERN_PROTOCOL_VERSION: &str = "2026-07-28";
/// `_meta` key of a modern request's protocol version.
pub const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// The methods the MCP route should declare: the engine then answers GET, HEAD and
/// DELETE with 405 and `Allow: POST, OPTIONS`, and CORS preflights itself.
pub const ROUTE_METHODS: MethodSet = MethodSet::POST;

/// `inputSchema` for a tool without arguments.
pub const NO_ARGUMENTS: &str = r#"{"type":"object","additionalProperties":false}"#;

/// What the server says about itself, and its limits.
#[derive(Debug, Clone, Copy)]
pub struct McpConfig<'a> {
    /// `serverInfo.name`, `.title` and `.version` (in `initialize`; in every modern
    /// result's `_meta`).
    pub name: &'a str,
    pub title: &'a str,
    pub version: &'a str,
    /// `instructions` in the initialize and server/discover results; omitted when empty.
    pub instructions: &'a str,
    /// Largest JSON-RPC message accepted (413 above it); the engine's body limit
    /// applies first.
    pub max_message_bytes: usize,
    /// Origins allowed to call besides `public_url`'s (`"*"` allows any, and only
    /// when listed explicitly); a request with another `Origin` gets 403. A request
    /// without `Origin` does not come from a browser page and passes.
    pub allowed_origins: &'a [&'a str],
    /// The URL clients use (scheme, host and port): its origin is always allowed, and
    /// its host is a valid `Host` for a loopback server.
    pub public_url: &'a str,
    /// The server listens on loopback only. DNS rebinding then also checks `Host`: it
    /// must be a loopback name (`localhost`, `127.x.x.x`, `[::1]`) or `public_url`'s
    /// host, else 403; and loopback origins (pages of this machine) are allowed.
    pub loopback: bool,
}

/// One tool as `tools/list` shows it. Schemas are JSON text rendered as is.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// A JSON Schema object; [`NO_ARGUMENTS`] for a tool without arguments.
    pub input_schema: &'static str,
    /// A JSON Schema the structured result conforms to.
    pub output_schema: Option<&'static str>,
    /// `annotations.readOnlyHint`.
    pub read_only: bool,
    /// When false, a call with a non-empty `arguments` object gets an `isError`
    /// result explaining that the tool takes none.
    pub takes_arguments: bool,
    /// The OAuth scope the tool needs, or `None` for a public tool.
    pub scope: Option<&'static str>,
}

/// One invocation, as the tool sees it.
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a, G> {
    /// Position of the tool in [`ToolSet::tools`].
    pub index: usize,
    pub tool: &'a Tool,
    /// The `arguments` object, absent when the client sent none (or `null`).
    pub arguments: Option<Value<'a>>,
    /// The HTTP request, for headers such as `Authorization`.
    pub request: &'a Request<'a>,
    /// What the access hook granted (for instance the token's facts).
    pub grant: &'a G,
}

/// A tool's structured result. `render_json` writes one JSON value and is called
/// several times (measure, then once per transmit window), so it must write the same
/// bytes every time.
pub trait ToolOutput {
    fn render_json(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result;
}

impl fmt::Debug for dyn ToolOutput + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ToolOutput")
    }
}

/// What a tool produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolOutcome<O> {
    /// The structured result.
    Json(O),
    /// A failure message for the model (`isError: true`).
    Failed(&'static str),
}

/// The application's tools.
#[allow(async_fn_in_trait)]
pub trait ToolSet<G> {
    /// A result, which may borrow from the call (its arguments, its grant).
    type Output<'a>: ToolOutput
    where
        Self: 'a,
        G: 'a;

    fn tools(&self) -> &[Tool];

    /// Runs a tool; access was already granted and arguments checked as far as
    /// `Tool::takes_arguments` says.
    async fn call<'a>(&'a self, call: ToolCall<'a, G>) -> ToolOutcome<Self::Output<'a>>;
}

/// What executing a request needs from the caller's access policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// initialize, server/discover, ping, tools/list, notifications and client responses,
    /// public tools, and requests that end in a JSON-RPC error (unknown method or tool,
    /// bad params). Header and version refusals (400) are answered without asking.
    Session,
    /// A protected tool and the scope it requires.
    Tool {
        name: &'static str,
        scope: &'static str,
    },
}

/// The access-policy hook (the OAuth guard, or [`Unprotected`]). The decision and the
/// answer to a refusal are separate steps, so the responder stays with [`handle`].
#[allow(async_fn_in_trait)]
pub trait Authorize {
    /// What a granted request carries to its tool.
    type Grant;
    /// Why a request was refused, kept small: it is held while the refusal is written.
    type Refusal;

    async fn authorize(
        &self,
        request: &Request<'_>,
        access: Access,
    ) -> Result<Self::Grant, Self::Refusal>;

    /// Answers a refused request (401, 403, 503, ...).
    async fn refuse<W: Write>(
        &self,
        refusal: Self::Refusal,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>>;
}

/// Lets every request through (for servers without protected tools, and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unprotected;

impl Authorize for Unprotected {
    type Grant = ();
    type Refusal = core::convert::Infallible;

    async fn authorize(&self, _: &Request<'_>, _: Access) -> Result<(), Self::Refusal> {
        Ok(())
    }

    async fn refuse<W: Write>(
        &self,
        refusal: Self::Refusal,
        _: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        match refusal {}
    }
}

/// Answers one request to the MCP endpoint (the envelope is streamed, so the transmit
/// buffer need not hold a whole result).
pub async fn handle<W: Write, A: Authorize, T: ToolSet<A::Grant>>(
    request: &Request<'_>,
    response: Responder<'_, W>,
    tools: &T,
    authorize: &A,
    config: &McpConfig<'_>,
) -> Result<Sent, WriteError<W::Error>> {
    let list = tools.tools();
    let grant;
    let outcome;
    let mut modern = false;
    // One envelope write and one access decision for every path: each await in here is
    // a slot in the connection's future.
    let (status, id, reply, headers): (Status, Option<&str>, Option<Reply<'_>>, &[Header<'_>]) = 'answer: {
        if let Err(violation) = transport::check(request, config) {
            let allow: &[Header<'_>] = match violation {
                TransportError::MethodNotAllowed => &[("Allow", "POST, OPTIONS")],
                _ => &[],
            };
            let reply = Reply::Error {
                code: SERVER_ERROR,
                message: violation.message(),
                subject: None,
            };
            break 'answer (violation.status(), None, Some(reply), allow);
        }
        let (id, plan) = match rpc::classify(request.body) {
            Err(rejected) => {
                let reply = Reply::Error {
                    code: rejected.code,
                    message: rejected.message,
                    subject: None,
                };
                break 'answer (Status::BAD_REQUEST, rejected.id, Some(reply), &[]);
            }
            // The request headers are checked on requests only (as the reference SDK
            // does); a notification is refused only for an unknown version header.
            Ok(Message::Acknowledge) if transport::protocol_version(request).is_none() => {
                let reply = unsupported_version(None);
                break 'answer (Status::BAD_REQUEST, None, Some(reply), &[]);
            }
            Ok(Message::Acknowledge) => (None, None),
            Ok(Message::Request { id, method, params }) => {
                let plan;
                (plan, modern) = self::plan(request, method, params, list);
                // Header and version refusals run no method: answered without the hook.
                if let Plan::Reply(reply @ Reply::Error { code, .. }) = plan
                    && (code == HEADER_MISMATCH || code == UNSUPPORTED_PROTOCOL_VERSION)
                {
                    break 'answer (Status::BAD_REQUEST, Some(id), Some(reply), &[]);
                }
                (Some(id), Some(plan))
            }
        };
        let access = match plan {
            Some(Plan::Call {
                tool:
                    Tool {
                        name,
                        scope: Some(scope),
                        ..
                    },
                ..
            }) => Access::Tool { name, scope },
            _ => Access::Session,
        };
        grant = match authorize.authorize(request, access).await {
            Ok(grant) => grant,
            Err(refusal) => return authorize.refuse(refusal, response).await,
        };
        let reply = match plan {
            // A notification or a client's response: accepted, nothing to answer.
            None => break 'answer (Status::ACCEPTED, None, None, &[]),
            // The modern revision answers an unknown method with 404, so a client can
            // tell it from an old server's 404 by the JSON-RPC body.
            Some(Plan::Reply(
                reply @ Reply::Error {
                    code: METHOD_NOT_FOUND,
                    ..
                },
            )) if modern => break 'answer (Status::NOT_FOUND, id, Some(reply), &[]),
            Some(Plan::Reply(reply)) => reply,
            Some(Plan::Call {
                index,
                tool,
                arguments,
            }) => {
                outcome = run_tool(tools, request, &grant, index, tool, arguments).await;
                match &outcome {
                    ToolOutcome::Json(output) => Reply::ToolResult { output },
                    ToolOutcome::Failed(text) => Reply::ToolFailed { text },
                }
            }
        };
        (Status::OK, id, Some(reply), &[])
    };
    let render = |out: &mut dyn push_advisor_http::codec::TextSink| match &reply {
        Some(reply) => rpc::render(out, id, reply, list, config, modern),
        None => Ok(()),
    };
    let (content_type, body) = match reply {
        Some(_) => (JSON, Body::Render(&render)),
        None => ("", Body::Empty),
    };
    response.send(status, content_type, headers, body).await
}

/// A request resolved against the tools, before access is decided.
enum Plan<'a> {
    Reply(Reply<'a>),
    Call {
        index: usize,
        tool: &'a Tool,
        arguments: Option<Value<'a>>,
    },
}

fn invalid_params(message: &'static str) -> Plan<'static> {
    Plan::Reply(Reply::Error {
        code: INVALID_PARAMS,
        message,
        subject: None,
    })
}

/// One message for every header refusal (flash is tight); the spec names the rules.
fn header_mismatch() -> Plan<'static> {
    Plan::Reply(Reply::Error {
        code: HEADER_MISMATCH,
        message: "Header mismatch: MCP-Protocol-Version, Mcp-Method and Mcp-Name must be present and match the body",
        subject: None,
    })
}

fn unsupported_version(requested: Option<json::JsonStr<'_>>) -> Reply<'_> {
    Reply::Error {
        code: UNSUPPORTED_PROTOCOL_VERSION,
        message: "Unsupported protocol version",
        subject: requested,
    }
}

/// Resolves a request and tells whether it is modern (2026-07-28): the era comes from
/// the body's `_meta` version, the headers must agree with the body.
#[inline(never)] // a call, not a copy inlined into async callers: less flash
fn plan<'a>(
    request: &Request<'_>,
    method: json::JsonStr<'a>,
    params: Option<Value<'a>>,
    tools: &'a [Tool],
) -> (Plan<'a>, bool) {
    let params = match params {
        Some(params) if params.kind() == Kind::Object => Some(params),
        None => None,
        Some(_) => {
            return (
                invalid_params("Invalid params: params must be an object"),
                false,
            );
        }
    };
    let claimed = match param(params, "_meta").and_then(|meta| param(meta, PROTOCOL_VERSION_META)) {
        Ok(claimed) => claimed.and_then(Value::as_str),
        Err(plan) => return (plan, false),
    };
    // With a `_meta` version the header must name it (so must be present); then the
    // header alone tells the era.
    if claimed.is_some_and(|claimed| {
        !transport::header_matches(request, "mcp-protocol-version", claimed, false)
    }) {
        return (header_mismatch(), false);
    }
    let modern = match transport::protocol_version(request) {
        None => return (Plan::Reply(unsupported_version(claimed)), false),
        // The modern header on a body without the envelope is a mismatch, not a fallback.
        Some(MODERN_PROTOCOL_VERSION) if claimed.is_none() => return (header_mismatch(), false),
        Some(version) => version == MODERN_PROTOCOL_VERSION,
    };
    if modern && !transport::header_matches(request, "mcp-method", method, false) {
        return (header_mismatch(), true);
    }
    (resolve(method, params, tools, request, modern), modern)
}

/// A member of `params` (an object or absent).
fn param<'a>(params: Option<Value<'a>>, key: &str) -> Result<Option<Value<'a>>, Plan<'a>> {
    match params.map(|params| params.get(key)) {
        Some(Ok(value)) => Ok(value),
        Some(Err(_)) => Err(invalid_params("Invalid params: a member is given twice")),
        None => Ok(None),
    }
}

fn resolve<'a>(
    method: json::JsonStr<'a>,
    params: Option<Value<'a>>,
    tools: &'a [Tool],
    request: &Request<'_>,
    modern: bool,
) -> Plan<'a> {
    let param = |key| param(params, key);
    if method.eq_str("server/discover") {
        Plan::Reply(Reply::Discover)
    } else if method.eq_str("initialize") && !modern {
        let requested = match param("protocolVersion") {
            Ok(requested) => requested.and_then(Value::as_str),
            Err(plan) => return plan,
        };
        let Some(requested) = requested else {
            return invalid_params("Invalid params: protocolVersion (a string) is required");
        };
        let version = PROTOCOL_VERSIONS
            .iter()
            .copied()
            .find(|version| requested.eq_str(version))
            .unwrap_or(LATEST_PROTOCOL_VERSION);
        Plan::Reply(Reply::Initialize { version })
    } else if method.eq_str("ping") && !modern {
        Plan::Reply(Reply::Empty)
    } else if method.eq_str("tools/list") {
        Plan::Reply(Reply::ToolList)
    } else if method.eq_str("tools/call") {
        let (name, arguments) = match (param("name"), param("arguments")) {
            (Ok(name), Ok(arguments)) => (name, arguments),
            (Err(plan), _) | (_, Err(plan)) => return plan,
        };
        let Some(name) = name.and_then(Value::as_str) else {
            return invalid_params("Invalid params: name (a string) is required");
        };
        if modern && !transport::header_matches(request, "mcp-name", name, true) {
            return header_mismatch();
        }
        let Some((index, tool)) = tools
            .iter()
            .enumerate()
            .find(|(_, tool)| name.eq_str(tool.name))
        else {
            return Plan::Reply(Reply::Error {
                code: INVALID_PARAMS,
                message: "Unknown tool",
                subject: Some(name),
            });
        };
        let arguments = match arguments {
            Some(arguments) if arguments.kind() == Kind::Object => Some(arguments),
            Some(arguments) if arguments.kind() == Kind::Null => None,
            None => None,
            Some(_) => return invalid_params("Invalid params: arguments must be an object"),
        };
        Plan::Call {
            index,
            tool,
            arguments,
        }
    } else {
        Plan::Reply(Reply::Error {
            code: METHOD_NOT_FOUND,
            message: "Method not found",
            subject: Some(method),
        })
    }
}

async fn run_tool<'a, G, T: ToolSet<G>>(
    tools: &'a T,
    request: &'a Request<'a>,
    grant: &'a G,
    index: usize,
    tool: &'a Tool,
    arguments: Option<Value<'a>>,
) -> ToolOutcome<T::Output<'a>> {
    if !tool.takes_arguments
        && arguments.is_some_and(|arguments| arguments.members().next().is_some())
    {
        return ToolOutcome::Failed(
            "This tool takes no arguments: call it with an empty arguments object {} or none.",
        );
    }
    let call = ToolCall {
        index,
        tool,
        arguments,
        request,
        grant,
    };
    tools.call(call).await
}
