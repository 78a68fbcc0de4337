//! What every row of the route table promises, checked row by row through `serve`: a
//! new row gets these tests without writing them again. A protected row is refused
//! without a token (401) and with a token lacking its scope (403), and answered with
//! it; every row's `Allow` set is its methods; `/`, `/index`, the OpenAPI paths and
//! `tools/list` show exactly the rows that ask to be shown.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use push_advisor_app::routes::{Access, ROUTES, RouteSpec};
use push_advisor_http::MethodSet;
use serde_json::{Value, json};
use support::app::{ISSUER, RESOURCE, Wired, exchange, oauth_config, wired};
use support::{MONDAY_NOON, Response, introspection_reply};

fn app() -> Wired {
    wired(Some(MONDAY_NOON), &[], false, oauth_config(false))
}

/// A token not seen before (so no cached answer is reused), with the provider's
/// introspection answer for it queued: audience `audience`, scopes `scope`.
fn fresh_token(wired: &Wired, audience: &str, scope: &str) -> String {
    static ISSUED: AtomicUsize = AtomicUsize::new(0);
    wired.connector.push(&introspection_reply(&format!(
        r#"{{"active":true,"exp":{},"iss":"{ISSUER}","aud":"{audience}","scope":"{scope}","token_type":"Bearer","sub":"alice"}}"#,
        MONDAY_NOON + 300
    )));
    format!("token-{}", ISSUED.fetch_add(1, Ordering::Relaxed))
}

/// One request through `serve`, and its one response.
fn send(wired: &Wired, request: &str) -> Response {
    let mut responses = exchange(wired, &[request.to_string()]);
    assert_eq!(responses.len(), 1, "{request}");
    responses.remove(0)
}

/// A request with a fresh token carrying `scope`.
fn with_token(wired: &Wired, method: &str, path: &str, scope: &str) -> Response {
    let token = fresh_token(wired, RESOURCE, scope);
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n"
    );
    send(wired, &request)
}

fn without_token(wired: &Wired, method: &str, path: &str) -> Response {
    let request = format!("{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    send(wired, &request)
}

fn scope_of(row: &RouteSpec) -> Option<&'static str> {
    match row.access {
        Access::Public => None,
        Access::Scope(scope) => Some(scope),
    }
}

#[test]
fn other_methods_get_405_with_the_rows_methods_as_allow() {
    let wired = app();
    for row in ROUTES {
        let refused = without_token(&wired, "DELETE", row.path);
        assert_eq!(refused.status, 405, "{}", row.path);
        assert_eq!(
            refused.header("allow"),
            Some(row.methods.list()),
            "{}",
            row.path
        );
    }
}

#[test]
fn a_protected_row_is_answered_only_for_its_scope() {
    let wired = app();
    for row in ROUTES {
        let Some(scope) = scope_of(row) else {
            continue;
        };
        let missing = without_token(&wired, "GET", row.path);
        assert_eq!(missing.status, 401, "{}", row.path);
        let challenge = missing.header("www-authenticate").unwrap();
        assert!(
            challenge.ends_with(&format!("scope=\"{scope}\"")),
            "{challenge}"
        );
        assert_eq!(missing.json()["required_scopes"], json!([scope]));
        let lacking = with_token(&wired, "GET", row.path, "some:other");
        assert_eq!(lacking.status, 403, "{}", row.path);
        assert!(
            lacking
                .header("www-authenticate")
                .unwrap()
                .contains("error=\"insufficient_scope\"")
        );
        let granted = with_token(&wired, "GET", row.path, scope);
        assert_eq!(granted.status, 200, "{}: {}", row.path, granted.text());
        // An answer for one caller is not for shared caches.
        assert_eq!(granted.header("cache-control"), Some("no-store"));
    }
}

#[test]
fn a_public_row_needs_no_token() {
    let wired = app();
    for row in ROUTES.iter().filter(|row| row.methods == MethodSet::GET) {
        if scope_of(row).is_none() {
            let status = without_token(&wired, "GET", row.path).status;
            // `/token` without a login answer is 400; nothing public asks for a token.
            assert!(![401, 403, 404].contains(&status), "{}: {status}", row.path);
        }
    }
}

/// `{path: line}` of the rows that have a line, in table order.
fn listing(line: impl Fn(&RouteSpec) -> Option<&'static str>) -> Value {
    let lines = ROUTES
        .iter()
        .filter_map(|row| Some((row.path.to_string(), json!(line(row)?))));
    Value::Object(lines.collect())
}

#[test]
fn root_and_index_list_the_rows_that_ask_for_it() {
    let wired = app();
    let root = without_token(&wired, "GET", "/").json();
    assert_eq!(root["endpoints"], listing(|row| row.root));
    let index = without_token(&wired, "GET", "/index").json();
    assert_eq!(index["endpoints"], listing(|row| row.index));
    let usage = ROUTES.iter().filter_map(|row| row.usage);
    let usage: serde_json::Map<String, Value> = usage
        .map(|(label, example)| (label.to_string(), json!(example)))
        .collect();
    assert_eq!(index["usage"], Value::Object(usage));
    // Key order is table order (serde_json keeps insertion order only with a feature).
    let keys: Vec<&str> = ROUTES
        .iter()
        .filter(|row| row.index.is_some())
        .map(|row| row.path)
        .collect();
    let text = without_token(&wired, "GET", "/index").text().to_string();
    let positions: Vec<usize> = keys
        .iter()
        .map(|path| text.find(&format!("\"{path}\":")).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{positions:?}");
}

#[test]
#[cfg(feature = "openapi")]
fn openapi_documents_the_rows_with_an_operation() {
    let wired = app();
    let doc = without_token(&wired, "GET", "/openapi.json").json();
    let paths = doc["paths"].as_object().unwrap();
    let documented: Vec<&RouteSpec> = ROUTES.iter().filter(|r| r.operation.is_some()).collect();
    assert_eq!(paths.len(), documented.len());
    for row in documented {
        let operation = row.operation.unwrap();
        let get = &paths[row.path]["get"];
        assert_eq!(get["operationId"], operation.id);
        assert_eq!(get["x-gram"]["name"], operation.gram_name);
        assert_eq!(get["summary"], operation.summary);
        assert_eq!(get["description"], operation.description);
        let schema: Value = serde_json::from_str(operation.answer.schema).unwrap();
        let ok = &get["responses"]["200"];
        assert_eq!(ok["description"], operation.answer.description);
        assert_eq!(ok["content"]["application/json"]["schema"], schema);
        match scope_of(row) {
            Some(scope) => {
                assert_eq!(get["security"], json!([{"oauth2": [scope]}]));
                for status in ["401", "403", "503"] {
                    assert!(get["responses"][status].is_object(), "{status}");
                }
            }
            None => assert_eq!(get["security"], json!([])),
        }
    }
}

#[test]
fn tools_are_the_rows_with_a_tool_and_answer_like_their_routes() {
    let wired = app();
    let rows: Vec<&RouteSpec> = ROUTES
        .iter()
        .filter(|row| row.operation.is_some_and(|op| op.tool.is_some()))
        .collect();
    let every_scope = push_advisor_app::scopes::ALL.join(" ");
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let listed = mcp_post(&wired, list, &every_scope);
    let tools = listed["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), rows.len());
    for (tool, row) in tools.iter().zip(&rows) {
        let operation = row.operation.unwrap();
        let text = operation.tool.unwrap();
        assert_eq!(tool["name"], operation.gram_name);
        assert_eq!(tool["title"], text.title);
        assert_eq!(tool["description"], text.description);
        let schema: Value = serde_json::from_str(operation.answer.schema).unwrap();
        assert_eq!(tool["outputSchema"], schema);
        // The tool runs the route's handler: its result is the route's JSON.
        let call = mcp_call(&wired, operation.gram_name, &every_scope);
        let result = &call["result"];
        assert_eq!(result["isError"], json!(false), "{call}");
        let route = with_token(&wired, "GET", row.path, &every_scope).json();
        let keys =
            |value: &Value| -> Vec<String> { value.as_object().unwrap().keys().cloned().collect() };
        assert_eq!(keys(&result["structuredContent"]), keys(&route));
    }
}

fn mcp_call(wired: &Wired, name: &str, scope: &str) -> Value {
    let body =
        format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"{name}"}}}}"#);
    mcp_post(wired, &body, scope)
}

fn mcp_post(wired: &Wired, body: &str, scope: &str) -> Value {
    // Tokens for `/mcp` name its own URI as audience.
    let token = fresh_token(wired, &format!("{RESOURCE}/mcp"), scope);
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send(wired, &request).json()
}

/// The rows' own text agrees with the rest of the row.
#[test]
fn rows_agree_with_themselves() {
    for row in ROUTES {
        if let Some((_, example)) = row.usage {
            assert!(example.contains(row.path), "{example}");
        }
        if let Some(operation) = row.operation {
            // Operations and tools document a GET without arguments.
            assert_eq!(row.methods, MethodSet::GET, "{}", row.path);
            if let Some(scope) = scope_of(row) {
                assert!(operation.description.contains(scope));
                if let Some(tool) = operation.tool {
                    assert!(tool.description.contains(scope));
                }
            }
        }
        if let (Some(scope), Some(index)) = (scope_of(row), row.index) {
            assert!(index.contains(scope), "{index}");
        }
    }
}
