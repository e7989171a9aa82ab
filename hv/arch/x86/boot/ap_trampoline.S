/*
 * Application-processor trampoline. The BSP copies it to a page below 1 MiB, fills the
 * data block at its end and sends INIT-SIPI-SIPI (AMD APM vol. 2 §15.27.8-style startup,
 * MP spec B.4). The AP starts in real mode at CS:IP = page:0 and goes straight to long
 * mode (APM §14.6: PAE, CR3, EFER.LME, then CR0.PE|PG together), then jumps to the high
 * 64-bit entry with its stack and PerCpu pointer.
 *
 * Position independent: 16-bit code addresses data relative to DS = CS; 64-bit code
 * uses RIP-relative addressing. The BSP patches the physical addresses.
 */
#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

    .section .rodata.ap_trampoline, "a"
    .balign 16
    .globl relay_ap_trampoline_start, relay_ap_trampoline_end
    .globl relay_ap_trampoline_data
relay_ap_trampoline_start:
    .code16
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl (trampoline_gdtr - relay_ap_trampoline_start)

    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    movl (data_cr3 - relay_ap_trampoline_start), %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $(EFER_LME | EFER_NXE), %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PE | CR0_PG | CR0_WP), %eax
    mov %eax, %cr0
    ljmpl *(data_long_mode_target - relay_ap_trampoline_start)

    .code64
trampoline_long_mode:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov data_stack(%rip), %rsp
    mov data_percpu(%rip), %rdi
    mov data_entry(%rip), %rax
    xor %ebp, %ebp
    jmp *%rax

    .balign 16
trampoline_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
trampoline_gdt_end:

    .balign 8
relay_ap_trampoline_data:
trampoline_gdtr:                /* +0: limit, 32-bit base (patched) */
    .short trampoline_gdt_end - trampoline_gdt - 1
    .long 0
    .short 0
data_long_mode_target:          /* +8: m16:32 far pointer (offset patched) */
    .long 0
    .short 0x08
    .short 0
data_cr3:                       /* +16: transitional CR3, below 4 GiB */
    .quad 0
data_stack:                     /* +24 */
    .quad 0
data_percpu:                    /* +32 */
    .quad 0
data_entry:                     /* +40 */
    .quad 0
relay_ap_trampoline_end:

    /* Offsets the BSP patches, relative to the start of the trampoline. */
    .globl relay_ap_trampoline_gdt_offset, relay_ap_trampoline_long_mode_offset
    .set relay_ap_trampoline_gdt_offset, trampoline_gdt - relay_ap_trampoline_start
    .set relay_ap_trampoline_long_mode_offset, trampoline_long_mode - relay_ap_trampoline_start
    .set relay_ap_trampoline_data_offset, relay_ap_trampoline_data - relay_ap_trampoline_start
    .globl relay_ap_trampoline_data_offset

    .text
    .code64
    .globl relay_ap_entry64
/* RDI = PerCpu*, RSP = the AP's own stack (already mapped: the transitional space shares
 * the hypervisor's upper half). Switch to the hypervisor's page tables, then C++. */
relay_ap_entry64:
    movabs $relay_kernel_cr3, %rax
    mov (%rax), %rax
    mov %rax, %cr3
    call relay_ap_main
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
