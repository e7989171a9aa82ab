#include "hv/cpuid_policy.hpp"

namespace relay {

namespace {

constexpr u32 bit(int n) {
    return 1u << n;
}

// Leaf 1 ECX (AMD APM vol. 3 appendix E.3.2; Intel SDM vol. 2 table 3-10).
constexpr u32 kLeaf1EcxAllowed = bit(0)      // SSE3
                                 | bit(1)    // PCLMULQDQ
                                 | bit(9)    // SSSE3
                                 | bit(12)   // FMA
                                 | bit(13)   // CMPXCHG16B
                                 | bit(19)   // SSE4.1
                                 | bit(20)   // SSE4.2
                                 | bit(22)   // MOVBE
                                 | bit(23)   // POPCNT
                                 | bit(25)   // AES
                                 | bit(26)   // XSAVE
                                 | bit(28)   // AVX
                                 | bit(29)   // F16C
                                 | bit(30);  // RDRAND
constexpr u32 kLeaf1EcxX2apic = bit(21);
constexpr u32 kLeaf1EcxTscDeadline = bit(24);
constexpr u32 kLeaf1EcxOsxsave = bit(27);
constexpr u32 kLeaf1EcxHypervisor = bit(31);

// Leaf 1 EDX.
constexpr u32 kLeaf1EdxAllowed = bit(0)      // FPU
                                 | bit(1)    // VME
                                 | bit(2)    // DE
                                 | bit(3)    // PSE
                                 | bit(4)    // TSC
                                 | bit(5)    // MSR
                                 | bit(6)    // PAE
                                 | bit(8)    // CX8
                                 | bit(11)   // SYSENTER/SYSEXIT
                                 | bit(12)   // MTRR
                                 | bit(13)   // PGE
                                 | bit(15)   // CMOV
                                 | bit(16)   // PAT
                                 | bit(17)   // PSE36
                                 | bit(19)   // CLFLUSH
                                 | bit(23)   // MMX
                                 | bit(24)   // FXSR
                                 | bit(25)   // SSE
                                 | bit(26);  // SSE2
constexpr u32 kLeaf1EdxApic = bit(9);
constexpr u32 kLeaf1EdxHtt = bit(28);

// Leaf 7.0 EBX.
constexpr u32 kLeaf7EbxAllowed = bit(0)      // FSGSBASE
                                 | bit(3)    // BMI1
                                 | bit(5)    // AVX2
                                 | bit(7)    // SMEP
                                 | bit(8)    // BMI2
                                 | bit(9)    // ERMS
                                 | bit(18)   // RDSEED
                                 | bit(19)   // ADX
                                 | bit(20)   // SMAP
                                 | bit(23)   // CLFLUSHOPT
                                 | bit(24)   // CLWB
                                 | bit(29);  // SHA
// Leaf 7.0 ECX: UMIP (2), VAES (9), VPCLMULQDQ (10), RDPID (22).
constexpr u32 kLeaf7EcxAllowed = bit(2) | bit(9) | bit(10) | bit(22);

// Leaf 0x8000'0001 ECX: LAHF (0), ABM/LZCNT (5), SSE4A (6), MisAlignSse (7),
// 3DNowPrefetch (8). Hidden: SVM (2), ExtApicSpace (3), IBS, SKINIT, WDT, TopologyExt,
// performance counter extensions.
constexpr u32 kExtended1EcxAllowed = bit(0) | bit(5) | bit(6) | bit(7) | bit(8);
// Leaf 0x8000'0001 EDX: the leaf-1 bits AMD mirrors, plus SYSCALL (11), NX (20),
// MmxExt (22), FFXSR (25), Page1GB (26), RDTSCP (27), LM (29).
constexpr u32 kExtended1EdxAllowed = (kLeaf1EdxAllowed & 0x0183'F3FF) | bit(11) | bit(20) |
                                     bit(22) | bit(25) | bit(26) | bit(27) | bit(29);

u32 signature_word(int index) {
    u32 word = 0;
    for (int i = 0; i < 4; ++i) {
        word |= static_cast<u32>(static_cast<u8>(kHypervisorSignature[index * 4 + i])) << (8 * i);
    }
    return word;
}

}  // namespace

CpuidValues guest_cpuid(const HostCpuid& host, u32 leaf, u32 subleaf,
                        const GuestCpuIdentity& identity) {
    CpuidValues result;
    if (leaf >= kHypervisorLeafBase && leaf < kHypervisorLeafBase + 0x100) {
        switch (leaf) {
            case kHypervisorLeafBase:
                result.eax = kHypervisorLeafTiming;  // highest hypervisor leaf
                result.ebx = signature_word(0);
                result.ecx = signature_word(1);
                result.edx = signature_word(2);
                break;
            case kHypervisorLeafVersion:
                result.eax = (1u << 16) | 0u;  // hypercall ABI 1.0 (hv/abi/hypercall.h)
                break;
            case kHypervisorLeafTiming:
                result.eax = static_cast<u32>(identity.tsc_khz);
                result.ebx = 1'000'000;  // LAPIC timer: 1 GHz reference (ticks are TSC-based)
                break;
            default:
                break;
        }
        return result;
    }

    CpuidValues max_basic = host.query(0, 0);
    CpuidValues max_extended = host.query(0x8000'0000, 0);
    u32 basic_limit = max_basic.eax < 0xD ? max_basic.eax : 0xD;
    u32 extended_limit = max_extended.eax < 0x8000'0008 ? max_extended.eax : 0x8000'0008;

    if (leaf <= 0x7FFF'FFFF && leaf > basic_limit) {
        return result;  // out-of-range basic leaves read as zero (AMD behaviour)
    }
    if (leaf >= 0x8000'0000 && leaf > extended_limit) {
        return result;
    }

    CpuidValues h = host.query(leaf, subleaf);
    switch (leaf) {
        case 0x0:
            result = h;
            result.eax = basic_limit;
            break;
        case 0x1:
            result.eax = h.eax;  // family, model, stepping
            // EBX: initial APIC ID (31:24), logical processor count (23:16), CLFLUSH size.
            result.ebx =
                (identity.vcpu_id << 24) | ((identity.vcpu_count & 0xFF) << 16) | (h.ebx & 0xFF00);
            result.ecx = (h.ecx & kLeaf1EcxAllowed) | kLeaf1EcxX2apic | kLeaf1EcxTscDeadline |
                         kLeaf1EcxHypervisor;
            if (identity.osxsave) {
                result.ecx |= kLeaf1EcxOsxsave;
            }
            result.edx = h.edx & kLeaf1EdxAllowed;
            if (identity.apic_enabled) {
                result.edx |= kLeaf1EdxApic;
            }
            if (identity.vcpu_count > 1) {
                result.edx |= kLeaf1EdxHtt;
            }
            break;
        case 0x7:
            if (subleaf == 0) {
                result.eax = 0;  // no further subleaves
                result.ebx = h.ebx & kLeaf7EbxAllowed;
                result.ecx = h.ecx & kLeaf7EcxAllowed;
            }
            break;
        case 0xD:
            if (subleaf == 0) {
                u64 components = (static_cast<u64>(h.edx) << 32 | h.eax) & kGuestXcr0Supported;
                result.eax = static_cast<u32>(components);
                result.edx = 0;
                // EBX: size for the currently enabled features; ECX: for all supported.
                // Components 0-2 are the legacy area + header (576 bytes) + AVX (256).
                result.ecx = (components & 0x4) != 0 ? 832 : 576;
                result.ebx = result.ecx;
            } else if (subleaf == 1) {
                result.eax = h.eax & bit(0);  // XSAVEOPT only; no XSAVEC/XSAVES/XFD
            } else if (subleaf == 2 && (kGuestXcr0Supported & 0x4) != 0) {
                result = h;  // AVX state size and offset
                result.ecx = 0;
                result.edx = 0;
            }
            break;
        case 0x8000'0000:
            result = h;
            result.eax = extended_limit;
            break;
        case 0x8000'0001:
            result.eax = h.eax;
            result.ebx = 0;
            result.ecx = h.ecx & kExtended1EcxAllowed;
            result.edx = h.edx & kExtended1EdxAllowed;
            if (!identity.apic_enabled) {
                result.edx &= ~kLeaf1EdxApic;
            }
            break;
        case 0x8000'0002:
        case 0x8000'0003:
        case 0x8000'0004:
        case 0x8000'0005:
        case 0x8000'0006:
            result = h;  // brand string, cache and TLB descriptions
            break;
        case 0x8000'0007:
            result.edx = h.edx & bit(8);  // invariant TSC only
            break;
        case 0x8000'0008:
            result.eax = h.eax & 0xFFFF;  // physical and linear address sizes
            result.ecx = (identity.vcpu_count - 1) & 0xFF;
            break;
        default:
            break;  // topology, performance monitoring, SVM, ...: hidden
    }
    return result;
}

}  // namespace relay
