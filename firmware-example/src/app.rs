//! What the Push Advisor firmware serves, and with how much memory: the Push Advisor
//! app over the embassy adapter. `start` is the one place that builds it; `main`
//! supplies the network stack (`net.rs`), and the board a random number generator and
//! the settings.

use embassy_executor::Spawner;
use embassy_net::Stack;
use embassy_sync::mutex::Mutex;
use embassy_time::Duration;
use push_advisor_app::{AppConfig, AppUrls, Metadata, Platform, PushAdvisor};
use push_advisor_embassy::SocketMemory;
use push_advisor_mcp::McpConfig;
#[cfg(feature = "jwt")]
use push_advisor_oauth::jwt;
use push_advisor_oauth::{
    BudgetedValidator, BufferSlot, CachePolicy, CachingValidator, ClientAuth, ClientCredentials,
    DeadlineValidator, DiscoveredIntrospector, OAuthConfig, ProviderBuffers,
};
use static_cell::{ConstStaticCell, StaticCell};

use crate::board_parts::{Mx, Settings};
use crate::discovery::{CLOCK, Clock, provider_task};
use crate::net::{Connector, ConnectorState, OUTBOUND, PROVIDER_CALL_BUDGET, SOCKETS, spawn_once};

/// Per socket: smoltcp receive/transmit buffers (the board's `TCP_WINDOW`), then the
/// core's request and response buffers, the same on every board so the TAP tests run
/// what the board runs, except that linux-tap's response buffer is larger: it serves
/// the login pages, whose head (CSP, `Referrer-Policy`, the login cookie) is about
/// 550 B; the board has no login pages. The request buffer holds a head plus an MCP
/// message (`MCP_MESSAGE_MAX`); answers larger than the response buffer are streamed
/// window by window.
const CORE_RX: usize = 1536;
const CORE_TX: usize = if cfg!(feature = "linux-tap") {
    1024
} else {
    512
};
/// Largest MCP message accepted (413 above): initialize from the official SDKs is
/// about 300 B, tool calls about 100 B.
const MCP_MESSAGE_MAX: usize = 1024;
pub type Memory =
    SocketMemory<{ crate::board::TCP_WINDOW }, { crate::board::TCP_WINDOW }, CORE_RX, CORE_TX>;
/// Every socket's memory, lent to the server by `main`.
pub static MEMORY: ConstStaticCell<[Memory; SOCKETS]> =
    ConstStaticCell::new([const { Memory::new() }; SOCKETS]);

/// Tokens remembered by the introspection cache.
pub const CACHE_ENTRIES: usize = 4;
/// Bytes of each buffer that calls to the provider borrow (one per outbound connection)
/// for the request and the answer, head included: the largest answers are the metadata
/// document at discovery (oidc-provider's is about 1.8 KiB) and a token response with
/// an ID token on `/token`.
const PROVIDER_BUFFER: usize = 3072;

/// Every token check ends within the provider timeout, waits for a cache lane or a
/// provider buffer included.
type Validator =
    DeadlineValidator<'static, CachingValidator<Mx, Checker, Clock, CACHE_ENTRIES>, Connector>;

/// Introspection within the call budget (`PROVIDER_CALL_BUDGET`), so a flood of junk
/// tokens cannot turn into as many provider calls.
type Introspection = BudgetedValidator<Mx, DiscoveredIntrospector<'static, Mx, Connector>, Clock>;

#[cfg(not(feature = "jwt"))]
type Checker = Introspection;

/// Feature `jwt`: JWT access tokens checked on the device against the provider's JWKS
/// (no round trip per new token), other tokens introspected, as `PA_VALIDATION` says.
#[cfg(feature = "jwt")]
type Checker = jwt::ChosenValidator<
    'static,
    jwt::JwtValidator<'static, Mx, Connector, Clock, JWKS_KEYS>,
    Introspection,
>;

/// Signing keys kept (each takes the room of an RSA-4096 key, about 620 B). The JWKS
/// document must fit a provider buffer (`PROVIDER_BUFFER`, its request head included):
/// one or two keys without certificate chains (oidc-provider, Auth0, Cognito), not
/// Keycloak's `x5c`-laden sets.
#[cfg(feature = "jwt")]
const JWKS_KEYS: usize = 4;

/// Feature `jwt`: build-time settings. `PA_VALIDATION` is `auto` (default), `jwt` or
/// `introspection`; `PA_JWT_ACCEPT_TYP_JWT=true` also accepts `typ: JWT`.
#[cfg(feature = "jwt")]
mod jwt_settings {
    use push_advisor_oauth::jwt::{JwtSettings, ValidationMode};

    pub const MODE: ValidationMode = match option_env!("PA_VALIDATION") {
        None => ValidationMode::Auto,
        Some(name) => match name.as_bytes() {
            b"auto" => ValidationMode::Auto,
            b"jwt" => ValidationMode::Jwt,
            b"introspection" => ValidationMode::Introspection,
            _ => panic!("PA_VALIDATION must be auto, jwt or introspection"),
        },
    };

    pub static SETTINGS: JwtSettings<'static> = JwtSettings {
        accept_jwt_typ: match option_env!("PA_JWT_ACCEPT_TYP_JWT") {
            Some(value) => matches!(value.as_bytes(), b"true"),
            None => false,
        },
        skew_seconds: 60,
        permissions_as_scopes: false,
        cognito_client_ids: &[],
    };
}
/// What the device supplies to the app: the board's random number generator, the
/// embassy clock and connector.
pub struct Device;

impl Platform for Device {
    type Mutex = Mx;
    type Clock = Clock;
    type Rng = crate::board::Rng;
    type Connector = Connector;
}

/// The application this firmware serves.
pub type App = PushAdvisor<'static, Device, Validator>;

/// Why the app could not be built from the settings.
#[derive(Debug)]
pub enum SettingsError {
    PublicUrlTooLong,
}

/// Builds the app, and starts provider discovery and wall-time learning on `stack`.
/// Protected routes answer 503 until discovery has succeeded; public ones serve at once.
pub fn start(
    spawner: Spawner,
    stack: Stack<'static>,
    settings: Settings,
    rng: crate::board::Rng,
) -> Result<&'static App, SettingsError> {
    static URLS: StaticCell<AppUrls> = StaticCell::new();
    static OAUTH: StaticCell<OAuthConfig<'static>> = StaticCell::new();
    static OUTBOUND_STATE: StaticCell<ConnectorState> = StaticCell::new();
    static CONNECTOR: StaticCell<Connector> = StaticCell::new();
    static METADATA: Metadata = Metadata::new();
    static BUFFER_MEMORY: ConstStaticCell<[[u8; PROVIDER_BUFFER]; OUTBOUND]> =
        ConstStaticCell::new([[0; PROVIDER_BUFFER]; OUTBOUND]);
    static BUFFER_SLOTS: StaticCell<[BufferSlot<'static, Mx>; OUTBOUND]> = StaticCell::new();
    static BUFFERS: StaticCell<ProviderBuffers<'static, Mx>> = StaticCell::new();
    static VALIDATOR: StaticCell<Validator> = StaticCell::new();
    static APP: StaticCell<App> = StaticCell::new();

    let public_url = settings.public_url.trim_end_matches('/');
    let urls: &'static AppUrls =
        URLS.init(AppUrls::new(public_url).ok_or(SettingsError::PublicUrlTooLong)?);
    let client = ClientCredentials {
        client_id: settings.client_id,
        client_secret: settings.client_secret,
        auth: ClientAuth::ClientSecretBasic,
    };
    let oauth: &'static OAuthConfig<'static> = OAUTH.init(settings.tune(OAuthConfig {
        redirect_uri: &urls.redirect,
        ..push_advisor_app::oauth_config(
            public_url,
            &urls.resource_metadata,
            settings.issuer,
            client,
        )
    }));
    let provider_timeout = Duration::from_millis(oauth.provider_timeout_ms);
    let state = OUTBOUND_STATE.init(ConnectorState::new());
    let connector: &'static Connector =
        CONNECTOR.init(crate::net::connector(stack, state, provider_timeout));
    let slots = BUFFER_SLOTS.init(
        BUFFER_MEMORY
            .take()
            .each_mut()
            .map(|memory| Mutex::new(&mut memory[..])),
    );
    let buffers: &'static ProviderBuffers<'static, Mx> = BUFFERS.init(ProviderBuffers::new(slots));
    let introspector = BudgetedValidator::new(
        DiscoveredIntrospector::new(&METADATA, connector, oauth, buffers),
        &CLOCK,
        PROVIDER_CALL_BUDGET,
    );
    info!(
        "provider call budget: {} in flight, {} per second; provider timeout {} ms",
        PROVIDER_CALL_BUDGET.in_flight, PROVIDER_CALL_BUDGET.per_second, oauth.provider_timeout_ms
    );
    #[cfg(feature = "jwt")]
    let introspector = {
        // Filled at start-up, so the key room is zeroed RAM (.bss), not flash-copied .data.
        static KEYS: StaticCell<jwt::KeyStore<Mx, JWKS_KEYS>> = StaticCell::new();
        let keys = KEYS.init(jwt::KeyStore::new(jwt::JwksPolicy::DEFAULT));
        // The MCP endpoint's URI is an audience too (what MCP clients ask for): the
        // validator lets both through and the guard checks each route's own.
        static JWT_OAUTH: StaticCell<OAuthConfig<'static>> = StaticCell::new();
        let jwt_oauth: &'static OAuthConfig<'static> = JWT_OAUTH.init(OAuthConfig {
            resource_alias: &urls.mcp,
            ..*oauth
        });
        let checker = jwt::JwtValidator::new(
            jwt_oauth,
            &jwt_settings::SETTINGS,
            &METADATA,
            connector,
            buffers,
            &CLOCK,
            keys,
        );
        jwt::ChosenValidator::new(jwt_settings::MODE, &METADATA, checker, introspector)
    };
    let validator: &'static Validator = VALIDATOR.init(DeadlineValidator::new(
        CachingValidator::new(introspector, &CLOCK, CachePolicy::from_config(oauth)),
        connector,
        oauth.provider_timeout_ms,
    ));
    let config = AppConfig::new(
        *oauth,
        urls,
        McpConfig {
            name: "push-advisor-device",
            title: "Push Advisor (device)",
            version: env!("CARGO_PKG_VERSION"),
            instructions: "",
            max_message_bytes: MCP_MESSAGE_MAX,
            // Browsers: only pages of its own public URL (DNS-rebinding defence); the
            // device is no loopback server, so Host is not checked.
            allowed_origins: &[],
            public_url,
            loopback: false,
        },
    );
    let app = APP.init(PushAdvisor::new(
        config, &CLOCK, rng, &METADATA, validator, connector, buffers,
    ));
    spawn_once(
        spawner,
        provider_task(stack, connector, oauth, &METADATA, buffers),
    );
    Ok(app)
}
