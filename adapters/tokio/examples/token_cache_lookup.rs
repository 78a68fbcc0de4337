//! Cost of a cache hit with one token against many (a measurement for the report, not a
//! test): fills a `TokenCache` with 10,000 answers of the dev provider's shape, then times
//! a million `inspect` hits cycling through 1 and through all 10,000 tokens, twice.
//!
//!   cargo run --release -p push-advisor-tokio --example token_cache_lookup

use std::time::Instant;

use push_advisor_oauth::TokenValidator;

mod common;

const TOKENS: usize = 10_000;
const HITS: usize = 1_000_000;

fn main() {
    let upstream = common::upstream();
    let cache = common::cache(&upstream, push_advisor_tokio::token_cache::DEFAULT_CAPACITY);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let tokens: Vec<String> = (0..TOKENS).map(common::token).collect();
    runtime.block_on(async {
        for token in &tokens {
            let _ = cache.validate(token).await;
        }
        for in_rotation in [1, TOKENS, 1, TOKENS] {
            let started = Instant::now();
            let mut active = 0;
            for i in 0..HITS {
                // A stride coprime with the count, so consecutive hits land far apart.
                let token = &tokens[(i * 7919) % in_rotation];
                if cache.inspect(token, |info| info.active).await == Ok(true) {
                    active += 1;
                }
            }
            let per_hit = started.elapsed().as_nanos() as f64 / HITS as f64;
            println!("{in_rotation} token(s) in rotation: {per_hit:.0} ns per hit ({active} of {HITS} active)");
        }
    });
}
