//! Board: ST NUCLEO-H743ZI2. On-board Ethernet (RMII, LAN8742A PHY), DHCP,
//! hardware RNG for the TCP/IP seed, the app and (feature `tls`) the TLS workers,
//! settings fixed at build time. Static RAM lives in AXI SRAM (see
//! `nucleo_h743zi2.x`).

use core::cell::RefCell;

use embassy_net::Config;
use embassy_stm32::bind_interrupts;
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng;
use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use rand_core::{CryptoRng, RngCore};
use static_cell::{ConstStaticCell, StaticCell};

use crate::board_parts::{BoardParts, Mx};
use crate::provider;

type HardwareRng = embassy_stm32::rng::Rng<'static, RNG>;

/// The STM32's hardware random number generator, shared by the app and the TLS workers.
/// Shared behind a critical section rather than seeding a software CSPRNG per worker:
/// no extra code, state or dependency, and every draw is hardware entropy; the lock is
/// held only while the requested words are read.
#[derive(Clone, Copy)]
pub struct Rng(&'static BlockingMutex<Mx, RefCell<HardwareRng>>);

impl Rng {
    fn new(hardware: HardwareRng) -> Self {
        static SHARED: StaticCell<BlockingMutex<Mx, RefCell<HardwareRng>>> = StaticCell::new();
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

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    RNG => rng::InterruptHandler<RNG>;
});

pub type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

/// A locally administered unicast MAC address.
const MAC_ADDRESS: [u8; 6] = [0x02, 0x00, 0x50, 0x41, 0x44, 0x56];

static PACKETS: ConstStaticCell<PacketQueue<4, 4>> = ConstStaticCell::new(PacketQueue::new());

/// The board trades throughput for RAM: 1 KiB TCP windows move about 1 KiB per round
/// trip, plenty on a LAN for answers of a few KiB.
pub const TCP_WINDOW: usize = 1024;

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

pub fn init() -> BoardParts {
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
    BoardParts {
        device,
        network: Config::dhcpv4(Default::default()),
        seed,
        rng,
        port: 80,
        // In a const: a missing build-time setting stops the build.
        settings: const { provider::built_in() },
    }
}

/// The CA the provider's certificate must chain to (`PA_CA_DER_FILE`, DER).
#[cfg(feature = "tls")]
pub fn ca_der() -> &'static [u8] {
    // In a const: a missing certificate stops the build.
    const { provider::built_in_ca_der() }
}

/// Settings that cannot work are fixed by building again; until then, reset.
pub fn halt(_reason: &str) -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}

// Small memcpy, memmove, memset and memcmp in place of compiler_builtins' (see the file).
core::arch::global_asm!(include_str!("armv7m_mem.s"));
// A small 64-bit division in place of compiler_builtins' (see the file).
core::arch::global_asm!(include_str!("armv7m_uldivmod.s"), options(raw));

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
