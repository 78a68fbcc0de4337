//! Command-line flags and environment variables of the `push-advisor` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// The Push Advisor API and MCP server, protected by an external OAuth 2.0 provider.
///
/// Every option can be given as a flag or as the environment variable shown.
#[derive(Debug, Clone, Parser)]
#[command(name = "push-advisor", version, about, long_about = None)]
pub struct Options {
    /// `serve` (the default) runs the server; `check` checks the provider settings, line by line with a fix for each problem, and exits 0 only when all pass.
    #[arg(value_enum, default_value_t = Mode::Serve)]
    pub mode: Mode,

    /// Address to listen on.
    #[arg(long, env = "PUSH_ADVISOR_BIND", default_value = "127.0.0.1:8787")]
    pub bind: SocketAddr,

    /// Address of the ops listener: /healthz, /readyz and Prometheus /metrics [default: off]
    #[arg(long, env = "PUSH_ADVISOR_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Canonical URI of this API (the RFC 8707 resource tokens must name) [default: http://<bind>]
    #[arg(long, env = "PUSH_ADVISOR_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Issuer URL of the OAuth provider exactly as it publishes it (a trailing `/` counts:
    /// Auth0's issuers end with one); its endpoints come from discovery.
    #[arg(long, env = "PUSH_ADVISOR_ISSUER")]
    pub issuer: String,

    /// Client id of this server at the provider (for /login and introspection).
    #[arg(long, env = "PUSH_ADVISOR_CLIENT_ID", default_value = "push-advisor")]
    pub client_id: String,

    /// Client secret (prefer PUSH_ADVISOR_CLIENT_SECRET_FILE; never logged).
    #[arg(long, env = "PUSH_ADVISOR_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,

    /// File holding the client secret (trailing newline ignored).
    #[arg(long, env = "PUSH_ADVISOR_CLIENT_SECRET_FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// How this server authenticates to the provider.
    #[arg(long, env = "PUSH_ADVISOR_CLIENT_AUTH", value_enum, default_value_t = ClientAuthMethod::ClientSecretBasic)]
    pub client_auth: ClientAuthMethod,

    /// PEM file with the CA that signs the provider's certificate [default: the bundled web roots]
    #[arg(long, env = "PUSH_ADVISOR_CA_FILE")]
    pub ca_file: Option<PathBuf>,

    /// Comma-separated audiences a token may name to be accepted here (e.g. Entra ID's
    /// `api://<app id>` or the app id itself) [default: the public URL and its /mcp]
    #[arg(long, env = "PUSH_ADVISOR_AUDIENCES", value_delimiter = ',')]
    pub audiences: Vec<String>,

    /// The `scope` /login asks the provider for, when it names our scopes its own way (Entra ID: `api://<app id>/.default`) [default: the API's scopes]
    #[arg(long, env = "PUSH_ADVISOR_LOGIN_SCOPE")]
    pub login_scope: Option<String>,

    /// An `audience` parameter for /login's authorization request (Auth0 picks the API, and the token's `aud`, by it)
    #[arg(long, env = "PUSH_ADVISOR_LOGIN_AUDIENCE")]
    pub login_audience: Option<String>,

    /// Whether /login names this resource to the provider (RFC 8707 `resource`); false for Auth0 without its resource-parameter profile, and Entra ID
    #[arg(long, env = "PUSH_ADVISOR_LOGIN_RESOURCE", default_value_t = true, action = clap::ArgAction::Set)]
    pub login_resource: bool,

    /// Longest time, in seconds, a token check (introspection answer or JWT) is reused (also capped by the token's exp); 0 disables the cache.
    #[arg(long, env = "PUSH_ADVISOR_CACHE_TTL", default_value_t = 60)]
    pub cache_ttl: u64,

    /// Seconds an inactive-token answer is remembered.
    #[arg(long, env = "PUSH_ADVISOR_NEGATIVE_CACHE_TTL", default_value_t = 5)]
    pub negative_cache_ttl: u64,

    /// Introspection answers remembered at once (distinct tokens; about 170 bytes each).
    #[arg(long, env = "PUSH_ADVISOR_TOKEN_CACHE_ENTRIES", default_value_t = push_advisor_tokio::token_cache::DEFAULT_CAPACITY)]
    pub token_cache_entries: usize,

    /// DANGER: accept `demo_token_<user>` without the provider; only for demos [default: off]
    #[arg(long, env = "PUSH_ADVISOR_DEMO_TOKENS", default_value_t = false)]
    pub demo_tokens: bool,

    /// Let MCP clients initialize, list tools and call public tools without a token; only get_deploy_history challenges [default: off]
    #[arg(long, env = "PUSH_ADVISOR_MCP_LAZY_AUTH", default_value_t = false)]
    pub mcp_lazy_auth: bool,

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "PUSH_ADVISOR_LOG", default_value = "info")]
    pub log: tracing::Level,

    /// Comma-separated browser origins allowed on /mcp besides the public URL's (DNS-rebinding defence), and for CORS of the other routes; `*` allows any [default: none: /mcp takes only the public URL's origin, CORS allows any]
    #[arg(long, env = "PUSH_ADVISOR_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Connections served at once; when all are taken, a new one closes the connection waiting longest without a request under way (idle keep-alive, or an incomplete request head), else gets a 503.
    #[arg(long, env = "PUSH_ADVISOR_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,

    /// Connections one client address may hold; beyond it, the same rule within that address's connections.
    #[arg(
        long,
        env = "PUSH_ADVISOR_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub max_connections_per_address: usize,

    /// Worker threads serving connections; 0 means two per CPU.
    #[arg(long, env = "PUSH_ADVISOR_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// Seconds a kept-alive connection may stay idle.
    #[arg(long, env = "PUSH_ADVISOR_IDLE_TIMEOUT", default_value_t = 30)]
    pub idle_timeout: u64,

    /// Milliseconds one call to the provider may take before protected requests answer 503.
    #[arg(long, env = "PUSH_ADVISOR_PROVIDER_TIMEOUT_MS", default_value_t = 5000)]
    pub provider_timeout_ms: u64,

    /// Provider calls for unknown tokens in flight at once; beyond it they answer 503 without a call.
    #[arg(
        long,
        env = "PUSH_ADVISOR_PROVIDER_CALLS_IN_FLIGHT",
        default_value_t = 16
    )]
    pub provider_calls_in_flight: u16,

    /// Provider calls for unknown tokens started per second; beyond it they answer 503 without a call.
    #[arg(
        long,
        env = "PUSH_ADVISOR_PROVIDER_CALLS_PER_SECOND",
        default_value_t = 100
    )]
    pub provider_calls_per_second: u16,

    /// Percent of both provider-call budgets one client address may use.
    #[arg(long, env = "PUSH_ADVISOR_PROVIDER_CLIENT_SHARE_PERCENT", default_value_t = 25,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub provider_client_share_percent: u8,

    /// Introspection endpoint, overriding discovery.
    #[arg(long, env = "PUSH_ADVISOR_INTROSPECTION_ENDPOINT")]
    pub introspection_endpoint: Option<String>,

    /// Authorization endpoint, overriding discovery.
    #[arg(long, env = "PUSH_ADVISOR_AUTHORIZATION_ENDPOINT")]
    pub authorization_endpoint: Option<String>,

    /// Token endpoint, overriding discovery.
    #[arg(long, env = "PUSH_ADVISOR_TOKEN_ENDPOINT")]
    pub token_endpoint: Option<String>,

    /// How access tokens are checked: `auto` (JWTs locally against the provider's JWKS when it publishes one, other tokens by introspection), `jwt` (only locally; no client secret needed for it) or `introspection` (every token asks the provider).
    #[arg(long, env = "PUSH_ADVISOR_VALIDATION", value_enum, default_value_t = Validation::Auto)]
    pub validation: Validation,

    /// JWKS URI, overriding discovery's `jwks_uri`.
    #[arg(long, env = "PUSH_ADVISOR_JWKS_URI")]
    pub jwks_uri: Option<String>,

    /// Also accept JWT access tokens with `typ: JWT` or no `typ` (Auth0, Keycloak, Entra ID, Cognito); by default only RFC 9068's `at+jwt`.
    #[arg(long, env = "PUSH_ADVISOR_JWT_ACCEPT_TYP_JWT", default_value_t = false)]
    pub jwt_accept_typ_jwt: bool,

    /// Seconds of clock skew allowed for a JWT's `nbf` and `iat`.
    #[arg(long, env = "PUSH_ADVISOR_JWT_SKEW", default_value_t = 60)]
    pub jwt_skew: u64,

    /// Read a JWT's `permissions` array (Auth0 RBAC) as scopes too.
    #[arg(long, env = "PUSH_ADVISOR_JWT_PERMISSIONS", default_value_t = false)]
    pub jwt_permissions: bool,

    /// AWS Cognito: comma-separated app client ids whose access tokens (no `aud`, `token_use: access`) are accepted [default: none: tokens must name this API in `aud`]
    #[arg(
        long,
        env = "PUSH_ADVISOR_JWT_COGNITO_CLIENT_IDS",
        value_delimiter = ','
    )]
    pub jwt_cognito_client_ids: Vec<String>,

    /// Path of the forward-auth endpoint for nginx `auth_request`, Caddy `forward_auth` and the like, e.g. /auth [default: off]
    #[arg(long, env = "PUSH_ADVISOR_FORWARD_AUTH_PATH")]
    pub forward_auth_path: Option<String>,

    /// Comma-separated forward-auth rules `[METHOD ]PREFIX=SCOPE` (longest prefix wins; an empty scope or no matching rule needs any valid token)
    #[arg(long, env = "PUSH_ADVISOR_FORWARD_AUTH_RULES", value_delimiter = ',')]
    pub forward_auth_rules: Vec<String>,

    /// Header that carries a granted token's subject (or client id) to the upstream.
    #[arg(
        long,
        env = "PUSH_ADVISOR_FORWARD_AUTH_SUBJECT_HEADER",
        default_value = "X-Auth-Subject"
    )]
    pub forward_auth_subject_header: String,

    /// Header that carries a granted token's scopes (space-separated) to the upstream.
    #[arg(
        long,
        env = "PUSH_ADVISOR_FORWARD_AUTH_SCOPES_HEADER",
        default_value = "X-Auth-Scopes"
    )]
    pub forward_auth_scopes_header: String,
}

/// What the binary does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Serve the API and MCP endpoint.
    Serve,
    /// Check the provider settings and exit.
    Check,
}

/// How tokens are checked (`push_advisor_oauth::jwt::ValidationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Validation {
    Auto,
    Jwt,
    Introspection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

impl Options {
    /// The canonical resource URI, without a trailing slash.
    pub fn resource(&self) -> String {
        let url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind));
        url.trim_end_matches('/').to_owned()
    }

    /// The client secret from the flag, the environment or the file.
    pub fn secret(&self) -> Result<String, String> {
        match (&self.client_secret, &self.client_secret_file) {
            (Some(secret), _) => Ok(secret.clone()),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|text| text.trim_end_matches(['\r', '\n']).to_owned())
                .map_err(|e| format!("cannot read the client secret file {}: {e}", path.display())),
            (None, None) => Err("no client secret: set PUSH_ADVISOR_CLIENT_SECRET_FILE or PUSH_ADVISOR_CLIENT_SECRET".to_owned()),
        }
    }
}
