#include "tests/guests/lib/fault_catching.hpp"

#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/vcpu.hpp"

extern "C" bool guest_call_catching_faults(void (*body)(void*), void* context,
                                           relay::guest::FaultCatcher* catcher);

namespace relay::guest {

namespace {

struct ActiveCatch {
    FaultCatcher* catcher = nullptr;
    CaughtFault* fault = nullptr;
};

// Per vCPU: the innermost catch_fault in progress.
ActiveCatch g_active[kMaxVcpus];

constexpr u64 kRflagsDirection = 1ull << 10;

}  // namespace

bool catch_fault_raw(void (*body)(void*), void* context, CaughtFault* fault) {
    FaultCatcher catcher{};
    CaughtFault caught;
    ActiveCatch& active = g_active[current_vcpu()];
    ActiveCatch outer = active;
    active = ActiveCatch{&catcher, &caught};
    // The handler writes `caught` and `active` behind the compiler's back: the call is
    // opaque, and the asm barrier orders the reads below after it.
    bool faulted = guest_call_catching_faults(body, context, &catcher);
    asm volatile("" ::: "memory");
    active = outer;
    if (faulted && fault != nullptr) {
        *fault = caught;
    }
    return faulted;
}

bool recover_from_fault(ExceptionFrame& frame) {
    ActiveCatch& active = g_active[current_vcpu()];
    if (active.catcher == nullptr) {
        return false;
    }
    FaultCatcher& catcher = *active.catcher;
    *active.fault = CaughtFault{
        .vector = static_cast<u8>(frame.vector),
        .error_code = frame.error_code,
        .rip = frame.rip,
        .cr2 = frame.vector == 14 ? read_cr2() : 0,
    };
    // Disarm first: a fault on the recovery path must not loop back into it.
    active.catcher = nullptr;
    frame.rbx = catcher.rbx;
    frame.rbp = catcher.rbp;
    frame.r12 = catcher.r12;
    frame.r13 = catcher.r13;
    frame.r14 = catcher.r14;
    frame.r15 = catcher.r15;
    frame.rsp = catcher.rsp;
    frame.rip = catcher.rip;
    frame.rflags &= ~kRflagsDirection;  // the ABI's state at a call boundary
    return true;
}

bool try_rdmsr(u32 msr, u64* value, CaughtFault* fault) {
    u64 result = 0;
    bool faulted = catch_fault([&] { result = read_msr(msr); }, fault);
    if (!faulted) {
        *value = result;
    }
    return !faulted;
}

bool try_wrmsr(u32 msr, u64 value, CaughtFault* fault) {
    return !catch_fault([&] { write_msr(msr, value); }, fault);
}

}  // namespace relay::guest
