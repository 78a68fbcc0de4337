//! JWT access tokens (RFC 9068) checked locally: JWS signatures.
pub mod signature;
