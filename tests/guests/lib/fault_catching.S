/*
 * bool guest_call_catching_faults(void (*body)(void*), void* context, FaultCatcher* catcher)
 *
 * Calls body(context) and returns false. If the body raises an exception while
 * `catcher` is this vCPU's active catcher, the exception handler abandons the body: it
 * restores the callee-saved registers and the stack pointer saved here and resumes at
 * the recovery label, which returns true. To the C++ caller this is an ordinary call
 * that returns twice at most once, like setjmp without its hazards: nothing of the body's
 * frame is used after the fault.
 */
#include "tests/guests/lib/layout.h"

    .text
    .code64
    .globl guest_call_catching_faults
    .type guest_call_catching_faults, @function
guest_call_catching_faults:
    mov %rbx, GUEST_FAULT_CATCHER_RBX(%rdx)
    mov %rbp, GUEST_FAULT_CATCHER_RBP(%rdx)
    mov %r12, GUEST_FAULT_CATCHER_R12(%rdx)
    mov %r13, GUEST_FAULT_CATCHER_R13(%rdx)
    mov %r14, GUEST_FAULT_CATCHER_R14(%rdx)
    mov %r15, GUEST_FAULT_CATCHER_R15(%rdx)
    /* RSP as at entry: it points at our return address, so the recovery path can ret. */
    mov %rsp, GUEST_FAULT_CATCHER_RSP(%rdx)
    lea .Lrecovered(%rip), %rax
    mov %rax, GUEST_FAULT_CATCHER_RIP(%rdx)
    mov %rdi, %rax
    mov %rsi, %rdi
    /* Entry RSP is 8 mod 16; the call needs 0 mod 16. */
    sub $8, %rsp
    call *%rax
    add $8, %rsp
    xor %eax, %eax
    ret
.Lrecovered:
    mov $1, %eax
    ret
    .size guest_call_catching_faults, . - guest_call_catching_faults

    .section .note.GNU-stack, "", @progbits
