//! The whole check of a JWT access token seen for the first time, per algorithm: split,
//! base64url decode, header, key lookup, signature, claims (what the token cache saves on
//! later requests). The key set is already held, as after the first JWKS fetch.
//!
//! Criterion: `cargo bench -p push-advisor-oauth --features jwt,jwt-eddsa,jwt-ps256,testing --bench jwt_check`
//! Instructions (callgrind; see BENCHMARKS.md): run the built bench binary with
//! `count <RS256|ES256|EdDSA|PS256> <checks>`.

#[allow(dead_code)] // the shared vectors hold more tokens than this bench checks
mod vectors {
    include!("../testdata/jwt_vectors.rs");
    include!("ps256_vector.rs");
}

use criterion::Criterion;
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use push_advisor_oauth::jwt::jwks::parse_jwks;
use push_advisor_oauth::jwt::{JwksPolicy, JwtSettings, JwtValidator, KeyStore};
use push_advisor_oauth::testing::{FakeClock, FakeConnector, buffers, config};
use push_advisor_oauth::{SharedMetadata, TokenValidator};
use vectors::*;

/// The algorithms and their tokens (RSA keys are 2048-bit).
const TOKENS: [(&str, &str); 4] = [
    ("RS256", RS256_TOKEN),
    ("ES256", ES256_TOKEN),
    ("EdDSA", EDDSA_TOKEN),
    ("PS256", PS256_TOKEN),
];

type Validator = JwtValidator<'static, CriticalSectionRawMutex, FakeConnector, &'static FakeClock>;

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// A validator holding the test keys, at the tokens' time; it never connects.
fn validator() -> Validator {
    let keys: &KeyStore<CriticalSectionRawMutex> = leak(KeyStore::new(JwksPolicy::default()));
    let jwks = format!(r#"{{"keys":[{RSA_JWK},{EC_JWK},{ED_JWK},{PS_JWK}]}}"#);
    let set = parse_jwks(jwks.as_bytes()).expect("test JWKS");
    let clock = leak(FakeClock::at(Some(NOW)));
    keys.finish_fetch(Some((set, u64::MAX / 2)), 0);
    JwtValidator::new(
        leak(config()),
        leak(JwtSettings::default()),
        leak(<SharedMetadata>::new()),
        leak(FakeConnector::new(Vec::new())),
        buffers(),
        clock,
        keys,
    )
}

fn check(validator: &Validator, token: &str) {
    let info = block_on(validator.validate(token)).expect("valid token");
    assert_eq!(info.subject(), Some("alice"));
}

fn main() {
    let validator = validator();
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    if args.next().as_deref() == Some("count") {
        let alg = args.next().unwrap_or_else(|| "RS256".into());
        let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
        let (_, token) = TOKENS
            .iter()
            .find(|(name, _)| *name == alg)
            .expect("RS256, ES256, EdDSA or PS256");
        for _ in 0..count {
            check(&validator, token);
        }
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    for (alg, token) in TOKENS {
        criterion.bench_function(&format!("first-seen JWT check {alg}"), |b| {
            b.iter(|| check(&validator, token))
        });
    }
    criterion.final_summary();
}
