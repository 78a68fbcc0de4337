//! The connection loop and the public Push Advisor routes, driven through `serve`
//! over an in-memory connection.

mod support;

use embassy_futures::block_on;
use push_advisor_app::content::VIBES;
use push_advisor_http::Limits;
use push_advisor_http::server::{Ended, serve};
use push_advisor_http::{Buffers, ServerConfig};
use support::app::{App, ISSUER, RESOURCE, oauth_config, wired};
use support::{MONDAY_NOON, MemConn, Response, parse_responses};

fn app_at(unix: Option<u64>) -> &'static App {
    wired(unix, &[], false, oauth_config(false)).app
}

struct Run {
    responses: Vec<Response>,
    ended: Ended,
    reads: usize,
}

fn run_with(
    app: &App,
    config: &ServerConfig<'_>,
    input: &[u8],
    chunk: usize,
    heads: &[bool],
) -> Run {
    let mut conn = MemConn::chunked(input, chunk);
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    let ended = block_on(serve(
        &mut conn,
        app,
        config,
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
    ))
    .unwrap();
    Run {
        responses: parse_responses(&conn.output, heads),
        ended,
        reads: conn.reads,
    }
}

fn run(input: &[u8]) -> Run {
    run_with(
        app_at(Some(MONDAY_NOON)),
        &ServerConfig::default(),
        input,
        usize::MAX,
        &[],
    )
}

fn one(input: &[u8]) -> Response {
    let mut run = run(input);
    assert_eq!(run.responses.len(), 1, "expected one response");
    run.responses.remove(0)
}

fn get(path: &str) -> Response {
    one(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
}

#[test]
fn vibe_check_draws_from_the_ten_vibes() {
    let mut seen = std::collections::HashSet::new();
    let mut answers = std::collections::HashSet::new();
    let input = "GET /vibe-check HTTP/1.1\r\nHost: t\r\n\r\n".repeat(200);
    let run = run(input.as_bytes());
    assert_eq!(run.responses.len(), 200);
    for response in &run.responses {
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body = response.json();
        let vibe = body["vibe"].as_str().unwrap().to_string();
        assert!(VIBES.contains(&vibe.as_str()), "unknown vibe {vibe}");
        answers.insert(body["answer"].as_str().unwrap().to_string());
        assert_eq!(body.as_object().unwrap().len(), 2);
        seen.insert(vibe);
    }
    assert_eq!(seen.len(), 10, "200 draws should show every vibe");
    assert_eq!(answers.len(), 2);
}

#[test]
fn push_verdict_follows_the_utc_weekday() {
    let expectations = [
        (
            0,
            "yes",
            "It's Monday! Safe to deploy to production 🚀",
            "Monday",
        ),
        (
            3,
            "yes",
            "It's Thursday! Safe to deploy to production 🚀",
            "Thursday",
        ),
        (
            4,
            "no",
            "It's Friday! Don't deploy before the weekend 🙅‍♂️",
            "Friday",
        ),
        (
            5,
            "no",
            "It's Saturday! Weekend deployments are risky 🛑",
            "Saturday",
        ),
        (
            6,
            "no",
            "It's Sunday! Weekend deployments are risky 🛑",
            "Sunday",
        ),
    ];
    for (days, answer, reason, day) in expectations {
        let app = app_at(Some(MONDAY_NOON + days * 86_400));
        let run = run_with(
            app,
            &ServerConfig::default(),
            b"GET /can-i-push-to-prod HTTP/1.1\r\nHost: t\r\n\r\n",
            usize::MAX,
            &[],
        );
        let body = run.responses[0].json();
        assert_eq!(
            body,
            serde_json::json!({"answer": answer, "reason": reason, "day": day})
        );
    }
}

#[test]
fn push_verdict_is_503_while_wall_time_is_unknown() {
    let app = app_at(None);
    let run = run_with(
        app,
        &ServerConfig::default(),
        b"GET /can-i-push-to-prod HTTP/1.1\r\nHost: t\r\n\r\n",
        usize::MAX,
        &[],
    );
    let response = &run.responses[0];
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("5"));
    assert_eq!(response.json()["error"], "Wall time unknown");
}

#[test]
fn root_and_index_documents() {
    let root = get("/").json();
    assert_eq!(root["message"], "Welcome to the Push Decision API! 🚀");
    assert!(root["endpoints"]["/vibe-check"].is_string());
    let index = get("/index").json();
    assert_eq!(index["version"], "1.0.0");
    assert!(index["usage"].is_object());
    assert!(
        index["endpoints"]["/deploy-history"]
            .as_str()
            .unwrap()
            .contains("OAuth")
    );
}

#[test]
fn openapi_names_operations_and_the_configured_provider() {
    let response = get("/openapi.json");
    assert_eq!(response.status, 200);
    assert!(
        response.body.len() > 1024,
        "large enough to need several transmit windows"
    );
    let doc = response.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], RESOURCE);
    let flow = &doc["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], format!("{ISSUER}/auth"));
    assert_eq!(flow["tokenUrl"], format!("{ISSUER}/token"));
    for (path, id) in [
        ("/can-i-push-to-prod", "can_i_push_to_prod"),
        ("/vibe-check", "vibe_check"),
        ("/deploy-history", "get_deploy_history"),
    ] {
        let op = &doc["paths"][path]["get"];
        assert_eq!(op["operationId"], id);
        assert_eq!(op["x-gram"]["name"], id);
        assert!(op["responses"]["200"]["content"]["application/json"]["schema"].is_object());
    }
    assert_eq!(
        doc["paths"]["/deploy-history"]["get"]["security"],
        serde_json::json!([{"oauth2": ["api:read"]}])
    );
    assert!(doc["paths"]["/deploy-history"]["get"]["responses"]["401"].is_object());
}

#[test]
fn unknown_path_is_404_json() {
    let response = get("/nope");
    assert_eq!(response.status, 404);
    assert_eq!(response.json(), serde_json::json!({"error": "Not found"}));
    assert_eq!(
        one(b"OPTIONS /nope HTTP/1.1\r\nHost: t\r\n\r\n").status,
        404,
        "no preflight on unknown paths"
    );
}

#[test]
fn wrong_method_is_405_with_allow() {
    let response = one(b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD, OPTIONS"));
    let response = one(b"BREW /vibe-check HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(response.status, 405);
}

#[test]
fn cors_preflight_and_headers() {
    let response = one(b"OPTIONS /vibe-check HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n\r\n");
    assert_eq!(response.status, 204);
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, HEAD, OPTIONS")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("Authorization, Content-Type, MCP-Protocol-Version, Mcp-Method, Mcp-Name")
    );
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert!(response.body.is_empty());
    let response = get("/vibe-check");
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("WWW-Authenticate")
    );
}

#[test]
fn cors_with_configured_origins_echoes_only_allowed_ones() {
    let origins = ["https://app.example"];
    let config = ServerConfig {
        allowed_origins: &origins,
        ..ServerConfig::default()
    };
    let app = app_at(Some(MONDAY_NOON));
    let input = b"GET /vibe-check HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\nGET /vibe-check HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n\r\n";
    let run = run_with(app, &config, input, usize::MAX, &[]);
    assert_eq!(
        run.responses[0].header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(run.responses[0].header("vary"), Some("Origin"));
    assert_eq!(run.responses[1].header("access-control-allow-origin"), None);
    assert_eq!(run.responses[1].status, 200);
}

#[test]
fn keep_alive_by_default_and_pipelined_in_order() {
    let input = b"GET /vibe-check HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nGET /index HTTP/1.1\r\nHost: t\r\n\r\n";
    let run = run(input);
    let statuses: Vec<u16> = run.responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 404, 200]);
    assert!(
        run.responses
            .iter()
            .all(|r| r.header("connection").is_none())
    );
    assert_eq!(run.ended, Ended::PeerClosed);
}

#[test]
fn connection_close_is_honoured() {
    let input = b"GET /vibe-check HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /vibe-check HTTP/1.1\r\nHost: t\r\n\r\n";
    let run = run(input);
    assert_eq!(run.responses.len(), 1, "nothing after Connection: close");
    assert_eq!(run.responses[0].header("connection"), Some("close"));
    assert_eq!(run.ended, Ended::Closed);
}

#[test]
fn http_1_0_closes_unless_keep_alive_is_asked() {
    let run1 = run(b"GET /vibe-check HTTP/1.0\r\n\r\nGET /vibe-check HTTP/1.0\r\n\r\n");
    assert_eq!(run1.responses.len(), 1);
    assert_eq!(run1.ended, Ended::Closed);
    let run2 = run(b"GET /vibe-check HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /vibe-check HTTP/1.0\r\n\r\n");
    assert_eq!(run2.responses.len(), 2);
    assert_eq!(run2.responses[1].header("connection"), Some("close"));
}

#[test]
fn head_sends_headers_without_body() {
    let app = app_at(Some(MONDAY_NOON));
    let input = b"HEAD /openapi.json HTTP/1.1\r\nHost: t\r\n\r\nHEAD /vibe-check HTTP/1.1\r\nHost: t\r\n\r\nGET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n";
    let run = run_with(
        app,
        &ServerConfig::default(),
        input,
        usize::MAX,
        &[true, true, false],
    );
    assert_eq!(
        run.responses.len(),
        3,
        "HEAD bodies would desynchronise the stream"
    );
    let full_len = run.responses[2].body.len().to_string();
    assert_eq!(
        run.responses[0].header("content-length"),
        Some(full_len.as_str())
    );
    assert_eq!(run.responses[1].status, 200);
}

#[test]
fn request_split_across_many_small_reads() {
    let app = app_at(Some(MONDAY_NOON));
    let input = b"GET /can-i-push-to-prod?verbose=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: a-slow-client\r\n\r\nGET /vibe-check HTTP/1.1\r\nHost: t\r\n\r\n";
    let run = run_with(app, &ServerConfig::default(), input, 1, &[]);
    assert!(run.reads > input.len(), "one byte per read");
    assert_eq!(run.responses.len(), 2);
    assert_eq!(
        run.responses[0].json()["day"],
        "Monday",
        "query strings are ignored by routing"
    );
}

fn status_of(input: &[u8]) -> (u16, Response) {
    let run = run(input);
    assert_eq!(
        run.responses.len(),
        1,
        "a refused request closes the connection"
    );
    assert_eq!(run.ended, Ended::Closed);
    let response = run.responses.into_iter().next().unwrap();
    assert_eq!(response.header("connection"), Some("close"));
    (response.status, response)
}

#[test]
fn malformed_requests_are_400() {
    for input in [
        &b"GET /vibe-check HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET vibe-check HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /vibe-check HTTP/1.1\r\n\r\n",
        b"GET /vibe-check HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd",
        b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /vibe-check HTTP/1.1\r\nHost: t\r\nExpect: something\r\n\r\n",
    ] {
        let (status, response) = status_of(input);
        assert_eq!(status, 400, "for {:?}", String::from_utf8_lossy(input));
        assert_eq!(response.json()["error"], "Malformed request");
    }
}

#[test]
fn identical_repeated_content_lengths_are_accepted() {
    let response = one(b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: 2, 2\r\n\r\nab");
    assert_eq!(response.status, 405, "framing accepted, then routed");
}

#[test]
fn limit_statuses() {
    assert_eq!(
        status_of(b"POST /vibe-check HTTP/1.1\r\nHost: t\r\n\r\n").0,
        411
    );
    // Changed: a chunked body used to be refused with 411; it is decoded now
    // (RFC 9112 §7.1), so the request is routed like any other.
    assert_eq!(
        one(b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            .status,
        405
    );
    assert_eq!(
        status_of(
            b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        )
        .0,
        501
    );
    assert_eq!(
        status_of(b"POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: 999999\r\n\r\n").0,
        413
    );
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(600));
    assert_eq!(status_of(long_target.as_bytes()).0, 414);
    let endless_target = format!("GET /{}", "a".repeat(1500));
    assert_eq!(
        status_of(endless_target.as_bytes()).0,
        414,
        "refused before the line ends"
    );
    let many_headers: String = (0..30).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(
        status_of(format!("GET / HTTP/1.1\r\nHost: t\r\n{many_headers}\r\n").as_bytes()).0,
        431
    );
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(3000)
    );
    assert_eq!(status_of(huge_header.as_bytes()).0, 431);
    assert_eq!(status_of(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n").0, 505);
}

#[test]
fn configurable_limits_apply() {
    let config = ServerConfig {
        limits: Limits {
            max_headers: 4,
            max_target_len: 16,
            max_head_bytes: 256,
            max_body_bytes: 8,
        },
        ..ServerConfig::default()
    };
    let app = app_at(Some(MONDAY_NOON));
    let status =
        |input: &str| run_with(app, &config, input.as_bytes(), usize::MAX, &[]).responses[0].status;
    assert_eq!(
        status("GET /vibe-check?abcdefgh HTTP/1.1\r\nHost: t\r\n\r\n"),
        414
    );
    assert_eq!(
        status("GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"),
        431
    );
    assert_eq!(
        status("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n123456789"),
        413
    );
    assert_eq!(
        status("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\n12345678"),
        405
    );
}

/// The default configuration with another bound on request bodies.
fn body_limit(max_body_bytes: usize) -> ServerConfig<'static> {
    ServerConfig {
        limits: Limits {
            max_body_bytes,
            ..Limits::default()
        },
        ..ServerConfig::default()
    }
}

#[test]
fn body_larger_than_the_buffer_is_413() {
    let config = body_limit(100_000);
    let app = app_at(Some(MONDAY_NOON));
    let run = run_with(
        app,
        &config,
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n",
        usize::MAX,
        &[],
    );
    assert_eq!(run.responses[0].status, 413);
}

/// A POST to `/mcp` whose body is sent in the given chunks, with an extension on the
/// first chunk and a trailer after the last.
fn chunked_mcp(chunks: &[&str]) -> String {
    let mut request = String::from(
        "POST /mcp HTTP/1.1\r\nHost: t\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for (index, chunk) in chunks.iter().enumerate() {
        let extension = if index == 0 { ";note=\"first\"" } else { "" };
        request += &format!("{:x}{extension}\r\n{chunk}\r\n", chunk.len());
    }
    request + "0\r\nX-Checksum: none\r\n\r\n"
}

const CALL_VIBE: [&str; 3] = [
    r#"{"jsonrpc":"2.0","id":7,"#,
    r#""method":"tools/call","params":"#,
    r#"{"name":"vibe_check"}}"#,
];

/// Runs `input` in reads of `read_size` bytes against the app with MCP's lazy auth, so
/// a public tool answers without a token.
fn run_lazy_mcp(input: &str, read_size: usize) -> Run {
    let app = wired(Some(MONDAY_NOON), &[], true, oauth_config(false)).app;
    run_with(
        app,
        &ServerConfig::default(),
        input.as_bytes(),
        read_size,
        &[],
    )
}

#[test]
fn sized_post_in_one_byte_reads_reaches_the_handler_then_the_next_request() {
    let body = CALL_VIBE.concat();
    let input = format!(
        "POST /mcp HTTP/1.1\r\nHost: t\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}GET /vibe-check HTTP/1.1\r\nHost: t\r\n\r\n",
        body.len()
    );
    for read_size in [usize::MAX, 3, 1] {
        let run = run_lazy_mcp(&input, read_size);
        assert_eq!(run.responses.len(), 2, "read size {read_size}");
        assert_eq!(run.responses[0].status, 200, "{}", run.responses[0].text());
        assert_eq!(run.responses[0].json()["id"], 7, "the whole body arrived");
        assert_eq!(
            run.responses[1].status, 200,
            "the pipelined request after it"
        );
        assert!(run.responses[1].json()["vibe"].is_string());
    }
}

#[test]
fn chunked_post_reaches_the_handler_with_its_body() {
    let input = chunked_mcp(&CALL_VIBE);
    for read_size in [usize::MAX, 7, 1] {
        let run = run_lazy_mcp(&input, read_size);
        assert_eq!(run.responses.len(), 1);
        let response = &run.responses[0];
        assert_eq!(response.status, 200, "{}", response.text());
        let reply = response.json();
        assert_eq!(reply["id"], 7, "the handler read the whole decoded body");
        assert!(reply["result"]["structuredContent"]["vibe"].is_string());
        assert_eq!(run.ended, Ended::PeerClosed, "the connection stays open");
    }
}

#[test]
fn pipelined_request_after_a_chunked_one_is_answered() {
    let input = chunked_mcp(&CALL_VIBE) + "GET /vibe-check HTTP/1.1\r\nHost: t\r\n\r\n";
    for read_size in [usize::MAX, 5] {
        let run = run_lazy_mcp(&input, read_size);
        let statuses: Vec<u16> = run.responses.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [200, 200]);
        assert_eq!(run.responses[0].json()["id"], 7);
        assert!(run.responses[1].json()["vibe"].is_string());
    }
}

#[test]
fn chunked_bodies_past_the_limits_are_413() {
    let config = body_limit(64);
    let app = app_at(Some(MONDAY_NOON));
    let answer = |input: String| {
        let run = run_with(app, &config, input.as_bytes(), usize::MAX, &[]);
        (run.responses[0].status, run.ended)
    };
    let head = "POST /vibe-check HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    let eight = "8\r\n12345678\r\n";
    assert_eq!(
        answer(format!("{head}41\r\n")),
        (413, Ended::Closed),
        "a chunk over the limit is refused before its data"
    );
    assert_eq!(
        answer(format!("{head}{}", eight.repeat(9))),
        (413, Ended::Closed),
        "chunks whose sum is over the limit"
    );
    assert_eq!(
        answer(format!("{head}{}0\r\n\r\n", eight.repeat(8))),
        (405, Ended::PeerClosed),
        "exactly the limit: framing accepted, then routed"
    );
    // The default limit is above what the 2 KiB receive buffer can hold.
    let chunk = format!("100\r\n{}\r\n", "x".repeat(256));
    let waiting = run(format!("{head}{chunk}").as_bytes());
    assert!(
        waiting.responses.is_empty(),
        "an unfinished body is waited for"
    );
    let (status, _) = status_of(format!("{head}{}", chunk.repeat(8)).as_bytes());
    assert_eq!(status, 413, "more body than the buffer holds");
}

#[test]
fn malformed_chunked_bodies_are_400() {
    let head = "POST /mcp HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    // Bad hex, data longer than its size, a bare LF: the decoder's tests have the rest.
    for body in ["zz\r\n", "2\r\nabc\r\n0\r\n\r\n", "2\nab\r\n"] {
        let (status, response) = status_of(format!("{head}{body}").as_bytes());
        assert_eq!(status, 400, "for {body:?}");
        assert_eq!(response.json()["error"], "Malformed request");
    }
    let trailers = format!("X-Pad: {}\r\n", "p".repeat(100)).repeat(50);
    assert_eq!(
        status_of(format!("{head}0\r\n{trailers}\r\n").as_bytes()).0,
        431,
        "trailers count as header fields"
    );
}

#[test]
fn expect_continue_gets_an_interim_response() {
    let head =
        "POST /vibe-check HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    let mut conn = MemConn::chunked(format!("{head}body").as_bytes(), head.len());
    let app = app_at(Some(MONDAY_NOON));
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    block_on(serve(
        &mut conn,
        app,
        &ServerConfig::default(),
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
    ))
    .unwrap();
    let text = String::from_utf8_lossy(&conn.output);
    assert!(
        text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 405"),
        "{text}"
    );
}

#[test]
fn expect_continue_before_a_chunked_body() {
    let head = "POST /vibe-check HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n";
    let mut conn = MemConn::chunked(
        format!("{head}4\r\nbody\r\n0\r\n\r\n").as_bytes(),
        head.len(),
    );
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    let buffers = Buffers {
        rx: &mut rx,
        tx: &mut tx,
    };
    let app = app_at(Some(MONDAY_NOON));
    block_on(serve(&mut conn, app, &ServerConfig::default(), buffers)).unwrap();
    let text = String::from_utf8_lossy(&conn.output);
    assert!(
        text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 405"),
        "{text}"
    );
}

#[test]
fn eof_mid_request_ends_quietly() {
    let run = run(b"GET /vibe-check HTTP/1.1\r\nHo");
    assert!(run.responses.is_empty());
    assert_eq!(run.ended, Ended::PeerClosed);
}

/// Records every status the engine reports through `Service::responded`.
struct Recorded<'a> {
    inner: &'a App,
    statuses: std::cell::RefCell<Vec<(String, u16)>>,
}

impl push_advisor_http::Service for Recorded<'_> {
    type Route = push_advisor_app::Route;

    fn route(&self, path: &str) -> Option<(Self::Route, push_advisor_http::MethodSet)> {
        self.inner.route(path)
    }

    async fn call<W: embedded_io_async::Write>(
        &self,
        route: Self::Route,
        request: &push_advisor_http::Request<'_>,
        response: push_advisor_http::Responder<'_, W>,
    ) -> Result<push_advisor_http::Sent, push_advisor_http::response::WriteError<W::Error>> {
        self.inner.call(route, request, response).await
    }

    fn responded(&self, request: &push_advisor_http::Request<'_>, status: u16) {
        self.statuses
            .borrow_mut()
            .push((request.path.to_owned(), status));
    }

    fn refused(&self, error: push_advisor_http::RequestError) {
        self.statuses
            .borrow_mut()
            .push(("(refused)".to_owned(), error.status().code));
    }
}

#[test]
fn every_answered_request_is_reported_for_access_logs() {
    let recorded = Recorded {
        inner: app_at(Some(MONDAY_NOON)),
        statuses: Default::default(),
    };
    let input = b"GET /vibe-check?x=secret HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nPOST /index HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\nOPTIONS /index HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut conn = MemConn::new(input);
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 1024];
    block_on(serve(
        &mut conn,
        &recorded,
        &ServerConfig::default(),
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
    ))
    .unwrap();
    let seen = recorded.statuses.borrow().clone();
    let expected: Vec<(String, u16)> = [
        ("/vibe-check", 200),
        ("/nope", 404),
        ("/index", 405),
        ("/index", 204),
    ]
    .iter()
    .map(|(p, s)| (p.to_string(), *s))
    .collect();
    assert_eq!(
        seen, expected,
        "paths without their query strings, with the status sent"
    );
}

#[test]
fn refused_requests_are_reported_too() {
    let recorded = Recorded {
        inner: app_at(Some(MONDAY_NOON)),
        statuses: Default::default(),
    };
    let config = ServerConfig::default();
    for (input, status) in [
        (
            &b"GET /vibe-check HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n"[..],
            400,
        ),
        (
            b"POST /mcp HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
        ),
        (
            b"POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Length: 9999\r\n\r\n",
            413,
        ),
    ] {
        let mut conn = MemConn::new(input);
        let mut rx = [0u8; 2048];
        let mut tx = [0u8; 1024];
        let buffers = Buffers {
            rx: &mut rx,
            tx: &mut tx,
        };
        block_on(serve(&mut conn, &recorded, &config, buffers)).unwrap();
        let last = recorded.statuses.borrow().last().cloned();
        assert_eq!(last, Some(("(refused)".to_owned(), status)));
    }
    assert_eq!(
        recorded.statuses.borrow().len(),
        3,
        "one report per refusal"
    );
}
