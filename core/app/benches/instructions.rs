//! Runs one route through `serve` a given number of times, for instruction counting
//! under `valgrind --tool=callgrind` (repeatable where wall-clock timings on a shared
//! machine are not). `cargo bench --bench instructions -- <route> <count>`; see
//! BENCHMARKS.md for the command that turns two runs into instructions per request.

#[path = "../tests/support/mod.rs"]
mod support;

use embassy_futures::block_on;
use push_advisor_http::{Buffers, ServerConfig, serve};
use support::app::{RESOURCE, oauth_config, wired};
use support::{MONDAY_NOON, MemConn, introspection_reply};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let route = args.next().unwrap_or_else(|| "vibe-check".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let reply = introspection_reply(&format!(
        r#"{{"active":true,"client_id":"push-advisor","exp":{},"iss":"http://127.0.0.1:9000","aud":"{RESOURCE}","scope":"api:read","token_type":"Bearer","sub":"alice"}}"#,
        MONDAY_NOON + 3600
    ));
    let app = wired(Some(MONDAY_NOON), &[&reply], false, oauth_config(false)).app;
    let auth = if route == "deploy-history" {
        "Authorization: Bearer 6uTAj0tNW3Ir3JKs8Dv9vcoXRYBLhMEyI9bWbLHsn9L\r\n"
    } else {
        ""
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
