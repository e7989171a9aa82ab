#include "tests/guests/lib/exceptions.hpp"

#include "hv/abi/hypercall.h"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/fault_catching.hpp"
#include "tests/guests/lib/shutdown.hpp"
#include "tests/guests/lib/vcpu.hpp"

namespace relay::guest {

namespace {

struct ExceptionName {
    const char* mnemonic;
    const char* description;
};

// AMD APM vol. 2 §8.2, table 8-1.
constexpr ExceptionName kExceptionNames[32] = {
    {"#DE", "divide error"},
    {"#DB", "debug"},
    {"NMI", "non-maskable interrupt"},
    {"#BP", "breakpoint"},
    {"#OF", "overflow"},
    {"#BR", "bound range"},
    {"#UD", "invalid opcode"},
    {"#NM", "device not available"},
    {"#DF", "double fault"},
    {"#??", "coprocessor segment overrun"},
    {"#TS", "invalid TSS"},
    {"#NP", "segment not present"},
    {"#SS", "stack"},
    {"#GP", "general protection"},
    {"#PF", "page fault"},
    {"#??", "reserved"},
    {"#MF", "x87 floating-point"},
    {"#AC", "alignment check"},
    {"#MC", "machine check"},
    {"#XF", "SIMD floating-point"},
    {"#??", "reserved"},
    {"#CP", "control protection"},
    {"#??", "reserved"},
    {"#??", "reserved"},
    {"#??", "reserved"},
    {"#??", "reserved"},
    {"#??", "reserved"},
    {"#??", "reserved"},
    {"#HV", "hypervisor injection"},
    {"#VC", "VMM communication"},
    {"#SX", "security"},
    {"#??", "reserved"},
};

// Per vCPU: set while a report is being printed, so that a fault in the report itself
// shuts down at once instead of recursing.
bool g_reporting[kMaxVcpus];

[[noreturn]] void report_and_crash(const ExceptionFrame& frame) {
    u32 vcpu = current_vcpu();
    if (g_reporting[vcpu]) {
        shutdown(RELAY_SHUTDOWN_CRASH);
    }
    g_reporting[vcpu] = true;
    const ExceptionFrame& f = frame;
    emergency_log_line("exception {} ({}, vector {}) error {:#x} at rip {:#x} on vcpu {}",
                       exception_mnemonic(f.vector), exception_description(f.vector), f.vector,
                       f.error_code, f.rip, vcpu);
    emergency_log_line("  rax {:#018x} rbx {:#018x} rcx {:#018x} rdx {:#018x}", f.rax, f.rbx, f.rcx,
                       f.rdx);
    emergency_log_line("  rsi {:#018x} rdi {:#018x} rbp {:#018x} rsp {:#018x}", f.rsi, f.rdi, f.rbp,
                       f.rsp);
    emergency_log_line("  r8  {:#018x} r9  {:#018x} r10 {:#018x} r11 {:#018x}", f.r8, f.r9, f.r10,
                       f.r11);
    emergency_log_line("  r12 {:#018x} r13 {:#018x} r14 {:#018x} r15 {:#018x}", f.r12, f.r13, f.r14,
                       f.r15);
    emergency_log_line("  rflags {:#x} cs {:#x} ss {:#x} cr0 {:#x} cr2 {:#x} cr3 {:#x} cr4 {:#x}",
                       f.rflags, f.cs, f.ss, read_cr0(), read_cr2(), read_cr3(), read_cr4());
    emergency_log_line("crashed: shutting down the domain (RELAY_SHUTDOWN_CRASH)");
    shutdown(RELAY_SHUTDOWN_CRASH);
}

}  // namespace

const char* exception_mnemonic(u64 vector) {
    return vector < array_size(kExceptionNames) ? kExceptionNames[vector].mnemonic : "#??";
}

const char* exception_description(u64 vector) {
    return vector < array_size(kExceptionNames) ? kExceptionNames[vector].description
                                                : "unknown vector";
}

}  // namespace relay::guest

// Called by exception_stubs.S with interrupts off, on the faulting vCPU's stack.
extern "C" void guest_handle_exception(relay::guest::ExceptionFrame* frame) {
    if (relay::guest::recover_from_fault(*frame)) {
        return;
    }
    relay::guest::report_and_crash(*frame);
}
