//! An MCP server built with the `rmcp` crate whose `/mcp` is protected by the auth
//! layer: an MCP client that starts with no token gets the 401 challenge, finds the
//! provider through the RFC 9728 document the layer serves, logs in and lists tools.
//!
//! ```sh
//! ISSUER=http://127.0.0.1:9000 CLIENT_SECRET=dev-secret-push-advisor \
//!   cargo run -p push-advisor-tower --example rmcp_server
//! ```
//!
//! Settings: `BIND` (127.0.0.1:8000), `PUBLIC_URL` (http://<BIND>; the MCP resource is
//! `<PUBLIC_URL>/mcp`), `ISSUER`, `CLIENT_ID` (push-advisor), `CLIENT_SECRET`.

use axum::Router;
use push_advisor_oauth::{ClientAuth, ClientCredentials, OAuthConfig};
use push_advisor_tower::{Authorized, OAuthLayer, host_validator};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct AddRequest {
    a: i64,
    b: i64,
}

#[derive(Debug, Clone)]
struct Tools {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Tools {
    fn new() -> Self {
        Tools {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Adds two integers")]
    fn add(&self, Parameters(AddRequest { a, b }): Parameters<AddRequest>) -> String {
        (a + b).to_string()
    }

    /// The grant the layer put in the HTTP request's extensions reaches the tool.
    #[tool(description = "Who the access token acts for, and its scopes")]
    fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        match parts.extensions.get::<Authorized>() {
            Some(who) => format!(
                "{} with {}",
                who.principal.as_deref().unwrap_or("(no subject)"),
                who.scopes.join(" ")
            ),
            None => "not authorized".to_owned(),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn setting(name: &str, default: Option<&str>) -> &'static str {
    let value = std::env::var(name)
        .ok()
        .or(default.map(str::to_owned))
        .unwrap_or_else(|| panic!("set {name}"));
    Box::leak(value.into_boxed_str())
}

#[tokio::main]
async fn main() {
    let bind = setting("BIND", Some("127.0.0.1:8000"));
    let public_url = setting("PUBLIC_URL", Some(&format!("http://{bind}")));
    let client = ClientCredentials {
        client_id: setting("CLIENT_ID", Some("push-advisor")),
        client_secret: setting("CLIENT_SECRET", None),
        auth: ClientAuth::ClientSecretBasic,
    };
    // The MCP endpoint is the resource; its document sits at the path-form address
    // MCP clients look up.
    let resource = setting("RESOURCE", Some(&format!("{public_url}/mcp")));
    let metadata_url = setting(
        "RESOURCE_METADATA_URL",
        Some(&format!(
            "{public_url}/.well-known/oauth-protected-resource/mcp"
        )),
    );
    let config: &'static OAuthConfig<'static> = Box::leak(Box::new(OAuthConfig {
        scopes_supported: &["api:read", "api:write"],
        resource_name: "rmcp example",
        ..OAuthConfig::new(resource, metadata_url, setting("ISSUER", None), client)
    }));
    let validator = host_validator(config, Default::default()).expect("connector");
    let mcp: StreamableHttpService<Tools, LocalSessionManager> = StreamableHttpService::new(
        || Ok(Tools::new()),
        Default::default(),
        StreamableHttpServerConfig::default(),
    );
    let app = Router::new().nest_service("/mcp", mcp).layer(
        OAuthLayer::new(config, validator)
            .public("/")
            .route_scope("/mcp", "api:read"),
    );
    let listener = tokio::net::TcpListener::bind(bind).await.expect("listen");
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.expect("serve");
}
