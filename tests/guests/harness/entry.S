/*
 * The guest harness's entry from QEMU's multiboot1 loader (Multiboot 0.6.96 §3.2:
 * 32-bit protected mode, paging off, EAX = magic, EBX = boot information). It identity-
 * maps the first 4 GiB with 2 MiB pages, enters long mode and calls
 * harness_main(magic, info). It also holds harness_vmrun, the world switch into the
 * guest (AMD APM vol. 2 §15.5).
 */
#define MB1_MAGIC 0x1BADB002
/* page-align modules | memory info | address fields valid (a.out kludge: QEMU refuses a
 * 64-bit ELF otherwise) */
#define MB1_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))

    .section .boot.header, "a"
    .balign 8
harness_multiboot1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)
    .long harness_multiboot1_header
    .long __image_start
    .long __load_end
    .long __bss_end
    .long harness_entry32

    .section .boot, "ax"
    .code32
    .globl harness_entry32
harness_entry32:
    cli
    cld
    mov %eax, %edi
    mov %ebx, %esi
    /* Clear .bss (page tables and stacks live there). */
    push %edi
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    pop %edi
    mov $harness_stack_top, %esp

    /* PML4[0] -> PDPT; PDPT[0..3] -> 4 page directories of 2 MiB pages. */
    mov $harness_pdpt, %eax
    or $0x3, %eax
    mov %eax, harness_pml4
    mov $0, %ecx
1:  mov %ecx, %eax
    shl $12, %eax
    add $harness_page_directories, %eax
    or $0x3, %eax
    mov %eax, harness_pdpt(,%ecx,8)
    inc %ecx
    cmp $4, %ecx
    jne 1b
    mov $0, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                  /* present, writable, 2 MiB */
    mov %ecx, %edx
    shr $11, %edx                   /* high dword: bits 32+ of (ecx << 21) */
    mov %eax, harness_page_directories(,%ecx,8)
    mov %edx, harness_page_directories+4(,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jne 2b

    mov $harness_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $(1 << 5), %eax              /* PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx
    rdmsr
    or $(1 << 8), %eax              /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax            /* PG, WP, PE */
    mov %eax, %cr0
    lgdt harness_gdtr
    ljmp $0x08, $harness_entry64

    .code64
harness_entry64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    mov $harness_stack_top, %rsp
    /* EDI = magic, ESI = info (zero-extended by the 32-bit moves above). */
    mov %edi, %edi
    mov %esi, %esi
    call harness_main
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .balign 8
harness_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: data */
harness_gdt_end:
harness_gdtr:
    .short harness_gdt_end - harness_gdt - 1
    .long harness_gdt

/*
 * void harness_vmrun(u64 vmcb_physical, GuestRegisters* registers)
 *
 * VMRUN saves and restores only RAX, RSP and RIP (in the VMCB); the other general-purpose
 * registers are the guest's across the switch, so they are loaded from and stored back to
 * `registers` (struct GuestRegisters in harness.cpp: rbx, rcx, rdx, rsi, rdi, rbp, r8-r15
 * at offsets 0, 8, ... 112).
 */
    .text
    .globl harness_vmrun
harness_vmrun:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    push %rsi
    mov %rdi, %rax
    mov 0(%rsi), %rbx
    mov 8(%rsi), %rcx
    mov 16(%rsi), %rdx
    mov 32(%rsi), %rdi
    mov 40(%rsi), %rbp
    mov 48(%rsi), %r8
    mov 56(%rsi), %r9
    mov 64(%rsi), %r10
    mov 72(%rsi), %r11
    mov 80(%rsi), %r12
    mov 88(%rsi), %r13
    mov 96(%rsi), %r14
    mov 104(%rsi), %r15
    mov 24(%rsi), %rsi
    /* GIF stays clear from here to after the exit, so that a host interrupt (the time
     * slice) becomes an INTR exit rather than a host interrupt mid-switch. */
    clgi
    vmrun
    /* #VMEXIT: RAX, RSP, RIP are the host's again; the rest still hold guest values. */
    push %rsi
    mov 8(%rsp), %rsi
    mov %rbx, 0(%rsi)
    mov %rcx, 8(%rsi)
    mov %rdx, 16(%rsi)
    pop 24(%rsi)
    mov %rdi, 32(%rsi)
    mov %rbp, 40(%rsi)
    mov %r8, 48(%rsi)
    mov %r9, 56(%rsi)
    mov %r10, 64(%rsi)
    mov %r11, 72(%rsi)
    mov %r12, 80(%rsi)
    mov %r13, 88(%rsi)
    mov %r14, 96(%rsi)
    mov %r15, 104(%rsi)
    pop %rsi
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    /* A pending host interrupt (the one that caused an INTR exit) is taken here. */
    stgi
    ret

/*
 * Host interrupt handlers: the LAPIC timer that ends a time slice (only its EOI matters:
 * the INTR exit has done the work) and the spurious vector.
 */
    .globl harness_timer_interrupt
harness_timer_interrupt:
    push %rax
    mov $0xFEE000B0, %eax       /* LAPIC EOI */
    movl $0, (%rax)
    pop %rax
    iretq

    .globl harness_spurious_interrupt
harness_spurious_interrupt:
    iretq

    .section .bss
    .balign 4096
harness_pml4:
    .skip 4096
harness_pdpt:
    .skip 4096
harness_page_directories:
    .skip 4 * 4096
    .balign 16
    .skip 32768
harness_stack_top:

    .section .note.GNU-stack, "", @progbits
