//! JSON-RPC 2.0 for one MCP message: classifying what the client sent, and writing
//! the reply envelope with the request's id echoed byte for byte.

use core::fmt::{self, Write};

use crate::http::codec::{JsonEscaped, write_decimal};

use super::json::{self, JsonStr, Kind, Value};
use super::{McpConfig, Tool, ToolOutput};

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;
/// Implementation-defined server error, used for transport refusals.
pub const SERVER_ERROR: i32 = -32000;
/// 2026-07-28: a request header is missing or disagrees with the body.
pub const HEADER_MISMATCH: i32 = -32020;
/// 2026-07-28: the requested protocol version is not spoken; `data.supported` lists
/// those that are.
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;

/// Every version spoken, newest first, as the JSON array `server/discover` and
/// `UnsupportedProtocolVersionError` carry.
const SUPPORTED_VERSIONS: &str = r#"["2026-07-28","2025-11-25","2025-06-18","2025-03-26"]"#;
/// How long a client may cache `tools/list` and `server/discover`: both are fixed
/// when the server is built, and the same for every caller (hence `public`).
const CACHE_HINTS: &str = r#","ttlMs":3600000,"cacheScope":"public""#;

/// A well-formed message.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    Request {
        /// The id's exact source text (a JSON string or number).
        id: &'a str,
        method: JsonStr<'a>,
        params: Option<Value<'a>>,
    },
    /// A notification or a response from the client: nothing to answer but 202.
    Acknowledge,
}

/// A message that cannot be processed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected<'a> {
    pub code: i32,
    pub message: &'static str,
    /// The id, when it could be read.
    pub id: Option<&'a str>,
}

/// Reads one JSON-RPC message from a request body.
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn classify(body: &[u8]) -> Result<Message<'_>, Rejected<'_>> {
    let parse_error = Rejected {
        code: PARSE_ERROR,
        message: "Parse error: the body is not one well-formed JSON value",
        id: None,
    };
    let text = core::str::from_utf8(body).map_err(|_| parse_error)?;
    let message = json::parse(text).map_err(|_| parse_error)?;
    let rejected = |message, id| Rejected {
        code: INVALID_REQUEST,
        message,
        id,
    };
    match message.kind() {
        Kind::Object => {}
        Kind::Array => return Err(rejected("Invalid Request: batches are not supported", None)),
        _ => {
            return Err(rejected(
                "Invalid Request: a message must be a JSON object",
                None,
            ));
        }
    }
    let duplicate = "Invalid Request: a member is given twice";
    let id = match message.get("id").map_err(|_| rejected(duplicate, None))? {
        None => None,
        Some(id) if matches!(id.kind(), Kind::String | Kind::Number) => Some(id.raw()),
        Some(_) => {
            return Err(rejected(
                "Invalid Request: id must be a string or a number",
                None,
            ));
        }
    };
    let field = |key| message.get(key).map_err(|_| rejected(duplicate, id));
    let version = field("jsonrpc")?.and_then(Value::as_str);
    if !version.is_some_and(|version| version.eq_str("2.0")) {
        return Err(rejected("Invalid Request: jsonrpc must be \"2.0\"", id));
    }
    match (field("method")?, id) {
        (Some(method), Some(id)) => Ok(Message::Request {
            id,
            method: method.as_str().ok_or(rejected(
                "Invalid Request: method must be a string",
                Some(id),
            ))?,
            params: field("params")?,
        }),
        (Some(method), None) if method.kind() == Kind::String => Ok(Message::Acknowledge),
        (Some(_), None) => Err(rejected("Invalid Request: method must be a string", None)),
        (None, Some(_)) if field("result")?.is_some() || field("error")?.is_some() => {
            Ok(Message::Acknowledge)
        }
        (None, _) => Err(rejected("Invalid Request: method is missing", id)),
    }
}

/// What a request is answered with.
#[derive(Debug, Clone, Copy)]
pub enum Reply<'a> {
    Initialize {
        version: &'static str,
    },
    /// `server/discover`: versions, capabilities, identity.
    Discover,
    /// `{}` (ping).
    Empty,
    ToolList,
    /// A tool's structured result, repeated as a text block.
    ToolResult {
        output: &'a dyn ToolOutput,
    },
    /// A tool-level failure the model should see: `isError: true`.
    ToolFailed {
        text: &'a str,
    },
    Error {
        code: i32,
        message: &'static str,
        /// Appended to the message, still JSON-escaped as the client sent it (and the
        /// `requested` version of an unsupported-version error).
        subject: Option<JsonStr<'a>>,
    },
}

/// Writes the whole response envelope; a `modern` (2026-07-28) result also carries
/// `resultType` and the server's identity in `_meta`. Called several times (measure,
/// then windows), so it depends on nothing but its arguments.
#[inline(never)] // a call, not a copy inlined into async callers: less flash
pub fn render(
    out: &mut dyn push_advisor_http::codec::TextSink,
    id: Option<&str>,
    reply: &Reply<'_>,
    tools: &[Tool],
    config: &McpConfig<'_>,
    modern: bool,
) -> fmt::Result {
    out.write_str("{\"jsonrpc\":\"2.0\",\"id\":")?;
    out.write_str(id.unwrap_or("null"))?;
    match reply {
        Reply::Error {
            code,
            message,
            subject,
        } => {
            out.write_str(",\"error\":{\"code\":")?;
            if *code < 0 {
                out.write_str("-")?;
            }
            write_decimal(out, u64::from(code.unsigned_abs()))?;
            out.write_str(",\"message\":\"")?;
            JsonEscaped(message).write_to(out)?;
            if let Some(subject) = subject {
                out.write_str(": ")?;
                out.write_str(subject.raw())?;
            }
            out.write_str("\"")?;
            if *code == UNSUPPORTED_PROTOCOL_VERSION {
                out.write_str(",\"data\":{\"supported\":")?;
                out.write_str(SUPPORTED_VERSIONS)?;
                if let Some(subject) = subject {
                    out.write_str(",\"requested\":\"")?;
                    out.write_str(subject.raw())?;
                    out.write_str("\"")?;
                }
                out.write_str("}")?;
            }
            out.write_str("}")?;
        }
        _ => {
            out.write_str(",\"result\":{")?;
            render_result(out, reply, tools, config)?;
            // Discovery is a modern method whichever era asked.
            if modern || matches!(reply, Reply::Discover) {
                if !matches!(reply, Reply::Empty) {
                    out.write_str(",")?;
                }
                out.write_str("\"resultType\":\"complete\",\"_meta\":{\"io.modelcontextprotocol/serverInfo\":")?;
                render_server_info(out, config)?;
                out.write_str("}")?;
                if matches!(reply, Reply::Discover | Reply::ToolList) {
                    out.write_str(CACHE_HINTS)?;
                }
            }
            out.write_str("}")?;
        }
    }
    out.write_str("}")
}

fn render_server_info(
    out: &mut dyn push_advisor_http::codec::TextSink,
    config: &McpConfig<'_>,
) -> fmt::Result {
    out.write_str("{\"name\":\"")?;
    JsonEscaped(config.name).write_to(out)?;
    out.write_str("\",\"title\":\"")?;
    JsonEscaped(config.title).write_to(out)?;
    out.write_str("\",\"version\":\"")?;
    JsonEscaped(config.version).write_to(out)?;
    out.write_str("\"}")
}

/// `capabilities` and `instructions`, as `initialize` and `server/discover` share them.
fn render_capabilities(
    out: &mut dyn push_advisor_http::codec::TextSink,
    config: &McpConfig<'_>,
) -> fmt::Result {
    out.write_str("\"capabilities\":{\"tools\":{\"listChanged\":false}}")?;
    if !config.instructions.is_empty() {
        out.write_str(",\"instructions\":\"")?;
        JsonEscaped(config.instructions).write_to(out)?;
        out.write_str("\"")?;
    }
    Ok(())
}

/// The members of a result object, without its braces.
fn render_result(
    out: &mut dyn push_advisor_http::codec::TextSink,
    reply: &Reply<'_>,
    tools: &[Tool],
    config: &McpConfig<'_>,
) -> fmt::Result {
    match reply {
        Reply::Initialize { version } => {
            out.write_str("\"protocolVersion\":\"")?;
            out.write_str(version)?;
            out.write_str("\",\"serverInfo\":")?;
            render_server_info(out, config)?;
            out.write_str(",")?;
            render_capabilities(out, config)
        }
        Reply::Discover => {
            out.write_str("\"supportedVersions\":")?;
            out.write_str(SUPPORTED_VERSIONS)?;
            out.write_str(",")?;
            render_capabilities(out, config)
        }
        Reply::Empty => Ok(()),
        Reply::ToolList => {
            out.write_str("\"tools\":[")?;
            for (index, tool) in tools.iter().enumerate() {
                if index > 0 {
                    out.write_str(",")?;
                }
                render_tool(out, tool)?;
            }
            out.write_str("]")
        }
        Reply::ToolResult { output } => {
            out.write_str("\"content\":[{\"type\":\"text\",\"text\":\"")?;
            output.render_json(&mut JsonEscaping(&mut *out))?;
            out.write_str("\"}],\"structuredContent\":")?;
            output.render_json(out)?;
            out.write_str(",\"isError\":false")
        }
        Reply::ToolFailed { text } => {
            out.write_str("\"content\":[{\"type\":\"text\",\"text\":\"")?;
            JsonEscaped(text).write_to(out)?;
            out.write_str("\"}],\"isError\":true")
        }
        // Not reached: errors are rendered by `render`.
        Reply::Error { .. } => Ok(()),
    }
}

/// Escapes everything written through it as the inside of a JSON string.
struct JsonEscaping<'w>(&'w mut dyn push_advisor_http::codec::TextSink);

impl Write for JsonEscaping<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        JsonEscaped(text).write_to(self.0)
    }
}

fn render_tool(out: &mut dyn push_advisor_http::codec::TextSink, tool: &Tool) -> fmt::Result {
    out.write_str("{\"name\":\"")?;
    JsonEscaped(tool.name).write_to(out)?;
    out.write_str("\",\"title\":\"")?;
    JsonEscaped(tool.title).write_to(out)?;
    out.write_str("\",\"description\":\"")?;
    JsonEscaped(tool.description).write_to(out)?;
    out.write_str("\",\"inputSchema\":")?;
    out.write_str(tool.input_schema)?;
    if let Some(schema) = tool.output_schema {
        out.write_str(",\"outputSchema\":")?;
        out.write_str(schema)?;
    }
    out.write_str(",\"annotations\":{\"readOnlyHint\":")?;
    out.write_str(if tool.read_only { "true" } else { "false" })?;
    out.write_str("}}")
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn classify_str(text: &str) -> Result<Message<'_>, Rejected<'_>> {
        classify(text.as_bytes())
    }

    fn request_id(text: &str) -> &str {
        match classify_str(text) {
            Ok(Message::Request { id, .. }) => id,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ids_keep_their_exact_text() {
        for id in [
            "1",
            "-0",
            "1e3",
            "2.50",
            "\"abc\"",
            "\"a\\\"b\\u00e9\"",
            "\"\"",
        ] {
            let text = [r#"{"jsonrpc":"2.0","id":"#, id, r#","method":"ping"}"#].concat();
            assert_eq!(request_id(&text), id);
        }
    }

    #[test]
    fn notifications_and_client_responses_are_acknowledged() {
        for text in [
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/unknown","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":"x","error":{"code":1,"message":"m"}}"#,
        ] {
            assert!(
                matches!(classify_str(text), Ok(Message::Acknowledge)),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_messages_get_the_right_code() {
        let cases: &[(&str, i32, Option<&str>)] = &[
            ("", PARSE_ERROR, None),
            ("{\"jsonrpc\":", PARSE_ERROR, None),
            ("\u{feff}{}", PARSE_ERROR, None),
            ("[]", INVALID_REQUEST, None),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                INVALID_REQUEST,
                None,
            ),
            ("\"ping\"", INVALID_REQUEST, None),
            ("{}", INVALID_REQUEST, None),
            (r#"{"id":1,"method":"ping"}"#, INVALID_REQUEST, Some("1")),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
                INVALID_REQUEST,
                Some("1"),
            ),
            (
                r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#,
                INVALID_REQUEST,
                Some("1"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
                INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
                INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
                INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
                INVALID_REQUEST,
                Some("1"),
            ),
            (r#"{"jsonrpc":"2.0","method":7}"#, INVALID_REQUEST, None),
            (r#"{"jsonrpc":"2.0","id":1}"#, INVALID_REQUEST, Some("1")),
            (
                r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
                INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"x"}"#,
                INVALID_REQUEST,
                Some("1"),
            ),
        ];
        for (text, code, id) in cases {
            match classify_str(text) {
                Err(rejected) => {
                    assert_eq!(rejected.code, *code, "{text}");
                    assert_eq!(rejected.id, *id, "{text}");
                }
                Ok(message) => panic!("{text} accepted as {message:?}"),
            }
        }
        assert_eq!(
            classify(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}")
                .map(|_| ())
                .map_err(|r| r.code),
            Err(PARSE_ERROR)
        );
    }
}
