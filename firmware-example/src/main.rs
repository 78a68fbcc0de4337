//! The Push Advisor device: one application on embassy-net, boards chosen by cargo
//! feature (`linux-tap` for tests on a host, `nucleo-h743zi2` for the real board).
//!
//! Start-up is the same on every board: the board hands over its network driver, RNG
//! and settings (`board::init`), then `main` starts the network task, the TLS workers
//! and the app with its provider discovery, and serves.
#![cfg_attr(not(feature = "linux-tap"), no_std)]
#![cfg_attr(not(feature = "linux-tap"), no_main)]

#[macro_use]
mod fmt;

mod app;
mod provider;

// One file per board, `src/board/<board>.rs`, chosen by its cargo feature (`build.rs`
// writes the `mod board` for it). Each provides:
// - `Device`, its embassy-net driver, and `Rng`, a `RngCore + CryptoRng + Copy`;
// - `TCP_WINDOW`, the bytes of each listening socket's receive and transmit buffers;
// - `init() -> BoardParts`: clocks, pins, the driver, the RNG and the settings;
// - `halt(reason) -> !`, for settings that cannot work;
// - with feature `tls`, `ca_der()`: the CA an `https` provider must chain to (a
//   function, not a task argument: on the board it is a constant, and an argument
//   would cost each TLS worker's task memory);
// - on a microcontroller, its panic handler and `src/board/<board>.x` (memory layout).
include!(concat!(env!("OUT_DIR"), "/board.rs"));

use embassy_executor::Spawner;
use embassy_net::{Runner, StackResources};
use push_advisor_embassy::{DropUnmatchedTcp, serve_sockets};
use static_cell::ConstStaticCell;

/// What a board hands to the start-up every board shares.
pub struct BoardParts {
    pub device: board::Device,
    /// How the interface gets its address: static or DHCP.
    pub network: embassy_net::Config,
    /// Seeds the TCP/IP stack's choices (initial sequence numbers, local ports).
    pub seed: u64,
    pub rng: board::Rng,
    /// Where the API listens.
    pub port: u16,
    pub settings: app::Settings,
}

static RESOURCES: ConstStaticCell<StackResources<{ app::STACK_SOCKETS }>> =
    ConstStaticCell::new(StackResources::new());

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    // Taken apart at once: a part kept across an `await` keeps the whole struct in the
    // task's memory.
    let BoardParts {
        device,
        network,
        seed,
        rng,
        port,
        settings,
    } = board::init();
    let (stack, runner) = embassy_net::new(device, network, RESOURCES.take(), seed);
    app::spawn_once(spawner, net_task(runner));
    #[cfg(feature = "tls")]
    for (slot, records) in app::TLS_SLOTS.iter().zip(TLS_RECORDS.take()) {
        let worker = tls_worker(stack, slot, records, rng);
        app::spawn_once(spawner, worker);
    }
    let Ok(service) = app::start(spawner, stack, settings, rng) else {
        board::halt("the public URL is too long");
    };
    stack.wait_config_up().await;

    let config = app::server_config();
    let timeouts = app::timeouts();
    let slots = app::MEMORY.take().each_mut().map(app::Memory::slot);
    let _drop_unmatched = DropUnmatchedTcp::new(stack);
    info!(
        "serving on {}:{} with {} sockets as {}",
        stack
            .config_v4()
            .map(|config| config.address.address())
            .unwrap_or(core::net::Ipv4Addr::UNSPECIFIED),
        port,
        app::SOCKETS,
        service.config().oauth.resource
    );
    let server = serve_sockets(stack, port, service, &config, &timeouts, slots);
    info!(
        "server future: {} bytes for {} sockets",
        core::mem::size_of_val(&server),
        app::SOCKETS
    );
    match server.await {}
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, board::Device>) -> ! {
    runner.run().await
}

/// A TLS worker's record buffers, in a static so the size report names them.
#[cfg(feature = "tls")]
struct TlsRecords {
    read: [u8; push_advisor_embassy::TLS_READ_RECORD],
    write: [u8; push_advisor_embassy::TLS_WRITE_RECORD],
}

#[cfg(feature = "tls")]
static TLS_RECORDS: ConstStaticCell<[TlsRecords; app::OUTBOUND]> = ConstStaticCell::new(
    [const {
        TlsRecords {
            read: [0; push_advisor_embassy::TLS_READ_RECORD],
            write: [0; push_advisor_embassy::TLS_WRITE_RECORD],
        }
    }; app::OUTBOUND],
);

/// Carries the `https` sessions of one slot over its own TCP socket.
#[cfg(feature = "tls")]
#[embassy_executor::task(pool_size = app::OUTBOUND)]
async fn tls_worker(
    stack: embassy_net::Stack<'static>,
    slot: &'static push_advisor_embassy::TlsSlot,
    records: &'static mut TlsRecords,
    mut rng: board::Rng,
) -> ! {
    use embassy_net::tcp::client::TcpClientState;
    use push_advisor_embassy::TcpConnector;
    let state = TcpClientState::<1, 1024, 1024>::new();
    let timeout = embassy_time::Duration::from_secs(5);
    let tcp = TcpConnector::new(stack, &state, timeout, timeout);
    push_advisor_embassy::run_tls_worker(
        slot,
        &tcp,
        board::ca_der(),
        &mut rng,
        &mut records.read,
        &mut records.write,
    )
    .await
}
