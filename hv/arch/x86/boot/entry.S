/*
 * Relay's entry from a multiboot1 or multiboot2 loader (and, later, from purgatory
 * during a live update, which uses the multiboot2 convention).
 *
 * Machine state on entry (Multiboot 0.6.96 §3.2, Multiboot2 §3.3): 32-bit protected
 * mode, paging off, flat segments, EAX = magic, EBX = physical address of the boot
 * information. ESP is undefined.
 *
 * The image is relocatable: nothing here uses an absolute physical address. The entry
 * finds its own load base, zeroes .bss, builds early page tables that identity-map the
 * first 4 GiB and map KERNEL_VBASE onto the load base, enters long mode and jumps to
 * the high virtual address. docs/boot.md describes the result.
 */

#define MB1_MAGIC 0x1BADB002
#define MB1_BOOTLOADER_MAGIC 0x2BADB002
/* page-align modules | memory info | address fields valid (a.out kludge) */
#define MB1_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))

#define MB2_MAGIC 0xE85250D6
#define MB2_BOOTLOADER_MAGIC 0x36D76289
#define MB2_ARCH_I386 0

#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

#define PTE_PRESENT (1 << 0)
#define PTE_WRITE (1 << 1)
#define PTE_LARGE (1 << 7)

#define TWO_MIB 0x200000
/* Early high mapping of the image: 32 × 2 MiB. The image is far smaller; the final page
 * tables map it exactly. */
#define EARLY_IMAGE_MAP_ENTRIES 32

#define COM1 0x3F8

    .section .boot, "ax"
    .code32

relay_boot_section_start:

/* ---- Multiboot1 header (must lie in the first 8 KiB of the file, 4-byte aligned) ---- */
    .balign 8
    .globl relay_multiboot1_header
relay_multiboot1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)
    .long __mb1_header_phys     /* header_addr */
    .long LOAD_PHYS             /* load_addr */
    .long __load_end_phys       /* load_end_addr: file-backed part of the image */
    .long __bss_end_phys        /* bss_end_addr */
    .long __entry32_phys        /* entry_addr */

/* ---- Multiboot2 header (first 32 KiB, 8-byte aligned) ---- */
    .balign 8
relay_multiboot2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long relay_multiboot2_header_end - relay_multiboot2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (relay_multiboot2_header_end - relay_multiboot2_header))

    /* Information request (optional): memory map, ACPI RSDP (old/new), load base. */
    .balign 8
mb2_info_request:
    .short 1, 1
    .long mb2_info_request_end - mb2_info_request
    .long 6, 14, 15, 21
mb2_info_request_end:

    /* Entry address: the 32-bit entry below (physical, at the default load address). */
    .balign 8
    .short 3, 0
    .long 12
    .long __entry32_phys

    /* Modules page-aligned. */
    .balign 8
    .short 6, 0
    .long 8

    /* Relocatable: anywhere in [2 MiB, 3 GiB), 2 MiB aligned, lowest preferred. */
    .balign 8
    .short 10, 0
    .long 24
    .long TWO_MIB               /* min_addr */
    .long 0xC0000000            /* max_addr */
    .long TWO_MIB               /* align */
    .long 1                     /* preference: low */

    .balign 8
    .short 0, 0
    .long 8
relay_multiboot2_header_end:

/* ---- 32-bit entry ---- */
    .globl relay_entry32
relay_entry32:
    cli
    cld
    /* Find the load base. There is no stack yet: borrow the first dword of the boot
     * information (total_size in multiboot2, flags in multiboot1) as a 4-byte stack for
     * call/pop, then restore it. */
    mov %eax, %edi
    mov %ebx, %esi
    mov (%ebx), %edx
    lea 4(%ebx), %esp
    call 1f
1:  pop %ebp
    mov %edx, (%ebx)
    sub $(1b - relay_boot_section_start), %ebp      /* EBP = physical load base */

    cmp $MB1_BOOTLOADER_MAGIC, %edi
    je 2f
    cmp $MB2_BOOTLOADER_MAGIC, %edi
    je 2f
    lea (msg_bad_magic - relay_boot_section_start)(%ebp), %esi
    jmp early_fail32
2:
    test $(TWO_MIB - 1), %ebp
    jz 3f
    lea (msg_misaligned - relay_boot_section_start)(%ebp), %esi
    jmp early_fail32
3:
    /* Long mode and NX are required (AMD APM vol. 2 §14.8: CPUID Fn8000_0001_EDX[LM]). */
    mov %edi, %edx
    mov $0x80000000, %eax
    cpuid
    cmp $0x80000001, %eax
    jb 4f
    mov $0x80000001, %eax
    cpuid
    test $(1 << 29), %edx
    jz 4f
    test $(1 << 20), %edx
    jnz 5f
4:  lea (msg_no_long_mode - relay_boot_section_start)(%ebp), %esi
    jmp early_fail32
5:
    /* Zero .bss (a loader may not have, and purgatory does not). The boot information
     * never lies inside our .bss: the loader knew its extent. Magic goes in EBX. */
    mov %edi, %ebx
    lea __bss_offset(%ebp), %edi
    mov $__bss_size, %ecx
    xor %eax, %eax
    rep stosb

    /* Hand-off values for the 64-bit side. */
    mov %ebx, (__boot_handoff_offset + 0)(%ebp)     /* magic */
    mov %esi, (__boot_handoff_offset + 4)(%ebp)     /* boot information */
    mov %ebp, (__boot_handoff_offset + 8)(%ebp)     /* load base */
    lea __boot_stack_top_offset(%ebp), %esp

    /* Early page tables. PML4[0] → identity map of 0..4 GiB with 2 MiB pages. */
    lea __early_pdpt_low_offset(%ebp), %eax
    or $(PTE_PRESENT | PTE_WRITE), %eax
    mov %eax, (__early_pml4_offset)(%ebp)

    lea __early_pd_low_offset(%ebp), %eax
    or $(PTE_PRESENT | PTE_WRITE), %eax
    lea __early_pdpt_low_offset(%ebp), %edi
    mov $4, %ecx
6:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 6b

    lea __early_pd_low_offset(%ebp), %edi
    mov $(PTE_PRESENT | PTE_WRITE | PTE_LARGE), %eax
    mov $2048, %ecx
7:  mov %eax, (%edi)
    add $TWO_MIB, %eax
    add $8, %edi
    loop 7b

    /* PML4[511] → PDPT[510] → PD: KERNEL_VBASE (0xFFFFFFFF80000000) onto the load base. */
    lea __early_pdpt_high_offset(%ebp), %eax
    or $(PTE_PRESENT | PTE_WRITE), %eax
    mov %eax, (__early_pml4_offset + 511 * 8)(%ebp)

    lea __early_pd_high_offset(%ebp), %eax
    or $(PTE_PRESENT | PTE_WRITE), %eax
    mov %eax, (__early_pdpt_high_offset + 510 * 8)(%ebp)

    lea __early_pd_high_offset(%ebp), %edi
    mov %ebp, %eax
    or $(PTE_PRESENT | PTE_WRITE | PTE_LARGE), %eax
    mov $EARLY_IMAGE_MAP_ENTRIES, %ecx
8:  mov %eax, (%edi)
    add $TWO_MIB, %eax
    add $8, %edi
    loop 8b

    /* Enter long mode (AMD APM vol. 2 §14.6.1): PAE, CR3, EFER.LME, then CR0.PG. */
    lea __early_pml4_offset(%ebp), %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $(EFER_LME | EFER_NXE), %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE | CR0_WP), %eax
    mov %eax, %cr0

    /* The GDT pseudo-descriptor (in .bss: nothing here writes .data, whose pristine
     * contents the boot keeps for a later rollback) gets its limit and physical base. */
    movw $(early_gdt_end - early_gdt - 1), __early_gdtr_offset(%ebp)
    lea __early_gdt_offset(%ebp), %eax
    mov %eax, (__early_gdtr_offset + 2)(%ebp)
    lgdt __early_gdtr_offset(%ebp)

    lea __entry64_low_offset(%ebp), %eax
    push $0x08
    push %eax
    lret

/* Prints the NUL-terminated message at ESI on COM1 and halts. Used before long mode,
 * where nothing else can report. */
early_fail32:
    mov $COM1 + 5, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    mov $COM1, %dx
    lodsb
    test %al, %al
    jz 2f
    out %al, %dx
    jmp early_fail32
2:  cli
    hlt
    jmp 2b

msg_bad_magic:
    .asciz "relay: not started by a multiboot loader (bad magic in EAX)\r\n"
msg_misaligned:
    .asciz "relay: image must be loaded at a 2 MiB aligned address\r\n"
msg_no_long_mode:
    .asciz "relay: this CPU lacks long mode or NX; cannot boot\r\n"

    .code64
    .globl relay_entry64_low
relay_entry64_low:
    /* Still at the identity-mapped physical address: load data segments, then go high. */
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $relay_entry64_high, %rax
    jmp *%rax

    .text
    .code64
relay_entry64_high:
    movabs $relay_boot_stack_top, %rsp
    xor %ebp, %ebp
    call relay_boot_main
1:  cli
    hlt
    jmp 1b

    .data
    .balign 16
    .globl early_gdt
early_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF    /* 0x10: data, DPL 0 */
early_gdt_end:

    .bss
    .balign 16
    .globl early_gdtr
early_gdtr:
    .skip 16

    .balign 4096
    .globl early_pml4, early_pdpt_low, early_pd_low, early_pdpt_high, early_pd_high
early_pml4:
    .skip 4096
early_pdpt_low:
    .skip 4096
early_pd_low:
    .skip 4 * 4096
early_pdpt_high:
    .skip 4096
early_pd_high:
    .skip 4096

    .balign 16
    .globl relay_boot_handoff
relay_boot_handoff:
    .skip 16

    .balign 4096
    .globl relay_boot_stack, relay_boot_stack_top
relay_boot_stack:
    .skip 16384
relay_boot_stack_top:

    .section .note.GNU-stack, "", @progbits
