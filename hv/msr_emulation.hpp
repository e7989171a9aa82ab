// Guest RDMSR/WRMSR (docs/guest-platform.md, "MSRs"). Every MSR access exits (the MSR
// permission map is all ones); the MSRs on Relay's allow-list are emulated against the
// VMCB or the vCPU, and any other access injects #GP(0), as a CPU does for an MSR it
// lacks.
#pragma once

#include "hv/vcpu.hpp"

namespace relay {

void handle_msr_exit(Vcpu& vcpu);

// Architectural values at vCPU creation.
inline constexpr u64 kApicBaseDefault = 0xFEE0'0000ull | (1ull << 11);  // xAPIC enabled
inline constexpr u64 kApicBaseBsp = 1ull << 8;
inline constexpr u64 kApicBaseX2apic = 1ull << 10;

}  // namespace relay
