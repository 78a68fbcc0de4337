//! The provider's signing keys: a JWKS document (RFC 7517) read with the bounded JSON
//! scanner into a bounded key set, and the store every connection shares, which keeps
//! the last good set, refreshes it as `Cache-Control: max-age` says (within bounds),
//! and refetches early for an unknown `kid` at most once per interval.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::{Mutex, MutexGuard};
use heapless::{String, Vec};

use super::compact::{KID_MAX, decode};
use super::signature::{JwsAlgorithm, VerifyingKey};
use crate::http::json::{self, JsonStr, Kind, Value};

/// Keys a set keeps by default.
pub const KEYS: usize = 8;
/// Largest RSA modulus kept: 4096 bits.
pub const RSA_MODULUS_MAX: usize = 512;
/// Smallest RSA modulus kept: 2048 bits (RFC 7518 §3.3).
pub const RSA_MODULUS_MIN: usize = 256;

/// The kind of a usable key and its public parts, raw big-endian bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // no Box without alloc: a set is an array of the largest
pub enum KeyMaterial {
    /// `kty: RSA`: modulus and public exponent.
    Rsa {
        /// `n`, without leading zeros.
        n: Vec<u8, RSA_MODULUS_MAX>,
        /// `e`.
        e: Vec<u8, 8>,
    },
    /// `kty: EC`, `crv: P-256`: the point.
    P256 {
        /// `x`.
        x: [u8; 32],
        /// `y`.
        y: [u8; 32],
    },
    /// `kty: OKP`, `crv: Ed25519`.
    Ed25519 {
        /// `x`.
        x: [u8; 32],
    },
}

/// One signing key of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// `kid`, if the provider names its keys.
    pub kid: Option<String<KID_MAX>>,
    /// `alg`, if the key is pinned to one algorithm.
    pub alg: Option<JwsAlgorithm>,
    /// Its public parts.
    pub material: KeyMaterial,
}

impl Jwk {
    /// The key for the signature code; `None` if the parts are not a valid key.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        match &self.material {
            KeyMaterial::Rsa { n, e } => VerifyingKey::rsa(n, e).ok(),
            KeyMaterial::P256 { x, y } => VerifyingKey::p256(x, y).ok(),
            #[cfg(feature = "jwt-eddsa")]
            KeyMaterial::Ed25519 { x } => VerifyingKey::ed25519(x).ok(),
            #[cfg(not(feature = "jwt-eddsa"))]
            KeyMaterial::Ed25519 { .. } => None,
        }
    }

    /// Whether this key may check a token signed with `alg` and named `kid`.
    pub fn matches(&self, kid: Option<&str>, alg: JwsAlgorithm) -> bool {
        let kid_fits = match kid {
            Some(kid) => self.kid.as_deref() == Some(kid),
            None => true,
        };
        kid_fits && self.alg.is_none_or(|pinned| pinned == alg) && self.kind_fits(alg)
    }

    /// Whether the key's type is the one `alg` signs with (checked again, fully, by
    /// the signature code).
    fn kind_fits(&self, alg: JwsAlgorithm) -> bool {
        matches!(
            (&self.material, alg.name()),
            (KeyMaterial::Rsa { .. }, "RS256" | "PS256")
                | (KeyMaterial::P256 { .. }, "ES256")
                | (KeyMaterial::Ed25519 { .. }, "EdDSA")
        )
    }
}

/// A bounded set of usable signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet<const N: usize = KEYS> {
    keys: Vec<Jwk, N>,
    /// Usable keys beyond `N` that were dropped.
    pub dropped: usize,
    /// Keys skipped as unusable (encryption keys, unknown types or curves, bad parts).
    pub skipped: usize,
}

impl<const N: usize> Default for KeySet<N> {
    fn default() -> Self {
        KeySet {
            keys: Vec::new(),
            dropped: 0,
            skipped: 0,
        }
    }
}

impl<const N: usize> KeySet<N> {
    /// The keys, in the document's order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// Keys that may check a token with `kid` and `alg`.
    pub fn candidates<'s>(
        &'s self,
        kid: Option<&'s str>,
        alg: JwsAlgorithm,
    ) -> impl Iterator<Item = &'s Jwk> {
        self.keys.iter().filter(move |key| key.matches(kid, alg))
    }
}

/// Why a JWKS document was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksError {
    /// Not a JSON object with a `keys` array.
    BadDocument,
    /// No key in it is usable here.
    NoUsableKey,
}

/// Reads a JWKS document: keys that are not signature keys of a kind this build
/// verifies are skipped (`use` other than `sig`, unknown `kty` or `crv`, an `alg` not
/// allowed, RSA under 2048 or over 4096 bits, a point off the curve, a member given
/// twice); members like `x5c`, `x5t` or `key_ops` are skipped unread.
pub fn parse_jwks<const N: usize>(body: &[u8]) -> Result<KeySet<N>, JwksError> {
    let bad = JwksError::BadDocument;
    let text = core::str::from_utf8(body).map_err(|_| bad)?;
    let document = json::parse(text).map_err(|_| bad)?;
    let keys = document.get("keys").map_err(|_| bad)?.ok_or(bad)?;
    if keys.kind() != Kind::Array {
        return Err(bad);
    }
    let mut set = KeySet::default();
    for key in keys.elements() {
        match read_key(key) {
            Some(jwk) => {
                if set.keys.push(jwk).is_err() {
                    set.dropped += 1;
                }
            }
            None => set.skipped += 1,
        }
    }
    if set.keys.is_empty() {
        return Err(JwksError::NoUsableKey);
    }
    Ok(set)
}

/// The JWK members read, in `read_key`'s order.
const MEMBERS: [&str; 8] = ["kty", "use", "alg", "kid", "n", "e", "crv", "x"];
/// `y`, read apart so the table above stays a byte mask.
const Y: &str = "y";

/// One key, or `None` if it is not usable here.
fn read_key(key: Value<'_>) -> Option<Jwk> {
    if key.kind() != Kind::Object {
        return None;
    }
    let mut found: [Option<JsonStr<'_>>; MEMBERS.len()] = [None; MEMBERS.len()];
    for (name, value) in key.members() {
        let Some(index) = MEMBERS.iter().position(|known| name.eq_str(known)) else {
            continue;
        };
        let slot = found.get_mut(index)?;
        if slot.is_some() {
            return None;
        }
        *slot = Some(value.as_str()?);
    }
    let [kty, use_, alg, kid, n, e, crv, x] = found;
    let y = key.get(Y).ok()?.map(Value::as_str);
    if use_.is_some_and(|use_| !use_.eq_str("sig")) {
        return None;
    }
    let alg = match alg {
        Some(alg) => {
            let mut buf = [0u8; 16];
            Some(JwsAlgorithm::from_name(alg.decode_into(&mut buf)?)?)
        }
        None => None,
    };
    let kid = match kid {
        Some(kid) => {
            let mut buf = [0u8; KID_MAX];
            Some(String::try_from(kid.decode_into(&mut buf)?).ok()?)
        }
        None => None,
    };
    let kty = kty?;
    let curve = |name: &str| crv.is_some_and(|crv| crv.eq_str(name));
    let material = if kty.eq_str("RSA") {
        let mut n_buf = [0u8; RSA_MODULUS_MAX + 1];
        let modulus = decode(n?.raw(), &mut n_buf)?;
        let modulus = strip_leading_zeros(modulus);
        if modulus.len() < RSA_MODULUS_MIN {
            return None;
        }
        let mut e_buf = [0u8; 8];
        let exponent = strip_leading_zeros(decode(e?.raw(), &mut e_buf)?);
        KeyMaterial::Rsa {
            n: Vec::from_slice(modulus).ok()?,
            e: Vec::from_slice(exponent).ok()?,
        }
    } else if kty.eq_str("EC") && curve("P-256") {
        KeyMaterial::P256 {
            x: coordinate(x?)?,
            y: coordinate(y??)?,
        }
    } else if kty.eq_str("OKP") && curve("Ed25519") {
        KeyMaterial::Ed25519 { x: coordinate(x?)? }
    } else {
        return None;
    };
    let jwk = Jwk { kid, alg, material };
    // A key whose parts do not make a key, or pinned to an algorithm it cannot do.
    let key = jwk.verifying_key()?;
    if let Some(alg) = jwk.alg {
        if !key.fits(alg) {
            return None;
        }
    }
    Some(jwk)
}

fn coordinate(value: JsonStr<'_>) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let decoded = decode(value.raw(), &mut out)?;
    if decoded.len() != 32 {
        return None;
    }
    Some(out)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or(&[])
}

/// How long a fetched set is kept and how often it may be fetched again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksPolicy {
    /// Lifetime when the answer has no `Cache-Control: max-age`.
    pub default_lifetime_ms: u64,
    /// Shortest lifetime, whatever `max-age` says (`no-store` included).
    pub min_lifetime_ms: u64,
    /// Longest lifetime, whatever `max-age` says.
    pub max_lifetime_ms: u64,
    /// Least time between fetches caused by a `kid` the set does not have, or after a
    /// failed fetch while a set is held.
    pub refetch_interval_ms: u64,
    /// Least time between fetches while no set is held yet (the provider is down).
    pub first_fetch_retry_ms: u64,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl JwksPolicy {
    /// 10 minutes without `max-age`, kept 5 minutes to 24 hours, unknown keys looked
    /// for at most every 30 s, a first set retried every 5 s.
    pub const DEFAULT: JwksPolicy = JwksPolicy {
        default_lifetime_ms: 10 * 60 * 1000,
        min_lifetime_ms: 5 * 60 * 1000,
        max_lifetime_ms: 24 * 60 * 60 * 1000,
        refetch_interval_ms: 30 * 1000,
        first_fetch_retry_ms: 5 * 1000,
    };

    /// The lifetime a `Cache-Control` value gives, within bounds.
    pub fn lifetime_ms(&self, cache_control: Option<&[u8]>) -> u64 {
        let max_age = cache_control.and_then(|value| {
            value
                .split(|&b| b == b',')
                .map(<[u8]>::trim_ascii)
                .find_map(|directive| {
                    let (name, seconds) = directive.split_at_checked(8)?;
                    if !name.eq_ignore_ascii_case(b"max-age=") {
                        return None;
                    }
                    crate::http::h1::parse_decimal(seconds.trim_ascii_start())
                })
        });
        max_age
            .map_or(self.default_lifetime_ms, |seconds| {
                seconds.saturating_mul(1000)
            })
            .clamp(
                self.min_lifetime_ms,
                self.max_lifetime_ms.max(self.min_lifetime_ms),
            )
    }
}

/// Why keys are wanted before checking a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Nothing held yet.
    FirstSet,
    /// The set is past its lifetime.
    Stale,
    /// The token names a key the set does not have.
    UnknownKey,
}

#[derive(Debug)]
struct Held<const N: usize> {
    set: Option<KeySet<N>>,
    /// When the held set should be replaced (monotonic ms).
    stale_at_ms: u64,
    /// When the last fetch started, successful or not.
    last_attempt_ms: Option<u64>,
    /// When the last fetch for an unknown key started.
    last_unknown_key_ms: Option<u64>,
    /// Fetches started so far: a waiter that sees it change knows someone fetched.
    attempts: u32,
}

/// The provider's keys, shared by every connection: `N` keys at most.
pub struct KeyStore<M: RawMutex, const N: usize = KEYS> {
    held: BlockingMutex<M, RefCell<Held<N>>>,
    /// One fetch at a time; the others wait for it (bounded by its deadline) and use it.
    flight: Mutex<M, ()>,
    policy: JwksPolicy,
}

impl<M: RawMutex, const N: usize> core::fmt::Debug for KeyStore<M, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyStore")
            .field("policy", &self.policy)
            .field("keys", &self.key_count())
            .finish()
    }
}

impl<M: RawMutex, const N: usize> KeyStore<M, N> {
    /// No keys yet.
    pub const fn new(policy: JwksPolicy) -> Self {
        KeyStore {
            held: BlockingMutex::new(RefCell::new(Held {
                set: None,
                stale_at_ms: 0,
                last_attempt_ms: None,
                last_unknown_key_ms: None,
                attempts: 0,
            })),
            flight: Mutex::new(()),
            policy,
        }
    }

    /// Keys held (0 before the first good fetch).
    pub fn key_count(&self) -> usize {
        self.held
            .lock(|held| held.borrow().set.as_ref().map_or(0, |set| set.keys.len()))
    }

    /// Whether a set is held.
    pub fn has_keys(&self) -> bool {
        self.key_count() > 0
    }

    /// Fetches started so far.
    pub fn attempts(&self) -> u32 {
        self.held.lock(|held| held.borrow().attempts)
    }

    /// Runs `find` on the held set (under the lock: it should copy what it needs).
    pub fn with_set<T>(&self, find: impl FnOnce(Option<&KeySet<N>>) -> T) -> T {
        self.held.lock(|held| find(held.borrow().set.as_ref()))
    }

    /// Whether a fetch should be made now for `why`: a missing or stale set at once
    /// (then after `first_fetch_retry_ms` / `refetch_interval_ms` following a failure),
    /// an unknown key once per `refetch_interval_ms`.
    pub fn should_fetch(&self, why: Wanted, now_ms: u64) -> bool {
        self.held.lock(|held| {
            let held = held.borrow();
            let since =
                |last: Option<u64>| last.map_or(u64::MAX, |last| now_ms.saturating_sub(last));
            match why {
                Wanted::FirstSet => since(held.last_attempt_ms) >= self.policy.first_fetch_retry_ms,
                Wanted::Stale => since(held.last_attempt_ms) >= self.policy.refetch_interval_ms,
                Wanted::UnknownKey => {
                    since(held.last_unknown_key_ms) >= self.policy.refetch_interval_ms
                }
            }
        })
    }

    /// Why keys are wanted before any token is checked, if they are.
    pub fn wanted(&self, now_ms: u64) -> Option<Wanted> {
        self.held.lock(|held| {
            let held = held.borrow();
            match held.set {
                None => Some(Wanted::FirstSet),
                Some(_) if now_ms >= held.stale_at_ms => Some(Wanted::Stale),
                Some(_) => None,
            }
        })
    }

    /// Waits for the fetch in flight, if any, and holds the store's one fetch slot
    /// (the wait is bounded by that fetch's own deadline).
    pub async fn fetch_slot(&self) -> MutexGuard<'_, M, ()> {
        self.flight.lock().await
    }

    /// With the fetch slot held: whether to fetch now, i.e. no other fetch started since
    /// `seen` (`attempts()` read before waiting for the slot; a waiter uses that fetch's
    /// result instead of fetching again). Records the attempt.
    pub fn begin_fetch(
        &self,
        _slot: &MutexGuard<'_, M, ()>,
        seen: u32,
        why: Wanted,
        now_ms: u64,
    ) -> bool {
        self.held.lock(|held| {
            let mut held = held.borrow_mut();
            if held.attempts != seen {
                return false;
            }
            held.attempts = held.attempts.wrapping_add(1);
            held.last_attempt_ms = Some(now_ms);
            if why == Wanted::UnknownKey {
                held.last_unknown_key_ms = Some(now_ms);
            }
            true
        })
    }

    /// Keeps a fetched set for `lifetime_ms`; a failed fetch (`None`) keeps the set held.
    pub fn finish_fetch(&self, fetched: Option<(KeySet<N>, u64)>, now_ms: u64) {
        if let Some((set, lifetime_ms)) = fetched {
            self.held.lock(|held| {
                let mut held = held.borrow_mut();
                held.set = Some(set);
                held.stale_at_ms = now_ms.saturating_add(lifetime_ms);
            });
        }
    }

    /// The policy it keeps keys by.
    pub fn policy(&self) -> &JwksPolicy {
        &self.policy
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::jwt::testing::{EC_JWK, ED_JWK, RSA_JWK};
    use embassy_futures::block_on;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;
    use std::format;

    #[test]
    fn reads_keys_of_each_kind_and_skips_the_rest() {
        let document = format!(
            r#"{{"keys":[{RSA_JWK},{EC_JWK},{ED_JWK},
            {{"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"}},
            {{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}},
            {{"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"}},
            {{"kty":"EC","crv":"P-256","kid":"off-curve","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
            {{"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"}},
            {{"kty":"RSA","kid":"oaep","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"}},
            "not a key"]}}"#
        );
        let set: KeySet = parse_jwks(document.as_bytes()).unwrap();
        let kids: std::vec::Vec<_> = set
            .keys()
            .iter()
            .map(|k| k.kid.as_deref().unwrap())
            .collect();
        #[cfg(feature = "jwt-eddsa")]
        assert_eq!(kids, ["rsa-1", "ec-1", "ed-1"]);
        #[cfg(not(feature = "jwt-eddsa"))]
        assert_eq!(kids, ["rsa-1", "ec-1"]);
        assert!(set.skipped >= 7);
        assert_eq!(
            set.candidates(Some("rsa-1"), JwsAlgorithm::Rs256).count(),
            1
        );
        assert_eq!(
            set.candidates(Some("rsa-1"), JwsAlgorithm::Es256).count(),
            0
        );
        assert_eq!(set.candidates(None, JwsAlgorithm::Es256).count(), 1);
        assert_eq!(set.candidates(Some("nope"), JwsAlgorithm::Rs256).count(), 0);
    }

    #[test]
    fn keycloak_x5c_members_are_skipped_and_the_set_is_bounded() {
        let cert = "MIIC".repeat(400);
        let key = RSA_JWK.replace(
            r#""kty""#,
            &format!(r#""x5c":["{cert}"],"x5t":"abc","kty""#),
        );
        let many: std::vec::Vec<_> = (0..10).map(|_| key.clone()).collect();
        let document = format!(r#"{{"keys":[{}]}}"#, many.join(","));
        let set: KeySet<8> = parse_jwks(document.as_bytes()).unwrap();
        assert_eq!((set.keys().len(), set.dropped), (8, 2));
    }

    #[test]
    fn refuses_documents_without_usable_keys() {
        for (body, error) in [
            (&b"{}"[..], JwksError::BadDocument),
            (b"[]", JwksError::BadDocument),
            (b"{\"keys\":{}}", JwksError::BadDocument),
            (b"<html>", JwksError::BadDocument),
            (b"{\"keys\":[],\"keys\":[]}", JwksError::BadDocument),
            (b"{\"keys\":[]}", JwksError::NoUsableKey),
            (
                b"{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}",
                JwksError::NoUsableKey,
            ),
        ] {
            assert_eq!(parse_jwks::<8>(body).unwrap_err(), error);
        }
    }

    #[test]
    fn cache_control_sets_the_lifetime_within_bounds() {
        let policy = JwksPolicy::default();
        assert_eq!(policy.lifetime_ms(None), 600_000);
        assert_eq!(policy.lifetime_ms(Some(b"public, max-age=3600")), 3_600_000);
        assert_eq!(policy.lifetime_ms(Some(b"MAX-AGE=10")), 300_000);
        assert_eq!(policy.lifetime_ms(Some(b"no-store")), 600_000);
        assert_eq!(policy.lifetime_ms(Some(b"max-age=999999999")), 86_400_000);
        assert_eq!(policy.lifetime_ms(Some(b"max-age=x")), 600_000);
    }

    #[test]
    fn fetches_are_single_flight_and_rate_limited() {
        let store: KeyStore<NoopRawMutex> = KeyStore::new(JwksPolicy::default());
        assert_eq!(store.wanted(0), Some(Wanted::FirstSet));
        assert!(store.should_fetch(Wanted::FirstSet, 0));
        let set: KeySet = parse_jwks(format!(r#"{{"keys":[{RSA_JWK}]}}"#).as_bytes()).unwrap();
        // Two callers that saw the same count: only the first fetches.
        let seen = store.attempts();
        let slot = block_on(store.fetch_slot());
        assert!(store.begin_fetch(&slot, seen, Wanted::FirstSet, 1_000));
        store.finish_fetch(Some((set, 300_000)), 1_000);
        drop(slot);
        let slot = block_on(store.fetch_slot());
        assert!(!store.begin_fetch(&slot, seen, Wanted::FirstSet, 1_000));
        drop(slot);
        assert_eq!(store.key_count(), 1);
        assert_eq!(store.wanted(300_999), None);
        assert_eq!(store.wanted(301_000), Some(Wanted::Stale));
        // An unknown kid may refetch at once, then only 30 s after that.
        assert!(store.should_fetch(Wanted::UnknownKey, 1_000));
        let slot = block_on(store.fetch_slot());
        assert!(store.begin_fetch(&slot, store.attempts(), Wanted::UnknownKey, 1_000));
        drop(slot);
        assert!(!store.should_fetch(Wanted::UnknownKey, 30_999));
        assert!(store.should_fetch(Wanted::UnknownKey, 31_000));
        // A failed fetch keeps the set, and the next try waits the interval.
        let slot = block_on(store.fetch_slot());
        assert!(store.begin_fetch(&slot, store.attempts(), Wanted::Stale, 40_000));
        store.finish_fetch(None, 40_000);
        drop(slot);
        assert_eq!(store.key_count(), 1);
        assert!(!store.should_fetch(Wanted::Stale, 60_000));
        assert!(store.should_fetch(Wanted::Stale, 70_000));
    }
}
