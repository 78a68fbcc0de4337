//! The TAP firmware against the real provider behind the fault-injecting proxy (a
//! fake, `tests/src/fault_proxy.rs`), all inside the test namespace: the provider
//! listens on the namespace's loopback and publishes the proxy's address on the TAP
//! link as its issuer, so every call the firmware makes passes the proxy. One firmware
//! start, with a short provider timeout, serves every case: each fault answers 503 with
//! `Retry-After` within that timeout plus 10 %, never 200 and never 401 for a good
//! token, and the same token answers 200 once the proxy passes traffic again; then a
//! flood of junk tokens costs at most the firmware's call budget while a cached token
//! keeps answering 200.

use std::net::SocketAddr;

use push_advisor_tests::fault_proxy::{FAULTS, Fault, FaultProxy};

use super::*;

/// The firmware's provider timeout for these cases (`--provider-timeout-ms`): short, to
/// keep the cases that run into it (hang, drip) quick.
const PROVIDER_TIMEOUT_MS: u64 = 1500;
/// The same against an `https` provider: the debug build's TLS handshake (elliptic-curve
/// arithmetic unoptimised, on the one executor thread) alone takes about a second and a
/// half on this machine, and it is part of the deadline.
const TLS_PROVIDER_TIMEOUT_MS: u64 = 2500;

/// The firmware, the proxy it calls the provider through, and the provider.
struct FaultRig {
    setup: Setup,
    provider: Provider,
    proxy: FaultProxy,
    device: PushAdvisor,
}

impl FaultRig {
    /// An `http` provider behind the proxy; returns once the firmware has discovered it.
    fn start() -> Option<FaultRig> {
        let rig = FaultRig::start_with(setup()?, None, Fault::Pass, PROVIDER_TIMEOUT_MS);
        rig.wait_for_discovery();
        Some(rig)
    }

    /// The provider behind the proxy, which is an `https` provider (certificate from
    /// a CA made in `tls_dir`, which the firmware trusts) when `tls_dir` is given; the
    /// proxy starts with `first`, the firmware after it, with `timeout_ms` as its
    /// provider timeout.
    fn start_with(
        setup: Setup,
        tls_dir: Option<&std::path::Path>,
        first: Fault,
        timeout_ms: u64,
    ) -> FaultRig {
        let scheme = if tls_dir.is_some() { "https" } else { "http" };
        let published = format!("{scheme}://{}:{PROVIDER_PORT}", setup.host_ip);
        let provider = Provider::start(ProviderOptions {
            port: Some(free_port()),
            issuer: Some(published.clone()),
            trust_proxy: tls_dir.is_some(),
            resource: setup.url.clone(),
            ..ProviderOptions::default()
        });
        let listen = SocketAddr::new(setup.host_ip.parse().expect("PA_HOST_IP"), PROVIDER_PORT);
        let upstream = direct_authority(&provider);
        let timeout = timeout_ms.to_string();
        let mut flags = vec!["--provider-timeout-ms".to_owned(), timeout];
        let proxy = match tls_dir {
            None => FaultProxy::start_at(listen, &upstream),
            Some(dir) => {
                let files = make_tls_files_for(dir, "proxy", &[&setup.host_ip]);
                let ca = dir.join("proxy-ca.der").to_string_lossy().into_owned();
                flags.extend(["--ca-der".to_owned(), ca]);
                FaultProxy::start_tls_at(listen, &upstream, &files)
            }
        };
        proxy.set(first);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let device = start_firmware_with(&setup, 60, &published, &flags);
        FaultRig {
            setup,
            provider,
            proxy,
            device,
        }
    }

    fn wait_for_discovery(&self) {
        let start = Instant::now();
        while self
            .device
            .get("/.well-known/oauth-authorization-server")
            .status
            != 200
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no discovery through the proxy within 20 s:\n{}",
                self.device.process.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new token from the provider itself, not through the proxy (so neither the
    /// current fault nor the proxy's count of the firmware's calls sees it).
    fn token(&self) -> String {
        let endpoint = format!("http://{}/token", direct_authority(&self.provider));
        client_credentials_grant(
            &plain_agent(None),
            &endpoint,
            CLIENT_ID,
            CLIENT_SECRET,
            "api:read",
            &self.setup.url,
        )["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// The call budget the firmware logged at start: (in flight, per second).
    fn budget(&self) -> (usize, usize) {
        let log = self.device.process.output();
        let line = log
            .lines()
            .find_map(|line| line.split_once("provider call budget: ").map(|(_, b)| b))
            .unwrap_or_else(|| panic!("no budget line in the firmware log:\n{log}"));
        let numbers: Vec<usize> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|part| part.parse().ok())
            .collect();
        (numbers[0], numbers[1])
    }
}

/// Where the provider itself listens (the namespace's loopback).
fn direct_authority(provider: &Provider) -> String {
    let port = provider.options.port.expect("a fixed port");
    format!("127.0.0.1:{port}")
}

#[test]
#[ignore = "needs the TAP namespace: run `tests/tap/run.sh` as root"]
fn provider_faults_are_timely_503s_and_a_junk_flood_stays_within_the_call_budget() {
    let _turn = take_turn();
    let Some(rig) = FaultRig::start() else { return };
    let device = &rig.device;
    let (in_flight, per_second) = rig.budget();
    let bound = Duration::from_millis(PROVIDER_TIMEOUT_MS * 11 / 10);
    eprintln!(
        "device provider timeout {PROVIDER_TIMEOUT_MS} ms (bound {} ms), call budget {in_flight} in flight, {per_second} per second",
        bound.as_millis()
    );

    for (fault, cause) in FAULTS {
        // Two provider calls per case: never more than the budget starts in a second.
        std::thread::sleep(Duration::from_millis(2000 / per_second as u64 + 50));
        let token = rig.token();
        let took = rig.proxy.expect_timely_503(fault, bound, || {
            device.get_with_token("/deploy-history", &token)
        });
        eprintln!(
            "{fault:?}: 503 after {} ms (bound {} ms)",
            took.as_millis(),
            bound.as_millis()
        );
        assert_eq!(device.get("/vibe-check").status, 200, "{fault:?}: public");
        rig.proxy.set(Fault::Pass);
        let again = device.get_with_token("/deploy-history", &token);
        assert_eq!(
            again.status, 200,
            "the same token after {fault:?}: {again:?}"
        );
        // The log is read by another thread: give it a moment.
        let logged = format!("cause={cause}");
        let start = Instant::now();
        while !device.process.output().contains(&logged) {
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{fault:?}: no log line with cause {cause}:\n{}",
                device.process.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // A cached good token, then junk tokens from three clients at once.
    let good = rig.token();
    assert_eq!(device.get_with_token("/deploy-history", &good).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    const FLOODERS: usize = 3;
    const JUNK_EACH: usize = 40;
    let address = rig.setup.address;
    let calls_before = rig.proxy.requests();
    let started = Instant::now();
    let flooders: Vec<_> = (0..FLOODERS)
        .map(|flooder| {
            std::thread::spawn(move || {
                (0..JUNK_EACH)
                    .map(|n| {
                        let junk = format!("junk-{flooder}-{n}");
                        fetch(address, "/deploy-history", Some(&junk))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut cached = Vec::new();
    loop {
        cached.push(device.get_with_token("/deploy-history", &good).status);
        if flooders.iter().all(|flooder| flooder.is_finished()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let answers: Vec<(u16, bool)> = flooders
        .into_iter()
        .flat_map(|flooder| flooder.join().unwrap())
        .map(|answer| answer.unwrap_or_else(|e| panic!("a junk request failed: {e}")))
        .collect();
    let took = started.elapsed();
    let calls = rig.proxy.requests() - calls_before;
    let count = |code| answers.iter().filter(|(status, _)| *status == code).count();
    let (inactive, refused) = (count(401), count(503));
    eprintln!(
        "junk flood: {} requests in {} ms, {calls} provider calls ({:.2} per junk request); 401: {inactive}, 503: {refused}; cached good token: {} of {} answered 200",
        answers.len(),
        took.as_millis(),
        calls as f64 / answers.len() as f64,
        cached.iter().filter(|&&status| status == 200).count(),
        cached.len()
    );
    assert_eq!(
        inactive + refused,
        answers.len(),
        "only 401 or 503: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(status, retry)| *status != 503 || *retry),
        "every 503 has Retry-After"
    );
    let windows = took.as_secs() as usize + 1;
    assert!(
        calls <= per_second * windows,
        "{calls} provider calls in {took:?}: budget {per_second} per second"
    );
    assert_eq!(
        calls, inactive,
        "each provider call answered one junk token"
    );
    assert!(refused > 0, "the budget refused some junk");
    assert!(
        cached.iter().all(|&status| status == 200),
        "the cached token during the flood: {cached:?}"
    );
    // The budget refills: a new good token is served a second later.
    std::thread::sleep(Duration::from_millis(1100));
    let fresh = device.get_with_token("/deploy-history", &rig.token());
    assert_eq!(fresh.status, 200, "a new token after the flood: {fresh:?}");
}

#[test]
#[ignore = "needs the TAP namespace: run `tests/tap/run.sh` as root"]
fn an_https_provider_that_drips_or_hangs_costs_at_most_the_provider_timeout() {
    let _turn = take_turn();
    let Some(setup) = setup() else { return };
    let dir = scratch_dir("tls-faults");
    // Discovery meets a dripping provider first, a byte (one TLS record) every 200 ms:
    // each exchange must end by the provider timeout (connect, TLS handshake, request and
    // the whole answer under one deadline), not when the drip ends 20 s later. An
    // attempt is two exchanges (RFC 8414's document, then OpenID's), so two timeouts.
    let rig = FaultRig::start_with(setup, Some(&dir), Fault::Drip, TLS_PROVIDER_TIMEOUT_MS);
    let started = Instant::now();
    let device = &rig.device;
    let bound = Duration::from_millis(TLS_PROVIDER_TIMEOUT_MS * 11 / 10);
    while !device
        .process
        .output()
        .contains("provider discovery failed")
    {
        assert!(
            started.elapsed() < bound * 2,
            "discovery against a dripping https provider still waiting after {:?}:\n{}",
            started.elapsed(),
            device.process.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "https discovery against a drip: failed {} ms after the firmware accepted connections (timeout {TLS_PROVIDER_TIMEOUT_MS} ms)",
        started.elapsed().as_millis()
    );
    assert!(
        device
            .process
            .output()
            .contains("provider discovery failed (Unavailable(Timeout))"),
        "{}",
        device.process.output()
    );

    rig.proxy.set(Fault::Pass);
    rig.wait_for_discovery();
    let token = rig.token();
    let took = rig.proxy.expect_timely_503(Fault::Hang, bound, || {
        device.get_with_token("/deploy-history", &token)
    });
    eprintln!(
        "https Hang: 503 after {} ms (bound {} ms)",
        took.as_millis(),
        bound.as_millis()
    );
    rig.proxy.set(Fault::Pass);
    let again = device.get_with_token("/deploy-history", &token);
    assert_eq!(
        again.status, 200,
        "the same token over TLS again: {again:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
