//! The app's protected parts through `serve`: `/deploy-history`, the login pages,
//! the well-known documents and `/mcp`, with the provider's answers replayed.

mod support;

use push_advisor_app::{AppUrls, scopes};
use push_advisor_oauth::OAuthConfig;
use serde_json::json;
use support::app::{ISSUER, RESOURCE, exchange, oauth_config, wired};
use support::{MONDAY_NOON, Response, introspection_reply};

const NOW: u64 = MONDAY_NOON;

fn active(scope: &str, aud: &str) -> Vec<u8> {
    introspection_reply(&format!(
        r#"{{"active":true,"client_id":"push-advisor","exp":{},"iat":{},"iss":"{ISSUER}","aud":{aud},"scope":"{scope}","token_type":"Bearer","sub":"alice"}}"#,
        NOW + 300,
        NOW - 10
    ))
}

fn get(path: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n{auth}\r\n")
}

/// A GET carrying a `Cookie` header.
fn get_with_cookie(path: &str, cookie: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\nCookie: theme=dark; {cookie}\r\n\r\n")
}

/// The `name=value` of the login page's `Set-Cookie`, checking its attributes.
fn login_cookie(page: &Response) -> String {
    let set_cookie = page.header("set-cookie").expect("Set-Cookie on /login");
    let (pair, attributes) = set_cookie.split_once("; ").unwrap();
    assert_eq!(
        attributes, "Max-Age=600; HttpOnly; SameSite=Lax; Path=/token",
        "{set_cookie}"
    );
    pair.to_owned()
}

fn challenge(response: &Response) -> &str {
    response
        .header("www-authenticate")
        .expect("WWW-Authenticate")
}

#[test]
fn deploy_history_with_an_active_token_names_the_subject_and_is_cached() {
    let reply = active(&scopes::ALL.join(" "), &format!("\"{RESOURCE}\""));
    let wired = wired(Some(NOW), &[&reply], false, oauth_config(false));
    let request = get("/deploy-history", Some("tok-1"));
    let responses = exchange(&wired, &[request.clone(), request]);
    for response in &responses {
        assert_eq!(response.status, 200, "{}", response.text());
        let body = response.json();
        assert_eq!(body["authenticated_user"], "alice");
        assert_eq!(
            body["deployments"][0],
            json!({"id":"deploy-001","timestamp":"2024-08-13T15:30:00Z","environment":"production","status":"success","user":"alice"})
        );
        assert_eq!(
            body["message"],
            "This is a protected endpoint - you needed OAuth to see this!"
        );
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
    assert_eq!(
        wired.connector.connects(),
        1,
        "the second request is answered from the cache"
    );
    let sent = String::from_utf8(wired.connector.sent.borrow()[0].clone()).unwrap();
    assert!(
        sent.starts_with("POST /token/introspection HTTP/1.1\r\n"),
        "{sent}"
    );
    assert!(
        sent.ends_with("token=tok-1&token_type_hint=access_token"),
        "{sent}"
    );
}

#[test]
fn array_audience_is_accepted() {
    let reply = active(
        scopes::READ,
        &format!("[\"https://other.example\",\"{RESOURCE}\"]"),
    );
    let wired = wired(Some(NOW), &[&reply], false, oauth_config(false));
    assert_eq!(
        exchange(&wired, &[get("/deploy-history", Some("t"))])[0].status,
        200
    );
}

#[test]
fn refusals_carry_rfc_6750_challenges() {
    let prm = format!("resource_metadata=\"{RESOURCE}/.well-known/oauth-protected-resource\"");
    // No token: 401 without an error code.
    let wired_none = wired(Some(NOW), &[], false, oauth_config(false));
    let missing = &exchange(&wired_none, &[get("/deploy-history", None)])[0];
    assert_eq!(missing.status, 401);
    assert_eq!(
        challenge(missing),
        format!("Bearer realm=\"Push Advisor API\", {prm}, scope=\"api:read\"")
    );
    assert_eq!(
        missing.json(),
        json!({"error":"Authentication required","message":"This endpoint requires a valid OAuth token.","required_scopes":["api:read"]})
    );
    assert_eq!(wired_none.connector.connects(), 0);

    // Inactive, foreign audience, expired: 401 invalid_token.
    let inactive = introspection_reply(r#"{"active":false}"#);
    let foreign = active(scopes::READ, "\"https://other-api.example\"");
    let expired = introspection_reply(&format!(
        r#"{{"active":true,"exp":{},"aud":"{RESOURCE}","scope":"api:read","sub":"alice"}}"#,
        NOW - 5
    ));
    for reply in [inactive, foreign, expired] {
        let wired = wired(Some(NOW), &[&reply], false, oauth_config(false));
        let response = &exchange(&wired, &[get("/deploy-history", Some("t"))])[0];
        assert_eq!(response.status, 401, "{}", String::from_utf8_lossy(&reply));
        assert_eq!(
            challenge(response),
            format!(
                "Bearer realm=\"Push Advisor API\", error=\"invalid_token\", {prm}, scope=\"api:read\""
            )
        );
    }

    // Valid but without api:read: 403 insufficient_scope.
    let writer = active(scopes::WRITE, &format!("\"{RESOURCE}\""));
    let wired_writer = wired(Some(NOW), &[&writer], false, oauth_config(false));
    let forbidden = &exchange(&wired_writer, &[get("/deploy-history", Some("t"))])[0];
    assert_eq!(forbidden.status, 403);
    assert!(challenge(forbidden).contains("error=\"insufficient_scope\""));
    assert!(
        challenge(forbidden).ends_with("scope=\"api:write api:read\""),
        "granted plus required: {}",
        challenge(forbidden)
    );
    assert_eq!(
        forbidden.json(),
        json!({"error":"Insufficient permissions","message":"This endpoint requires api:read scope."})
    );

    // Provider down: 503 with Retry-After, never 401.
    let down = &exchange(&wired_none, &[get("/deploy-history", Some("t"))])[0];
    assert_eq!(down.status, 503);
    assert_eq!(down.header("retry-after"), Some("5"));
    assert!(down.header("www-authenticate").is_none());
}

#[test]
fn demo_tokens_are_refused_unless_enabled() {
    let inactive = introspection_reply(r#"{"active":false}"#);
    let off = wired(Some(NOW), &[&inactive], false, oauth_config(false));
    let responses = exchange(
        &off,
        &[
            get("/deploy-history", Some("demo_token_mallory")),
            get("/login", None),
        ],
    );
    assert_eq!(
        responses[0].status, 401,
        "demo tokens go to the provider like any other"
    );
    assert!(!responses[1].text().contains("Demo tokens are enabled"));

    let on = wired(Some(NOW), &[], false, oauth_config(true));
    let responses = exchange(
        &on,
        &[
            get("/deploy-history", Some("demo_token_mallory")),
            get("/login", None),
        ],
    );
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[0].json()["authenticated_user"], "mallory");
    assert!(
        responses[1].text().contains("Demo tokens are enabled"),
        "a visible warning"
    );
    assert_eq!(on.connector.connects(), 0);
}

fn login_link(page: &str) -> String {
    let start = page
        .find("id=\"oauth-login\" class=\"btn\" href=\"")
        .expect("login link")
        + 35;
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

fn param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&'])
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap()
}

#[test]
fn login_then_token_page_escapes_what_the_provider_sent() {
    let hostile = r#"<script>alert(1)</script>"#;
    let token_json = format!(
        r#"{{"access_token":"{hostile}","token_type":"Bearer","expires_in":300,"scope":"api:read \"x\""}}"#
    );
    let token_reply = introspection_reply(&token_json);
    let wired = wired(Some(NOW), &[&token_reply], false, oauth_config(false));
    let page = exchange(&wired, &[get("/login", None)]).remove(0);
    assert_eq!(page.status, 200);
    assert!(
        page.text()
            .contains("<title>Push Advisor API - Login</title>")
    );
    let link = login_link(page.text());
    assert!(
        link.starts_with("http://127.0.0.1:9000/auth?response_type=code&client_id=push-advisor"),
        "{link}"
    );
    assert_eq!(param(&link, "code_challenge_method"), "S256");
    assert_eq!(param(&link, "resource"), "http%3A%2F%2F127.0.0.1%3A8787");
    assert_eq!(
        param(&link, "redirect_uri"),
        "http%3A%2F%2F127.0.0.1%3A8787%2Ftoken"
    );
    assert_eq!(param(&link, "code_challenge").len(), 43);
    let state = param(&link, "state").to_owned();
    let cookie = login_cookie(&page);
    assert_eq!(cookie, format!("login-state={state}"));
    assert_html_page_headers(&page);

    let callback = get_with_cookie(
        &format!("/token?code=abc&state={state}&iss=http%3A%2F%2F127.0.0.1%3A9000"),
        &cookie,
    );
    let responses = exchange(&wired, &[callback.clone(), callback]);
    let success = &responses[0];
    assert_eq!(success.status, 200, "{}", success.text());
    assert!(success.text().contains("OAuth Success!"));
    assert_html_page_headers(success);
    assert!(success.text().contains(&format!(
        "<script>{}</script>",
        push_advisor_app::login_pages::SCRIPT
    )));
    assert!(!success.text().contains("onclick=\""), "no inline handler");
    assert!(
        !success.text().contains(hostile),
        "the provider's strings are escaped"
    );
    assert!(
        success
            .text()
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(success.text().contains("api:read &quot;x&quot;"));
    assert!(success.text().contains("300 seconds"));
    let sent = String::from_utf8(wired.connector.sent.borrow()[0].clone()).unwrap();
    assert!(sent.contains("grant_type=authorization_code"), "{sent}");
    assert!(sent.contains("code=abc"), "{sent}");
    assert!(sent.contains("code_verifier="), "{sent}");
    assert_eq!(
        responses[1].status, 400,
        "the same state cannot be used twice"
    );
}

#[test]
fn token_page_refuses_forged_state_foreign_issuer_and_provider_errors() {
    let wired = wired(Some(NOW), &[], false, oauth_config(false));
    let forged = &exchange(
        &wired,
        &[get_with_cookie(
            "/token?code=abc&state=forged",
            "login-state=forged",
        )],
    )[0];
    assert_eq!(forged.status, 400);
    assert!(forged.text().contains("unknown, expired or already used"));
    let missing = &exchange(&wired, &[get("/token", None)])[0];
    assert_eq!(missing.status, 400);
    let provider_error = &exchange(
        &wired,
        &[get(
            "/token?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E",
            None,
        )],
    )[0];
    assert_eq!(provider_error.status, 400);
    assert!(provider_error.text().contains("&lt;b&gt;no&lt;/b&gt;"));
    let page = exchange(&wired, &[get("/login", None)]).remove(0);
    let state = param(&login_link(page.text()), "state").to_owned();
    let cookie = login_cookie(&page);
    let mixup = &exchange(
        &wired,
        &[get_with_cookie(
            &format!("/token?code=abc&state={state}&iss=https%3A%2F%2Fevil.example"),
            &cookie,
        )],
    )[0];
    assert_eq!(mixup.status, 400);
    assert!(mixup.text().contains("unexpected issuer"));
    assert_eq!(
        wired.connector.connects(),
        0,
        "nothing reached the provider"
    );
}

fn assert_html_page_headers(page: &Response) {
    let policy = page.header("content-security-policy").expect("CSP");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("access-control-allow-origin"), None);
}

/// Login CSRF: a `/token` link with a valid state and code works only in the browser
/// whose `/login` issued that state; refusals exchange nothing and keep the login.
#[test]
fn the_token_page_needs_the_cookie_of_the_browser_that_started_the_login() {
    let token_reply = introspection_reply(r#"{"access_token":"t1","token_type":"Bearer"}"#);
    let wired = wired(Some(NOW), &[&token_reply], false, oauth_config(false));
    let victims_page = exchange(&wired, &[get("/login", None)]).remove(0);
    let victims_cookie = login_cookie(&victims_page);
    let attackers_page = exchange(&wired, &[get("/login", None)]).remove(0);
    let attackers_state = param(&login_link(attackers_page.text()), "state").to_owned();
    let attackers_link = format!("/token?code=attackers-code&state={attackers_state}");
    let refusals = exchange(
        &wired,
        &[
            get(&attackers_link, None),
            get_with_cookie(&attackers_link, &victims_cookie),
            get_with_cookie(&attackers_link, "login-state="),
            get_with_cookie(&attackers_link, &format!("login-state={attackers_state}x")),
        ],
    );
    for refused in &refusals {
        assert_eq!(refused.status, 400, "{}", refused.text());
        assert!(refused.text().contains("not started in this browser"));
        assert_html_page_headers(refused);
    }
    assert_eq!(wired.connector.connects(), 0, "nothing was exchanged");
    // The attacker's own browser (with its cookie) still finishes its login.
    let own = exchange(
        &wired,
        &[get_with_cookie(
            &attackers_link,
            &format!("login-state={attackers_state}"),
        )],
    )
    .remove(0);
    assert_eq!(own.status, 200, "{}", own.text());
}

#[test]
fn an_https_public_url_gets_a_host_prefixed_secure_cookie() {
    let urls = Box::leak(Box::new(AppUrls::new("https://advisor.example").unwrap()));
    let config = OAuthConfig {
        redirect_uri: &urls.redirect,
        ..oauth_config(false)
    };
    let cookie = push_advisor_oauth::LoginCookie::new(&config);
    let mut set_cookie = String::new();
    cookie.write_set_cookie(&mut set_cookie, "abc").unwrap();
    assert_eq!(
        set_cookie,
        "__Host-login-state=abc; Max-Age=600; HttpOnly; SameSite=Lax; Secure; Path=/"
    );
}

#[test]
fn well_known_documents() {
    let wired = wired(Some(NOW), &[], false, oauth_config(false));
    let responses = exchange(
        &wired,
        &[
            get("/.well-known/oauth-protected-resource", None),
            get("/.well-known/oauth-protected-resource/mcp", None),
            get("/.well-known/oauth-authorization-server", None),
        ],
    );
    assert_eq!(
        responses[0].json(),
        json!({"resource": RESOURCE, "authorization_servers": [ISSUER], "scopes_supported": ["api:read","api:write"], "bearer_methods_supported": ["header"], "resource_name": "Push Advisor API"})
    );
    assert_eq!(responses[1].json()["resource"], format!("{RESOURCE}/mcp"));
    let metadata = responses[2].json();
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["authorization_endpoint"], format!("{ISSUER}/auth"));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
}

fn mcp_post(body: &str, token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /mcp HTTP/1.1\r\nHost: t\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
const CALL_HISTORY: &str = r#"{"jsonrpc":"2.0","id":"h","method":"tools/call","params":{"name":"get_deploy_history","arguments":{}}}"#;
const CALL_VIBE: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"vibe_check"}}"#;

#[test]
fn mcp_requires_a_token_for_this_resource() {
    let mcp_aud = format!("\"{RESOURCE}/mcp\"");
    let reader = active(scopes::READ, &mcp_aud);
    let wired = wired(Some(NOW), &[&reader], false, oauth_config(false));
    let responses = exchange(
        &wired,
        &[
            mcp_post(LIST, None),
            mcp_post(LIST, Some("t")),
            mcp_post(CALL_HISTORY, Some("t")),
        ],
    );
    assert_eq!(responses[0].status, 401);
    assert_eq!(
        challenge(&responses[0]),
        format!(
            "Bearer realm=\"Push Advisor API\", resource_metadata=\"{RESOURCE}/.well-known/oauth-protected-resource/mcp\", scope=\"api:read\""
        )
    );
    let tools = responses[1].json();
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["can_i_push_to_prod", "vibe_check", "get_deploy_history"]
    );
    for tool in tools["result"]["tools"].as_array().unwrap() {
        assert_eq!(
            tool["inputSchema"],
            json!({"type":"object","additionalProperties":false})
        );
        assert_eq!(tool["outputSchema"]["type"], "object");
        assert_eq!(tool["annotations"]["readOnlyHint"], true);
    }
    let result = &responses[2].json()["result"];
    assert_eq!(result["structuredContent"]["authenticated_user"], "alice");
    let text: serde_json::Value =
        serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, result["structuredContent"]);
    assert_eq!(
        wired.connector.connects(),
        1,
        "one introspection for both calls"
    );
}

#[test]
fn mcp_step_up_and_foreign_audience() {
    let writer = active(scopes::WRITE, &format!("\"{RESOURCE}/mcp\""));
    let foreign = active(scopes::READ, "\"https://other-api.example\"");
    let wired = wired(Some(NOW), &[&writer, &foreign], false, oauth_config(false));
    let responses = exchange(
        &wired,
        &[
            mcp_post(CALL_HISTORY, Some("writer")),
            mcp_post(LIST, Some("foreign")),
        ],
    );
    assert_eq!(responses[0].status, 403);
    assert!(challenge(&responses[0]).contains("error=\"insufficient_scope\""));
    assert!(challenge(&responses[0]).ends_with("scope=\"api:write api:read\""));
    assert_eq!(responses[1].status, 401);
    assert!(challenge(&responses[1]).contains("error=\"invalid_token\""));
}

#[test]
fn mcp_lazy_auth_challenges_only_the_protected_tool() {
    let wired = wired(Some(NOW), &[], true, oauth_config(false));
    let responses = exchange(
        &wired,
        &[
            mcp_post(LIST, None),
            mcp_post(CALL_VIBE, None),
            mcp_post(CALL_HISTORY, None),
        ],
    );
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[1].status, 200);
    assert!(responses[1].json()["result"]["structuredContent"]["vibe"].is_string());
    assert_eq!(responses[2].status, 401);
    assert!(challenge(&responses[2]).contains("/.well-known/oauth-protected-resource/mcp"));
}

#[test]
fn mcp_tool_reports_unknown_wall_time() {
    let reader = active(scopes::READ, &format!("\"{RESOURCE}\""));
    let wired = wired(None, &[&reader], false, oauth_config(false));
    let call = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"can_i_push_to_prod","arguments":{}}}"#;
    let response = exchange(&wired, &[mcp_post(call, Some("t"))]).remove(0);
    assert_eq!(response.json()["result"]["isError"], true);
}
