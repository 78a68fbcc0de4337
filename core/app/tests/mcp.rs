//! The MCP endpoint driven through the real connection loop over an in-memory
//! connection: transport statuses, JSON-RPC errors, the tool envelope and the
//! authorization hook.

use std::cell::{Cell, RefCell};

use embedded_io_async::Write;
use push_advisor_http::response::WriteError;
use push_advisor_http::{Body, Limits, MethodSet, Request, Responder, Sent, Status};
use push_advisor_http::{Buffers, ServerConfig, Service, serve};
use push_advisor_mcp as mcp;
use push_advisor_mcp::{
    Access, Authorize, McpConfig, NO_ARGUMENTS, Tool, ToolCall, ToolOutcome, ToolOutput, ToolSet,
};
use serde_json::{Value, json};

mod support;

use support::{MemConn, Response, parse_responses};

const TOOLS: [Tool; 2] = [
    Tool {
        name: "can_i_deploy",
        title: "Can I deploy?",
        description: "Says whether to deploy \"today\" <now>.",
        input_schema: NO_ARGUMENTS,
        output_schema: Some(
            r#"{"type":"object","properties":{"answer":{"type":"string"},"reason":{"type":"string"}},"required":["answer","reason"]}"#,
        ),
        read_only: true,
        takes_arguments: false,
        scope: None,
    },
    Tool {
        name: "deploy_stats",
        title: "Deploy statistics",
        description: "Counts deploys; echoes its arguments.",
        input_schema: r#"{"type":"object","properties":{"team":{"type":"string"}}}"#,
        output_schema: Some(r#"{"type":"object"}"#),
        read_only: true,
        takes_arguments: true,
        scope: Some("api:read"),
    },
];

/// Two tools: a public one without arguments and one needing `api:read`.
#[derive(Default)]
struct TestTools {
    calls: Cell<usize>,
}

/// What the test tools return: fixed advice (with characters that need escaping), or
/// a count that echoes the call's arguments as given.
enum TestOutput<'a> {
    Advice,
    Stats { arguments: Option<&'a str> },
}

impl ToolOutput for TestOutput<'_> {
    fn render_json(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> core::fmt::Result {
        match self {
            TestOutput::Advice => out.write_str(
                r#"{"answer":"yes","reason":"It's \"Monday\"! Safe to deploy <script> 🚀\n"}"#,
            ),
            TestOutput::Stats { arguments } => write!(
                &mut push_advisor_http::codec::Formatted(out) as &mut dyn core::fmt::Write,
                r#"{{"deploys":3,"arguments":{}}}"#,
                arguments.unwrap_or("null")
            ),
        }
    }
}

impl ToolSet<()> for TestTools {
    type Output<'a> = TestOutput<'a>;

    fn tools(&self) -> &[Tool] {
        &TOOLS
    }

    async fn call<'a>(&'a self, call: ToolCall<'a, ()>) -> ToolOutcome<TestOutput<'a>> {
        self.calls.set(self.calls.get() + 1);
        ToolOutcome::Json(match call.index {
            0 => TestOutput::Advice,
            _ => TestOutput::Stats {
                arguments: call.arguments.map(|arguments| arguments.raw()),
            },
        })
    }
}

/// Records what each request needed; denies protected tools without an
/// `Authorization` header, and everything when `deny_all` is set.
#[derive(Default)]
struct RecordingGuard {
    seen: RefCell<Vec<Access>>,
    deny_all: bool,
}

impl Authorize for RecordingGuard {
    type Grant = ();
    type Refusal = ();

    async fn authorize(&self, request: &Request<'_>, access: Access) -> Result<(), ()> {
        self.seen.borrow_mut().push(access);
        let denied = self.deny_all
            || (matches!(access, Access::Tool { .. }) && request.header("authorization").is_none());
        if denied { Err(()) } else { Ok(()) }
    }

    async fn refuse<W: Write>(
        &self,
        _: (),
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let challenge = [("WWW-Authenticate", "Bearer scope=\"api:read\"")];
        response
            .send(
                Status::UNAUTHORIZED,
                "application/json",
                &challenge,
                Body::Bytes(br#"{"error":"unauthorized"}"#),
            )
            .await
    }
}

struct McpService {
    tools: TestTools,
    guard: RecordingGuard,
}

const MCP_CONFIG: McpConfig<'static> = McpConfig {
    name: "push-advisor-test",
    title: "Push Advisor (test)",
    version: "0.1.0",
    instructions: "Ask before you push.",
    max_message_bytes: 1024,
    allowed_origins: ALLOWED_ORIGINS,
    public_url: "https://advisor.example",
    loopback: false,
};

const ALLOWED_ORIGINS: &[&str] = &["http://localhost:6274"];

impl Service for McpService {
    type Route = ();

    fn route(&self, path: &str) -> Option<((), MethodSet)> {
        match path {
            "/mcp" => Some(((), mcp::ROUTE_METHODS)),
            // An app that routes more methods to the endpoint still gets 405 from it.
            "/mcp-wide" => Some(((), MethodSet::GET.with(MethodSet::POST))),
            _ => None,
        }
    }

    async fn call<W: Write>(
        &self,
        _: (),
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        mcp::handle(request, response, &self.tools, &self.guard, &MCP_CONFIG).await
    }
}

fn service() -> McpService {
    McpService {
        tools: TestTools::default(),
        guard: RecordingGuard::default(),
    }
}

fn exchange_with(service: &McpService, input: &[u8], tx_len: usize) -> Vec<Response> {
    let config = ServerConfig {
        limits: Limits {
            max_body_bytes: 2048,
            ..Limits::default()
        },
        allowed_origins: ALLOWED_ORIGINS,
    };
    let mut conn = MemConn::new(input);
    let mut rx = [0u8; 8192];
    let mut tx = vec![0u8; tx_len];
    embassy_futures::block_on(serve(
        &mut conn,
        service,
        &config,
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
    ))
    .unwrap();
    parse_responses(&conn.output, &[])
}

fn exchange(service: &McpService, input: &[u8]) -> Vec<Response> {
    exchange_with(service, input, 1024)
}

const ACCEPT_BOTH: (&str, &str) = ("Accept", "application/json, text/event-stream");
const JSON_BODY: (&str, &str) = ("Content-Type", "application/json");

fn raw_request(method: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!("{method} /mcp HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

fn post_with(service: &McpService, headers: &[(&str, &str)], body: &str) -> Response {
    let mut responses = exchange(service, &raw_request("POST", headers, body));
    assert_eq!(responses.len(), 1);
    responses.remove(0)
}

fn post(service: &McpService, body: &str) -> Response {
    post_with(service, &[ACCEPT_BOTH, JSON_BODY], body)
}

fn rpc(method: &str, id: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#)
}

fn result_of(response: &Response) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["jsonrpc"], "2.0");
    assert!(body.get("error").is_none(), "{body}");
    body["result"].clone()
}

fn error_of(response: &Response) -> (i64, String, Value) {
    let body = response.json();
    assert_eq!(body["jsonrpc"], "2.0");
    assert!(body.get("result").is_none(), "{body}");
    (
        body["error"]["code"].as_i64().unwrap(),
        body["error"]["message"].as_str().unwrap().to_string(),
        body["id"].clone(),
    )
}

#[test]
fn initialize_negotiates_the_protocol_version() {
    let service = service();
    for (asked, answered) in [
        ("2025-11-25", "2025-11-25"),
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2025-11-25"),
        ("next-year", "2025-11-25"),
    ] {
        let params = format!(
            r#"{{"protocolVersion":"{asked}","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}"#
        );
        let result = result_of(&post(&service, &rpc("initialize", "1", &params)));
        assert_eq!(result["protocolVersion"], answered, "asked {asked}");
        assert_eq!(
            result["serverInfo"],
            json!({"name":"push-advisor-test","title":"Push Advisor (test)","version":"0.1.0"})
        );
        assert!(result["capabilities"]["tools"].is_object());
        assert_eq!(result["instructions"], "Ask before you push.");
    }
    // The version may be written with escapes.
    let result = result_of(&post(
        &service,
        &rpc(
            "initialize",
            "1",
            r#"{"protocolVersion":"2025\u002d06-18"}"#,
        ),
    ));
    assert_eq!(result["protocolVersion"], "2025-06-18");
    let response = post(&service, &rpc("initialize", "1", "{}"));
    assert_eq!(response.status, 200);
    assert_eq!(error_of(&response).0, -32602);
}

#[test]
fn ids_are_echoed_byte_for_byte() {
    let service = service();
    for id in [
        "1",
        "0",
        "-0",
        "1e3",
        "-12.50E+2",
        "9007199254740993",
        r#""abc""#,
        r#""a\"b\u00e9""#,
        r#""""#,
    ] {
        let response = post(&service, &rpc("ping", id, "{}"));
        assert_eq!(response.status, 200);
        let expected = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#);
        assert_eq!(response.text(), expected);
    }
    // Also on errors that know the id.
    let response = post(&service, &rpc("nope", "\"req-7\"", "{}"));
    assert_eq!(error_of(&response).2, json!("req-7"));
    assert!(response.text().contains(r#""id":"req-7""#));
}

#[test]
fn notifications_and_client_responses_get_202_without_body() {
    let service = service();
    for body in [
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
        r#"{"jsonrpc":"2.0","id":5,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"no"}}"#,
    ] {
        let response = post(&service, body);
        assert_eq!(response.status, 202, "{body}");
        assert!(response.body.is_empty());
        assert_eq!(response.header("content-length"), Some("0"));
    }
}

#[test]
fn tools_list_describes_every_tool() {
    let service = service();
    let result = result_of(&post(&service, &rpc("tools/list", "2", "{}")));
    let tools = result["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(
        tools[0],
        json!({
            "name": "can_i_deploy",
            "title": "Can I deploy?",
            "description": "Says whether to deploy \"today\" <now>.",
            "inputSchema": {"type":"object","additionalProperties":false},
            "outputSchema": {"type":"object","properties":{"answer":{"type":"string"},"reason":{"type":"string"}},"required":["answer","reason"]},
            "annotations": {"readOnlyHint": true}
        })
    );
    assert_eq!(tools[1]["name"], "deploy_stats");
    assert_eq!(tools[1]["annotations"]["readOnlyHint"], true);
    // Without params too.
    let result = result_of(&post(
        &service,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#,
    ));
    assert_eq!(result["tools"].as_array().unwrap().len(), 2);
}

#[test]
fn tools_list_streams_through_a_small_transmit_buffer() {
    let service = service();
    let request = raw_request(
        "POST",
        &[ACCEPT_BOTH, JSON_BODY],
        &rpc("tools/list", "2", "{}"),
    );
    let responses = exchange_with(&service, &request, 300);
    assert!(responses[0].body.len() > 300);
    assert_eq!(
        result_of(&responses[0])["tools"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn tool_results_carry_structured_content_and_the_same_json_as_text() {
    let service = service();
    for params in [
        r#"{"name":"can_i_deploy"}"#,
        r#"{"name":"can_i_deploy","arguments":{}}"#,
        r#"{"name":"can_i_deploy","arguments":null}"#,
        r#"{"name":"can\u005fi_deploy","arguments":{ }}"#,
    ] {
        let result = result_of(&post(&service, &rpc("tools/call", "4", params)));
        assert_eq!(result["isError"], false, "{params}");
        let content = result["content"].as_array().unwrap();
        assert_eq!(content.len(), 1);
        assert_eq!(content[0]["type"], "text");
        let text: Value = serde_json::from_str(content[0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, result["structuredContent"]);
        assert_eq!(
            result["structuredContent"],
            json!({"answer":"yes","reason":"It's \"Monday\"! Safe to deploy <script> 🚀\n"})
        );
    }
    assert_eq!(service.tools.calls.get(), 4);
}

#[test]
fn unexpected_arguments_are_a_tool_error() {
    let service = service();
    let result = result_of(&post(
        &service,
        &rpc(
            "tools/call",
            "5",
            r#"{"name":"can_i_deploy","arguments":{"day":"Friday"}}"#,
        ),
    ));
    assert_eq!(result["isError"], true);
    assert!(result.get("structuredContent").is_none());
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("takes no arguments"), "{text}");
    assert_eq!(service.tools.calls.get(), 0);
}

#[test]
fn protocol_errors_use_the_json_rpc_codes() {
    let service = service();
    let cases: &[(&str, u16, i64, Value)] = &[
        ("{not json", 400, -32700, Value::Null),
        ("", 400, -32700, Value::Null),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"} x"#,
            400,
            -32700,
            Value::Null,
        ),
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            400,
            -32600,
            Value::Null,
        ),
        ("42", 400, -32600, Value::Null),
        (r#"{"id":1,"method":"ping"}"#, 400, -32600, json!(1)),
        (
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
            400,
            -32600,
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            400,
            -32600,
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#,
            200,
            -32601,
            json!(1),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm_rf"}}"#,
            200,
            -32602,
            json!(1),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#,
            200,
            -32602,
            json!(1),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"can_i_deploy","arguments":[1]}}"#,
            200,
            -32602,
            json!(1),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}"#,
            200,
            -32602,
            json!(1),
        ),
    ];
    for (body, status, code, id) in cases {
        let response = post(&service, body);
        assert_eq!(response.status, *status, "{body}");
        let (got_code, _, got_id) = error_of(&response);
        assert_eq!((got_code, &got_id), (*code, id), "{body}");
    }
    let unknown = error_of(&post(
        &service,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm_rf"}}"#,
    ));
    assert!(unknown.1.contains("rm_rf"), "{}", unknown.1);
    assert_eq!(service.tools.calls.get(), 0);
}

#[test]
fn get_and_delete_are_not_allowed() {
    let service = service();
    for method in ["GET", "DELETE"] {
        let responses = exchange(&service, &raw_request(method, &[ACCEPT_BOTH], ""));
        assert_eq!(responses[0].status, 405, "{method}");
        assert_eq!(
            responses[0].header("allow"),
            Some("POST, OPTIONS"),
            "{method}"
        );
    }
    let wide = exchange(
        &service,
        b"GET /mcp-wide HTTP/1.1\r\nHost: localhost\r\nAccept: application/json, text/event-stream\r\n\r\n",
    );
    assert_eq!(wide[0].status, 405);
    assert_eq!(wide[0].header("allow"), Some("POST, OPTIONS"));
    assert_eq!(error_of(&wide[0]).0, -32000);
    assert!(service.guard.seen.borrow().is_empty());
    let preflight = exchange(
        &service,
        &raw_request(
            "OPTIONS",
            &[
                ("Origin", "http://localhost:6274"),
                ("Access-Control-Request-Method", "POST"),
            ],
            "",
        ),
    );
    assert_eq!(preflight[0].status, 204);
    assert_eq!(
        preflight[0].header("access-control-allow-methods"),
        Some("POST, OPTIONS")
    );
}

#[test]
fn transport_rules_give_their_statuses() {
    let service = service();
    let ping = rpc("ping", "1", "{}");
    let cases: &[(&[(&str, &str)], u16)] = &[
        (&[ACCEPT_BOTH, JSON_BODY], 200),
        (
            &[
                ("Accept", "text/event-stream;q=0.9, APPLICATION/JSON"),
                ("Content-Type", "application/json; charset=utf-8"),
            ],
            200,
        ),
        (
            &[
                ("Accept", "application/json"),
                ("Accept", "text/event-stream"),
                JSON_BODY,
            ],
            200,
        ),
        (&[JSON_BODY], 406),
        (&[("Accept", "application/json"), JSON_BODY], 406),
        (&[("Accept", "text/event-stream"), JSON_BODY], 406),
        (&[("Accept", "*/*"), JSON_BODY], 406),
        (
            &[
                ("Accept", "application/jsonx, text/event-stream"),
                JSON_BODY,
            ],
            406,
        ),
        (&[ACCEPT_BOTH], 415),
        (&[ACCEPT_BOTH, ("Content-Type", "text/plain")], 415),
        (
            &[ACCEPT_BOTH, ("Content-Type", "application/json-seq")],
            415,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                ("MCP-Protocol-Version", "2025-06-18"),
            ],
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                ("MCP-Protocol-Version", "2025-03-26"),
            ],
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                ("MCP-Protocol-Version", "2024-11-05"),
            ],
            400,
        ),
        (&[ACCEPT_BOTH, JSON_BODY, ("MCP-Protocol-Version", "")], 400),
        (
            &[ACCEPT_BOTH, JSON_BODY, ("Origin", "http://localhost:6274")],
            200,
        ),
        (
            &[ACCEPT_BOTH, JSON_BODY, ("Origin", "http://evil.example")],
            403,
        ),
        (&[ACCEPT_BOTH, JSON_BODY, ("Origin", "null")], 403),
    ];
    for (headers, status) in cases {
        let response = post_with(&service, headers, &ping);
        assert_eq!(response.status, *status, "{headers:?}: {}", response.text());
        if *status == 400 {
            // An unknown MCP-Protocol-Version is a modern, recognizable error.
            let body = response.json();
            assert_eq!(body["error"]["code"], -32022, "{body}");
            assert_eq!(body["id"], 1);
            assert_eq!(body["error"]["data"]["supported"], json!(SUPPORTED));
        } else if *status != 200 {
            let (code, message, id) = error_of(&response);
            assert_eq!((code, id), (-32000, Value::Null));
            assert!(!message.is_empty());
        }
    }
    // Refused before any method ran, so the hook was never asked.
    let asked = service.guard.seen.borrow().len();
    assert_eq!(asked, cases.iter().filter(|(_, s)| *s == 200).count());
}

#[test]
fn oversized_messages_get_413() {
    let service = service();
    let padding = "x".repeat(1100);
    let body = rpc("ping", "1", &format!(r#"{{"pad":"{padding}"}}"#));
    assert!(body.len() > MCP_CONFIG.max_message_bytes && body.len() < 2048);
    let response = post(&service, &body);
    assert_eq!(response.status, 413);
    assert_eq!(error_of(&response).0, -32000);
    // Above the engine's body limit the engine itself refuses and closes.
    let huge = rpc("ping", "1", &format!(r#"{{"pad":"{}"}}"#, "x".repeat(3000)));
    let responses = exchange(
        &service,
        &raw_request("POST", &[ACCEPT_BOTH, JSON_BODY], &huge),
    );
    assert_eq!(responses[0].status, 413);
    assert_eq!(responses[0].header("connection"), Some("close"));
}

#[test]
fn the_hook_is_asked_for_the_right_access() {
    let service = service();
    post(
        &service,
        &rpc("initialize", "1", r#"{"protocolVersion":"2025-11-25"}"#),
    );
    post(
        &service,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    post(&service, &rpc("ping", "2", "{}"));
    post(&service, &rpc("tools/list", "3", "{}"));
    post(
        &service,
        &rpc("tools/call", "4", r#"{"name":"can_i_deploy"}"#),
    );
    post(&service, &rpc("tools/call", "5", r#"{"name":"unknown"}"#));
    post(&service, &rpc("no/such", "6", "{}"));
    let granted = post_with(
        &service,
        &[ACCEPT_BOTH, JSON_BODY, ("Authorization", "Bearer test")],
        &rpc(
            "tools/call",
            "7",
            r#"{"name":"deploy_stats","arguments":{"team":"core"}}"#,
        ),
    );
    // Malformed messages run nothing and are not shown to the hook.
    post(&service, "{oops");
    post(&service, r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#);
    let protected = Access::Tool {
        name: "deploy_stats",
        scope: "api:read",
    };
    let mut expected = vec![Access::Session; 7];
    expected.push(protected);
    assert_eq!(*service.guard.seen.borrow(), expected);
    let result = result_of(&granted);
    assert_eq!(
        result["structuredContent"],
        json!({"deploys":3,"arguments":{"team":"core"}})
    );
    assert_eq!(service.tools.calls.get(), 2);
}

#[test]
fn a_denied_request_gets_the_hook_answer_and_runs_nothing() {
    let service = service();
    let response = post(
        &service,
        &rpc("tools/call", "1", r#"{"name":"deploy_stats"}"#),
    );
    assert_eq!(response.status, 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer scope=\"api:read\"")
    );
    assert_eq!(response.json(), json!({"error":"unauthorized"}));
    assert_eq!(service.tools.calls.get(), 0);
    // The public tool on the same server needs no token ("lazy auth").
    let result = result_of(&post(
        &service,
        &rpc("tools/call", "2", r#"{"name":"can_i_deploy"}"#),
    ));
    assert_eq!(result["isError"], false);

    let closed = McpService {
        tools: TestTools::default(),
        guard: RecordingGuard {
            deny_all: true,
            ..RecordingGuard::default()
        },
    };
    for body in [
        rpc("initialize", "1", r#"{"protocolVersion":"2025-11-25"}"#),
        rpc("tools/list", "2", "{}"),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_string(),
    ] {
        assert_eq!(post(&closed, &body).status, 401, "{body}");
    }
}

#[test]
fn several_messages_share_one_connection() {
    let service = service();
    let mut input = Vec::new();
    for id in 1..=3 {
        input.extend(raw_request(
            "POST",
            &[ACCEPT_BOTH, JSON_BODY],
            &rpc("ping", &id.to_string(), "{}"),
        ));
    }
    input.extend(raw_request(
        "POST",
        &[ACCEPT_BOTH, JSON_BODY],
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    ));
    input.extend(raw_request("POST", &[ACCEPT_BOTH, JSON_BODY], "{bad"));
    input.extend(raw_request(
        "POST",
        &[ACCEPT_BOTH, JSON_BODY],
        &rpc("ping", "4", "{}"),
    ));
    let responses = exchange(&service, &input);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 202, 400, 200]);
    assert_eq!(responses[5].json()["id"], 4);
}

#[test]
fn damaged_messages_always_get_a_well_formed_answer() {
    let service = service();
    let message = r#"{"jsonrpc":"2.0","id":"a\"\u00e9","method":"tools/call","params":{"name":"deploy_stats","arguments":{"team":[1,-2.5e3,true,null,{"x":"\ud83d\ude80"}]}}}"#;
    let mut bodies: Vec<String> = (0..=message.len())
        .filter_map(|end| message.get(..end).map(str::to_string))
        .collect();
    for index in 0..message.len() {
        for replacement in ['"', '\\', '{', '}', '[', ']', ',', ':', '0', 'u'] {
            let mut bytes = message.as_bytes().to_vec();
            bytes[index] = replacement as u8;
            if let Ok(text) = String::from_utf8(bytes) {
                bodies.push(text);
            }
        }
    }
    let headers = [ACCEPT_BOTH, JSON_BODY, ("Authorization", "Bearer test")];
    for body in &bodies {
        let response = post_with(&service, &headers, body);
        match response.status {
            202 => assert!(response.body.is_empty()),
            200 | 400 => {
                let reply = response.json();
                assert_eq!(reply["jsonrpc"], "2.0", "{body}");
                assert!(reply.get("result").is_some() != reply.get("error").is_some());
            }
            other => panic!("{other} for {body}"),
        }
    }
    assert!(bodies.len() > 1000);
}

// ---- 2026-07-28: the stateless revision, next to the handshake versions ----

const SUPPORTED: [&str; 4] = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];
const MODERN: (&str, &str) = ("MCP-Protocol-Version", "2026-07-28");
const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}"#;

/// A request with the 2026-07-28 `_meta` envelope next to `members` of `params`.
fn modern_rpc(method: &str, id: &str, members: &str) -> String {
    let comma = if members.is_empty() { "" } else { "," };
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{{META}{comma}{members}}}}}"#
    )
}

/// POSTs with the transport headers, the modern version header and `extra`.
fn post_modern(service: &McpService, extra: &[(&str, &str)], body: &str) -> Response {
    let mut headers = vec![ACCEPT_BOTH, JSON_BODY, MODERN];
    headers.extend_from_slice(extra);
    post_with(service, &headers, body)
}

fn assert_modern_result(result: &Value) {
    assert_eq!(result["resultType"], "complete", "{result}");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"],
        json!({"name":"push-advisor-test","title":"Push Advisor (test)","version":"0.1.0"})
    );
}

#[test]
fn server_discover_names_versions_capabilities_and_identity() {
    let service = service();
    let response = post_modern(
        &service,
        &[("Mcp-Method", "server/discover")],
        &modern_rpc("server/discover", "\"d-1\"", ""),
    );
    let result = result_of(&response);
    assert_modern_result(&result);
    assert_eq!(result["supportedVersions"], json!(SUPPORTED));
    assert!(result["capabilities"]["tools"].is_object());
    assert_eq!(result["instructions"], "Ask before you push.");
    assert_eq!(
        (result["ttlMs"].as_u64(), &result["cacheScope"]),
        (Some(3_600_000), &json!("public"))
    );
    assert_eq!(response.json()["id"], "d-1");
    // A probe without the envelope (a client of an older revision) learns the same.
    let legacy = result_of(&post(&service, &rpc("server/discover", "2", "{}")));
    assert_eq!(legacy["supportedVersions"], json!(SUPPORTED));
    assert_eq!(*service.guard.seen.borrow(), vec![Access::Session; 2]);
}

#[test]
fn modern_tools_list_carries_cache_hints_in_a_fixed_order() {
    let service = service();
    let body = modern_rpc("tools/list", "2", "");
    let first = post_modern(&service, &[("Mcp-Method", "tools/list")], &body);
    let result = result_of(&first);
    assert_modern_result(&result);
    assert_eq!(result["ttlMs"], 3_600_000);
    assert_eq!(result["cacheScope"], "public");
    let names: Vec<&str> = result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["can_i_deploy", "deploy_stats"]);
    assert_eq!(
        result["tools"][0]["outputSchema"]["required"],
        json!(["answer", "reason"])
    );
    // Deterministic: the same bytes every time, also through a small transmit buffer.
    let request = raw_request(
        "POST",
        &[ACCEPT_BOTH, JSON_BODY, MODERN, ("Mcp-Method", "tools/list")],
        &body,
    );
    let again = exchange_with(&service, &request, 300);
    assert!(again[0].body.len() > 300);
    assert_eq!(again[0].body, first.body);
}

#[test]
fn modern_tool_results_are_complete_and_structured() {
    let service = service();
    let response = post_modern(
        &service,
        &[("Mcp-Method", "tools/call"), ("Mcp-Name", "can_i_deploy")],
        &modern_rpc("tools/call", "3", r#""name":"can_i_deploy","arguments":{}"#),
    );
    let result = result_of(&response);
    assert_modern_result(&result);
    assert_eq!(result["isError"], false);
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, result["structuredContent"]);
    assert_eq!(result["structuredContent"]["answer"], "yes");
    // A tool failure is a complete result too.
    let failed = result_of(&post_modern(
        &service,
        &[("Mcp-Method", "tools/call"), ("Mcp-Name", "can_i_deploy")],
        &modern_rpc(
            "tools/call",
            "4",
            r#""name":"can_i_deploy","arguments":{"x":1}"#,
        ),
    ));
    assert_modern_result(&failed);
    assert_eq!(failed["isError"], true);
    assert_eq!(service.tools.calls.get(), 1);
}

#[test]
fn request_headers_must_match_the_body() {
    let service = service();
    let call = modern_rpc("tools/call", "7", r#""name":"can_i_deploy""#);
    let escaped = modern_rpc("tools/call", "7", r#""name":"can\u005fi_deploy""#);
    let list = modern_rpc("tools/list", "7", "");
    // A name outside the header-safe set travels Base64-encoded (the spec's example).
    let unicode = modern_rpc("tools/call", "7", r#""name":"Hello, \u4e16界""#);
    // base64("can_i_deploy") = Y2FuX2lfZGVwbG95; base64("deploy_stats") = ZGVwbG95X3N0YXRz
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, u16);
    let cases: &[Case] = &[
        (
            &[ACCEPT_BOTH, JSON_BODY, MODERN, ("Mcp-Method", "tools/list")],
            &list,
            200,
        ),
        // Header names are case-insensitive.
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/list"),
            ],
            &list,
            200,
        ),
        // MCP-Protocol-Version missing, or naming another version than _meta.
        (
            &[ACCEPT_BOTH, JSON_BODY, ("Mcp-Method", "tools/list")],
            &list,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                ("MCP-Protocol-Version", "2025-11-25"),
                ("Mcp-Method", "tools/list"),
            ],
            &list,
            400,
        ),
        // Mcp-Method missing, different, or differently cased (values are case-sensitive).
        (&[ACCEPT_BOTH, JSON_BODY, MODERN], &list, 400),
        (
            &[ACCEPT_BOTH, JSON_BODY, MODERN, ("Mcp-Method", "tools/call")],
            &list,
            400,
        ),
        (
            &[ACCEPT_BOTH, JSON_BODY, MODERN, ("Mcp-Method", "Tools/List")],
            &list,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/list "),
            ],
            &list,
            200,
        ),
        // Mcp-Name: plain, escaped in the body, Base64 sentinel (padded or not).
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "can_i_deploy"),
            ],
            &call,
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "can_i_deploy"),
            ],
            &escaped,
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?Y2FuX2lfZGVwbG95?="),
            ],
            &call,
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?Y2FuX2lfZGVwbG95==?="),
            ],
            &call,
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            ],
            &unicode,
            200,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?SGVsbG8sIOS4lueV?="),
            ],
            &unicode,
            400,
        ),
        // Mcp-Name missing, another tool (plain or encoded), broken Base64, wrong sentinel case.
        (
            &[ACCEPT_BOTH, JSON_BODY, MODERN, ("Mcp-Method", "tools/call")],
            &call,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "deploy_stats"),
            ],
            &call,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?ZGVwbG95X3N0YXRz?="),
            ],
            &call,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?Y2FuX2lfZGVwbG9*?="),
            ],
            &call,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?base64?Y2FuX2lfZGVwbG95=x?="),
            ],
            &call,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "=?BASE64?Y2FuX2lfZGVwbG95?="),
            ],
            &call,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "can_i_deplo"),
            ],
            &call,
            400,
        ),
        (
            &[
                ACCEPT_BOTH,
                JSON_BODY,
                MODERN,
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "can_i_deploy_"),
            ],
            &call,
            400,
        ),
    ];
    for (headers, body, status) in cases {
        let response = post_with(&service, headers, body);
        assert_eq!(response.status, *status, "{headers:?}: {}", response.text());
        if *status == 400 {
            let (code, message, id) = error_of(&response);
            assert_eq!((code, id), (-32020, json!(7)), "{headers:?}");
            assert!(message.starts_with("Header mismatch"), "{message}");
        }
    }
    // Refused before the hook and before any tool ran.
    let answered = cases.iter().filter(|(_, _, s)| *s == 200).count();
    assert_eq!(service.guard.seen.borrow().len(), answered);
    assert_eq!(service.tools.calls.get(), 4);
}

#[test]
fn unsupported_versions_name_the_supported_ones() {
    let service = service();
    let body = modern_rpc("tools/list", "8", "").replace("2026-07-28", "1900-01-01");
    let response = post_with(
        &service,
        &[
            ACCEPT_BOTH,
            JSON_BODY,
            ("MCP-Protocol-Version", "1900-01-01"),
            ("Mcp-Method", "tools/list"),
        ],
        &body,
    );
    assert_eq!(response.status, 400);
    let error = &response.json()["error"];
    assert_eq!(error["code"], -32022);
    assert_eq!(
        error["data"],
        json!({"supported": SUPPORTED, "requested": "1900-01-01"})
    );
    assert_eq!(response.json()["id"], 8);
    // The modern header on a body without the envelope is a mismatch, not a fallback.
    let response = post_modern(
        &service,
        &[("Mcp-Method", "tools/list")],
        &rpc("tools/list", "9", "{}"),
    );
    assert_eq!((response.status, error_of(&response).0), (400, -32020));
    assert!(service.guard.seen.borrow().is_empty());
    // A version given twice is refused: two readers could disagree on which counts.
    let twice = r#"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}"#;
    let response = post_modern(&service, &[("Mcp-Method", "tools/list")], twice);
    assert_eq!(error_of(&response).0, -32602);
}

#[test]
fn modern_unknown_methods_get_404() {
    let service = service();
    // Removed by the revision (initialize, ping) or never offered here.
    for method in [
        "resources/list",
        "initialize",
        "ping",
        "subscriptions/listen",
    ] {
        let response = post_modern(
            &service,
            &[("Mcp-Method", method)],
            &modern_rpc(method, "10", ""),
        );
        assert_eq!(response.status, 404, "{method}");
        let (code, message, id) = error_of(&response);
        assert_eq!((code, id), (-32601, json!(10)), "{method}");
        assert!(message.contains(method), "{message}");
    }
    // The handshake era keeps answering an unknown method in the body, with 200.
    let response = post(&service, &rpc("resources/list", "11", "{}"));
    assert_eq!((response.status, error_of(&response).0), (200, -32601));
}

#[test]
fn session_and_resumption_headers_are_ignored() {
    let service = service();
    let ignored = [("Mcp-Session-Id", "stale-session"), ("Last-Event-ID", "42")];
    let mut headers = vec![("Mcp-Method", "tools/list")];
    headers.extend_from_slice(&ignored);
    let response = post_modern(&service, &headers, &modern_rpc("tools/list", "12", ""));
    assert_modern_result(&result_of(&response));
    assert!(response.header("mcp-session-id").is_none());
    let mut legacy = vec![ACCEPT_BOTH, JSON_BODY];
    legacy.extend_from_slice(&ignored);
    let response = post_with(&service, &legacy, &rpc("tools/list", "13", "{}"));
    assert!(result_of(&response)["tools"].is_array());
    assert!(response.header("mcp-session-id").is_none());
    for method in ["GET", "DELETE"] {
        let responses = exchange(
            &service,
            &raw_request(method, &[ACCEPT_BOTH, MODERN, ignored[0], ignored[1]], ""),
        );
        assert_eq!(responses[0].status, 405, "{method}");
    }
}

#[test]
fn both_eras_are_served_side_by_side() {
    let service = service();
    let initialize = rpc("initialize", "1", r#"{"protocolVersion":"2025-11-25"}"#);
    assert_eq!(
        result_of(&post(&service, &initialize))["protocolVersion"],
        "2025-11-25"
    );
    // Handshake-era results stay as they were: no resultType, no cache hints; a
    // `_meta` without a version (a progress token) does not make a request modern.
    let legacy_headers = [
        ACCEPT_BOTH,
        JSON_BODY,
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    for body in [
        rpc("tools/list", "2", "{}"),
        rpc("tools/list", "3", r#"{"_meta":{"progressToken":1}}"#),
    ] {
        let result = result_of(&post_with(&service, &legacy_headers, &body));
        assert!(
            result.get("resultType").is_none() && result.get("ttlMs").is_none(),
            "{result}"
        );
        assert!(result.get("_meta").is_none());
    }
    let modern = result_of(&post_modern(
        &service,
        &[("Mcp-Method", "tools/list")],
        &modern_rpc("tools/list", "4", ""),
    ));
    assert_eq!(modern["resultType"], "complete");
    // The modern envelope on a notification is accepted like any notification.
    let note = format!(
        r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{{META},"requestId":4}}}}"#
    );
    let response = post_modern(
        &service,
        &[("Mcp-Method", "notifications/cancelled")],
        &note,
    );
    assert_eq!(response.status, 202);
}

#[test]
fn modern_protected_tools_still_ask_the_hook() {
    let service = service();
    let headers = [("Mcp-Method", "tools/call"), ("Mcp-Name", "deploy_stats")];
    let body = modern_rpc(
        "tools/call",
        "5",
        r#""name":"deploy_stats","arguments":{"team":"core"}"#,
    );
    let refused = post_modern(&service, &headers, &body);
    assert_eq!(refused.status, 401);
    assert!(refused.header("www-authenticate").is_some());
    assert_eq!(service.tools.calls.get(), 0);
    let mut with_token = headers.to_vec();
    with_token.push(("Authorization", "Bearer test"));
    let result = result_of(&post_modern(&service, &with_token, &body));
    assert_modern_result(&result);
    assert_eq!(
        result["structuredContent"]["arguments"],
        json!({"team":"core"})
    );
    let protected = Access::Tool {
        name: "deploy_stats",
        scope: "api:read",
    };
    assert_eq!(*service.guard.seen.borrow(), vec![protected; 2]);
}
