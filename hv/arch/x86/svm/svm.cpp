#include "hv/arch/x86/svm/svm.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/percpu.hpp"

namespace relay::svm {

namespace {
Features detected;
constexpr u64 kVmCrSvmDisable = 1ull << 4;
}  // namespace

Result<Features> detect() {
    x86::CpuidResult extended = x86::cpuid(0x8000'0000);
    if (extended.eax < 0x8000'000A) {
        return make_error(ErrorCode::kUnsupported, "CPU has no SVM leaf (max extended leaf {:#x})",
                          extended.eax);
    }
    if ((x86::cpuid(0x8000'0001).ecx & (1u << 2)) == 0) {
        return make_error(ErrorCode::kUnsupported,
                          "CPU lacks SVM (CPUID Fn8000_0001_ECX[SVM] = 0); QEMU needs -cpu EPYC "
                          "or +svm");
    }
    if ((x86::rdmsr(x86::kMsrVmCr) & kVmCrSvmDisable) != 0) {
        return make_error(ErrorCode::kUnsupported, "SVM is disabled by firmware (VM_CR.SVMDIS)");
    }
    x86::CpuidResult leaf = x86::cpuid(0x8000'000A);
    Features f;
    f.revision = leaf.eax & 0xFF;
    f.asid_count = leaf.ebx;
    f.nested_paging = (leaf.edx & (1u << 0)) != 0;
    f.lbr_virtualization = (leaf.edx & (1u << 1)) != 0;
    f.svm_lock = (leaf.edx & (1u << 2)) != 0;
    f.nrip_save = (leaf.edx & (1u << 3)) != 0;
    f.tsc_rate = (leaf.edx & (1u << 4)) != 0;
    f.vmcb_clean = (leaf.edx & (1u << 5)) != 0;
    f.flush_by_asid = (leaf.edx & (1u << 6)) != 0;
    f.decode_assists = (leaf.edx & (1u << 7)) != 0;
    f.pause_filter = (leaf.edx & (1u << 10)) != 0;
    f.vgif = (leaf.edx & (1u << 16)) != 0;
    f.avic = (leaf.edx & (1u << 13)) != 0;
    if (!f.nested_paging) {
        return make_error(ErrorCode::kUnsupported,
                          "CPU lacks nested paging (CPUID Fn8000_000A_EDX[NP] = 0)");
    }
    if (f.asid_count < 2) {
        return make_error(ErrorCode::kUnsupported, "CPU offers {} ASIDs", f.asid_count);
    }
    detected = f;
    return f;
}

const Features& features() {
    return detected;
}

Status enable_on_this_cpu() {
    PerCpu& cpu = this_cpu();
    RELAY_TRY_ASSIGN(host_save, allocate_frames(0));
    RELAY_TRY_ASSIGN(host_state, allocate_frames(0));
    for (HostPhysAddr page : {host_save, host_state}) {
        u8* bytes = phys_to_virt<u8>(page);
        for (usize i = 0; i < kPageSize4K; ++i) {
            bytes[i] = 0;
        }
    }
    cpu.svm_host_save_area = host_save;
    cpu.svm_host_state = host_state;
    x86::wrmsr(x86::kMsrEfer, x86::rdmsr(x86::kMsrEfer) | x86::kEferSvme);
    x86::wrmsr(x86::kMsrVmHsavePa, host_save.raw());
    return ok_status();
}

HostPhysAddr host_state_page() {
    return this_cpu().svm_host_state;
}

}  // namespace relay::svm
