//! The Push Advisor API: its routes and handlers on top of the HTTP engine.

pub mod content;
pub mod openapi;

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embedded_io_async::Write;
use rand_core::RngCore;
use serde::Serialize;

use crate::http::response::{JSON, WriteError};
use crate::http::{Body, MethodSet, Request, Responder, Sent, Status};
use crate::server::Service;
use crate::time::{Clock, Weekday};
use content::{PushVerdict, Vibe};
use openapi::OpenApiParams;

/// Configuration of the Push Advisor app.
#[derive(Debug, Clone, Copy)]
pub struct AppConfig<'a> {
    /// The canonical URI of this API (no trailing slash), e.g. `https://api.example.com`.
    pub public_url: &'a str,
    /// The provider's authorization endpoint, for the OpenAPI document.
    pub authorization_endpoint: &'a str,
    /// The provider's token endpoint, for the OpenAPI document.
    pub token_endpoint: &'a str,
}

/// Every route the app answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Root,
    Index,
    CanIPushToProd,
    VibeCheck,
    OpenApi,
}

const ROUTES: [(&str, Route, MethodSet); 5] = [
    ("/", Route::Root, MethodSet::GET),
    ("/index", Route::Index, MethodSet::GET),
    ("/can-i-push-to-prod", Route::CanIPushToProd, MethodSet::GET),
    ("/vibe-check", Route::VibeCheck, MethodSet::GET),
    ("/openapi.json", Route::OpenApi, MethodSet::GET),
];

impl Route {
    pub fn find(path: &str) -> Option<(Route, MethodSet)> {
        ROUTES
            .iter()
            .find(|(p, _, _)| *p == path)
            .map(|(_, route, methods)| (*route, *methods))
    }
}

/// The app: configuration plus the clock and randomness the adapter supplies.
pub struct PushAdvisor<'a, M: RawMutex, C, R> {
    config: AppConfig<'a>,
    clock: C,
    rng: Mutex<M, RefCell<R>>,
}

impl<M: RawMutex, C, R> core::fmt::Debug for PushAdvisor<'_, M, C, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PushAdvisor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ErrorMessage<'a> {
    error: &'a str,
    message: &'a str,
}

impl<'a, M: RawMutex, C: Clock, R: RngCore> PushAdvisor<'a, M, C, R> {
    pub fn new(config: AppConfig<'a>, clock: C, rng: R) -> Self {
        PushAdvisor {
            config,
            clock,
            rng: Mutex::new(RefCell::new(rng)),
        }
    }

    pub fn config(&self) -> &AppConfig<'a> {
        &self.config
    }

    /// The `/can-i-push-to-prod` verdict, or `None` while wall time is unknown.
    pub fn push_verdict(&self) -> Option<PushVerdict> {
        self.clock
            .unix_seconds()
            .map(|now| PushVerdict::for_day(Weekday::from_unix_seconds(now)))
    }

    pub fn vibe(&self) -> Vibe {
        self.rng.lock(|rng| Vibe::draw(&mut *rng.borrow_mut()))
    }

    async fn can_i_push<W: Write>(
        &self,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        match self.push_verdict() {
            Some(verdict) => response.json(Status::OK, &[], &verdict).await,
            None => {
                let body = ErrorMessage {
                    error: "Wall time unknown",
                    message: "The server has not learned the current date yet; try again shortly.",
                };
                response
                    .json(Status::SERVICE_UNAVAILABLE, &[("Retry-After", "5")], &body)
                    .await
            }
        }
    }

    async fn openapi<W: Write>(
        &self,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let params = OpenApiParams {
            server_url: self.config.public_url,
            authorization_url: self.config.authorization_endpoint,
            token_url: self.config.token_endpoint,
        };
        let render = |out: &mut dyn core::fmt::Write| openapi::render(&params, out);
        response
            .send(Status::OK, JSON, &[], Body::Render(&render))
            .await
    }
}

impl<M: RawMutex, C: Clock, R: RngCore> Service for PushAdvisor<'_, M, C, R> {
    fn route(&self, path: &str) -> Option<MethodSet> {
        Route::find(path).map(|(_, methods)| methods)
    }

    async fn call<W: Write>(
        &self,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        let Some((route, _)) = Route::find(request.path) else {
            return response
                .json(
                    Status::NOT_FOUND,
                    &[],
                    &ErrorMessage {
                        error: "Not found",
                        message: "",
                    },
                )
                .await;
        };
        match route {
            Route::Root => {
                response
                    .send(Status::OK, JSON, &[], Body::Bytes(content::ROOT.as_bytes()))
                    .await
            }
            Route::Index => {
                response
                    .send(
                        Status::OK,
                        JSON,
                        &[],
                        Body::Bytes(content::INDEX.as_bytes()),
                    )
                    .await
            }
            Route::CanIPushToProd => self.can_i_push(response).await,
            Route::VibeCheck => response.json(Status::OK, &[], &self.vibe()).await,
            Route::OpenApi => self.openapi(response).await,
        }
    }
}
