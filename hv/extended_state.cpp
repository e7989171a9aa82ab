#include "hv/extended_state.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/cpuid_policy.hpp"

namespace relay {

namespace {

bool has_xsave = false;
u64 host_xcr0_supported = 1;

void xsetbv(u64 value) {
    asm volatile("xsetbv" ::"c"(0), "a"(static_cast<u32>(value)),
                 "d"(static_cast<u32>(value >> 32)));
}

}  // namespace

void extended_state_init_this_cpu() {
    x86::CpuidResult leaf1 = x86::cpuid(1);
    has_xsave = (leaf1.ecx & (1u << 26)) != 0;
    if (!has_xsave) {
        return;
    }
    x86::write_cr4(x86::read_cr4() | x86::kCr4Osxsave);
    x86::CpuidResult leaf_d = x86::cpuid(0xD, 0);
    host_xcr0_supported = ((static_cast<u64>(leaf_d.edx) << 32) | leaf_d.eax) & kGuestXcr0Supported;
    xsetbv(1);
}

void extended_state_switch_to(Vcpu& vcpu) {
    if (has_xsave) {
        xsetbv(vcpu.xcr0);
        asm volatile("xrstor %0" ::"m"(*vcpu.xsave_area), "a"(static_cast<u32>(vcpu.xcr0)),
                     "d"(static_cast<u32>(vcpu.xcr0 >> 32))
                     : "memory");
    } else {
        asm volatile("fxrstor %0" ::"m"(*vcpu.xsave_area) : "memory");
    }
}

void extended_state_save(Vcpu& vcpu) {
    if (has_xsave) {
        asm volatile("xsave %0"
                     : "=m"(*vcpu.xsave_area)
                     : "a"(static_cast<u32>(vcpu.xcr0)), "d"(static_cast<u32>(vcpu.xcr0 >> 32))
                     : "memory");
        xsetbv(1);
    } else {
        asm volatile("fxsave %0" : "=m"(*vcpu.xsave_area) : : "memory");
    }
}

bool extended_state_set_xcr0(Vcpu& vcpu, u32 index, u64 value) {
    // Intel SDM vol. 2 XSETBV: index must be 0; x87 must stay enabled; AVX needs SSE;
    // only supported components.
    if (index != 0 || (value & 1) == 0 || (value & ~host_xcr0_supported) != 0) {
        return false;
    }
    if ((value & 0x4) != 0 && (value & 0x2) == 0) {
        return false;
    }
    vcpu.xcr0 = value;
    xsetbv(value);  // the vCPU is running on this CPU: its state is live in registers
    return true;
}

}  // namespace relay
