#include "hv/exit_handler.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"
#include "hv/cpuid_policy.hpp"
#include "hv/domain.hpp"
#include "hv/domain_control.hpp"
#include "hv/extended_state.hpp"
#include "hv/hypercall.hpp"
#include "hv/msr_emulation.hpp"
#include "hv/virtual_lapic.hpp"

namespace relay {

namespace {

using svm::ExitCode;

// The host's CPUID for the policy.
class RealCpuid final : public HostCpuid {
public:
    CpuidValues query(u32 leaf, u32 subleaf) const override {
        x86::CpuidResult r = x86::cpuid(leaf, subleaf);
        return CpuidValues{r.eax, r.ebx, r.ecx, r.edx};
    }
};

void handle_cpuid(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    GuestCpuIdentity identity;
    identity.vcpu_id = vcpu.id;
    identity.vcpu_count = vcpu.domain->vcpu_count;
    identity.tsc_khz = vcpu.domain->tsc_khz;
    identity.osxsave = (v.cr4 & x86::kCr4Osxsave) != 0;
    identity.apic_enabled = true;
    RealCpuid host;
    CpuidValues values = guest_cpuid(host, static_cast<u32>(v.rax), static_cast<u32>(vcpu.regs.rcx),
                                     identity);
    v.rax = values.eax;
    vcpu.regs.rbx = values.ebx;
    vcpu.regs.rcx = values.ecx;
    vcpu.regs.rdx = values.edx;
    skip_instruction(vcpu, 2);  // 0F A2
}

// I/O port exit (APM §15.10.2): EXITINFO1 describes the access, EXITINFO2 is the RIP of
// the next instruction (provided even without NRIP save).
void handle_io(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    u64 info = v.exit_info1;
    bool in = (info & 1) != 0;
    bool string = (info & (1u << 2)) != 0;
    bool repeat = (info & (1u << 3)) != 0;
    u8 size = (info & (1u << 4)) != 0 ? 1 : (info & (1u << 5)) != 0 ? 2 : 4;
    u16 port = static_cast<u16>(info >> 16);
    Domain& domain = *vcpu.domain;
    if (string) {
        // INS/OUTS would need guest-virtual addressing; Relay's console needs none. The
        // access is dropped (like writes to an absent device), with one note per domain.
        log_debug("domain {}: string I/O to port {:#x} ignored", domain.domid, port);
        if (repeat) {
            vcpu.regs.rcx = 0;
        }
        v.rip = v.exit_info2;
        v.interrupt_shadow = 0;
        return;
    }
    u32 mask = size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFFFFFF;
    if (domain.uart.handles(port)) {
        SpinlockGuard guard(domain.uart_lock);
        if (in) {
            u32 value = domain.uart.read(port, size);
            v.rax = (v.rax & ~static_cast<u64>(mask)) | (value & mask);
        } else {
            domain.uart.write(port, size, static_cast<u32>(v.rax) & mask, domain);
        }
    } else if (in) {
        // Nothing else is emulated: reads float high, writes vanish. In particular the
        // host's isa-debug-exit port is never reachable from a guest.
        v.rax |= mask;
    }
    v.rip = v.exit_info2;
    v.interrupt_shadow = 0;
}

void handle_hlt(Vcpu& vcpu) {
    skip_instruction(vcpu, 1);
    // A halted vCPU waits for an interrupt it can take (virtual APIC timer, IPI, NMI);
    // with RFLAGS.IF clear and no NMI it stays halted, like a real CPU.
    if (!lapic_interrupt_ready(vcpu)) {
        vcpu.set_run_state(VcpuRunState::kHalted);
    }
}

void handle_nested_page_fault(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    u64 error = v.exit_info1;
    u64 address = v.exit_info2;
    const char* access = (error & (1u << 4)) != 0   ? "instruction fetch"
                         : (error & (1u << 1)) != 0 ? "write"
                                                    : "read";
    domain_crash(*vcpu.domain, "vCPU {} {} at guest-physical {:#x} outside its memory (RIP {:#x})",
                 vcpu.id, access, address, v.rip);
}

void handle_shutdown(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    domain_crash(*vcpu.domain, "vCPU {} triple fault (RIP {:#x} CR0 {:#x} CR3 {:#x} IDTR {:#x}/{:#x})",
                 vcpu.id, v.rip, v.cr0, v.cr3, v.idtr.base, v.idtr.limit);
}

void handle_xsetbv(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    u64 value = (static_cast<u64>(static_cast<u32>(vcpu.regs.rdx)) << 32) | static_cast<u32>(v.rax);
    if ((v.cr4 & x86::kCr4Osxsave) == 0) {
        inject_exception(vcpu, 6);  // #UD when CR4.OSXSAVE = 0
        return;
    }
    if (v.cpl != 0 || !extended_state_set_xcr0(vcpu, static_cast<u32>(vcpu.regs.rcx), value)) {
        inject_exception(vcpu, 13, true, 0);
        return;
    }
    skip_instruction(vcpu, 3);  // 0F 01 D1
}

void handle_rdtscp(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    u64 tsc = x86::rdtsc() + v.tsc_offset;
    v.rax = static_cast<u32>(tsc);
    vcpu.regs.rdx = tsc >> 32;
    vcpu.regs.rcx = static_cast<u32>(vcpu.tsc_aux);
    skip_instruction(vcpu, 3);  // 0F 01 F9
}

void report_invalid_state(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    log_error("domain {} vCPU {}: VMRUN refused the guest state (VMEXIT_INVALID)",
              vcpu.domain->domid, vcpu.id);
    log_error("  RIP {:#x} RSP {:#x} RFLAGS {:#x} CPL {}", v.rip, v.rsp, v.rflags, v.cpl);
    log_error("  CR0 {:#x} CR3 {:#x} CR4 {:#x} EFER {:#x}", v.cr0, v.cr3, v.cr4, v.efer);
    log_error("  CS {:#x}/{:#x} SS {:#x}/{:#x} ASID {} NCR3 {:#x}", v.cs.selector, v.cs.attributes,
              v.ss.selector, v.ss.attributes, v.guest_asid, v.nested_cr3);
    domain_crash(*vcpu.domain, "vCPU {} state rejected by VMRUN", vcpu.id);
}

}  // namespace

void skip_instruction(Vcpu& vcpu, u64 length) {
    vcpu.vmcb->rip += length;
    vcpu.vmcb->interrupt_shadow = 0;
}

void inject_exception(Vcpu& vcpu, u8 vector, bool has_error_code, u32 error_code) {
    u64 event = svm::event::kValid | svm::event::kTypeException | vector;
    if (has_error_code) {
        event |= svm::event::kErrorCodeValid | (static_cast<u64>(error_code) << 32);
    }
    vcpu.vmcb->event_injection = event;
}

void prepare_entry(Vcpu& vcpu) { lapic_prepare_entry(vcpu); }

void handle_exit(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    // An event that was being delivered when the exit happened must be delivered again
    // (APM §15.7.2, EXITINTINFO), unless the exit handler queues something else.
    if ((v.exit_interrupt_info & svm::event::kValid) != 0) {
        v.event_injection = v.exit_interrupt_info;
        v.exit_interrupt_info = 0;
    } else {
        v.event_injection = 0;
    }
    u64 code = v.exit_code;
    switch (static_cast<ExitCode>(code)) {
        case ExitCode::kIntr:
        case ExitCode::kNmi:
        case ExitCode::kSmi:
        case ExitCode::kInit:
            return;  // host interrupt: taken once interrupts are re-enabled
        case ExitCode::kVintr:
            lapic_on_interrupt_window(vcpu);
            return;
        case ExitCode::kIret:
            lapic_on_iret(vcpu);
            return;
        case ExitCode::kCpuid:
            handle_cpuid(vcpu);
            return;
        case ExitCode::kMsr:
            handle_msr_exit(vcpu);
            return;
        case ExitCode::kIoio:
            handle_io(vcpu);
            return;
        case ExitCode::kHlt:
            handle_hlt(vcpu);
            return;
        case ExitCode::kVmmcall:
            handle_hypercall(vcpu);
            return;
        case ExitCode::kNestedPageFault:
            handle_nested_page_fault(vcpu);
            return;
        case ExitCode::kShutdown:
            handle_shutdown(vcpu);
            return;
        case ExitCode::kXsetbv:
            handle_xsetbv(vcpu);
            return;
        case ExitCode::kRdtscp:
            handle_rdtscp(vcpu);
            return;
        case ExitCode::kInvd:
        case ExitCode::kWbinvd:
            skip_instruction(vcpu, 2);  // guest RAM is coherent WB memory: nothing to do
            return;
        case ExitCode::kRdpmc:
            inject_exception(vcpu, 13, true, 0);  // no performance counters
            return;
        case ExitCode::kVmrun:
        case ExitCode::kVmload:
        case ExitCode::kVmsave:
        case ExitCode::kStgi:
        case ExitCode::kClgi:
        case ExitCode::kSkinit:
        case ExitCode::kInvlpga:
        case ExitCode::kMonitor:
        case ExitCode::kMwait:
        case ExitCode::kMwaitConditional:
        case ExitCode::kRdpru:
        case ExitCode::kRsm:
        case ExitCode::kIcebp:
            inject_exception(vcpu, 6);  // hidden in CPUID: #UD as on a CPU without them
            return;
        case ExitCode::kTaskSwitch:
            domain_crash(*vcpu.domain, "vCPU {} attempted a hardware task switch (RIP {:#x})",
                         vcpu.id, v.rip);
            return;
        case ExitCode::kInvalid:
            report_invalid_state(vcpu);
            return;
        default:
            break;
    }
    if (code >= static_cast<u64>(ExitCode::kExceptionBase) &&
        code < static_cast<u64>(ExitCode::kExceptionBase) + 32) {
        // Intercepted only to stop exception loops (#DB, #AC): give them to the guest.
        u8 vector = static_cast<u8>(code - static_cast<u64>(ExitCode::kExceptionBase));
        inject_exception(vcpu, vector, vector == 17, 0);
        return;
    }
    domain_crash(*vcpu.domain, "vCPU {} unhandled exit {} ({:#x}) at RIP {:#x}", vcpu.id,
                 svm::exit_code_name(code), code, v.rip);
}

}  // namespace relay
