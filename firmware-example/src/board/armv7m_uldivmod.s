@ 64-bit unsigned division for an ARMv7-M core, small: the ARM EABI's __aeabi_uldivmod,
@ which the compiler calls for `/` and `%` on u64 (embassy-time and smoltcp instants,
@ the app's dates). It replaces compiler_builtins' (a weak symbol, so this one wins at
@ link time; 932 B with its u64_div_rem, against about 100 B here): one bit per step,
@ at most 64 steps, so a few hundred cycles where compiler_builtins' takes tens; the
@ hardware divide when both numbers fit 32 bits. A board file includes this with
@ `core::arch::global_asm!(include_str!("armv7m_uldivmod.s"), options(raw))` (raw: the
@ register lists are braces); `mem-check` runs it under qemu-arm.
@
@ Division by zero does not happen: Rust checks the divisor first (it would give a
@ quotient of 0 or all ones here, never a hang).

    .syntax unified
    .thumb
    .section .text.armv7m_uldivmod, "ax", %progbits

@ __aeabi_uldivmod(n r0:r1, d r2:r3) -> quotient r0:r1, remainder r2:r3 (low word first).
    .global __aeabi_uldivmod
    .type __aeabi_uldivmod, %function
    .thumb_func
__aeabi_uldivmod:
    orrs    ip, r1, r3
    bne     .Ldiv_long
    udiv    ip, r0, r2              @ both fit 32 bits: the hardware divide
    mls     r2, ip, r2, r0
    mov     r0, ip
    movs    r1, #0                  @ r3 is 0 already
    bx      lr
.Ldiv_long:
    cbnz    r1, .Ldiv_steps
    mov     r2, r0                  @ n < 2^32 <= d: quotient 0, remainder n
    movs    r3, #0
    movs    r0, #0
    bx      lr
.Ldiv_steps:
    push    {r4, r5, r6, lr}
    clz     r6, r1                  @ n's leading zeros need no step: shift them out
    rsb     r4, r6, #32
    lsl     r1, r1, r6
    lsr     r4, r0, r4              @ a shift by 32 gives 0
    orr     r1, r1, r4
    lsl     r0, r0, r6
    rsb     r6, r6, #64             @ steps: one per significant bit of n
    movs    r4, #0                  @ the remainder, r4:r5
    movs    r5, #0
.Ldiv_step:
    adds    r0, r0, r0              @ remainder:n one bit to the left
    adcs    r1, r1, r1
    adcs    r4, r4, r4
    adcs    r5, r5, r5
    bcs     .Ldiv_subtract          @ a 65th bit: the remainder is above d
    subs    ip, r4, r2
    sbcs    lr, r5, r3
    bcc     .Ldiv_next              @ the remainder is below d
.Ldiv_subtract:
    subs    r4, r4, r2
    sbc     r5, r5, r3
    orr     r0, r0, #1              @ the quotient's bit, where n's bit left
.Ldiv_next:
    subs    r6, r6, #1
    bne     .Ldiv_step
    mov     r2, r4
    mov     r3, r5
    pop     {r4, r5, r6, pc}
