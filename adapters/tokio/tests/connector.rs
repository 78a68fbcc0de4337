//! The outbound connector against loopback tokio servers: plain TCP, pooled reuse,
//! read timeouts, and TLS with a CA made here by rcgen (and a wrong CA).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use embedded_io_async::{Read, Write};
use push_advisor_http::net::{Connect, Endpoint, Reusable};
use push_advisor_tokio::{ConnectErrorKind, Connection, Connector, ConnectorOptions, TlsRoots};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::PrivateKeyDer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const BOUND: Duration = Duration::from_secs(3);

/// Answers every request head on a connection with `RESPONSE`, keeping it open.
async fn answer_requests<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut pending = Vec::new();
    let mut chunk = [0; 1024];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            if stream.write_all(RESPONSE).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A loopback HTTP server (optionally TLS) that counts accepted connections.
async fn start_server(tls: Option<TlsAcceptor>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepts);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => answer_requests(tcp).await,
                    Some(acceptor) => {
                        // A failed handshake (the wrong-CA test) just ends the connection.
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            answer_requests(stream).await;
                        }
                    }
                }
            });
        }
    });
    (addr, accepts)
}

async fn exchange(connection: &mut Connection<'_>) {
    connection.write_all(REQUEST).await.unwrap();
    connection.flush().await.unwrap();
    let mut received = Vec::new();
    let mut chunk = [0; 256];
    while received.len() < RESPONSE.len() {
        let n = timeout(BOUND, connection.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "server closed early");
        received.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(received, RESPONSE);
}

fn assert_send<T: Send>(_: &T) {}

fn options(roots: TlsRoots) -> ConnectorOptions {
    ConnectorOptions {
        connect_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_millis(500),
        roots,
        ..ConnectorOptions::default()
    }
}

#[tokio::test]
async fn plain_tcp_connection_exchanges_a_request() {
    let (addr, accepts) = start_server(None).await;
    let connector = Connector::new(options(TlsRoots::WebPki)).unwrap();
    let url = format!("http://127.0.0.1:{}/token", addr.port());
    let endpoint = Endpoint::parse(&url).unwrap();
    let connecting = connector.connect(&endpoint);
    assert_send(&connecting); // usable from tokio::spawn on a multi-threaded runtime
    let mut connection = connecting.await.unwrap();
    exchange(&mut connection).await;
    drop(connection);
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
    assert_eq!(
        connector.idle_connections(),
        0,
        "unmarked connections close"
    );
}

#[tokio::test]
async fn connections_marked_reusable_are_pooled_and_reused() {
    let (addr, accepts) = start_server(None).await;
    let connector = Connector::new(options(TlsRoots::WebPki)).unwrap();
    let url = format!("http://127.0.0.1:{}/", addr.port());
    let endpoint = Endpoint::parse(&url).unwrap();

    for _ in 0..3 {
        let mut connection = connector.connect(&endpoint).await.unwrap();
        exchange(&mut connection).await;
        connection.mark_reusable();
    }
    assert_eq!(
        accepts.load(Ordering::SeqCst),
        1,
        "one TCP connection served all three"
    );
    assert_eq!(connector.idle_connections(), 1);

    // Taken from the pool and not marked: closed on drop, so the next one is new.
    let mut connection = connector.connect(&endpoint).await.unwrap();
    exchange(&mut connection).await;
    drop(connection);
    assert_eq!(connector.idle_connections(), 0);
    let mut connection = connector.connect(&endpoint).await.unwrap();
    exchange(&mut connection).await;
    assert_eq!(accepts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_read_timeout_fails_the_read_and_keeps_the_connection_out_of_the_pool() {
    // This server accepts and then never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(BOUND).await;
        drop(stream);
    });
    let connector = Connector::new(ConnectorOptions {
        read_timeout: Duration::from_millis(150),
        ..options(TlsRoots::WebPki)
    })
    .unwrap();
    let url = format!("http://127.0.0.1:{}/", addr.port());
    let mut connection = connector
        .connect(&Endpoint::parse(&url).unwrap())
        .await
        .unwrap();
    connection.write_all(REQUEST).await.unwrap();
    let started = Instant::now();
    let error = connection.read(&mut [0; 64]).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(1));
    connection.mark_reusable();
    drop(connection);
    assert_eq!(connector.idle_connections(), 0);
    holder.abort();
}

#[tokio::test]
async fn a_dripping_peer_is_cut_at_the_exchange_deadline_not_read_by_read() {
    // This server sends one byte of an answer every 50 ms, forever.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let dripper = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: "
            .iter()
            .chain([b'a'; 200].iter())
        {
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let connector = Connector::new(ConnectorOptions {
        exchange_timeout: Duration::from_millis(400),
        ..options(TlsRoots::WebPki)
    })
    .unwrap();
    let url = format!("http://127.0.0.1:{}/", addr.port());
    let started = Instant::now();
    let mut connection = connector
        .connect(&Endpoint::parse(&url).unwrap())
        .await
        .unwrap();
    connection.write_all(REQUEST).await.unwrap();
    let error = loop {
        match connection.read(&mut [0; 64]).await {
            Ok(n) => assert!(n > 0, "the dripper never closes"),
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    // Each read is far within the 500 ms read bound; the exchange's deadline ends it.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    dripper.abort();
}

struct TestPki {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A CA and a server certificate for localhost/127.0.0.1 it signed.
fn make_pki(ca_name: &str) -> TestPki {
    let ca = make_ca(ca_name);
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&server_key, &*ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )
        .unwrap();
    TestPki {
        ca_pem: ca.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    }
}

#[tokio::test]
async fn tls_connection_verifies_against_a_ca_file() {
    let pki = make_pki("Push Advisor test CA");
    let ca_file =
        std::env::temp_dir().join(format!("push-advisor-test-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let connector = Connector::new(options(TlsRoots::PemFile(ca_file.clone())));
    std::fs::remove_file(&ca_file).unwrap();
    let connector = connector.unwrap();

    let (addr, accepts) = start_server(Some(pki.acceptor)).await;
    let url = format!("https://127.0.0.1:{}/", addr.port());
    let endpoint = Endpoint::parse(&url).unwrap();
    for _ in 0..2 {
        let mut connection = connector.connect(&endpoint).await.unwrap();
        exchange(&mut connection).await;
        connection.mark_reusable();
    }
    assert_eq!(
        accepts.load(Ordering::SeqCst),
        1,
        "the TLS connection was reused"
    );
}

#[tokio::test]
async fn tls_connection_with_the_wrong_ca_fails_with_a_clear_error() {
    let server_pki = make_pki("Server's CA");
    let other_pki = make_pki("Some other CA");
    let connector = Connector::new(options(TlsRoots::Pem(other_pki.ca_pem.into_bytes()))).unwrap();
    let (addr, _) = start_server(Some(server_pki.acceptor)).await;
    let url = format!("https://127.0.0.1:{}/", addr.port());
    let error = connector
        .connect(&Endpoint::parse(&url).unwrap())
        .await
        .unwrap_err();
    assert!(error.is_certificate_error(), "{error:?}");
    assert!(matches!(
        error.kind(),
        ConnectErrorKind::CertificateVerification(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    ));
    let message = error.to_string();
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(
        message.contains("certificate verification failed"),
        "{message}"
    );
    assert_eq!(connector.idle_connections(), 0);
}

#[test]
fn a_ca_pem_without_certificates_is_refused() {
    let error = Connector::new(options(TlsRoots::Pem(b"not a certificate".to_vec()))).unwrap_err();
    assert_eq!(error.to_string(), "the CA PEM contains no certificate");
}
