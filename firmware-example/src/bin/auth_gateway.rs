//! An auth-only gateway: one route guarded by the OAuth crate and served by the HTTP
//! crate over the embassy adapter, with no app and no MCP. The program to start from
//! for a small device whose only question is "may this request pass?". It runs on the
//! Push Advisor firmware's boards, with their settings and start-up (the modules below).
//!
//! - `GET /protected` needs a token with scope `gateway:read`: 200 with the token's
//!   principal, else the guard's answer: 401 with the RFC 6750 challenge, 403 without
//!   the scope, 503 while the provider cannot be asked, 400 for a malformed header.
//! - `GET /.well-known/oauth-protected-resource`: the RFC 9728 document that leads
//!   clients to the provider.
//! - Any other path: 404 from the engine (405 for another method).
//!
//! Tokens are checked by introspection at the endpoint discovery found, within the
//! boards' call budget (`net::PROVIDER_CALL_BUDGET`), behind a small cache; discovery
//! runs in the background, and `/protected` answers 503 until it has succeeded.
//!
//! Build: `cargo build --profile firmware --target thumbv7em-none-eabihf -p
//! firmware-example --no-default-features --features nucleo-h743zi2 --bin auth-gateway`
//! (with the `PA_*` settings of `provider.rs`); `cargo build -p firmware-example --bin
//! auth-gateway` for the TAP board.
#![cfg_attr(not(feature = "linux-tap"), no_std)]
#![cfg_attr(not(feature = "linux-tap"), no_main)]

// What this program shares with the Push Advisor firmware (`src/`): logging, the
// board's parts and settings, the network start-up, provider discovery.
#[path = "../fmt.rs"]
#[macro_use]
mod fmt;

#[path = "../board_parts.rs"]
mod board_parts;
#[path = "../discovery.rs"]
mod discovery;
#[path = "../net.rs"]
#[macro_use]
mod net;
#[path = "../provider.rs"]
mod provider;

// The board file whose feature is on (`build.rs` writes the `mod board`).
include!(concat!(env!("OUT_DIR"), "/board.rs"));

use embassy_executor::Spawner;
use embassy_net::Stack;
use embassy_time::Duration;
use embedded_io_async::Write;
use heapless::String;
use push_advisor_embassy::SocketMemory;
use push_advisor_http::codec::write_json_object;
use push_advisor_http::response::{JSON, WriteError};
use push_advisor_http::{Body, MethodSet, Request, Responder, Sent, Service, Status};
use push_advisor_oauth::metadata::URL_MAX;
use push_advisor_oauth::{
    BudgetedValidator, BufferSlot, CachePolicy, CachingValidator, ClientAuth, ClientCredentials,
    DeadlineValidator, DiscoveredIntrospector, Guard, Members, OAuthConfig, Principal,
    ProviderBuffers, SharedMetadata, TokenInfo, protected_resource_document,
};
use static_cell::{ConstStaticCell, StaticCell};

use crate::board_parts::{Mx, Settings};
use crate::discovery::{CLOCK, Clock, provider_task};
use crate::net::{Connector, ConnectorState, OUTBOUND, PROVIDER_CALL_BUDGET, SOCKETS, spawn_once};

/// The scope `/protected` needs. The gateway's own: list it at the provider.
const READ_SCOPE: &str = "gateway:read";
/// The name people see (RFC 9728 `resource_name`, the challenges' realm).
const RESOURCE_NAME: &str = "Auth gateway example";
/// Where the RFC 9728 document is served; its URL is in every challenge.
const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Per socket: the board's TCP windows, then the engine's request buffer (a request
/// head: a bearer token of up to about 800 B; a larger one is answered 431) and
/// response buffer (an answer's head, challenge included; bodies larger than what is
/// left are streamed).
type Memory = SocketMemory<{ crate::board::TCP_WINDOW }, { crate::board::TCP_WINDOW }, 1024, 512>;
static MEMORY: ConstStaticCell<[Memory; SOCKETS]> =
    ConstStaticCell::new([const { Memory::new() }; SOCKETS]);

/// The provider's metadata, only what validation reads, in the room that needs
/// (kept by `discovery.rs`).
type Metadata = SharedMetadata<320, { Members::VALIDATION.bits() }>;
/// Bytes of each buffer a provider call borrows (one per outbound connection), for
/// the request and the answer: the largest is the metadata document at discovery.
const PROVIDER_BUFFER: usize = 3072;
/// Tokens remembered by the introspection cache.
const CACHE_ENTRIES: usize = 4;
/// Introspection at the discovered endpoint within the call budget, behind the cache,
/// each check within the provider timeout.
type Validator = DeadlineValidator<
    'static,
    CachingValidator<
        Mx,
        BudgetedValidator<Mx, DiscoveredIntrospector<'static, Mx, Connector>, Clock>,
        Clock,
        CACHE_ENTRIES,
    >,
    Connector,
>;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    // The RNG only feeds the TLS workers here.
    start_network!(spawner => stack, port, settings, _rng);
    let Some(gateway) = start(spawner, stack, settings) else {
        board::halt("the public URL is too long");
    };
    serve_forever!(
        stack,
        port,
        gateway,
        MEMORY.take(),
        gateway.guard.config().resource
    );
}

/// The gateway: its routes and the guard that protects `/protected`.
struct Gateway {
    guard: Guard<'static, &'static Validator, Clock>,
}

#[derive(Clone, Copy)]
enum Route {
    Protected,
    ResourceMetadata,
}

impl Service for Gateway {
    type Route = Route;

    fn route(&self, path: &str) -> Option<(Route, MethodSet)> {
        match path {
            "/protected" => Some((Route::Protected, MethodSet::GET)),
            RESOURCE_METADATA_PATH => Some((Route::ResourceMetadata, MethodSet::GET)),
            _ => None,
        }
    }

    async fn call<W: Write>(
        &self,
        route: Route,
        request: &Request<'_>,
        response: Responder<'_, W>,
    ) -> Result<Sent, WriteError<W::Error>> {
        match route {
            Route::Protected => match self.guard.check_with(request, READ_SCOPE, principal).await {
                Ok(principal) => {
                    let body = |out: &mut dyn push_advisor_http::codec::TextSink| {
                        write_json_object(out, &[("principal", &principal), ("scope", READ_SCOPE)])
                    };
                    let headers = [("Cache-Control", "no-store")];
                    response
                        .send(Status::OK, JSON, &headers, Body::Render(&body))
                        .await
                }
                // 401, 403, 503 or 400, with its challenge or `Retry-After`.
                Err(rejection) => rejection.send(response).await,
            },
            Route::ResourceMetadata => {
                let oauth = self.guard.config();
                let document = protected_resource_document(oauth, oauth.resource);
                let body = |out: &mut dyn push_advisor_http::codec::TextSink| document.render(out);
                response
                    .send(Status::OK, JSON, &[], Body::Render(&body))
                    .await
            }
        }
    }
}

/// Who the token acts for: all `/protected` keeps of it, so a cached answer is looked
/// at in place rather than copied.
fn principal(info: &TokenInfo) -> Principal {
    Principal::try_from(info.principal().unwrap_or("unknown")).unwrap_or_default()
}

/// Builds the gateway from the board's settings, and starts provider discovery (which
/// also sets the clock). `None` if the public URL is too long.
fn start(spawner: Spawner, stack: Stack<'static>, settings: Settings) -> Option<&'static Gateway> {
    static RESOURCE_METADATA_URL: StaticCell<String<URL_MAX>> = StaticCell::new();
    static OAUTH: StaticCell<OAuthConfig<'static>> = StaticCell::new();
    static CONNECTOR_STATE: StaticCell<ConnectorState> = StaticCell::new();
    static CONNECTOR: StaticCell<Connector> = StaticCell::new();
    static METADATA: Metadata = Metadata::new();
    static PROVIDER_MEMORY: ConstStaticCell<[[u8; PROVIDER_BUFFER]; OUTBOUND]> =
        ConstStaticCell::new([[0; PROVIDER_BUFFER]; OUTBOUND]);
    static PROVIDER_SLOTS: StaticCell<[BufferSlot<'static, Mx>; OUTBOUND]> = StaticCell::new();
    static PROVIDER_BUFFERS: StaticCell<ProviderBuffers<'static, Mx>> = StaticCell::new();
    static VALIDATOR: StaticCell<Validator> = StaticCell::new();
    static GATEWAY: StaticCell<Gateway> = StaticCell::new();

    // What this resource is called (the audience its tokens must name) and where its
    // RFC 9728 document is.
    let resource = settings.public_url.trim_end_matches('/');
    let mut url = String::new();
    url.push_str(resource).ok()?;
    url.push_str(RESOURCE_METADATA_PATH).ok()?;
    let resource_metadata_url: &'static str = RESOURCE_METADATA_URL.init(url);
    let client = ClientCredentials {
        client_id: settings.client_id,
        client_secret: settings.client_secret,
        auth: ClientAuth::ClientSecretBasic,
    };
    let issuer = settings.issuer;
    let oauth: &'static OAuthConfig<'static> = OAUTH.init(settings.tune(OAuthConfig {
        resource_name: RESOURCE_NAME,
        realm: RESOURCE_NAME,
        scopes_supported: &[READ_SCOPE],
        ..OAuthConfig::new(resource, resource_metadata_url, issuer, client)
    }));

    // The provider: reached through the board's network, asked with borrowed buffers.
    let state = CONNECTOR_STATE.init(ConnectorState::new());
    let timeout = Duration::from_millis(oauth.provider_timeout_ms);
    let connector: &'static Connector = CONNECTOR.init(net::connector(stack, state, timeout));
    let slots = PROVIDER_SLOTS.init(ProviderBuffers::slots(PROVIDER_MEMORY.take()));
    let buffers: &'static ProviderBuffers<'static, Mx> =
        PROVIDER_BUFFERS.init(ProviderBuffers::new(slots));

    // Tokens: introspected where discovery says, within the call budget, remembered up
    // to the cache's lifetime.
    let introspector = BudgetedValidator::new(
        DiscoveredIntrospector::new(&METADATA, connector, oauth, buffers),
        &CLOCK,
        PROVIDER_CALL_BUDGET,
    );
    let policy = CachePolicy::from_config(oauth);
    let cache = CachingValidator::new(introspector, &CLOCK, policy);
    let validator: &'static Validator = VALIDATOR.init(DeadlineValidator::new(
        cache,
        connector,
        oauth.provider_timeout_ms,
    ));
    let gateway = GATEWAY.init(Gateway {
        guard: Guard::new(oauth, validator, &CLOCK),
    });
    spawn_once(
        spawner,
        provider_task(stack, connector, oauth, &METADATA, buffers),
    );
    Some(gateway)
}
