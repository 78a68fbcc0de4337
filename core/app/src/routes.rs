//! The route table: each route described once, in [`ROUTES`]. Everything else about a
//! route is derived from its row:
//!
//! - routing and the 405 `Allow` sets ([`Route::find`]);
//! - the guard in front of a protected handler: `Service::call` checks the scope of the
//!   handler's row ([`Protected::scope`]) before the handler runs;
//! - the `/` and `/index` documents' endpoint lists (`content`);
//! - the OpenAPI `paths` (`openapi`);
//! - the MCP tools' metadata, and which handler a tool runs (`tools`).
//!
//! The lists a device reads at run time (routing, listings, tools) are computed from the
//! table at compile time by [`from_routes!`], so it keeps those lists and not every
//! row's OpenAPI text. Builds without a feature leave its rows out; a row is the only
//! place a feature appears.
//!
//! # Adding a protected route
//!
//! 1. A row here with `access: Access::Scope(scopes::READ)` and
//!    `route: Route::Protected(Protected::New)`; the `Protected::New` variant and its arm
//!    in [`Protected::scope`] (one line, checked against the row at compile time).
//! 2. Its handler: an arm in `PushAdvisor::protected_answer` (lib.rs) that turns the
//!    caller's principal into an answer; a new kind of JSON is a variant of
//!    `answer::Answer` with its render arm.
//! 3. If its row names a tool: the arm in `tools::run` that answers it.
//!
//! The guard, `Allow`, the listings, the OpenAPI operation and the tool's metadata then
//! follow from the row; `tests/routes.rs` checks each of them for every row.

use crate::http::MethodSet;
use crate::mcp;
use crate::openapi::{HISTORY_SCHEMA, VERDICT_SCHEMA, VIBE_SCHEMA};
use crate::scopes;

/// One route, described once.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub path: &'static str,
    /// The methods it answers; others get 405 with this set as `Allow`.
    pub methods: MethodSet,
    /// Who may call it. A scope here goes with a [`Route::Protected`] handler, and
    /// only there (checked at compile time).
    pub access: Access,
    /// Its handler.
    pub route: Route,
    /// Its line in the `/` document's `endpoints`, if listed there.
    pub root: Option<&'static str>,
    /// Its line in the `/index` document's `endpoints`, if listed there.
    pub index: Option<&'static str>,
    /// Its example in the `/index` document's `usage`: label and request.
    pub usage: Option<(&'static str, &'static str)>,
    /// Its operation in the OpenAPI document, if documented there.
    pub operation: Option<Operation>,
}

/// A route as an OpenAPI operation (and, optionally, an MCP tool).
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// `operationId`.
    pub id: &'static str,
    /// `x-gram.name`, the tool name the Gram platform derives; also the name of this
    /// route's MCP tool.
    pub gram_name: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// The 200 answer.
    pub answer: AnswerType,
    /// `Some(when)` when the handler itself may answer 503 (with `Retry-After` and an
    /// `{"error","message"}` body), for the OpenAPI document.
    pub unavailable: Option<&'static str>,
    /// `Some` when the route is also an MCP tool, answering the same JSON.
    pub tool: Option<ToolText>,
}

/// What a route answers with 200: the response's description and its JSON Schema (also
/// the tool's `outputSchema`).
#[derive(Debug, Clone, Copy)]
pub struct AnswerType {
    pub description: &'static str,
    pub schema: &'static str,
}

/// What `tools/list` shows of a route's tool beyond its name, schema and scope.
#[derive(Debug, Clone, Copy)]
pub struct ToolText {
    pub title: &'static str,
    pub description: &'static str,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: no token check before the handler (`/mcp` runs its own, per message).
    Public,
    /// Only a request whose token the guard grants this scope.
    Scope(&'static str),
}

impl Access {
    /// The scope a token needs; `None` for a public route.
    pub const fn scope(self) -> Option<&'static str> {
        match self {
            Access::Public => None,
            Access::Scope(scope) => Some(scope),
        }
    }
}

/// A route's handler: what routing hands to `Service::call`. Public handlers are the
/// plain variants; a protected one is reached only through the guard. One byte on a
/// board, where each connection's future holds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Root,
    Index,
    CanIPushToProd,
    VibeCheck,
    #[cfg(feature = "openapi")]
    OpenApi,
    /// Answered after the guard granted its row's scope; the handler gets the token's
    /// principal.
    Protected(Protected),
    #[cfg(feature = "login")]
    Login,
    #[cfg(feature = "login")]
    Token,
    #[cfg(feature = "as-mirror")]
    AuthorizationServerMetadata,
    ProtectedResource,
    ProtectedResourceMcp,
    /// No guard before it: the MCP endpoint's access hook decides per message.
    Mcp,
}

/// The handlers of protected routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    DeployHistory,
}

impl Protected {
    /// The scope its row requires. Looked up at compile time, so the guard call holds a
    /// constant (a board's flash pays for a scope read at run time); the compiler asks
    /// for the arm of a new handler.
    pub const fn scope(self) -> &'static str {
        match self {
            Protected::DeployHistory => const { row_scope(Protected::DeployHistory) },
        }
    }
}

/// The scope of the one row that routes to `handler`; a build error for none or two.
const fn row_scope(handler: Protected) -> &'static str {
    let mut found = None;
    let mut at = 0;
    while at < ROUTES.len() {
        if let (Route::Protected(routed), Access::Scope(scope)) =
            (ROUTES[at].route, ROUTES[at].access)
        {
            if routed as u8 == handler as u8 {
                assert!(found.is_none(), "two rows route to one protected handler");
                found = Some(scope);
            }
        }
        at += 1;
    }
    match found {
        Some(scope) => scope,
        None => panic!("a protected handler has no row with a scope"),
    }
}

/// Every row: a scope with a protected handler, and only there.
const _: () = {
    let mut at = 0;
    while at < ROUTES.len() {
        let protected = matches!(ROUTES[at].route, Route::Protected(_));
        let scoped = matches!(ROUTES[at].access, Access::Scope(_));
        assert!(
            protected == scoped,
            "a row's access and its handler disagree"
        );
        at += 1;
    }
};

/// Every route this build serves, in the order the `/index` document lists them.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        path: "/",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::Root,
        root: None,
        index: Some("Root endpoint with welcome message"),
        usage: None,
        operation: None,
    },
    RouteSpec {
        path: "/index",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::Index,
        root: None,
        index: Some("This index endpoint with API information"),
        usage: None,
        operation: None,
    },
    RouteSpec {
        path: "/can-i-push-to-prod",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::CanIPushToProd,
        root: Some("Check if it's safe to push to production (Friday check)"),
        index: Some("Check if it's safe to push to production (Friday check)"),
        usage: Some(("Production check", "GET /can-i-push-to-prod")),
        operation: Some(Operation {
            id: "can_i_push_to_prod",
            gram_name: "can_i_push_to_prod",
            summary: "Check if it's safe to push to production",
            description: "Returns yes Monday to Thursday (UTC), no Friday to Sunday.",
            answer: AnswerType {
                description: "Successful response",
                schema: VERDICT_SCHEMA,
            },
            unavailable: Some(
                "The server has not learned the current date yet (a device before its first provider answer)",
            ),
            tool: Some(ToolText {
                title: "Can I push to prod?",
                description: "Says whether it is safe to deploy to production today (yes Monday to Thursday, no Friday to Sunday, by the UTC weekday), with the reason.",
            }),
        }),
    },
    RouteSpec {
        path: "/vibe-check",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::VibeCheck,
        root: Some("Random vibe check for pushing to GitHub"),
        index: Some("Random vibe check for pushing to GitHub"),
        usage: Some(("Vibe check", "GET /vibe-check")),
        operation: Some(Operation {
            id: "vibe_check",
            gram_name: "vibe_check",
            summary: "Random vibe check for pushing",
            description: "Returns a random yes/no answer with a random vibe.",
            answer: AnswerType {
                description: "Successful response",
                schema: VIBE_SCHEMA,
            },
            unavailable: None,
            tool: Some(ToolText {
                title: "Vibe check",
                description: "A random yes/no answer on whether to push right now, with a random vibe.",
            }),
        }),
    },
    RouteSpec {
        path: "/deploy-history",
        methods: MethodSet::GET,
        access: Access::Scope(scopes::READ),
        route: Route::Protected(Protected::DeployHistory),
        root: Some("Protected - View deployment history (OAuth required)"),
        index: Some("Protected - View deployment history (OAuth required, scope api:read)"),
        usage: Some((
            "Deploy history",
            "GET /deploy-history with Authorization: Bearer <token>",
        )),
        operation: Some(Operation {
            id: "get_deploy_history",
            gram_name: "get_deploy_history",
            summary: "Get deployment history (Protected)",
            description: "Recent deployments; needs an OAuth access token with scope api:read.",
            answer: AnswerType {
                description: "Deployment history",
                schema: HISTORY_SCHEMA,
            },
            unavailable: None,
            tool: Some(ToolText {
                title: "Deployment history",
                description: "Recent deployments, attributed to the signed-in user. Needs OAuth scope api:read.",
            }),
        }),
    },
    #[cfg(feature = "login")]
    RouteSpec {
        path: "/login",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::Login,
        root: Some("Utility - Manual OAuth token generation page"),
        index: Some("Utility - Manual OAuth token generation page"),
        usage: None,
        operation: None,
    },
    #[cfg(feature = "login")]
    RouteSpec {
        path: "/token",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::Token,
        root: None,
        index: None,
        usage: None,
        operation: None,
    },
    RouteSpec {
        path: "/mcp",
        methods: mcp::ROUTE_METHODS,
        access: Access::Public,
        route: Route::Mcp,
        root: Some("MCP endpoint (Streamable HTTP)"),
        index: Some("MCP endpoint (Streamable HTTP, OAuth protected)"),
        usage: None,
        operation: None,
    },
    #[cfg(feature = "openapi")]
    RouteSpec {
        path: "/openapi.json",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::OpenApi,
        root: Some("OpenAPI specification for this API"),
        index: Some("OpenAPI specification for this API"),
        usage: Some(("API docs", "GET /openapi.json")),
        operation: None,
    },
    RouteSpec {
        path: "/.well-known/oauth-protected-resource",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::ProtectedResource,
        root: None,
        index: Some("OAuth protected resource metadata (RFC 9728)"),
        usage: None,
        operation: None,
    },
    RouteSpec {
        path: "/.well-known/oauth-protected-resource/mcp",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::ProtectedResourceMcp,
        root: None,
        index: None,
        usage: None,
        operation: None,
    },
    #[cfg(feature = "as-mirror")]
    RouteSpec {
        path: "/.well-known/oauth-authorization-server",
        methods: MethodSet::GET,
        access: Access::Public,
        route: Route::AuthorizationServerMetadata,
        root: None,
        index: Some("OAuth authorization server metadata (RFC 8414)"),
        usage: None,
        operation: None,
    },
];

/// `[T]` of `project(row)` for every row of [`ROUTES`] where it is `Some`, in table
/// order, evaluated at compile time: `from_routes!(|row| <Option<T>>, <a T to fill with>)`.
/// The derived lists are what run time reads, so the rows' other text stays out of
/// the binary unless something else reads it.
macro_rules! from_routes {
    (|$row:ident| $project:expr, $filler:expr) => {{
        const COUNT: usize = {
            let mut count = 0;
            let mut at = 0;
            while at < $crate::routes::ROUTES.len() {
                let $row = &$crate::routes::ROUTES[at];
                if $project.is_some() {
                    count += 1;
                }
                at += 1;
            }
            count
        };
        let mut derived = [$filler; COUNT];
        let (mut at, mut filled) = (0, 0);
        while at < $crate::routes::ROUTES.len() {
            let $row = &$crate::routes::ROUTES[at];
            if let Some(item) = $project {
                derived[filled] = item;
                filled += 1;
            }
            at += 1;
        }
        derived
    }};
}
pub(crate) use from_routes;

/// What routing reads of each row.
const ROUTING: &[(&str, Route, MethodSet)] = &from_routes!(
    |row| Some((row.path, row.route, row.methods)),
    ("", Route::Root, MethodSet::GET)
);

impl Route {
    /// The route at `path` and the methods it answers.
    pub fn find(path: &str) -> Option<(Route, MethodSet)> {
        ROUTING
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, route, methods)| (*route, *methods))
    }
}
