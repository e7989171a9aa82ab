// "Expect a fault": run code that may raise an exception and survive it. The exception
// handler abandons the body at the faulting instruction and catch_fault() returns true
// with what was caught; nothing of the body after the fault runs. Used to probe what the
// hypervisor refuses (MSRs it answers with #GP) without crashing the domain.
#pragma once

#include <type_traits>

#include "lib/types.hpp"
#include "tests/guests/lib/exceptions.hpp"
#include "tests/guests/lib/layout.h"

namespace relay::guest {

struct CaughtFault {
    u8 vector = 0;
    u64 error_code = 0;
    u64 rip = 0;  // of the faulting instruction
    u64 cr2 = 0;  // for #PF
};

// Saved by guest_call_catching_faults (fault_catching.S), restored by the handler.
struct FaultCatcher {
    u64 rbx, rbp, r12, r13, r14, r15;
    u64 rsp, rip;
};
static_assert(sizeof(FaultCatcher) == GUEST_FAULT_CATCHER_SIZE);
static_assert(__builtin_offsetof(FaultCatcher, rbx) == GUEST_FAULT_CATCHER_RBX);
static_assert(__builtin_offsetof(FaultCatcher, rbp) == GUEST_FAULT_CATCHER_RBP);
static_assert(__builtin_offsetof(FaultCatcher, r12) == GUEST_FAULT_CATCHER_R12);
static_assert(__builtin_offsetof(FaultCatcher, r13) == GUEST_FAULT_CATCHER_R13);
static_assert(__builtin_offsetof(FaultCatcher, r14) == GUEST_FAULT_CATCHER_R14);
static_assert(__builtin_offsetof(FaultCatcher, r15) == GUEST_FAULT_CATCHER_R15);
static_assert(__builtin_offsetof(FaultCatcher, rsp) == GUEST_FAULT_CATCHER_RSP);
static_assert(__builtin_offsetof(FaultCatcher, rip) == GUEST_FAULT_CATCHER_RIP);

// Runs body(context) on this vCPU. Returns false when it completed, true when it raised
// an exception (then `*fault`, if given, says which). Nests: an inner catch_fault covers
// its own body only.
bool catch_fault_raw(void (*body)(void*), void* context, CaughtFault* fault);

template <typename Body>
bool catch_fault(Body&& body, CaughtFault* fault) {
    using BodyType = std::remove_reference_t<Body>;
    return catch_fault_raw([](void* context) { (*static_cast<BodyType*>(context))(); },
                           const_cast<void*>(static_cast<const void*>(&body)), fault);
}

// RDMSR/WRMSR that survive the #GP a hypervisor injects for an MSR it refuses. Return
// true when the instruction completed.
bool try_rdmsr(u32 msr, u64* value, CaughtFault* fault = nullptr);
bool try_wrmsr(u32 msr, u64 value, CaughtFault* fault = nullptr);

// Called by the exception handler: when this vCPU is inside catch_fault, records the
// fault, points the frame at the recovery path and returns true.
bool recover_from_fault(ExceptionFrame& frame);

}  // namespace relay::guest
