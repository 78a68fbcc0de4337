//! The Push Advisor device: one application on embassy-net, boards chosen by cargo
//! feature (`linux-tap` for tests on a host, `nucleo-h743zi2` for the real board).
#![cfg_attr(not(feature = "linux-tap"), no_std)]
#![cfg_attr(not(feature = "linux-tap"), no_main)]

#[cfg(all(feature = "linux-tap", feature = "nucleo-h743zi2"))]
compile_error!("choose one board feature: `linux-tap` or `nucleo-h743zi2`");

#[macro_use]
mod fmt;

mod app;
#[cfg(feature = "linux-tap")]
mod linux_tap;
#[cfg(feature = "linux-tap")]
use linux_tap as board;
#[cfg(feature = "nucleo-h743zi2")]
mod nucleo_h743zi2;
#[cfg(feature = "nucleo-h743zi2")]
use nucleo_h743zi2 as board;
mod provider;

#[cfg(feature = "linux-tap")]
#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    linux_tap::run(spawner).await
}

#[cfg(feature = "nucleo-h743zi2")]
#[embassy_executor::main]
async fn main(spawner: embassy_executor::Spawner) {
    nucleo_h743zi2::run(spawner).await
}
