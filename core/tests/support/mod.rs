//! Test support: an in-memory duplex connection, fixed clocks, a seeded RNG and a
//! parser for the responses the server wrote.
#![allow(dead_code)]

use core::convert::Infallible;
use std::vec::Vec;

use push_advisor_core::time::Clock;

/// The client side is scripted: `input` arrives in reads of at most `chunk` bytes,
/// everything the server writes is collected in `output`.
pub struct MemConn {
    input: Vec<u8>,
    position: usize,
    chunk: usize,
    pub output: Vec<u8>,
    pub reads: usize,
}

impl MemConn {
    pub fn new(input: &[u8]) -> Self {
        Self::chunked(input, usize::MAX)
    }

    /// Replays the same input again, forgetting what was written (for benchmarks).
    pub fn rewind(&mut self) {
        self.position = 0;
        self.output.clear();
    }

    pub fn chunked(input: &[u8], chunk: usize) -> Self {
        MemConn {
            input: input.to_vec(),
            position: 0,
            chunk,
            output: Vec::new(),
            reads: 0,
        }
    }
}

impl embedded_io_async::ErrorType for MemConn {
    type Error = Infallible;
}

impl embedded_io_async::Read for MemConn {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        self.reads += 1;
        let rest = &self.input[self.position..];
        let n = rest.len().min(buf.len()).min(self.chunk);
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        Ok(n)
    }
}

impl embedded_io_async::Write for MemConn {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A clock stopped at a given Unix time (or with wall time unknown).
#[derive(Clone, Copy)]
pub struct FixedClock {
    pub unix: Option<u64>,
    pub monotonic_ms: u64,
}

impl Clock for FixedClock {
    fn monotonic_ms(&self) -> u64 {
        self.monotonic_ms
    }
    fn unix_seconds(&self) -> Option<u64> {
        self.unix
    }
}

/// 2026-11-23T12:00:00Z, a Monday.
pub const MONDAY_NOON: u64 = 1_795_392_000 + 12 * 3600;

/// A small seeded generator (SplitMix64) so runs are repeatable.
pub struct SeededRng(pub u64);

impl rand_core::RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            *byte = self.next_u32() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// One parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("bad JSON {e}: {}", self.text()))
    }
}

/// Splits the server's output into responses. `head_requests[i]` says whether the i-th
/// response answers a HEAD (its Content-Length then describes a body that is not sent).
pub fn parse_responses(mut bytes: &[u8], head_requests: &[bool]) -> Vec<Response> {
    let mut responses = Vec::new();
    while !bytes.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        let head_len = match parsed.parse(bytes).expect("valid response head") {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => {
                panic!("incomplete response: {:?}", String::from_utf8_lossy(bytes))
            }
        };
        let status = parsed.code.unwrap();
        let headers: Vec<(String, String)> = parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        let is_head = head_requests.get(responses.len()).copied().unwrap_or(false);
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        let body_len = if is_head || status == 100 { 0 } else { length };
        let body = bytes[head_len..head_len + body_len].to_vec();
        bytes = &bytes[head_len + body_len..];
        if status != 100 {
            responses.push(Response {
                status,
                headers,
                body,
            });
        }
    }
    responses
}
