//! The host's token cache: as many answers as configured (thousands of users), each
//! kept as the few facts the access policy needs rather than the whole introspection
//! answer, in shards with a hash index each so that worker threads rarely meet on a
//! lock and a lookup costs the same with 10 or 60,000 tokens cached.
//!
//! Same rules as the core's `CachingValidator` (which the device keeps): keyed by the
//! SHA-256 of the token (the text is never stored); an active answer trusted for at
//! most `CachePolicy::max_lifetime_ms` and never past `exp`; an inactive one for
//! `negative_lifetime_ms` (an answer too large to judge likewise); provider failures never remembered; a full shard evicts
//! negative answers first, then those expiring soonest; concurrent misses of one token
//! make one call to the inner validator, the others wait (at most the provider
//! timeout) and reuse its answer.
//!
//! What is kept of an active answer: `exp`, which of the watched scopes (the configured
//! `scopes_supported` plus any a route asks for) it grants, as a bit set, the accepted
//! audience it names, its principal, and `token_type`/`iss` only when they would fail
//! the policy. A hit rebuilds a `TokenInfo` from these on the stack, so the guard's
//! policy, scope check and step-up challenge decide exactly as on the full answer.

use std::collections::HashMap;
use std::fmt;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use push_advisor_http::time::Clock;
use push_advisor_oauth::token::WordList;
use push_advisor_oauth::{
    CachePolicy, OAuthConfig, TokenInfo, TokenValidator, ValidationError, eviction_rank,
};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Answers kept by default: enough for a gateway in front of tens of thousands of users.
pub const DEFAULT_CAPACITY: usize = 65_536;
/// Shards (each its own lock and index) when the capacity allows, and the fewest
/// entries a shard has (below that one lock is contended too little to split).
const SHARDS: usize = 32;
const MIN_SHARD_ENTRIES: usize = 1024;
/// Most scopes a cached answer can remember (one bit each).
pub const MAX_WATCHED_SCOPES: usize = 64;

type TokenDigest = [u8; 32];

/// Why a cache cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManyScopes {
    /// Distinct scopes that would have to be watched.
    pub scopes: usize,
}

impl fmt::Display for TooManyScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the token cache can watch at most {MAX_WATCHED_SCOPES} distinct scopes, {} are configured",
            self.scopes
        )
    }
}

impl std::error::Error for TooManyScopes {}

/// `Facts::flags` bits.
const ACTIVE: u8 = 1;
const HAS_EXP: u8 = 2;
/// The principal is the `client_id` (the token has no `sub`).
const PRINCIPAL_IS_CLIENT: u8 = 4;

/// What is kept of an active answer.
#[derive(Debug)]
struct Facts {
    /// `exp` when `HAS_EXP` is set.
    exp: u64,
    /// Bit `i`: the token grants `watched[i]`.
    scopes: u64,
    principal: Option<Box<str>>,
    /// `token_type` and `iss` when they would fail the policy (rare, so boxed).
    odd: Option<Box<OddClaims>>,
    /// 1 + the index in `accepted_audiences` of the first audience the token names; 0: none.
    audience: u16,
    flags: u8,
}

#[derive(Debug)]
struct OddClaims {
    token_type: Option<Box<str>>,
    issuer: Option<Box<str>>,
}

#[derive(Debug)]
struct Entry {
    /// Monotonic milliseconds after which the answer is not used.
    expires_ms: u64,
    /// An error remembers a token refused for its own sake (inactive, too large).
    facts: Result<Facts, ValidationError>,
}

#[derive(Debug, Default)]
struct ShardState {
    entries: HashMap<TokenDigest, Entry>,
    /// How many entries the shard held after its last sweep of expired negative answers.
    swept_len: usize,
    /// Misses being asked upstream now; waiters are woken when the ask ends.
    flights: HashMap<TokenDigest, Arc<Notify>>,
}

/// One lock and index; aligned so that neighbouring shards' locks do not share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(Mutex<ShardState>);

impl Shard {
    fn lock(&self) -> MutexGuard<'_, ShardState> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters here: at worst an answer or a flight is missing.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a miss does after looking at its shard.
enum Miss {
    /// (Boxed: a `TokenInfo` is kilobytes; this is the rare path.)
    Cached(Box<Result<TokenInfo, ValidationError>>),
    /// This caller asks upstream; `renewing` when the token's good answer has expired.
    Lead {
        renewing: bool,
    },
    Wait(Arc<Notify>),
}

tokio::task_local! {
    static RENEWING: ();
}

/// A shard below this many entries is not swept of expired junk.
const SWEEP_FROM: usize = 8;

/// Whether the current check renews a good answer that has expired from the cache (a
/// token the provider accepted before), rather than asking about a new token: limits
/// meant for unknown tokens (a client's share of the provider calls) can let it through,
/// so a flood of junk tokens from one address does not lock out users already known.
pub fn renewing() -> bool {
    RENEWING.try_with(|_| ()).is_ok()
}

/// A validator in front of `inner` that remembers its answers (see the module docs).
pub struct TokenCache<'c, V, C> {
    inner: V,
    clock: C,
    policy: CachePolicy,
    config: &'c OAuthConfig<'c>,
    /// Scopes remembered per answer: `scopes_supported` first, then extra ones.
    watched: Vec<&'c str>,
    /// The audiences `OAuthConfig::accepted_audience` can return.
    accepted_audiences: Vec<&'c str>,
    shards: Box<[Shard]>,
    shard_capacity: usize,
    /// Longest a miss waits for another caller's call on the same token.
    flight_wait: Duration,
}

impl<V, C> fmt::Debug for TokenCache<'_, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("policy", &self.policy)
            .field("capacity", &self.capacity())
            .field("shards", &self.shards.len())
            .field("cached", &self.len())
            .finish()
    }
}

impl<'c, V, C> TokenCache<'c, V, C> {
    /// A cache of `capacity` answers in front of `inner`, timed by `clock`, with the
    /// lifetimes, scopes, audiences and provider timeout of `config`; `extra_scopes`
    /// are further scopes routes may require (e.g. forward-auth rules). A capacity of 0
    /// remembers nothing.
    pub fn new(
        inner: V,
        clock: C,
        config: &'c OAuthConfig<'c>,
        capacity: usize,
        extra_scopes: &[&'c str],
    ) -> Result<Self, TooManyScopes> {
        let mut watched: Vec<&'c str> = Vec::new();
        for scope in config.scopes_supported.iter().chain(extra_scopes) {
            if !scope.is_empty() && !watched.contains(scope) {
                watched.push(scope);
            }
        }
        if watched.len() > MAX_WATCHED_SCOPES {
            return Err(TooManyScopes {
                scopes: watched.len(),
            });
        }
        let accepted_audiences = if config.audiences.is_empty() {
            [config.resource, config.resource_alias]
                .into_iter()
                .filter(|audience| !audience.is_empty())
                .collect()
        } else {
            config.audiences.to_vec()
        };
        let (shard_count, shard_capacity) = shard_layout(capacity);
        Ok(TokenCache {
            inner,
            clock,
            policy: CachePolicy::from_config(config),
            config,
            watched,
            accepted_audiences,
            shards: (0..shard_count).map(|_| Shard::default()).collect(),
            shard_capacity,
            flight_wait: Duration::from_millis(config.provider_timeout_ms),
        })
    }

    /// The validator it asks on a miss.
    pub fn inner(&self) -> &V {
        &self.inner
    }

    /// Most answers kept at once.
    pub fn capacity(&self) -> usize {
        self.shard_capacity * self.shards.len()
    }

    /// Cached answers, expired ones included until they are dropped.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().entries.len())
            .sum()
    }

    /// Whether no answer is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the answer for one token (e.g. after revoking it).
    pub fn forget(&self, token: &str) {
        let digest = digest(token);
        self.shard(&digest).lock().entries.remove(&digest);
    }

    fn shard(&self, digest: &TokenDigest) -> &Shard {
        // The digest is uniform: its first bytes pick the shard.
        let index = usize::from(u16::from_le_bytes([digest[0], digest[1]])) % self.shards.len();
        &self.shards[index]
    }

    /// What `info` comes to, kept.
    fn facts(&self, info: &TokenInfo) -> Facts {
        let config = self.config;
        let mut scopes = 0u64;
        for granted in info.scopes() {
            if let Some(index) = self.watched.iter().position(|s| *s == granted) {
                scopes |= 1 << index;
            }
        }
        let audience = info
            .audiences
            .iter()
            .find_map(|aud| config.accepted_audience(aud))
            .and_then(|accepted| self.accepted_audiences.iter().position(|a| *a == accepted))
            .map_or(0, |index| u16::try_from(index + 1).unwrap_or(0));
        let odd_type = info
            .token_type
            .as_deref()
            .filter(|kind| !kind.eq_ignore_ascii_case("bearer"));
        let odd_issuer = info
            .issuer
            .as_deref()
            .filter(|issuer| !config.issuer.is_empty() && *issuer != config.issuer);
        let odd = (odd_type.is_some() || odd_issuer.is_some()).then(|| {
            Box::new(OddClaims {
                token_type: odd_type.map(Box::from),
                issuer: odd_issuer.map(Box::from),
            })
        });
        let mut flags = 0;
        if info.active {
            flags |= ACTIVE;
        }
        if info.exp.is_some() {
            flags |= HAS_EXP;
        }
        if info.subject.is_none() && info.client_id.is_some() {
            flags |= PRINCIPAL_IS_CLIENT;
        }
        Facts {
            exp: info.exp.unwrap_or(0),
            scopes,
            principal: info.principal().map(Box::from),
            odd,
            audience,
            flags,
        }
    }

    /// Makes `info` (blank) one on which the guard decides as on the answer `facts` was
    /// made from. Filled in place: a `TokenInfo` is kilobytes (most of it unused
    /// buffer), so it is neither zeroed nor moved.
    fn fill(&self, info: &mut TokenInfo, facts: &Facts) {
        let principal = facts.principal.as_deref().and_then(bounded);
        if facts.flags & PRINCIPAL_IS_CLIENT != 0 {
            info.client_id = principal;
        } else {
            info.subject = principal;
        }
        for (index, name) in self.watched.iter().enumerate() {
            if facts.scopes & (1 << index) != 0 {
                // Fits: these are a subset of the words of a scope that fitted.
                if !info.scope.is_empty() {
                    let _ = info.scope.push(' ');
                }
                let _ = info.scope.push_str(name);
            }
        }
        if let Some(accepted) = usize::from(facts.audience)
            .checked_sub(1)
            .and_then(|index| self.accepted_audiences.get(index))
        {
            info.audiences.push(accepted);
        }
        if let Some(odd) = facts.odd.as_deref() {
            info.issuer = odd.issuer.as_deref().and_then(bounded);
            info.token_type = odd.token_type.as_deref().and_then(bounded);
        }
        info.active = facts.flags & ACTIVE != 0;
        info.exp = (facts.flags & HAS_EXP != 0).then_some(facts.exp);
    }

    /// Runs `inspect` on the live answer for `digest`, rebuilt on the stack, after the
    /// shard's lock is released; gives `inspect` back on a miss.
    fn with_hit<T, F: FnOnce(&TokenInfo) -> T>(
        &self,
        digest: &TokenDigest,
        now_ms: u64,
        inspect: F,
    ) -> Result<Result<T, ValidationError>, F> {
        let mut info = blank_info();
        let found = {
            let state = self.shard(digest).lock();
            match state.entries.get(digest) {
                Some(entry) if entry.expires_ms > now_ms => match &entry.facts {
                    Ok(facts) => {
                        self.fill(&mut info, facts);
                        Some(Ok(()))
                    }
                    Err(error) => Some(Err(*error)),
                },
                _ => None,
            }
        };
        match found {
            Some(answer) => Ok(answer.map(|()| inspect(&info))),
            None => Err(inspect),
        }
    }

    /// The live answer for `digest` in `state`, rebuilt.
    fn cached(
        &self,
        state: &ShardState,
        digest: &TokenDigest,
        now_ms: u64,
    ) -> Option<Result<TokenInfo, ValidationError>> {
        let entry = state.entries.get(digest)?;
        if entry.expires_ms <= now_ms {
            return None;
        }
        Some(entry.facts.as_ref().map_err(|error| *error).map(|facts| {
            let mut info = blank_info();
            self.fill(&mut info, facts);
            info
        }))
    }

    /// Keeps `entry`, making room in a full shard: expired answers go first, then
    /// (an eighth of the shard at once, so the scan is paid rarely) negative answers,
    /// then those expiring soonest.
    fn store(&self, digest: TokenDigest, entry: Entry, now_ms: u64) {
        if self.shard_capacity == 0 {
            return;
        }
        let mut state = self.shard(&digest).lock();
        if state.entries.len() >= state.swept_len.saturating_mul(2).max(SWEEP_FROM) {
            // Junk answers would otherwise stay until the shard is full: the memory then
            // follows the live answers, not the cache's capacity. Amortised: the sweep
            // runs when the shard has doubled since the last one. Expired good answers
            // stay, so that asking again counts as a renewal.
            state
                .entries
                .retain(|_, old| old.facts.is_ok() || old.expires_ms > now_ms);
            state.swept_len = state.entries.len();
        }
        let entries = &mut state.entries;
        if entries.len() >= self.shard_capacity && !entries.contains_key(&digest) {
            entries.retain(|_, old| old.expires_ms > now_ms);
            let excess = (entries.len() + 1).saturating_sub(self.shard_capacity);
            if excess > 0 {
                let batch = excess.max(self.shard_capacity / 8).min(entries.len());
                let mut ranked: Vec<((bool, u64), TokenDigest)> = entries
                    .iter()
                    .map(|(key, old)| (eviction_rank(old.facts.is_ok(), old.expires_ms), *key))
                    .collect();
                if batch < ranked.len() {
                    ranked.select_nth_unstable(batch);
                }
                for (_, key) in ranked.iter().take(batch) {
                    entries.remove(key);
                }
            }
        }
        entries.insert(digest, entry);
    }
}

impl<V: TokenValidator, C: Clock> TokenCache<'_, V, C> {
    /// The live answer for `digest`, if any.
    fn hit(&self, digest: &TokenDigest) -> Option<Result<TokenInfo, ValidationError>> {
        let now_ms = self.clock.monotonic_ms();
        self.cached(&self.shard(digest).lock(), digest, now_ms)
    }

    /// Looks `digest` up; on a miss says whether to ask upstream or wait for another
    /// caller already asking.
    fn on_miss(&self, digest: &TokenDigest) -> Miss {
        let now_ms = self.clock.monotonic_ms();
        let mut state = self.shard(digest).lock();
        if let Some(answer) = self.cached(&state, digest, now_ms) {
            return Miss::Cached(Box::new(answer));
        }
        match state.flights.get(digest) {
            Some(flight) => Miss::Wait(Arc::clone(flight)),
            None => {
                state.flights.insert(*digest, Arc::new(Notify::new()));
                let renewing = state
                    .entries
                    .get(digest)
                    .is_some_and(|expired| expired.facts.is_ok());
                Miss::Lead { renewing }
            }
        }
    }

    /// A miss: one caller per token asks upstream (single flight), stores the answer
    /// and wakes the others, who then read it (or, after an outage, ask themselves).
    async fn fetch(&self, token: &str, digest: &TokenDigest) -> Result<TokenInfo, ValidationError> {
        let deadline = Instant::now() + self.flight_wait;
        loop {
            let flight = match self.on_miss(digest) {
                Miss::Cached(answer) => return *answer,
                Miss::Lead { renewing } => return self.ask(token, digest, renewing).await,
                Miss::Wait(flight) => flight,
            };
            let mut woken = pin!(flight.notified());
            woken.as_mut().enable();
            // The flight may have ended before `enable`: then its wake-up was missed.
            let still_flying = self
                .shard(digest)
                .lock()
                .flights
                .get(digest)
                .is_some_and(|current| Arc::ptr_eq(current, &flight));
            if still_flying && tokio::time::timeout_at(deadline, woken).await.is_err() {
                return Err(ValidationError::Timeout);
            }
        }
    }

    /// Asks the inner validator (this caller leads the flight for `digest`).
    async fn ask(
        &self,
        token: &str,
        digest: &TokenDigest,
        renewing: bool,
    ) -> Result<TokenInfo, ValidationError> {
        // Ends the flight even if this future is dropped mid-call.
        let _landing = Landing {
            shard: self.shard(digest),
            digest: *digest,
        };
        let asking = self.inner.validate(token);
        let result = if renewing {
            RENEWING.scope((), asking).await
        } else {
            asking.await
        };
        let now_ms = self.clock.monotonic_ms();
        let reuse_for_ms = self.policy.reuse_for_ms(&result, self.clock.unix_seconds());
        if let Some(lifetime_ms) = reuse_for_ms {
            let entry = Entry {
                expires_ms: now_ms.saturating_add(lifetime_ms),
                facts: result
                    .as_ref()
                    .map(|info| self.facts(info))
                    .map_err(|error| *error),
            };
            self.store(*digest, entry, now_ms);
        }
        result
    }
}

/// Ends a flight: removes it and wakes its waiters.
struct Landing<'s> {
    shard: &'s Shard,
    digest: TokenDigest,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let flight = self.shard.lock().flights.remove(&self.digest);
        if let Some(flight) = flight {
            flight.notify_waiters();
        }
    }
}

impl<V: TokenValidator, C: Clock> TokenValidator for TokenCache<'_, V, C> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        let digest = digest(token);
        if let Some(answer) = self.hit(&digest) {
            return answer;
        }
        Box::pin(self.fetch(token, &digest)).await
    }

    async fn inspect<T>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        let digest = digest(token);
        // The hit is synchronous: its `TokenInfo` lives on the stack, not in the future.
        // A miss is boxed: the inner validator's future (a JWT check's or an
        // introspection's, kilobytes) would otherwise be part of every check's state,
        // hits included, in whatever future awaits this one.
        match self.with_hit(&digest, self.clock.monotonic_ms(), inspect) {
            Ok(answer) => answer,
            Err(inspect) => Box::pin(self.fetch(token, &digest))
                .await
                .map(|info| inspect(&info)),
        }
    }
}

/// How many shards, of how many entries each, hold `capacity` answers: up to `SHARDS`
/// of at least `MIN_SHARD_ENTRIES`. A hash table keeps at most 7/8 of its
/// power-of-two buckets full and doubles beyond: large shards are sized just under such
/// a fill (a few more shards) so that none doubles its table for its last few entries.
fn shard_layout(capacity: usize) -> (usize, usize) {
    let shards = (capacity / MIN_SHARD_ENTRIES).clamp(1, SHARDS);
    if shards == 1 {
        return (1, capacity);
    }
    let mut full = 7 * MIN_SHARD_ENTRIES / 8;
    while full * 2 <= capacity.div_ceil(shards) {
        full *= 2;
    }
    let shards = capacity.div_ceil(full);
    (shards, capacity.div_ceil(shards))
}

fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// A `TokenInfo` with nothing in it (its strings' buffers are left uninitialised).
fn blank_info() -> TokenInfo {
    TokenInfo {
        active: false,
        subject: None,
        client_id: None,
        scope: heapless::String::new(),
        audiences: WordList::default(),
        issuer: None,
        exp: None,
        iat: None,
        token_type: None,
        answered_at: None,
    }
}

fn bounded<const N: usize>(text: &str) -> Option<heapless::String<N>> {
    heapless::String::try_from(text).ok()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use push_advisor_http::testing::FakeClock;
    use push_advisor_oauth::guard::{Grant, Guard, RejectionKind};
    use push_advisor_oauth::testing::{FixedValidator, config};
    use push_advisor_oauth::token::parse_introspection;

    use super::*;

    const NOW: u64 = 1_723_563_100;

    fn answer(json: &str) -> Result<TokenInfo, ValidationError> {
        parse_introspection(json.as_bytes(), None)
    }

    fn active(exp: u64) -> Result<TokenInfo, ValidationError> {
        let mut info = TokenInfo::new("alice", "api:read");
        info.exp = Some(exp);
        Ok(info)
    }

    fn leaked(config: OAuthConfig<'static>) -> &'static OAuthConfig<'static> {
        Box::leak(Box::new(config))
    }

    fn cache<'a>(
        upstream: &'a FixedValidator,
        clock: &'a FakeClock,
        capacity: usize,
    ) -> TokenCache<'static, &'a FixedValidator, &'a FakeClock> {
        TokenCache::new(upstream, clock, leaked(config()), capacity, &[]).unwrap()
    }

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    /// What the guard decides and answers for one request, comparable across calls.
    #[derive(Debug, PartialEq)]
    #[allow(clippy::large_enum_variant)] // a test value, compared once
    enum Decision {
        Granted(Grant<'static>),
        Refused(RejectionKind, Option<String>),
    }

    fn decide<V: TokenValidator>(
        guard: &Guard<'static, V, &FakeClock>,
        required_scope: &'static str,
    ) -> Decision {
        match run(guard.check_authorization([&b"Bearer opaque"[..]], required_scope)) {
            Ok(grant) => Decision::Granted(grant),
            Err(rejection) => Decision::Refused(
                rejection.kind,
                rejection.challenge().map(|c| c.as_str().to_owned()),
            ),
        }
    }

    /// Records whether each call it gets renews an expired good answer.
    struct Renewals(std::sync::Mutex<Vec<bool>>);

    impl TokenValidator for Renewals {
        async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
            self.0.lock().unwrap().push(renewing());
            if token == "junk" {
                Err(ValidationError::Inactive)
            } else {
                active(NOW + 3600)
            }
        }
    }

    #[test]
    fn asking_again_for_a_token_once_accepted_is_a_renewal() {
        let clock = FakeClock::at(Some(NOW));
        let upstream = Renewals(std::sync::Mutex::new(Vec::new()));
        let config = leaked(config());
        let cache = TokenCache::new(&upstream, &clock, config, 64, &[]).unwrap();
        run(async {
            for _ in 0..2 {
                cache.validate("good").await.unwrap();
                cache.validate("junk").await.unwrap_err();
                clock.advance_ms(config.cache_max_lifetime_ms + 1);
            }
        });
        assert!(!renewing(), "outside a renewal");
        let seen = upstream.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [false, false, true, false],
            "good, junk, good again, junk again"
        );
    }

    /// The guard decides on a cached (compact) answer exactly as on the provider's.
    #[test]
    fn a_hit_decides_as_the_full_answer_did() {
        let answers = [
            // Granted, with a subject; an unwatched scope and a second audience are dropped.
            r#"{"active":true,"sub":"alice","client_id":"app","scope":"openid api:read api:write","aud":["https://x.example","http://127.0.0.1:8787"],"iss":"http://127.0.0.1:9000","exp":1723566600,"token_type":"Bearer"}"#,
            // A client-credentials token: the principal is the client id.
            r#"{"active":true,"client_id":"svc","scope":"api:read","aud":"http://127.0.0.1:8787","exp":1723566600}"#,
            // Step-up: 403 naming what was granted plus what is missing.
            r#"{"active":true,"sub":"bob","scope":"openid api:write","aud":"http://127.0.0.1:8787","exp":1723566600}"#,
            r#"{"active":true,"sub":"bob","scope":"api:read","aud":"https://other.example","exp":1723566600}"#,
            r#"{"active":true,"sub":"bob","scope":"api:read","aud":"http://127.0.0.1:8787","iss":"https://evil.example"}"#,
            r#"{"active":true,"sub":"bob","scope":"api:read","aud":"http://127.0.0.1:8787","token_type":"DPoP"}"#,
            r#"{"active":true,"scope":"api:read","aud":"http://127.0.0.1:8787"}"#,
        ];
        for json in answers {
            for (check_audience, required) in [(true, "api:read"), (false, ""), (true, "extra")] {
                let config = leaked(OAuthConfig {
                    check_audience,
                    ..config()
                });
                let clock = FakeClock::at(Some(NOW));
                let upstream = FixedValidator::new(answer(json));
                let cache = TokenCache::new(&upstream, &clock, config, 64, &["extra"]).unwrap();
                let guard = Guard::new(config, &cache, &clock);
                let direct = Guard::new(config, &upstream, &clock);
                let expected = decide(&direct, required);
                let calls = upstream.calls.get();
                assert_eq!(decide(&guard, required), expected, "miss: {json}");
                assert_eq!(decide(&guard, required), expected, "hit: {json}");
                assert_eq!(upstream.calls.get(), calls + 1, "one call, then hits");
            }
        }
    }

    #[test]
    fn reuses_answers_until_the_configured_lifetime() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache = cache(&upstream, &clock, 64);
        for _ in 0..3 {
            assert_eq!(run(cache.validate("tok")).unwrap().subject(), Some("alice"));
        }
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(59_999);
        run(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(1);
        run(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 2);
    }

    #[test]
    fn never_trusts_an_answer_past_the_token_expiry() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(1_010));
        let cache = cache(&upstream, &clock, 64);
        run(cache.validate("tok")).unwrap();
        clock.advance_ms(9_999);
        assert_eq!(run(cache.validate("tok")).unwrap().exp, Some(1_010));
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(1);
        run(cache.validate("tok")).unwrap();
        assert_eq!(upstream.calls.get(), 2);
        // Already expired: not kept at all.
        let expired = FixedValidator::new(active(500));
        let cache = self::cache(&expired, &clock, 64);
        run(cache.validate("old")).unwrap();
        assert!(cache.is_empty());
    }

    #[test]
    fn inactive_answers_are_cached_briefly_and_outages_not_at_all() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(Err(ValidationError::Inactive));
        let cache = cache(&upstream, &clock, 64);
        for _ in 0..2 {
            assert_eq!(
                run(cache.inspect("bad", |_| ())),
                Err(ValidationError::Inactive)
            );
        }
        assert_eq!(upstream.calls.get(), 1);
        clock.advance_ms(5_000);
        assert_eq!(run(cache.validate("bad")), Err(ValidationError::Inactive));
        assert_eq!(upstream.calls.get(), 2);
        for error in [
            ValidationError::Unreachable,
            ValidationError::Timeout,
            ValidationError::BadAnswer,
        ] {
            *upstream.answer.borrow_mut() = Err(error);
            assert_eq!(run(cache.validate("flaky")), Err(error));
            assert_eq!(run(cache.validate("flaky")), Err(error));
        }
        assert_eq!(upstream.calls.get(), 8);
    }

    #[test]
    fn a_too_large_answer_is_remembered_like_an_inactive_one() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(Err(ValidationError::TooLarge));
        let cache = cache(&upstream, &clock, 64);
        for _ in 0..3 {
            assert_eq!(run(cache.validate("big")), Err(ValidationError::TooLarge));
        }
        assert_eq!(upstream.calls.get(), 1);
    }

    #[test]
    fn only_digests_are_stored_and_forget_drops_one() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache = cache(&upstream, &clock, 64);
        run(cache.validate("secret-token-text")).unwrap();
        let key = digest("secret-token-text");
        assert!(cache.shard(&key).lock().entries.contains_key(&key));
        assert!(
            format!("{:?}", cache.shard(&key).lock().entries)
                .find("secret")
                .is_none()
        );
        cache.forget("secret-token-text");
        assert!(cache.is_empty());
    }

    /// A full cache keeps its good answers while junk tokens pour in: junk evicts junk.
    #[test]
    fn a_junk_flood_does_not_push_out_good_tokens() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache = cache(&upstream, &clock, 64);
        let good: Vec<String> = (0..64).map(|i| format!("good-{i}")).collect();
        for token in &good {
            run(cache.validate(token)).unwrap();
            clock.advance_ms(1);
        }
        assert_eq!(cache.len(), 64);
        *upstream.answer.borrow_mut() = Err(ValidationError::Inactive);
        for i in 0..1_000 {
            let _ = run(cache.validate(&format!("junk-{i}")));
        }
        assert!(cache.len() <= 64);
        // The first junk made room by evicting an eighth of the shard (the good answers
        // expiring soonest); every later one evicted junk.
        let kept = |token: &String| {
            let key = digest(token);
            cache.shard(&key).lock().entries.contains_key(&key)
        };
        assert!(good[..8].iter().all(|token| !kept(token)));
        assert!(good[8..].iter().all(kept));
        *upstream.answer.borrow_mut() = active(10_000);
        let calls = upstream.calls.get();
        for token in &good {
            run(cache.validate(token)).unwrap();
        }
        assert_eq!(upstream.calls.get() - calls, 8);
    }

    /// Expired junk answers leave a roomy cache as more junk arrives: memory follows the
    /// live answers, not the capacity.
    #[test]
    fn expired_junk_is_swept_long_before_the_cache_is_full() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(Err(ValidationError::Inactive));
        let config = leaked(config());
        let cache = TokenCache::new(&upstream, &clock, config, 65_536, &[]).unwrap();
        for second in 0..60 {
            for i in 0..100 {
                let _ = run(cache.validate(&format!("junk-{second}-{i}")));
            }
            clock.advance_ms(1_000);
        }
        let live_at_most = 100 * config.negative_lifetime_ms as usize / 1_000 + 100;
        assert!(
            cache.len() <= 2 * live_at_most + 64 * cache.shards.len(),
            "{} entries for at most {live_at_most} live junk answers",
            cache.len()
        );
        assert!(
            cache.len() < 6_000 / 2,
            "without the sweep all 6,000 stay: {}",
            cache.len()
        );
    }

    #[test]
    fn capacity_is_spread_over_shards() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let cache = cache(&upstream, &clock, DEFAULT_CAPACITY);
        // 37 shards of 1,772 (under 7/8 of 2,048 buckets) rather than 32 of 2,048
        // (which would need 4,096 buckets each).
        assert_eq!((cache.shards.len(), cache.shard_capacity), (37, 1_772));
        assert!(cache.capacity() >= DEFAULT_CAPACITY);
        for i in 0..2_000 {
            run(cache.validate(&format!("t{i}"))).unwrap();
        }
        assert_eq!(cache.len(), 2_000);
        let sizes: Vec<usize> = cache
            .shards
            .iter()
            .map(|s| s.lock().entries.len())
            .collect();
        assert!(sizes.iter().all(|n| (25..=90).contains(n)), "{sizes:?}");
        assert_eq!(upstream.calls.get(), 2_000);
        for i in 0..2_000 {
            run(cache.validate(&format!("t{i}"))).unwrap();
        }
        assert_eq!(upstream.calls.get(), 2_000, "all hits");
        // Small capacities keep one shard, so eviction order is cache-wide.
        assert_eq!(self::cache(&upstream, &clock, 1_000).shards.len(), 1);
        assert!(TokenCache::new(&upstream, &clock, leaked(config()), 0, &[]).is_ok());
    }

    #[test]
    fn entries_are_compact() {
        assert!(size_of::<TokenDigest>() + size_of::<Entry>() <= 96);
    }

    #[test]
    fn too_many_watched_scopes_are_refused() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = FixedValidator::new(active(10_000));
        let scopes: Vec<&'static str> = (0..63).map(|i| &*format!("s{i}").leak()).collect();
        assert!(TokenCache::new(&upstream, &clock, leaked(config()), 8, &scopes).is_err());
        assert!(TokenCache::new(&upstream, &clock, leaked(config()), 8, &scopes[..62]).is_ok());
    }

    /// A validator that takes `delay` to answer, counting calls: a fake that makes
    /// concurrent misses overlap for as long as a test needs.
    struct SlowValidator {
        delay: Duration,
        answer: Result<TokenInfo, ValidationError>,
        calls: Cell<usize>,
    }

    impl TokenValidator for SlowValidator {
        async fn validate(&self, _token: &str) -> Result<TokenInfo, ValidationError> {
            self.calls.set(self.calls.get() + 1);
            tokio::time::sleep(self.delay).await;
            self.answer.clone()
        }
    }

    fn slow(delay_ms: u64, answer: Result<TokenInfo, ValidationError>) -> SlowValidator {
        SlowValidator {
            delay: Duration::from_millis(delay_ms),
            answer,
            calls: Cell::new(0),
        }
    }

    fn slow_cache<'a>(
        upstream: &'a SlowValidator,
        clock: &'a FakeClock,
        provider_timeout_ms: u64,
    ) -> TokenCache<'static, &'a SlowValidator, &'a FakeClock> {
        let config = leaked(OAuthConfig {
            provider_timeout_ms,
            ..config()
        });
        TokenCache::new(upstream, clock, config, 64, &[]).unwrap()
    }

    #[test]
    fn concurrent_misses_of_one_token_make_one_call() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = slow(30, active(10_000));
        let cache = slow_cache(&upstream, &clock, 5_000);
        let (a, b, c, d) = run(async {
            tokio::join!(
                cache.validate("same"),
                cache.inspect("same", |info| info.principal().map(str::to_owned)),
                cache.validate("same"),
                cache.validate("other"),
            )
        });
        assert_eq!(a.unwrap().subject(), Some("alice"));
        assert_eq!(b.unwrap().as_deref(), Some("alice"));
        assert!(c.is_ok() && d.is_ok());
        assert_eq!(upstream.calls.get(), 2, "one call per distinct token");
    }

    #[test]
    fn waiters_retry_after_an_outage_instead_of_sharing_it() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = slow(10, Err(ValidationError::Unreachable));
        let cache = slow_cache(&upstream, &clock, 5_000);
        let results = run(async {
            tokio::join!(
                cache.validate("t"),
                cache.validate("t"),
                cache.validate("t")
            )
        });
        assert_eq!(results.0, Err(ValidationError::Unreachable));
        assert_eq!(results.2, Err(ValidationError::Unreachable));
        assert_eq!(upstream.calls.get(), 3);
    }

    #[test]
    fn a_wait_for_another_call_is_bounded_by_the_provider_timeout() {
        let clock = FakeClock::at(Some(1_000));
        let upstream = slow(2_000, active(10_000));
        let cache = slow_cache(&upstream, &clock, 50);
        let started = std::time::Instant::now();
        let waited = run(async {
            tokio::select! {
                _ = cache.validate("t") => unreachable!("the first call takes 2 s"),
                waited = async {
                    tokio::task::yield_now().await;
                    cache.validate("t").await
                } => waited,
            }
        });
        assert_eq!(waited, Err(ValidationError::Timeout));
        assert!(started.elapsed() < Duration::from_millis(1_500));
        // The leader's future was dropped: its flight ended with it.
        assert!(cache.shard(&digest("t")).lock().flights.is_empty());
        assert_eq!(upstream.calls.get(), 1);
    }
}
