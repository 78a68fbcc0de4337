//! OAuth 2.0 resource-server support, independent of any application: bearer
//! extraction (RFC 6750), token validation through a trait with an RFC 7662
//! introspection client and a bounded cache, the access policy with ready-to-send
//! rejections, provider discovery (RFC 8414) and served metadata (RFC 9728), and the
//! authorization-code + PKCE helper for login pages.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

use push_advisor_http as http;

pub mod bearer;
pub mod buffers;
pub mod cache;
pub mod config;
pub mod discovered;
pub mod guard;
pub mod introspection;
#[cfg(feature = "login")]
pub mod login;
pub mod metadata;
pub mod provider;
pub mod token;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use bearer::{BearerError, bearer_from_authorization, bearer_token};
pub use buffers::{BufferSlot, ProviderBuffers};
pub use cache::{CachePolicy, CachingValidator};
pub use config::{ClientAuth, ClientCredentials, Endpoints, OAuthConfig};
pub use discovered::{DiscoveredIntrospector, MetadataSource, SharedMetadata};
pub use guard::{
    Grant, GrantedScopes, Guard, Principal, Rejection, RejectionKind, RenderedRejection,
    TokenProblem,
};
pub use introspection::Introspector;
#[cfg(feature = "login")]
pub use login::{
    AuthorizationUrl, ExchangeError, Login, LoginError, LoginStore, TokenResponse, exchange_code,
};
pub use metadata::{
    Discovered, DiscoveryError, Member, Members, MetadataView, ProtectedResourceDocument,
    ProviderMetadata, discover, discover_dated, protected_resource_document,
};
pub use token::{TokenInfo, TokenValidator, ValidationError};

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
