#include "hv/exit_handler.hpp"

#include "hv/passthrough.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"
#include "hv/cpuid_policy.hpp"
#include "hv/domain.hpp"
#include "hv/domain_control.hpp"
#include "hv/extended_state.hpp"
#include "hv/guest_paging.hpp"
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
    CpuidValues values =
        guest_cpuid(host, static_cast<u32>(v.rax), static_cast<u32>(vcpu.regs.rcx), identity);
    v.rax = values.eax;
    vcpu.regs.rbx = values.ebx;
    vcpu.regs.rcx = values.ecx;
    vcpu.regs.rdx = values.edx;
    skip_instruction(vcpu, 2);  // 0F A2
}

// One port access: the domain's UART, or nothing (reads float high, writes vanish; in
// particular the host's isa-debug-exit port is never reachable from a guest).
u32 port_in(Domain& domain, u16 port, u8 size) {
    u32 mask = size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFFFFFF;
    if (u32 value = 0; passthrough_port_in(domain, port, size, &value)) {
        return value & mask;
    }
    if (domain.uart.handles(port)) {
        SpinlockGuard guard(domain.uart_lock);
        return domain.uart.read(port, size) & mask;
    }
    return mask;
}

void port_out(Domain& domain, u16 port, u8 size, u32 value) {
    if (passthrough_port_out(domain, port, size, value)) {
        return;
    }
    if (domain.uart.handles(port)) {
        SpinlockGuard guard(domain.uart_lock);
        domain.uart.write(port, size, value, domain);
    }
}

// INS/OUTS (APM §15.10.2, vol. 3 "INS", "OUTS"): the memory operand is emulated through
// the guest's page tables. At most kStringIoBatch elements per exit; RIP stays on the
// instruction until RCX reaches zero, so a long REP remains interruptible.
void handle_string_io(Vcpu& vcpu, bool in, bool repeat, u8 size, u16 port) {
    constexpr u64 kStringIoBatch = 256;
    svm::Vmcb& v = *vcpu.vmcb;
    Domain& domain = *vcpu.domain;
    u64 info = v.exit_info1;
    // Address size: EXITINFO1 bits 9:7 (A64, A32, A16). QEMU's TCG leaves them clear;
    // then take the mode's default (an address-size prefix would need decoding).
    bool long_mode_code = (v.efer & x86::kEferLma) != 0 && (v.cs.attributes & 0x200) != 0;
    u64 address_mask;
    if ((info & (1u << 9)) != 0) {
        address_mask = ~0ull;
    } else if ((info & (1u << 8)) != 0) {
        address_mask = 0xFFFF'FFFFull;
    } else if ((info & (1u << 7)) != 0) {
        address_mask = 0xFFFFull;
    } else {
        address_mask = long_mode_code                   ? ~0ull
                       : (v.cs.attributes & 0x400) != 0 ? 0xFFFF'FFFFull
                                                        : 0xFFFFull;
    }
    // OUTS may use a segment override (EXITINFO1 bits 12:10); INS always writes ES:rDI.
    u64 segment_base = 0;
    if (!in) {
        u32 segment = static_cast<u32>((info >> 10) & 7);
        const svm::VmcbSegment* segments[] = {&v.es, &v.cs, &v.ss, &v.ds, &v.fs, &v.gs};
        segment_base = segment < 6 ? segments[segment]->base : 0;
        if (long_mode_code && segment < 4) {
            segment_base = 0;  // 64-bit mode: only FS and GS have bases
        }
    }
    u64& index = in ? vcpu.regs.rdi : vcpu.regs.rsi;
    bool down = (v.rflags & (1ull << 10)) != 0;  // RFLAGS.DF
    u64 count = repeat ? (vcpu.regs.rcx & address_mask) : 1;
    u64 done = 0;
    while (done < count && done < kStringIoBatch) {
        u64 linear = segment_base + (index & address_mask);
        u8 bytes[4] = {0, 0, 0, 0};
        if (!in) {
            for (u8 b = 0; b < size; ++b) {
                GuestPhysAddr physical;
                GuestPageFault fault;
                bool unsupported = false;
                if (!translate_guest_virtual(domain, v, linear + b, false, &physical, &fault,
                                             &unsupported)) {
                    if (unsupported) {
                        domain_crash(domain,
                                     "vCPU {} OUTS from {:#x}: guest paging cannot be emulated",
                                     vcpu.id, linear + b);
                        return;
                    }
                    v.cr2 = fault.address;
                    inject_exception(vcpu, 14, true, fault.error_code);
                    return;
                }
                if (!domain.copy_from_guest(&bytes[b], physical, 1).ok()) {
                    domain_crash(domain,
                                 "vCPU {} OUTS from guest-physical {:#x} outside its memory",
                                 vcpu.id, physical.raw());
                    return;
                }
            }
            u32 value = static_cast<u32>(bytes[0]) | (static_cast<u32>(bytes[1]) << 8) |
                        (static_cast<u32>(bytes[2]) << 16) | (static_cast<u32>(bytes[3]) << 24);
            port_out(domain, port, size, value);
        } else {
            u32 value = port_in(domain, port, size);
            for (u8 b = 0; b < size; ++b) {
                u8 byte = static_cast<u8>(value >> (8 * b));
                GuestPhysAddr physical;
                GuestPageFault fault;
                bool unsupported = false;
                if (!translate_guest_virtual(domain, v, linear + b, true, &physical, &fault,
                                             &unsupported)) {
                    if (unsupported) {
                        domain_crash(domain,
                                     "vCPU {} INS to {:#x}: guest paging cannot be emulated",
                                     vcpu.id, linear + b);
                        return;
                    }
                    v.cr2 = fault.address;
                    inject_exception(vcpu, 14, true, fault.error_code);
                    return;
                }
                if (!domain.copy_to_guest(physical, &byte, 1).ok()) {
                    domain_crash(domain, "vCPU {} INS to guest-physical {:#x} outside its memory",
                                 vcpu.id, physical.raw());
                    return;
                }
            }
        }
        index = (index & ~address_mask) | ((down ? index - size : index + size) & address_mask);
        ++done;
        if (repeat) {
            vcpu.regs.rcx = (vcpu.regs.rcx & ~address_mask) | ((vcpu.regs.rcx - 1) & address_mask);
        }
    }
    if (done == count) {
        v.rip = v.exit_info2;
    }
    v.interrupt_shadow = 0;
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
    if (string) {
        handle_string_io(vcpu, in, repeat, size, port);
        return;
    }
    u32 mask = size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFFFFFF;
    if (in) {
        v.rax = (v.rax & ~static_cast<u64>(mask)) | port_in(*vcpu.domain, port, size);
    } else {
        port_out(*vcpu.domain, port, size, static_cast<u32>(v.rax) & mask);
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
    domain_crash(*vcpu.domain,
                 "vCPU {} triple fault (RIP {:#x} CR0 {:#x} CR3 {:#x} IDTR {:#x}/{:#x})", vcpu.id,
                 v.rip, v.cr0, v.cr3, v.idtr.base, v.idtr.limit);
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

void prepare_entry(Vcpu& vcpu) {
    lapic_prepare_entry(vcpu);
}

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
