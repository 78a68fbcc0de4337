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
use push_advisor_oauth::{
    BufferSlot, CachePolicy, CachingValidator, ClientAuth, ClientCredentials,
    DiscoveredIntrospector, OAuthConfig, ProviderBuffers,
};
use static_cell::{ConstStaticCell, StaticCell};

use crate::board_parts::{Mx, Settings};
use crate::discovery::{CLOCK, Clock, provider_task};
use crate::net::{Connector, ConnectorState, OUTBOUND, SOCKETS, spawn_once};

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

type Validator =
    CachingValidator<Mx, DiscoveredIntrospector<'static, Mx, Connector>, Clock, CACHE_ENTRIES>;
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
    let oauth: &'static OAuthConfig<'static> = OAUTH.init(OAuthConfig {
        redirect_uri: &urls.redirect,
        cache_max_lifetime_ms: settings.cache_ttl_seconds * 1000,
        negative_lifetime_ms: settings.cache_ttl_seconds.min(5) * 1000,
        ..push_advisor_app::oauth_config(
            public_url,
            &urls.resource_metadata,
            settings.issuer.trim_end_matches('/'),
            client,
        )
    });
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
    let introspector = DiscoveredIntrospector::new(&METADATA, connector, oauth, buffers);
    let validator: &'static Validator = VALIDATOR.init(CachingValidator::new(
        introspector,
        &CLOCK,
        CachePolicy::from_config(oauth),
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
