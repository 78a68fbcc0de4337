//! The real `push-advisor` binary against the real provider with a fault-injecting
//! proxy (a fake, `tests/src/fault_proxy.rs`) in front of its introspection endpoint:
//! every fault answers 503 with `Retry-After` within the provider timeout plus 10 %,
//! never 200 and never 401 for a good token, is logged with its cause, and the same
//! token works again once the proxy passes traffic through, without a restart. And a
//! flood of junk tokens costs at most the call budget.

use std::time::{Duration, Instant};

use push_advisor_tests::fault_proxy::{Fault, FaultProxy};
use push_advisor_tests::*;

const TIMEOUT_MS: u64 = 1500;

/// A provider, the fake proxy in front of its introspection endpoint, and push-advisor.
struct Stack {
    provider: Provider,
    proxy: FaultProxy,
    server: PushAdvisor,
    resource: String,
}

impl Stack {
    fn start(extra: &[(&str, &str)]) -> Stack {
        let port = free_port();
        let resource = format!("http://127.0.0.1:{port}");
        let provider = Provider::start(ProviderOptions {
            resource: resource.clone(),
            ..ProviderOptions::default()
        });
        let upstream = provider.issuer.trim_start_matches("http://").to_owned();
        let proxy = FaultProxy::start(&upstream);
        let introspection = format!("http://127.0.0.1:{}/token/introspection", proxy.port);
        let timeout = TIMEOUT_MS.to_string();
        let mut settings = vec![
            (
                "PUSH_ADVISOR_INTROSPECTION_ENDPOINT",
                introspection.as_str(),
            ),
            ("PUSH_ADVISOR_PROVIDER_TIMEOUT_MS", timeout.as_str()),
        ];
        settings.extend_from_slice(extra);
        let server = PushAdvisor::start(port, &provider.issuer, &settings);
        Stack {
            provider,
            proxy,
            server,
            resource,
        }
    }
}

#[test]
fn every_provider_fault_is_a_timely_503_and_the_same_token_recovers() {
    // No cache: every request asks the provider (through the proxy).
    let stack = Stack::start(&[("PUSH_ADVISOR_CACHE_TTL", "0")]);
    let token = stack.provider.token("api:read", &stack.resource);
    let bound = Duration::from_millis(TIMEOUT_MS * 11 / 10);
    let works = |why: &str| {
        let reply = stack.server.get_with_token("/deploy-history", &token);
        assert_eq!(reply.status, 200, "{why}: {reply:?}");
    };
    works("before any fault");
    let faults = [
        (Fault::Hang, "timeout"),
        (Fault::Drip, "timeout"),
        (Fault::CloseMidAnswer, "closed"),
        (Fault::ServerError, "status"),
        (Fault::InvalidJson, "malformed"),
        (Fault::ActiveAsString, "malformed"),
        (Fault::TenMegabytes, "too_large"),
        (Fault::InterimFlood, "malformed"),
    ];
    for (fault, cause) in faults {
        stack.proxy.set(fault);
        let calls = stack.proxy.requests();
        let started = Instant::now();
        let reply = stack.server.get_with_token("/deploy-history", &token);
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
        assert_eq!(
            stack.proxy.requests(),
            calls + 1,
            "{fault:?}: one provider call"
        );
        assert_eq!(
            stack.server.get("/vibe-check").status,
            200,
            "{fault:?}: public routes unaffected"
        );
        stack.proxy.set(Fault::Pass);
        works(&format!("after {fault:?}"));
        let log = stack.server.process.output();
        assert!(
            log.contains(&format!("cause=\"{cause}\"")) || log.contains(&format!("cause={cause}")),
            "{fault:?}: no log line with cause {cause}:\n{log}"
        );
    }
    let log = stack.server.process.output();
    assert!(!log.contains(&token), "the token reached the log");
}

#[test]
fn a_junk_token_flood_costs_at_most_the_call_budget() {
    let stack = Stack::start(&[
        ("PUSH_ADVISOR_PROVIDER_CALLS_PER_SECOND", "10"),
        ("PUSH_ADVISOR_PROVIDER_CALLS_IN_FLIGHT", "4"),
        ("PUSH_ADVISOR_PROVIDER_CLIENT_SHARE_PERCENT", "100"),
    ]);
    let good = stack.provider.token("api:read", &stack.resource);
    let cached = stack.server.get_with_token("/deploy-history", &good);
    assert_eq!(cached.status, 200, "{cached:?}");
    let calls_before = stack.proxy.requests();
    let started = Instant::now();
    let (mut refused, mut inactive) = (0, 0);
    for junk in 0..100 {
        let reply = stack
            .server
            .get_with_token("/deploy-history", &format!("junk-{junk}"));
        match reply.status {
            401 => inactive += 1,
            503 => {
                assert!(reply.header("retry-after").is_some());
                refused += 1;
            }
            other => panic!("junk token answered {other}"),
        }
    }
    let seconds = started.elapsed().as_secs() + 1;
    let calls = stack.proxy.requests() - calls_before;
    assert!(
        calls as u64 <= 10 * seconds,
        "{calls} provider calls for 100 junk tokens in {seconds} s"
    );
    assert_eq!(calls, inactive, "each call answered one junk token");
    assert!(refused > 0, "the budget refused some junk");
    // The cached token and the public routes are not limited.
    assert_eq!(
        stack.server.get_with_token("/deploy-history", &good).status,
        200
    );
    assert_eq!(stack.server.get("/vibe-check").status, 200);
}
