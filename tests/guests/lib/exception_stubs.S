/*
 * Exception entry stubs for vectors 0-31. Each pushes a zero error code where the CPU
 * pushes none (so every frame has one shape, struct ExceptionFrame in exceptions.hpp),
 * then the vector, then jumps to the common path, which saves the general-purpose
 * registers and calls guest_handle_exception(ExceptionFrame*). AMD APM vol. 2 §8.2 lists
 * the vectors with an error code: 8, 10-14, 17, 21, 29, 30.
 *
 * The handler may rewrite the frame (to resume elsewhere: fault_catching.hpp); the common
 * path restores whatever the frame then holds.
 */
    .text
    .code64

    .macro STUB vector
    .balign 16
guest_exception_stub_\vector:
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp guest_exception_common
    .endm

    .altmacro
    .set vector, 0
    .rept 32
    STUB %vector
    .set vector, vector + 1
    .endr

guest_exception_common:
    cld
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    /* The CPU aligned RSP to 16 bytes before pushing its 5-word frame (APM vol. 2
     * §8.9.3); error code, vector and 15 registers make 22 words: still aligned. */
    mov %rsp, %rdi
    call guest_handle_exception
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

    .macro STUB_ADDRESS vector
    .quad guest_exception_stub_\vector
    .endm

    .section .rodata
    .balign 8
    .globl guest_exception_stubs
guest_exception_stubs:
    .set vector, 0
    .rept 32
    STUB_ADDRESS %vector
    .set vector, vector + 1
    .endr

    .section .note.GNU-stack, "", @progbits
