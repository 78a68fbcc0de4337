//! Test vectors and fixtures for the JWT tests.

use crate::SharedMetadata;
use crate::metadata::{Member, ProviderMetadata};

include!("../../testdata/jwt_vectors.rs");

/// Discovered metadata for issuer 127.0.0.1:9000, with a `jwks_uri` and an
/// introspection endpoint as asked.
pub fn metadata(jwks: bool, introspection: bool) -> SharedMetadata {
    let shared = SharedMetadata::new();
    let mut known: ProviderMetadata = ProviderMetadata::default();
    let urls = [
        (true, Member::Issuer, "http://127.0.0.1:9000"),
        (jwks, Member::JwksUri, "http://127.0.0.1:9000/jwks"),
        (
            introspection,
            Member::IntrospectionEndpoint,
            "http://127.0.0.1:9000/i",
        ),
    ];
    for (wanted, member, url) in urls {
        if wanted {
            known.set_url(member, url).unwrap();
        }
    }
    shared.set(known);
    shared
}
