//! One whole request through `serve` over an in-memory connection, per route.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use embassy_futures::block_on;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use push_advisor_core::app::{AppConfig, PushAdvisor};
use push_advisor_core::{Buffers, ServerConfig, serve};
use support::{FixedClock, MONDAY_NOON, MemConn, SeededRng};

fn bench_route(c: &mut Criterion, name: &str, request: &[u8]) {
    let config = AppConfig {
        public_url: "http://127.0.0.1:8787",
        authorization_endpoint: "http://127.0.0.1:9000/auth",
        token_endpoint: "http://127.0.0.1:9000/token",
    };
    let app: PushAdvisor<'_, CriticalSectionRawMutex, _, _> = PushAdvisor::new(
        config,
        FixedClock {
            unix: Some(MONDAY_NOON),
            monotonic_ms: 0,
        },
        SeededRng(1),
    );
    let server = ServerConfig::default();
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 2048];
    let mut conn = MemConn::new(request);
    c.bench_function(name, |b| {
        b.iter(|| {
            conn.rewind();
            let buffers = Buffers {
                rx: &mut rx,
                tx: &mut tx,
            };
            block_on(serve(&mut conn, &app, &server, buffers)).ok();
            assert!(conn.output.starts_with(b"HTTP/1.1 200"));
        })
    });
}

fn requests(c: &mut Criterion) {
    bench_route(c, "serve GET /vibe-check", b"GET /vibe-check HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");
    bench_route(c, "serve GET /can-i-push-to-prod", b"GET /can-i-push-to-prod HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");
}

criterion_group!(benches, requests);
criterion_main!(benches);
