// The CPUID a guest sees (docs/guest-platform.md, "CPUID"). A pure function of the
// host's CPUID and the vCPU's identity, so it is stable (the same host gives the same
// answers after a live update into another Relay build) and unit-tested on the host.
//
// Policy: pass through what a guest can use without Relay's help, hide what Relay does
// not virtualize (SVM itself, MONITOR/MWAIT, performance counters, topology extensions,
// debug stores, ...), and describe the virtual platform (x2APIC, hypervisor leaves).
#pragma once

#include "lib/types.hpp"

namespace relay {

struct CpuidValues {
    u32 eax = 0;
    u32 ebx = 0;
    u32 ecx = 0;
    u32 edx = 0;
    bool operator==(const CpuidValues&) const = default;
};

class HostCpuid {
public:
    virtual CpuidValues query(u32 leaf, u32 subleaf) const = 0;

protected:
    ~HostCpuid() = default;
};

struct GuestCpuIdentity {
    u32 vcpu_id = 0;  // becomes the initial (x2)APIC ID
    u32 vcpu_count = 1;
    u64 tsc_khz = 0;           // reported in the hypervisor timing leaf
    bool osxsave = false;      // guest CR4.OSXSAVE, mirrored in leaf 1 ECX[27]
    bool apic_enabled = true;  // guest IA32_APIC_BASE[11], mirrored in leaf 1 EDX[9]
};

// The hypervisor leaves (0x4000'0000 range), as Xen/KVM guests expect them.
inline constexpr u32 kHypervisorLeafBase = 0x4000'0000;
inline constexpr u32 kHypervisorLeafVersion = 0x4000'0001;
inline constexpr u32 kHypervisorLeafTiming = 0x4000'0010;  // EAX = TSC kHz (VMware convention)
inline constexpr char kHypervisorSignature[13] = "RelayRelayHV";

// XSAVE components Relay saves and restores for guests: x87, SSE, AVX.
inline constexpr u64 kGuestXcr0Supported = 0x7;

CpuidValues guest_cpuid(const HostCpuid& host, u32 leaf, u32 subleaf,
                        const GuestCpuIdentity& identity);

}  // namespace relay
