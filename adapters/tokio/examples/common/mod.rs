//! Shared by the token-cache examples (`mod common;`; a directory without `main.rs`, so not
//! an example itself):
//! a cache whose upstream always answers as the dev provider does for a
//! client-credentials token (one scope, one audience, no `sub`).

use push_advisor_oauth::TokenInfo;
use push_advisor_oauth::testing::{FixedValidator, config};
use push_advisor_tokio::{HostClock, TokenCache};

/// The upstream answer: active, `api:read`, the client as principal, far from expiry.
pub fn upstream() -> FixedValidator {
    let mut info = TokenInfo::new("", "api:read");
    info.subject = None;
    info.client_id = heapless::String::try_from("push-advisor").ok();
    info.audiences.push("http://127.0.0.1:8787");
    info.exp = Some(u64::MAX / 2);
    FixedValidator::new(Ok(info))
}

/// A cache of `capacity` answers in front of `upstream`.
pub fn cache(
    upstream: &FixedValidator,
    capacity: usize,
) -> TokenCache<'static, &FixedValidator, HostClock> {
    let config = Box::leak(Box::new(config()));
    TokenCache::new(upstream, HostClock::new(), config, capacity, &[]).unwrap()
}

/// A token as long as the dev provider's (43 characters), distinct for each `i`.
pub fn token(i: usize) -> String {
    format!("{i:0>43}")
}
