//! What an operator runs: the ops listener (`/healthz`, `/readyz`, `/metrics`, validated
//! by the official Python OpenMetrics parser) and `push-advisor check`, with the real
//! binary against the real development provider over loopback.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use push_advisor_tests::*;

/// A provider, and push-advisor with its ops listener on another port.
struct Stack {
    provider: Provider,
    server: PushAdvisor,
    resource: String,
    ops: String,
}

fn start() -> Stack {
    let port = free_port();
    let ops_port = free_port();
    let resource = format!("http://127.0.0.1:{port}");
    let provider = Provider::start(ProviderOptions {
        resource: resource.clone(),
        resource_mcp: Some(format!("{resource}/mcp")),
        redirect_uris: vec![format!("{resource}/token")],
        ..ProviderOptions::default()
    });
    let server = PushAdvisor::start(
        port,
        &provider.issuer,
        &[(
            "PUSH_ADVISOR_METRICS_BIND",
            &format!("127.0.0.1:{ops_port}"),
        )],
    );
    Stack {
        provider,
        server,
        resource,
        ops: format!("http://127.0.0.1:{ops_port}"),
    }
}

fn ops_get(base: &str, path: &str) -> Reply {
    let response = plain_agent(None)
        .get(&format!("{base}{path}"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap_or_else(|e| panic!("GET {base}{path}: {e}"));
    Reply::from(response)
}

/// One parsed sample of a scrape.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Value,
    value: f64,
}

/// Parses a scrape with `prometheus_client.openmetrics.parser` (strict OpenMetrics).
fn parse(text: &str) -> (Vec<Sample>, Vec<(String, String)>) {
    let mut child = Command::new(python_tools())
        .arg(repo_root().join("tests/python/parse_metrics.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the parser");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write the scrape");
    let output = child.wait_with_output().expect("parser output");
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused the scrape: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).expect("parser JSON");
    let mut samples = Vec::new();
    let mut families = Vec::new();
    for sample in parsed.as_array().expect("a list") {
        let family = (
            sample["family"].as_str().unwrap().to_owned(),
            sample["type"].as_str().unwrap().to_owned(),
        );
        if !families.contains(&family) {
            families.push(family);
        }
        samples.push(Sample {
            name: sample["name"].as_str().unwrap().to_owned(),
            labels: sample["labels"].clone(),
            value: sample["value"].as_f64().unwrap(),
        });
    }
    (samples, families)
}

/// The value of the sample `name` whose labels include `labels`; 0 when absent.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels[*k] == *v))
        .map_or(0.0, |s| s.value)
}

#[test]
fn health_readiness_and_metrics_count_what_the_server_did() {
    let mut stack = start();
    let server = &stack.server;
    assert_eq!(ops_get(&stack.ops, "/healthz").status, 200);
    let ready = ops_get(&stack.ops, "/readyz");
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    // The API's own address serves none of them.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(server.get(path).status, 404, "{path} on the API listener");
    }

    assert_eq!(server.get("/vibe-check").status, 200);
    assert_eq!(server.get("/no-such-route").status, 404);
    let token = stack.provider.token("api:read", &stack.resource);
    for _ in 0..3 {
        assert_eq!(server.get_with_token("/deploy-history", &token).status, 200);
    }
    assert_eq!(
        server
            .get_with_token("/deploy-history", "not-a-token-the-provider-issued")
            .status,
        401
    );

    let scrape = ops_get(&stack.ops, "/metrics");
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{scrape:?}"
    );
    assert!(
        !scrape.body.contains(&token),
        "a token leaked into the metrics"
    );
    // Kept for the operator's eye (and release notes): target/ops-metrics-scrape.txt.
    let _ = std::fs::write(
        repo_root().join("target/ops-metrics-scrape.txt"),
        &scrape.body,
    );
    let (samples, families) = parse(&scrape.body);
    for (family, kind) in [
        ("push_advisor_http_requests", "counter"),
        ("push_advisor_http_request_duration_seconds", "histogram"),
        ("push_advisor_token_checks", "counter"),
        ("push_advisor_provider_calls", "counter"),
        ("push_advisor_provider_call_duration_seconds", "histogram"),
        ("push_advisor_open_connections", "gauge"),
        ("push_advisor_connections_accepted", "counter"),
        ("push_advisor_connections_refused", "counter"),
    ] {
        assert!(
            families.contains(&(family.to_owned(), kind.to_owned())),
            "{family} ({kind}) missing from {families:?}"
        );
    }
    let requests = "push_advisor_http_requests_total";
    assert_eq!(
        value(
            &samples,
            requests,
            &[("route", "/vibe-check"), ("status", "200")]
        ),
        1.0
    );
    // The three ops paths asked of the API listener, and /no-such-route.
    assert_eq!(
        value(&samples, requests, &[("route", "other"), ("status", "404")]),
        4.0
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[("route", "/deploy-history"), ("status", "200")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[("route", "/deploy-history"), ("status", "401")]
        ),
        1.0
    );
    let latency_count = "push_advisor_http_request_duration_seconds_count";
    assert_eq!(
        value(&samples, latency_count, &[("route", "/deploy-history")]),
        4.0
    );
    let checks = "push_advisor_token_checks_total";
    // The first use of the token asks the provider, the next two come from the cache.
    assert_eq!(
        value(
            &samples,
            checks,
            &[("path", "introspection"), ("outcome", "active")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            checks,
            &[("path", "cache"), ("outcome", "active")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            checks,
            &[("path", "introspection"), ("outcome", "inactive")]
        ),
        1.0
    );
    // Discovery and the two introspections at least.
    let provider_ok = value(
        &samples,
        "push_advisor_provider_calls_total",
        &[("outcome", "ok")],
    );
    assert!(provider_ok >= 3.0, "provider calls: {provider_ok}");
    assert!(
        value(
            &samples,
            "push_advisor_provider_call_duration_seconds_count",
            &[]
        ) >= provider_ok
    );
    // The harness keeps its connection alive, so at least one.
    assert!(value(&samples, "push_advisor_connections_accepted_total", &[]) >= 1.0);
    assert_eq!(
        value(&samples, "push_advisor_connections_refused_total", &[]),
        0.0
    );

    // The provider goes away: a check that needs it fails, and the server is no longer ready.
    stack.provider.stop();
    let fresh_token = "another-token-only-the-provider-could-judge";
    assert_eq!(
        stack
            .server
            .get_with_token("/deploy-history", fresh_token)
            .status,
        503
    );
    let unready = ops_get(&stack.ops, "/readyz");
    assert_eq!(unready.status, 503, "{unready:?}");
    assert!(
        unready
            .body
            .starts_with("not ready: the introspection endpoint"),
        "{unready:?}"
    );
    assert_eq!(
        ops_get(&stack.ops, "/healthz").status,
        200,
        "alive all the same"
    );
    let (samples, _) = parse(&ops_get(&stack.ops, "/metrics").body);
    assert!(
        value(
            &samples,
            "push_advisor_provider_calls_total",
            &[("outcome", "connect_failed")]
        ) >= 1.0
    );
    assert_eq!(
        value(
            &samples,
            checks,
            &[("path", "introspection"), ("outcome", "unreachable")]
        ),
        1.0
    );

    // Back again: ready again.
    stack.provider.restart();
    let start = Instant::now();
    while ops_get(&stack.ops, "/readyz").status != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not ready again within 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn not_ready_before_discovery_and_no_ops_listener_unless_configured() {
    let ops_port = free_port();
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let server = PushAdvisor::start_undiscovered(
        free_port(),
        &nobody,
        &[(
            "PUSH_ADVISOR_METRICS_BIND",
            &format!("127.0.0.1:{ops_port}"),
        )],
    );
    let ops = format!("http://127.0.0.1:{ops_port}");
    assert_eq!(ops_get(&ops, "/healthz").status, 200);
    let unready = ops_get(&ops, "/readyz");
    assert_eq!(unready.status, 503);
    assert!(
        unready.body.contains("discovery has not succeeded"),
        "{unready:?}"
    );
    assert!(server.process.output().contains("ops listener"));

    let quiet = PushAdvisor::start_undiscovered(free_port(), &nobody, &[]);
    assert!(
        !quiet.process.output().contains("ops listener"),
        "{}",
        quiet.process.output()
    );
    assert_eq!(quiet.get("/metrics").status, 404);
}

/// The lines of a check's output that start with `tag`.
fn lines<'a>(run: &'a CheckRun, tag: &str) -> Vec<&'a str> {
    run.stdout.lines().filter(|l| l.starts_with(tag)).collect()
}

#[test]
fn check_passes_a_good_configuration_and_explains_bad_ones() {
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}");
    let provider = Provider::start(ProviderOptions {
        resource: resource.clone(),
        redirect_uris: vec![format!("{resource}/token")],
        ..ProviderOptions::default()
    });

    let good = run_check(port, &provider.issuer, &[]);
    assert!(good.success, "{good:?}");
    assert_eq!(lines(&good, "FAIL"), Vec::<&str>::new(), "{}", good.stdout);
    let passed = lines(&good, "PASS").join("\n");
    for fact in [
        "discovery: the provider's metadata names the issuer",
        "introspection at",
        "a dummy token is active: false",
        &format!("audience: a token asked for resource {resource} carries aud \"{resource}\""),
        "JWKS at",
        "MCP clients can register: dynamic client registration",
    ] {
        assert!(
            passed.contains(fact),
            "no PASS line with {fact:?}:\n{}",
            good.stdout
        );
    }
    assert!(
        good.stdout.ends_with("all checks passed\n"),
        "{}",
        good.stdout
    );

    let wrong_secret = run_check(
        port,
        &provider.issuer,
        &[("PUSH_ADVISOR_CLIENT_SECRET", "not-the-secret")],
    );
    assert!(!wrong_secret.success);
    let failed = lines(&wrong_secret, "FAIL");
    assert_eq!(failed.len(), 1, "{}", wrong_secret.stdout);
    assert!(
        failed[0].contains("refused our client authentication") && failed[0].contains("HTTP 401"),
        "{}",
        wrong_secret.stdout
    );
    assert!(
        wrong_secret
            .stdout
            .contains("fix: check PUSH_ADVISOR_CLIENT_ID, the secret")
    );
    for run in [&good, &wrong_secret] {
        for secret in [CLIENT_SECRET, "not-the-secret"] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "a secret was printed"
            );
        }
    }

    // The same provider named by another host: the issuer must match exactly.
    let localhost = provider.issuer.replace("127.0.0.1", "localhost");
    let wrong_form = run_check(port, &localhost, &[]);
    assert!(!wrong_form.success);
    assert_eq!(
        lines(&wrong_form, "FAIL"),
        vec![format!("FAIL  discovery: the provider's metadata names the issuer {} but PUSH_ADVISOR_ISSUER is {localhost}", provider.issuer).as_str()],
        "{}",
        wrong_form.stdout
    );
    assert!(wrong_form.stdout.contains(&format!(
        "fix: set PUSH_ADVISOR_ISSUER to exactly {}",
        provider.issuer
    )));

    // A metadata URL instead of the issuer.
    let metadata_url = format!("{}/.well-known/openid-configuration", provider.issuer);
    let not_issuer = run_check(port, &metadata_url, &[]);
    assert!(!not_issuer.success);
    assert!(
        lines(&not_issuer, "FAIL")[0].starts_with("FAIL  discovery:"),
        "{}",
        not_issuer.stdout
    );

    let nobody = format!("http://127.0.0.1:{}", free_port());
    let unreachable = run_check(port, &nobody, &[]);
    assert!(!unreachable.success);
    let failed = lines(&unreachable, "FAIL");
    assert_eq!(failed.len(), 1, "{}", unreachable.stdout);
    assert!(
        failed[0].contains("is unreachable") && failed[0].contains("refused"),
        "{}",
        unreachable.stdout
    );
    assert!(
        unreachable
            .stdout
            .contains("fix: check PUSH_ADVISOR_ISSUER's host and port")
    );
}
