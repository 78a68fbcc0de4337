//! Test support: an in-memory duplex connection, fixed clocks, a seeded RNG and a
//! parser for the responses the server wrote.
#![allow(dead_code)]

use core::convert::Infallible;
use std::vec::Vec;

use push_advisor_http::time::Clock;

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

/// Replays recorded provider answers: each `connect` takes the next one, and what the
/// client wrote is kept. It injects bytes only; the real provider runs in `tests/e2e`.
pub struct ReplayConnector {
    replies: std::cell::RefCell<std::collections::VecDeque<Vec<u8>>>,
    pub sent: std::cell::RefCell<Vec<Vec<u8>>>,
}

impl ReplayConnector {
    pub fn new(replies: &[&[u8]]) -> Self {
        ReplayConnector {
            replies: std::cell::RefCell::new(replies.iter().map(|r| r.to_vec()).collect()),
            sent: std::cell::RefCell::new(Vec::new()),
        }
    }

    pub fn push(&self, reply: &[u8]) {
        self.replies.borrow_mut().push_back(reply.to_vec());
    }

    pub fn connects(&self) -> usize {
        self.sent.borrow().len()
    }
}

pub struct ReplayConn<'c> {
    owner: &'c ReplayConnector,
    reply: Vec<u8>,
    position: usize,
    written: Vec<u8>,
}

impl Drop for ReplayConn<'_> {
    fn drop(&mut self) {
        self.owner
            .sent
            .borrow_mut()
            .push(std::mem::take(&mut self.written));
    }
}

impl embedded_io_async::ErrorType for ReplayConn<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io_async::Read for ReplayConn<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let rest = &self.reply[self.position..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.position += n;
        Ok(n)
    }
}

impl embedded_io_async::Write for ReplayConn<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl push_advisor_http::net::Reusable for ReplayConn<'_> {
    fn mark_reusable(&mut self) {}
}

impl push_advisor_http::net::Connect for ReplayConnector {
    type Connection<'c> = ReplayConn<'c>;
    type Error = embedded_io::ErrorKind;

    async fn connect(
        &self,
        _: &push_advisor_http::net::Endpoint<'_>,
    ) -> Result<ReplayConn<'_>, Self::Error> {
        // No recorded answer left: as if the provider were down.
        let reply = self
            .replies
            .borrow_mut()
            .pop_front()
            .ok_or(embedded_io::ErrorKind::ConnectionRefused)?;
        Ok(ReplayConn {
            owner: self,
            reply,
            position: 0,
            written: Vec::new(),
        })
    }
}

/// An introspection answer as oidc-provider sends it.
pub fn introspection_reply(json: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    )
    .into_bytes()
}

pub mod app {
    //! The whole Push Advisor app wired for in-memory tests: the provider's metadata
    //! is known, and introspection answers come from a `ReplayConnector`.
    use super::*;
    use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
    use push_advisor_app::{AppConfig, AppUrls, Platform, PushAdvisor};
    use push_advisor_mcp::McpConfig;
    use push_advisor_oauth::{
        BufferSlot, CachePolicy, CachingValidator, ClientAuth, ClientCredentials,
        DiscoveredIntrospector, Endpoints, OAuthConfig, ProviderBuffers, ProviderMetadata,
        SharedMetadata,
    };

    pub const RESOURCE: &str = "http://127.0.0.1:8787";
    pub const ISSUER: &str = "http://127.0.0.1:9000";

    pub type Mx = CriticalSectionRawMutex;
    pub type Validator =
        CachingValidator<Mx, DiscoveredIntrospector<'static, Mx, ReplayConnector>, FixedClock, 16>;
    /// What the tests supply to the app.
    pub struct TestPlatform;

    impl Platform for TestPlatform {
        type Mutex = Mx;
        type Clock = FixedClock;
        type Rng = SeededRng;
        type Connector = ReplayConnector;
    }

    pub type App = PushAdvisor<'static, TestPlatform, Validator>;

    pub struct Wired<V: 'static = Validator> {
        pub app: &'static PushAdvisor<'static, TestPlatform, V>,
        pub connector: &'static ReplayConnector,
    }

    /// What a token validator is built from.
    pub struct ValidatorParts {
        pub provider: &'static SharedMetadata,
        pub connector: &'static ReplayConnector,
        pub oauth: &'static OAuthConfig<'static>,
        pub buffers: &'static ProviderBuffers<'static, Mx>,
        pub clock: FixedClock,
    }

    pub fn leak<T>(value: T) -> &'static T {
        Box::leak(Box::new(value))
    }

    /// Two 4 KiB buffers for calls to the provider, as the host gives.
    pub fn provider_buffers() -> &'static ProviderBuffers<'static, Mx> {
        let slots: Vec<BufferSlot<'static, Mx>> = (0..2)
            .map(|_| embassy_sync::mutex::Mutex::new(&mut vec![0u8; 4096].leak()[..]))
            .collect();
        leak(ProviderBuffers::new(slots.leak()))
    }

    pub fn oauth_config(demo_tokens: bool) -> OAuthConfig<'static> {
        let urls = leak(AppUrls::new(RESOURCE).unwrap());
        let client = ClientCredentials {
            client_id: "push-advisor",
            client_secret: "s3cret",
            auth: ClientAuth::ClientSecretBasic,
        };
        OAuthConfig {
            redirect_uri: &urls.redirect,
            endpoints: Endpoints {
                authorization: Some("http://127.0.0.1:9000/auth"),
                token: Some("http://127.0.0.1:9000/token"),
                introspection: Some("http://127.0.0.1:9000/token/introspection"),
                ..Endpoints::default()
            },
            demo_tokens,
            ..push_advisor_app::oauth_config(RESOURCE, &urls.resource_metadata, ISSUER, client)
        }
    }

    /// The app at a given wall time, with `replies` queued for the provider and
    /// tokens checked by introspection behind the token cache.
    pub fn wired(
        unix: Option<u64>,
        replies: &[&[u8]],
        lazy: bool,
        oauth: OAuthConfig<'static>,
    ) -> Wired {
        wired_with(unix, replies, lazy, oauth, |parts| {
            let introspector = DiscoveredIntrospector::new(
                parts.provider,
                parts.connector,
                parts.oauth,
                parts.buffers,
            );
            CachingValidator::new(
                introspector,
                parts.clock,
                CachePolicy::from_config(parts.oauth),
            )
        })
    }

    /// `wired` with the token validator `validator` builds.
    pub fn wired_with<V: push_advisor_oauth::TokenValidator>(
        unix: Option<u64>,
        replies: &[&[u8]],
        lazy: bool,
        oauth: OAuthConfig<'static>,
        validator: impl FnOnce(ValidatorParts) -> V,
    ) -> Wired<V> {
        let urls = leak(AppUrls::new(RESOURCE).unwrap());
        let oauth = leak(oauth);
        let clock = FixedClock {
            unix,
            monotonic_ms: 1_000,
        };
        let provider: &'static SharedMetadata = leak(SharedMetadata::new());
        provider.set(ProviderMetadata::from_config(oauth).unwrap());
        let connector = leak(ReplayConnector::new(replies));
        let buffers = provider_buffers();
        let validator = leak(validator(ValidatorParts {
            provider,
            connector,
            oauth,
            buffers,
            clock,
        }));
        let config = AppConfig {
            mcp_lazy_auth: lazy,
            ..AppConfig::new(
                *oauth,
                urls,
                McpConfig {
                    name: "push-advisor",
                    title: "Push Advisor",
                    version: "1.0.0",
                    instructions: "Ask whether it is safe to deploy.",
                    max_message_bytes: 4096,
                    allowed_origins: &["*"],
                    public_url: "http://127.0.0.1:8787",
                    loopback: false,
                },
            )
        };
        let app = leak(PushAdvisor::new(
            config,
            clock,
            SeededRng(7),
            provider,
            validator,
            connector,
            buffers,
        ));
        Wired { app, connector }
    }

    /// The requests through `serve` on one connection, and the responses.
    pub fn exchange(wired: &Wired, requests: &[String]) -> Vec<Response> {
        let input: String = requests.concat();
        let mut conn = MemConn::new(input.as_bytes());
        let mut rx = [0u8; 4096];
        let mut tx = [0u8; 2048];
        embassy_futures::block_on(push_advisor_http::serve(
            &mut conn,
            wired.app,
            &push_advisor_http::ServerConfig::default(),
            push_advisor_http::Buffers {
                rx: &mut rx,
                tx: &mut tx,
            },
        ))
        .unwrap();
        parse_responses(&conn.output, &[])
    }
}
