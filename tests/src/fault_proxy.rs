//! A FAKE: a fault-injecting HTTP proxy for the provider's introspection endpoint. The
//! real provider (oidc-provider) cannot hang, drip, or send a 10 MB answer on demand,
//! so this sits between `push-advisor` and it: in `Fault::Pass` it forwards each request
//! to the real provider and relays the real answer; any other fault replaces the answer.
//! It counts the requests it received, i.e. the provider calls `push-advisor` made.
//! Started with `start_tls_at` it is an `https` provider itself (TLS 1.3 with a test
//! certificate) and forwards plain HTTP with `X-Forwarded-Proto: https` (start the
//! provider with `trust_proxy`, so its endpoint URLs say `https`).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does with the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward to the real provider and relay its answer.
    Pass,
    /// As `Pass`, 50 ms later: a slowish provider.
    SlowPass,
    /// Read the request, never answer (until the connection is closed by the peer).
    Hang,
    /// A valid active answer, one byte every 200 ms.
    Drip,
    /// Half an answer, then close.
    CloseMidAnswer,
    /// `500 Internal Server Error`.
    ServerError,
    /// A 200 whose body is not JSON.
    InvalidJson,
    /// `{"active":"true"}`: a string where RFC 7662 requires a boolean.
    ActiveAsString,
    /// A 200 with a 10 MB body.
    TenMegabytes,
    /// `103 Early Hints` interim answers, one every 10 ms, and never a final one.
    InterimFlood,
}

/// Every fault a suite injects, with the cause the server under test logs for it
/// (`cause=...`).
pub const FAULTS: [(Fault, &str); 8] = [
    (Fault::Hang, "timeout"),
    (Fault::Drip, "timeout"),
    (Fault::CloseMidAnswer, "closed"),
    (Fault::ServerError, "status"),
    (Fault::InvalidJson, "malformed"),
    (Fault::ActiveAsString, "malformed"),
    (Fault::TenMegabytes, "too_large"),
    (Fault::InterimFlood, "malformed"),
];

/// Longest a faulty answer is kept up (hang, drip, flood) before the proxy gives up.
const FAULT_LIMIT: Duration = Duration::from_secs(20);

/// The running fake proxy; it stops accepting when dropped.
pub struct FaultProxy {
    pub port: u16,
    address: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (`host:port` of the real provider).
    pub fn start(upstream: &str) -> FaultProxy {
        FaultProxy::start_at(SocketAddr::from(([127, 0, 0, 1], 0)), upstream)
    }

    /// Listens on `address` (port 0: any free one; another address only inside a test
    /// namespace) and forwards to `upstream`.
    pub fn start_at(address: SocketAddr, upstream: &str) -> FaultProxy {
        FaultProxy::start_with(address, upstream, None)
    }

    /// As `start_at`, but clients speak TLS to it, with the certificate and key of `tls`.
    pub fn start_tls_at(address: SocketAddr, upstream: &str, tls: &crate::TlsFiles) -> FaultProxy {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certificates = CertificateDer::pem_slice_iter(&std::fs::read(&tls.cert_pem).unwrap())
            .collect::<Result<Vec<_>, _>>()
            .expect("certificate PEM");
        let key =
            PrivateKeyDer::from_pem_slice(&std::fs::read(&tls.key_pem).unwrap()).expect("key PEM");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .expect("certificate and key");
        FaultProxy::start_with(address, upstream, Some(Arc::new(config)))
    }

    fn start_with(
        address: SocketAddr,
        upstream: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> FaultProxy {
        let listener = TcpListener::bind(address).expect("bind the fault proxy");
        let address = listener.local_addr().expect("proxy address");
        let port = address.port();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (shared_fault, counted, stopping) = (fault.clone(), requests.clone(), stop.clone());
        let upstream = upstream.to_owned();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (fault, counted, upstream) =
                    (shared_fault.clone(), counted.clone(), upstream.clone());
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => serve(stream, &upstream, &fault, &counted),
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        let link = rustls::StreamOwned::new(session, stream);
                        serve(link, &upstream, &fault, &counted);
                    }
                });
            }
        });
        FaultProxy {
            port,
            address,
            fault,
            requests,
            stop,
        }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// Requests received so far (each one a provider call by `push-advisor`).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Sets `fault`, makes one protected request with `ask`, and checks its answer:
    /// 503 with `Retry-After` within `bound`, after exactly one provider call (so never
    /// 200, and never 401 for the good token `ask` sends). Returns how long it took.
    pub fn expect_timely_503(
        &self,
        fault: Fault,
        bound: Duration,
        ask: impl FnOnce() -> crate::Reply,
    ) -> Duration {
        self.set(fault);
        let calls = self.requests();
        let started = Instant::now();
        let reply = ask();
        let took = started.elapsed();
        assert_eq!(reply.status, 503, "{fault:?}: {reply:?}");
        assert!(
            reply.header("retry-after").is_some(),
            "{fault:?}: {reply:?}"
        );
        assert!(
            took <= bound,
            "{fault:?} answered after {took:?}, bound {bound:?}"
        );
        assert_eq!(self.requests(), calls + 1, "{fault:?}: one provider call");
        took
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.address);
    }
}

/// The proxy's side of a client's connection: plain TCP, or TLS over it.
trait ClientLink: Read + Write {
    fn socket(&self) -> &TcpStream;

    /// The request as the provider gets it.
    fn forwarded(&self, request: Vec<u8>) -> Vec<u8> {
        request
    }
}

impl ClientLink for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl ClientLink for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn socket(&self) -> &TcpStream {
        &self.sock
    }

    /// Says, after the request line, that the client spoke TLS.
    fn forwarded(&self, mut request: Vec<u8>) -> Vec<u8> {
        let line_end = request
            .windows(2)
            .position(|pair| pair == b"\r\n")
            .map_or(0, |at| at + 2);
        request.splice(line_end..line_end, *b"X-Forwarded-Proto: https\r\n");
        request
    }
}

/// Serves the requests of one connection, as keep-alive allows.
fn serve(mut client: impl ClientLink, upstream: &str, fault: &Mutex<Fault>, counted: &AtomicUsize) {
    let _ = client.socket().set_read_timeout(Some(FAULT_LIMIT));
    while let Some(request) = read_message(&mut client) {
        counted.fetch_add(1, Ordering::SeqCst);
        let current = *fault.lock().unwrap();
        let kept_alive = match current {
            Fault::Pass | Fault::SlowPass => {
                match forward(&client.forwarded(request), upstream, current) {
                    Some(answer) => client.write_all(&answer).is_ok(),
                    None => false,
                }
            }
            other => {
                inject(&mut client, other);
                false
            }
        };
        if !kept_alive {
            let _ = client.flush();
            let _ = client.socket().shutdown(Shutdown::Both);
            return;
        }
    }
}

/// One HTTP/1.1 message (head and `Content-Length` body), or `None` at end of stream.
fn read_message(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&message[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if message.len() >= end + 4 + length {
                message.truncate(end + 4 + length);
                return Some(message);
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => message.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends `request` to the real provider on a new connection and returns its answer.
fn forward(request: &[u8], upstream: &str, fault: Fault) -> Option<Vec<u8>> {
    if fault == Fault::SlowPass {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut provider = TcpStream::connect(upstream).ok()?;
    provider.set_read_timeout(Some(FAULT_LIMIT)).ok()?;
    provider.write_all(request).ok()?;
    read_message(&mut provider)
}

const ACTIVE_BODY: &str = r#"{"active":true,"scope":"api:read","sub":"mallory"}"#;

fn answer(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers with `fault` instead of the provider.
fn inject(client: &mut impl ClientLink, fault: Fault) {
    let started = Instant::now();
    let within_limit = || started.elapsed() < FAULT_LIMIT;
    match fault {
        Fault::Pass | Fault::SlowPass => {}
        Fault::Hang => {
            // Wait until the peer gives up (end of stream) or the limit passes.
            let _ = client
                .socket()
                .set_read_timeout(Some(Duration::from_millis(100)));
            let mut sink = [0u8; 64];
            while within_limit() {
                match client.read(&mut sink) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => return,
                }
            }
        }
        Fault::Drip => {
            for byte in answer(ACTIVE_BODY) {
                if !within_limit() || client.write_all(&[byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Fault::CloseMidAnswer => {
            let whole = answer(ACTIVE_BODY);
            let _ = client.write_all(&whole[..whole.len() - 10]);
        }
        Fault::ServerError => {
            let _ = client.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            );
        }
        Fault::InvalidJson => {
            let _ = client.write_all(&answer(r#"{"active":tru"#));
        }
        Fault::ActiveAsString => {
            let _ = client.write_all(&answer(r#"{"active":"true"}"#));
        }
        Fault::TenMegabytes => {
            let size = 10 * 1024 * 1024;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
            );
            if client.write_all(head.as_bytes()).is_err() {
                return;
            }
            let filler = [b' '; 64 * 1024];
            for _ in 0..size / filler.len() {
                if !within_limit() || client.write_all(&filler).is_err() {
                    return;
                }
            }
        }
        Fault::InterimFlood => {
            while within_limit() {
                if client
                    .write_all(b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n")
                    .is_err()
                {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}
