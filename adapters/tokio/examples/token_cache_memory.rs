//! Memory of the host token cache at capacity (a measurement for the report, not a test):
//! fills a `TokenCache` with `capacity` distinct active answers of the shape the dev
//! provider gives (client-credentials, one scope, one audience) and prints the process's
//! resident memory before and after.
//!
//!   cargo run --release -p push-advisor-tokio --example token_cache_memory [-- 65536]

use push_advisor_oauth::testing::{FixedValidator, config};
use push_advisor_oauth::{TokenInfo, TokenValidator};
use push_advisor_tokio::{HostClock, TokenCache};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

fn main() {
    let capacity: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(push_advisor_tokio::token_cache::DEFAULT_CAPACITY);
    let config = Box::leak(Box::new(config()));
    let mut info = TokenInfo::new("", "api:read");
    info.subject = None;
    info.client_id = heapless::String::try_from("push-advisor").ok();
    info.audiences.push("http://127.0.0.1:8787");
    info.exp = Some(u64::MAX / 2);
    let upstream = FixedValidator::new(Ok(info));
    let cache = TokenCache::new(&upstream, HostClock::new(), config, capacity, &[]).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let before = rss_kib();
    runtime.block_on(async {
        for i in 0..capacity {
            // Tokens as long as the dev provider's (43 characters).
            let token = format!("{i:0>43}");
            let _ = cache.validate(&token).await;
        }
    });
    let after = rss_kib();
    println!(
        "{} answers cached (capacity {}): RSS {before} KiB before, {after} KiB after: {} KiB, {} B per entry",
        cache.len(),
        cache.capacity(),
        after - before,
        (after - before) * 1024 / cache.len().max(1) as u64
    );
}
