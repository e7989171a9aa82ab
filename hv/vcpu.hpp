// A virtual CPU: its VMCB, the guest registers VMRUN does not keep in the VMCB, its
// extended (FPU/SSE/AVX) state, and where it runs. vCPUs live in a fixed pool.
#pragma once

#include <atomic>

#include "hv/arch/x86/svm/vmcb.hpp"
#include "hv/devices/local_apic.hpp"
#include "lib/address.hpp"
#include "lib/result.hpp"

namespace relay {

class Domain;

// The 14 GPRs VMRUN leaves in registers (RAX and RSP live in the VMCB). Layout fixed by
// hv/arch/x86/svm/vmrun.S.
struct GuestRegisters {
    u64 rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};
static_assert(sizeof(GuestRegisters) == 14 * 8);

// Matches schema VcpuRunState.
enum class VcpuRunState : u8 {
    kReset = 0,           // secondary vCPU not yet started (VCPU_UP)
    kRunning = 1,         // runnable
    kHalted = 2,          // executed HLT; waits for an interrupt
    kWaitingForSipi = 3,  // unused by 64-bit start; kept for the schema
    kOffline = 4,         // stopped for good (domain crashed or shut down)
};

const char* run_state_name(VcpuRunState state);

struct Vcpu {
    Domain* domain = nullptr;
    u32 id = 0;    // index within the domain
    u32 pcpu = 0;  // physical CPU it is pinned to
    u32 asid = 0;  // unique among all vCPUs: no ASID recycling, no flush on switch

    svm::Vmcb* vmcb = nullptr;
    HostPhysAddr vmcb_pa;
    GuestRegisters regs{};

    std::atomic<VcpuRunState> run_state{VcpuRunState::kReset};
    // True while a CPU has the vCPU loaded (from picking it to having saved its state
    // after the last #VMEXIT). Domain pause waits for it to drop, after which the vCPU's
    // VMCB, registers and XSAVE area are quiescent (hv/domain_control.cpp).
    std::atomic<bool> on_cpu{false};
    bool flush_tlb = false;  // NPT changed: TLB_CONTROL = flush on the next VMRUN

    // Extended state (XSAVE standard format), one page.
    u8* xsave_area = nullptr;
    HostPhysAddr xsave_pa;
    u64 xcr0 = 1;

    // DR0-DR3 are not in the VMCB: loaded while the vCPU runs, saved when it stops.
    u64 debug_address[4] = {};

    // MSR state not held by the VMCB (hv/msr_emulation.cpp).
    u64 tsc_aux = 0;
    u64 apic_base = 0;
    u64 mtrr_def_type = 0;

    // Virtual local APIC (hv/virtual_lapic.hpp). Its non-atomic state belongs to the
    // vCPU's own CPU; other CPUs only raise interrupts (atomic IRR) and kick.
    VirtualLocalApic lapic;
    std::atomic<bool> nmi_pending{false};
    bool nmi_masked = false;  // an injected NMI is being handled (until IRET)

    // Statistics.
    u64 exits = 0;
    u64 guest_tsc_ticks = 0;

    void set_run_state(VcpuRunState state) { run_state.store(state, std::memory_order_release); }
    VcpuRunState state() const { return run_state.load(std::memory_order_acquire); }
};

// Takes a vCPU from the pool with its VMCB and XSAVE pages allocated and zeroed.
Result<Vcpu*> vcpu_allocate(Domain& domain, u32 id);
// Returns a vCPU's pages and its pool slot. The vCPU must be off every run queue.
void vcpu_release(Vcpu* vcpu);

// Sets a VMCB up for Relay's intercepts, nested paging and the domain's IOPM/MSRPM.
void vcpu_init_vmcb(Vcpu& vcpu);

// Architectural state for 64-bit start at `rip` with `rsp` and `rdi` (docs: start state).
void vcpu_set_long_mode_start(Vcpu& vcpu, u64 rip, u64 rsp, u64 rdi, u64 cr3);

}  // namespace relay
