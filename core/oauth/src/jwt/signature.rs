//! JWS signature verification (RFC 7515 with the algorithms of RFC 7518 and RFC 8037),
//! without allocation: the same code runs on a host and on a microcontroller.
//!
//! A key is built once from a JWK's members ([`VerifyingKey::rsa`], [`VerifyingKey::p256`],
//! `VerifyingKey::ed25519`) and checked there; [`verify`] then checks one signature over
//! a compact JWS's signing input (`header.payload`, as sent). `none` and the HMAC
//! algorithms do not exist here: [`JwsAlgorithm::from_name`] refuses them.
//!
//! Algorithms: RS256 and ES256 always; EdDSA (Ed25519) with feature `jwt-eddsa`; PS256
//! with feature `jwt-ps256`.

mod rsa;

use core::fmt;

pub use rsa::{MAX_RSA_BITS, MIN_RSA_BITS, MIN_RSA_EXPONENT, RsaPublicKey};

/// JWS algorithms this build can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlgorithm {
    /// `RS256`: RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// `ES256`: ECDSA on P-256 with SHA-256, the signature as `r || s` (64 bytes).
    Es256,
    /// `EdDSA` with the Ed25519 curve (RFC 8037).
    #[cfg(feature = "jwt-eddsa")]
    EdDsa,
    /// `PS256`: RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt.
    #[cfg(feature = "jwt-ps256")]
    Ps256,
}

impl JwsAlgorithm {
    /// The algorithm a JWS header's `alg` names, if this build verifies it. Names are
    /// case-sensitive (RFC 7515 §4.1.1); `none` and every `HS*` give `None`.
    pub fn from_name(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            #[cfg(feature = "jwt-eddsa")]
            "EdDSA" => Some(Self::EdDsa),
            #[cfg(feature = "jwt-ps256")]
            "PS256" => Some(Self::Ps256),
            _ => None,
        }
    }

    /// The algorithm's `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            #[cfg(feature = "jwt-eddsa")]
            Self::EdDsa => "EdDSA",
            #[cfg(feature = "jwt-ps256")]
            Self::Ps256 => "PS256",
        }
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key taken from a JWK, checked and ready to verify.
///
/// Without alloc a key set is an array of these, so every key takes the room of the
/// largest, a 4096-bit RSA modulus (about 520 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // no Box without alloc; see above
pub enum VerifyingKey {
    /// An RSA key (`kty` `RSA`) of [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits: RS256, PS256.
    Rsa(RsaPublicKey),
    /// A P-256 key (`kty` `EC`, `crv` `P-256`): ES256.
    P256(P256PublicKey),
    /// An Ed25519 key (`kty` `OKP`, `crv` `Ed25519`): EdDSA.
    #[cfg(feature = "jwt-eddsa")]
    Ed25519(Ed25519PublicKey),
}

impl VerifyingKey {
    /// An RSA key from a JWK's base64url-decoded `n` and `e` (big-endian; leading zero
    /// bytes are ignored). The modulus must have 2048 to 4096 bits and be odd; the
    /// exponent must be odd, at least 3 and fit in 32 bits.
    pub fn rsa(modulus_be: &[u8], exponent_be: &[u8]) -> Result<Self, KeyError> {
        RsaPublicKey::new(modulus_be, exponent_be).map(Self::Rsa)
    }

    /// A P-256 key from a JWK's base64url-decoded `x` and `y` (32 bytes each, RFC 7518
    /// §6.2.1). The point must be on the curve and not the identity.
    pub fn p256(x: &[u8], y: &[u8]) -> Result<Self, KeyError> {
        P256PublicKey::new(x, y).map(Self::P256)
    }

    /// An Ed25519 key from a JWK's base64url-decoded `x` (32 bytes, RFC 8037 §2). A
    /// non-canonical encoding and a point of small order are refused.
    #[cfg(feature = "jwt-eddsa")]
    pub fn ed25519(x: &[u8]) -> Result<Self, KeyError> {
        Ed25519PublicKey::new(x).map(Self::Ed25519)
    }

    /// Whether this key may verify `alg` (RSA for RS256/PS256, P-256 for ES256, Ed25519
    /// for EdDSA).
    pub fn fits(&self, alg: JwsAlgorithm) -> bool {
        match alg {
            JwsAlgorithm::Rs256 => matches!(self, Self::Rsa(_)),
            #[cfg(feature = "jwt-ps256")]
            JwsAlgorithm::Ps256 => matches!(self, Self::Rsa(_)),
            JwsAlgorithm::Es256 => matches!(self, Self::P256(_)),
            #[cfg(feature = "jwt-eddsa")]
            JwsAlgorithm::EdDsa => matches!(self, Self::Ed25519(_)),
        }
    }
}

/// A P-256 public key (checked to be a point of the curve).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P256PublicKey(p256::ecdsa::VerifyingKey);

impl P256PublicKey {
    /// Length of each affine coordinate.
    const COORDINATE_BYTES: usize = 32;
    /// Length of an ES256 signature, `r || s` (RFC 7518 §3.4).
    const SIGNATURE_BYTES: usize = 64;

    fn new(x: &[u8], y: &[u8]) -> Result<Self, KeyError> {
        if x.len() != Self::COORDINATE_BYTES || y.len() != Self::COORDINATE_BYTES {
            return Err(KeyError::BadEncoding);
        }
        let point = p256::EncodedPoint::from_affine_coordinates(
            p256::FieldBytes::from_slice(x),
            p256::FieldBytes::from_slice(y),
            false,
        );
        p256::ecdsa::VerifyingKey::from_encoded_point(&point)
            .map(Self)
            .map_err(|_| KeyError::BadEncoding)
    }

    fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        use p256::ecdsa::signature::Verifier;
        if signature.len() != Self::SIGNATURE_BYTES {
            return Err(SignatureError::BadLength);
        }
        // Refuses r or s of zero or not below the group order.
        let signature =
            p256::ecdsa::Signature::from_slice(signature).map_err(|_| SignatureError::Invalid)?;
        self.0
            .verify(signing_input, &signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// An Ed25519 public key (checked: canonical encoding, not of small order).
#[cfg(feature = "jwt-eddsa")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ed25519PublicKey(ed25519_compact::PublicKey);

#[cfg(feature = "jwt-eddsa")]
impl Ed25519PublicKey {
    fn new(x: &[u8]) -> Result<Self, KeyError> {
        let key = ed25519_compact::PublicKey::from_slice(x).map_err(|_| KeyError::BadEncoding)?;
        key.validate().map_err(|error| match error {
            ed25519_compact::Error::WeakPublicKey => KeyError::WeakKey,
            _ => KeyError::BadEncoding,
        })?;
        Ok(Self(key))
    }

    /// Strict verification: a non-canonical `S`, and an `R` that is not a canonical point
    /// or is of small order, are refused.
    fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let signature = ed25519_compact::Signature::from_slice(signature)
            .map_err(|_| SignatureError::BadLength)?;
        self.0
            .verify(signing_input, &signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Why a JWK's key material was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// An RSA modulus outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`] bits.
    UnsupportedSize,
    /// An RSA public exponent that is even, below [`MIN_RSA_EXPONENT`] or over 32 bits.
    UnsupportedExponent,
    /// A member of the wrong length, or not a key of its type (a point off the curve, a
    /// non-canonical encoding, an even RSA modulus).
    BadEncoding,
    /// An Ed25519 point of small order: signatures with it prove nothing.
    WeakKey,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnsupportedSize => "RSA modulus size not supported (2048 to 4096 bits)",
            Self::UnsupportedExponent => {
                "RSA exponent not supported (odd, 3 or more, at most 32 bits)"
            }
            Self::BadEncoding => "key material malformed or not a valid key",
            Self::WeakKey => "Ed25519 key of small order",
        })
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The key is not of the algorithm's type (e.g. an RSA key for ES256).
    WrongKeyType,
    /// The signature's length is not the one the algorithm and key give.
    BadLength,
    /// The signature does not verify.
    Invalid,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongKeyType => "key type does not fit the algorithm",
            Self::BadLength => "signature of the wrong length",
            Self::Invalid => "signature does not verify",
        })
    }
}

/// Checks `signature` over `signing_input` (the ASCII `header.payload` of a compact JWS)
/// with `key`, for algorithm `alg`.
pub fn verify(
    alg: JwsAlgorithm,
    key: &VerifyingKey,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    match (alg, key) {
        (JwsAlgorithm::Rs256, VerifyingKey::Rsa(key)) => {
            key.verify_pkcs1v15_sha256(signing_input, signature)
        }
        #[cfg(feature = "jwt-ps256")]
        (JwsAlgorithm::Ps256, VerifyingKey::Rsa(key)) => {
            key.verify_pss_sha256(signing_input, signature)
        }
        (JwsAlgorithm::Es256, VerifyingKey::P256(key)) => key.verify(signing_input, signature),
        #[cfg(feature = "jwt-eddsa")]
        (JwsAlgorithm::EdDsa, VerifyingKey::Ed25519(key)) => key.verify(signing_input, signature),
        _ => Err(SignatureError::WrongKeyType),
    }
}
