#include "hv/msr_emulation.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/exit_handler.hpp"
#include "hv/virtual_lapic.hpp"

namespace relay {

namespace {

// MSR numbers (AMD APM vol. 2 appendix A; Intel SDM vol. 4).
constexpr u32 kTsc = 0x10;
constexpr u32 kApicBase = 0x1B;
constexpr u32 kPatchLevel = 0x8B;
constexpr u32 kMtrrCap = 0xFE;
constexpr u32 kSysenterCs = 0x174;
constexpr u32 kSysenterEsp = 0x175;
constexpr u32 kSysenterEip = 0x176;
constexpr u32 kMcgCap = 0x179;
constexpr u32 kMcgStatus = 0x17A;
constexpr u32 kDebugCtl = 0x1D9;
constexpr u32 kPat = 0x277;
constexpr u32 kMtrrDefType = 0x2FF;
constexpr u32 kTscDeadline = 0x6E0;
constexpr u32 kX2apicFirst = 0x800;
constexpr u32 kX2apicLast = 0x8FF;
constexpr u32 kEfer = 0xC000'0080;
constexpr u32 kStar = 0xC000'0081;
constexpr u32 kLstar = 0xC000'0082;
constexpr u32 kCstar = 0xC000'0083;
constexpr u32 kSfmask = 0xC000'0084;
constexpr u32 kFsBase = 0xC000'0100;
constexpr u32 kGsBase = 0xC000'0101;
constexpr u32 kKernelGsBase = 0xC000'0102;
constexpr u32 kTscAux = 0xC000'0103;
constexpr u32 kHwcr = 0xC001'0015;
constexpr u32 kDeCfg = 0xC001'1029;

// EFER bits a guest may set: SCE, LME, LMA (kept by hardware), NXE.
constexpr u64 kEferGuestWritable = x86::kEferSce | x86::kEferLme | x86::kEferLma | x86::kEferNxe;

bool canonical(u64 address) {
    return address < (1ull << 47) || address >= ~((1ull << 47) - 1);
}

// PAT entries must be UC(0), WC(1), WT(4), WP(5), WB(6) or UC-(7).
bool valid_pat(u64 value) {
    for (int i = 0; i < 8; ++i) {
        u8 type = static_cast<u8>(value >> (8 * i));
        if (type == 2 || type == 3 || type > 7) {
            return false;
        }
    }
    return true;
}

// Returns false for "not on the allow-list or value refused" (inject #GP).
bool read_msr(Vcpu& vcpu, u32 msr, u64* value) {
    svm::Vmcb& v = *vcpu.vmcb;
    switch (msr) {
        case kTsc:
            *value = x86::rdtsc() + v.tsc_offset;
            return true;
        case kApicBase:
            *value = vcpu.apic_base;
            return true;
        case kPatchLevel:
        case kMtrrCap:
        case kMcgCap:
        case kMcgStatus:
        case kDebugCtl:
        case kHwcr:
            *value = 0;
            return true;
        case kDeCfg:
            *value = 1ull << 1;  // LFENCE is dispatch serializing
            return true;
        case kSysenterCs:
            *value = v.sysenter_cs;
            return true;
        case kSysenterEsp:
            *value = v.sysenter_esp;
            return true;
        case kSysenterEip:
            *value = v.sysenter_eip;
            return true;
        case kPat:
            *value = v.guest_pat;
            return true;
        case kMtrrDefType:
            *value = vcpu.mtrr_def_type;
            return true;
        case kEfer:
            *value = v.efer & ~x86::kEferSvme;  // SVM is Relay's, not the guest's
            return true;
        case kStar:
            *value = v.star;
            return true;
        case kLstar:
            *value = v.lstar;
            return true;
        case kCstar:
            *value = v.cstar;
            return true;
        case kSfmask:
            *value = v.sfmask;
            return true;
        case kFsBase:
            *value = v.fs.base;
            return true;
        case kGsBase:
            *value = v.gs.base;
            return true;
        case kKernelGsBase:
            *value = v.kernel_gs_base;
            return true;
        case kTscAux:
            *value = vcpu.tsc_aux;
            return true;
        case kTscDeadline:
            return lapic_read_msr(vcpu, msr, value);
        default:
            if (msr >= kX2apicFirst && msr <= kX2apicLast) {
                return lapic_read_msr(vcpu, msr, value);
            }
            return false;
    }
}

bool write_msr(Vcpu& vcpu, u32 msr, u64 value) {
    svm::Vmcb& v = *vcpu.vmcb;
    switch (msr) {
        case kTsc:
            v.tsc_offset = value - x86::rdtsc();
            return true;
        case kApicBase: {
            // Only the enable bits may change; the base stays where it is.
            u64 fixed = vcpu.apic_base & ~(kApicBaseX2apic | (1ull << 11));
            if ((value & ~(kApicBaseX2apic | (1ull << 11))) != fixed) {
                return false;
            }
            vcpu.apic_base = value;
            return true;
        }
        case kPatchLevel:
        case kMcgStatus:
        case kHwcr:
        case kDeCfg:
            return true;  // accepted and ignored
        case kDebugCtl:
            return value == 0;  // no LBR or branch tracing for guests
        case kSysenterCs:
            v.sysenter_cs = value & 0xFFFF;
            return true;
        case kSysenterEsp:
        case kSysenterEip:
            if (!canonical(value)) {
                return false;
            }
            (msr == kSysenterEsp ? v.sysenter_esp : v.sysenter_eip) = value;
            return true;
        case kPat:
            if (!valid_pat(value)) {
                return false;
            }
            v.guest_pat = value;
            return true;
        case kMtrrDefType:
            // Type in bits 7:0 (UC, WC, WT, WP, WB), FE (10), E (11); nothing else.
            if ((value & ~0xCFFull) != 0 || !valid_pat(value & 0xFF)) {
                return false;
            }
            vcpu.mtrr_def_type = value;
            return true;
        case kEfer: {
            if ((value & ~kEferGuestWritable) != 0) {
                return false;
            }
            // Changing LME while paging is on is illegal (APM §14.6.1).
            bool paging = (v.cr0 & x86::kCr0Pg) != 0;
            if (paging && ((value ^ v.efer) & x86::kEferLme) != 0) {
                return false;
            }
            v.efer = (value & ~x86::kEferLma) | (v.efer & x86::kEferLma) | x86::kEferSvme;
            return true;
        }
        case kStar:
            v.star = value;
            return true;
        case kLstar:
        case kCstar:
        case kFsBase:
        case kGsBase:
        case kKernelGsBase:
            if (!canonical(value)) {
                return false;
            }
            switch (msr) {
                case kLstar:
                    v.lstar = value;
                    break;
                case kCstar:
                    v.cstar = value;
                    break;
                case kFsBase:
                    v.fs.base = value;
                    break;
                case kGsBase:
                    v.gs.base = value;
                    break;
                default:
                    v.kernel_gs_base = value;
                    break;
            }
            return true;
        case kSfmask:
            v.sfmask = value & 0xFFFFFFFF;
            return true;
        case kTscAux:
            if ((value >> 32) != 0) {
                return false;
            }
            vcpu.tsc_aux = value;
            return true;
        case kTscDeadline:
            return lapic_write_msr(vcpu, msr, value);
        default:
            if (msr >= kX2apicFirst && msr <= kX2apicLast) {
                return lapic_write_msr(vcpu, msr, value);
            }
            return false;
    }
}

}  // namespace

void handle_msr_exit(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    u32 msr = static_cast<u32>(vcpu.regs.rcx);
    bool write = v.exit_info1 == 1;
    if (v.cpl != 0) {
        inject_exception(vcpu, 13, true, 0);  // RDMSR/WRMSR are CPL 0 only
        return;
    }
    if (write) {
        u64 value =
            (static_cast<u64>(static_cast<u32>(vcpu.regs.rdx)) << 32) | static_cast<u32>(v.rax);
        if (!write_msr(vcpu, msr, value)) {
            log_debug("domain {} vCPU {}: WRMSR {:#x} <- {:#x} refused (#GP)", vcpu.domain->domid,
                      vcpu.id, msr, value);
            inject_exception(vcpu, 13, true, 0);
            return;
        }
    } else {
        u64 value = 0;
        if (!read_msr(vcpu, msr, &value)) {
            log_debug("domain {} vCPU {}: RDMSR {:#x} refused (#GP)", vcpu.domain->domid, vcpu.id,
                      msr);
            inject_exception(vcpu, 13, true, 0);
            return;
        }
        v.rax = static_cast<u32>(value);
        vcpu.regs.rdx = value >> 32;
    }
    skip_instruction(vcpu, 2);  // 0F 32 / 0F 30
}

}  // namespace relay
