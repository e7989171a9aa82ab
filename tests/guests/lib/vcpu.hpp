// A test guest's vCPUs: which one is running, and starting the others.
#pragma once

#include "lib/types.hpp"
#include "tests/guests/lib/layout.h"

namespace relay::guest {

inline constexpr u32 kMaxVcpus = GUEST_MAX_VCPUS;

// The running vCPU's id (0 = the boot vCPU), told by its stack: each vCPU runs on its own
// slot of the stack table (entry.S), exception handlers included.
u32 current_vcpu();

// vCPUs this guest can run: the domain's, at most kMaxVcpus.
u32 usable_vcpus();

// Starts vCPU `vcpu_id` (1 .. usable_vcpus() - 1) with RELAY_HC_VCPU_UP on its own stack;
// it loads the IDT and runs entry(context), then idles when entry returns. Returns the
// hypercall's result, or RELAY_EINVAL without asking the hypervisor when vcpu_id is not a
// secondary vCPU this guest can run, RELAY_EBUSY when it was started already.
i64 vcpu_up(u32 vcpu_id, void (*entry)(void* context), void* context);

// Whether vCPU `vcpu_id` has reached its entry function.
bool vcpu_running(u32 vcpu_id);

// Called once by the boot path: the domain's vCPU count from the start info.
void vcpus_init(u32 domain_vcpus);

}  // namespace relay::guest
