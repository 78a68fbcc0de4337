//! MCP over the whole app: any body POSTed to `/mcp` with a valid (demo) token gets one
//! answer; a 200 carries one JSON-RPC 2.0 message that serde_json reads, echoing the id
//! byte for byte. `rpc::classify` alone only hands back pieces of the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use push_advisor_fuzz::serve_input;
use push_advisor_fuzz::support::parse_responses;
use push_advisor_fuzz::within;
use push_advisor_http::json;
use push_advisor_mcp::rpc::{Message, classify};

fuzz_target!(|body: &[u8]| {
    let id = match classify(body) {
        Ok(Message::Request { id, method, .. }) => {
            assert!(within(body, id.as_bytes()) && within(body, method.raw().as_bytes()));
            Some(id)
        }
        Ok(_) => None,
        Err(rejected) => {
            assert!(rejected.id.is_none_or(|id| within(body, id.as_bytes())));
            None
        }
    };
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nAuthorization: Bearer demo_token_fuzz\r\n\
         Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let output = serve_input(&request, usize::MAX);
    let responses = parse_responses(&output, &[false]);
    assert_eq!(responses.len(), 1, "{}", String::from_utf8_lossy(&output));
    let response = &responses[0];
    if response.status == 200 {
        // The id comes back byte for byte; serde_json reads the rest (with the id set
        // aside: a valid JSON number such as `1e999` is beyond what serde_json reads).
        let text = response.text();
        if let Some(id) = id {
            let echoed = format!("\"id\":{id},");
            assert!(text.contains(&echoed), "id not echoed: {text}");
        }
        let text = id.map_or(text.to_string(), |id| {
            text.replacen(&format!("\"id\":{id},"), "\"id\":0,", 1)
        });
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(message) => assert_eq!(message["jsonrpc"], "2.0"),
            // Echoed text the client sent (a method name) may hold an escaped lone
            // surrogate: valid JSON syntax that serde_json refuses to decode.
            Err(e) if e.to_string().contains("surrogate") => {
                assert!(json::parse(&text).is_ok(), "answer is not JSON: {text}")
            }
            Err(e) => panic!("answer is not JSON ({e}): {text}"),
        }
    } else {
        assert!(
            [202, 400, 413].contains(&response.status),
            "status {}: {}",
            response.status,
            response.text()
        );
    }
});
