#include "hv/vcpu.hpp"

#include <cstring>
#include <new>

#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/svm/svm.hpp"
#include "hv/domain.hpp"
#include "hv/lib/spinlock.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"

namespace relay {

namespace {

// .bss storage (lib/static_storage.hpp): each slot is constructed when it is handed out.
alignas(Vcpu) u8 pool_storage[sizeof(Vcpu) * kMaxVcpus];
bool pool_used[kMaxVcpus];

Vcpu* pool_slot(usize index) {
    return reinterpret_cast<Vcpu*>(pool_storage) + index;
}
Spinlock pool_lock;

// One I/O and one MSR permission map shared by every vCPU: all ones, so every port and
// every MSR access exits (AMD APM vol. 2 §15.10, §15.11) and the policies decide.
HostPhysAddr io_permission_map;
HostPhysAddr msr_permission_map;

Status ensure_permission_maps() {
    if (io_permission_map.raw() != 0) {
        return ok_status();
    }
    RELAY_TRY_ASSIGN(iopm, allocate_frames(2));   // 16 KiB block, 12 KiB used
    RELAY_TRY_ASSIGN(msrpm, allocate_frames(1));  // 8 KiB
    std::memset(phys_to_virt<u8>(iopm), 0xFF, 4 * kPageSize4K);
    std::memset(phys_to_virt<u8>(msrpm), 0xFF, 2 * kPageSize4K);
    io_permission_map = iopm;
    msr_permission_map = msrpm;
    return ok_status();
}

// VMCB segment attributes: descriptor bits 47:40 -> 7:0, 55:52 -> 11:8 (APM Table B-2).
constexpr u16 kCode64Attributes = 0xA9B;  // G, L, P, S, type 1011 (execute/read, accessed)
constexpr u16 kDataAttributes = 0xC93;    // G, D/B, P, S, type 0011 (read/write, accessed)
constexpr u16 kTss64BusyAttributes = 0x08B;

}  // namespace

const char* run_state_name(VcpuRunState state) {
    switch (state) {
        case VcpuRunState::kReset:
            return "reset";
        case VcpuRunState::kRunning:
            return "running";
        case VcpuRunState::kHalted:
            return "halted";
        case VcpuRunState::kWaitingForSipi:
            return "waiting-for-sipi";
        case VcpuRunState::kOffline:
            return "offline";
    }
    return "?";
}

Result<Vcpu*> vcpu_allocate(Domain& domain, u32 id) {
    RELAY_TRY(ensure_permission_maps());
    usize slot = kMaxVcpus;
    {
        SpinlockGuard guard(pool_lock);
        for (usize i = 0; i < kMaxVcpus; ++i) {
            if (!pool_used[i]) {
                pool_used[i] = true;
                slot = i;
                break;
            }
        }
    }
    if (slot == kMaxVcpus) {
        return make_error(ErrorCode::kOutOfMemory, "all {} vCPUs are in use", kMaxVcpus);
    }
    Vcpu& vcpu = *new (pool_slot(slot)) Vcpu();
    auto vmcb = allocate_frames(0);
    auto xsave = vmcb.ok() ? allocate_frames(0) : vmcb;
    if (!vmcb.ok() || !xsave.ok()) {
        if (vmcb.ok()) {
            (void)free_frames(vmcb.value(), 0);
        }
        SpinlockGuard guard(pool_lock);
        pool_used[slot] = false;
        return make_error(ErrorCode::kOutOfMemory, "no memory for vCPU {} of domain {}", id,
                          domain.domid);
    }
    vcpu.domain = &domain;
    vcpu.id = id;
    // ASIDs: one per pool slot when the CPU has enough, which makes a vCPU switch free of
    // TLB flushes; otherwise slots share ASIDs and the scheduler flushes on switch.
    u32 asids = svm::features().asid_count;
    vcpu.asid = 1 + static_cast<u32>(slot % (asids > 1 ? asids - 1 : 1));
    vcpu.vmcb_pa = vmcb.value();
    vcpu.vmcb = phys_to_virt<svm::Vmcb>(vmcb.value());
    std::memset(vcpu.vmcb, 0, sizeof(svm::Vmcb));
    vcpu.xsave_pa = xsave.value();
    vcpu.xsave_area = phys_to_virt<u8>(xsave.value());
    std::memset(vcpu.xsave_area, 0, kPageSize4K);
    // Initial extended state: FCW 0x37F, MXCSR 0x1F80 (the x87/SSE reset values); the
    // XSAVE header's XSTATE_BV = 0 puts every other component in its initial state.
    u16 fcw = 0x037F;
    u32 mxcsr = 0x1F80;
    std::memcpy(vcpu.xsave_area + 0, &fcw, sizeof(fcw));
    std::memcpy(vcpu.xsave_area + 24, &mxcsr, sizeof(mxcsr));
    vcpu.xcr0 = 1;
    return &vcpu;
}

void vcpu_release(Vcpu* vcpu) {
    (void)free_frames(vcpu->vmcb_pa, 0);
    (void)free_frames(vcpu->xsave_pa, 0);
    SpinlockGuard guard(pool_lock);
    for (usize i = 0; i < kMaxVcpus; ++i) {
        if (pool_slot(i) == vcpu) {
            pool_used[i] = false;
        }
    }
}

void vcpu_init_vmcb(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    using namespace svm;
    // Exceptions that can loop forever inside microcode if delivered to a malicious guest
    // (#AC, #DB: CVE-2015-5307, CVE-2015-8104) exit and are reflected.
    v.intercept_exceptions = (1u << 1) | (1u << 17);
    v.intercept_misc1 = intercept1::kIntr | intercept1::kNmi | intercept1::kInit |
                        intercept1::kRdpmc | intercept1::kCpuid | intercept1::kRsm |
                        intercept1::kInvd | intercept1::kHlt | intercept1::kInvlpga |
                        intercept1::kIoio | intercept1::kMsr | intercept1::kTaskSwitch |
                        intercept1::kFerrFreeze | intercept1::kShutdown;
    v.intercept_misc2 = intercept2::kVmrun | intercept2::kVmmcall | intercept2::kVmload |
                        intercept2::kVmsave | intercept2::kStgi | intercept2::kClgi |
                        intercept2::kSkinit | intercept2::kRdtscp | intercept2::kIcebp |
                        intercept2::kWbinvd | intercept2::kMonitor | intercept2::kMwait |
                        intercept2::kMwaitConditional | intercept2::kXsetbv | intercept2::kRdpru;
    v.iopm_base = io_permission_map.raw();
    v.msrpm_base = msr_permission_map.raw();
    v.guest_asid = vcpu.asid;
    v.tlb_control = 1;
    // V_INTR_MASKING: the host's RFLAGS.IF governs physical interrupts while the guest
    // runs; the guest's IF only masks virtual interrupts (APM §15.21.1).
    v.virtual_interrupt = vintr::kIntrMasking;
    v.nested_control = 1;  // NP_ENABLE
    v.nested_cr3 = vcpu.domain->npt.root().raw();
    v.guest_pat = 0x0007040600070406ull;
    v.efer = x86::kEferSvme;  // VMRUN requires EFER.SVME in the guest state (APM §15.5.1)
    v.dr6 = 0xFFFF0FF0;
    v.dr7 = 0x400;
    v.rflags = 0x2;
}

void vcpu_set_long_mode_start(Vcpu& vcpu, u64 rip, u64 rsp, u64 rdi, u64 cr3) {
    svm::Vmcb& v = *vcpu.vmcb;
    v.cs = svm::VmcbSegment{0x08, kCode64Attributes, 0xFFFFFFFF, 0};
    svm::VmcbSegment data{0x10, kDataAttributes, 0xFFFFFFFF, 0};
    v.ds = data;
    v.es = data;
    v.ss = data;
    v.fs = data;
    v.gs = data;
    v.tr = svm::VmcbSegment{0, kTss64BusyAttributes, 0xFFFF, 0};
    v.ldtr = svm::VmcbSegment{0, 0, 0, 0};
    v.gdtr = svm::VmcbSegment{0, 0, 3 * 8 - 1, 0x3000};  // RELAY_GUEST_GDT
    v.idtr = svm::VmcbSegment{0, 0, 0, 0};
    v.cpl = 0;
    v.cr0 = x86::kCr0Pe | x86::kCr0Mp | x86::kCr0Et | x86::kCr0Ne | x86::kCr0Wp | x86::kCr0Pg;
    v.cr3 = cr3;
    v.cr4 = x86::kCr4Pae;
    v.efer = x86::kEferLme | x86::kEferLma | x86::kEferNxe | x86::kEferSvme;
    v.rflags = 0x2;
    v.rip = rip;
    v.rsp = rsp;
    v.rax = 0;
    vcpu.regs = GuestRegisters{};
    vcpu.regs.rdi = rdi;
}

}  // namespace relay
