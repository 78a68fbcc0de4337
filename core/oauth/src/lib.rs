//! The auth core: OAuth 2.0 resource-server checks for any HTTP stack, `no_std` and
//! without allocation. It knows nothing of the application it protects: the resource's
//! URI, name and scopes come from [`OAuthConfig`].
//!
//! - [`Guard::check_authorization`] takes a request's `Authorization` header values and
//!   the scope a route needs, and returns a [`Grant`] (principal, scopes, audience) or a
//!   [`Rejection`] that renders its status, `WWW-Authenticate` (RFC 6750, with the
//!   RFC 9728 `resource_metadata` pointer) or `Retry-After`, and JSON body into buffers
//!   ([`Rejection::render`]) or a writer. [`Guard::check`] does the same for the HTTP
//!   crate's `Request`.
//! - Tokens are checked by a [`TokenValidator`]: RFC 7662 introspection
//!   ([`Introspector`], or [`DiscoveredIntrospector`] at the discovered endpoint) behind
//!   a bounded cache ([`CachingValidator`]). A provider outage is 503, never 401.
//!   With feature `jwt`, RFC 9068 JWT access tokens are checked locally against the
//!   provider's JWKS (`jwt::JwtValidator`), and `jwt::ChosenValidator` sends each token
//!   to that or to introspection (`auto`, `jwt`, `introspection`).
//! - Provider discovery (RFC 8414, then OpenID Connect) into a bounded
//!   [`ProviderMetadata`]; the RFC 9728 document ([`protected_resource_document`]);
//!   the authorization-code + PKCE helper for login pages (feature `login`).
//!
//! # Embedding it in a gateway
//!
//! A gateway supplies three things: a [`Connect`](push_advisor_http::net::Connect) to
//! reach the provider (the tokio and embassy adapters have one, TLS included), a
//! [`Clock`](push_advisor_http::time::Clock), and a mutex kind for shared state
//! (`CriticalSectionRawMutex` where several threads share the guard, `NoopRawMutex` on
//! a single-threaded executor). Then, once: settings, the provider's endpoints
//! ([`discover`] them, or set them by hand), memory for provider calls, the validator
//! and the guard; per request, one call. The whole program, on a host:
//!
//! ```
//! use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex as Mx;
//! use push_advisor_oauth::*;
//! use push_advisor_tokio::{Connector, ConnectorOptions, HostClock};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let client = ClientCredentials {
//!     client_id: "gateway",
//!     client_secret: "secret",
//!     auth: ClientAuth::ClientSecretBasic,
//! };
//! let config = OAuthConfig {
//!     scopes_supported: &["read:things"],
//!     // Nothing listens on port 9: every token check finds the provider unreachable.
//!     endpoints: Endpoints { introspection: Some("http://127.0.0.1:9/"), ..Endpoints::default() },
//!     ..OAuthConfig::new("https://api.example", "https://api.example/.well-known/oauth-protected-resource", "https://id.example", client)
//! };
//! let metadata: SharedMetadata = SharedMetadata::new();
//! metadata.set(ProviderMetadata::from_config(&config).unwrap());
//! let mut memory = [[0u8; 4096]; 2];
//! let slots = ProviderBuffers::<Mx>::slots(&mut memory);
//! let buffers = ProviderBuffers::new(&slots);
//! let connector = Connector::new(ConnectorOptions::default()).unwrap();
//! let introspector = DiscoveredIntrospector::new(&metadata, &connector, &config, &buffers);
//! let policy = CachePolicy::from_config(&config);
//! let cache: CachingValidator<Mx, _, _, 64> = CachingValidator::new(introspector, HostClock::new(), policy);
//! let guard = Guard::new(&config, &cache, HostClock::new());
//!
//! // Per request: the `Authorization` values in, a grant or a ready answer out.
//! let (mut header, mut body) = ([0u8; 512], [0u8; 256]);
//! let no_header: [&[u8]; 0] = [];
//! let refused = guard.check_authorization(no_header, "read:things").await.unwrap_err();
//! let answer = refused.render(&mut header, &mut body).unwrap();
//! assert_eq!((answer.status, answer.header_name), (401, "WWW-Authenticate"));
//! assert_eq!(answer.header_value, r#"Bearer resource_metadata="https://api.example/.well-known/oauth-protected-resource", scope="read:things""#);
//! let refused = guard.check_authorization([&b"Bearer abc"[..]], "read:things").await.unwrap_err();
//! assert_eq!(refused.render(&mut header, &mut body).unwrap().status, 503);
//! # });
//! ```
//!
//! A granted request gets a [`Grant`]; serve the RFC 9728 document at the
//! `resource_metadata` URL with [`protected_resource_document`] so MCP clients find the
//! provider on their own. On a microcontroller the same calls run with the embassy
//! adapter's connector and clock and `'static` memory (`firmware-example`'s
//! `auth_gateway` is such a program).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

use push_advisor_http as http;

pub mod bearer;
pub mod budget;
pub mod buffers;
pub mod cache;
pub mod config;
pub mod deadline;
pub mod discovered;
pub mod guard;
pub mod introspection;
#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "login")]
pub mod login;
pub mod metadata;
pub mod provider_calls;
pub mod token;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use bearer::{BearerError, bearer_from_authorization, bearer_token};
pub use budget::{BudgetedValidator, CallBudget};
pub use buffers::{BufferSlot, ProviderBuffers};
pub use cache::{CachePolicy, CachingValidator, eviction_rank};
pub use config::{ClientAuth, ClientCredentials, Endpoints, OAuthConfig};
pub use deadline::DeadlineValidator;
pub use discovered::{DiscoveredIntrospector, MetadataSource, SharedMetadata};
pub use guard::{
    Grant, GrantedScopes, Guard, Principal, Rejection, RejectionKind, RenderedRejection,
    TokenProblem,
};
pub use introspection::Introspector;
#[cfg(feature = "login")]
pub use login::{
    AuthorizationUrl, ExchangeError, Login, LoginCookie, LoginError, LoginStore, TokenResponse,
    exchange_code,
};
pub use metadata::{
    ALL_MEMBERS, Discovered, DiscoveryError, Member, Members, MetadataView,
    ProtectedResourceDocument, ProviderMetadata, discover, discover_dated,
    protected_resource_document,
};
pub use token::{
    AUDIENCE_MAX, AUDIENCES, CLIENT_ID_MAX, ISSUER_MAX, SCOPE_MAX, SUBJECT_MAX, TokenInfo,
    TokenValidator, ValidationError,
};

#[cfg(test)]
mod tests {
    //! The parts composed as a server wires them: guard → cache → introspection.
    extern crate std;

    use super::*;
    use crate::http::time::Clock;
    use crate::testing::{FakeClock, FakeConnector, buffers, with_request};
    use embassy_futures::block_on;
    use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex};

    const ACTIVE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 157\r\n\r\n{\"active\":true,\"client_id\":\"push-advisor\",\"iss\":\"http://127.0.0.1:9000\",\"aud\":\"http://127.0.0.1:8787\",\"scope\":\"api:read\",\"token_type\":\"Bearer\",\"sub\":\"alice\"}";

    fn config() -> OAuthConfig<'static> {
        crate::testing::config()
    }

    #[test]
    fn guard_over_cache_over_introspection() {
        let config = config();
        let clock = FakeClock::at(Some(1_723_563_100));
        let connector = FakeConnector::replying(&[ACTIVE]);
        let introspector = Introspector::new(
            &connector,
            "http://127.0.0.1:9000/token/introspection",
            &config,
            buffers(),
        );
        let cache: CachingValidator<NoopRawMutex, _, _, 8> =
            CachingValidator::new(introspector, &clock, CachePolicy::from_config(&config));
        let guard = Guard::new(&config, &cache, &clock);
        let raw = b"GET /deploy-history HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer tok\r\n\r\n";
        for _ in 0..3 {
            let info = with_request(raw, |request| block_on(guard.check(request, "api:read")));
            assert_eq!(info.unwrap().subject(), Some("alice"));
        }
        let refused = with_request(raw, |request| block_on(guard.check(request, "api:write")));
        assert_eq!(refused.unwrap_err().kind, RejectionKind::InsufficientScope);
        assert_eq!(connector.connects.get(), 1);
    }

    /// A connector and clock that are `Sync`, as a multi-threaded host's are.
    struct NoNetwork;

    /// Never constructed: `NoNetwork` refuses every connection.
    struct NoConnection;

    impl embedded_io_async::ErrorType for NoConnection {
        type Error = embedded_io::ErrorKind;
    }

    impl embedded_io_async::Read for NoConnection {
        async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> {
            Err(embedded_io::ErrorKind::NotConnected)
        }
    }

    impl embedded_io_async::Write for NoConnection {
        async fn write(&mut self, _: &[u8]) -> Result<usize, Self::Error> {
            Err(embedded_io::ErrorKind::NotConnected)
        }

        async fn flush(&mut self) -> Result<(), Self::Error> {
            Err(embedded_io::ErrorKind::NotConnected)
        }
    }

    impl crate::http::net::Reusable for NoConnection {
        fn mark_reusable(&mut self) {}
    }

    impl crate::http::net::Connect for NoNetwork {
        type Connection<'c> = NoConnection;
        type Error = ();
        async fn connect(
            &self,
            _: &crate::http::net::Endpoint<'_>,
        ) -> Result<Self::Connection<'_>, ()> {
            Err(())
        }
    }

    struct FixedClock;

    impl Clock for FixedClock {
        fn monotonic_ms(&self) -> u64 {
            0
        }
        fn unix_seconds(&self) -> Option<u64> {
            None
        }
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn guard_futures_are_send_for_multithreaded_hosts() {
        let config = config();
        let introspector = Introspector::new(&NoNetwork, "http://x/", &config, buffers());
        let cache: CachingValidator<CriticalSectionRawMutex, _, _, 8> =
            CachingValidator::new(introspector, FixedClock, CachePolicy::from_config(&config));
        let guard = Guard::new(&config, &cache, FixedClock);
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer tok\r\n\r\n";
        with_request(raw, |request| {
            let check = guard.check(request, "api:read");
            assert_send(&check);
            assert_eq!(
                block_on(check).unwrap_err().kind,
                RejectionKind::Unavailable(ValidationError::Unreachable)
            );
        });
    }
}
