//! The accept loop over real loopback sockets, with a small test service: keep-alive,
//! idle and head timeouts, the connection cap, and graceful shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use embedded_io_async::Write;
use push_advisor_http::response::JSON;
use push_advisor_http::response::WriteError;
use push_advisor_http::server::Service;
use push_advisor_http::{Body, MethodSet, Request, Responder, Sent, Status};
use push_advisor_tokio::{ServeStats, ServerOptions, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

/// Test fixture: `/hello` answers at once, `/slow` after `slow`.
struct Greeter {
    slow: Duration,
}

impl Service for Greeter {
    type Route = ();

    fn route(&self, path: &str) -> Option<((), MethodSet)> {
        matches!(path, "/hello" | "/slow").then_some(((), MethodSet::GET))
    }

    async fn call<W: Write>(
        &self,
        _: (),
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        if request.path == "/slow" {
            sleep(self.slow).await;
        }
        let body = format!(r#"{{"hello":"{}"}}"#, request.path.trim_start_matches('/'));
        response
            .send(Status::OK, JSON, &[], Body::Bytes(body.as_bytes()))
            .await
    }
}

const BOUND: Duration = Duration::from_secs(3);

struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<ServeStats>>,
}

impl RunningServer {
    async fn start(options: ServerOptions, slow: Duration) -> RunningServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        // tokio::spawn on a multi-threaded runtime: `run` must be Send.
        let task = tokio::spawn(run(
            listener,
            Arc::new(Greeter { slow }),
            options,
            async move {
                let _ = stopped.await;
            },
        ));
        RunningServer {
            addr,
            stop: Some(stop),
            task,
        }
    }

    fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    async fn finish(mut self) -> ServeStats {
        self.begin_shutdown();
        timeout(BOUND, self.task).await.unwrap().unwrap().unwrap()
    }
}

fn options() -> ServerOptions {
    ServerOptions {
        workers: 2,
        ..ServerOptions::default()
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

async fn read_response(stream: &mut TcpStream) -> Response {
    let mut received = Vec::new();
    let mut chunk = [0; 1024];
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = timeout(BOUND, stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed before a full response head");
        received.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(received[..head_end].to_vec()).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    while received.len() < head_end + length {
        let n = timeout(BOUND, stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed before the full body");
        received.extend_from_slice(&chunk[..n]);
    }
    let status = head[9..12].parse().unwrap();
    let body = String::from_utf8(received[head_end..].to_vec()).unwrap();
    Response { status, head, body }
}

async fn get(stream: &mut TcpStream, path: &str) -> Response {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(stream).await
}

/// Waits for the server to close the connection; true on a clean end-of-stream.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0; 1];
    matches!(timeout(BOUND, stream.read(&mut byte)).await, Ok(Ok(0)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = RunningServer::start(options(), Duration::ZERO).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for path in ["/hello", "/slow", "/hello"] {
        let response = get(&mut stream, path).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.body, format!(r#"{{"hello":"{}"}}"#, &path[1..]));
        assert!(!response.head.contains("Connection: close"));
    }
    // The core's own answers pass through the adapter too.
    assert_eq!(get(&mut stream, "/missing").await.status, 404);
    drop(stream);
    let stats = server.finish().await;
    assert_eq!(stats.accepted, 1);
    assert_eq!(stats.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(200);
    let server = RunningServer::start(
        ServerOptions {
            idle_timeout: idle,
            ..options()
        },
        Duration::ZERO,
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(get(&mut stream, "/hello").await.status, 200);
    let waiting = Instant::now();
    assert!(closed_by_server(&mut stream).await);
    let waited = waiting.elapsed();
    assert!(
        waited >= idle - Duration::from_millis(20) && waited < Duration::from_secs(2),
        "closed after {waited:?}"
    );
    let stats = server.finish().await;
    assert_eq!(stats.idle_timeouts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_request_head_gets_408_and_is_closed() {
    let head_timeout = Duration::from_millis(200);
    let server = RunningServer::start(
        ServerOptions {
            head_timeout,
            ..options()
        },
        Duration::ZERO,
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    sleep(Duration::from_millis(150)).await;
    // Trickling more bytes does not extend the deadline (a per-read one would end at 350 ms).
    stream.write_all(b"st\r\n").await.unwrap();
    let response = read_response(&mut stream).await;
    let waited = started.elapsed();
    assert_eq!(response.status, 408);
    assert!(response.head.contains("Connection: close"));
    assert!(
        waited >= head_timeout - Duration::from_millis(20) && waited < Duration::from_millis(320),
        "answered after {waited:?}"
    );
    assert!(closed_by_server(&mut stream).await);
    let stats = server.finish().await;
    assert_eq!(stats.head_timeouts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_get_503_while_all_are_busy() {
    let server = RunningServer::start(
        ServerOptions {
            max_connections: 2,
            ..options()
        },
        Duration::from_millis(600),
    )
    .await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    for busy in [&mut first, &mut second] {
        busy.write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
    }
    sleep(Duration::from_millis(100)).await;

    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let refused = get(&mut third, "/hello").await;
    assert_eq!(refused.status, 503);
    assert!(refused.head.contains("Retry-After: 1\r\n"));
    assert!(refused.head.contains("Connection: close\r\n"));
    assert!(refused.head.contains("Content-Type: application/json\r\n"));
    assert!(refused.head.contains("X-Content-Type-Options: nosniff\r\n"));
    assert!(refused.body.starts_with(r#"{"error":"#));
    assert!(closed_by_server(&mut third).await);

    // The busy ones finish their requests.
    assert_eq!(read_response(&mut first).await.status, 200);
    assert_eq!(read_response(&mut second).await.status, 200);

    let stats = server.finish().await;
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.refused_over_capacity, 1);
}

/// A connection from `source` (a loopback address of its own).
async fn connect_from(source: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(server).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_all_slots_are_taken_the_longest_waiting_idle_connection_makes_room() {
    let server = RunningServer::start(
        ServerOptions {
            max_connections: 4,
            ..options()
        },
        Duration::ZERO,
    )
    .await;
    // One served and now idle in keep-alive, three that never send a full head,
    // each from another address.
    let mut idle = connect_from([127, 0, 0, 11], server.addr).await;
    assert_eq!(get(&mut idle, "/hello").await.status, 200);
    let mut silent = Vec::new();
    for last in 12..15 {
        let mut stream = connect_from([127, 0, 0, last], server.addr).await;
        stream.write_all(b"GET /hel").await.unwrap();
        silent.push(stream);
        sleep(Duration::from_millis(20)).await;
    }
    // Every slot is taken; each fresh client is served, closing the longest waiting.
    let mut served = Vec::new();
    for fresh_address in 20..24 {
        let mut fresh = connect_from([127, 0, 0, fresh_address], server.addr).await;
        let answer = timeout(BOUND, get(&mut fresh, "/hello")).await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        served.push(fresh); // kept open: it takes its slot
    }
    assert!(closed_by_server(&mut idle).await, "the idle one went first");
    for stream in &mut silent {
        let mut byte = [0; 1];
        let read = timeout(BOUND, stream.read(&mut byte)).await;
        assert!(matches!(read, Ok(Ok(0))), "{read:?}");
    }
    let stats = server.finish().await;
    assert_eq!(stats.evicted, 4);
    assert_eq!(stats.refused_over_capacity, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_its_share_and_no_more() {
    let server = RunningServer::start(
        ServerOptions {
            max_connections: 8,
            max_connections_per_address: 3,
            ..options()
        },
        Duration::from_millis(600),
    )
    .await;
    // 3 busy connections from one address: a 4th from it is refused...
    let mut busy = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from([127, 0, 0, 31], server.addr).await;
        stream
            .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        busy.push(stream);
    }
    sleep(Duration::from_millis(100)).await;
    let mut fourth = connect_from([127, 0, 0, 31], server.addr).await;
    assert_eq!(get(&mut fourth, "/hello").await.status, 503);
    // ...while another address is served at once.
    let mut other = connect_from([127, 0, 0, 32], server.addr).await;
    assert_eq!(get(&mut other, "/hello").await.status, 200);
    for stream in &mut busy {
        assert_eq!(read_response(stream).await.status, 200);
    }
    // Now idle, they make room for the same address's new connections.
    let mut fifth = connect_from([127, 0, 0, 31], server.addr).await;
    assert_eq!(get(&mut fifth, "/hello").await.status, 200);
    let stats = server.finish().await;
    assert_eq!(stats.refused_over_capacity, 1);
    assert_eq!(stats.evicted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests_and_refuses_new_connections() {
    let mut server = RunningServer::start(options(), Duration::from_millis(400)).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(get(&mut idle, "/hello").await.status, 200);

    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    sleep(Duration::from_millis(100)).await;
    let shutdown_at = Instant::now();
    server.begin_shutdown();
    sleep(Duration::from_millis(50)).await;

    let refused = TcpStream::connect(server.addr).await;
    assert_eq!(
        refused.err().map(|error| error.kind()),
        Some(io::ErrorKind::ConnectionRefused)
    );
    // The idle keep-alive connection is closed at once, not after the idle timeout.
    assert!(closed_by_server(&mut idle).await);
    assert!(shutdown_at.elapsed() < Duration::from_millis(300));

    let response = read_response(&mut busy).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, r#"{"hello":"slow"}"#);
    assert!(closed_by_server(&mut busy).await);

    let stats = server.finish().await;
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.aborted_at_shutdown, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_aborts_requests_that_outlast_the_grace_period() {
    let grace = Duration::from_millis(200);
    let mut server = RunningServer::start(
        ServerOptions {
            shutdown_grace: grace,
            ..options()
        },
        Duration::from_secs(5),
    )
    .await;
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    sleep(Duration::from_millis(50)).await;
    let shutdown_at = Instant::now();
    server.begin_shutdown();
    let stats = server.finish().await;
    let took = shutdown_at.elapsed();
    assert!(
        took >= grace - Duration::from_millis(20) && took < Duration::from_secs(1),
        "shutdown took {took:?}"
    );
    assert_eq!(stats.aborted_at_shutdown, 1);
    // The client gets no answer: the connection just ends.
    let mut rest = Vec::new();
    let read = timeout(BOUND, busy.read_to_end(&mut rest)).await.unwrap();
    assert!(read.is_err() || rest.is_empty(), "got {rest:?}");
}
