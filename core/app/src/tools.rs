//! The MCP side of the app: the three tools over the same handlers as the REST routes,
//! and the OAuth access hook for `/mcp` (every request, or only protected tools in
//! lazy mode).

use core::fmt;

use embedded_io_async::Write;
use heapless::String;

use super::content::{PushVerdict, Vibe};
use super::history::DeployHistory;
use super::openapi::{HISTORY_SCHEMA, VERDICT_SCHEMA, VIBE_SCHEMA};
use crate::http::response::WriteError;
use crate::http::time::Clock;
use crate::http::{Request, Responder, Sent};
use crate::mcp::{Access, Authorize, NO_ARGUMENTS, Tool, ToolCall, ToolOutcome, ToolOutput};
use crate::oauth::token::{CLIENT_ID_MAX, SUBJECT_MAX};
use crate::oauth::{Guard, OAuthConfig, Rejection, TokenInfo, TokenValidator};
use crate::scopes;

pub const CAN_I_PUSH: usize = 0;
pub const VIBE_CHECK: usize = 1;
pub const DEPLOY_HISTORY: usize = 2;

pub const TOOLS: [Tool; 3] = [
    Tool {
        name: "can_i_push_to_prod",
        title: "Can I push to prod?",
        description: "Says whether it is safe to deploy to production today (yes Monday to Thursday, no Friday to Sunday, by the UTC weekday), with the reason.",
        input_schema: NO_ARGUMENTS,
        output_schema: Some(VERDICT_SCHEMA),
        read_only: true,
        takes_arguments: false,
        scope: None,
    },
    Tool {
        name: "vibe_check",
        title: "Vibe check",
        description: "A random yes/no answer on whether to push right now, with a random vibe.",
        input_schema: NO_ARGUMENTS,
        output_schema: Some(VIBE_SCHEMA),
        read_only: true,
        takes_arguments: false,
        scope: None,
    },
    Tool {
        name: "get_deploy_history",
        title: "Deployment history",
        description: "Recent deployments, attributed to the signed-in user. Needs OAuth scope api:read.",
        input_schema: NO_ARGUMENTS,
        output_schema: Some(HISTORY_SCHEMA),
        read_only: true,
        takes_arguments: false,
        scope: Some(scopes::READ),
    },
];

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
    fn render_json(&self, out: &mut dyn fmt::Write) -> fmt::Result {
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
            None => {
                ToolOutcome::Failed("get_deploy_history needs an access token with scope api:read.")
            }
        },
        _ => ToolOutcome::Failed("Unknown tool"),
    }
}
