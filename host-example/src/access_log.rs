//! One log line per request: method, path (never the query, which can carry login
//! codes), status and duration. Headers are never logged, so tokens stay out.

use std::time::Instant;

use embedded_io_async::Write;
use push_advisor_core::http::response::WriteError;
use push_advisor_core::http::{MethodSet, Request, Responder, Sent};
use push_advisor_core::server::Service;
use tracing::info;

/// Wraps a service with the access log.
#[derive(Debug)]
pub struct AccessLogged<S>(pub S);

impl<S: Service> Service for AccessLogged<S> {
    fn route(&self, path: &str) -> Option<MethodSet> {
        self.0.route(path)
    }

    async fn call<W: Write>(
        &self,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let started = Instant::now();
        let sent = self.0.call(request, response).await;
        if tracing::enabled!(tracing::Level::INFO) {
            let status = sent.as_ref().map_or(0, Sent::status);
            info!(
                method = request.method.as_str(),
                path = request.path,
                status,
                micros = started.elapsed().as_micros() as u64,
                "request"
            );
        }
        sent
    }
}
