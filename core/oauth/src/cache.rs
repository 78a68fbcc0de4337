//! A bounded cache of validation answers shared by all connections: keyed by the
//! SHA-256 of the token (the token text is never stored), each answer trusted for at
//! most the configured lifetime and never past the token's `exp`; inactive answers
//! remembered briefly; provider failures never remembered. Concurrent validations of
//! the same new token cause one upstream call: the others wait for it and reuse it.

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::Mutex;
use heapless::Vec;
use heapless::vec::VecView;
use sha2::{Digest, Sha256};

use super::config::OAuthConfig;
use super::token::{TokenInfo, TokenValidator, ValidationError};
use crate::http::time::Clock;

/// Upstream calls that may be in flight at once; tokens whose digests share a lane
/// wait for each other, which is what makes a repeated token wait for the first call.
pub const FLIGHT_LANES: usize = 4;

type TokenDigest = [u8; 32];

#[derive(Debug, Clone)]
struct Entry {
    digest: TokenDigest,
    /// An error remembers a token refused for its own sake (inactive, too large).
    answer: Result<TokenInfo, ValidationError>,
    expires_ms: u64,
}

/// Lifetimes for cached answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// Longest time an active answer is reused (further capped by the token's `exp`).
    pub max_lifetime_ms: u64,
    /// How long an inactive answer is reused.
    pub negative_lifetime_ms: u64,
}

impl CachePolicy {
    /// The policy `config`'s lifetimes give.
    pub fn from_config(config: &OAuthConfig<'_>) -> Self {
        CachePolicy {
            max_lifetime_ms: config.cache_max_lifetime_ms,
            negative_lifetime_ms: config.negative_lifetime_ms,
        }
    }

    /// How long `answer` may be reused, `None` for never: an active token until its `exp`
    /// (judged by `now_unix`, else the provider's `Date`) and at most `max_lifetime_ms`;
    /// a token refused for its own sake (inactive, too large) for `negative_lifetime_ms`;
    /// outages and odd answers never, since they are not the token's fault.
    pub fn reuse_for_ms(
        &self,
        answer: &Result<TokenInfo, ValidationError>,
        now_unix: Option<u64>,
    ) -> Option<u64> {
        let lifetime_ms = match answer {
            Ok(info) => {
                let remaining_ms = match (info.exp, now_unix.or(info.answered_at)) {
                    (Some(exp), Some(now)) => exp.saturating_sub(now).saturating_mul(1000),
                    _ => u64::MAX,
                };
                remaining_ms.min(self.max_lifetime_ms)
            }
            Err(ValidationError::Inactive | ValidationError::TooLarge) => self.negative_lifetime_ms,
            Err(_) => return None,
        };
        (lifetime_ms > 0).then_some(lifetime_ms)
    }
}

/// The order in which a full cache gives up answers, smallest first: negative answers
/// before good ones, so a flood of junk tokens cannot push out the answers for good
/// ones; among equals, the one expiring soonest.
pub fn eviction_rank(answer_is_good: bool, expires_ms: u64) -> (bool, u64) {
    (answer_is_good, expires_ms)
}

/// Wraps any validator with a cache of `N` answers.
pub struct CachingValidator<M: RawMutex, V, C, const N: usize> {
    inner: V,
    clock: C,
    policy: CachePolicy,
    entries: BlockingMutex<M, RefCell<Vec<Entry, N>>>,
    lanes: [Mutex<M, ()>; FLIGHT_LANES],
}

impl<M: RawMutex, V, C, const N: usize> core::fmt::Debug for CachingValidator<M, V, C, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CachingValidator")
            .field("policy", &self.policy)
            .field("capacity", &N)
            .field("cached", &self.len())
            .finish()
    }
}

impl<M: RawMutex, V, C, const N: usize> CachingValidator<M, V, C, N> {
    /// A cache in front of `inner`, timed by `clock`.
    pub const fn new(inner: V, clock: C, policy: CachePolicy) -> Self {
        CachingValidator {
            inner,
            clock,
            policy,
            entries: BlockingMutex::new(RefCell::new(Vec::new())),
            lanes: [const { Mutex::new(()) }; FLIGHT_LANES],
        }
    }

    /// The validator it asks on a miss.
    pub fn inner(&self) -> &V {
        &self.inner
    }

    /// Cached answers, expired ones included until they are dropped.
    pub fn len(&self) -> usize {
        self.entries.lock(|entries| entries.borrow().len())
    }

    /// Whether no answer is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the answer for one token (e.g. after revoking it).
    pub fn forget(&self, token: &str) {
        let digest = digest(token);
        self.entries.lock(|entries| {
            entries.borrow_mut().retain(|entry| entry.digest != digest);
        });
    }

    /// Forgets every kept answer.
    pub fn clear(&self) {
        self.entries.lock(|entries| entries.borrow_mut().clear());
    }

    /// Runs `inspect` on a live cached answer under the lock; gives `inspect` back
    /// when there is none.
    fn lookup_with<T, F: FnOnce(&TokenInfo) -> T>(
        &self,
        digest: &TokenDigest,
        now_ms: u64,
        inspect: F,
    ) -> Result<Result<T, ValidationError>, F> {
        self.entries.lock(|entries| {
            let mut entries = entries.borrow_mut();
            drop_expired(entries.as_mut_view(), now_ms);
            match entries.iter().find(|entry| entry.digest == *digest) {
                Some(entry) => Ok(inspect_answer(&entry.answer, inspect)),
                None => Err(inspect),
            }
        })
    }

    #[inline(never)] // a call, not a copy inlined into async callers: less flash
    fn store(&self, entry: Entry, now_ms: u64) {
        self.entries.lock(|entries| {
            let mut entries = entries.borrow_mut();
            drop_expired(entries.as_mut_view(), now_ms);
            // The token's earlier answer is replaced; else a full cache gives up the
            // answer it values least.
            let slot = match entries.iter().position(|old| old.digest == entry.digest) {
                Some(index) => Some(index),
                None if entries.is_full() => entries
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, old)| eviction_rank(old.answer.is_ok(), old.expires_ms))
                    .map(|(index, _)| index),
                None => None,
            };
            match slot.and_then(|index| entries.get_mut(index)) {
                Some(old) => *old = entry,
                None => {
                    let _ = entries.push(entry);
                }
            }
        });
    }
}

/// Drops the answers whose time is up: one copy of the loop for lookups and stores.
fn drop_expired(entries: &mut VecView<Entry>, now_ms: u64) {
    entries.retain(|entry| entry.expires_ms > now_ms);
}

impl<M: RawMutex, V: TokenValidator, C: Clock, const N: usize> CachingValidator<M, V, C, N> {
    /// A miss: one caller per token asks upstream (single flight), runs `inspect` on the
    /// answer and moves it into the cache (no copy of the `TokenInfo`).
    async fn fetch<T>(
        &self,
        token: &str,
        digest: &TokenDigest,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        let lane = usize::from(digest[0]) % FLIGHT_LANES;
        let _flight = match self.lanes.get(lane) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        // Someone else may have asked while we waited for the lane.
        let inspect = match self.lookup_with(digest, self.clock.monotonic_ms(), inspect) {
            Ok(answer) => return answer,
            Err(inspect) => inspect,
        };
        let result = self.inner.validate(token).await;
        let answer = inspect_answer(&result, inspect);
        let now_ms = self.clock.monotonic_ms();
        let reuse_for_ms = self.policy.reuse_for_ms(&result, self.clock.unix_seconds());
        if let Some(lifetime_ms) = reuse_for_ms {
            let entry = Entry {
                digest: *digest,
                answer: result,
                expires_ms: now_ms.saturating_add(lifetime_ms),
            };
            self.store(entry, now_ms);
        }
        answer
    }
}

impl<M: RawMutex, V: TokenValidator, C: Clock, const N: usize> TokenValidator
    for CachingValidator<M, V, C, N>
{
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        self.inspect(token, TokenInfo::clone).await
    }

    async fn inspect<T>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        let digest = digest(token);
        match self.lookup_with(&digest, self.clock.monotonic_ms(), inspect) {
            Ok(answer) => answer,
            Err(inspect) => self.fetch(token, &digest, inspect).await,
        }
    }
}

/// Runs `inspect` on an answer, cached or fresh. A call, not inlined at both sites: the
/// inspection is a route's whole policy check, one copy of it is less flash on a device.
#[inline(never)]
fn inspect_answer<T>(
    answer: &Result<TokenInfo, ValidationError>,
    inspect: impl FnOnce(&TokenInfo) -> T,
) -> Result<T, ValidationError> {
    answer.as_ref().map(inspect).map_err(|error| *error)
}

fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeClock, FixedValidator};
    use crate::token::parse_introspection;
    use embassy_futures::block_on;
    use embassy_futures::join::join4;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;

    const POLICY: CachePolicy = CachePolicy {
        max_lifetime_ms: 60_000,
        negative_lifetime_ms: 5_000,
    };

    fn active(exp: u64) -> Result<TokenInfo, ValidationError> {
        let mut info = TokenInfo::new("alice", "api:read");
        info.exp = Some(exp);
        Ok(info)
    }

    type Cache<'a> = CachingValidator<NoopRawMutex, &'a FixedValidator, &'a FakeClock, 4>;

    #[test]
    fn inspect_answers_from_the_cache_in_place() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        let subject = |info: &TokenInfo| info.subject().map(heapless::String::<16>::try_from);
        for _ in 0..3 {
            let seen = block_on(cache.inspect("tok", subject)).unwrap();
            assert_eq!(seen.unwrap().unwrap().as_str(), "alice");
        }
        assert_eq!(
            upstream.calls.get(),
            1,
            "a miss fills the cache, hits are inspected in place"
        );
        let inactive = FixedValidator::new(Err(ValidationError::Inactive));
        let negative: Cache = CachingValidator::new(&inactive, &clock, POLICY);
        for _ in 0..2 {
            assert_eq!(
                block_on(negative.inspect("bad", |_| ())),
                Err(ValidationError::Inactive)
            );
        }
        assert_eq!(inactive.calls.get(), 1, "the negative answer is cached too");
    }

    #[test]
    fn a_too_large_answer_is_remembered_like_an_inactive_one() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(Err(ValidationError::TooLarge));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        for _ in 0..3 {
            assert_eq!(
                block_on(cache.validate("big")),
                Err(ValidationError::TooLarge)
            );
        }
        assert_eq!(upstream.calls.get(), 1, "not asked again on every request");
    }

    #[test]
    fn reuses_answers_until_the_configured_lifetime() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        for _ in 0..3 {
            assert!(block_on(cache.validate("tok")).is_ok());
        }
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(59_999);
        block_on(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(1);
        block_on(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 2);
    }

    #[test]
    fn never_trusts_an_answer_past_the_token_expiry() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(1_010));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        block_on(cache.validate("tok")).unwrap();
        clock.advance_ms(9_999);
        block_on(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(1);
        block_on(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 2);
    }

    #[test]
    fn without_wall_time_the_provider_date_bounds_the_lifetime() {
        let clock = FakeClock::at(None);
        let body = br#"{"active":true,"exp":1723563020,"scope":"api:read"}"#;
        let upstream = FixedValidator::new(parse_introspection(body, Some(1_723_563_000)));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        block_on(cache.validate("tok")).unwrap();
        clock.advance_ms(19_999);
        block_on(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(1);
        block_on(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 2);
    }

    #[test]
    fn already_expired_answers_are_not_cached() {
        let clock = FakeClock::at(Some(2_000));
        let upstream = FixedValidator::new(active(1_000));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        block_on(cache.validate("tok")).unwrap();
        block_on(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 2);
        assert!(cache.is_empty());
    }

    #[test]
    fn inactive_answers_are_cached_briefly() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(Err(ValidationError::Inactive));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        assert_eq!(
            block_on(cache.validate("bad")),
            Err(ValidationError::Inactive)
        );
        clock.advance_ms(4_999);
        assert_eq!(
            block_on(cache.validate("bad")),
            Err(ValidationError::Inactive)
        );
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(1);
        assert_eq!(
            block_on(cache.validate("bad")),
            Err(ValidationError::Inactive)
        );
        assert_eq!(upstream.calls.get(), 2);
    }

    #[test]
    fn provider_outages_are_not_cached() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(Err(ValidationError::Unreachable));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        for error in [
            ValidationError::Unreachable,
            ValidationError::Timeout,
            ValidationError::BadAnswer,
        ] {
            *upstream.answer.borrow_mut() = Err(error);
            assert_eq!(block_on(cache.validate("tok")), Err(error));
        }
        assert_eq!(upstream.calls.get(), 3);
        *upstream.answer.borrow_mut() = active(10_000);
        assert!(block_on(cache.validate("tok")).is_ok());
        assert_eq!(upstream.calls.get(), 4);
    }

    #[test]
    fn capacity_evicts_negative_then_soonest_expiring() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        for token in ["a", "b", "c"] {
            block_on(cache.validate(token)).unwrap();
            clock.advance_ms(10);
        }
        *upstream.answer.borrow_mut() = Err(ValidationError::Inactive);
        let _ = block_on(cache.validate("junk1"));
        assert_eq!(cache.len(), 4);
        // Full: the next junk token replaces the other junk, not a good answer.
        let _ = block_on(cache.validate("junk2"));
        assert_eq!(cache.len(), 4);
        *upstream.answer.borrow_mut() = active(10_000);
        let calls = upstream.calls.get();
        for token in ["a", "b", "c"] {
            block_on(cache.validate(token)).unwrap();
        }
        assert_eq!(upstream.calls.get(), calls);
        // A new good token evicts the junk, then the oldest good answer ("a").
        block_on(cache.validate("d")).unwrap();
        block_on(cache.validate("e")).unwrap();
        let calls = upstream.calls.get();
        block_on(cache.validate("b")).unwrap();
        assert_eq!(upstream.calls.get(), calls);
        block_on(cache.validate("a")).unwrap();
        assert_eq!(upstream.calls.get(), calls + 1);
    }

    #[test]
    fn concurrent_validations_of_a_new_token_make_one_upstream_call() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        let (a, b, c, d) = block_on(join4(
            cache.validate("same"),
            cache.validate("same"),
            cache.validate("same"),
            cache.validate("same"),
        ));
        assert!(a.is_ok() && b.is_ok() && c.is_ok() && d.is_ok());
        assert_eq!(upstream.calls.get(), 1);
        // Inactive answers are shared the same way.
        *upstream.answer.borrow_mut() = Err(ValidationError::Inactive);
        let results = block_on(join4(
            cache.validate("other"),
            cache.validate("other"),
            cache.validate("other"),
            cache.validate("other"),
        ));
        assert_eq!(results.0, Err(ValidationError::Inactive));
        assert_eq!(results.3, Err(ValidationError::Inactive));
        assert_eq!(upstream.calls.get(), 2);
    }

    #[test]
    fn waiters_retry_after_an_outage_instead_of_sharing_it() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(Err(ValidationError::Timeout));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        let results = block_on(join4(
            cache.validate("t"),
            cache.validate("t"),
            cache.validate("t"),
            cache.validate("t"),
        ));
        assert_eq!(results.0, Err(ValidationError::Timeout));
        assert_eq!(upstream.calls.get(), 4);
    }

    #[test]
    fn only_digests_are_stored() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache: Cache = CachingValidator::new(&upstream, &clock, POLICY);
        block_on(cache.validate("secret-token-text")).unwrap();
        let stored = cache.entries.lock(|entries| entries.borrow()[0].digest);
        assert_eq!(stored, digest("secret-token-text"));
        cache.forget("secret-token-text");
        assert!(cache.is_empty());
    }
}
