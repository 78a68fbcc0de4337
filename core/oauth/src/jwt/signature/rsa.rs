//! RSA signatures (RS256, PS256) over fixed-size integers, without allocation.
//!
//! The public operation `s^e mod n` runs in Montgomery form on the smallest of 2048,
//! 3072 or 4096 bits that holds the modulus, with plain square-and-multiply over the
//! public exponent (17 steps for 65537). The decrypted block is then compared with the
//! block expected for the message as a whole (PKCS#1 v1.5), never parsed, which leaves no
//! room for Bleichenbacher-style forgeries that slip through a lenient parser.

use core::fmt;

use crypto_bigint::modular::montgomery_reduction;
use crypto_bigint::{Limb, U2048, U3072, U4096, Uint, Word};
use sha2::{Digest, Sha256};

use super::{KeyError, SignatureError};

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 4096;
/// The smallest public exponent accepted. With `e = 1` every encoded block would be its
/// own signature; 3 is safe for verification because the whole block is compared.
pub const MIN_RSA_EXPONENT: u32 = 3;

const MAX_MODULUS_BYTES: usize = MAX_RSA_BITS / 8;
const SHA256_BYTES: usize = 32;

/// DER of the `DigestInfo` that precedes a SHA-256 hash in EMSA-PKCS1-v1_5 (RFC 8017
/// §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// An RSA public key of [`MIN_RSA_BITS`] to [`MAX_RSA_BITS`] bits.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// The modulus, big-endian without leading zeros, in the first `len` bytes.
    modulus: [u8; MAX_MODULUS_BYTES],
    len: u16,
    exponent: u32,
}

impl RsaPublicKey {
    pub(super) fn new(modulus_be: &[u8], exponent_be: &[u8]) -> Result<Self, KeyError> {
        let modulus = without_leading_zeros(modulus_be);
        let bits = bit_length(modulus);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::UnsupportedSize);
        }
        if modulus.last().is_none_or(|low| low & 1 == 0) {
            return Err(KeyError::BadEncoding);
        }
        let exponent = without_leading_zeros(exponent_be);
        if exponent.len() > 4 {
            return Err(KeyError::UnsupportedExponent);
        }
        let exponent = exponent
            .iter()
            .fold(0u32, |value, &byte| (value << 8) | u32::from(byte));
        if exponent < MIN_RSA_EXPONENT || exponent & 1 == 0 {
            return Err(KeyError::UnsupportedExponent);
        }
        let mut stored = [0; MAX_MODULUS_BYTES];
        let (head, _) = stored.split_at_mut(modulus.len());
        head.copy_from_slice(modulus);
        Ok(Self {
            modulus: stored,
            len: modulus.len() as u16,
            exponent,
        })
    }

    /// The modulus size in bits.
    pub fn modulus_bits(&self) -> usize {
        bit_length(self.modulus())
    }

    /// The public exponent.
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    fn modulus(&self) -> &[u8] {
        self.modulus
            .get(..usize::from(self.len))
            .unwrap_or_default()
    }

    /// RSASSA-PKCS1-v1_5-VERIFY (RFC 8017 §8.2.2) with SHA-256.
    pub(super) fn verify_pkcs1v15_sha256(
        &self,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let mut decrypted = [0; MAX_MODULUS_BYTES];
        let decrypted = self.public_operation(signature, &mut decrypted)?;
        let mut expected = [0xff; MAX_MODULUS_BYTES];
        let expected = pkcs1v15_sha256_block(
            &Sha256::digest(signing_input).into(),
            expected.get_mut(..decrypted.len()).unwrap_or_default(),
        );
        if expected.is_some_and(|expected| expected == decrypted) {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }

    /// RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with SHA-256, MGF1-SHA-256 and a 32-byte salt,
    /// as RFC 7518 §3.5 fixes them for PS256.
    #[cfg(feature = "jwt-ps256")]
    pub(super) fn verify_pss_sha256(
        &self,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let mut decrypted = [0; MAX_MODULUS_BYTES];
        let decrypted = self.public_operation(signature, &mut decrypted)?;
        let encoded_bits = self.modulus_bits() - 1;
        let encoded_len = encoded_bits.div_ceil(8);
        // I2OSP(m, emLen): one more byte in the modulus than in EM must be zero.
        let (high, encoded) = decrypted.split_at_mut(decrypted.len() - encoded_len);
        if high.iter().any(|&byte| byte != 0) {
            return Err(SignatureError::Invalid);
        }
        if pss::verify_sha256(&Sha256::digest(signing_input).into(), encoded, encoded_bits) {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }

    /// `signature^e mod n` into `out`, as many bytes as the modulus; refuses a signature
    /// of another length, or one not below the modulus (RFC 8017 §5.2.2).
    fn public_operation<'o>(
        &self,
        signature: &[u8],
        out: &'o mut [u8; MAX_MODULUS_BYTES],
    ) -> Result<&'o mut [u8], SignatureError> {
        let modulus = self.modulus();
        if signature.len() != modulus.len() {
            return Err(SignatureError::BadLength);
        }
        let (out, _) = out.split_at_mut(modulus.len());
        let done = if modulus.len() <= U2048::BYTES {
            power_mod::<{ U2048::LIMBS }>(modulus, self.exponent, signature, out)
        } else if modulus.len() <= U3072::BYTES {
            power_mod::<{ U3072::LIMBS }>(modulus, self.exponent, signature, out)
        } else {
            power_mod::<{ U4096::LIMBS }>(modulus, self.exponent, signature, out)
        };
        if done {
            Ok(out)
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey")
            .field("bits", &self.modulus_bits())
            .field("exponent", &self.exponent)
            .finish()
    }
}

/// Writes EM = 0x00 || 0x01 || 0xff.. || 0x00 || DigestInfo(SHA-256) || hash (RFC 8017
/// §9.2) over the whole of `block`, which arrives filled with 0xff.
fn pkcs1v15_sha256_block<'b>(hash: &[u8; SHA256_BYTES], block: &'b mut [u8]) -> Option<&'b [u8]> {
    let tail_len = SHA256_DIGEST_INFO.len() + SHA256_BYTES;
    // At least 8 bytes of padding (RFC 8017 §9.2 step 3); always true from 2048 bits.
    let padding_end = block.len().checked_sub(tail_len + 1)?;
    if padding_end < 2 + 8 {
        return None;
    }
    let (head, tail) = block.split_at_mut(padding_end);
    head.get_mut(..2)?.copy_from_slice(&[0x00, 0x01]);
    let (separator, tail) = tail.split_at_mut(1);
    separator.copy_from_slice(&[0x00]);
    let (digest_info, digest) = tail.split_at_mut(SHA256_DIGEST_INFO.len());
    digest_info.copy_from_slice(&SHA256_DIGEST_INFO);
    digest.copy_from_slice(hash);
    Some(block)
}

/// `base^exponent mod modulus`, all big-endian of `modulus.len()` bytes, into `out` (same
/// length); `false` when `base` is not below the modulus. `LIMBS` must hold the modulus.
fn power_mod<const LIMBS: usize>(
    modulus: &[u8],
    exponent: u32,
    base: &[u8],
    out: &mut [u8],
) -> bool {
    let modulus = uint_from_be::<LIMBS>(modulus);
    let base = uint_from_be::<LIMBS>(base);
    if base >= modulus {
        return false;
    }
    let field = Montgomery::new(modulus);
    let power = field.power(&field.enter_form(&base), exponent);
    write_be(&field.leave_form(&power), out);
    true
}

/// Arithmetic modulo an odd `n` in Montgomery form (`x·R mod n`, `R = 2^(64·LIMBS)` or
/// `2^(32·LIMBS)`), with the constants worked out from `n` alone: no division.
struct Montgomery<const LIMBS: usize> {
    modulus: Uint<LIMBS>,
    /// `-n^-1 mod 2^Word::BITS`.
    neg_inverse: Limb,
    /// `R² mod n`, to bring a number into the form.
    r_squared: Uint<LIMBS>,
}

impl<const LIMBS: usize> Montgomery<LIMBS> {
    fn new(modulus: Uint<LIMBS>) -> Self {
        let mut field = Self {
            modulus,
            neg_inverse: negated_inverse(modulus.as_words().first().copied().unwrap_or(1)),
            r_squared: Uint::ZERO,
        };
        // 2^b mod n = 2^b - n for the bit length b of n; doubling it up to 2^BITS gives
        // R mod n, which is 1 in the form.
        let bits = modulus.bits_vartime();
        let mut one = if bits < Uint::<LIMBS>::BITS {
            Uint::ONE.shl_vartime(bits)
        } else {
            Uint::ZERO
        }
        .wrapping_sub(&modulus);
        for _ in bits..Uint::<LIMBS>::BITS {
            one = one.add_mod(&one, &modulus);
        }
        // 2 in the form, raised to BITS, is 2^BITS·R = R² mod n.
        let two = one.add_mod(&one, &modulus);
        field.r_squared = field.power(&two, Uint::<LIMBS>::BITS as u32);
        field
    }

    fn multiply(&self, a: &Uint<LIMBS>, b: &Uint<LIMBS>) -> Uint<LIMBS> {
        montgomery_reduction(&a.mul_wide(b), &self.modulus, self.neg_inverse)
    }

    fn square(&self, a: &Uint<LIMBS>) -> Uint<LIMBS> {
        montgomery_reduction(&a.square_wide(), &self.modulus, self.neg_inverse)
    }

    fn enter_form(&self, a: &Uint<LIMBS>) -> Uint<LIMBS> {
        self.multiply(a, &self.r_squared)
    }

    fn leave_form(&self, a: &Uint<LIMBS>) -> Uint<LIMBS> {
        montgomery_reduction(&(*a, Uint::ZERO), &self.modulus, self.neg_inverse)
    }

    /// `base^exponent` (both in and out in the form), left-to-right square-and-multiply.
    /// The exponent is public: its time pattern reveals nothing secret.
    fn power(&self, base: &Uint<LIMBS>, exponent: u32) -> Uint<LIMBS> {
        let Some(top) = u32::BITS.checked_sub(exponent.leading_zeros() + 1) else {
            return self.enter_form(&Uint::ONE); // x^0 (exponents here are >= 3)
        };
        let mut acc = *base;
        for bit in (0..top).rev() {
            acc = self.square(&acc);
            if (exponent >> bit) & 1 == 1 {
                acc = self.multiply(&acc, base);
            }
        }
        acc
    }
}

/// `-n0^-1 mod 2^Word::BITS` for an odd `n0`: Newton's iteration `x ← x·(2 − n0·x)`
/// doubles the correct low bits, from 3 (an odd number is its own inverse mod 8).
fn negated_inverse(n0: Word) -> Limb {
    let mut inverse = n0;
    for _ in 0..5 {
        inverse = inverse.wrapping_mul((2 as Word).wrapping_sub(n0.wrapping_mul(inverse)));
    }
    Limb(inverse.wrapping_neg())
}

/// A big-endian number of at most `Uint::<LIMBS>::BYTES` bytes.
fn uint_from_be<const LIMBS: usize>(bytes: &[u8]) -> Uint<LIMBS> {
    let mut words = [0 as Word; LIMBS];
    for (word, chunk) in words.iter_mut().zip(bytes.rchunks(Limb::BYTES)) {
        *word = chunk
            .iter()
            .fold(0, |value, &byte| (value << 8) | Word::from(byte));
    }
    Uint::from_words(words)
}

/// Writes `value` big-endian over all of `out`, which is long enough to hold it.
fn write_be<const LIMBS: usize>(value: &Uint<LIMBS>, out: &mut [u8]) {
    for (word, chunk) in value.as_words().iter().zip(out.rchunks_mut(Limb::BYTES)) {
        let bytes = word.to_be_bytes();
        let skip = bytes.len() - chunk.len();
        chunk.copy_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&byte| byte != 0)
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Bit length of a big-endian number without leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(&top) => (bytes.len() - 1) * 8 + (u8::BITS - top.leading_zeros()) as usize,
        None => 0,
    }
}

#[cfg(feature = "jwt-ps256")]
mod pss {
    //! EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with SHA-256 for hash and MGF1, salt of 32 bytes.

    use sha2::{Digest, Sha256};

    use super::SHA256_BYTES;

    const SALT_BYTES: usize = 32;

    /// Whether `encoded` (EM, `emLen` bytes) is the PSS encoding of a message with hash
    /// `message_hash` for `encoded_bits` (modulus bits - 1). Unmasks EM in place.
    pub(super) fn verify_sha256(
        message_hash: &[u8; SHA256_BYTES],
        encoded: &mut [u8],
        encoded_bits: usize,
    ) -> bool {
        let Some(masked_len) = encoded.len().checked_sub(SHA256_BYTES + 1) else {
            return false;
        };
        let Some(padding_len) = masked_len.checked_sub(SALT_BYTES + 1) else {
            return false;
        };
        let (masked_db, rest) = encoded.split_at_mut(masked_len);
        let (hash, trailer) = rest.split_at(SHA256_BYTES);
        if trailer != [0xbc] {
            return false;
        }
        // The bits of EM above emBits must be zero, before and after unmasking.
        let top_mask = 0xffu8 >> (8 * (masked_len + SHA256_BYTES + 1) - encoded_bits);
        let Some(first) = masked_db.first().copied() else {
            return false;
        };
        if first & !top_mask != 0 {
            return false;
        }
        mgf1_sha256_xor(hash, masked_db);
        if let Some(first) = masked_db.first_mut() {
            *first &= top_mask;
        }
        // DB = PS (zeros) || 0x01 || salt.
        let (padding, rest) = masked_db.split_at(padding_len);
        let Some((&separator, salt)) = rest.split_first() else {
            return false;
        };
        if padding.iter().any(|&byte| byte != 0) || separator != 0x01 {
            return false;
        }
        let expected = Sha256::new()
            .chain_update([0u8; 8])
            .chain_update(message_hash)
            .chain_update(salt)
            .finalize();
        expected.as_slice() == hash
    }

    /// XORs MGF1-SHA-256(seed) over `out`.
    fn mgf1_sha256_xor(seed: &[u8], out: &mut [u8]) {
        for (counter, chunk) in (0u32..).zip(out.chunks_mut(SHA256_BYTES)) {
            let mask = Sha256::new()
                .chain_update(seed)
                .chain_update(counter.to_be_bytes())
                .finalize();
            for (byte, mask) in chunk.iter_mut().zip(mask) {
                *byte ^= mask;
            }
        }
    }
}
