//! Runs one route through `serve` a given number of times, for instruction counting
//! under `valgrind --tool=callgrind` (repeatable where wall-clock timings on a shared
//! machine are not). `cargo bench --bench instructions -- <route> <count>`; see
//! BENCHMARKS.md for the command that turns two runs into instructions per request.
//! Routes: `vibe-check`, `can-i-push-to-prod`, `deploy-history` (an opaque token,
//! introspected once, then cached), `deploy-history-rs256` and `deploy-history-es256`
//! (a JWT access token checked locally once, then cached).

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "common/jwt_app.rs"]
mod jwt_app;

use embassy_futures::block_on;
use push_advisor_http::{Buffers, ServerConfig, serve};
use push_advisor_oauth::TokenValidator;
use support::app::{RESOURCE, TestPlatform, oauth_config, wired};
use support::{MONDAY_NOON, MemConn, introspection_reply};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let route = args.next().unwrap_or_else(|| "vibe-check".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let jwt = match route.as_str() {
        "deploy-history-rs256" => Some(jwt_app::RS256_TOKEN),
        "deploy-history-es256" => Some(jwt_app::ES256_TOKEN),
        _ => None,
    };
    if let Some(token) = jwt {
        let app = jwt_app::jwt_wired().app;
        return run(app, "deploy-history", &format!("Bearer {token}"), count);
    }
    let reply = introspection_reply(&format!(
        r#"{{"active":true,"client_id":"push-advisor","exp":{},"iss":"http://127.0.0.1:9000","aud":"{RESOURCE}","scope":"api:read","token_type":"Bearer","sub":"alice"}}"#,
        MONDAY_NOON + 3600
    ));
    let app = wired(Some(MONDAY_NOON), &[&reply], false, oauth_config(false)).app;
    let bearer = "Bearer 6uTAj0tNW3Ir3JKs8Dv9vcoXRYBLhMEyI9bWbLHsn9L";
    let auth = if route == "deploy-history" {
        bearer
    } else {
        ""
    };
    run(app, &route, auth, count);
}

/// `GET /<route>` with `authorization` (if not empty), `count` + 1 times.
fn run<V: TokenValidator>(
    app: &push_advisor_app::PushAdvisor<'static, TestPlatform, V>,
    route: &str,
    authorization: &str,
    count: usize,
) {
    let auth = if authorization.is_empty() {
        String::new()
    } else {
        format!("Authorization: {authorization}\r\n")
    };
    let request = format!(
        "GET /{route} HTTP/1.1\r\nHost: 127.0.0.1:8787\r\nUser-Agent: bench\r\nAccept: */*\r\n{auth}\r\n"
    );
    let server = ServerConfig::default();
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 2048]);
    let mut conn = MemConn::new(request.as_bytes());
    // One warm-up request fills the token cache; it is in both counted runs.
    for _ in 0..count + 1 {
        conn.rewind();
        block_on(serve(
            &mut conn,
            app,
            &server,
            Buffers {
                rx: &mut rx,
                tx: &mut tx,
            },
        ))
        .ok();
        assert!(
            conn.output.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&conn.output)
        );
    }
}
