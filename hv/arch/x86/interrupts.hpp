// Interrupt and exception dispatch. Exceptions in the hypervisor are bugs: they print a
// full report (vector, error code, registers, control registers, stack trace) and panic.
#pragma once

#include "lib/types.hpp"

namespace relay::x86 {

// Saved by interrupt_stubs.S, lowest address first.
struct InterruptFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector;
    u64 error_code;
    u64 rip, cs, rflags, rsp, ss;  // pushed by the CPU
};

using InterruptHandler = void (*)(InterruptFrame& frame);

// Vectors 32..255. Interrupt handlers run with interrupts disabled.
void set_interrupt_handler(u8 vector, InterruptHandler handler);

const char* exception_name(u64 vector);

// Prints the exception report for `frame` on the console (used by the exception path and
// by tests of it).
void report_exception(const InterruptFrame& frame);

// Prints "#n 0x... symbol+offset" lines: `rip` first (unless 0), then the frame-pointer
// chain from `rbp`, staying inside [stack_low, stack_high). Repeated frames collapse.
void print_stack_trace(u64 rip, u64 rbp, u64 stack_low, u64 stack_high);

}  // namespace relay::x86
