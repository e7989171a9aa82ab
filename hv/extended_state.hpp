// Guest extended state (x87, SSE, AVX): loaded when a vCPU starts running on a CPU and
// saved when it stops, so the vCPU's XSAVE area is authoritative whenever the vCPU is
// off the CPU (its live-update state can be read from it directly). The hypervisor
// itself never touches these registers (-mno-sse -mno-mmx).
#pragma once

#include "hv/vcpu.hpp"

namespace relay {

// Host setup: CR4.OSXSAVE and the widest XCR0 Relay supports. Every CPU, once.
void extended_state_init_this_cpu();

void extended_state_switch_to(Vcpu& vcpu);
void extended_state_save(Vcpu& vcpu);

// Validates and applies a guest XSETBV (XCR0). False: the value is illegal (#GP).
bool extended_state_set_xcr0(Vcpu& vcpu, u32 index, u64 value);

}  // namespace relay
