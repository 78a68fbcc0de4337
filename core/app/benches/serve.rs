//! One whole request through `serve` over an in-memory connection, per route; the
//! protected route with an opaque (introspected) token and with JWT access tokens, each
//! already in the token cache.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "common/jwt_app.rs"]
mod jwt_app;

use criterion::{Criterion, criterion_group, criterion_main};
use embassy_futures::block_on;
use push_advisor_http::{Buffers, ServerConfig, serve};
use push_advisor_oauth::TokenValidator;
use support::app::{RESOURCE, TestPlatform, oauth_config, wired};
use support::{MONDAY_NOON, MemConn, introspection_reply};

fn bench_route<V: TokenValidator>(
    c: &mut Criterion,
    name: &str,
    app: &push_advisor_app::PushAdvisor<'static, TestPlatform, V>,
    request: &[u8],
) {
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
            block_on(serve(&mut conn, app, &server, buffers)).ok();
            assert!(conn.output.starts_with(b"HTTP/1.1 200"));
        })
    });
}

fn requests(c: &mut Criterion) {
    let reply = introspection_reply(&format!(
        r#"{{"active":true,"client_id":"push-advisor","exp":{},"iss":"http://127.0.0.1:9000","aud":"{RESOURCE}","scope":"api:read","token_type":"Bearer","sub":"alice"}}"#,
        MONDAY_NOON + 3600
    ));
    // One recorded introspection answer: the first request fills the cache, the rest hit it.
    let app = wired(Some(MONDAY_NOON), &[&reply], false, oauth_config(false)).app;
    let headers = "Host: 127.0.0.1:8787\r\nUser-Agent: bench\r\nAccept: */*\r\n";
    let get = |path: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\n{headers}{extra}\r\n").into_bytes()
    };
    bench_route(c, "serve GET /vibe-check", app, &get("/vibe-check", ""));
    bench_route(
        c,
        "serve GET /can-i-push-to-prod",
        app,
        &get("/can-i-push-to-prod", ""),
    );
    let token = "Authorization: Bearer 6uTAj0tNW3Ir3JKs8Dv9vcoXRYBLhMEyI9bWbLHsn9L\r\n";
    bench_route(
        c,
        "serve GET /deploy-history (cached token)",
        app,
        &get("/deploy-history", token),
    );
    // The same request with JWT access tokens: checked locally on the first request, cached after.
    let jwt_app = jwt_app::jwt_wired().app;
    for (alg, token) in [
        ("RS256", jwt_app::RS256_TOKEN),
        ("ES256", jwt_app::ES256_TOKEN),
    ] {
        bench_route(
            c,
            &format!("serve GET /deploy-history (cached {alg} JWT)"),
            jwt_app,
            &get(
                "/deploy-history",
                &format!("Authorization: Bearer {token}\r\n"),
            ),
        );
    }
}

criterion_group!(benches, requests);
criterion_main!(benches);
