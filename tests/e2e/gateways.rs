//! Forward auth through the real gateways from Debian packages (nginx with
//! `auth_request`, Caddy 2.6 with `forward_auth`), each running the configuration file
//! the repository ships (`gateways/`): the gateway asks the real `push-advisor` binary,
//! which asks the real provider; a trivial upstream echoes what reached it. All on
//! loopback, on ports chosen at run time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use push_advisor_tests::*;

/// GET under /api/ needs api:read, POST under /api/ api:write; elsewhere any valid token.
const RULES: &str = "/api/=api:read,POST /api/=api:write";

#[derive(Debug, Clone, Copy)]
enum Gateway {
    Nginx,
    Caddy,
}

/// An HTTP/1.1 server that answers every request 200 with what it received as JSON:
/// `{"method", "target", "headers": {lowercase name: [values]}}`.
struct Upstream {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl Upstream {
    fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("upstream listens");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        // The thread ends with the test process; nothing else connects to this port.
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || echo(stream, &counter));
            }
        });
        Upstream { port, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn echo(stream: TcpStream, requests: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers
                    .entry(name.trim().to_ascii_lowercase())
                    .or_default()
                    .push(value.trim().to_owned());
            }
        }
        let length: u64 = headers
            .get("content-length")
            .and_then(|v| v[0].parse().ok())
            .unwrap_or(0);
        let _ = std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink());
        requests.fetch_add(1, Ordering::SeqCst);
        let body = json!({"method": method, "target": target, "headers": headers}).to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// Provider, push-advisor with forward auth on, an upstream and a gateway in front.
struct Stack {
    provider: Provider,
    _server: PushAdvisor,
    upstream: Upstream,
    gateway: Process,
    /// The gateway's URL: the resource tokens must name.
    url: String,
    dir: PathBuf,
    agent: ureq::Agent,
}

impl Stack {
    fn start(kind: Gateway) -> Stack {
        let gateway_port = free_port();
        let url = format!("http://127.0.0.1:{gateway_port}");
        let provider = Provider::start(ProviderOptions {
            resource: url.clone(),
            ..ProviderOptions::default()
        });
        let server_port = free_port();
        let server = PushAdvisor::start(
            server_port,
            &provider.issuer,
            &[
                ("PUSH_ADVISOR_PUBLIC_URL", &url),
                ("PUSH_ADVISOR_FORWARD_AUTH_PATH", "/auth"),
                ("PUSH_ADVISOR_FORWARD_AUTH_RULES", RULES),
            ],
        );
        let upstream = Upstream::start();
        let dir = std::env::temp_dir().join(format!(
            "push-advisor-gateway-{}-{gateway_port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let addresses = Addresses {
            gateway: gateway_port,
            server: server_port,
            upstream: upstream.port,
        };
        let gateway = match kind {
            Gateway::Nginx => start_nginx(&dir, &addresses),
            Gateway::Caddy => start_caddy(&dir, &addresses),
        };
        Stack {
            provider,
            _server: server,
            upstream,
            gateway,
            url,
            dir,
            agent: plain_agent(None),
        }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.request("GET", path, headers)
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let url = format!("{}{path}", self.url);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(String::new()).expect("request");
        let reply = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Reply::from(reply)
    }

    /// A token of `client` (the dev clients of tests/provider) for `resource`.
    fn token_of(&self, client: (&str, &str), scope: &str, resource: &str) -> String {
        self.provider
            .client_credentials(client.0, client.1, scope, resource)["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    fn read_token(&self) -> String {
        self.token_of((CLIENT_ID, CLIENT_SECRET), "api:read", &self.url)
    }

    fn challenge(&self, reply: &Reply) -> String {
        let all: Vec<_> = reply
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
            .map(|(_, value)| value.clone())
            .collect();
        assert_eq!(
            all.len(),
            1,
            "exactly one challenge: {reply:?}\ngateway:\n{}",
            self.gateway.output()
        );
        all[0].clone()
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource", self.url)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.gateway.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Addresses {
    gateway: u16,
    server: u16,
    upstream: u16,
}

fn command_path(name: &str) -> PathBuf {
    // Debian puts nginx in /usr/sbin, which a non-root PATH may lack.
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    PathBuf::from(name)
}

/// Runs `gateways/nginx/nginx.conf` with its three addresses replaced, plus the paths a
/// non-root nginx needs (temporary files, logs, pid) inside `dir`.
fn start_nginx(dir: &Path, addresses: &Addresses) -> Process {
    let shipped = std::fs::read_to_string(repo_root().join("gateways/nginx/nginx.conf"))
        .expect("gateways/nginx/nginx.conf");
    let mut config = shipped.clone();
    for (from, to) in [
        ("127.0.0.1:8080", addresses.gateway),
        ("127.0.0.1:8787", addresses.server),
        ("127.0.0.1:3000", addresses.upstream),
    ] {
        assert!(config.contains(from), "nginx.conf no longer names {from}");
        config = config.replace(from, &format!("127.0.0.1:{to}"));
    }
    let dir_text = dir.display();
    let paths = format!(
        "http {{\n    access_log off;\n    client_body_temp_path {dir_text}/body;\n    proxy_temp_path {dir_text}/proxy;\n    fastcgi_temp_path {dir_text}/fastcgi;\n    uwsgi_temp_path {dir_text}/uwsgi;\n    scgi_temp_path {dir_text}/scgi;\n"
    );
    config = config.replacen("http {\n", &paths, 1);
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(command_path("nginx"));
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .args(["-e", "stderr", "-g"])
        // One process, so stopping the test's child stops nginx.
        .arg(format!(
            "daemon off; master_process off; pid {dir_text}/nginx.pid;"
        ));
    Process::spawn_listening(command, addresses.gateway, Duration::from_secs(15))
}

/// Runs `gateways/caddy/Caddyfile` as shipped, its addresses from the environment.
fn start_caddy(dir: &Path, addresses: &Addresses) -> Process {
    let mut command = Command::new(command_path("caddy"));
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(repo_root().join("gateways/caddy/Caddyfile"))
        .env("GATEWAY", format!("127.0.0.1:{}", addresses.gateway))
        .env("PUSH_ADVISOR", format!("127.0.0.1:{}", addresses.server))
        .env("UPSTREAM", format!("127.0.0.1:{}", addresses.upstream))
        // Caddy keeps its state under these; the test's own directory, not the user's.
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"));
    let (process, _) = Process::spawn(
        command,
        "serving initial configuration",
        Duration::from_secs(15),
    );
    process
}

fn without_token_401_with_the_exact_challenge(kind: Gateway) {
    let stack = Stack::start(kind);
    let reply = stack.get("/api/things", &[]);
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(
        stack.challenge(&reply),
        format!(
            r#"Bearer realm="Push Advisor API", resource_metadata="{}", scope="api:read""#,
            stack.metadata_url()
        )
    );
    assert_eq!(stack.upstream.requests(), 0, "the upstream was not asked");

    // The challenge's pointer works through the gateway and names the provider.
    let prm = stack.get("/.well-known/oauth-protected-resource", &[]);
    assert_eq!(prm.status, 200, "{prm:?}");
    let prm = prm.json();
    assert_eq!(prm["resource"], stack.url);
    assert_eq!(prm["authorization_servers"], json!([stack.provider.issuer]));
}

fn read_token_reaches_the_upstream_with_the_subject(kind: Gateway) {
    let stack = Stack::start(kind);
    let token = stack.read_token();
    let bearer = format!("Bearer {token}");
    // Twice: the second answer comes from push-advisor's cache.
    for _ in 0..2 {
        let reply = stack.get(
            "/api/things?page=2",
            &[("Authorization", &bearer), ("X-Auth-Subject", "forged")],
        );
        assert_eq!(reply.status, 200, "{reply:?}\n{}", stack.gateway.output());
        let seen = reply.json();
        assert_eq!(seen["target"], "/api/things?page=2");
        assert_eq!(
            seen["headers"]["x-auth-subject"],
            json!([CLIENT_ID]),
            "the subject push-advisor found, never the client's own"
        );
        assert_eq!(seen["headers"]["x-auth-scopes"], json!(["api:read"]));
    }
    assert_eq!(stack.upstream.requests(), 2);

    // A CORS preflight passes without a token, and push-advisor then names nobody: the
    // client's own identity headers must not reach the upstream either (empty is fine).
    let preflight = stack.request(
        "OPTIONS",
        "/api/things",
        &[
            ("Origin", "http://localhost:5173"),
            ("Access-Control-Request-Method", "GET"),
            ("X-Auth-Subject", "forged"),
            ("X-Auth-Scopes", "api:write"),
        ],
    );
    assert_eq!(preflight.status, 200, "{preflight:?}");
    let seen = preflight.json();
    assert_eq!(seen["method"], "OPTIONS");
    for name in ["x-auth-subject", "x-auth-scopes"] {
        let values = seen["headers"].get(name);
        assert!(
            values.is_none_or(|v| *v == json!([""])),
            "{name} reached the upstream: {seen}"
        );
    }
}

fn token_for_another_audience_401(kind: Gateway) {
    let stack = Stack::start(kind);
    let foreign = stack.token_of(
        (CLIENT_ID, CLIENT_SECRET),
        "api:read",
        "https://other-api.example",
    );
    let reply = stack.get(
        "/api/things",
        &[("Authorization", &format!("Bearer {foreign}"))],
    );
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(
        stack.challenge(&reply),
        format!(
            r#"Bearer realm="Push Advisor API", error="invalid_token", resource_metadata="{}", scope="api:read""#,
            stack.metadata_url()
        )
    );
    assert_eq!(stack.upstream.requests(), 0);
}

fn write_only_token_on_a_read_path_403(kind: Gateway) {
    let stack = Stack::start(kind);
    let writer = stack.token_of(
        ("writer-only", "dev-secret-writer-only"),
        "api:write",
        &stack.url,
    );
    let bearer = format!("Bearer {writer}");
    let reply = stack.get("/api/things", &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(
        stack.challenge(&reply),
        format!(
            r#"Bearer realm="Push Advisor API", error="insufficient_scope", resource_metadata="{}", scope="api:write api:read""#,
            stack.metadata_url()
        )
    );
    assert_eq!(stack.upstream.requests(), 0);
    // The same token may write: the rule for POST asks api:write.
    let reply = stack.request("POST", "/api/things", &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["method"], "POST");
    assert_eq!(stack.upstream.requests(), 1);
}

fn provider_stopped_503(kind: Gateway) {
    let mut stack = Stack::start(kind);
    // Minted but never shown to push-advisor, so no cached answer can decide it.
    let token = stack.read_token();
    stack.provider.stop();
    let reply = stack.get(
        "/api/things",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(reply.status, 503, "{reply:?}\n{}", stack.gateway.output());
    assert!(reply.header("retry-after").is_some(), "{reply:?}");
    assert!(reply.header("www-authenticate").is_none(), "{reply:?}");
    assert_eq!(reply.json()["error"], "Authorization server unavailable");
    assert_eq!(stack.upstream.requests(), 0);
}

#[test]
fn nginx_without_token_401_with_the_exact_challenge() {
    without_token_401_with_the_exact_challenge(Gateway::Nginx);
}

#[test]
fn nginx_read_token_reaches_the_upstream_with_the_subject() {
    read_token_reaches_the_upstream_with_the_subject(Gateway::Nginx);
}

#[test]
fn nginx_token_for_another_audience_401() {
    token_for_another_audience_401(Gateway::Nginx);
}

#[test]
fn nginx_write_only_token_on_a_read_path_403() {
    write_only_token_on_a_read_path_403(Gateway::Nginx);
}

#[test]
fn nginx_provider_stopped_503() {
    provider_stopped_503(Gateway::Nginx);
}

#[test]
fn caddy_without_token_401_with_the_exact_challenge() {
    without_token_401_with_the_exact_challenge(Gateway::Caddy);
}

#[test]
fn caddy_read_token_reaches_the_upstream_with_the_subject() {
    read_token_reaches_the_upstream_with_the_subject(Gateway::Caddy);
}

#[test]
fn caddy_token_for_another_audience_401() {
    token_for_another_audience_401(Gateway::Caddy);
}

#[test]
fn caddy_write_only_token_on_a_read_path_403() {
    write_only_token_on_a_read_path_403(Gateway::Caddy);
}

#[test]
fn caddy_provider_stopped_503() {
    provider_stopped_503(Gateway::Caddy);
}
