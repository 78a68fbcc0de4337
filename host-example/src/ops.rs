//! The ops listener, off unless `--metrics-bind` is set: `/healthz` (the process
//! answers), `/readyz` (the provider's metadata is known and the provider was reached
//! recently, or is reachable now) and `/metrics` (Prometheus text). It is served by the
//! same HTTP core and accept loop as the API, on its own address, so a scraper or a
//! probe never competes with API clients for connections.

use std::time::Duration;

use embedded_io_async::Write;
use push_advisor_app::Metadata;
use push_advisor_http::net::{Connect, Endpoint};
use push_advisor_http::response::{Body, WriteError};
use push_advisor_http::server::Service;
use push_advisor_http::{MethodSet, Request, Responder, Sent, Status};
use push_advisor_oauth::MetadataSource;

use crate::metrics::Metrics;
use crate::provider_link::LoggedConnector;

/// How recent a provider call that worked must be for `/readyz` to trust it without
/// probing the provider again.
const FRESH: Duration = Duration::from_secs(30);

const TEXT: &str = "text/plain; charset=utf-8";
/// The OpenMetrics text format `prometheus-client` writes (Prometheus scrapes it).
const PROMETHEUS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The ops endpoints.
#[derive(Debug, Clone, Copy)]
pub enum OpsRoute {
    Health,
    Ready,
    Metrics,
}

/// The ops service: what `/readyz` looks at and what `/metrics` renders.
#[derive(Debug)]
pub struct Ops {
    /// Every metric of the process.
    pub metrics: &'static Metrics,
    /// The provider's metadata, set once discovery succeeds.
    pub metadata: &'static Metadata,
    /// The way to the provider, for the readiness probe.
    pub connector: &'static LoggedConnector,
    /// How long the readiness probe may take to connect.
    pub probe_timeout: Duration,
}

impl Ops {
    /// `Ok` when ready, else why not.
    async fn readiness(&self) -> Result<(), &'static str> {
        let Some(view) = self.metadata.metadata() else {
            return Err("provider metadata not known yet: discovery has not succeeded");
        };
        if self.metrics.provider_recently_ok(FRESH) {
            return Ok(());
        }
        let Some(endpoint) = view.introspection_endpoint().and_then(Endpoint::parse) else {
            return Err("the provider advertises no usable introspection endpoint");
        };
        match tokio::time::timeout(self.probe_timeout, self.connector.connect(&endpoint)).await {
            Ok(Ok(_connection)) => Ok(()),
            Ok(Err(_)) => Err("the introspection endpoint is unreachable"),
            Err(_) => Err("the introspection endpoint did not answer in time"),
        }
    }
}

impl Service for Ops {
    type Route = OpsRoute;

    fn route(&self, path: &str) -> Option<(OpsRoute, MethodSet)> {
        let route = match path {
            "/healthz" => OpsRoute::Health,
            "/readyz" => OpsRoute::Ready,
            "/metrics" => OpsRoute::Metrics,
            _ => return None,
        };
        Some((route, MethodSet::GET))
    }

    async fn call<W: Write>(
        &self,
        route: OpsRoute,
        _request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        match route {
            OpsRoute::Health => {
                response
                    .send(Status::OK, TEXT, &[], Body::Bytes(b"ok\n"))
                    .await
            }
            OpsRoute::Ready => match self.readiness().await {
                Ok(()) => {
                    response
                        .send(Status::OK, TEXT, &[], Body::Bytes(b"ready\n"))
                        .await
                }
                Err(why) => {
                    let body = format!("not ready: {why}\n");
                    response
                        .send(
                            Status::SERVICE_UNAVAILABLE,
                            TEXT,
                            &[],
                            Body::Bytes(body.as_bytes()),
                        )
                        .await
                }
            },
            OpsRoute::Metrics => {
                let text = self.metrics.render();
                response
                    .send(Status::OK, PROMETHEUS, &[], Body::Bytes(text.as_bytes()))
                    .await
            }
        }
    }
}
