//! The Push Advisor API on the HTTP, OAuth and MCP crates: "can I push to prod?", a vibe
//! check and an OAuth-protected deployment history, over REST and as MCP tools. Every
//! route is one row of [`routes::ROUTES`]; its scopes are named in [`scopes`]; the
//! platform (mutex kind, clock, randomness, connector) is one [`Platform`] type.
//!
//! Its OAuth settings, and a route as the table describes it:
//!
//! ```
//! use push_advisor_app::routes::{Access, ROUTES};
//! use push_advisor_app::{AppUrls, oauth_config, scopes};
//! use push_advisor_oauth::{ClientAuth, ClientCredentials};
//!
//! let urls = AppUrls::new("https://push.example").unwrap();
//! assert_eq!(urls.mcp, "https://push.example/mcp");
//! let client = ClientCredentials {
//!     client_id: "push-advisor",
//!     client_secret: "secret",
//!     auth: ClientAuth::ClientSecretBasic,
//! };
//! let oauth = oauth_config("https://push.example", &urls.resource_metadata, "https://id.example", client);
//! assert_eq!((oauth.resource_name, oauth.scopes_supported), ("Push Advisor API", scopes::ALL));
//!
//! let history = ROUTES.iter().find(|row| row.path == "/deploy-history").unwrap();
//! assert_eq!(history.access, Access::Scope(scopes::READ));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "std")]
extern crate std;

use push_advisor_http as http;
use push_advisor_mcp as mcp;
use push_advisor_oauth as oauth;

mod answer;
pub mod content;
pub mod history;
#[cfg(feature = "login")]
pub mod login_pages;
pub mod openapi;
pub mod routes;
pub mod scopes;
pub mod tools;

use core::cell::RefCell;
#[cfg(feature = "login")]
use core::fmt::Write as _;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embedded_io_async::Write;
use heapless::String;
use rand_core::RngCore;

#[cfg(feature = "login")]
use crate::http::codec::percent_decode;
use crate::http::net::Connect;
#[cfg(feature = "login")]
use crate::http::response::HTML;
#[cfg(feature = "login")]
use crate::http::response::RenderedHeader;
use crate::http::response::WriteError;
use crate::http::server::Service;
use crate::http::time::{Clock, Weekday};
#[cfg(feature = "login")]
use crate::http::{Body, Header, Status};
use crate::http::{MethodSet, Request, Responder, Sent};
use crate::mcp::{McpConfig, ToolCall, ToolOutcome, ToolSet};
use crate::oauth::metadata::URL_MAX;
#[cfg(feature = "login")]
use crate::oauth::{AuthorizationUrl, ExchangeError, LoginCookie, LoginStore, exchange_code};
use crate::oauth::{
    ClientCredentials, Guard, Member, Members, MetadataSource, OAuthConfig, ProviderBuffers,
    SharedMetadata, TokenValidator, protected_resource_document,
};
use answer::Answer;
#[cfg(feature = "login")]
use answer::NO_STORE;
use content::{PushVerdict, Vibe};
#[cfg(feature = "login")]
use login_pages::{ErrorPage, LoginPage, TokenPage};
#[cfg(feature = "openapi")]
use openapi::OpenApiParams;
use routes::Protected;
pub use routes::Route;
use tools::McpAccess;

/// The 503 of documents that need the provider's metadata before discovery.
#[cfg(any(feature = "openapi", feature = "as-mirror"))]
const PROVIDER_UNKNOWN: Answer<'static> = Answer::Unavailable {
    error: "Authorization server unavailable",
    message: "The OAuth provider has not been reached yet; try again shortly.",
};

/// The name people see for this API (RFC 9728 `resource_name`, the challenges' realm).
pub const RESOURCE_NAME: &str = "Push Advisor API";

/// The members of the provider's metadata this build reads: what validation needs,
/// the login and OpenAPI endpoints when those routes are built, everything for the
/// mirror.
pub const METADATA_MEMBERS: Members = if cfg!(feature = "as-mirror") {
    Members::ALL
} else if cfg!(any(feature = "login", feature = "openapi")) {
    Members::VALIDATION
        .with(Member::AuthorizationEndpoint)
        .with(Member::TokenEndpoint)
} else {
    Members::VALIDATION
};

/// Bytes of provider metadata text this build keeps: room for `METADATA_MEMBERS`,
/// whose URLs are typically 30 to 100 bytes each (three of them at least: the issuer,
/// the introspection endpoint and the JWKS URI).
pub const METADATA_TEXT: usize = if cfg!(feature = "as-mirror") {
    oauth::metadata::METADATA_TEXT
} else if cfg!(any(feature = "login", feature = "openapi")) {
    640
} else {
    300
};

/// The provider metadata this build reads, in the room it needs.
pub type Metadata = SharedMetadata<METADATA_TEXT, { METADATA_MEMBERS.bits() }>;

/// OAuth settings for Push Advisor: safe defaults around the values every deployment
/// sets, with the app's name, scopes and metadata needs.
pub fn oauth_config<'a>(
    resource: &'a str,
    resource_metadata_url: &'a str,
    issuer: &'a str,
    client: ClientCredentials<'a>,
) -> OAuthConfig<'a> {
    OAuthConfig {
        resource_name: RESOURCE_NAME,
        realm: RESOURCE_NAME,
        scopes_supported: scopes::ALL,
        login_scope: scopes::LOGIN,
        ..OAuthConfig::new(resource, resource_metadata_url, issuer, client)
    }
}

/// Pending logins kept at once by default (a device's bound); older ones are dropped
/// first, so more logins started at once than this cost the oldest a retry. A host
/// picks a larger bound with `PushAdvisor`'s `LOGINS` parameter.
pub const PENDING_LOGINS: usize = 8;

/// The headers of every login page: never cached, never framed, no script or style but
/// the pages' own, and no `Referer` (the token page's URL holds the code).
#[cfg(feature = "login")]
const PAGE_HEADERS: [Header<'static>; 3] = [
    NO_STORE,
    (
        "Content-Security-Policy",
        login_pages::CONTENT_SECURITY_POLICY,
    ),
    ("Referrer-Policy", "no-referrer"),
];

/// URLs derived from the canonical resource URI, owned so adapters need no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUrls {
    /// `<resource>/.well-known/oauth-protected-resource`
    pub resource_metadata: String<URL_MAX>,
    /// `<resource>/token`, the login redirect target.
    pub redirect: String<URL_MAX>,
    /// `<resource>/mcp`, the MCP endpoint's canonical URI.
    pub mcp: String<URL_MAX>,
    /// `<resource>/.well-known/oauth-protected-resource/mcp`
    pub mcp_resource_metadata: String<URL_MAX>,
}

impl AppUrls {
    /// `None` when the resource URI is too long for the bounded URLs.
    pub fn new(resource: &str) -> Option<AppUrls> {
        let resource = resource.trim_end_matches('/');
        let url = |suffix: &str| -> Option<String<URL_MAX>> {
            let mut out = String::new();
            out.push_str(resource).ok()?;
            out.push_str(suffix).ok()?;
            Some(out)
        };
        Some(AppUrls {
            resource_metadata: url("/.well-known/oauth-protected-resource")?,
            redirect: url("/token")?,
            mcp: url("/mcp")?,
            mcp_resource_metadata: url("/.well-known/oauth-protected-resource/mcp")?,
        })
    }
}

/// Configuration of the Push Advisor app.
#[derive(Debug, Clone, Copy)]
pub struct AppConfig<'a> {
    /// OAuth settings; `oauth.resource` is the canonical URI of this API and
    /// `oauth.resource_metadata_url` / `oauth.redirect_uri` come from `AppUrls`.
    pub oauth: OAuthConfig<'a>,
    /// `AppUrls::mcp`.
    pub mcp_resource: &'a str,
    /// `AppUrls::mcp_resource_metadata`.
    pub mcp_resource_metadata_url: &'a str,
    pub mcp: McpConfig<'a>,
    /// Anonymous `initialize`, `tools/list` and public tools on `/mcp`.
    pub mcp_lazy_auth: bool,
}

impl<'a> AppConfig<'a> {
    /// The app's settings with the MCP endpoint's URLs taken from `urls`; lazy MCP
    /// authorization off.
    pub fn new(oauth: OAuthConfig<'a>, urls: &'a AppUrls, mcp: McpConfig<'a>) -> Self {
        AppConfig {
            oauth,
            mcp_resource: &urls.mcp,
            mcp_resource_metadata_url: &urls.mcp_resource_metadata,
            mcp,
            mcp_lazy_auth: false,
        }
    }
}

/// What the host or device supplies to the app besides the token validator, as one
/// type: `struct Board; impl Platform for Board { ... }`.
pub trait Platform {
    /// The mutex kind of shared state: `CriticalSectionRawMutex` where threads share the
    /// app, `NoopRawMutex` on a single executor.
    type Mutex: RawMutex;
    /// Monotonic and wall time.
    type Clock: Clock + Clone;
    /// Randomness for the vibe and login state.
    type Rng: RngCore;
    /// Outbound connections to the provider (the login's code exchange).
    type Connector: Connect;
}

/// The app: configuration plus what the adapter supplies (the platform's clock,
/// randomness and outbound connector, the shared provider metadata and the token
/// validator `V`); `LOGINS` bounds the logins pending at once (with the `login` feature).
pub struct PushAdvisor<'a, P: Platform, V, const LOGINS: usize = PENDING_LOGINS> {
    config: AppConfig<'a>,
    /// `config.oauth` as `/mcp` applies it: its own metadata URL, and tokens for
    /// either the API or the MCP endpoint.
    mcp_oauth: OAuthConfig<'a>,
    clock: P::Clock,
    rng: Mutex<P::Mutex, RefCell<P::Rng>>,
    // Only the login pages and the documents read these.
    #[cfg_attr(
        not(any(feature = "login", feature = "openapi", feature = "as-mirror")),
        allow(dead_code)
    )]
    provider: &'a dyn MetadataSource,
    validator: &'a V,
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    connect: &'a P::Connector,
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    buffers: &'a ProviderBuffers<'a, P::Mutex>,
    #[cfg(feature = "login")]
    logins: LoginStore<P::Mutex, LOGINS>,
}

impl<P: Platform, V, const LOGINS: usize> core::fmt::Debug for PushAdvisor<'_, P, V, LOGINS> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PushAdvisor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What sending a reply returns.
type Reply<W> = Result<Sent, WriteError<<W as embedded_io_async::ErrorType>::Error>>;

impl<'a, P: Platform, V: TokenValidator, const LOGINS: usize> PushAdvisor<'a, P, V, LOGINS> {
    /// The app over the platform's parts, the provider metadata discovery fills, the
    /// token validator and memory for provider calls.
    pub fn new(
        config: AppConfig<'a>,
        clock: P::Clock,
        rng: P::Rng,
        provider: &'a dyn MetadataSource,
        validator: &'a V,
        connect: &'a P::Connector,
        buffers: &'a ProviderBuffers<'a, P::Mutex>,
    ) -> Self {
        PushAdvisor {
            config,
            mcp_oauth: OAuthConfig {
                resource_metadata_url: config.mcp_resource_metadata_url,
                resource_alias: config.mcp_resource,
                ..config.oauth
            },
            clock,
            rng: Mutex::new(RefCell::new(rng)),
            provider,
            validator,
            connect,
            buffers,
            #[cfg(feature = "login")]
            logins: LoginStore::new(config.oauth.login_lifetime_ms),
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

    fn guard(&self) -> Guard<'_, &'a V, P::Clock> {
        Guard::new(&self.config.oauth, self.validator, self.clock.clone())
    }

    #[inline(never)] // a call, not a copy inlined into async callers: less flash
    fn verdict_answer(&self) -> Answer<'_> {
        match self.push_verdict() {
            Some(verdict) => Answer::Verdict(verdict),
            None => Answer::Unavailable {
                error: "Wall time unknown",
                message: "The server has not learned the current date yet; try again shortly.",
            },
        }
    }

    #[cfg(feature = "openapi")]
    fn openapi_answer(&self) -> Answer<'_> {
        let endpoints = self.provider.metadata().and_then(|metadata| {
            Some((
                metadata.authorization_endpoint()?,
                metadata.token_endpoint()?,
            ))
        });
        match endpoints {
            Some((authorization, token)) => Answer::OpenApi(OpenApiParams {
                server_url: self.config.oauth.resource,
                authorization_url: authorization,
                token_url: token,
            }),
            None => PROVIDER_UNKNOWN,
        }
    }

    /// The guard in front of every protected handler, with the scope from the route's
    /// row; the handler then turns the token's principal into the answer. Only the
    /// principal is taken from the token's facts (in place when cached).
    async fn protected_answer(&self, request: &Request<'_>, handler: Protected) -> Answer<'_> {
        match self
            .guard()
            .check_with(request, handler.scope(), tools::principal)
            .await
        {
            Ok(user) => match handler {
                Protected::DeployHistory => Answer::History(user),
            },
            Err(rejection) => Answer::Refused(rejection),
        }
    }

    #[cfg(feature = "login")]
    async fn login<W: Write>(&self, response: Responder<'_, W>) -> Reply<W> {
        let endpoint = self
            .provider
            .metadata()
            .and_then(|m| m.authorization_endpoint());
        let mut url: String<1024> = String::new();
        let mut state = None;
        let authorize_url = match &endpoint {
            Some(endpoint) if !response.is_head() => {
                let login = self.rng.lock(|rng| {
                    self.logins
                        .begin(&mut *rng.borrow_mut(), self.clock.monotonic_ms())
                });
                let written = write!(
                    url,
                    "{}",
                    AuthorizationUrl::new(endpoint, &self.config.oauth, &login)
                );
                state = Some(login.state);
                written.ok().map(|()| url.as_str())
            }
            Some(_) => Some(""),
            None => None,
        };
        let cookie = LoginCookie::new(&self.config.oauth);
        let set_cookie = |out: &mut dyn push_advisor_http::codec::TextSink| match &state {
            Some(state) => cookie.write_set_cookie(out, state),
            None => Ok(()),
        };
        let set_cookie = state.is_some().then_some(RenderedHeader {
            name: "Set-Cookie",
            value: &set_cookie,
        });
        let page = LoginPage {
            public_url: self.config.oauth.resource,
            authorize_url,
            demo_tokens: self.config.oauth.demo_tokens,
        };
        let render = |out: &mut dyn push_advisor_http::codec::TextSink| {
            page.render(&mut push_advisor_http::codec::Formatted(out))
        };
        response
            .without_cors()
            .send_with(
                Status::OK,
                HTML,
                &PAGE_HEADERS,
                set_cookie,
                Body::Render(&render),
            )
            .await
    }

    #[cfg(feature = "login")]
    async fn token_page<W: Write>(
        &self,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Reply<W> {
        let mut state_buf = [0u8; 128];
        let mut code_buf = [0u8; 512];
        let mut iss_buf = [0u8; URL_MAX];
        let mut detail_buf = [0u8; 320];
        let decode = |name, buf| query_text(request, name, buf);
        if let Some(error) = request.query_param("error") {
            let detail = decode("error_description", &mut detail_buf).or(Some(error));
            return self
                .error_page(
                    response,
                    Status::BAD_REQUEST,
                    "The provider refused the login.",
                    detail,
                )
                .await;
        }
        let (Some(state), Some(code)) = (
            decode("state", &mut state_buf),
            decode("code", &mut code_buf),
        ) else {
            let message = "The login answer has no code or state. Start again from the login page.";
            return self
                .error_page(response, Status::BAD_REQUEST, message, None)
                .await;
        };
        // Login CSRF: only the browser that started this login may finish it.
        if !LoginCookie::new(&self.config.oauth).matches(request, state) {
            let message = "This login was not started in this browser (its login cookie is missing or belongs to another login). Start again from the login page.";
            return self
                .error_page(response, Status::BAD_REQUEST, message, None)
                .await;
        }
        // RFC 9207: an answer naming another issuer is a mix-up attack.
        if let Some(iss) = decode("iss", &mut iss_buf) {
            if iss != self.config.oauth.issuer {
                let message = "The login answer came from an unexpected issuer.";
                return self
                    .error_page(response, Status::BAD_REQUEST, message, None)
                    .await;
            }
        }
        let Ok(verifier) = self.logins.finish(state, self.clock.monotonic_ms()) else {
            let message =
                "This login is unknown, expired or already used. Start again from the login page.";
            return self
                .error_page(response, Status::BAD_REQUEST, message, None)
                .await;
        };
        let Some(token_endpoint) = self.provider.metadata().and_then(|m| m.token_endpoint()) else {
            return self
                .error_page(
                    response,
                    Status::SERVICE_UNAVAILABLE,
                    "The OAuth provider is not reachable yet.",
                    None,
                )
                .await;
        };
        let Some(mut buffer) = self.buffers.borrow().await else {
            let message = "The server has no memory configured for calls to the provider.";
            return self
                .error_page(response, Status::INTERNAL_SERVER_ERROR, message, None)
                .await;
        };
        let exchanged = exchange_code(
            self.connect,
            token_endpoint,
            &self.config.oauth,
            code,
            &verifier,
            &mut buffer,
        )
        .await;
        drop(buffer);
        // By reference: a moved-out token (kilobytes) would take a second place in this
        // future, and so in every connection's.
        match &exchanged {
            Ok(token) => {
                let page = TokenPage {
                    public_url: self.config.oauth.resource,
                    access_token: &token.access_token,
                    token_type: &token.token_type,
                    expires_in: token.expires_in,
                    scope: token.scope.as_deref().unwrap_or(""),
                };
                let render = |out: &mut dyn push_advisor_http::codec::TextSink| {
                    page.render(&mut push_advisor_http::codec::Formatted(out))
                };
                response
                    .without_cors()
                    .send(Status::OK, HTML, &PAGE_HEADERS, Body::Render(&render))
                    .await
            }
            Err(ExchangeError::Provider { error, description }) => {
                let mut detail: String<330> = String::new();
                let _ = write!(detail, "{error}");
                if let Some(description) = description {
                    let _ = write!(detail, ": {description}");
                }
                let message = "The provider did not accept the authorization code.";
                self.error_page(response, Status::BAD_REQUEST, message, Some(&detail))
                    .await
            }
            Err(ExchangeError::Unavailable(_)) => {
                let message = "The OAuth provider could not be reached to finish the login. Try again shortly.";
                self.error_page(response, Status::SERVICE_UNAVAILABLE, message, None)
                    .await
            }
            Err(ExchangeError::Misconfigured) => {
                let message = "The server's OAuth settings cannot form the token request.";
                self.error_page(response, Status::INTERNAL_SERVER_ERROR, message, None)
                    .await
            }
        }
    }

    #[cfg(feature = "login")]
    async fn error_page<W: Write>(
        &self,
        response: Responder<'_, W>,
        status: Status,
        message: &str,
        detail: Option<&str>,
    ) -> Reply<W> {
        let page = ErrorPage {
            title: "Login failed",
            message,
            detail,
        };
        let render = |out: &mut dyn push_advisor_http::codec::TextSink| {
            page.render(&mut push_advisor_http::codec::Formatted(out))
        };
        response
            .without_cors()
            .send(status, HTML, &PAGE_HEADERS, Body::Render(&render))
            .await
    }

    /// The access hook for `/mcp`. Built per request, and `mcp::handle` awaited straight
    /// from `call`: a wrapper future would hold another copy of the responder.
    fn mcp_access(&self) -> McpAccess<'_, &'a V, P::Clock> {
        let config = &self.mcp_oauth;
        McpAccess {
            guard: Guard::new(config, self.validator, self.clock.clone()),
            config,
            lazy: self.config.mcp_lazy_auth,
        }
    }
}

/// A query parameter, percent-decoded into `buf`.
#[cfg(feature = "login")]
fn query_text<'b>(request: &Request<'_>, name: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let raw = request.query_param(name)?;
    core::str::from_utf8(percent_decode(raw.as_bytes(), buf, true)?).ok()
}

impl<P: Platform, V: TokenValidator, const LOGINS: usize> ToolSet<Option<tools::Principal>>
    for PushAdvisor<'_, P, V, LOGINS>
{
    type Output<'a>
        = tools::ToolResult<'a>
    where
        Self: 'a;

    fn tools(&self) -> &[mcp::Tool] {
        tools::TOOLS
    }

    async fn call<'a>(
        &'a self,
        call: ToolCall<'a, Option<tools::Principal>>,
    ) -> ToolOutcome<tools::ToolResult<'a>> {
        tools::run(&call, || self.push_verdict(), || self.vibe())
    }
}

impl<P: Platform, V: TokenValidator, const LOGINS: usize> Service
    for PushAdvisor<'_, P, V, LOGINS>
{
    type Route = Route;

    fn route(&self, path: &str) -> Option<(Route, MethodSet)> {
        Route::find(path)
    }

    async fn call<W: Write>(
        &self,
        route: Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Reply<W> {
        let oauth = &self.config.oauth;
        let answer = match route {
            Route::Protected(handler) => self.protected_answer(request, handler).await,
            Route::Root => Answer::Document(content::render_root),
            Route::Index => Answer::Document(content::render_index),
            Route::CanIPushToProd => self.verdict_answer(),
            Route::VibeCheck => Answer::Vibe(self.vibe()),
            #[cfg(feature = "openapi")]
            Route::OpenApi => self.openapi_answer(),
            #[cfg(feature = "login")]
            Route::Login => return self.login(response).await,
            #[cfg(feature = "login")]
            Route::Token => return self.token_page(request, response).await,
            // Rendered from the shared metadata window by window, not copied.
            #[cfg(feature = "as-mirror")]
            Route::AuthorizationServerMetadata => match self.provider.metadata() {
                Some(metadata) => Answer::Mirror(metadata),
                None => PROVIDER_UNKNOWN,
            },
            Route::ProtectedResource => {
                Answer::ProtectedResource(protected_resource_document(oauth, oauth.resource))
            }
            Route::ProtectedResourceMcp => Answer::ProtectedResource(protected_resource_document(
                oauth,
                self.config.mcp_resource,
            )),
            Route::Mcp => {
                let access = self.mcp_access();
                return mcp::handle(request, response, self, &access, &self.config.mcp).await;
            }
        };
        answer.send(response).await
    }
}

#[cfg(test)]
mod tests {
    //! What each route's future costs: a connection's future is as large as its
    //! largest route, and boards pay that once per connection.
    extern crate std;

    use super::*;
    use crate::http::response::Framing;
    use crate::mcp::McpConfig;
    use crate::oauth::testing::{FakeClock, FakeConnection, FakeConnector, buffers, with_request};
    use crate::oauth::{CachePolicy, CachingValidator, DiscoveredIntrospector};
    use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex as Mx;

    struct Rng;

    impl RngCore for Rng {
        fn next_u32(&mut self) -> u32 {
            4
        }
        fn next_u64(&mut self) -> u64 {
            4
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.fill(4)
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            dest.fill(4);
            Ok(())
        }
    }

    struct TestPlatform;

    impl Platform for TestPlatform {
        type Mutex = Mx;
        type Clock = &'static FakeClock;
        type Rng = Rng;
        type Connector = FakeConnector;
    }

    #[test]
    fn route_futures_stay_small() {
        let oauth = crate::oauth::testing::config();
        let leak = |oauth| &*std::boxed::Box::leak(std::boxed::Box::new(oauth));
        let oauth: &'static OAuthConfig<'static> = leak(oauth);
        let clock: &'static FakeClock = std::boxed::Box::leak(std::boxed::Box::default());
        let connector = &*std::boxed::Box::leak(std::boxed::Box::new(FakeConnector::replying(&[])));
        let metadata: &'static crate::oauth::SharedMetadata =
            std::boxed::Box::leak(std::boxed::Box::default());
        let introspector = DiscoveredIntrospector::new(metadata, connector, oauth, buffers());
        let validator: &'static CachingValidator<Mx, _, _, 4> =
            std::boxed::Box::leak(std::boxed::Box::new(CachingValidator::new(
                introspector,
                clock,
                CachePolicy::from_config(oauth),
            )));
        let config = AppConfig {
            oauth: *oauth,
            mcp_resource: "http://127.0.0.1:8787/mcp",
            mcp_resource_metadata_url: "",
            mcp: McpConfig {
                name: "a",
                title: "a",
                version: "1",
                instructions: "",
                max_message_bytes: 1024,
                allowed_origins: &[],
                public_url: "http://127.0.0.1:8787",
                loopback: false,
            },
            mcp_lazy_auth: false,
        };
        let app = PushAdvisor::<TestPlatform, _>::new(
            config,
            clock,
            Rng,
            metadata,
            validator,
            connector,
            buffers(),
        );
        let mut conn = FakeConnection::new(&[]);
        let mut tx = [0u8; 64];
        let framing = Framing {
            head_only: false,
            keep_alive: true,
            allow_origin: None,
            vary_origin: false,
        };
        with_request(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", |request| {
            let mut sizes = std::vec::Vec::new();
            macro_rules! size {
                ($name:literal, $future:expr) => {{
                    let future = $future;
                    sizes.push(($name, core::mem::size_of_val(&future)));
                }};
            }
            macro_rules! responder {
                () => {
                    Responder::new(&mut conn, &mut tx, framing)
                };
            }
            size!(
                "call",
                Service::call(&app, Route::Mcp, request, responder!())
            );
            size!(
                "deploy_history",
                app.protected_answer(request, Protected::DeployHistory)
            );
            #[cfg(feature = "login")]
            size!("token_page", app.token_page(request, responder!()));
            let access = app.mcp_access();
            size!(
                "mcp",
                mcp::handle(request, responder!(), &app, &access, &app.config.mcp)
            );
            #[cfg(feature = "login")]
            size!("login", app.login(responder!()));
            size!("validate", validator.validate("t"));
            std::println!("{sizes:?}");
            // Measured 7.9 KB on x86-64 (13.8 KB before provider calls borrowed shared
            // buffers); the ceiling leaves room for compiler changes, not for new arrays.
            for (name, size) in sizes {
                assert!(size <= 9 * 1024, "{name}: {size} B");
                // What a board pays per connection (login is off there): measured
                // 1.8 KB for /mcp and 1.2 KB for the /deploy-history check on x86-64,
                // with the device's token bounds (a workspace build unifies in the
                // host's `large-tokens`, whose principals are twice as long).
                let device_bounds = oauth::SUBJECT_MAX <= 128;
                if device_bounds && matches!(name, "mcp" | "deploy_history") {
                    assert!(size <= 2 * 1024, "{name}: {size} B");
                }
            }
        });
    }
}
