//! One log line per answered request: method, path (never the query, which can carry
//! login codes), status, and the MCP request headers when present (`MCP-Protocol-Version`,
//! `Mcp-Method`: which revision and method a client spoke); one per refused request (status
//! and reason). No other header is logged, so tokens stay out.

use embedded_io_async::Write;
use push_advisor_http::response::WriteError;
use push_advisor_http::server::Service;
use push_advisor_http::{MethodSet, Request, RequestError, Responder, Sent};
use tracing::info;

/// Wraps a service with the access log.
#[derive(Debug)]
pub struct AccessLogged<S>(pub S);

impl<S: Service> Service for AccessLogged<S> {
    type Route = S::Route;

    fn route(&self, path: &str) -> Option<(S::Route, MethodSet)> {
        self.0.route(path)
    }

    async fn call<W: Write>(
        &self,
        route: S::Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        self.0.call(route, request, response).await
    }

    fn refused(&self, error: RequestError) {
        info!(
            status = error.status().code,
            reason = error.message(),
            "request refused"
        );
    }

    fn responded(&self, request: &Request<'_>, status: u16) {
        let header = |name| request.header_str(name).unwrap_or("-");
        info!(
            method = request.method.as_str(),
            path = request.path,
            status,
            mcp_version = ?header("mcp-protocol-version"),
            mcp_method = ?header("mcp-method"),
            "request"
        );
    }
}
