// Exceptions in a test guest. A fault inside catch_fault() (fault_catching.hpp) abandons
// the caught body; any other exception prints a report (vector, error code, RIP,
// registers) and shuts the domain down with RELAY_SHUTDOWN_CRASH, so that a test sees
// what went wrong instead of a silent triple fault.
#pragma once

#include "lib/types.hpp"

namespace relay::guest {

// What exception_stubs.S pushes, lowest address first.
struct ExceptionFrame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector;
    u64 error_code;  // 0 for vectors without one
    // Pushed by the CPU (AMD APM vol. 2 §8.9.3).
    u64 rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(ExceptionFrame) == 22 * 8);

// "#GP" for 13; "#??" for a vector without a mnemonic.
const char* exception_mnemonic(u64 vector);

// "general protection" for 13.
const char* exception_description(u64 vector);

}  // namespace relay::guest
