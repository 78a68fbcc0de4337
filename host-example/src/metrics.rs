//! Prometheus metrics of the host, exposed by `prometheus-client` on the ops listener
//! (see `ops.rs`): requests by route and status with their latency, token checks by
//! outcome and by path (answered from the cache or by introspection), provider calls by
//! outcome with their latency, and the accept loop's connections. The no_std core knows
//! nothing of them: they are counted by wrappers around what the host hands the core
//! (its `Service`, its connector, its token validators).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use push_advisor_oauth::{TokenInfo, TokenValidator, ValidationError};
use push_advisor_tokio::LiveStats;

/// Labels of a counted request: the route's path as the route table spells it (or
/// `other` for a path no route serves, `unparsed` for a refused request) and the status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

type Latency = Family<RouteLabel, Histogram, fn() -> Histogram>;

/// What a token check ended in, as a label value.
const OUTCOMES: [&str; 9] = [
    "active",
    "inactive",
    "malformed",
    "unreachable",
    "timeout",
    "bad_answer",
    "misconfigured",
    "too_large",
    "busy",
];

fn outcome_index<T>(result: &Result<T, ValidationError>) -> usize {
    match result {
        Ok(_) => 0,
        Err(ValidationError::Inactive) => 1,
        Err(ValidationError::Malformed) => 2,
        Err(ValidationError::Unreachable) => 3,
        Err(ValidationError::Timeout) => 4,
        Err(ValidationError::BadAnswer) => 5,
        Err(ValidationError::Misconfigured) => 6,
        Err(ValidationError::TooLarge) => 7,
        Err(ValidationError::Busy) => 8,
    }
}

/// Every metric of the process, and the freshness of the provider for `/readyz`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    provider_calls: Family<OutcomeLabel, Counter>,
    provider_latency: Histogram,
    started: Instant,
    /// Milliseconds after `started` of the last provider call that worked (0: none yet).
    provider_ok_at: AtomicU64,
    /// Milliseconds after `started` of the last provider call that failed (0: none yet).
    provider_failed_at: AtomicU64,
    checks: Arc<TokenCheckCounts>,
}

/// Token checks by outcome: all of them (what the guard asked) and those the cache
/// passed on to introspection; the difference was answered from the cache.
#[derive(Debug, Default)]
struct TokenCheckCounts {
    all: [AtomicU64; OUTCOMES.len()],
    introspected: [AtomicU64; OUTCOMES.len()],
}

/// Which count a [`CountedChecks`] adds to.
#[derive(Debug, Clone, Copy)]
pub enum CheckPath {
    /// Every check, in front of the cache.
    All,
    /// Checks that reached the introspection endpoint, behind the cache.
    Introspection,
}

impl Metrics {
    /// The metrics of a server whose accept loop counts into `connections`.
    pub fn new(connections: Arc<LiveStats>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "push_advisor_http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let latency: Latency =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_25, 2.0, 16)));
        registry.register(
            "push_advisor_http_request_duration_seconds",
            "Time to answer a routed request, by route",
            latency.clone(),
        );
        let provider_calls = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "push_advisor_provider_calls",
            "Calls to the OAuth provider (discovery, introspection, code exchange, readiness probes), by outcome",
            provider_calls.clone(),
        );
        let provider_latency = Histogram::new(exponential_buckets(0.000_5, 2.0, 16));
        registry.register(
            "push_advisor_provider_call_duration_seconds",
            "Time from connecting to the provider to the end of the exchange",
            provider_latency.clone(),
        );
        let checks = Arc::new(TokenCheckCounts::default());
        registry.register_collector(Box::new(Derived {
            connections,
            checks: Arc::clone(&checks),
        }));
        Metrics {
            registry,
            requests,
            latency,
            provider_calls,
            provider_latency,
            started: Instant::now(),
            provider_ok_at: AtomicU64::new(0),
            provider_failed_at: AtomicU64::new(0),
            checks,
        }
    }

    /// Counts an answered request.
    pub fn request(&self, route: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
    }

    /// Records how long a routed request took to answer.
    pub fn request_latency(&self, route: &'static str, took: Duration) {
        self.latency
            .get_or_create(&RouteLabel { route })
            .observe(took.as_secs_f64());
    }

    /// Counts a provider call that ended in `outcome` (`ok`, `connect_failed`, `io_failed`).
    pub fn provider_call(&self, outcome: &'static str, took: Duration) {
        self.provider_calls
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
        self.provider_latency.observe(took.as_secs_f64());
        let at = self.now_ms();
        if outcome == "ok" {
            self.provider_ok_at.store(at, Ordering::Relaxed);
        } else {
            self.provider_failed_at.store(at, Ordering::Relaxed);
        }
    }

    /// Whether the last provider call worked and ended less than `within` ago.
    pub fn provider_recently_ok(&self, within: Duration) -> bool {
        let ok = self.provider_ok_at.load(Ordering::Relaxed);
        let failed = self.provider_failed_at.load(Ordering::Relaxed);
        ok != 0 && ok >= failed && self.now_ms().saturating_sub(ok) < within.as_millis() as u64
    }

    fn now_ms(&self) -> u64 {
        // 1 at the start, so 0 can mean "never".
        self.started.elapsed().as_millis() as u64 + 1
    }

    fn check(&self, path: CheckPath, outcome: usize) {
        let counts = match path {
            CheckPath::All => &self.checks.all,
            CheckPath::Introspection => &self.checks.introspected,
        };
        if let Some(count) = counts.get(outcome) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; a collector's error would leave the rest out.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The metrics read at scrape time: the accept loop's connections, and token checks
/// answered from the cache (all minus introspected).
#[derive(Debug)]
struct Derived {
    connections: Arc<LiveStats>,
    checks: Arc<TokenCheckCounts>,
}

impl Collector for Derived {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.connections.snapshot();
        let open = i64::try_from(self.connections.open_connections()).unwrap_or(i64::MAX);
        ConstGauge::new(open).encode(encoder.encode_descriptor(
            "push_advisor_open_connections",
            "Connections being served now",
            None,
            MetricType::Gauge,
        )?)?;
        ConstCounter::new(stats.accepted).encode(encoder.encode_descriptor(
            "push_advisor_connections_accepted",
            "Connections admitted and served",
            None,
            MetricType::Counter,
        )?)?;
        ConstCounter::new(stats.refused_over_capacity).encode(encoder.encode_descriptor(
            "push_advisor_connections_refused",
            "Connections answered 503 because the connection cap was reached",
            None,
            MetricType::Counter,
        )?)?;
        let mut closed = encoder.encode_descriptor(
            "push_advisor_connections_closed_abnormally",
            "Connections closed by a timeout or an I/O error, by reason",
            None,
            MetricType::Counter,
        )?;
        for (reason, count) in [
            ("idle_timeout", stats.idle_timeouts),
            ("head_timeout", stats.head_timeouts),
            ("write_timeout", stats.write_timeouts),
            ("io_error", stats.failed),
            ("aborted_at_shutdown", stats.aborted_at_shutdown),
            ("evicted", stats.evicted),
        ] {
            ConstCounter::new(count).encode(closed.encode_family(&[("reason", reason)])?)?;
        }
        let mut checks = encoder.encode_descriptor(
            "push_advisor_token_checks",
            "Bearer token checks by outcome and by path (cache: answered from the introspection cache; introspection: asked the provider)",
            None,
            MetricType::Counter,
        )?;
        for (at, outcome) in OUTCOMES.iter().enumerate() {
            let all = self.checks.all[at].load(Ordering::Relaxed);
            let introspected = self.checks.introspected[at].load(Ordering::Relaxed);
            for (path, count) in [
                ("cache", all.saturating_sub(introspected)),
                ("introspection", introspected),
            ] {
                ConstCounter::new(count)
                    .encode(checks.encode_family(&[("path", path), ("outcome", *outcome)])?)?;
            }
        }
        Ok(())
    }
}

/// A token validator that counts its checks by outcome into [`Metrics`]: one in front
/// of the cache (every check) and one behind it (the introspections).
#[derive(Debug)]
pub struct CountedChecks<V> {
    inner: V,
    metrics: &'static Metrics,
    path: CheckPath,
}

impl<V> CountedChecks<V> {
    /// Counts the checks of `inner` as `path`.
    pub fn new(inner: V, metrics: &'static Metrics, path: CheckPath) -> Self {
        CountedChecks {
            inner,
            metrics,
            path,
        }
    }
}

impl<V: TokenValidator> TokenValidator for CountedChecks<V> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        let result = self.inner.validate(token).await;
        self.metrics.check(self.path, outcome_index(&result));
        if matches!(result, Err(ValidationError::TooLarge)) {
            tracing::warn!(
                scope_max = push_advisor_oauth::SCOPE_MAX,
                audiences = push_advisor_oauth::AUDIENCES,
                subject_max = push_advisor_oauth::SUBJECT_MAX,
                "the provider's answer for a token exceeds this server's bounds: refused as invalid_token (401) and remembered like an inactive token"
            );
        }
        result
    }

    async fn inspect<T>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        let result = self.inner.inspect(token, inspect).await;
        self.metrics.check(self.path, outcome_index(&result));
        result
    }
}
