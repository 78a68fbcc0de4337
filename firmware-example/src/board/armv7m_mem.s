@ The memory routines the compiler calls (memcpy, memmove, memset, memcmp and their
@ ARM EABI forms) for an ARMv7-M core, small: a word loop when the addresses allow it,
@ else bytes. They replace compiler_builtins' unrolled ones (weak symbols, so these
@ win at link time), about 3 KB less flash; a board file includes this with
@ `core::arch::global_asm!(include_str!("armv7m_mem.s"))`.
@
@ Registers are the AAPCS ones a leaf may use: r0-r3 and ip; nothing is pushed.

    .syntax unified
    .thumb
    .section .text.armv7m_mem, "ax", %progbits

@ memcpy(dst r0, src r1, n r2) -> dst; the __aeabi_ forms take the same arguments and
@ return nothing (the 4 and 8 forms promise alignment, which the loop checks anyway).
    .global memcpy
    .global __aeabi_memcpy
    .global __aeabi_memcpy4
    .global __aeabi_memcpy8
    .type memcpy, %function
    .type __aeabi_memcpy, %function
    .type __aeabi_memcpy4, %function
    .type __aeabi_memcpy8, %function
    .thumb_func
memcpy:
__aeabi_memcpy:
__aeabi_memcpy4:
__aeabi_memcpy8:
    mov     ip, r0
    orr     r3, r0, r1
    lsls    r3, r3, #30             @ both word-aligned: the low two bits are clear
    bne     .Lcopy_bytes
.Lcopy_words:
    cmp     r2, #4
    blo     .Lcopy_bytes
    ldr     r3, [r1], #4
    str     r3, [ip], #4
    subs    r2, r2, #4
    b       .Lcopy_words
.Lcopy_bytes:
    cbz     r2, .Lcopy_done
    ldrb    r3, [r1], #1
    strb    r3, [ip], #1
    subs    r2, r2, #1
    b       .Lcopy_bytes
.Lcopy_done:
    bx      lr

@ memmove(dst r0, src r1, n r2) -> dst. Forwards (memcpy) unless dst lies inside
@ [src, src + n): dst - src >= n unsigned covers dst below src too, where a forward
@ copy, by words or bytes, reads every byte before it is overwritten.
    .global memmove
    .global __aeabi_memmove
    .global __aeabi_memmove4
    .global __aeabi_memmove8
    .type memmove, %function
    .type __aeabi_memmove, %function
    .type __aeabi_memmove4, %function
    .type __aeabi_memmove8, %function
    .thumb_func
memmove:
__aeabi_memmove:
__aeabi_memmove4:
__aeabi_memmove8:
    subs    r3, r0, r1
    cmp     r3, r2
    bhs     memcpy
    adds    r1, r1, r2              @ backwards, from the ends, by bytes
    add     ip, r0, r2
.Lmove_back:
    cbz     r2, .Lmove_done
    ldrb    r3, [r1, #-1]!
    strb    r3, [ip, #-1]!
    subs    r2, r2, #1
    b       .Lmove_back
.Lmove_done:
    bx      lr

@ __aeabi_memclr(dst r0, n r1); __aeabi_memset(dst r0, n r1, c r2);
@ memset(dst r0, c r1, n r2) -> dst (the C order: swapped into the EABI one).
    .global __aeabi_memclr
    .global __aeabi_memclr4
    .global __aeabi_memclr8
    .global __aeabi_memset
    .global __aeabi_memset4
    .global __aeabi_memset8
    .global memset
    .type __aeabi_memclr, %function
    .type __aeabi_memclr4, %function
    .type __aeabi_memclr8, %function
    .type __aeabi_memset, %function
    .type __aeabi_memset4, %function
    .type __aeabi_memset8, %function
    .type memset, %function
    .thumb_func
__aeabi_memclr:
__aeabi_memclr4:
__aeabi_memclr8:
    movs    r2, #0
    .thumb_func
__aeabi_memset:
__aeabi_memset4:
__aeabi_memset8:
    mov     ip, r0
    uxtb    r2, r2
    orr     r2, r2, r2, lsl #8      @ the byte in all four lanes of a word
    orr     r2, r2, r2, lsl #16
    lsls    r3, r0, #30
    bne     .Lset_bytes
.Lset_words:
    cmp     r1, #4
    blo     .Lset_bytes
    str     r2, [ip], #4
    subs    r1, r1, #4
    b       .Lset_words
.Lset_bytes:
    cbz     r1, .Lset_done
    strb    r2, [ip], #1
    subs    r1, r1, #1
    b       .Lset_bytes
.Lset_done:
    bx      lr
    .thumb_func
memset:
    mov     r3, r1
    mov     r1, r2
    mov     r2, r3
    b       __aeabi_memset

@ memcmp(a r0, b r1, n r2) -> the difference of the first unequal bytes, or 0;
@ bcmp (any nonzero for unequal) is the same routine.
    .global memcmp
    .global bcmp
    .type memcmp, %function
    .type bcmp, %function
    .thumb_func
memcmp:
bcmp:
    cbz     r2, .Lcompare_equal
    ldrb    r3, [r0], #1
    ldrb    ip, [r1], #1
    subs    r3, r3, ip
    bne     .Lcompare_differ
    subs    r2, r2, #1
    b       memcmp
.Lcompare_equal:
    movs    r0, #0
    bx      lr
.Lcompare_differ:
    mov     r0, r3
    bx      lr
