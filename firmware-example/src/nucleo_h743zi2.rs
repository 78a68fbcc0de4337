//! Board: ST NUCLEO-H743ZI2. On-board Ethernet (RMII, LAN8742A PHY), DHCP,
//! hardware RNG for the TCP/IP seed. Static RAM lives in AXI SRAM (see memory.x).

use embassy_executor::Spawner;
use embassy_net::{Config, Runner, StackResources};
use embassy_stm32::bind_interrupts;
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng;
use push_advisor_embassy::{DropUnmatchedTcp, serve_sockets};
use static_cell::ConstStaticCell;

use crate::app;
use crate::provider::PROVIDER;

/// The STM32's hardware random number generator.
pub type Rng = embassy_stm32::rng::Rng<'static, RNG>;

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
static MEMORY: ConstStaticCell<[app::Memory; app::SOCKETS]> =
    ConstStaticCell::new([const { app::Memory::new() }; app::SOCKETS]);

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
    let mut rng = Rng::new(p.RNG, Irqs);
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
    spawner.spawn(net_task(runner).expect("the net task is spawned once"));
    let settings = app::Settings {
        issuer: ISSUER,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        public_url: PUBLIC_URL,
        cache_ttl_seconds: PROVIDER.cache_ttl_seconds,
    };
    let Ok(service) = app::start(spawner, stack, settings, rng) else {
        panic!("PA_PUBLIC_URL is too long");
    };
    stack.wait_config_up().await;

    let config = app::server_config();
    let timeouts = app::timeouts();
    let slots = MEMORY.take().each_mut().map(app::Memory::slot);
    let _drop_unmatched = DropUnmatchedTcp::new(stack);
    match serve_sockets(stack, PORT, service, &config, &timeouts, slots).await {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}
