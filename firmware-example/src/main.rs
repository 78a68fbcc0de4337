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
mod discovery;
#[macro_use]
mod net;
mod provider;

// The board file whose feature is on (`build.rs` writes the `mod board`); what it
// provides: `board_parts.rs`.
include!(concat!(env!("OUT_DIR"), "/board.rs"));

use embassy_executor::Spawner;

// What the app reads of the provider's metadata: `discovery.rs` keeps it.
use push_advisor_app::Metadata;

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    start_network!(spawner => stack, port, settings, rng);
    let Ok(service) = app::start(spawner, stack, settings, rng) else {
        board::halt("the public URL is too long");
    };
    serve_forever!(
        stack,
        port,
        service,
        app::MEMORY.take(),
        service.config().oauth.resource
    );
}
