//! A second, independent provider: `nanoidp` (PyPI, Flask), pinned in
//! tests/python/requirements.txt. It signs RS256 JWT access tokens, publishes their key in a
//! JWKS and puts the RFC 8707 `resource` into `aud`. The real `push-advisor` binary checks
//! them locally (`PUSH_ADVISOR_VALIDATION=jwt`: no client of its own at nanoidp, no
//! introspection).
//!
//! nanoidp types its access tokens `typ: JWT`, not RFC 9068's `at+jwt`, so the test also
//! shows that push-advisor refuses them until `PUSH_ADVISOR_JWT_ACCEPT_TYP_JWT` is on.

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use push_advisor_tests::*;
use serde_json::Value;

const CLIENT: &str = "push-advisor-tests";
// A dev-only secret of a provider that lives as long as the test.
const SECRET: &str = "dev-secret-nanoidp";

/// nanoidp on a free loopback port with one confidential client and the API's scopes.
struct Nanoidp {
    process: Process,
    issuer: String,
    _files: TempDir,
}

impl Nanoidp {
    fn start() -> Nanoidp {
        let python = python_tools();
        let port = free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let files =
            TempDir(std::env::temp_dir().join(format!("pa-nanoidp-{}-{port}", std::process::id())));
        std::fs::create_dir_all(&files.0).expect("nanoidp config dir");
        let keys = files.0.join("keys");
        // The client may ask for any scope of the vocabulary: api:read, api:write or both.
        let settings = format!(
            r#"server:
  host: "127.0.0.1"
  port: {port}
oauth:
  issuer: "{issuer}"
  audience: "nanoidp"
  token_expiry_minutes: 5
  scopes_supported: ["api:read", "api:write"]
  clients:
    - client_id: "{CLIENT}"
      client_secret: "{SECRET}"
jwt:
  keys_dir: "{}"
"#,
            keys.display()
        );
        std::fs::write(files.0.join("settings.yaml"), settings).expect("settings.yaml");
        std::fs::write(files.0.join("users.yaml"), "users: {}\n").expect("users.yaml");
        let mut command = Command::new(python);
        command
            .args(["-m", "nanoidp", "--config"])
            .arg(&files.0)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(&files.0);
        let process = Process::spawn_listening(command, port, Duration::from_secs(60));
        Nanoidp {
            process,
            issuer,
            _files: files,
        }
    }

    fn token(&self, scope: &str, resource: &str) -> String {
        client_credentials_grant(
            &plain_agent(None),
            &format!("{}/token", self.issuer),
            CLIENT,
            SECRET,
            scope,
            resource,
        )["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

fn decoded(token: &str, part: usize) -> Value {
    let segment = token.split('.').nth(part).expect("JWS segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("JSON")
}

fn challenge(reply: &Reply) -> &str {
    reply.header("WWW-Authenticate").unwrap_or("")
}

#[test]
fn nanoidp_jwts_are_checked_locally() {
    let mut provider = Nanoidp::start();
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}");

    let read = provider.token("api:read", &resource);
    let write_only = provider.token("api:write", &resource);
    let elsewhere = provider.token("api:read", "http://127.0.0.1:9/other-api");
    let header = decoded(&read, 0);
    let claims = decoded(&read, 1);
    assert_eq!(header["alg"], "RS256", "{header}");
    assert_eq!(
        header["typ"], "JWT",
        "nanoidp's access token type: {header}"
    );
    assert_eq!(
        claims["aud"],
        resource.as_str(),
        "resource became aud: {claims}"
    );
    assert_eq!(claims["iss"], provider.issuer.as_str(), "{claims}");
    assert_eq!(claims["scope"], "api:read", "{claims}");

    // Without the switch, `typ: JWT` is not an access token to push-advisor.
    let strict = PushAdvisor::start(
        port,
        &provider.issuer,
        &[("PUSH_ADVISOR_VALIDATION", "jwt")],
    );
    let reply = strict.get_with_token("/deploy-history", &read);
    assert_eq!(
        reply.status, 401,
        "typ JWT refused by default: {}",
        reply.body
    );
    drop(strict);

    let server = PushAdvisor::start(
        port,
        &provider.issuer,
        &[
            ("PUSH_ADVISOR_VALIDATION", "jwt"),
            ("PUSH_ADVISOR_JWT_ACCEPT_TYP_JWT", "true"),
        ],
    );
    let reply = server.get_with_token("/deploy-history", &read);
    assert_eq!(
        reply.status,
        200,
        "{}\npush-advisor:\n{}\nnanoidp:\n{}",
        reply.body,
        server.process.output(),
        provider.process.output()
    );

    let reply = server.get_with_token("/deploy-history", &write_only);
    assert_eq!(reply.status, 403, "api:write only: {}", reply.body);
    assert!(
        challenge(&reply).contains(r#"error="insufficient_scope""#),
        "{}",
        challenge(&reply)
    );

    let mut parts: Vec<String> = read.split('.').map(str::to_owned).collect();
    let mut widened = decoded(&read, 1);
    widened["scope"] = "api:read api:write".into();
    parts[1] = URL_SAFE_NO_PAD.encode(widened.to_string());
    let refused = [
        ("tampered payload", parts.join(".")),
        ("token for another resource", elsewhere),
    ];
    for (why, token) in &refused {
        let reply = server.get_with_token("/deploy-history", token);
        assert_eq!(reply.status, 401, "{why}: {}", reply.body);
        assert!(
            challenge(&reply).contains(r#"error="invalid_token""#),
            "{why}: {}",
            challenge(&reply)
        );
    }

    // The key set is held: with nanoidp gone, a token seen for the first time still passes.
    let fresh = provider.token("api:read", &resource);
    provider.process.stop();
    let reply = server.get_with_token("/deploy-history", &fresh);
    assert_eq!(reply.status, 200, "after nanoidp stopped: {}", reply.body);
}
