/*
 * One entry stub per interrupt vector. Each pushes a zero error code where the CPU does
 * not push one (so every frame has the same shape), the vector number, then jumps to the
 * common path, which saves the general-purpose registers and calls
 * relay_handle_interrupt(InterruptFrame*). AMD APM vol. 2 §8.2 lists the vectors that
 * push an error code: 8, 10-14, 17, 21, 29, 30.
 */
    .text
    .code64

    .macro STUB vector
    .balign 16
relay_interrupt_stub_\vector:
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp relay_interrupt_common
    .endm

    .altmacro
    .set vector, 0
    .rept 256
    STUB %vector
    .set vector, vector + 1
    .endr

relay_interrupt_common:
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
    mov %rsp, %rdi
    /* 16-byte alignment for the C++ call (the frame is 22 quadwords + alignment slop). */
    mov %rsp, %rbx
    and $-16, %rsp
    call relay_handle_interrupt
    mov %rbx, %rsp
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
    add $16, %rsp       /* vector, error code */
    iretq

    .macro STUB_ADDRESS vector
    .quad relay_interrupt_stub_\vector
    .endm

    .section .rodata
    .balign 8
    .globl relay_interrupt_stubs
relay_interrupt_stubs:
    .set vector, 0
    .rept 256
    STUB_ADDRESS %vector
    .set vector, vector + 1
    .endr

    .section .note.GNU-stack, "", @progbits
