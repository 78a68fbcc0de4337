//! JWT access tokens (RFC 9068) checked locally by the real `push-advisor` binary:
//! tokens from the real development provider, then a claim and algorithm matrix with
//! keys this test makes, served (JWKS and discovery) by a small loopback HTTP server of
//! the test's own that counts JWKS fetches and can go down.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_advisor_tests::*;
use ring::rand::SystemRandom;
use ring::signature::{self as sig, KeyPair};
use serde_json::{Value, json};

const JWT_CLIENT: &str = "push-advisor-jwt";
const JWT_CLIENT_SECRET: &str = "dev-secret-push-advisor-jwt";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------------------
// The real provider.

#[test]
fn real_provider_jwts_pass_without_asking_the_provider_per_request() {
    for validation in ["jwt", "auto"] {
        let port = free_port();
        let resource = format!("http://127.0.0.1:{port}");
        let mut provider = Provider::start(ProviderOptions {
            resource: resource.clone(),
            ..ProviderOptions::default()
        });
        let server = PushAdvisor::start(
            port,
            &provider.issuer,
            &[("PUSH_ADVISOR_VALIDATION", validation)],
        );
        let jwt = |scope: &str| {
            provider.client_credentials(JWT_CLIENT, JWT_CLIENT_SECRET, scope, &resource)
                ["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned()
        };
        let first = jwt("api:read");
        let second = jwt("api:read");
        let write_only = jwt("api:write");
        assert_eq!(
            first.split('.').count(),
            3,
            "the provider issues JWTs to {JWT_CLIENT}"
        );
        let reply = server.get_with_token("/deploy-history", &first);
        assert_eq!(
            reply.status,
            200,
            "{validation}: {}\n{}",
            reply.body,
            server.process.output()
        );
        if validation == "auto" {
            // Opaque tokens still go to introspection.
            let opaque = provider.token("api:read", &resource);
            assert_eq!(
                server.get_with_token("/deploy-history", &opaque).status,
                200
            );
        }
        // With the provider gone, tokens never seen before still pass: the key set is
        // held, nothing is asked per request.
        provider.stop();
        let reply = server.get_with_token("/deploy-history", &second);
        assert_eq!(reply.status, 200, "{validation}: {}", reply.body);
        let reply = server.get_with_token("/deploy-history", &write_only);
        assert_eq!(reply.status, 403, "{validation}: {}", reply.body);
    }
}

// ---------------------------------------------------------------------------------------
// Keys the test makes, and the server that publishes them.

enum Key {
    Rsa(sig::RsaKeyPair),
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
}

/// A signing key with its `kid` and JWK.
struct Signer {
    kid: String,
    key: Key,
}

impl Signer {
    fn rsa(kid: &str) -> Signer {
        // ring cannot make RSA keys: openssl does (DER, PKCS#1).
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let path: PathBuf = std::env::temp_dir().join(format!(
            "push-advisor-jwt-{}-{}.der",
            std::process::id(),
            MADE.fetch_add(1, Ordering::SeqCst)
        ));
        let status = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-outform",
                "DER",
                "-out",
            ])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success());
        let der = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        Signer {
            kid: kid.into(),
            key: Key::Rsa(sig::RsaKeyPair::from_der(&der).unwrap()),
        }
    }

    fn ec(kid: &str) -> Signer {
        let rng = SystemRandom::new();
        let alg = &sig::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        Signer {
            kid: kid.into(),
            key: Key::Ec(sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap()),
        }
    }

    fn ed(kid: &str) -> Signer {
        let pkcs8 = sig::Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Signer {
            kid: kid.into(),
            key: Key::Ed(sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()),
        }
    }

    fn alg(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
            Key::Ed(_) => "EdDSA",
        }
    }

    fn jwk(&self) -> Value {
        match &self.key {
            Key::Rsa(key) => {
                let public: ring::rsa::PublicKeyComponents<Vec<u8>> = key.public().into();
                json!({"kty":"RSA","kid":self.kid,"use":"sig","alg":"RS256","n":b64(&public.n),"e":b64(&public.e)})
            }
            Key::Ec(key) => {
                let point = key.public_key().as_ref();
                json!({"kty":"EC","crv":"P-256","kid":self.kid,"use":"sig","x":b64(&point[1..33]),"y":b64(&point[33..65])})
            }
            Key::Ed(key) => {
                json!({"kty":"OKP","crv":"Ed25519","kid":self.kid,"use":"sig","x":b64(key.public_key().as_ref())})
            }
        }
    }

    fn raw_sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.key {
            Key::Rsa(key) => {
                let mut out = vec![0u8; key.public().modulus_len()];
                key.sign(&sig::RSA_PKCS1_SHA256, &rng, input, &mut out)
                    .unwrap();
                out
            }
            Key::Ec(key) => key.sign(&rng, input).unwrap().as_ref().to_vec(),
            Key::Ed(key) => key.sign(input).as_ref().to_vec(),
        }
    }

    /// A compact JWS of `claims` with `header` (alg, typ and kid filled in unless given).
    fn sign_with(&self, header: Value, claims: &Value) -> String {
        let mut full = json!({"alg": self.alg(), "typ": "at+jwt", "kid": self.kid});
        for (name, value) in header.as_object().unwrap() {
            full[name] = value.clone();
        }
        let input = format!(
            "{}.{}",
            b64(full.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self.raw_sign(input.as_bytes());
        format!("{input}.{}", b64(&signature))
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(json!({}), claims)
    }
}

/// The test's issuer: discovery and a JWKS on loopback, with a fetch count and a switch
/// that makes the JWKS answer 503.
struct KeyServer {
    issuer: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl KeyServer {
    fn start(keys: &[&Signer]) -> KeyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let server = KeyServer {
            issuer: issuer.clone(),
            jwks: Arc::new(Mutex::new(json!({"keys": []}))),
            fetches: Arc::default(),
            down: Arc::default(),
        };
        server.publish(keys);
        let (jwks, fetches, down) = (
            server.jwks.clone(),
            server.fetches.clone(),
            server.down.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request_line.split(' ').nth(1).unwrap_or("");
                let (status, body) = if path == "/jwks" {
                    if down.load(Ordering::SeqCst) {
                        ("503 Service Unavailable", String::new())
                    } else {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        ("200 OK", jwks.lock().unwrap().to_string())
                    }
                } else if path.starts_with("/.well-known/") {
                    let metadata = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")});
                    ("200 OK", metadata.to_string())
                } else {
                    ("404 Not Found", String::new())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nCache-Control: max-age=600\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        server
    }

    fn publish(&self, keys: &[&Signer]) {
        let keys: Vec<Value> = keys.iter().map(|key| key.jwk()).collect();
        *self.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A push-advisor validating JWTs from `keys`' issuer.
fn start_server(keys: &KeyServer, extra: &[(&str, &str)]) -> (PushAdvisor, String) {
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}");
    let mut settings = vec![("PUSH_ADVISOR_VALIDATION", "jwt")];
    settings.extend_from_slice(extra);
    (PushAdvisor::start(port, &keys.issuer, &settings), resource)
}

fn claims(issuer: &str, resource: &str) -> Value {
    let now = now();
    json!({"iss": issuer, "aud": resource, "exp": now + 300, "iat": now - 5, "sub": "alice", "client_id": "matrix", "scope": "api:read"})
}

/// `claims` with members replaced (a null value removes the member).
fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

#[test]
fn claim_and_algorithm_matrix() {
    let (rsa, ec, ed) = (Signer::rsa("rsa-1"), Signer::ec("ec-1"), Signer::ed("ed-1"));
    let keys = KeyServer::start(&[&rsa, &ec, &ed]);
    let (server, resource) = start_server(&keys, &[("PUSH_ADVISOR_JWT_PERMISSIONS", "true")]);
    let good = claims(&keys.issuer, &resource);
    let status = |token: &str| server.get_with_token("/deploy-history", token).status;

    for signer in [&rsa, &ec, &ed] {
        let reply = server.get_with_token("/deploy-history", &signer.sign(&good));
        assert_eq!(
            reply.status,
            200,
            "{}: {}\n{}",
            signer.alg(),
            reply.body,
            server.process.output()
        );
    }
    assert_eq!(keys.fetches(), 1, "one JWKS fetch for all of them");

    // Accepted shapes.
    let accepted = [
        (
            "aud array containing ours",
            with(
                good.clone(),
                json!({"aud": ["https://other.example", resource]}),
            ),
        ),
        (
            "scp array",
            with(good.clone(), json!({"scope": null, "scp": ["api:read"]})),
        ),
        (
            "permissions",
            with(
                good.clone(),
                json!({"scope": null, "permissions": ["api:read"]}),
            ),
        ),
    ];
    for (why, claims) in &accepted {
        assert_eq!(status(&rsa.sign(claims)), 200, "{why}");
    }

    // Refused: 401 invalid_token.
    let payload = |token: &str| token.split('.').nth(1).unwrap().to_owned();
    let good_token = rsa.sign(&good);
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"at+jwt"}"#),
        payload(&good_token)
    );
    let hs_input = format!(
        "{}.{}",
        b64(json!({"alg":"HS256","typ":"at+jwt","kid":"rsa-1"})
            .to_string()
            .as_bytes()),
        payload(&good_token)
    );
    let rsa_public = rsa.jwk().to_string();
    let hmac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, rsa_public.as_bytes());
    let hs256 = format!(
        "{hs_input}.{}",
        b64(ring::hmac::sign(&hmac_key, hs_input.as_bytes()).as_ref())
    );
    let impostor = Signer::rsa("rsa-1").sign(&good);
    let mut parts: Vec<String> = good_token.split('.').map(str::to_owned).collect();
    parts[1] = b64(with(good.clone(), json!({"scope": "api:read api:write"}))
        .to_string()
        .as_bytes());
    let tampered = parts.join(".");
    let now = now();
    let refused = [
        ("alg none", none),
        ("HS256 keyed with the RSA public key", hs256),
        ("wrong key with an existing kid", impostor),
        ("tampered payload", tampered),
        (
            "expired",
            rsa.sign(&with(good.clone(), json!({"exp": now - 1}))),
        ),
        (
            "future nbf",
            rsa.sign(&with(good.clone(), json!({"nbf": now + 600}))),
        ),
        (
            "missing exp",
            rsa.sign(&with(good.clone(), json!({"exp": null}))),
        ),
        (
            "wrong iss",
            rsa.sign(&with(good.clone(), json!({"iss": "https://evil.example"}))),
        ),
        (
            "wrong aud",
            rsa.sign(&with(good.clone(), json!({"aud": "https://other.example"}))),
        ),
        (
            "typ JWT without the switch",
            rsa.sign_with(json!({"typ": "JWT"}), &good),
        ),
    ];
    for (why, token) in &refused {
        let reply = server.get_with_token("/deploy-history", token);
        assert_eq!(reply.status, 401, "{why}: {}", reply.body);
        let challenge = reply.header("WWW-Authenticate").unwrap_or("");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{why}: {challenge}"
        );
    }

    // Scope missing: 403 with the step-up challenge.
    let reply = server.get_with_token(
        "/deploy-history",
        &rsa.sign(&with(good.clone(), json!({"scope": "api:write"}))),
    );
    assert_eq!(reply.status, 403, "{}", reply.body);
    let challenge = reply.header("WWW-Authenticate").unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"scope="api:write api:read""#),
        "{challenge}"
    );

    // Key rotation at the provider: the new kid is fetched once, then accepted.
    let rotated = Signer::ec("ec-2");
    keys.publish(&[&rsa, &ec, &ed, &rotated]);
    let before = keys.fetches();
    assert_eq!(status(&rotated.sign(&good)), 200);
    assert_eq!(keys.fetches(), before + 1, "one refetch for the new kid");

    // 100 tokens naming random kids within 10 s: at most a few fetches.
    let started = Instant::now();
    let before = keys.fetches();
    for index in 0..100 {
        let token = rsa.sign_with(json!({"kid": format!("random-{index}-{}", now)}), &good);
        assert_eq!(status(&token), 401);
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let extra = keys.fetches() - before;
    assert!(extra <= 2, "{extra} JWKS fetches for 100 unknown kids");
}

#[test]
fn jwks_down_is_503_then_recovers_without_restart() {
    let rsa = Signer::rsa("rsa-1");
    let keys = KeyServer::start(&[&rsa]);
    keys.down.store(true, Ordering::SeqCst);
    let (server, resource) = start_server(&keys, &[]);
    let token = rsa.sign(&claims(&keys.issuer, &resource));
    let reply = server.get_with_token("/deploy-history", &token);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(reply.header("Retry-After").is_some());
    // Public routes are unaffected.
    assert_eq!(server.get("/can-i-push-to-prod").status, 200);
    keys.down.store(false, Ordering::SeqCst);
    let reply = server.wait_for("/deploy-history", &token, Duration::from_secs(15), |r| {
        r.status == 200
    });
    assert_eq!(
        reply.status,
        200,
        "{}\n{}",
        reply.body,
        server.process.output()
    );
}
