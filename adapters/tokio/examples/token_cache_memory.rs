//! Memory of the host token cache at capacity (a measurement for the report, not a test):
//! fills a `TokenCache` with `capacity` distinct active answers of the shape the dev
//! provider gives (client-credentials, one scope, one audience) and prints the process's
//! resident memory before and after.
//!
//!   cargo run --release -p push-advisor-tokio --example token_cache_memory [-- 65536]

mod common;

use push_advisor_oauth::TokenValidator;

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
    let upstream = common::upstream();
    let cache = common::cache(&upstream, capacity);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let before = rss_kib();
    runtime.block_on(async {
        for i in 0..capacity {
            let _ = cache.validate(&common::token(i)).await;
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
