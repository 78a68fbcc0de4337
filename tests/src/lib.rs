//! End-to-end harness: starts the real development provider (`tests/provider`) and the
//! real `push-advisor` binary on free loopback ports, and talks to them over sockets.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use serde_json::{Value, json};

pub mod fault_proxy;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A port that was free a moment ago on 127.0.0.1, for a server started next.
///
/// Taken below Linux's ephemeral range (32768–60999), so that an outgoing connection's
/// local port cannot take it before the server binds it (seen: nginx failing to bind a
/// port that a test client had meanwhile used), and from a counter, so that tests running
/// in parallel in one process never get the same one.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919) % COUNT;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = u16::try_from(FIRST + (start + n) % COUNT).expect("below 32000");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{} on 127.0.0.1", FIRST + COUNT)
}

/// A child process killed when dropped, with its stderr kept for failure messages.
pub struct Process {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Process {
    /// Starts `command` with its output captured; a line containing `marker` (if any) is
    /// also sent on `ready`.
    fn start_captured(
        command: &mut Command,
        marker: Option<(String, std::sync::mpsc::Sender<String>)>,
    ) -> Process {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = Arc::clone(&output);
            let marker = marker.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some((marker, ready)) = &marker {
                        if line.contains(marker.as_str()) {
                            let _ = ready.send(line.clone());
                        }
                    }
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Process { child, output }
    }

    /// Starts `command` and waits until a line of its output contains `ready_marker`;
    /// returns the process and that line.
    pub fn spawn(mut command: Command, ready_marker: &str, timeout: Duration) -> (Process, String) {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut process =
            Self::start_captured(&mut command, Some((ready_marker.to_owned(), ready_tx)));
        match ready_rx.recv_timeout(timeout) {
            Ok(line) => (process, line),
            Err(_) => {
                let _ = process.child.kill();
                let _ = process.child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "{command:?} did not print {ready_marker:?} within {timeout:?}; output:\n{}",
                    process.output()
                );
            }
        }
    }

    /// Starts `command` and waits until something accepts connections on
    /// 127.0.0.1:`port` (for servers that print no ready line, such as nginx).
    pub fn spawn_listening(mut command: Command, port: u16, timeout: Duration) -> Process {
        let mut process = Self::start_captured(&mut command, None);
        let start = Instant::now();
        loop {
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            if std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return process;
            }
            let exited = process.child.try_wait().ok().flatten();
            if exited.is_some() || start.elapsed() > timeout {
                process.stop();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "{command:?} did not listen on port {port} within {timeout:?} ({exited:?}); output:\n{}",
                    process.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the process wrote so far (stdout and stderr).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Dev client secrets of `tests/provider/provider.mjs`.
pub const CLIENT_ID: &str = "push-advisor";
pub const CLIENT_SECRET: &str = "dev-secret-push-advisor";

/// Options for starting the provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    pub port: Option<u16>,
    /// Listen address (default 127.0.0.1); another one needs a fixed `port`, and the
    /// issuer becomes `http://<host>:<port>` (e.g. the host side of a test namespace's TAP).
    pub host: Option<String>,
    pub resource: String,
    pub resource_mcp: Option<String>,
    /// The resource's scopes, space-separated (default `api:read api:write`).
    pub resource_scopes: Option<String>,
    pub redirect_uris: Vec<String>,
    pub access_token_ttl: Option<u64>,
    pub tls: Option<TlsFiles>,
    /// Publish the issuer with a trailing `/`, as Auth0 does (`https://tenant.auth0.com/`).
    pub issuer_trailing_slash: bool,
    /// The issuer to publish instead of the listen address's, for a provider reached
    /// through a proxy (the device's fault tests); tokens are still fetched directly.
    pub issuer: Option<String>,
    /// Endpoint URLs follow the proxy's `X-Forwarded-Proto` (a TLS-terminating proxy).
    pub trust_proxy: bool,
}

/// A certificate and key on disk (made at test time).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca_pem: PathBuf,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

/// The real development authorization server (`oidc-provider`).
pub struct Provider {
    pub process: Process,
    pub issuer: String,
    pub options: ProviderOptions,
}

impl Provider {
    pub fn start(options: ProviderOptions) -> Provider {
        let dir = repo_root().join("tests/provider");
        assert!(
            dir.join("node_modules").exists(),
            "run `npm ci` in tests/provider first (tests/run-all.sh does)"
        );
        // The Node 22 that `npm ci` installs there (oidc-provider's supported runtime).
        let node22 = dir.join("node_modules/node/bin/node");
        assert!(
            node22.exists(),
            "{} is missing: run `npm ci` in tests/provider",
            node22.display()
        );
        let mut command = Command::new(node22);
        command.current_dir(&dir).arg("provider.mjs");
        match &options.host {
            Some(host) => {
                let port = options
                    .port
                    .expect("a provider on another host needs a fixed port");
                command.env("PROVIDER_HOST", host);
                let scheme = if options.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                command.env("PROVIDER_ISSUER", format!("{scheme}://{host}:{port}"));
            }
            None => {
                command.env("PROVIDER_HOST", "127.0.0.1");
            }
        }
        command.env("PROVIDER_PORT", options.port.unwrap_or(0).to_string());
        command.env("PROVIDER_RESOURCE", &options.resource);
        if let Some(mcp) = &options.resource_mcp {
            command.env("PROVIDER_RESOURCE_MCP", mcp);
        }
        if let Some(scopes) = &options.resource_scopes {
            command.env("PROVIDER_RESOURCE_SCOPES", scopes);
        }
        if !options.redirect_uris.is_empty() {
            command.env("PROVIDER_REDIRECT_URIS", options.redirect_uris.join(","));
        }
        if let Some(ttl) = options.access_token_ttl {
            command.env("PROVIDER_ACCESS_TOKEN_TTL", ttl.to_string());
        }
        if options.issuer_trailing_slash {
            command.env("PROVIDER_ISSUER_TRAILING_SLASH", "1");
        }
        if let Some(issuer) = &options.issuer {
            command.env("PROVIDER_ISSUER", issuer);
        }
        if options.trust_proxy {
            command.env("PROVIDER_TRUST_PROXY", "1");
        }
        if let Some(tls) = &options.tls {
            command
                .env("PROVIDER_TLS_CERT", &tls.cert_pem)
                .env("PROVIDER_TLS_KEY", &tls.key_pem);
        }
        let (process, line) = Process::spawn(command, "PROVIDER_READY", Duration::from_secs(20));
        let issuer = line
            .trim()
            .strip_prefix("PROVIDER_READY ")
            .expect("ready line names the issuer")
            .to_owned();
        Provider {
            process,
            issuer,
            options,
        }
    }

    /// Starts the same provider again (same port and settings) after `stop`.
    pub fn restart(&mut self) {
        let port = self
            .base_url()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok());
        let options = ProviderOptions {
            port,
            ..self.options.clone()
        };
        *self = Provider::start(options);
    }

    /// The issuer without a trailing `/`, to append endpoint paths to.
    pub fn base_url(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// A client-credentials token response from the provider (as JSON).
    pub fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
        scope: &str,
        resource: &str,
    ) -> Value {
        client_credentials_grant(
            &plain_agent(self.options.tls.as_ref()),
            &format!("{}/token", self.base_url()),
            client_id,
            secret,
            scope,
            resource,
        )
    }

    /// An access token for `push-advisor` with `scope` for `resource`.
    pub fn token(&self, scope: &str, resource: &str) -> String {
        self.client_credentials(CLIENT_ID, CLIENT_SECRET, scope, resource)["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Revokes a token that `push-advisor` owns.
    pub fn revoke(&self, token: &str) {
        let agent = plain_agent(self.options.tls.as_ref());
        let response = agent
            .post(&format!("{}/token/revocation", self.base_url()))
            .header("Authorization", &basic(CLIENT_ID, CLIENT_SECRET))
            .send_form([("token", token), ("token_type_hint", "access_token")])
            .expect("revocation request");
        assert_eq!(response.status().as_u16(), 200);
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }
}

/// A client-credentials token response (as JSON) from any provider's `token_endpoint`,
/// the client authenticated with HTTP Basic, asking for `scope` at RFC 8707 `resource`.
pub fn client_credentials_grant(
    agent: &ureq::Agent,
    token_endpoint: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
    resource: &str,
) -> Value {
    let response = agent
        .post(token_endpoint)
        .header("Authorization", &basic(client_id, secret))
        .send_form([
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", resource),
        ])
        .expect("token request");
    let status = response.status().as_u16();
    let body: Value = response.into_body().read_json().expect("token JSON");
    assert_eq!(status, 200, "token endpoint answered {body}");
    body
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    // Dev ids and secrets are URL-safe, so RFC 6749 §2.3.1 form-encoding leaves them as they are.
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// An HTTP agent that does not follow redirects and does not treat 4xx/5xx as errors.
pub fn plain_agent(tls: Option<&TlsFiles>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)));
    if let Some(tls) = tls {
        let pem = std::fs::read(&tls.ca_pem).expect("CA file");
        let cert = ureq::tls::Certificate::from_pem(&pem).expect("CA PEM");
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert.to_owned()]))
                .build(),
        );
    }
    config.build().into()
}

/// Makes a CA and a leaf for `localhost`/127.0.0.1 in `dir`.
pub fn make_tls_files(dir: &Path, name: &str) -> TlsFiles {
    make_tls_files_for(dir, name, &["localhost", "127.0.0.1"])
}

/// Makes a CA and a leaf for `hosts` in `dir`; the leaf's common name is the first host
/// (embedded-tls matches the server name against DNS names and the common name only).
/// The CA is also written as DER, `<name>-ca.der`.
pub fn make_tls_files_for(dir: &Path, name: &str, hosts: &[&str]) -> TlsFiles {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    std::fs::create_dir_all(dir).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(hosts.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()).unwrap();
    if let Some(first) = hosts.first() {
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, *first);
    }
    let leaf = leaf_params.signed_by(&leaf_key, &*ca).unwrap();
    let files = TlsFiles {
        ca_pem: dir.join(format!("{name}-ca.pem")),
        cert_pem: dir.join(format!("{name}-cert.pem")),
        key_pem: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&files.ca_pem, ca.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}-ca.der")), ca.der()).unwrap();
    std::fs::write(&files.cert_pem, leaf.pem()).unwrap();
    std::fs::write(&files.key_pem, leaf_key.serialize_pem()).unwrap();
    files
}

/// A directory of a test's files, removed even when an assertion fails.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The real `push-advisor` binary.
pub struct PushAdvisor {
    pub process: Process,
    pub url: String,
    pub agent: ureq::Agent,
}

/// Path of the binary built by `cargo build -p host-example`, or `PUSH_ADVISOR_BINARY`
/// (e.g. a release build to measure).
pub fn binary_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PUSH_ADVISOR_BINARY") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let path = target.join("debug/push-advisor");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p host-example` first (tests/run-all.sh does)",
        path.display()
    );
    path
}

impl PushAdvisor {
    /// Starts the binary and waits until it has discovered the provider.
    pub fn start(port: u16, issuer: &str, extra: &[(&str, &str)]) -> PushAdvisor {
        let server = PushAdvisor::start_undiscovered(port, issuer, extra);
        let start = Instant::now();
        while server.get("/.well-known/oauth-authorization-server").status != 200 {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no discovery within 15 s:\n{}",
                server.process.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Starts the binary on `port` against `issuer`, with extra `PUSH_ADVISOR_*` settings,
    /// and returns as soon as it listens (discovery may still be under way).
    pub fn start_undiscovered(port: u16, issuer: &str, extra: &[(&str, &str)]) -> PushAdvisor {
        let mut command = Command::new(binary_path());
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PUSH_ADVISOR_BIND", format!("127.0.0.1:{port}"))
            .env("PUSH_ADVISOR_ISSUER", issuer)
            .env("PUSH_ADVISOR_CLIENT_ID", CLIENT_ID)
            .env("PUSH_ADVISOR_CLIENT_SECRET", CLIENT_SECRET)
            .env("PUSH_ADVISOR_LOG", "debug");
        for (name, value) in extra {
            command.env(name, value);
        }
        let (process, _) = Process::spawn(command, "listening on", Duration::from_secs(20));
        PushAdvisor {
            process,
            url: format!("http://127.0.0.1:{port}"),
            agent: plain_agent(None),
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None, &[])
    }

    pub fn get_with_token(&self, path: &str, token: &str) -> Reply {
        self.request(
            "GET",
            path,
            None,
            &[("Authorization", &format!("Bearer {token}"))],
        )
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.url);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(body.unwrap_or("").to_owned())
            .expect("request");
        let response = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Reply::from(response)
    }

    /// Waits until `check` holds for a fresh reply of `path`, within `timeout`.
    pub fn wait_for(
        &self,
        path: &str,
        token: &str,
        timeout: Duration,
        check: impl Fn(&Reply) -> bool,
    ) -> Reply {
        let start = Instant::now();
        loop {
            let reply = self.get_with_token(path, token);
            if check(&reply) || start.elapsed() > timeout {
                return reply;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn from(response: ureq::http::Response<ureq::Body>) -> Reply {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response.into_body().read_to_string().unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Follows an authorization URL through the provider's dev login and consent forms with
/// a cookie jar, as a browser would, and returns the final redirect to `redirect_uri`.
pub fn browser_login(authorize_url: &str, redirect_uri: &str, login: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut url = authorize_url.to_owned();
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..12 {
        if url.starts_with(redirect_uri) {
            return url;
        }
        let response = match form.take() {
            Some(fields) => agent
                .post(&url)
                .send_form(fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            None => agent.get(&url).call(),
        }
        .unwrap_or_else(|e| panic!("login step {url}: {e}"));
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .expect("Location")
                .to_owned();
            url = resolve(&url, &location);
            continue;
        }
        let html = response.into_body().read_to_string().unwrap_or_default();
        assert_eq!(status, 200, "login step {url}: {html}");
        let prompt = between(&html, "name=\"prompt\" value=\"", "\"").unwrap_or_default();
        let mut fields = vec![("prompt".to_owned(), prompt.clone())];
        match prompt.as_str() {
            "login" => {
                fields.push(("login".to_owned(), login.to_owned()));
                fields.push(("password".to_owned(), "any-password".to_owned()));
            }
            "consent" => {}
            _ => panic!("no login or consent form at {url}: {html}"),
        }
        let action = between(&html, "action=\"", "\"")
            .map(|a| a.replace("&amp;", "&"))
            .unwrap_or_else(|| url.clone());
        url = resolve(&url, &action);
        form = Some(fields);
    }
    panic!("no redirect to {redirect_uri} after 12 steps (last {url})");
}

/// The text between `start` and the next `end`.
pub fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let origin_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}{location}", &base[..origin_end])
}

/// Undoes the HTML escaping of an attribute value.
pub fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `tests/python/.venv/bin/python` with the pinned tools of `tests/python/requirements.txt`
/// (the OpenMetrics parser, schemathesis); creates the venv and installs them when
/// missing (tests/run-all.sh does it first).
pub fn python_tools() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo_root().join("tests/python");
    let python = dir.join(".venv/bin/python");
    let has = |module: &str| {
        Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && has("prometheus_client") && has("schemathesis") && has("nanoidp") {
        return python;
    }
    if !python.exists() {
        let created = Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir.join(".venv"))
            .status()
            .expect("python3 -m venv");
        assert!(created.success(), "python3 -m venv failed");
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(dir.join("requirements.txt"))
        .status()
        .expect("pip install");
    assert!(
        installed.success(),
        "pip install -r tests/python/requirements.txt failed"
    );
    python
}

/// What `push-advisor check` printed and its exit status.
#[derive(Debug)]
pub struct CheckRun {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `push-advisor check` against `issuer` with the dev client and extra settings
/// (which override the defaults), within 30 s.
pub fn run_check(resource_port: u16, issuer: &str, extra: &[(&str, &str)]) -> CheckRun {
    let mut command = Command::new(binary_path());
    command
        .arg("check")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PUSH_ADVISOR_BIND", format!("127.0.0.1:{resource_port}"))
        .env("PUSH_ADVISOR_ISSUER", issuer)
        .env("PUSH_ADVISOR_CLIENT_ID", CLIENT_ID)
        .env("PUSH_ADVISOR_CLIENT_SECRET", CLIENT_SECRET)
        .env("PUSH_ADVISOR_PROVIDER_TIMEOUT_MS", "3000");
    for (name, value) in extra {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start push-advisor check");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for check") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("push-advisor check took more than 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    CheckRun {
        success: status.success(),
        stdout,
        stderr,
    }
}
