//! Board: embassy-net on a Linux TAP interface, for tests on the host.
//!
//! Configuration (flags win over environment):
//! `--tap NAME` / `PA_TAP` (default `tap0`), `--ip ADDR/PREFIX` / `PA_IP`
//! (default `192.168.69.2/24`), `--gateway ADDR` / `PA_GATEWAY` (optional),
//! `--port N` / `PA_PORT` (default 80), `--provider URL` / `PA_PROVIDER_URL` (where
//! wall time is learned from; default: the build-time provider URL, if any). Log level from `PA_LOG` (default `info`).

use core::net::Ipv4Addr;
use std::process::exit;

use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Cidr, Runner, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use push_advisor_embassy::{DropUnmatchedTcp, serve_sockets};
use static_cell::{ConstStaticCell, StaticCell};

use crate::{app, wall_time};

struct Settings {
    tap: String,
    address: Ipv4Cidr,
    gateway: Option<Ipv4Addr>,
    port: u16,
    provider_url: Option<String>,
}

fn setting(args: &[String], flag: &str, env: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == flag)
        .and_then(|at| args.get(at + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

fn settings() -> Result<Settings, String> {
    let args: Vec<String> = std::env::args().collect();
    let tap = setting(&args, "--tap", "PA_TAP").unwrap_or_else(|| "tap0".into());
    let ip = setting(&args, "--ip", "PA_IP").unwrap_or_else(|| "192.168.69.2/24".into());
    let (address, prefix) = ip.split_once('/').ok_or("--ip needs ADDR/PREFIX")?;
    let address: Ipv4Addr = address.parse().map_err(|_| "--ip: bad address")?;
    let prefix: u8 = prefix.parse().map_err(|_| "--ip: bad prefix")?;
    let gateway = match setting(&args, "--gateway", "PA_GATEWAY") {
        Some(gateway) => Some(gateway.parse().map_err(|_| "--gateway: bad address")?),
        None => None,
    };
    let port = match setting(&args, "--port", "PA_PORT") {
        Some(port) => port.parse().map_err(|_| "--port: bad number")?,
        None => 80,
    };
    let provider_url = setting(&args, "--provider", "PA_PROVIDER_URL")
        .or_else(|| crate::provider::PROVIDER.url.map(String::from));
    Ok(Settings {
        provider_url,
        tap,
        address: Ipv4Cidr::new(address, prefix),
        gateway,
        port,
    })
}

static RESOURCES: StaticCell<StackResources<{ app::STACK_SOCKETS }>> = StaticCell::new();
static MEMORY: ConstStaticCell<[app::Memory; app::SOCKETS]> =
    ConstStaticCell::new([const { app::Memory::new() }; app::SOCKETS]);

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

pub async fn run(spawner: Spawner) {
    StderrLogger::install();
    let settings = match settings() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("firmware-example: {message}");
            exit(2);
        }
    };
    let device = match TunTapDevice::new(&settings.tap) {
        Ok(device) => device,
        Err(error) => {
            eprintln!(
                "firmware-example: cannot open TAP {}: {error}",
                settings.tap
            );
            exit(1);
        }
    };
    let config = Config::ipv4_static(StaticConfigV4 {
        address: settings.address,
        gateway: settings.gateway,
        dns_servers: heapless::Vec::new(),
    });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    let resources = RESOURCES.init(StackResources::new());
    let (stack, runner) = embassy_net::new(device, config, resources, seed);
    spawner.spawn(net_task(runner).expect("the net task is spawned once"));
    if let Some(url) = settings.provider_url {
        let url: &'static str = Box::leak(url.into_boxed_str());
        spawner.spawn(wall_time::wall_time_task(stack, url).expect("spawned once"));
    }

    let service = app::service();
    let config = app::server_config();
    let timeouts = app::timeouts();
    let slots = MEMORY.take().each_mut().map(app::Memory::slot);
    let _drop_unmatched = DropUnmatchedTcp::new(stack);
    log::info!(
        "serving on {}:{} with {} sockets",
        settings.address.address(),
        settings.port,
        app::SOCKETS
    );
    let server = serve_sockets(stack, settings.port, &service, &config, &timeouts, slots);
    log::info!(
        "server future: {} bytes for {} sockets",
        core::mem::size_of_val(&server),
        app::SOCKETS
    );
    match server.await {}
}

/// Log lines to stderr; the firmware never logs request contents or secrets.
struct StderrLogger;

impl StderrLogger {
    fn install() {
        static LOGGER: StderrLogger = StderrLogger;
        let level = match std::env::var("PA_LOG").as_deref() {
            Ok("debug") => log::LevelFilter::Debug,
            Ok("warn") => log::LevelFilter::Warn,
            Ok("off") => log::LevelFilter::Off,
            _ => log::LevelFilter::Info,
        };
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(level);
        }
    }
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "[{}] {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}
