//! The app with JWT access tokens checked locally (RS256 and ES256 test vectors of the
//! OAuth crate) behind the same token cache as introspection, the provider's keys
//! already held (as after the first JWKS fetch), at the tokens' time.

mod vectors {
    #![allow(dead_code)] // the shared vectors hold more tokens than the benches use
    include!("../../../oauth/testdata/jwt_vectors.rs");
}

use crate::support::FixedClock;
use crate::support::app::{Mx, Wired, leak, oauth_config, wired_with};
use push_advisor_oauth::jwt::jwks::parse_jwks;
use push_advisor_oauth::jwt::{JwksPolicy, JwtSettings, JwtValidator, KeyStore};
use push_advisor_oauth::{CachePolicy, CachingValidator};

pub use vectors::{ES256_TOKEN, RS256_TOKEN};

/// The token cache over the JWT validator, sized as the introspection one.
pub type JwtValidated = CachingValidator<
    Mx,
    JwtValidator<'static, Mx, crate::support::ReplayConnector, FixedClock>,
    FixedClock,
    16,
>;

/// The wired app; it never calls the provider.
pub fn jwt_wired() -> Wired<JwtValidated> {
    wired_with(
        Some(vectors::NOW),
        &[],
        false,
        oauth_config(false),
        |parts| {
            let keys: &KeyStore<Mx> = leak(KeyStore::new(JwksPolicy::default()));
            let jwks = format!(r#"{{"keys":[{},{}]}}"#, vectors::RSA_JWK, vectors::EC_JWK);
            let set = parse_jwks(jwks.as_bytes()).expect("test JWKS");
            keys.finish_fetch(Some((set, u64::MAX / 2)), 0);
            let jwt = JwtValidator::new(
                parts.oauth,
                leak(JwtSettings::default()),
                parts.provider,
                parts.connector,
                parts.buffers,
                parts.clock,
                keys,
            );
            CachingValidator::new(jwt, parts.clock, CachePolicy::from_config(parts.oauth))
        },
    )
}
