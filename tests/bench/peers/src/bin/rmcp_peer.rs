//! The rmcp peer: the `get_deploy_history` tool on rmcp's streamable HTTP server,
//! stateless with JSON answers, behind the same axum introspection middleware.

use axum::{Router, middleware};
use bench_peers::{DeployHistory, Introspector, Principal, Settings, require_read};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

#[derive(Clone)]
struct Advisor {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Advisor {
    fn new() -> Self {
        Advisor {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Recent deployments, attributed to the signed-in user. Needs OAuth scope api:read."
    )]
    fn get_deploy_history(
        &self,
        Extension(parts): Extension<axum::http::request::Parts>,
    ) -> Json<DeployHistory> {
        let user = parts
            .extensions
            .get::<Principal>()
            .map_or("unknown", |Principal(user)| user.as_str());
        Json(DeployHistory::for_user(user))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Advisor {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() {
    let settings = Settings::from_env();
    let bind = settings.bind.clone();
    let introspector = Introspector::discover(settings).await;
    let mcp = StreamableHttpService::new(
        || Ok(Advisor::new()),
        NeverSessionManager::default().into(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true),
    );
    let app = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(introspector, require_read));
    let listener = tokio::net::TcpListener::bind(&bind).await.expect("listen");
    println!("PEER_READY http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.expect("serve");
}
