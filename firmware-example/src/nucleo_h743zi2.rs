//! Board: ST NUCLEO-H743ZI2. On-board Ethernet (RMII, LAN8742A PHY), DHCP,
//! hardware RNG for the TCP/IP seed, the app and (feature `tls`) the TLS workers.
//! Static RAM lives in AXI SRAM (see memory.x).

use core::cell::RefCell;

use embassy_executor::Spawner;
use embassy_net::{Config, Runner, StackResources};
use embassy_stm32::bind_interrupts;
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use push_advisor_embassy::{DropUnmatchedTcp, serve_sockets};
use rand_core::{CryptoRng, RngCore};
use static_cell::{ConstStaticCell, StaticCell};

use crate::app;
use crate::provider::PROVIDER;

type HardwareRng = embassy_stm32::rng::Rng<'static, RNG>;

/// The STM32's hardware random number generator, shared by the app and the TLS workers.
/// Shared behind a critical section rather than seeding a software CSPRNG per worker:
/// no extra code, state or dependency, and every draw is hardware entropy; the lock is
/// held only while the requested words are read.
#[derive(Clone, Copy)]
pub struct Rng(&'static BlockingMutex<app::Mx, RefCell<HardwareRng>>);

impl Rng {
    fn new(hardware: HardwareRng) -> Self {
        static SHARED: StaticCell<BlockingMutex<app::Mx, RefCell<HardwareRng>>> = StaticCell::new();
        Rng(SHARED.init(BlockingMutex::new(RefCell::new(hardware))))
    }

    fn with<T>(&self, draw: impl FnOnce(&mut HardwareRng) -> T) -> T {
        self.0.lock(|hardware| draw(&mut hardware.borrow_mut()))
    }
}

impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.with(|hardware| hardware.next_u32())
    }

    fn next_u64(&mut self) -> u64 {
        self.with(|hardware| hardware.next_u64())
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.with(|hardware| hardware.fill_bytes(dest))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// Every draw comes from the hardware RNG, which embassy-stm32 marks `CryptoRng` too.
impl CryptoRng for Rng {}

/// Build-time settings (`PA_PROVIDER_URL`, `PA_CLIENT_ID`, `PA_CLIENT_SECRET`,
/// `PA_PUBLIC_URL`, `PA_CACHE_TTL`); a missing one stops the build.
const fn required(value: Option<&'static str>, message: &'static str) -> &'static str {
    match value {
        Some(value) => value,
        None => panic!("{}", message),
    }
}
const ISSUER: &str = required(
    PROVIDER.url,
    "set PA_PROVIDER_URL (the OAuth issuer) at build time",
);
const CLIENT_ID: &str = required(PROVIDER.client_id, "set PA_CLIENT_ID at build time");
const CLIENT_SECRET: &str = required(PROVIDER.client_secret, "set PA_CLIENT_SECRET at build time");
const PUBLIC_URL: &str = required(
    PROVIDER.public_url,
    "set PA_PUBLIC_URL (how clients reach this board) at build time",
);
/// The CA the provider's certificate must chain to (`PA_CA_DER_FILE`, DER).
#[cfg(feature = "tls")]
const CA_DER: &[u8] = {
    assert!(
        !PROVIDER.ca_der.is_empty(),
        "feature `tls`: set PA_CA_DER_FILE (the provider's CA certificate, DER) at build time"
    );
    PROVIDER.ca_der
};

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    RNG => rng::InterruptHandler<RNG>;
});

type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

/// A locally administered unicast MAC address.
const MAC_ADDRESS: [u8; 6] = [0x02, 0x00, 0x50, 0x41, 0x44, 0x56];
const PORT: u16 = 80;

static PACKETS: ConstStaticCell<PacketQueue<4, 4>> = ConstStaticCell::new(PacketQueue::new());
static RESOURCES: ConstStaticCell<StackResources<{ app::STACK_SOCKETS }>> =
    ConstStaticCell::new(StackResources::new());

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
    mut rng: Rng,
) -> ! {
    use embassy_net::tcp::client::TcpClientState;
    use push_advisor_embassy::TcpConnector;
    let state = TcpClientState::<1, 1024, 1024>::new();
    let timeout = embassy_time::Duration::from_secs(5);
    let tcp = TcpConnector::new(stack, &state, timeout, timeout);
    push_advisor_embassy::run_tls_worker(
        slot,
        &tcp,
        CA_DER,
        &mut rng,
        &mut records.read,
        &mut records.write,
    )
    .await
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Device>) -> ! {
    runner.run().await
}

fn clocks() -> embassy_stm32::Config {
    use embassy_stm32::rcc::*;
    let mut config = embassy_stm32::Config::default();
    config.rcc.hsi = Some(HSIPrescaler::DIV1);
    config.rcc.csi = true;
    config.rcc.hsi48 = Some(Default::default()); // the RNG's clock
    config.rcc.pll1 = Some(Pll {
        source: PllSource::HSI,
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL50,
        fracn: None,
        divp: Some(PllDiv::DIV2), // 400 MHz
        divq: None,
        divr: None,
    });
    config.rcc.sys = Sysclk::PLL1_P;
    config.rcc.ahb_pre = AHBPrescaler::DIV2;
    config.rcc.apb1_pre = APBPrescaler::DIV2;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config.rcc.apb3_pre = APBPrescaler::DIV2;
    config.rcc.apb4_pre = APBPrescaler::DIV2;
    config.rcc.voltage_scale = VoltageScale::Scale1;
    config
}

pub async fn run(spawner: Spawner) {
    let p = embassy_stm32::init(clocks());
    let mut rng = Rng::new(HardwareRng::new(p.RNG, Irqs));
    let seed = rng.next_u64();

    let device = Ethernet::new(
        PACKETS.take(),
        p.ETH,
        Irqs,
        p.PA1,  // REF_CLK
        p.PA7,  // CRS_DV
        p.PC4,  // RXD0
        p.PC5,  // RXD1
        p.PG13, // TXD0
        p.PB13, // TXD1 (PB13 on the NUCLEO-H743ZI2)
        p.PG11, // TX_EN
        MAC_ADDRESS,
        p.ETH_SMA,
        p.PA2, // MDIO
        p.PC1, // MDC
    );
    let config = Config::dhcpv4(Default::default());
    let (stack, runner) = embassy_net::new(device, config, RESOURCES.take(), seed);
    app::spawn_once(spawner, net_task(runner));
    #[cfg(feature = "tls")]
    for (slot, records) in app::TLS_SLOTS.iter().zip(TLS_RECORDS.take()) {
        app::spawn_once(spawner, tls_worker(stack, slot, records, rng));
    }
    let settings = app::Settings {
        issuer: ISSUER,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        public_url: PUBLIC_URL,
        cache_ttl_seconds: PROVIDER.cache_ttl_seconds,
        #[cfg(feature = "tls")]
        tls_slots: &app::TLS_SLOTS,
    };
    let Ok(service) = app::start(spawner, stack, settings, rng) else {
        panic!("PA_PUBLIC_URL is too long");
    };
    stack.wait_config_up().await;

    let config = app::server_config();
    let timeouts = app::timeouts();
    let slots = app::MEMORY.take().each_mut().map(app::Memory::slot);
    let _drop_unmatched = DropUnmatchedTcp::new(stack);
    match serve_sockets(stack, PORT, service, &config, &timeouts, slots).await {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}

/// A fault resets the board too; in the size-optimised build (`size-report.sh`, core
/// built with `panic=immediate-abort`) a panic is such a fault.
#[cortex_m_rt::exception]
unsafe fn HardFault(_: &cortex_m_rt::ExceptionFrame) -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}
