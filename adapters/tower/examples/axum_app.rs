//! An axum app with one public and one protected route, behind the auth layer.
//!
//! ```sh
//! ISSUER=http://127.0.0.1:9000 CLIENT_SECRET=dev-secret-push-advisor \
//!   cargo run -p push-advisor-tower --example axum_app
//! curl -i http://127.0.0.1:3000/            # 200, public
//! curl -i http://127.0.0.1:3000/api/things  # 401 with the challenge
//! curl -i http://127.0.0.1:3000/bare        # 200, outside the layer
//! ```
//!
//! Settings: `BIND` (127.0.0.1:3000), `PUBLIC_URL` (http://<BIND>, the resource tokens
//! must name), `ISSUER`, `CLIENT_ID` (push-advisor), `CLIENT_SECRET` (for introspection).

use axum::routing::get;
use axum::{Extension, Router};
use push_advisor_oauth::{ClientAuth, ClientCredentials, OAuthConfig};
use push_advisor_tower::{Authorized, OAuthLayer, host_validator};

fn setting(name: &str, default: Option<&str>) -> &'static str {
    let value = std::env::var(name)
        .ok()
        .or(default.map(str::to_owned))
        .unwrap_or_else(|| panic!("set {name}"));
    Box::leak(value.into_boxed_str())
}

#[tokio::main]
async fn main() {
    let bind = setting("BIND", Some("127.0.0.1:3000"));
    let public_url = setting("PUBLIC_URL", Some(&format!("http://{bind}")));
    let client = ClientCredentials {
        client_id: setting("CLIENT_ID", Some("push-advisor")),
        client_secret: setting("CLIENT_SECRET", None),
        auth: ClientAuth::ClientSecretBasic,
    };
    let metadata_url = setting(
        "RESOURCE_METADATA_URL",
        Some(&format!(
            "{public_url}/.well-known/oauth-protected-resource"
        )),
    );
    let config: &'static OAuthConfig<'static> = Box::leak(Box::new(OAuthConfig {
        scopes_supported: &["api:read", "api:write"],
        resource_name: "axum example",
        ..OAuthConfig::new(public_url, metadata_url, setting("ISSUER", None), client)
    }));
    let validator = host_validator(config, Default::default()).expect("connector");
    let app = Router::new()
        .route("/", get(|| async { "public\n" }))
        .route(
            "/api/things",
            get(|Extension(who): Extension<Authorized>| async move {
                format!("hello {:?}, you have {:?}\n", who.principal, who.scopes)
            }),
        )
        .layer(
            OAuthLayer::new(config, validator)
                .public("/")
                .route_scope("/api", "api:read"),
        )
        // Routes added after `.layer` are outside it: tests/bench/gateways.sh compares
        // this bare route with the protected one to measure the layer's cost.
        .route("/bare", get(|| async { "bare\n" }));
    let listener = tokio::net::TcpListener::bind(bind).await.expect("listen");
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.expect("serve");
}
