//! Runs the board's memory routines (`src/board/armv7m_mem.s`) and its 64-bit division
//! (`src/board/armv7m_uldivmod.s`) under qemu-arm (user mode, Linux system calls) and
//! exits 0 when every result is right, else 1 + the number of wrong results (at most
//! 201). Expected values are computed with volatile byte accesses and a bit-by-bit
//! division written here, so no check goes through the routines under test.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use core::ptr::{read_volatile, write_volatile};

global_asm!(include_str!("../../src/board/armv7m_mem.s"));
global_asm!(
    include_str!("../../src/board/armv7m_uldivmod.s"),
    options(raw)
);

unsafe extern "C" {
    fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8;
    fn memset(dst: *mut u8, byte: i32, n: usize) -> *mut u8;
    fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32;
}

unsafe extern "aapcs" {
    fn __aeabi_memcpy4(dst: *mut u8, src: *const u8, n: usize);
    fn __aeabi_memmove(dst: *mut u8, src: *const u8, n: usize);
    fn __aeabi_memset(dst: *mut u8, n: usize, byte: i32);
    fn __aeabi_memclr(dst: *mut u8, n: usize);
}

const LEN: usize = 96;
static mut FIRST: [u8; LEN] = [0; LEN];
static mut SECOND: [u8; LEN] = [0; LEN];

fn pattern(index: usize, seed: u8) -> u8 {
    (index as u8).wrapping_mul(7).wrapping_add(seed)
}

fn fill(buffer: *mut u8, seed: u8) {
    for index in 0..LEN {
        unsafe { write_volatile(buffer.add(index), pattern(index, seed)) }
    }
}

fn get(buffer: *const u8, index: usize) -> u8 {
    unsafe { read_volatile(buffer.add(index)) }
}

struct Tally {
    checks: u32,
    wrong: u32,
}

impl Tally {
    fn expect(&mut self, right: bool) {
        self.checks += 1;
        if !right {
            self.wrong += 1;
        }
    }

    /// Every byte of `buffer` against `want(index)`.
    fn bytes(&mut self, buffer: *const u8, want: impl Fn(usize) -> u8) {
        for index in 0..LEN {
            self.expect(get(buffer, index) == want(index));
        }
    }
}

/// `__aeabi_uldivmod(n, d)`: quotient and remainder in r0-r3 (no Rust signature for it).
fn uldivmod(n: u64, d: u64) -> (u64, u64) {
    let (mut r0, mut r1, mut r2, mut r3) = (n as u32, (n >> 32) as u32, d as u32, (d >> 32) as u32);
    unsafe {
        asm!(
            "bl __aeabi_uldivmod",
            inout("r0") r0,
            inout("r1") r1,
            inout("r2") r2,
            inout("r3") r3,
            out("r12") _, // what the routine may change besides r0-r3 (it saves r4-r6)
            out("lr") _,
        )
    }
    (
        u64::from(r0) | u64::from(r1) << 32,
        u64::from(r2) | u64::from(r3) << 32,
    )
}

/// The reference: long division one bit at a time, shifts and compares only.
fn divide_by_bits(n: u64, d: u64) -> (u64, u64) {
    let (mut quotient, mut remainder) = (0u64, 0u128);
    for bit in (0..64).rev() {
        remainder = remainder << 1 | u128::from((n >> bit) & 1);
        if remainder >= u128::from(d) {
            remainder -= u128::from(d);
            quotient |= 1 << bit;
        }
    }
    (quotient, remainder as u64)
}

/// Dividends and divisors of every width (both below 2^32, one above, the divisor's top
/// bit set so the remainder overflows 64 bits while shifting) from a xorshift sequence.
fn check_division(tally: &mut Tally) {
    let edges = [
        1,
        2,
        3,
        10,
        1000,
        0xFFFF_FFFF,
        1 << 32,
        (1 << 32) + 1,
        1 << 63,
        u64::MAX,
    ];
    for n in edges.iter().copied().chain([0, 7, 999_999]) {
        for d in edges {
            tally.expect(uldivmod(n, d) == divide_by_bits(n, d));
        }
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let (a, b, shifts) = (next(), next(), next());
        let n = a >> (shifts & 63);
        let d = (b >> ((shifts >> 8) & 63)).max(1);
        tally.expect(uldivmod(n, d) == divide_by_bits(n, d));
    }
}

fn exit(code: u32) -> ! {
    // Linux EABI `exit`: number in r7 (the frame pointer, so set inside the asm).
    unsafe { asm!("movs r7, #1", "svc 0", in("r0") code, options(noreturn)) }
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let first = &raw mut FIRST as *mut u8;
    let second = &raw mut SECOND as *mut u8;
    let mut tally = Tally {
        checks: 0,
        wrong: 0,
    };
    for to in 0..4 {
        for from in 0..4 {
            for n in 0..40 {
                let inside = |index: usize, start: usize| index >= start && index < start + n;

                // memcpy between buffers.
                fill(first, 1);
                fill(second, 100);
                let returned = unsafe { memcpy(second.add(to), first.add(from), n) };
                tally.expect(returned == unsafe { second.add(to) });
                tally.bytes(second, |index| {
                    if inside(index, to) {
                        pattern(index - to + from, 1)
                    } else {
                        pattern(index, 100)
                    }
                });

                // memmove within one buffer, the destination above and below the source.
                for (dst, src) in [(to + 8, from), (to, from + 8)] {
                    let want = |index: usize| {
                        if inside(index, dst) {
                            pattern(index - dst + src, 3)
                        } else {
                            pattern(index, 3)
                        }
                    };
                    fill(first, 3);
                    let returned = unsafe { memmove(first.add(dst), first.add(src), n) };
                    tally.expect(returned == unsafe { first.add(dst) });
                    tally.bytes(first, want);
                    fill(first, 3);
                    unsafe { __aeabi_memmove(first.add(dst), first.add(src), n) };
                    tally.bytes(first, want);
                }

                // memset (C order, only the low byte counts), __aeabi_memset, __aeabi_memclr.
                fill(first, 5);
                let returned = unsafe { memset(first.add(to), 0x1A5, n) };
                tally.expect(returned == unsafe { first.add(to) });
                tally.bytes(first, |i| if inside(i, to) { 0xA5 } else { pattern(i, 5) });
                fill(first, 5);
                unsafe { __aeabi_memset(first.add(from), n, 0x3C) };
                tally.bytes(
                    first,
                    |i| if inside(i, from) { 0x3C } else { pattern(i, 5) },
                );
                fill(first, 5);
                unsafe { __aeabi_memclr(first.add(from), n) };
                tally.bytes(first, |i| if inside(i, from) { 0 } else { pattern(i, 5) });

                // memcmp: equal, then the last byte larger on one side.
                fill(first, 9);
                fill(second, 9);
                tally.expect(unsafe { memcmp(first.add(from), second.add(from), n) } == 0);
                if n > 0 {
                    let last = from + n - 1;
                    unsafe { write_volatile(second.add(last), get(second, last).wrapping_add(1)) };
                    tally.expect(unsafe { memcmp(first.add(from), second.add(from), n) } < 0);
                    tally.expect(unsafe { memcmp(second.add(from), first.add(from), n) } > 0);
                }
            }
        }
    }
    // The word-aligned EABI form.
    fill(first, 11);
    fill(second, 0);
    unsafe { __aeabi_memcpy4(second, first, 64) };
    tally.bytes(second, |i| {
        if i < 64 {
            pattern(i, 11)
        } else {
            pattern(i, 0)
        }
    });

    check_division(&mut tally);

    // Guards against a loop that silently ran nothing.
    tally.expect(tally.checks > 120_000);
    exit(if tally.wrong == 0 {
        0
    } else {
        1 + tally.wrong.min(200)
    })
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(255)
}
