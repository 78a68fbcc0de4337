//! An MCP client built with the official Rust SDK (`rmcp`) speaking MCP 2026-07-28.
//!
//! Usage: `MCP_BEARER_TOKEN=<token> cargo run -p push-advisor-tower --example rmcp_client -- <mcp-url>`
//!
//! Connects over streamable HTTP with `Authorization: Bearer <token>` (the token comes from the
//! environment so that it never shows in a process list, and is never printed), starts with
//! `server/discover` pinned to 2026-07-28 (rmcp's `ClientLifecycleMode::Discover`, which never
//! falls back to `initialize`), lists the tools, calls `can_i_push_to_prod`, `vibe_check` and
//! `get_deploy_history` with no arguments, and prints one JSON object:
//! `{"protocol_version", "server_info", "tools": [...], "calls": {name: {"is_error",
//! "structured_content", "structured": bool}}}`.

use std::process::ExitCode;

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
};
use rmcp::serde_json::{Map, Value, json};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

const TOOLS: [&str; 3] = ["can_i_push_to_prod", "vibe_check", "get_deploy_history"];

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), None) = (args.next(), args.next()) else {
        eprintln!("usage: MCP_BEARER_TOKEN=<token> rmcp_client <mcp-url>");
        return ExitCode::from(2);
    };
    let token = std::env::var("MCP_BEARER_TOKEN").unwrap_or_default();
    if token.is_empty() {
        eprintln!("MCP_BEARER_TOKEN is not set");
        return ExitCode::from(2);
    }
    match run(url, token).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("rmcp_client: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: String, token: String) -> Result<Value, Box<dyn std::error::Error>> {
    // `auth_header` is the bare token; the reqwest client sends it as `Bearer <token>`.
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(token),
    );
    let client_config = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("push-advisor-rmcp-client", env!("CARGO_PKG_VERSION")),
    );
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client = client_config
        .serve_with_lifecycle(transport, lifecycle)
        .await?;

    let peer_info = client
        .peer_info()
        .ok_or("no server info after server/discover")?;
    let tools = client.list_all_tools().await?;
    let mut calls = Map::new();
    for name in TOOLS {
        let result = client.call_tool(CallToolRequestParams::new(name)).await?;
        calls.insert(
            name.to_owned(),
            json!({
                "is_error": result.is_error.unwrap_or(false),
                "structured": result.structured_content.as_ref().is_some_and(Value::is_object),
                "structured_content": result.structured_content,
            }),
        );
    }
    let report = json!({
        "protocol_version": peer_info.protocol_version.as_str(),
        "server_info": peer_info.server_info,
        "tools": tools.iter().map(|tool| tool.name.as_ref()).collect::<Vec<_>>(),
        "calls": calls,
    });
    client.cancel().await?;
    Ok(report)
}
