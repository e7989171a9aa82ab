#include "hv/arch/x86/interrupts.hpp"

#include <atomic>

#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"
#include "hv/panic.hpp"
#include "hv/percpu.hpp"
#include "hv/symbols.hpp"

namespace relay::x86 {

namespace {

InterruptHandler handlers[256];

constexpr const char* kExceptionNames[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved (15)",
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XF SIMD floating point",
    "reserved (20)",
    "#CP control protection",
    "reserved (22)",
    "reserved (23)",
    "reserved (24)",
    "reserved (25)",
    "reserved (26)",
    "reserved (27)",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security",
    "reserved (31)",
};

bool canonical(u64 address) {
    return address < (1ull << 47) || address >= ~((1ull << 47) - 1);
}

void log_page_fault_cause(u64 error_code) {
    // AMD APM vol. 2 §8.4.2: P, W/R, U/S, RSV, I/D bits.
    log_error("  page fault: {} access, {}, {} mode{}{}",
              (error_code & 2) != 0 ? "write" : ((error_code & 16) != 0 ? "instruction" : "read"),
              (error_code & 1) != 0 ? "protection violation" : "page not present",
              (error_code & 4) != 0 ? "user" : "supervisor",
              (error_code & 8) != 0 ? ", reserved bit set" : "",
              (error_code & 32) != 0 ? ", protection key" : "");
}

}  // namespace

const char* exception_name(u64 vector) {
    return vector < 32 ? kExceptionNames[vector] : "external interrupt";
}

void set_interrupt_handler(u8 vector, InterruptHandler handler) {
    handlers[vector] = handler;
}

void print_stack_trace(u64 rip, u64 rbp, u64 stack_low, u64 stack_high) {
    char symbol[96];
    int depth = 0;
    if (rip != 0) {
        symbolize(rip, symbol, sizeof(symbol));
        log_error("  #0  {:#018x} {}", rip, symbol);
        depth = 1;
    }
    // Frame layout with frame pointers: [rbp] = caller's rbp, [rbp + 8] = return address.
    u64 previous = 0;
    u64 repeats = 0;
    for (int frames = 0; frames < 64 && depth < 32; ++frames) {
        if (rbp == 0 || (rbp & 7) != 0 || rbp < stack_low || rbp + 16 > stack_high) {
            break;
        }
        const u64* frame = reinterpret_cast<const u64*>(rbp);
        u64 return_address = frame[1];
        if (return_address == 0 || !canonical(return_address)) {
            break;
        }
        if (return_address == previous) {
            ++repeats;  // deep recursion: one line, then a count
        } else {
            if (repeats > 0) {
                log_error("       ... {} more frames at {:#018x}", repeats, previous);
                repeats = 0;
            }
            // A return address follows the call; the call itself names the caller (a
            // noreturn call may be a function's last instruction).
            symbolize(return_address - 1, symbol, sizeof(symbol));
            log_error("  #{}  {:#018x} {}", depth, return_address, symbol);
            ++depth;
            previous = return_address;
        }
        if (frame[0] <= rbp) {
            break;  // frames move toward higher addresses; anything else is a loop
        }
        rbp = frame[0];
    }
    if (repeats > 0) {
        log_error("       ... {} more frames at {:#018x}", repeats, previous);
    }
}

void report_exception(const InterruptFrame& frame) {
    PerCpu& cpu = this_cpu();
    log_error("*** EXCEPTION: {} (vector {}) on cpu {} ***", exception_name(frame.vector),
              frame.vector, cpu.index);
    log_error("  error code {:#x}", frame.error_code);
    if (frame.vector == 14) {
        log_page_fault_cause(frame.error_code);
    }
    log_error("  RIP {:#018x}  CS {:#06x}  RFLAGS {:#018x}", frame.rip, frame.cs, frame.rflags);
    log_error("  RSP {:#018x}  SS {:#06x}", frame.rsp, frame.ss);
    log_error("  CR0 {:#018x}  CR2 {:#018x}", read_cr0(), read_cr2());
    log_error("  CR3 {:#018x}  CR4 {:#018x}", read_cr3(), read_cr4());
    log_error("  RAX {:#018x}  RBX {:#018x}  RCX {:#018x}", frame.rax, frame.rbx, frame.rcx);
    log_error("  RDX {:#018x}  RSI {:#018x}  RDI {:#018x}", frame.rdx, frame.rsi, frame.rdi);
    log_error("  RBP {:#018x}  R8  {:#018x}  R9  {:#018x}", frame.rbp, frame.r8, frame.r9);
    log_error("  R10 {:#018x}  R11 {:#018x}  R12 {:#018x}", frame.r10, frame.r11, frame.r12);
    log_error("  R13 {:#018x}  R14 {:#018x}  R15 {:#018x}", frame.r13, frame.r14, frame.r15);
    log_error("  stack trace:");
    print_stack_trace(frame.rip, frame.rbp, cpu.stack_low, cpu.stack_high);
}

}  // namespace relay::x86

extern "C" void relay_handle_interrupt(relay::x86::InterruptFrame* frame) {
    using namespace relay;
    u64 vector = frame->vector;
    if (vector >= 32) {
        x86::InterruptHandler handler = x86::handlers[vector];
        if (handler != nullptr) {
            handler(*frame);
            return;
        }
        if (vector == 0xFF) {
            return;  // spurious LAPIC interrupt: no EOI (Intel SDM §10.9, AMD APM §16.4.7)
        }
        // Nothing of Relay's sends it (device interrupts are refused at the IOMMU). Only
        // the local APIC delivers vectors here, and it keeps the vector in service until an
        // EOI, which would hold off every vector of its priority class and below (the
        // scheduler tick among them) for good (AMD APM vol. 2 §16.6).
        x86::local_apic_eoi();
        // Said for the first few, then for every 4096th: a flood must not keep this CPU
        // writing to the serial console.
        static std::atomic<u64> unexpected{0};
        u64 seen = unexpected.fetch_add(1, std::memory_order_relaxed) + 1;
        if (seen <= 16 || seen % 4096 == 0) {
            log_warning("unexpected interrupt vector {} on cpu {} ({} so far)", vector,
                        this_cpu().index, seen);
        }
        return;
    }
    if (vector == 2) {
        if (panic_in_progress()) {
            x86::halt_forever();  // another CPU panicked and stops us
        }
        x86::InterruptHandler handler = x86::handlers[2];
        if (handler != nullptr) {
            handler(*frame);
            return;
        }
    }
    x86::report_exception(*frame);
    panic("unhandled exception {} in the hypervisor", x86::exception_name(vector));
}
