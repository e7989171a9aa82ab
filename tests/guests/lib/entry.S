/*
 * Entry points of a test guest's vCPUs.
 *
 * The boot vCPU starts at _start in the state hv/abi/start_info.h describes: 64-bit mode,
 * CPL 0, interrupts off, RDI = guest-physical address of the start-info block, RSP = the
 * builder's boot stack in low memory. Secondary vCPUs start at guest_secondary_vcpu_entry
 * (RELAY_HC_VCPU_UP) with RSP = their own stack and RDI = their launch record.
 *
 * Every vCPU runs on its slot of guest_vcpu_stacks, in .bss, so that no guest code
 * writes low memory (start info, GDT, page tables stay as the builder left them) and the
 * stack pointer tells which vCPU is running (current_vcpu()).
 */
#include "tests/guests/lib/layout.h"

    .section .text.entry, "ax", @progbits
    .code64

    .globl _start
    .type _start, @function
_start:
    cli
    cld
    /* Keep the start-info address in a register: .bss (and with it the stack) is cleared
     * before anything is pushed. The builder zeroes memory past the file's bytes, but a
     * guest must not depend on it (a rebooted domain may not be fresh). */
    mov %rdi, %r12
    lea __bss_start(%rip), %rdi
    lea __bss_end(%rip), %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    rep stosb
    lea guest_vcpu_stacks + GUEST_VCPU_STACK_SIZE(%rip), %rsp
    xor %ebp, %ebp
    mov %r12, %rdi
    call guest_boot_vcpu_start
    /* guest_boot_vcpu_start does not return. */
1:  hlt
    jmp 1b
    .size _start, . - _start

    .text
    .globl guest_secondary_vcpu_entry
    .type guest_secondary_vcpu_entry, @function
guest_secondary_vcpu_entry:
    cli
    cld
    xor %ebp, %ebp
    call guest_secondary_vcpu_start
1:  hlt
    jmp 1b
    .size guest_secondary_vcpu_entry, . - guest_secondary_vcpu_entry

    .section .bss.stacks, "aw", @nobits
    .balign 4096
    .globl guest_vcpu_stacks
guest_vcpu_stacks:
    .skip GUEST_MAX_VCPUS * GUEST_VCPU_STACK_SIZE
    .globl guest_vcpu_stacks_end
guest_vcpu_stacks_end:

    .section .note.GNU-stack, "", @progbits
