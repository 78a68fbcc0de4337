//! OAuth 2.0 resource-server support, independent of any application: bearer
//! extraction (RFC 6750), token validation through a trait with an RFC 7662
//! introspection client and a bounded cache, the access policy with ready-to-send
//! rejections, provider discovery (RFC 8414) and served metadata (RFC 9728), and the
//! authorization-code + PKCE helper for login pages.

pub mod bearer;
pub mod cache;
pub mod config;
pub mod guard;
pub mod introspection;
pub mod login;
pub mod metadata;
pub mod provider;
pub mod token;

#[cfg(test)]
pub(crate) mod fake;

pub use bearer::{BearerError, bearer_token};
pub use cache::{CachePolicy, CachingValidator};
pub use config::{ClientAuth, ClientCredentials, Endpoints, OAuthConfig};
pub use guard::{Guard, Rejection, RejectionKind, TokenProblem};
pub use introspection::Introspector;
pub use login::{
    AuthorizationUrl, ExchangeError, Login, LoginError, LoginStore, TokenResponse, exchange_code,
};
pub use metadata::{
    DiscoveryError, ProtectedResourceDocument, ProviderMetadata, discover,
    protected_resource_document,
};
pub use token::{TokenInfo, TokenValidator, ValidationError};
