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
mod board_parts;
mod provider;

// The board file whose feature is on (`build.rs` writes the `mod board`); what it
// provides: `board_parts.rs`.
include!(concat!(env!("OUT_DIR"), "/board.rs"));

use embassy_executor::Spawner;
use embassy_net::{Runner, StackResources};
use push_advisor_embassy::{DropUnmatchedTcp, serve_sockets};
use static_cell::ConstStaticCell;

use crate::board_parts::BoardParts;

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
