//! What every board serves, and with how much memory: the Push Advisor app over the
//! embassy adapter. `start` is the one place that builds it; `main` supplies the network
//! stack, and the board a random number generator and the settings.

use embassy_executor::{SpawnError, SpawnToken, Spawner};
use embassy_net::Stack;
use embassy_net::tcp::client::TcpClientState;
use embassy_sync::mutex::Mutex;
use embassy_time::{Duration, Timer};
use push_advisor_app::{AppConfig, AppUrls, Metadata, PushAdvisor};
use push_advisor_embassy::{EmbassyClock, SocketMemory, TcpConnector, Timeouts};
use push_advisor_http::ServerConfig;
use push_advisor_http::time::Clock as _;
use push_advisor_mcp::McpConfig;
use push_advisor_oauth::{
    BufferSlot, CachePolicy, CachingValidator, ClientAuth, ClientCredentials,
    DiscoveredIntrospector, DiscoveryError, OAuthConfig, ProviderBuffers, discover_dated,
};
use static_cell::{ConstStaticCell, StaticCell};

use crate::board_parts::{Mx, Settings};

/// Listening sockets, so concurrent connections: 4, or `PA_SOCKETS` at build time
/// (`size-report.sh` compares 3 and 4 to measure one connection's RAM).
pub const SOCKETS: usize = match option_env!("PA_SOCKETS") {
    Some(text) => crate::provider::parse_decimal(text) as usize,
    None => 4,
};
/// Per socket: smoltcp receive/transmit buffers (the board's `TCP_WINDOW`), then the
/// core's request and response buffers, the same on every board so the TAP tests run
/// what the board runs. The request buffer holds a head plus an MCP message
/// (`MCP_MESSAGE_MAX`); answers larger than the response buffer are streamed window by
/// window.
const CORE_RX: usize = 1536;
const CORE_TX: usize = 512;
/// Largest MCP message accepted (413 above): initialize from the official SDKs is
/// about 300 B, tool calls about 100 B.
const MCP_MESSAGE_MAX: usize = 1024;
pub type Memory =
    SocketMemory<{ crate::board::TCP_WINDOW }, { crate::board::TCP_WINDOW }, CORE_RX, CORE_TX>;
/// Every socket's memory, lent to the server by `main`.
pub static MEMORY: ConstStaticCell<[Memory; SOCKETS]> =
    ConstStaticCell::new([const { Memory::new() }; SOCKETS]);

/// Connections to the provider open at once (introspection, token exchange, discovery);
/// one more is refused and answered 503 like an unreachable provider.
pub const OUTBOUND: usize = 2;
/// Tokens remembered by the introspection cache.
pub const CACHE_ENTRIES: usize = 4;
/// Sockets the stack must hold: the listeners, the raw socket of `DropUnmatchedTcp`,
/// DNS, DHCP, the app's outbound connections and the time-sync connection.
pub const STACK_SOCKETS: usize = SOCKETS + 3 + OUTBOUND + 1;
/// Bytes of each buffer that calls to the provider borrow (one per outbound connection)
/// for the request and the answer, head included: the largest answers are the metadata
/// document at discovery (oidc-provider's is about 1.8 KiB) and a token response with
/// an ID token on `/token`.
const PROVIDER_BUFFER: usize = 3072;

pub type Clock = &'static EmbassyClock<Mx>;
/// One TLS session per slot at a time, as many as the outbound connections; `main`
/// runs a worker per slot.
#[cfg(feature = "tls")]
pub static TLS_SLOTS: [push_advisor_embassy::TlsSlot; OUTBOUND] =
    [const { push_advisor_embassy::TlsSlot::new() }; OUTBOUND];
pub type Connector = TcpConnector<'static, OUTBOUND, 1024, 1024>;
type Validator =
    CachingValidator<Mx, DiscoveredIntrospector<'static, Mx, Connector>, Clock, CACHE_ENTRIES>;
/// The application this firmware serves, with the board's random number generator.
pub type App = PushAdvisor<'static, Mx, Clock, crate::board::Rng, Validator, Connector>;

/// The device's clock; wall time is unknown until the provider's `Date` is read.
pub static CLOCK: EmbassyClock<Mx> = EmbassyClock::new();

pub fn server_config() -> ServerConfig<'static> {
    ServerConfig::default()
}

pub fn timeouts() -> Timeouts {
    Timeouts::default()
}

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
    static OUTBOUND_STATE: StaticCell<TcpClientState<OUTBOUND, 1024, 1024>> = StaticCell::new();
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
    let connector = TcpConnector::new(
        stack,
        OUTBOUND_STATE.init(TcpClientState::new()),
        provider_timeout,
        provider_timeout,
    );
    #[cfg(feature = "tls")]
    let connector = connector.with_tls(&TLS_SLOTS);
    let connector: &'static Connector = CONNECTOR.init(connector);
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
            allowed_origins: &[],
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

/// Spawns a task that is started once (a second start would be a programming error);
/// without `expect`, whose message formatting costs flash.
pub fn spawn_once<S>(spawner: Spawner, task: Result<SpawnToken<S>, SpawnError>) {
    match task {
        Ok(token) => spawner.spawn(token),
        Err(_) => panic!("a task was started twice"),
    }
}

/// How often the provider's metadata is fetched again once known, to keep the wall
/// clock from drifting (the device has no RTC).
const TIME_REFRESH: Duration = Duration::from_secs(3600);

/// Discovers the provider, retrying with back-off (250 ms doubling to 5 s) until it
/// answers, and sets the wall clock from the answer's `Date`; then asks again now and
/// then for the time alone (the metadata is kept from the first answer).
#[embassy_executor::task]
async fn provider_task(
    stack: Stack<'static>,
    connector: &'static Connector,
    oauth: &'static OAuthConfig<'static>,
    metadata: &'static Metadata,
    buffers: &'static ProviderBuffers<'static, Mx>,
) {
    let mut delay = Duration::from_millis(250);
    stack.wait_config_up().await;
    loop {
        let found = match buffers.borrow().await {
            Some(mut buffer) => discover_dated(connector, oauth, &mut buffer).await,
            None => Err(DiscoveryError::Misconfigured),
        };
        match found {
            Ok(found) => {
                if let Some(date) = found.date {
                    CLOCK.set_unix_time(date);
                }
                if metadata.set(found.metadata) {
                    info!("provider discovered");
                }
                delay = Duration::from_millis(250);
                // Without a `Date` the clock is still unknown: ask again soon.
                let known = CLOCK.unix_seconds().is_some();
                Timer::after(if known {
                    TIME_REFRESH
                } else {
                    Duration::from_secs(5)
                })
                .await;
            }
            Err(_error) => {
                warn!("provider discovery failed ({_error:?}); retry in {delay:?}");
                Timer::after(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
