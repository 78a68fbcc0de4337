//! The MCP side of the app: the tools (the route table's rows that name one) over the
//! same handlers as the REST routes, and the OAuth access hook for `/mcp` (every
//! request, or only protected tools in lazy mode).

use core::fmt;

use embedded_io_async::Write;
use heapless::String;

use super::content::{PushVerdict, Vibe};
use super::history::DeployHistory;
use crate::http::response::WriteError;
use crate::http::time::Clock;
use crate::http::{Request, Responder, Sent};
use crate::mcp::{Access, Authorize, NO_ARGUMENTS, Tool, ToolCall, ToolOutcome, ToolOutput};
use crate::oauth::token::{CLIENT_ID_MAX, SUBJECT_MAX};
use crate::oauth::{Guard, OAuthConfig, Rejection, TokenInfo, TokenValidator};
use crate::routes::{Protected, Route, RouteSpec, from_routes};
use crate::scopes;

/// The tools: the rows of the route table that name one, in table order.
pub const TOOLS: &[Tool] = &from_routes!(|row| tool_of(row), UNUSED_TOOL);

/// The route each tool answers as, by position in [`TOOLS`]; read at compile time only.
const TOOL_ROUTES: &[Route] = &from_routes!(
    |row| match tool_of(row) {
        Some(_) => Some(row.route),
        None => None,
    },
    Route::Root
);

/// The position in [`TOOLS`] of the tool whose route matches the pattern, computed at
/// compile time: `run` then dispatches on plain indices, as small as a hand-kept list.
macro_rules! tool_index {
    ($route:pat) => {{
        let mut at = 0;
        while at < TOOL_ROUTES.len() && !matches!(TOOL_ROUTES[at], $route) {
            at += 1;
        }
        assert!(at < TOOL_ROUTES.len(), "no row names a tool for this route");
        at
    }};
}

const CAN_I_PUSH: usize = tool_index!(Route::CanIPushToProd);
const VIBE_CHECK: usize = tool_index!(Route::VibeCheck);
const DEPLOY_HISTORY: usize = tool_index!(Route::Protected(Protected::DeployHistory));

/// Fills the derived list before its tools are written in.
const UNUSED_TOOL: Tool = Tool {
    name: "",
    title: "",
    description: "",
    input_schema: NO_ARGUMENTS,
    output_schema: None,
    read_only: true,
    takes_arguments: false,
    scope: None,
};

/// A row's tool: named by its `x-gram` name, answering its JSON, needing its scope.
/// Routes answer GET without arguments, so their tools read only and take none.
const fn tool_of(row: &RouteSpec) -> Option<Tool> {
    let Some(operation) = &row.operation else {
        return None;
    };
    let Some(text) = &operation.tool else {
        return None;
    };
    Some(Tool {
        name: operation.gram_name,
        title: text.title,
        description: text.description,
        input_schema: NO_ARGUMENTS,
        output_schema: Some(operation.answer.schema),
        read_only: true,
        takes_arguments: false,
        scope: row.access.scope(),
    })
}

/// Scope named in `/mcp` challenges when a request carries no token.
const SESSION_SCOPE: &str = scopes::READ;

/// Who a granted `/mcp` request acts for (`TokenInfo::principal`): all the tools need,
/// and much smaller than the `TokenInfo` the request would otherwise hold across the
/// tool call and the reply.
pub type Principal = String<{ max(SUBJECT_MAX, CLIENT_ID_MAX) }>;

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// The access hook for `/mcp`. The grant is the token's principal (none for anonymous
/// lazy access).
#[derive(Debug)]
pub struct McpAccess<'g, V, K> {
    pub guard: Guard<'g, V, K>,
    pub config: &'g OAuthConfig<'g>,
    pub lazy: bool,
}

impl<'g, V: TokenValidator, K: Clock> Authorize for McpAccess<'g, V, K> {
    type Grant = Option<Principal>;
    type Refusal = Rejection<'g>;

    async fn authorize(
        &self,
        request: &Request<'_>,
        access: Access,
    ) -> Result<Option<Principal>, Rejection<'g>> {
        let required = match access {
            Access::Session if self.lazy => return Ok(None),
            Access::Session => "",
            Access::Tool { scope, .. } => scope,
        };
        match self.guard.check_with(request, required, principal).await {
            Ok(user) => Ok(Some(user)),
            // A session check asks for no scope; the challenge still names the useful one.
            Err(rejection) if required.is_empty() => {
                Err(Rejection::new(rejection.kind, self.config, SESSION_SCOPE))
            }
            Err(rejection) => Err(rejection),
        }
    }

    async fn refuse<W: Write>(
        &self,
        refusal: Rejection<'g>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        refusal.send(response).await
    }
}

/// The token's principal; as the REST route, "unknown" for a token with neither
/// subject nor client id.
pub fn principal(info: &TokenInfo) -> Principal {
    String::try_from(info.principal().unwrap_or("unknown")).unwrap_or_default()
}

/// A tool's result, rendered on demand into the MCP envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolResult<'a> {
    Verdict(PushVerdict),
    Vibe(Vibe),
    /// The deploy history, attributed to this principal.
    History(&'a str),
}

impl ToolOutput for ToolResult<'_> {
    fn render_json(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
        match self {
            ToolResult::Verdict(verdict) => verdict.render_json(out),
            ToolResult::Vibe(vibe) => vibe.render_json(out),
            ToolResult::History(user) => DeployHistory { user }.render(out),
        }
    }
}

/// Runs a tool for a granted call.
pub fn run<'a>(
    call: &ToolCall<'a, Option<Principal>>,
    verdict: impl FnOnce() -> Option<PushVerdict>,
    vibe: impl FnOnce() -> Vibe,
) -> ToolOutcome<ToolResult<'a>> {
    match call.index {
        CAN_I_PUSH => match verdict() {
            Some(verdict) => ToolOutcome::Json(ToolResult::Verdict(verdict)),
            None => ToolOutcome::Failed(
                "The server does not know today's date yet; try again in a few seconds.",
            ),
        },
        VIBE_CHECK => ToolOutcome::Json(ToolResult::Vibe(vibe())),
        DEPLOY_HISTORY => match call.grant {
            Some(user) => ToolOutcome::Json(ToolResult::History(user)),
            // The access hook grants a protected tool only for a token.
            None => ToolOutcome::Failed("This tool needs an access token."),
        },
        _ => ToolOutcome::Failed("Unknown tool"),
    }
}
