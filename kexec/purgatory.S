/*
 * Purgatory: leaves long mode and enters another Relay image's 32-bit entry with the
 * multiboot2 convention (EAX = 0x36D76289, EBX = boot information), or parks a CPU.
 *
 * The code below is copied to one page P that is identity-mapped (virtual = physical)
 * and lies in memory the next image does not reuse before it has taken over the CPUs:
 * the tail of the target's half of the handover region (docs/live-update.md). It is
 * position independent; its data block at the end of the page is filled in by
 * kexec/purgatory.cpp. Entry: 64-bit mode, interrupts off, RDI = P.
 *
 * Leaving long mode (AMD APM vol. 2 §14.7): switch to a 32-bit (compatibility mode)
 * code segment, clear CR0.PG while running identity-mapped, clear EFER.LME. Then, for the
 * jump: copy the previous image's pristine .data back in place (so that image can boot
 * again for a rollback), load the multiboot2 registers, jump to the entry.
 * Before jumping, the staged image is checked against the checksum the producer took
 * when it staged it (kexec/image_checksum.hpp: h = rotl(h, 5) + dword over the image);
 * if it changed, purgatory enters the fallback instead: the producer's own image with
 * information that hands it the same stream back (a rollback).
 * For parking: halt forever with paging off; INIT from the next image restarts the CPU.
 */
#define PURGATORY_GDTR 0xF00
#define PURGATORY_GDT 0xF10
#define PURGATORY_COPY_SOURCE 0xF40
#define PURGATORY_COPY_DESTINATION 0xF44
#define PURGATORY_COPY_LENGTH 0xF48
#define PURGATORY_ENTRY 0xF4C
#define PURGATORY_INFO 0xF50
#define PURGATORY_CHECK_BASE 0xF54
#define PURGATORY_CHECK_LENGTH 0xF58
#define PURGATORY_CHECK_EXPECTED 0xF5C
#define PURGATORY_FALLBACK_ENTRY 0xF60
#define PURGATORY_FALLBACK_INFO 0xF64

#define CR0_PG (1 << 31)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)

    .section .rodata.purgatory, "a"
    .balign 16
    .globl relay_purgatory_start, relay_purgatory_end
    .globl relay_purgatory_jump_offset, relay_purgatory_park_offset
relay_purgatory_start:
    .code64
purgatory_jump:
    xor %esi, %esi              /* ESI = 0: jump */
    jmp leave_long_mode
purgatory_park:
    mov $1, %esi                /* ESI = 1: park */
leave_long_mode:
    lgdt PURGATORY_GDTR(%rdi)
    lea compatibility(%rip), %rax
    push $0x10                  /* 32-bit code segment */
    push %rax
    lretq
    .code32
compatibility:
    mov $0x18, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov %cr0, %eax
    and $~CR0_PG, %eax
    mov %eax, %cr0              /* paging off: now plain 32-bit protected mode */
    mov $MSR_EFER, %ecx
    rdmsr
    and $~EFER_LME, %eax
    wrmsr
    test %esi, %esi
    jnz park
    mov %edi, %ebx              /* EBX = P while copying */
    mov PURGATORY_COPY_SOURCE(%ebx), %esi
    mov PURGATORY_COPY_DESTINATION(%ebx), %edi
    mov PURGATORY_COPY_LENGTH(%ebx), %ecx
    cld
    rep movsb
    /* The checksum of the staged image (length 0: no check). */
    mov PURGATORY_CHECK_BASE(%ebx), %esi
    mov PURGATORY_CHECK_LENGTH(%ebx), %ecx
    shr $2, %ecx
    jz enter                    /* nothing to check */
    xor %eax, %eax
2:  test %ecx, %ecx
    jz 3f
    rol $5, %eax
    add (%esi), %eax
    add $4, %esi
    dec %ecx
    jmp 2b
3:  cmp PURGATORY_CHECK_EXPECTED(%ebx), %eax
    jne fallback
enter:
    mov PURGATORY_ENTRY(%ebx), %edx
    mov PURGATORY_INFO(%ebx), %ebx
    mov $0x36D76289, %eax
    jmp *%edx
fallback:
    mov PURGATORY_FALLBACK_ENTRY(%ebx), %edx
    mov PURGATORY_FALLBACK_INFO(%ebx), %ebx
    mov $0x36D76289, %eax
    jmp *%edx
park:
    cli
1:  hlt
    jmp 1b
relay_purgatory_end:

    .set relay_purgatory_jump_offset, purgatory_jump - relay_purgatory_start
    .set relay_purgatory_park_offset, purgatory_park - relay_purgatory_start

    .section .note.GNU-stack, "", @progbits
