//! JWS signature verification: the published examples verify and stop verifying when one
//! byte changes; names, key sizes and signature lengths outside the allowlist are refused.

mod support;

use push_advisor_oauth::jwt::signature::{
    JwsAlgorithm, KeyError, SignatureError, VerifyingKey, verify,
};
use support::rfc_jws::{self, Example, b64};

fn examples() -> [Example; 3] {
    [rfc_jws::rs256(), rfc_jws::es256(), rfc_jws::eddsa()]
}

#[test]
fn published_examples_verify() {
    for example in examples() {
        assert_eq!(
            verify(
                example.alg,
                &example.key,
                &example.signing_input,
                &example.signature
            ),
            Ok(()),
            "{}",
            example.alg
        );
    }
}

#[test]
fn one_changed_byte_of_input_or_signature_fails() {
    for example in examples() {
        for at in 0..example.signing_input.len() {
            let mut input = example.signing_input.clone();
            input[at] ^= 0x01;
            assert_eq!(
                verify(example.alg, &example.key, &input, &example.signature),
                Err(SignatureError::Invalid),
                "{} input byte {at}",
                example.alg
            );
        }
        for at in 0..example.signature.len() {
            let mut signature = example.signature.clone();
            signature[at] ^= 0x80;
            assert_eq!(
                verify(
                    example.alg,
                    &example.key,
                    &example.signing_input,
                    &signature
                ),
                Err(SignatureError::Invalid),
                "{} signature byte {at}",
                example.alg
            );
        }
    }
}

#[test]
fn signatures_of_another_length_are_refused() {
    for example in examples() {
        let mut longer = example.signature.clone();
        longer.insert(0, 0);
        let shorter = &example.signature[1..];
        for signature in [&longer[..], shorter, &[]] {
            assert_eq!(
                verify(example.alg, &example.key, &example.signing_input, signature),
                Err(SignatureError::BadLength),
                "{} with {} bytes",
                example.alg,
                signature.len()
            );
        }
    }
}

#[test]
fn a_key_verifies_only_its_own_algorithms() {
    let [rsa, p256, ed25519] = examples();
    for (alg, key) in [
        (JwsAlgorithm::Es256, &rsa.key),
        (JwsAlgorithm::EdDsa, &rsa.key),
        (JwsAlgorithm::Rs256, &p256.key),
        (JwsAlgorithm::Ps256, &p256.key),
        (JwsAlgorithm::EdDsa, &p256.key),
        (JwsAlgorithm::Rs256, &ed25519.key),
        (JwsAlgorithm::Es256, &ed25519.key),
    ] {
        assert!(!key.fits(alg), "{alg} with {key:?}");
        assert_eq!(
            verify(alg, key, &rsa.signing_input, &rsa.signature),
            Err(SignatureError::WrongKeyType),
            "{alg} with {key:?}"
        );
    }
    for (alg, key) in [
        (JwsAlgorithm::Rs256, &rsa.key),
        (JwsAlgorithm::Ps256, &rsa.key),
        (JwsAlgorithm::Es256, &p256.key),
        (JwsAlgorithm::EdDsa, &ed25519.key),
    ] {
        assert!(key.fits(alg), "{alg} with {key:?}");
    }
    // An RS256 signature is not a PS256 signature under the same key.
    assert_eq!(
        verify(
            JwsAlgorithm::Ps256,
            &rsa.key,
            &rsa.signing_input,
            &rsa.signature
        ),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn algorithm_names_outside_the_allowlist_are_refused() {
    for name in [
        "none", "None", "NONE", "HS256", "HS384", "HS512", "RS384", "RS512", "ES384", "ES512",
        "PS384", "PS512", "ES256K", "Ed25519", "rs256", "RS256 ", "", "RSA1_5",
    ] {
        assert_eq!(JwsAlgorithm::from_name(name), None, "{name:?}");
    }
    for alg in [
        JwsAlgorithm::Rs256,
        JwsAlgorithm::Es256,
        JwsAlgorithm::EdDsa,
        JwsAlgorithm::Ps256,
    ] {
        assert_eq!(JwsAlgorithm::from_name(alg.name()), Some(alg));
    }
    assert_eq!(
        [
            JwsAlgorithm::Rs256,
            JwsAlgorithm::Es256,
            JwsAlgorithm::EdDsa,
            JwsAlgorithm::Ps256
        ]
        .map(JwsAlgorithm::name),
        ["RS256", "ES256", "EdDSA", "PS256"]
    );
}

/// An odd modulus of `bits` bits (its value does not matter for the size checks).
fn modulus_of(bits: usize) -> Vec<u8> {
    let mut modulus = vec![0xff; bits.div_ceil(8)];
    modulus[0] = 0xff >> (modulus.len() * 8 - bits);
    modulus
}

#[test]
fn rsa_keys_outside_2048_to_4096_bits_are_refused() {
    let e = [0x01, 0x00, 0x01];
    for bits in [512, 1024, 2047, 4097, 8192] {
        assert_eq!(
            VerifyingKey::rsa(&modulus_of(bits), &e),
            Err(KeyError::UnsupportedSize),
            "{bits} bits"
        );
    }
    for bits in [2048, 2049, 3072, 4096] {
        let key = VerifyingKey::rsa(&modulus_of(bits), &e).expect("accepted size");
        let VerifyingKey::Rsa(rsa) = key else {
            panic!("not RSA")
        };
        assert_eq!((rsa.modulus_bits(), rsa.exponent()), (bits, 65537));
    }
    // Leading zero bytes do not count (JWK `n` has none, DER integers may).
    let mut padded = vec![0, 0];
    padded.extend(modulus_of(2048));
    assert!(VerifyingKey::rsa(&padded, &e).is_ok());
    let mut long_1024 = vec![0; 128];
    long_1024.extend(modulus_of(1024));
    assert_eq!(
        VerifyingKey::rsa(&long_1024, &e),
        Err(KeyError::UnsupportedSize)
    );
    let mut even = modulus_of(2048);
    *even.last_mut().unwrap() = 0xfe;
    assert_eq!(VerifyingKey::rsa(&even, &e), Err(KeyError::BadEncoding));
}

#[test]
fn rsa_exponents_even_small_or_long_are_refused() {
    let n = modulus_of(2048);
    for e in [
        &[][..],
        &[1],
        &[0, 1],
        &[2],
        &[0x01, 0x00, 0x00],
        &[0x01, 0x00, 0x02],
        &[0x01, 0x00, 0x00, 0x00, 0x01],
    ] {
        assert_eq!(
            VerifyingKey::rsa(&n, e),
            Err(KeyError::UnsupportedExponent),
            "e = {e:?}"
        );
    }
    for (e, value) in [
        (&[0x01, 0x00, 0x01][..], 65537),
        (&[0x00, 0x01, 0x00, 0x01], 65537),
        (&[3], 3),
        (&[0xff, 0xff, 0xff, 0xff], u32::MAX),
    ] {
        let VerifyingKey::Rsa(key) = VerifyingKey::rsa(&n, e).unwrap() else {
            panic!("not RSA")
        };
        assert_eq!(key.exponent(), value);
    }
}

#[test]
fn an_rsa_signature_not_below_the_modulus_is_refused() {
    let example = rfc_jws::rs256();
    let n = b64(rfc_jws::RS256_N);
    // s = n and s = 2^2048 - 1 (> n): both of the modulus's length.
    for signature in [n.clone(), vec![0xff; n.len()]] {
        assert_eq!(
            verify(
                JwsAlgorithm::Rs256,
                &example.key,
                &example.signing_input,
                &signature
            ),
            Err(SignatureError::Invalid)
        );
    }
}

#[test]
fn p256_keys_off_the_curve_or_of_another_length_are_refused() {
    let x = b64("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
    let y = b64("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
    let mut off_curve = y.clone();
    off_curve[31] ^= 1;
    assert_eq!(
        VerifyingKey::p256(&x, &off_curve),
        Err(KeyError::BadEncoding)
    );
    assert_eq!(VerifyingKey::p256(&x[1..], &y), Err(KeyError::BadEncoding));
    let mut longer = vec![0];
    longer.extend(&x);
    assert_eq!(VerifyingKey::p256(&longer, &y), Err(KeyError::BadEncoding));
    assert_eq!(
        VerifyingKey::p256(&[0; 32], &[0; 32]),
        Err(KeyError::BadEncoding)
    );
    // A coordinate not below the field prime is not canonical.
    assert_eq!(
        VerifyingKey::p256(&[0xff; 32], &y),
        Err(KeyError::BadEncoding)
    );
}

#[test]
fn ed25519_keys_of_small_order_or_another_length_are_refused() {
    // The neutral element (0, 1) and the point of order 2 (0, -1).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(VerifyingKey::ed25519(&identity), Err(KeyError::WeakKey));
    let mut order_two = [0xffu8; 32];
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    assert_eq!(VerifyingKey::ed25519(&order_two), Err(KeyError::WeakKey));
    assert_eq!(VerifyingKey::ed25519(&[1; 31]), Err(KeyError::BadEncoding));
    assert_eq!(VerifyingKey::ed25519(&[1; 33]), Err(KeyError::BadEncoding));
}

#[test]
fn a_verifying_key_fits_in_a_fixed_key_set() {
    // The device keeps a few of these in a fixed array: each is the size of an RSA-4096 key.
    let size = core::mem::size_of::<VerifyingKey>();
    assert!(size <= 528, "VerifyingKey is {size} bytes");
}

/// Keys whose size is none of the arithmetic's (2048, 3072, 4096 bits), signed once with
/// RS256 and PS256 over the same input: 2049 bits (one more byte than its PSS block, made
/// with Python's `cryptography`) and 3000 bits (OpenSSL 3.0).
const ODD_SIZED: [(usize, &str, &str, &str); 2] = [
    (
        2049,
        "AXV0UIBtD3PPtvYnQze21Lk_xzCWTvhz407oaDCITqpurMWAKXOZIutaK2DbnBAFBeT8dayhtW7Qp2uPNe-TefHeL9ADXDn69dhhsJdo7tbMCXs4o9iDK0J6BSZdydtqVPwgCcBk3r5xa6isQg2CIMF8c5lt9HMP5tixynqhXGXFt3EHrBx8PoAssvW-pf3MVZ1JZHWsJdu1Y_l-FiJC-2YC1Ypq6wc8UXx-_5LktGnNuBJy-SpaRNOOFCHXuQj0TS8JtLfYmW-As2T_qu8scsK41yQVf2hsoo6ZDQtSvmsTgVb7BZAR_72X1CQd1En9HcT1COaCiGdJ89IlufsJR6E",
        "AIXFcysLzLPDtKrDBo3iCAp7MJ4CZXX8u6v-bJn2EzKyXFlO2yl1SEJMpQ1KN9Vvj-v7IkMrfFwwFdAMioHWQmYQsOsJx4SxML5Zy3x0tmxLsQM5Pnvr0VImDxaVZS7IyGAD6NS8jHnZQs9qgIxN5zpl1OZTh_oNiMKkmnO22-_9lrA3-AvGFBo89SDsqZz58q1AcEfCVVXFjRvFoQ6MBDcMXLSvjeJ7N_opXP5u1wCajsAA4HCORxaeFqrpir1aDJXhP0ea_2bBoT9WNlhrsBovSsL8OS4N1qK2gauRxbHndHoLSKABkn8Qt14urI5Tz7AY23V5cM8SGW4JKXB5eCQ",
        "ABgaelKmZOiDNIuM6cN_sCUTDSom7DufZhNHJgGvZQbNqV5nT8mI8e8mjk6-iJEztdgSU1XwAUub8gB0esS6NJ1bre6HskON4QPlkDpRyr5DJ-q50BJL4lmOkZIH2zQTVjw8sbc3CsCnnUPYupn37ExoWsuMJtshMfyBwTDdIIUP94DLea6bbp1z93BTAqoKtekqzTQMzWisrQPOqH90_Vu1mkhJvBhmU2kP5FT6drl4sSe1NYG-1El8IkEi9aW1D5j4w_eM_4FDaKDw_CPBTKNQLT6a1UlFbW8urWU2sDLBUkqWiaFpmg-ndtqqX0hvZHJtVZmIgjusRyMIy1TK6x4",
    ),
    (
        3000,
        "43CTkiZyaTStZ6Z8iuQcBf2Ufw5Q644D4dyK3gzstbUM7RTV061kU2y4fZt9jaNRc5pj9Fc0wuoE5zakwhmXoSYjQDIgsV5y9A53Qe6xNHczAcBLk9oSYv-QXdS2gd8ipUUjQ1PhyRNFzQNmSklIS3A4nudqxwqc-8byUZ-JY2bBJNjRNTecNFAeywjs0s0tZV4_ZkCjdGAI8XfVs5lKEa_SqWNvPwQHKTHjejDb14Z3IBzdho_WEsA3kOmY4BMsJaOhBicNIVe3iQDcoa27D_zh4h-UgnBzozivfFFn8xirE_Kw_92Ld41CiX72rak31FGwYH_JEnx5ieVQf7uZKnaECNQw2Fm9Ue7x7prtLIXYp8r3ZEZrRdqmtjIJYC5cR6oky9xy5vYiMXIrdWgcJ7yoi-7HiI6ysdGveB7IcS9KVloPbPg_SeCHW9aDCDndBR5x-u0E73SLEqCo1g2PyOrUt4A1z9McGmavoYCuKSfFM8AI_Wob",
        "wKmrvNApQF0hx7hMLg9MTYin74-A-zT3oaumJIxmNg1irRhxKlarDhj88TE1VQIubsI9obM7GUnSPZliftlx8fSXwjRRbLvbcCzoHvrQILojHmSsFoapoYJVXDHcinaJWIQ6nXL1a3FWpYF0wYwRLMjTlHXKAoCX_gASgEXCu5uh3n0RzzLsjqXQhPyTQXPuYXvRD-Gsh2ngxqADswQQ_G3dLyEaCnD9bt-WZuWWe7Mx6fph6t5IBT8tqxokmralQ6Sat6zhk0PIbAkCJ8fZl4XJRtkOE3vr947Q9QOOPJePgXfKC6y25QWP2_xOXk7MsC1L59CNs-IBZgZ2Biqn4ZDh3lZn9WMzPGgmRYYYeU6qk8mEXozPhcKwlO2JyVbRf-zmSa-n7dH_vfYO_hfZ-0RVK68JQSoyQsMjJAwRK5mD2MM6ltqE4HaPs6r9zvmJzt-GI6H2YZOFdXQXlZpgpK1j7Km0BSgaLyio-AbRJZXH3E1J6349",
        "BYI8hpVecXsMlA9nC-Qd7wz1GczbKj3R1jXDhNPpLxjjLdeCejRZZrsBXNCEVTHgiYfxFG6wfbPjpWHHuYCKhpFOldvLHaepWrhXInOApXxGsDfEaEytyIUohrkfr9_lbvGoNWY-SfuYx_JHR6mkApelSt3vfRQtHrElgf3jf6ibc44ef6wzmGLTNaZGgO0AFNIMtl-YC-rpyYpaUXvYEvKnwp5N2ZQskaPSMGMkLobEo-bleVRqvXZJBVG_vm2Rh-JlDNkzqfxbIaWSKdvFugbQeHm8w-8wEY1S55VMWi2eALR_nRl2Vu3rNHRrLlXghwz_0pJdrwYq6TPmR74MESPs2myYwU-r4PNDel_zlWW0bWnaURgKHZPIIaddjddmHu3eBE72O3ILXXZPAlLa-XkEarysQLdlZ4WxqSAWnLNTSY4rgHp28M2pheUYYyvzlFQu65NZ9CXT7oWH3hVwN_DtQWkZaIUApwyLhXe82lYRrULfBgnE",
    ),
];

#[test]
fn rsa_keys_of_sizes_between_the_arithmetic_sizes_verify() {
    let input = b"eyJhbGciOiJSUzI1NiJ9.b2RkIHNpemU";
    for (bits, n, rs256, ps256) in ODD_SIZED {
        let key = VerifyingKey::rsa(&b64(n), &[1, 0, 1]).unwrap();
        let VerifyingKey::Rsa(rsa) = &key else {
            panic!("not RSA")
        };
        assert_eq!(rsa.modulus_bits(), bits);
        for (alg, signature) in [
            (JwsAlgorithm::Rs256, b64(rs256)),
            (JwsAlgorithm::Ps256, b64(ps256)),
        ] {
            assert_eq!(verify(alg, &key, input, &signature), Ok(()), "{alg} {bits}");
            let mut tampered = signature.clone();
            tampered[signature.len() / 2] ^= 1;
            assert_eq!(
                verify(alg, &key, input, &tampered),
                Err(SignatureError::Invalid),
                "{alg} {bits}"
            );
            assert_eq!(
                verify(alg, &key, b"eyJhbGciOiJSUzI1NiJ9.b2RkIHNpemV", &signature),
                Err(SignatureError::Invalid),
                "{alg} {bits}"
            );
        }
    }
}
