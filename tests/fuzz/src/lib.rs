//! What the fuzz targets share: the whole app wired in memory (the same wiring as the
//! app's own tests, included from `core/app/tests/support`), a way to let the input
//! choose how the peer's bytes are cut into reads, and the checks every answer of the
//! connection loop must pass.

#[path = "../../../core/app/tests/support/mod.rs"]
pub mod support;

/// The JWT test vectors of `core/oauth` (public keys, tokens they signed, the time to
/// check them at).
#[allow(dead_code)]
pub mod jwt_vectors {
    include!("../../../core/oauth/testdata/jwt_vectors.rs");
}

use embassy_futures::block_on;
use push_advisor_http::{Buffers, ServerConfig, serve};
use support::MemConn;
use support::app::{App, Wired, oauth_config, wired};

/// A fixed Unix time for clocks and `Date` headers (a Monday).
pub use support::MONDAY_NOON;

thread_local! {
    /// One app for the whole run: wiring leaks its parts, so a fresh app per input would
    /// grow the process without bound. Demo tokens are on so protected routes and MCP
    /// tools are reached; the provider is unreachable (no recorded answers), so any
    /// other token takes the 503 path.
    static APP: &'static Wired =
        Box::leak(Box::new(wired(Some(MONDAY_NOON), &[], false, oauth_config(true))));
}

/// The shared app and the replay connector behind its provider calls.
pub fn wired_app() -> &'static Wired {
    APP.with(|wired| *wired)
}

/// The shared app.
pub fn app() -> &'static App {
    wired_app().app
}

/// Most reads one input is cut into. The server and the client parse a head again
/// after every read, so 1-byte reads of a 4 KiB input cost thousands of parses and
/// made these targets several times slower; cuts at every byte of a short input and at
/// every 64th of a long one explore the same code.
pub const MAX_READS: usize = 64;

/// The first byte picks how many bytes each read hands over (0 = as many as fit), so
/// inputs also explore a peer that sends in small pieces: at least a
/// [`MAX_READS`]th of the rest, though.
pub fn read_size_and_rest(data: &[u8]) -> (usize, &[u8]) {
    let (size, rest) = match data.split_first() {
        None => (usize::MAX, data),
        Some((&0, rest)) => (usize::MAX, rest),
        Some((&size, rest)) => (usize::from(size), rest),
    };
    (size.max(rest.len().div_ceil(MAX_READS)), rest)
}

/// Runs the connection loop of the app over `input` (cut into reads of `read_size`
/// bytes) with the buffers the host gives, and returns everything it wrote.
pub fn serve_input(input: &[u8], read_size: usize) -> Vec<u8> {
    let mut conn = MemConn::chunked(input, read_size);
    let mut rx = [0u8; 4096];
    let mut tx = [0u8; 2048];
    let ended = block_on(serve(
        &mut conn,
        app(),
        &ServerConfig::default(),
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
    ));
    // The in-memory connection never fails, so the loop must end on its own terms.
    assert!(ended.is_ok(), "the loop failed on an infallible connection");
    // The loop stops reading once the peer has closed: no spinning on end of input.
    assert!(
        conn.reads <= input.len() + 2,
        "{} reads for {} bytes",
        conn.reads,
        input.len()
    );
    conn.output
}

/// Whether `inner` lies inside `outer` (a parser handed back a piece of its input).
pub fn within(outer: &[u8], inner: &[u8]) -> bool {
    let range = outer.as_ptr_range();
    inner.is_empty() || (range.start <= inner.as_ptr() && inner.as_ptr_range().end <= range.end)
}

/// Every answer of the connection loop: it starts with `HTTP/1.1 `, its head is
/// complete and parses, and its status is a final or a `100 Continue`.
pub fn check_answers(output: &[u8]) {
    if output.is_empty() {
        return;
    }
    assert!(
        output.starts_with(b"HTTP/1.1 "),
        "answer does not start with HTTP/1.1: {:?}",
        String::from_utf8_lossy(&output[..output.len().min(64)])
    );
    let mut headers = [httparse::EMPTY_HEADER; 48];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(output) {
        Ok(httparse::Status::Complete(_)) => {}
        other => panic!(
            "first answer head does not parse ({other:?}): {:?}",
            String::from_utf8_lossy(output)
        ),
    }
    let status = response.code.unwrap_or(0);
    assert!(
        status == 100 || (200..600).contains(&status),
        "status {status}"
    );
}
