//! One log line per answered request: method, path (never the query, which can carry
//! login codes), status, and the MCP request headers when present (`MCP-Protocol-Version`,
//! `Mcp-Method`: which revision and method a client spoke); one per refused request (status
//! and reason). No other header is logged, so tokens stay out. Each request is also counted
//! in the metrics, by route and status, with its latency.

use std::time::Instant;

use embedded_io_async::Write;
use push_advisor_app::routes::ROUTES;
use push_advisor_http::response::WriteError;
use push_advisor_http::server::Service;
use push_advisor_http::{MethodSet, Request, RequestError, Responder, Sent};
use tracing::info;

use crate::metrics::Metrics;

/// Wraps a service with the access log and the request metrics.
#[derive(Debug)]
pub struct AccessLogged<S> {
    /// The service.
    pub service: S,
    /// Where requests are counted.
    pub metrics: &'static Metrics,
}

/// The route table's spelling of `path` (a bounded label), or `other`.
fn route_label(path: &str) -> &'static str {
    let path = if path.is_empty() { "/" } else { path };
    ROUTES
        .iter()
        .find(|row| row.path == path)
        .map_or("other", |row| row.path)
}

impl<S: Service> Service for AccessLogged<S> {
    type Route = S::Route;

    fn route(&self, path: &str) -> Option<(S::Route, MethodSet)> {
        self.service.route(path)
    }

    async fn call<W: Write>(
        &self,
        route: S::Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let started = Instant::now();
        let sent = self.service.call(route, request, response).await;
        self.metrics
            .request_latency(route_label(request.path), started.elapsed());
        sent
    }

    fn refused(&self, error: RequestError) {
        self.metrics.request("unparsed", error.status().code);
        info!(
            status = error.status().code,
            reason = error.message(),
            "request refused"
        );
    }

    fn responded(&self, request: &Request<'_>, status: u16) {
        self.metrics.request(route_label(request.path), status);
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
