//! A tower layer that protects any `tower::Service<http::Request<_>>` — an axum
//! `Router`, rmcp's streamable HTTP service, a hyper service — with the Push Advisor
//! auth core, as `push-advisor` protects its own routes:
//!
//! - each request's `Authorization` goes to [`Guard::check_authorization`] with the
//!   scope its path needs (per layer, or per path prefix); a granted request reaches
//!   the service with an [`Authorized`] in its extensions, a refused one gets the core's
//!   401/403 (with the RFC 6750 challenge and its RFC 9728 `resource_metadata` pointer)
//!   or 503 (`Retry-After`) and JSON body;
//! - the RFC 9728 document is answered at the path of `resource_metadata_url`;
//! - CORS preflights and public prefixes pass through unchecked.
//!
//! Tokens are checked by the core's introspection and cache over the tokio adapter's
//! connector — the code `push-advisor` runs; [`host_validator`] builds it.
//!
//! ```no_run
//! use axum::{Extension, Router, routing::get};
//! use push_advisor_oauth::{ClientAuth, ClientCredentials, OAuthConfig};
//! use push_advisor_tower::{Authorized, OAuthLayer, host_validator};
//!
//! # async fn run() {
//! let client = ClientCredentials { client_id: "api", client_secret: "secret", auth: ClientAuth::ClientSecretBasic };
//! let config: &'static OAuthConfig<'static> = Box::leak(Box::new(OAuthConfig {
//!     scopes_supported: &["api:read"],
//!     ..OAuthConfig::new(
//!         "http://127.0.0.1:3000",
//!         "http://127.0.0.1:3000/.well-known/oauth-protected-resource",
//!         "https://id.example",
//!         client,
//!     )
//! }));
//! let validator = host_validator(config, Default::default()).unwrap();
//! let app = Router::new()
//!     .route("/", get(|| async { "public" }))
//!     .route("/api/things", get(|Extension(who): Extension<Authorized>| async move {
//!         format!("hello {:?}", who.principal)
//!     }))
//!     .layer(OAuthLayer::new(config, validator).public("/").route_scope("/api", "api:read"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use push_advisor_http::response::{JSON, NOSNIFF};
use push_advisor_oauth::{
    BufferSlot, CachePolicy, CachingValidator, DiscoveredIntrospector, Guard, OAuthConfig,
    ProviderBuffers, Rejection, SharedMetadata, discover, protected_resource_document,
};
use push_advisor_tokio::{Connector, ConnectorOptions, ConnectorSetupError, HostClock};
use tower_layer::Layer;
use tower_service::Service;

/// The mutex kind of the shared cache: several tokio worker threads use it.
pub type Mx = CriticalSectionRawMutex;
/// Tokens remembered at once by [`HostValidator`]'s cache.
pub const CACHE_ENTRIES: usize = 64;
/// Introspection at the discovered endpoint over the tokio connector, behind the
/// core's cache: what `push-advisor` runs.
pub type HostValidator =
    CachingValidator<Mx, DiscoveredIntrospector<'static, Mx, Connector>, HostClock, CACHE_ENTRIES>;

/// Provider calls in flight at once, and the bytes each has.
const PROVIDER_CALLS: usize = 16;
const PROVIDER_BUFFER: usize = 8 * 1024;

/// Builds the validator for the process's lifetime and starts discovering the provider
/// on the current tokio runtime, retrying with back-off; until it succeeds protected
/// requests answer 503, as `push-advisor`'s do. Must be called inside a tokio runtime.
pub fn host_validator(
    config: &'static OAuthConfig<'static>,
    options: ConnectorOptions,
) -> Result<&'static HostValidator, ConnectorSetupError> {
    let discovery_options = ConnectorOptions {
        // Discovery runs once; keeping its connection would only hold a socket.
        max_idle_per_host: 0,
        ..options.clone()
    };
    let connector: &'static Connector = Box::leak(Box::new(Connector::new(options)?));
    let discovery: &'static Connector = Box::leak(Box::new(Connector::new(discovery_options)?));
    let metadata: &'static SharedMetadata = Box::leak(Box::new(SharedMetadata::new()));
    let slots: Vec<BufferSlot<'static, Mx>> = (0..PROVIDER_CALLS)
        .map(|_| embassy_sync::mutex::Mutex::new(&mut vec![0u8; PROVIDER_BUFFER].leak()[..]))
        .collect();
    let buffers: &'static ProviderBuffers<'static, Mx> =
        Box::leak(Box::new(ProviderBuffers::new(slots.leak())));
    let introspector = DiscoveredIntrospector::new(metadata, connector, config, buffers);
    let validator: &'static HostValidator = Box::leak(Box::new(CachingValidator::new(
        introspector,
        HostClock::new(),
        CachePolicy::from_config(config),
    )));
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(250);
        let mut rx = vec![0u8; 16 * 1024];
        loop {
            match discover(discovery, config, &mut rx).await {
                Ok(found) => {
                    tracing::info!(issuer = config.issuer, "provider discovered");
                    metadata.set(found);
                    return;
                }
                Err(error) => {
                    tracing::warn!(issuer = config.issuer, ?error, retry_in = ?delay, "provider discovery failed");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    Ok(validator)
}

/// What a granted request carries in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// The token's subject, else its client id.
    pub principal: Option<String>,
    /// The granted scopes among the configured `scopes_supported`.
    pub scopes: Vec<&'static str>,
    /// The configured audience the token named (`None` when audience checks are off).
    pub audience: Option<&'static str>,
}

/// Which scope requests need: per layer, then per path prefix.
struct Settings {
    config: &'static OAuthConfig<'static>,
    validator: &'static HostValidator,
    clock: HostClock,
    scope: &'static str,
    /// (prefix, scope); `None` for a public prefix.
    rules: Vec<(&'static str, Option<&'static str>)>,
    /// The path part of `resource_metadata_url`.
    metadata_path: String,
}

impl Settings {
    /// The scope `path` needs (`Some("")`: any valid token), or `None` when it is public.
    /// The longest matching prefix decides; a prefix matches whole segments.
    fn scope_for(&self, path: &str) -> Option<&'static str> {
        scope_for(self.scope, &self.rules, path)
    }
}

fn scope_for(
    default: &'static str,
    rules: &[(&'static str, Option<&'static str>)],
    path: &str,
) -> Option<&'static str> {
    rules
        .iter()
        .filter(|(prefix, _)| prefix_matches(prefix, path))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(Some(default), |(_, scope)| *scope)
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'),
        None => false,
    }
}

/// The path of an absolute URL (`/` when it has none).
fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    match after_scheme.find('/') {
        Some(start) => after_scheme[start..]
            .split(['?', '#'])
            .next()
            .unwrap_or("/")
            .to_owned(),
        None => "/".to_owned(),
    }
}

/// Protects the services it wraps; cheap to clone.
pub struct OAuthLayer {
    settings: Arc<Settings>,
}

impl Clone for OAuthLayer {
    fn clone(&self) -> Self {
        OAuthLayer {
            settings: Arc::clone(&self.settings),
        }
    }
}

impl fmt::Debug for OAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthLayer")
            .field("resource", &self.settings.config.resource)
            .field("scope", &self.settings.scope)
            .field("rules", &self.settings.rules)
            .finish_non_exhaustive()
    }
}

impl OAuthLayer {
    /// Every request needs a valid token for `config.resource` (no particular scope)
    /// until [`scope`](Self::scope), [`route_scope`](Self::route_scope) or
    /// [`public`](Self::public) say otherwise.
    pub fn new(config: &'static OAuthConfig<'static>, validator: &'static HostValidator) -> Self {
        OAuthLayer {
            settings: Arc::new(Settings {
                config,
                validator,
                clock: HostClock::new(),
                scope: "",
                rules: Vec::new(),
                metadata_path: url_path(config.resource_metadata_url),
            }),
        }
    }

    fn edit(self, change: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Arc::try_unwrap(self.settings).unwrap_or_else(|shared| Settings {
            config: shared.config,
            validator: shared.validator,
            clock: shared.clock,
            scope: shared.scope,
            rules: shared.rules.clone(),
            metadata_path: shared.metadata_path.clone(),
        });
        change(&mut settings);
        OAuthLayer {
            settings: Arc::new(settings),
        }
    }

    /// The scope every request needs unless a prefix rule says otherwise.
    pub fn scope(self, scope: &'static str) -> Self {
        self.edit(|s| s.scope = scope)
    }

    /// Requests under `prefix` (whole path segments) need `scope`; the longest prefix wins.
    pub fn route_scope(self, prefix: &'static str, scope: &'static str) -> Self {
        self.edit(|s| s.rules.push((prefix, Some(scope))))
    }

    /// Requests under `prefix` need no token (a longer protected prefix still wins).
    /// `"/"` makes everything public that no other rule protects.
    pub fn public(self, prefix: &'static str) -> Self {
        self.edit(|s| s.rules.push((prefix, None)))
    }
}

impl<S> Layer<S> for OAuthLayer {
    type Service = OAuth<S>;

    fn layer(&self, inner: S) -> OAuth<S> {
        OAuth {
            inner,
            settings: Arc::clone(&self.settings),
        }
    }
}

/// A service behind the auth core (made by [`OAuthLayer`]).
pub struct OAuth<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S: Clone> Clone for OAuth<S> {
    fn clone(&self) -> Self {
        OAuth {
            inner: self.inner.clone(),
            settings: Arc::clone(&self.settings),
        }
    }
}

impl<S> fmt::Debug for OAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth")
            .field("resource", &self.settings.config.resource)
            .finish_non_exhaustive()
    }
}

/// The wrapped service's body, or one of the layer's own JSON answers.
pub type OAuthBody<B> = Either<B, Full<Bytes>>;

impl<S, B, ResBody> Service<Request<B>> for OAuth<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<OAuthBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The readied service answers this request; a fresh clone waits for the next.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let settings = Arc::clone(&self.settings);
        Box::pin(async move {
            let path = request.uri().path();
            let method = request.method();
            if (method == Method::GET || method == Method::HEAD) && path == settings.metadata_path {
                return Ok(metadata_response(settings.config));
            }
            // A CORS preflight carries no token by design; the service (or a CORS
            // layer outside this one) answers it.
            let preflight = method == Method::OPTIONS
                && request
                    .headers()
                    .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
            let Some(scope) = settings.scope_for(path).filter(|_| !preflight) else {
                return inner.call(request).await.map(|r| r.map(Either::Left));
            };
            let guard = Guard::new(settings.config, settings.validator, settings.clock);
            let values = request
                .headers()
                .get_all(AUTHORIZATION)
                .iter()
                .map(HeaderValue::as_bytes);
            match guard.check_authorization(values, scope).await {
                Ok(grant) => {
                    let authorized = Authorized {
                        principal: grant.principal.map(|p| p.as_str().to_owned()),
                        scopes: grant.scopes.names(settings.config).collect(),
                        audience: grant.audience,
                    };
                    request.extensions_mut().insert(authorized);
                    inner.call(request).await.map(|r| r.map(Either::Left))
                }
                Err(rejection) => Ok(rejection_response(&rejection)),
            }
        })
    }
}

/// Every answer of the layer's own (metadata, challenges, errors) is JSON and, like every
/// core answer, carries the core's `NOSNIFF`.
fn json_response<B>(status: StatusCode, body: String) -> Response<OAuthBody<B>> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    let (name, value) = NOSNIFF;
    if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn metadata_response<B>(config: &OAuthConfig<'_>) -> Response<OAuthBody<B>> {
    let mut body = String::new();
    // Writing to a String cannot fail.
    let _ = protected_resource_document(config, config.resource).render(&mut body);
    json_response(StatusCode::OK, body)
}

/// The core's answer: status, `WWW-Authenticate` or `Retry-After`, JSON body.
fn rejection_response<B>(rejection: &Rejection<'_>) -> Response<OAuthBody<B>> {
    let (mut header, mut body) = ([0u8; 1024], [0u8; 1024]);
    let Some(rendered) = rejection.render(&mut header, &mut body) else {
        // Only settings far beyond the core's limits get here.
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"server_error"}"#.to_owned(),
        );
    };
    let status = StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = json_response(status, rendered.body.to_owned());
    if let Ok(value) = HeaderValue::from_str(rendered.header_value) {
        response.headers_mut().insert(rendered.header_name, value);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments_and_the_longest_wins() {
        assert!(prefix_matches("/api", "/api"));
        assert!(prefix_matches("/api", "/api/x"));
        assert!(!prefix_matches("/api", "/apix"));
        assert!(prefix_matches("/", "/anything"));
        assert_eq!(
            url_path("http://h:1/.well-known/oauth-protected-resource/mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(url_path("http://h:1"), "/");
    }

    #[test]
    fn the_layer_scope_applies_where_no_prefix_rule_does() {
        let rules = [
            ("/", None),
            ("/api", Some("api:read")),
            ("/api/admin", Some("api:write")),
        ];
        assert_eq!(scope_for("x", &rules, "/"), None);
        assert_eq!(scope_for("x", &rules, "/about"), None);
        assert_eq!(scope_for("x", &rules, "/api/things"), Some("api:read"));
        assert_eq!(scope_for("x", &rules, "/api/admin/1"), Some("api:write"));
        assert_eq!(scope_for("x", &rules, "/apiary"), None);
        assert_eq!(scope_for("api:read", &[], "/anything"), Some("api:read"));
        assert_eq!(scope_for("", &[("/public", None)], "/other"), Some(""));
    }
}
