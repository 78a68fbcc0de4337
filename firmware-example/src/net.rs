//! The network side of every program on these boards (the Push Advisor firmware and
//! the auth-only gateway): the embassy-net stack and its task, the TLS workers (feature
//! `tls`) and the connector to the provider.

use embassy_executor::{SpawnError, SpawnToken, Spawner};
use embassy_net::tcp::client::TcpClientState;
use embassy_net::{Runner, Stack, StackResources};
use embassy_time::Duration;
use push_advisor_embassy::TcpConnector;
use push_advisor_oauth::CallBudget;
use static_cell::ConstStaticCell;

/// Listening sockets, so concurrent connections: 4, or `PA_SOCKETS` at build time
/// (`size-report.sh` compares 3 and 4 to measure one connection's RAM).
pub const SOCKETS: usize = match option_env!("PA_SOCKETS") {
    Some(text) => crate::provider::parse_decimal(text) as usize,
    None => 4,
};
/// Connections to the provider open at once (introspection, token exchange, discovery);
/// one more is refused and answered 503 like an unreachable provider.
pub const OUTBOUND: usize = 2;
/// The budget of introspection calls (a cache miss costs one): at most `OUTBOUND` in
/// flight, as more could not get a connection anyway, and 8 started per second, which a
/// handful of clients bringing new tokens stays well within. So a flood of junk tokens
/// costs the provider at most 8 calls a second; beyond that an unknown token is
/// answered 503 with `Retry-After` at once, without a call, while cached tokens and
/// public routes are served as before.
pub const PROVIDER_CALL_BUDGET: CallBudget = CallBudget {
    in_flight: OUTBOUND as u16,
    per_second: 8,
};
/// Sockets the stack must hold: the listeners, the raw socket of `DropUnmatchedTcp`,
/// DNS, DHCP, the outbound connections and the time-sync connection.
const STACK_SOCKETS: usize = SOCKETS + 3 + OUTBOUND + 1;

pub static RESOURCES: ConstStaticCell<StackResources<STACK_SOCKETS>> =
    ConstStaticCell::new(StackResources::new());

/// How the provider is reached: `OUTBOUND` TCP connections, `https` through the TLS
/// workers (feature `tls`).
pub type Connector = TcpConnector<'static, OUTBOUND, 1024, 1024>;

/// One TLS session per slot at a time, as many as the outbound connections;
/// `start_network!` runs a worker per slot.
#[cfg(feature = "tls")]
pub static TLS_SLOTS: [push_advisor_embassy::TlsSlot; OUTBOUND] =
    [const { push_advisor_embassy::TlsSlot::new() }; OUTBOUND];

// The start-up and the serving loop are macros, not functions, so that they expand
// in each program's `main` itself: as functions they cost the Push Advisor firmware
// flash (the driver is moved once more) and task RAM (a second future around the
// server's).

/// Takes the board's parts (`board::init`), brings up the network stack on the
/// board's driver, and starts the stack's task and, with feature `tls`, the TLS
/// workers. Binds what a program builds its service from:
/// `start_network!(spawner => stack, port, settings, rng);`
macro_rules! start_network {
    ($spawner:expr => $stack:ident, $port:ident, $settings:ident, $rng:ident) => {
        // Taken apart at once: a part kept across an `await` keeps the whole struct in
        // the task's memory.
        let $crate::board_parts::BoardParts {
            device,
            network,
            seed,
            rng: $rng,
            port: $port,
            settings: $settings,
        } = $crate::board::init();
        let ($stack, runner) =
            embassy_net::new(device, network, $crate::net::RESOURCES.take(), seed);
        $crate::net::spawn_once($spawner, $crate::net::net_task(runner));
        #[cfg(feature = "tls")]
        for (slot, records) in $crate::net::TLS_SLOTS
            .iter()
            .zip($crate::net::TLS_RECORDS.take())
        {
            let worker = $crate::net::tls_worker($stack, slot, records, $rng);
            $crate::net::spawn_once($spawner, worker);
        }
    };
}

/// Once the interface has an address, serves `service` on `port` with the embassy
/// adapter's `serve_sockets`, one listening socket per element of `memory`, forever;
/// `name` only names it in the log:
/// `serve_forever!(stack, port, service, memory, name);`
macro_rules! serve_forever {
    ($stack:expr, $port:expr, $service:expr, $memory:expr, $name:expr) => {
        $stack.wait_config_up().await;

        let config = push_advisor_http::ServerConfig::default();
        let timeouts = push_advisor_embassy::Timeouts::default();
        let slots = $memory
            .each_mut()
            .map(push_advisor_embassy::SocketMemory::slot);
        let _drop_unmatched = push_advisor_embassy::DropUnmatchedTcp::new($stack);
        info!(
            "serving on {}:{} with {} sockets as {}",
            $stack
                .config_v4()
                .map(|config| config.address.address())
                .unwrap_or(core::net::Ipv4Addr::UNSPECIFIED),
            $port,
            $crate::net::SOCKETS,
            $name
        );
        let server =
            push_advisor_embassy::serve_sockets($stack, $port, $service, &config, &timeouts, slots);
        info!(
            "server future: {} bytes for {} sockets",
            core::mem::size_of_val(&server),
            $crate::net::SOCKETS
        );
        match server.await {}
    };
}

/// The sockets of the connector to the provider.
pub type ConnectorState = TcpClientState<OUTBOUND, 1024, 1024>;

/// The connector to the provider, over `state`'s sockets and, with feature `tls`, the
/// TLS workers.
pub fn connector(
    stack: Stack<'static>,
    state: &'static ConnectorState,
    timeout: Duration,
) -> Connector {
    let connector = TcpConnector::new(stack, state, timeout, timeout);
    #[cfg(feature = "tls")]
    let connector = connector.with_tls(&TLS_SLOTS);
    connector
}

/// Spawns a task that is started once (a second start would be a programming error);
/// without `expect`, whose message formatting costs flash.
pub fn spawn_once<S>(spawner: Spawner, task: Result<SpawnToken<S>, SpawnError>) {
    match task {
        Ok(token) => spawner.spawn(token),
        Err(_) => panic!("a task was started twice"),
    }
}

#[embassy_executor::task]
pub async fn net_task(mut runner: Runner<'static, crate::board::Device>) -> ! {
    runner.run().await
}

/// A TLS worker's record buffers, in a static so the size report names them.
#[cfg(feature = "tls")]
pub struct TlsRecords {
    read: [u8; push_advisor_embassy::TLS_READ_RECORD],
    write: [u8; push_advisor_embassy::TLS_WRITE_RECORD],
}

#[cfg(feature = "tls")]
pub static TLS_RECORDS: ConstStaticCell<[TlsRecords; OUTBOUND]> = ConstStaticCell::new(
    [const {
        TlsRecords {
            read: [0; push_advisor_embassy::TLS_READ_RECORD],
            write: [0; push_advisor_embassy::TLS_WRITE_RECORD],
        }
    }; OUTBOUND],
);

/// Carries the `https` sessions of one slot over its own TCP socket.
#[cfg(feature = "tls")]
#[embassy_executor::task(pool_size = OUTBOUND)]
pub async fn tls_worker(
    stack: Stack<'static>,
    slot: &'static push_advisor_embassy::TlsSlot,
    records: &'static mut TlsRecords,
    mut rng: crate::board::Rng,
) -> ! {
    let state = TcpClientState::<1, 1024, 1024>::new();
    let timeout = Duration::from_secs(5);
    let tcp = TcpConnector::new(stack, &state, timeout, timeout);
    push_advisor_embassy::run_tls_worker(
        slot,
        &tcp,
        crate::board::ca_der(),
        &mut rng,
        &mut records.read,
        &mut records.write,
    )
    .await
}
