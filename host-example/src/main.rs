//! `push-advisor`: the Push Advisor API and MCP server on a host, checking tokens with
//! an external OAuth provider.

mod access_log;
mod check;
mod client_share;
mod forward_auth;
mod metrics;
mod ops;
mod options;
mod provider_link;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use push_advisor_app::{AppConfig, AppUrls, Metadata, Platform, PushAdvisor};
use push_advisor_http::net::Endpoint;
use push_advisor_mcp::McpConfig;
use push_advisor_oauth::guard::DEMO_TOKEN_WARNING;
use push_advisor_oauth::jwt::{
    ChosenValidator, JwksPolicy, JwtSettings, JwtValidator, KeyStore, ValidationMode,
};
use push_advisor_oauth::{
    BudgetedValidator, BufferSlot, CallBudget, ClientAuth, ClientCredentials, DeadlineValidator,
    DiscoveredIntrospector, Endpoints, OAuthConfig, ProviderBuffers,
};
use push_advisor_tokio::{
    Connector, ConnectorOptions, HostClock, LiveStats, OsRng, ServerOptions, TlsRoots, TokenCache,
    run, run_with_stats, shutdown_signal,
};
use rand_chacha::rand_core::SeedableRng;
use tracing::{error, info, warn};

use access_log::AccessLogged;
use client_share::ClientShare;
use forward_auth::{ForwardAuth, ForwardAuthConfig, Rule};
use metrics::{CheckPath, CountedChecks, Metrics};
use ops::Ops;
use options::{ClientAuthMethod, Mode, Options, Validation};
use provider_link::{LoggedConnector, discover_until_known};

pub type Mx = CriticalSectionRawMutex;
/// Every token check ends within the provider timeout and is counted in front of the
/// cache. JWTs are checked locally (keys from the JWKS) and their answers cached like
/// introspection's: a SHA-256 lookup is cheaper than a signature. Introspections are
/// limited per client and in all by the call budget, and counted behind it.
type Validator = DeadlineValidator<
    'static,
    CountedChecks<
        TokenCache<
            'static,
            ChosenValidator<
                'static,
                JwtValidator<'static, Mx, LoggedConnector, HostClock>,
                Budgeted,
            >,
            HostClock,
        >,
    >,
    LoggedConnector,
>;
type Budgeted = ClientShare<
    BudgetedValidator<
        Mx,
        CountedChecks<DiscoveredIntrospector<'static, Mx, LoggedConnector>>,
        HostClock,
    >,
>;
/// A ChaCha stream seeded from the OS: one `getrandom` at start-up instead of two
/// system calls per `/vibe-check` (and per login state).
type Rng = rand_chacha::ChaCha20Rng;
/// What the host supplies to the app.
struct Host;

impl Platform for Host {
    type Mutex = Mx;
    type Clock = HostClock;
    type Rng = Rng;
    type Connector = LoggedConnector;
}

/// Logins pending at once (each expires after the login lifetime): enough that a flood of
/// `/login` visits within that time does not push out a real user's login.
const PENDING_LOGINS: usize = 1024;
type App = PushAdvisor<'static, Host, Validator, PENDING_LOGINS>;

/// Settings live for the whole process; leaking them gives the core its `'static` borrows.
/// Provider calls (introspection, JWKS, code exchange) in flight at once, and the bytes
/// each has for its request and the answer: a JWKS with certificate chains (`x5c`,
/// Keycloak's) is 3-6 KiB per couple of keys.
const PROVIDER_CALLS: usize = 16;
const PROVIDER_BUFFER: usize = 16 * 1024;

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn leak_str(value: String) -> &'static str {
    Box::leak(value.into_boxed_str())
}

fn leak_strs(values: &[String]) -> &'static [&'static str] {
    Box::leak(values.iter().map(|v| leak_str(v.clone())).collect())
}

fn main() -> ExitCode {
    let options = Options::parse();
    tracing_subscriber::fmt()
        .with_max_level(options.log)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    // The app (its 1,024 pending logins among it) is built on the stack before it is
    // leaked; a large stack keeps debug builds (which do not elide the move) from
    // overflowing.
    let started = std::thread::Builder::new()
        .name("push-advisor".into())
        .stack_size(64 * 1024 * 1024)
        .spawn(move || start(options))
        .map_err(|e| format!("cannot start the main thread: {e}"))
        .and_then(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| Err("the main thread panicked".into()))
        });
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn start(options: Options) -> Result<(), String> {
    // Local JWT validation needs no client secret; introspection does.
    let secret = leak_str(match options.secret() {
        Err(_) if options.validation == Validation::Jwt => String::new(),
        secret => secret?,
    });
    let resource = leak_str(options.resource());
    if Endpoint::parse(resource).is_none() {
        return Err(format!(
            "PUSH_ADVISOR_PUBLIC_URL must be an http(s) URL, not {resource:?}"
        ));
    }
    if Endpoint::parse(&options.issuer).is_none() {
        return Err(format!(
            "PUSH_ADVISOR_ISSUER must be an http(s) URL, not {:?}",
            options.issuer
        ));
    }
    let urls = leak(AppUrls::new(resource).ok_or("PUSH_ADVISOR_PUBLIC_URL is too long")?);
    let oauth: &'static OAuthConfig<'static> = leak(oauth_config(&options, resource, urls, secret));
    if oauth.demo_tokens {
        warn!("{DEMO_TOKEN_WARNING}");
    }

    let roots = match &options.ca_file {
        Some(path) => TlsRoots::PemFile(path.clone()),
        None => TlsRoots::WebPki,
    };
    let provider_timeout = Duration::from_millis(options.provider_timeout_ms);
    let connector = Connector::new(ConnectorOptions {
        connect_timeout: provider_timeout,
        read_timeout: provider_timeout,
        write_timeout: provider_timeout,
        exchange_timeout: provider_timeout,
        roots,
        ..ConnectorOptions::default()
    })
    .map_err(|e| format!("cannot set up the provider connection: {e}"))?;
    if options.mode == Mode::Check {
        return check_mode(oauth, connector);
    }
    let connections: Arc<LiveStats> = Arc::default();
    let metrics: &'static Metrics = leak(Metrics::new(Arc::clone(&connections)));
    let connector = leak(LoggedConnector::new(connector, metrics));
    let metadata: &'static Metadata = leak(Metadata::new());
    let clock = HostClock::new();
    // Calls to the provider borrow these; more calls at once wait for one to finish.
    let slots: Vec<BufferSlot<'static, Mx>> = (0..PROVIDER_CALLS)
        .map(|_| embassy_sync::mutex::Mutex::new(&mut vec![0u8; PROVIDER_BUFFER].leak()[..]))
        .collect();
    let buffers = leak(ProviderBuffers::new(slots.leak()));
    let introspector = DiscoveredIntrospector::new(metadata, connector, oauth, buffers);
    let budget = CallBudget {
        in_flight: options.provider_calls_in_flight,
        per_second: options.provider_calls_per_second,
    };
    let counted = CountedChecks::new(introspector, metrics, CheckPath::Introspection);
    let budgeted = ClientShare::new(
        BudgetedValidator::new(counted, clock, budget),
        budget,
        options.provider_client_share_percent,
    );
    let forward_auth = forward_auth_config(&options)?;
    // Forward-auth rules may require scopes beyond `scopes_supported`: the cache keeps those too.
    let rule_scopes: Vec<&'static str> = forward_auth
        .iter()
        .flat_map(|config| config.rules.iter().map(|rule| rule.scope))
        .collect();
    let jwt_settings = leak(jwt_settings(&options));
    let keys = leak(KeyStore::new(JwksPolicy::default()));
    // The MCP endpoint's URI is an audience too (what MCP clients ask for, per its PRM): the
    // JWT validator lets both through and the cache keeps either, and the guard then checks
    // each route's own.
    let token_oauth: &'static OAuthConfig<'static> = leak(OAuthConfig {
        resource_alias: &urls.mcp,
        ..*oauth
    });
    let jwt = JwtValidator::new(
        token_oauth,
        jwt_settings,
        metadata,
        connector,
        buffers,
        clock,
        keys,
    );
    let mode = match options.validation {
        Validation::Auto => ValidationMode::Auto,
        Validation::Jwt => ValidationMode::Jwt,
        Validation::Introspection => ValidationMode::Introspection,
    };
    info!(validation = mode.name(), "token validation");
    let chosen = ChosenValidator::new(mode, metadata, jwt, budgeted);
    let cache = TokenCache::new(
        chosen,
        clock,
        token_oauth,
        options.token_cache_entries,
        &rule_scopes,
    )
    .map_err(|e| e.to_string())?;
    let validator = leak(DeadlineValidator::new(
        CountedChecks::new(cache, metrics, CheckPath::All),
        connector,
        options.provider_timeout_ms,
    ));
    let listed_origins: Vec<String> = options
        .allowed_origins
        .iter()
        .map(|origin| origin.trim().trim_end_matches('/').to_owned())
        .filter(|origin| !origin.is_empty())
        .collect();
    let allowed_origins = leak_strs(&listed_origins);
    // CORS of the REST routes is as before: any origin unless a list is given.
    let cors_origins = if listed_origins.is_empty() {
        vec!["*".to_owned()]
    } else {
        listed_origins
    };
    let config = AppConfig {
        mcp_lazy_auth: options.mcp_lazy_auth,
        ..AppConfig::new(
            *oauth,
            urls,
            McpConfig {
                name: "push-advisor",
                title: "Push Advisor",
                version: env!("CARGO_PKG_VERSION"),
                instructions: "Tools to decide whether to deploy: can_i_push_to_prod (weekday rule), vibe_check (random), get_deploy_history (needs api:read).",
                max_message_bytes: 8 * 1024,
                allowed_origins,
                public_url: resource,
                loopback: options.bind.ip().is_loopback(),
            },
        )
    };
    // Leaked, not moved into the runtime's future: the app (its pending-login table) is
    // ~120 KB, and each move copies it.
    let app: &'static App = leak(PushAdvisor::new(
        config,
        clock,
        Rng::from_rng(OsRng).map_err(|e| format!("no randomness from the OS: {e}"))?,
        metadata,
        validator,
        connector,
        buffers,
    ));
    let server_options = ServerOptions {
        allowed_origins: cors_origins,
        max_connections: options.max_connections,
        max_connections_per_address: options.max_connections_per_address,
        idle_timeout: Duration::from_secs(options.idle_timeout),
        workers: options.workers,
        ..ServerOptions::default()
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = tokio::net::TcpListener::bind(options.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", options.bind))?;
        // The ops listener is bound before the API's "listening on" line, so both answer once it is printed.
        if let Some(bind) = options.metrics_bind {
            let ops_listener = tokio::net::TcpListener::bind(bind)
                .await
                .map_err(|e| format!("cannot listen on {bind} (PUSH_ADVISOR_METRICS_BIND): {e}"))?;
            let ops_address = ops_listener.local_addr().map_err(|e| e.to_string())?;
            info!(address = %ops_address, "ops listener (/healthz, /readyz, /metrics) on http://{ops_address}");
            let ops = Arc::new(Ops {
                metrics,
                metadata,
                connector,
                probe_timeout: provider_timeout,
            });
            let ops_options = ServerOptions {
                allowed_origins: Vec::new(),
                max_connections: 16,
                workers: 1,
                ..ServerOptions::default()
            };
            tokio::task::spawn_local(async move {
                if let Err(error) = run(ops_listener, ops, ops_options, shutdown_signal()).await {
                    error!("ops listener failed: {error}");
                }
            });
        }
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        info!(%address, resource, issuer = %options.issuer, "listening on http://{address}");
        tokio::task::spawn_local(discover_until_known(connector, oauth, metadata));
        let stats = match forward_auth {
            Some(config) => {
                info!(
                    path = config.path,
                    rules = config.rules.len(),
                    "forward auth on"
                );
                let service = ForwardAuth {
                    inner: app,
                    config,
                    oauth,
                    validator,
                    clock,
                };
                run_with_stats(
                    listener,
                    Arc::new(AccessLogged { service, metrics }),
                    server_options,
                    shutdown_signal(),
                    connections,
                )
                .await
            }
            None => {
                run_with_stats(
                    listener,
                    Arc::new(AccessLogged {
                        service: app,
                        metrics,
                    }),
                    server_options,
                    shutdown_signal(),
                    connections,
                )
                .await
            }
        }
        .map_err(|e| format!("server failed: {e}"))?;
        info!(?stats, "stopped");
        Ok(())
    })
}

/// The forward-auth settings, `None` when no path turns the endpoint on.
fn forward_auth_config(options: &Options) -> Result<Option<&'static ForwardAuthConfig>, String> {
    let Some(path) = &options.forward_auth_path else {
        if !options.forward_auth_rules.is_empty() {
            return Err(
                "PUSH_ADVISOR_FORWARD_AUTH_RULES needs PUSH_ADVISOR_FORWARD_AUTH_PATH".into(),
            );
        }
        return Ok(None);
    };
    if !path.starts_with('/') {
        return Err(format!(
            "PUSH_ADVISOR_FORWARD_AUTH_PATH must start with /, not {path:?}"
        ));
    }
    let rules = options
        .forward_auth_rules
        .iter()
        .filter(|rule| !rule.trim().is_empty())
        .map(|rule| Rule::parse(rule))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(leak(ForwardAuthConfig::new(
        leak_str(path.clone()),
        rules,
        leak_str(options.forward_auth_subject_header.clone()),
        leak_str(options.forward_auth_scopes_header.clone()),
    ))))
}

/// `push-advisor check`: the provider checks on a runtime of their own; the verdict is the exit status.
fn check_mode(oauth: &'static OAuthConfig<'static>, connector: Connector) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    if runtime.block_on(check::run(oauth, &connector)) {
        Ok(())
    } else {
        Err("push-advisor check: some checks failed".to_owned())
    }
}

/// How JWT access tokens are read, from the options.
fn jwt_settings(options: &Options) -> JwtSettings<'static> {
    let cognito: Vec<&'static str> = options
        .jwt_cognito_client_ids
        .iter()
        .filter(|id| !id.trim().is_empty())
        .map(|id| leak_str(id.trim().to_owned()))
        .collect();
    JwtSettings {
        accept_jwt_typ: options.jwt_accept_typ_jwt,
        skew_seconds: options.jwt_skew,
        permissions_as_scopes: options.jwt_permissions,
        cognito_client_ids: cognito.leak(),
    }
}

fn oauth_config(
    options: &Options,
    resource: &'static str,
    urls: &'static AppUrls,
    secret: &'static str,
) -> OAuthConfig<'static> {
    let client = ClientCredentials {
        client_id: leak_str(options.client_id.clone()),
        client_secret: secret,
        auth: match options.client_auth {
            ClientAuthMethod::ClientSecretBasic => ClientAuth::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost => ClientAuth::ClientSecretPost,
        },
    };
    // Kept exactly as configured: RFC 8414 issuers are compared as the provider
    // publishes them, and some (Auth0) end with `/`.
    let issuer = leak_str(options.issuer.clone());
    let endpoint = |value: &Option<String>| value.clone().map(leak_str);
    OAuthConfig {
        audiences: leak_strs(&options.audiences),
        authorize_scope: endpoint(&options.login_scope),
        authorize_audience: endpoint(&options.login_audience),
        send_resource: options.login_resource,
        redirect_uri: &urls.redirect,
        endpoints: Endpoints {
            authorization: endpoint(&options.authorization_endpoint),
            token: endpoint(&options.token_endpoint),
            introspection: endpoint(&options.introspection_endpoint),
            jwks: endpoint(&options.jwks_uri),
            ..Endpoints::default()
        },
        cache_max_lifetime_ms: options.cache_ttl * 1000,
        negative_lifetime_ms: options.negative_cache_ttl.min(options.cache_ttl) * 1000,
        provider_timeout_ms: options.provider_timeout_ms,
        demo_tokens: options.demo_tokens,
        ..push_advisor_app::oauth_config(resource, &urls.resource_metadata, issuer, client)
    }
}
