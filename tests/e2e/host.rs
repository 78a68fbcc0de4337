//! The real `push-advisor` binary against the real development provider, over loopback.

use std::time::{Duration, Instant};

use push_advisor_tests::*;

/// A provider and a push-advisor wired to it.
struct Stack {
    provider: Provider,
    server: PushAdvisor,
    resource: String,
}

impl Stack {
    fn start(extra: &[(&str, &str)]) -> Stack {
        Stack::start_with(extra, |_| {})
    }

    fn start_with(extra: &[(&str, &str)], adjust: impl FnOnce(&mut ProviderOptions)) -> Stack {
        let port = free_port();
        let resource = format!("http://127.0.0.1:{port}");
        let mut options = ProviderOptions {
            resource: resource.clone(),
            resource_mcp: Some(format!("{resource}/mcp")),
            redirect_uris: vec![format!("{resource}/token")],
            ..ProviderOptions::default()
        };
        adjust(&mut options);
        let provider = Provider::start(options);
        let server = PushAdvisor::start(port, &provider.issuer, extra);
        Stack {
            provider,
            server,
            resource,
        }
    }

    fn token(&self, scope: &str) -> String {
        self.provider.token(scope, &self.resource)
    }
}

fn challenge(reply: &Reply) -> String {
    reply
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("no WWW-Authenticate: {reply:?}"))
        .to_owned()
}

#[test]
fn public_endpoints_and_documents_reflect_the_provider() {
    let stack = Stack::start(&[]);
    let server = &stack.server;
    assert_eq!(server.get("/vibe-check").status, 200);
    let verdict = server.get("/can-i-push-to-prod").json();
    assert!(["yes", "no"].contains(&verdict["answer"].as_str().unwrap()));
    assert_eq!(
        server.get("/").json()["message"],
        "Welcome to the Push Decision API! 🚀"
    );
    assert_eq!(server.get("/index").json()["version"], "1.0.0");
    assert_eq!(server.get("/nope").status, 404);

    let issuer = &stack.provider.issuer;
    let openapi = server.get("/openapi.json").json();
    let flow = &openapi["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], format!("{issuer}/auth"));
    assert_eq!(flow["tokenUrl"], format!("{issuer}/token"));
    assert_eq!(openapi["servers"][0]["url"], stack.resource);

    let as_metadata = server.get("/.well-known/oauth-authorization-server").json();
    assert_eq!(as_metadata["issuer"], *issuer);
    assert_eq!(as_metadata["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(
        as_metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );

    for (path, resource) in [
        (
            "/.well-known/oauth-protected-resource",
            stack.resource.clone(),
        ),
        (
            "/.well-known/oauth-protected-resource/mcp",
            format!("{}/mcp", stack.resource),
        ),
    ] {
        let prm = server.get(path).json();
        assert_eq!(prm["resource"], resource, "{path}");
        assert_eq!(prm["authorization_servers"], json!([issuer]));
        assert_eq!(prm["bearer_methods_supported"], json!(["header"]));
        assert!(
            prm["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("api:read"))
        );
    }
}

/// Auth0 publishes issuers ending with `/`: it is configured, compared and advertised
/// exactly as published (it was once stripped, and discovery then failed forever).
#[test]
fn an_issuer_with_a_trailing_slash_is_kept_as_published() {
    let stack = Stack::start_with(&[], |options| options.issuer_trailing_slash = true);
    let issuer = &stack.provider.issuer;
    assert!(issuer.ends_with('/'), "the provider publishes {issuer}");
    let token = stack.token("api:read");
    let reply = stack.server.wait_for(
        "/deploy-history",
        &token,
        Duration::from_secs(10),
        |reply| reply.status != 503,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let prm = stack
        .server
        .get("/.well-known/oauth-protected-resource")
        .json();
    assert_eq!(prm["authorization_servers"], json!([issuer]));
}

#[test]
fn deploy_history_outcomes() {
    let stack = Stack::start(&[]);
    let server = &stack.server;

    let ok = server.get_with_token("/deploy-history", &stack.token("api:read"));
    assert_eq!(ok.status, 200, "{ok:?}");
    let body = ok.json();
    assert_eq!(
        body["authenticated_user"], CLIENT_ID,
        "client-credentials tokens name the client"
    );
    assert_eq!(body["deployments"][0]["id"], "deploy-001");
    assert_eq!(body["deployments"].as_array().unwrap().len(), 3);

    let missing = server.get("/deploy-history");
    assert_eq!(missing.status, 401);
    let header = challenge(&missing);
    assert!(header.starts_with("Bearer "), "{header}");
    assert!(
        !header.contains("error="),
        "no error without a token: {header}"
    );
    assert!(
        header.contains(&format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource\"",
            stack.resource
        )),
        "{header}"
    );
    assert!(header.contains("scope=\"api:read\""), "{header}");
    assert_eq!(missing.json()["error"], "Authentication required");
    assert_eq!(missing.json()["required_scopes"], json!(["api:read"]));

    let garbage = server.get_with_token("/deploy-history", "not-a-real-token");
    assert_eq!(garbage.status, 401);
    assert!(challenge(&garbage).contains("error=\"invalid_token\""));

    let foreign = stack.provider.client_credentials(
        "foreign-client",
        "dev-secret-foreign-client",
        "api:read",
        "https://other-api.example",
    );
    let foreign =
        server.get_with_token("/deploy-history", foreign["access_token"].as_str().unwrap());
    assert_eq!(
        foreign.status, 401,
        "a token for another audience: {foreign:?}"
    );
    assert!(challenge(&foreign).contains("error=\"invalid_token\""));

    let writer = stack.provider.client_credentials(
        "writer-only",
        "dev-secret-writer-only",
        "api:write",
        &stack.resource,
    );
    let writer = server.get_with_token("/deploy-history", writer["access_token"].as_str().unwrap());
    assert_eq!(writer.status, 403);
    let header = challenge(&writer);
    assert!(header.contains("error=\"insufficient_scope\""), "{header}");
    assert!(
        header.ends_with("scope=\"api:write api:read\""),
        "granted plus required: {header}"
    );
    assert_eq!(writer.json()["error"], "Insufficient permissions");

    let two = server.request(
        "GET",
        "/deploy-history",
        None,
        &[("Authorization", "Bearer a"), ("Authorization", "Bearer b")],
    );
    assert_eq!(two.status, 400, "two Authorization headers");
    let in_query = server.get(&format!(
        "/deploy-history?access_token={}",
        stack.token("api:read")
    ));
    assert_eq!(
        in_query.status, 400,
        "tokens in the query string are refused: {in_query:?}"
    );
    assert!(challenge(&in_query).contains("error=\"invalid_request\""));
}

#[test]
fn expired_token_is_invalid() {
    let stack = Stack::start_with(&[], |options| options.access_token_ttl = Some(2));
    let token = stack.token("api:read");
    assert_eq!(
        stack
            .server
            .get_with_token("/deploy-history", &token)
            .status,
        200
    );
    std::thread::sleep(Duration::from_millis(3100));
    let reply = stack.server.get_with_token("/deploy-history", &token);
    assert_eq!(reply.status, 401, "expired: {reply:?}");
    assert!(challenge(&reply).contains("error=\"invalid_token\""));
}

#[test]
fn revoked_token_is_refused_within_the_cache_bound() {
    let stack = Stack::start(&[("PUSH_ADVISOR_CACHE_TTL", "2")]);
    let token = stack.token("api:read");
    assert_eq!(
        stack
            .server
            .get_with_token("/deploy-history", &token)
            .status,
        200
    );
    stack.provider.revoke(&token);
    let revoked_at = Instant::now();
    let reply = stack
        .server
        .wait_for("/deploy-history", &token, Duration::from_secs(5), |r| {
            r.status == 401
        });
    assert_eq!(reply.status, 401);
    assert!(
        revoked_at.elapsed() <= Duration::from_millis(2500),
        "refused after {:?}, bound is 2 s",
        revoked_at.elapsed()
    );
}

#[test]
fn provider_outage_is_503_and_recovers() {
    let mut stack = Stack::start(&[
        ("PUSH_ADVISOR_CACHE_TTL", "0"),
        ("PUSH_ADVISOR_PROVIDER_TIMEOUT_MS", "1000"),
    ]);
    let token = stack.token("api:read");
    assert_eq!(
        stack
            .server
            .get_with_token("/deploy-history", &token)
            .status,
        200
    );
    stack.provider.stop();
    let started = Instant::now();
    let reply = stack.server.get_with_token("/deploy-history", &token);
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.header("retry-after").is_some());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered within the timeout"
    );
    assert_eq!(
        stack.server.get("/vibe-check").status,
        200,
        "public endpoints keep working"
    );
    stack.provider.restart();
    let token = stack.token("api:read");
    let reply = stack
        .server
        .wait_for("/deploy-history", &token, Duration::from_secs(5), |r| {
            r.status == 200
        });
    assert_eq!(reply.status, 200, "recovers without restart: {reply:?}");
}

#[test]
fn browser_less_login_yields_a_working_token() {
    let stack = Stack::start(&[]);
    let page = stack.server.get("/login");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Push Advisor API - Login"));
    assert!(
        !page.body.contains("demo_token"),
        "demo tokens are off by default"
    );
    let href = html_unescape(
        &between(&page.body, "id=\"oauth-login\" class=\"btn\" href=\"", "\"").expect("login link"),
    );
    assert!(
        href.starts_with(&format!("{}/auth?", stack.provider.issuer)),
        "{href}"
    );
    for part in [
        "state=",
        "code_challenge=",
        "code_challenge_method=S256",
        "resource=",
        "response_type=code",
    ] {
        assert!(href.contains(part), "{part} missing in {href}");
    }
    let cookie = login_cookie(&page);
    let redirect_uri = format!("{}/token", stack.resource);
    let back = browser_login(&href, &redirect_uri, "alice");
    let path = back.strip_prefix(&stack.resource).unwrap();

    let forged = path.replace("state=", "state=forged");
    let refused = get_with_cookie(&stack.server, &forged, &cookie);
    assert_eq!(refused.status, 400, "forged state: {refused:?}");
    assert!(!refused.body.contains("OAuth Success"));
    // Login CSRF: the same link without the browser's cookie, or with another
    // browser's, is refused and leaves the login usable.
    let elsewhere = login_cookie(&stack.server.get("/login"));
    for other in [None, Some(elsewhere.as_str())] {
        let refused = browser_get(&stack.server, path, other);
        assert_eq!(refused.status, 400, "{refused:?}");
        assert!(refused.body.contains("not started in this browser"));
    }

    let success = get_with_cookie(&stack.server, path, &cookie);
    assert_eq!(success.status, 200, "{success:?}");
    assert!(success.body.contains("OAuth Success!"));
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(success.header(name), Some(value), "{name}");
    }
    assert!(
        success
            .header("content-security-policy")
            .is_some_and(|policy| policy.contains("frame-ancestors 'none'"))
    );
    assert_eq!(success.header("access-control-allow-origin"), None);
    let token = between(&success.body, "id=\"access-token\">", "<").expect("token on the page");
    let history = stack
        .server
        .get_with_token("/deploy-history", &html_unescape(&token));
    assert_eq!(history.status, 200, "{history:?}");
    assert_eq!(history.json()["authenticated_user"], "alice");

    let replay = get_with_cookie(&stack.server, path, &cookie);
    assert_eq!(replay.status, 400, "a used state cannot be replayed");
}

/// The `name=value` the login page sets, to send back as a browser would.
fn login_cookie(page: &Reply) -> String {
    let set_cookie = page.header("set-cookie").expect("Set-Cookie on /login");
    assert!(
        set_cookie.contains("; HttpOnly; SameSite=Lax; Path=/token"),
        "{set_cookie}"
    );
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A GET as a browser of its own would send it: a fresh agent (the server's agent keeps
/// a cookie jar), with this cookie or none.
fn browser_get(server: &PushAdvisor, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = ureq::http::Request::builder().uri(format!("{}{path}", server.url));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let request = request.body(String::new()).expect("request");
    Reply::from(plain_agent(None).run(request).expect("GET"))
}

fn get_with_cookie(server: &PushAdvisor, path: &str, cookie: &str) -> Reply {
    browser_get(server, path, Some(cookie))
}

#[test]
fn logins_started_elsewhere_do_not_push_out_a_browsers_login() {
    let stack = Stack::start(&[]);
    let page = stack.server.get("/login");
    let cookie = login_cookie(&page);
    let href = html_unescape(
        &between(&page.body, "id=\"oauth-login\" class=\"btn\" href=\"", "\"").expect("login link"),
    );
    // More logins from elsewhere than the device keeps (8): the host keeps 1,024.
    for _ in 0..20 {
        assert_eq!(stack.server.get("/login").status, 200);
    }
    let back = browser_login(&href, &format!("{}/token", stack.resource), "alice");
    let path = back.strip_prefix(&stack.resource).unwrap();
    let success = get_with_cookie(&stack.server, path, &cookie);
    assert_eq!(success.status, 200, "{success:?}");
}

#[test]
fn mcp_refuses_foreign_origins_and_hosts_by_default() {
    let stack = Stack::start(&[]);
    let token = stack.token("api:read");
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let port = stack.resource.rsplit(':').next().unwrap();
    let authorization = format!("Bearer {token}");
    let post = |extra: &[(&str, &str)]| {
        let mut headers = vec![
            ("Authorization", authorization.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        headers.extend_from_slice(extra);
        stack
            .server
            .request("POST", "/mcp", Some(ping), &headers)
            .status
    };
    let loopback_origin = format!("http://localhost:{port}");
    let cases: &[(&[(&str, &str)], u16)] = &[
        (&[], 200),
        (&[("Origin", &stack.resource)], 200),
        (&[("Origin", &loopback_origin)], 200),
        (&[("Origin", "https://evil.example")], 403),
        (&[("Host", "evil.example.com")], 403),
        (
            &[
                ("Host", "evil.example.com"),
                ("Origin", "http://evil.example.com"),
            ],
            403,
        ),
    ];
    for (headers, status) in cases {
        assert_eq!(post(headers), *status, "{headers:?}");
    }
    // REST CORS is unchanged: any origin may read the public routes.
    let vibe = stack.server.request(
        "GET",
        "/vibe-check",
        None,
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(vibe.header("access-control-allow-origin"), Some("*"));
    assert_eq!(vibe.header("x-content-type-options"), Some("nosniff"));
    // `*` only when set explicitly.
    let open = Stack::start(&[("PUSH_ADVISOR_ALLOWED_ORIGINS", "*")]);
    let token = open.token("api:read");
    let reply = open.server.request(
        "POST",
        "/mcp",
        Some(ping),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Origin", "https://evil.example"),
        ],
    );
    assert_eq!(reply.status, 200, "{reply:?}");
}

/// Issue 12: 600 idle sockets from one address filled every slot and fresh clients
/// got 503 for the whole idle timeout. Now each fresh client is served.
#[test]
fn fresh_clients_are_served_while_one_address_holds_600_idle_sockets() {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    let stack = Stack::start(&[]);
    let address: SocketAddr = stack
        .resource
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let idle: Vec<TcpStream> = (0..600)
        .map(|_| TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut served = 0;
    for _ in 0..10 {
        let mut fresh = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
        fresh
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        fresh
            .write_all(b"GET /vibe-check HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = fresh.read_to_string(&mut answer);
        served += usize::from(answer.starts_with("HTTP/1.1 200 "));
    }
    assert_eq!(served, 10, "fresh clients served while 600 sockets idle");
    drop(idle);
}

#[test]
fn https_provider_with_a_test_ca() {
    let dir = TempDir(std::env::temp_dir().join(format!("pa-tls-{}", std::process::id())));
    let dir = &dir.0;
    let good = make_tls_files(dir, "good");
    let wrong = make_tls_files(dir, "wrong");
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}");
    let provider = Provider::start(ProviderOptions {
        resource: resource.clone(),
        redirect_uris: vec![format!("{resource}/token")],
        tls: Some(good.clone()),
        ..ProviderOptions::default()
    });
    assert!(
        provider.issuer.starts_with("https://"),
        "{}",
        provider.issuer
    );
    let server = PushAdvisor::start(
        port,
        &provider.issuer,
        &[("PUSH_ADVISOR_CA_FILE", good.ca_pem.to_str().unwrap())],
    );
    let token = provider.token("api:read", &resource);
    let reply = server.get_with_token("/deploy-history", &token);
    assert_eq!(reply.status, 200, "{reply:?}");
    drop(server);

    let port = free_port();
    let server = PushAdvisor::start_undiscovered(
        port,
        &provider.issuer,
        &[("PUSH_ADVISOR_CA_FILE", wrong.ca_pem.to_str().unwrap())],
    );
    let reply = server.get("/.well-known/oauth-authorization-server");
    assert_eq!(reply.status, 503, "undiscovered provider: {reply:?}");
    std::thread::sleep(Duration::from_millis(300));
    let logs = server.process.output();
    assert!(
        logs.contains("certificate"),
        "a clear error names the certificate problem:\n{logs}"
    );
}

#[test]
fn cors_as_a_browser_sees_it() {
    let stack = Stack::start(&[]);
    let preflight = stack.server.request(
        "OPTIONS",
        "/deploy-history",
        None,
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("Authorization")
    );
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("GET")
    );
    let denied = stack.server.request(
        "GET",
        "/deploy-history",
        None,
        &[("Origin", "https://app.example")],
    );
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        denied.header("access-control-expose-headers"),
        Some("WWW-Authenticate")
    );
    assert_eq!(
        stack
            .server
            .request("OPTIONS", "/unknown", None, &[])
            .status,
        404
    );
}

#[test]
fn logs_never_contain_tokens_or_secrets() {
    let stack = Stack::start(&[]);
    let token = stack.token("api:read");
    assert_eq!(
        stack
            .server
            .get_with_token("/deploy-history", &token)
            .status,
        200
    );
    assert_eq!(
        stack
            .server
            .get_with_token("/deploy-history", "garbage-token-xyz")
            .status,
        401
    );
    // A request the engine refuses before it parses (two Host headers) is logged too.
    let address = stack.server.url.trim_start_matches("http://");
    let mut raw = std::net::TcpStream::connect(address).unwrap();
    std::io::Write::write_all(&mut raw, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut raw, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    std::thread::sleep(Duration::from_millis(200));
    let logs = stack.server.process.output();
    assert!(
        logs.contains("/deploy-history"),
        "one line per request:\n{logs}"
    );
    assert!(
        logs.lines()
            .any(|line| line.contains("request refused") && line.contains("400")),
        "refusals are logged:\n{logs}"
    );
    for secret in [token.as_str(), "garbage-token-xyz", CLIENT_SECRET] {
        assert!(!logs.contains(secret), "log leaks {secret}:\n{logs}");
    }
}

/// Runs schemathesis (pinned in tests/python/requirements.txt), all checks, against the
/// server's own `/openapi.json` with `token`; returns (operations tested, cases
/// generated, cases passed) after asserting it found no issue (and, when `refused` is
/// set, only its warning that the token was refused: 403 is what such a token gets).
fn schemathesis(server: &PushAdvisor, token: &str, refused: bool) -> (u32, u32, u32) {
    let work = std::env::temp_dir().join(format!("pa-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");
    let bin = python_tools().with_file_name("schemathesis");
    let mut child = std::process::Command::new(bin)
        .current_dir(&work)
        .env("NO_COLOR", "1")
        .args(["run", &format!("{}/openapi.json", server.url)])
        .args(["--checks", "all", "--max-examples", "50", "--seed", "1"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start schemathesis");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("schemathesis took more than 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().expect("schemathesis output");
    let _ = std::fs::remove_dir_all(&work);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let verdict = if refused {
        text.contains("1 warning in")
            && text.contains("Authentication failed: 1 operation returned only 401/403 responses")
    } else {
        text.contains("No issues found")
    };
    assert!(
        output.status.success() && verdict,
        "schemathesis found issues:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let number = |after: &str| -> u32 {
        let start = text
            .find(after)
            .unwrap_or_else(|| panic!("no {after:?} in:\n{text}"))
            + after.len();
        text[start..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after {after:?} in:\n{text}"))
    };
    let tested = number("Tested:");
    let generated = number("Test cases:");
    let passed = number("generated,");
    eprintln!(
        "schemathesis: {tested} operations tested, {generated} cases generated, {passed} passed"
    );
    (tested, generated, passed)
}

#[test]
fn schemathesis_finds_the_openapi_document_true_for_every_answer() {
    let stack = Stack::start(&[]);
    let spec = stack.server.get("/openapi.json").json();
    let history = &spec["paths"]["/deploy-history"]["get"]["responses"];
    for (status, header) in [
        ("401", "WWW-Authenticate"),
        ("403", "WWW-Authenticate"),
        ("503", "Retry-After"),
    ] {
        assert_eq!(
            history[status]["headers"][header]["required"], true,
            "{status} documents {header}"
        );
    }
    assert!(spec["paths"]["/can-i-push-to-prod"]["get"]["responses"]["503"].is_object());

    // With api:read: 200s for every operation, and the refusals of requests without or with broken credentials.
    let (tested, generated, passed) = schemathesis(&stack.server, &stack.token("api:read"), false);
    assert_eq!(tested, 3, "every documented operation");
    assert!(
        generated >= 10 && passed == generated,
        "{generated} generated, {passed} passed"
    );

    // With a token lacking api:read: the 403 with its challenge, as documented.
    let writer = stack.provider.client_credentials(
        "writer-only",
        "dev-secret-writer-only",
        "api:write",
        &stack.resource,
    );
    let writer = writer["access_token"].as_str().expect("access_token");
    assert_eq!(
        stack
            .server
            .get_with_token("/deploy-history", writer)
            .status,
        403
    );
    let (tested, generated, passed) = schemathesis(&stack.server, writer, true);
    assert_eq!(tested, 3);
    assert!(
        generated >= 10 && passed == generated,
        "{generated} generated, {passed} passed"
    );
}
