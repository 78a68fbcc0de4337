//! Board: embassy-net on a Linux TAP interface, for tests on the host.
//!
//! Configuration (flags win over environment):
//! `--tap NAME` / `PA_TAP` (default `tap0`), `--ip ADDR/PREFIX` / `PA_IP`
//! (default `192.168.69.2/24`, inside the test netns), `--gateway ADDR` / `PA_GATEWAY` (optional),
//! `--port N` / `PA_PORT` (default 80), `--issuer URL` / `PA_PROVIDER_URL` (the OAuth
//! provider; wall time is learned from it too), `--client-id ID` / `PA_CLIENT_ID`,
//! `PA_CLIENT_SECRET` (environment only, so it never shows in a process list),
//! `--public-url URL` / `PA_PUBLIC_URL` (default `http://ADDR[:PORT]`),
//! `--cache-ttl SECONDS` / `PA_CACHE_TTL` (default 60),
//! `--provider-timeout-ms MS` / `PA_PROVIDER_TIMEOUT_MS` (one provider call in all,
//! default the core's 5 s; the TAP fault tests shorten it), with feature `tls`:
//! `--ca-der FILE` / `PA_CA_DER_FILE` (the CA an `https` provider's certificate must
//! chain to, DER; default the build-time one). Provider settings default to the
//! build-time ones (`provider.rs`). Log level from `PA_LOG` (default `info`).

use core::net::Ipv4Addr;
use std::process::exit;

use embassy_net::{Config, Ipv4Cidr, StaticConfigV4};

use crate::board_parts::{self, BoardParts};

pub type Device = embassy_net_tuntap::TunTapDevice;

/// A random number generator seeded by the operating system.
pub type Rng = rand_core::OsRng;

/// Larger windows than the board's: the host has the memory.
pub const TCP_WINDOW: usize = 2048;

struct Settings {
    tap: String,
    address: Ipv4Cidr,
    gateway: Option<Ipv4Addr>,
    port: u16,
    app: board_parts::Settings,
    #[cfg(feature = "tls")]
    ca_der: &'static [u8],
}

fn leak(value: String) -> &'static str {
    Box::leak(value.into_boxed_str())
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
    let ip = setting(&args, "--ip", "PA_IP").unwrap_or_else(|| "192.168.69.2/24".into()); // the TAP network exists only inside the test netns
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
    let provider = crate::provider::PROVIDER;
    let issuer = setting(&args, "--issuer", "PA_PROVIDER_URL")
        .or_else(|| provider.url.map(String::from))
        .ok_or("--issuer (or PA_PROVIDER_URL) is required")?;
    let client_id = setting(&args, "--client-id", "PA_CLIENT_ID")
        .or_else(|| provider.client_id.map(String::from))
        .ok_or("--client-id (or PA_CLIENT_ID) is required")?;
    let client_secret = std::env::var("PA_CLIENT_SECRET")
        .ok()
        .or_else(|| provider.client_secret.map(String::from))
        .ok_or("PA_CLIENT_SECRET is required")?;
    let public_url =
        setting(&args, "--public-url", "PA_PUBLIC_URL").unwrap_or_else(|| match port {
            80 => format!("http://{address}"),
            _ => format!("http://{address}:{port}"),
        });
    let cache_ttl_seconds = match setting(&args, "--cache-ttl", "PA_CACHE_TTL") {
        Some(ttl) => ttl.parse().map_err(|_| "--cache-ttl: bad number")?,
        None => 60,
    };
    let provider_timeout_ms = match setting(&args, "--provider-timeout-ms", "PA_PROVIDER_TIMEOUT_MS")
    {
        Some(ms) => Some(ms.parse().map_err(|_| "--provider-timeout-ms: bad number")?),
        None => provider.provider_timeout_ms,
    };
    #[cfg(feature = "tls")]
    let ca_der: &'static [u8] = match setting(&args, "--ca-der", "PA_CA_DER_FILE") {
        Some(path) => Box::leak(
            std::fs::read(&path)
                .map_err(|e| format!("--ca-der {path}: {e}"))?
                .into_boxed_slice(),
        ),
        None => provider.ca_der,
    };
    Ok(Settings {
        #[cfg(feature = "tls")]
        ca_der,
        app: board_parts::Settings {
            issuer: leak(issuer),
            client_id: leak(client_id),
            client_secret: leak(client_secret),
            public_url: leak(public_url),
            cache_ttl_seconds,
            provider_timeout_ms,
        },
        tap,
        address: Ipv4Cidr::new(address, prefix),
        gateway,
        port,
    })
}

pub fn init() -> BoardParts {
    StderrLogger::install();
    let settings = match settings() {
        Ok(settings) => settings,
        Err(message) => halt(&message),
    };
    #[cfg(feature = "tls")]
    CA_DER.get_or_init(|| settings.ca_der);
    let device = match Device::new(&settings.tap) {
        Ok(device) => device,
        Err(error) => {
            eprintln!(
                "firmware-example: cannot open TAP {}: {error}",
                settings.tap
            );
            exit(1);
        }
    };
    let network = Config::ipv4_static(StaticConfigV4 {
        address: settings.address,
        gateway: settings.gateway,
        dns_servers: heapless::Vec::new(),
    });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    BoardParts {
        device,
        network,
        seed,
        rng: rand_core::OsRng,
        port: settings.port,
        settings: settings.app,
    }
}

/// The CA from the settings, kept for the TLS workers, which start after `init`.
#[cfg(feature = "tls")]
static CA_DER: std::sync::OnceLock<&'static [u8]> = std::sync::OnceLock::new();

/// The CA an `https` provider's certificate must chain to; none (so no `https`) before
/// `init`.
#[cfg(feature = "tls")]
pub fn ca_der() -> &'static [u8] {
    CA_DER.get().copied().unwrap_or_default()
}

/// Settings that cannot work end the process, as a usage error.
pub fn halt(reason: &str) -> ! {
    eprintln!("firmware-example: {reason}");
    exit(2)
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
