/*
 * relay_svm_run(guest_vmcb_pa, GuestRegisters* registers, host_state_pa)
 *
 * Runs a guest until its next #VMEXIT (AMD APM vol. 2 §15.5, §15.6). Called with GIF
 * clear (CLGI), so no host interrupt can arrive between the state switches here.
 *
 * VMRUN saves and restores only part of the host state (into VM_HSAVE_PA); the rest
 * (FS, GS incl. the PerCpu base in MSR_GS_BASE, TR, LDTR, KernelGsBase, STAR, LSTAR,
 * CSTAR, SFMASK, SYSENTER_*) is switched here with VMSAVE/VMLOAD:
 *   VMSAVE host page; VMLOAD guest VMCB; VMRUN; VMSAVE guest VMCB; VMLOAD host page.
 * RAX, RSP and RIP live in the VMCB; the other 14 GPRs are in `registers`
 * (struct GuestRegisters in hv/vcpu.hpp: rbx rcx rdx rsi rdi rbp r8..r15).
 */
#define GR_RBX 0
#define GR_RCX 8
#define GR_RDX 16
#define GR_RSI 24
#define GR_RDI 32
#define GR_RBP 40
#define GR_R8 48
#define GR_R9 56
#define GR_R10 64
#define GR_R11 72
#define GR_R12 80
#define GR_R13 88
#define GR_R14 96
#define GR_R15 104

    .text
    .code64
    .globl relay_svm_run
relay_svm_run:
    push %rbp
    mov %rsp, %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rsi                   /* registers pointer, for after VMRUN */
    push %rdx                   /* host state page */
    push %rdi                   /* guest VMCB */

    mov %rdx, %rax
    vmsave %rax                 /* host FS/GS/TR/... */

    mov (%rsp), %rax            /* guest VMCB */
    mov GR_RBX(%rsi), %rbx
    mov GR_RCX(%rsi), %rcx
    mov GR_RDX(%rsi), %rdx
    mov GR_RDI(%rsi), %rdi
    mov GR_RBP(%rsi), %rbp
    mov GR_R8(%rsi), %r8
    mov GR_R9(%rsi), %r9
    mov GR_R10(%rsi), %r10
    mov GR_R11(%rsi), %r11
    mov GR_R12(%rsi), %r12
    mov GR_R13(%rsi), %r13
    mov GR_R14(%rsi), %r14
    mov GR_R15(%rsi), %r15
    mov GR_RSI(%rsi), %rsi

    vmload %rax
    vmrun %rax
    vmsave %rax

    /* Guest registers are live; find the save area without losing any. */
    push %rsi
    mov 24(%rsp), %rsi          /* registers pointer (above: guest rsi, vmcb, host page) */
    mov %rbx, GR_RBX(%rsi)
    mov %rcx, GR_RCX(%rsi)
    mov %rdx, GR_RDX(%rsi)
    mov %rdi, GR_RDI(%rsi)
    mov %rbp, GR_RBP(%rsi)
    mov %r8, GR_R8(%rsi)
    mov %r9, GR_R9(%rsi)
    mov %r10, GR_R10(%rsi)
    mov %r11, GR_R11(%rsi)
    mov %r12, GR_R12(%rsi)
    mov %r13, GR_R13(%rsi)
    mov %r14, GR_R14(%rsi)
    mov %r15, GR_R15(%rsi)
    pop %rax
    mov %rax, GR_RSI(%rsi)

    pop %rdi                    /* guest VMCB (unused) */
    pop %rax                    /* host state page */
    vmload %rax
    pop %rsi
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

    .section .note.GNU-stack, "", @progbits
