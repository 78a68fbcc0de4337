//! Local validation of RFC 9068 JWT access tokens against the provider's JWKS, without
//! allocation (feature `jwt`): the compact JWS read into bounded buffers
//! ([`compact`]), the signature checked ([`signature`]: RS256 and ES256, EdDSA with
//! `jwt-eddsa`, PS256 with `jwt-ps256`), the claims turned into the same
//! [`TokenInfo`](crate::TokenInfo) introspection gives ([`claims`]), keys from the
//! discovered `jwks_uri` kept in a bounded, shared store ([`jwks`]). [`JwtValidator`]
//! is the [`TokenValidator`](crate::TokenValidator); [`ChosenValidator`] picks it or
//! introspection per token ([`ValidationMode`]).

pub mod choice;
pub mod claims;
pub mod compact;
pub mod jwks;
pub mod signature;
mod validator;

#[cfg(test)]
pub(crate) mod testing;

pub use choice::{ChosenValidator, ValidationMode};
pub use claims::JwtSettings;
pub use jwks::{JwksPolicy, KeyStore};
pub use validator::JwtValidator;
