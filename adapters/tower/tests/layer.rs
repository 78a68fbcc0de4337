//! The layer around a real axum app, checking tokens with the real development provider
//! (`tests/provider`), over loopback sockets on ports chosen at run time.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use push_advisor_oauth::{ClientAuth, ClientCredentials, OAuthConfig};
use push_advisor_tests::{
    CLIENT_ID, CLIENT_SECRET, Provider, ProviderOptions, Reply, free_port, json, plain_agent,
};
use push_advisor_tokio::ConnectorOptions;
use push_advisor_tower::{Authorized, OAuthLayer, host_validator};

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The provider, and an axum app behind the layer: `/` public, `/api/things` needs
/// api:read (GET) and answers preflights itself, `/api/admin` needs api:write.
struct App {
    provider: Provider,
    url: String,
    agent: ureq::Agent,
    _runtime: tokio::runtime::Runtime,
}

impl App {
    fn start() -> App {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let provider = Provider::start(ProviderOptions {
            resource: url.clone(),
            ..ProviderOptions::default()
        });
        let client = ClientCredentials {
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
            auth: ClientAuth::ClientSecretBasic,
        };
        let config: &'static OAuthConfig<'static> = Box::leak(Box::new(OAuthConfig {
            scopes_supported: &["api:read", "api:write"],
            resource_name: "Things API",
            ..OAuthConfig::new(
                leak(url.clone()),
                leak(format!("{url}/.well-known/oauth-protected-resource")),
                leak(provider.issuer.clone()),
                client,
            )
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = ConnectorOptions {
                connect_timeout: Duration::from_secs(2),
                read_timeout: Duration::from_secs(2),
                write_timeout: Duration::from_secs(2),
                ..ConnectorOptions::default()
            };
            let validator = host_validator(config, options).expect("connector");
            let layer = OAuthLayer::new(config, validator)
                .public("/")
                .route_scope("/api", "api:read")
                .route_scope("/api/admin", "api:write");
            let app = Router::new()
                .route("/", get(|| async { "public" }))
                .route(
                    "/api/things",
                    get(|Extension(who): Extension<Authorized>| async move {
                        json!({
                            "principal": who.principal,
                            "scopes": who.scopes,
                            "audience": who.audience,
                        })
                        .to_string()
                    })
                    .options(|| async { (StatusCode::NO_CONTENT, [("x-preflight", "app")]) }),
                )
                .route("/api/admin", get(|| async { "admin" }))
                .layer(layer);
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("listen");
            tokio::spawn(async move { axum::serve(listener, app).await });
        });
        let app = App {
            provider,
            url,
            agent: plain_agent(None),
            _runtime: runtime,
        };
        app.wait_for_discovery();
        app
    }

    /// Until discovery succeeds, protected routes answer 503.
    fn wait_for_discovery(&self) {
        let token = self.token("api:read");
        let start = Instant::now();
        while self.get("/api/things", Some(&token)).status == 503 {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no discovery within 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn token(&self, scope: &str) -> String {
        self.provider.token(scope, &self.url)
    }

    fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let headers: Vec<(&str, String)> = token
            .map(|t| vec![("Authorization", format!("Bearer {t}"))])
            .unwrap_or_default();
        self.send("GET", path, &headers)
    }

    fn send(&self, method: &str, path: &str, headers: &[(&str, String)]) -> Reply {
        let url = format!("{}{path}", self.url);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let reply = self
            .agent
            .run(builder.body(String::new()).unwrap())
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Reply::from(reply)
    }

    fn challenge(&self, error: Option<&str>, scope: &str) -> String {
        let error = error.map_or(String::new(), |e| format!(r#"error="{e}", "#));
        format!(
            r#"Bearer {error}resource_metadata="{}/.well-known/oauth-protected-resource", scope="{scope}""#,
            self.url
        )
    }
}

#[test]
fn public_route_and_the_metadata_document_need_no_token() {
    let app = App::start();
    let public = app.get("/", None);
    assert_eq!((public.status, public.body.as_str()), (200, "public"));
    let prm = app.get("/.well-known/oauth-protected-resource", None);
    assert_eq!(prm.status, 200);
    assert_eq!(prm.header("content-type"), Some("application/json"));
    let prm = prm.json();
    assert_eq!(prm["resource"], app.url);
    assert_eq!(prm["authorization_servers"], json!([app.provider.issuer]));
    assert_eq!(prm["scopes_supported"], json!(["api:read", "api:write"]));
    assert_eq!(prm["resource_name"], "Things API");
}

#[test]
fn a_read_token_reaches_the_handler_with_its_grant() {
    let app = App::start();
    let token = app.token("api:read");
    for _ in 0..2 {
        let reply = app.get("/api/things", Some(&token));
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            reply.json(),
            json!({"principal": CLIENT_ID, "scopes": ["api:read"], "audience": app.url})
        );
    }
}

#[test]
fn no_token_or_another_audience_401_with_the_challenge() {
    let app = App::start();
    let missing = app.get("/api/things", None);
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some(app.challenge(None, "api:read").as_str())
    );
    assert_eq!(missing.json()["error"], "Authentication required");

    let foreign = app.provider.token("api:read", "https://other-api.example");
    let reply = app.get("/api/things", Some(&foreign));
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(app.challenge(Some("invalid_token"), "api:read").as_str())
    );
}

#[test]
fn a_missing_scope_403_per_route() {
    let app = App::start();
    let reader = app.token("api:read");
    let reply = app.get("/api/admin", Some(&reader));
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            app.challenge(Some("insufficient_scope"), "api:read api:write")
                .as_str()
        )
    );
    assert_eq!(reply.json()["error"], "Insufficient permissions");
    let writer = app.token("api:read api:write");
    let reply = app.get("/api/admin", Some(&writer));
    assert_eq!((reply.status, reply.body.as_str()), (200, "admin"));
}

#[test]
fn provider_down_503_not_401() {
    let mut app = App::start();
    // Minted but never shown to the layer, so no cached answer can decide it.
    let token = app.token("api:read");
    app.provider.stop();
    let reply = app.get("/api/things", Some(&token));
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert!(reply.header("www-authenticate").is_none());
    assert_eq!(reply.json()["error"], "Authorization server unavailable");
}

#[test]
fn cors_preflight_passes_through_without_a_token() {
    let app = App::start();
    let headers = [
        ("Origin", "http://localhost:5173".to_owned()),
        ("Access-Control-Request-Method", "GET".to_owned()),
    ];
    let reply = app.send("OPTIONS", "/api/things", &headers);
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(reply.header("x-preflight"), Some("app"));
    // A plain OPTIONS is no preflight: it needs a token like any request.
    assert_eq!(app.send("OPTIONS", "/api/things", &[]).status, 401);
}

#[test]
fn the_layers_own_answers_say_nosniff_as_every_core_answer_does() {
    let mut app = App::start();
    let reader = app.token("api:read");
    let unseen = app.token("api:read");
    let mut answers = vec![
        (
            "metadata",
            app.get("/.well-known/oauth-protected-resource", None),
        ),
        ("401", app.get("/api/things", None)),
        ("403", app.get("/api/admin", Some(&reader))),
    ];
    app.provider.stop();
    answers.push(("503", app.get("/api/things", Some(&unseen))));
    for (what, reply) in answers {
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{what}: {reply:?}"
        );
    }
}
