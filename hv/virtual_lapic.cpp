#include "hv/virtual_lapic.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/msr_emulation.hpp"
#include "hv/scheduler.hpp"

namespace relay {

namespace {

constexpr u64 kRflagsIf = 1ull << 9;

bool x2apic_enabled(const Vcpu& vcpu) {
    u64 mask = kApicBaseX2apic | (1ull << 11);
    return (vcpu.apic_base & mask) == mask;
}

u8 cr8_of(const Vcpu& vcpu) {
    return static_cast<u8>(vcpu.vmcb->virtual_interrupt & 0xF);
}

void set_cr8(Vcpu& vcpu, u8 cr8) {
    vcpu.vmcb->virtual_interrupt =
        (vcpu.vmcb->virtual_interrupt & ~svm::vintr::kTprMask) | (cr8 & 0xF);
}

// Makes a vCPU notice new pending work: wake it if halted, make its CPU exit the guest.
void notify(Vcpu& target) {
    VcpuRunState state = target.state();
    if (state == VcpuRunState::kHalted) {
        // The target's CPU re-checks interrupts of halted vCPUs when it looks at its queue.
    }
    scheduler_kick(target);
}

bool matches(const Vcpu& target, const InterProcessorInterrupt& ipi) {
    if (!ipi.logical) {
        return ipi.destination == 0xFFFFFFFF || ipi.destination == target.id;
    }
    // x2APIC logical destination: cluster in 31:16, member bitmap in 15:0.
    u32 cluster = ipi.destination >> 16;
    u32 members = ipi.destination & 0xFFFF;
    return (target.id >> 4) == cluster && (members & (1u << (target.id & 0xF))) != 0;
}

void route_ipi(Vcpu& source, const InterProcessorInterrupt& ipi) {
    Domain& domain = *source.domain;
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        Vcpu& target = *domain.vcpus[i];
        bool selected = false;
        switch (ipi.shorthand) {
            case InterProcessorInterrupt::Shorthand::kNone:
                selected = matches(target, ipi);
                break;
            case InterProcessorInterrupt::Shorthand::kSelf:
                selected = &target == &source;
                break;
            case InterProcessorInterrupt::Shorthand::kAllIncludingSelf:
                selected = true;
                break;
            case InterProcessorInterrupt::Shorthand::kAllExcludingSelf:
                selected = &target != &source;
                break;
        }
        if (!selected) {
            continue;
        }
        switch (ipi.delivery_mode) {
            case 0:  // fixed
            case 1:  // lowest priority: delivered like fixed to each selected vCPU
                target.lapic.raise(ipi.vector);
                break;
            case 4:  // NMI
                target.nmi_pending.store(true, std::memory_order_release);
                break;
            default:
                // INIT/STARTUP: Relay starts secondary vCPUs with HC_VCPU_UP.
                log_debug("domain {} vCPU {}: IPI delivery mode {} ignored", domain.domid,
                          source.id, ipi.delivery_mode);
                continue;
        }
        if (&target != &source) {
            notify(target);
        }
    }
}

void open_interrupt_window(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    v.virtual_interrupt |=
        svm::vintr::kIrq | svm::vintr::kIgnoreTpr | (0xFull << svm::vintr::kPriorityShift);
    v.intercept_misc1 |= svm::intercept1::kVintr;
}

void close_interrupt_window(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    v.virtual_interrupt &=
        ~(svm::vintr::kIrq | svm::vintr::kIgnoreTpr | (0xFull << svm::vintr::kPriorityShift));
    v.intercept_misc1 &= ~svm::intercept1::kVintr;
}

}  // namespace

u64 guest_tsc(const Vcpu& vcpu) {
    return x86::rdtsc() + vcpu.vmcb->tsc_offset;
}

bool lapic_read_msr(Vcpu& vcpu, u32 msr, u64* value) {
    if (!x2apic_enabled(vcpu)) {
        return false;  // x2APIC MSRs fault unless x2APIC mode is on (SDM 10.12.1.2)
    }
    return vcpu.lapic.read(msr, guest_tsc(vcpu), cr8_of(vcpu), value);
}

bool lapic_write_msr(Vcpu& vcpu, u32 msr, u64 value) {
    if (!x2apic_enabled(vcpu)) {
        return false;
    }
    u8 cr8 = cr8_of(vcpu);
    InterProcessorInterrupt ipi;
    bool requested = false;
    if (!vcpu.lapic.write(msr, value, guest_tsc(vcpu), &cr8, &ipi, &requested)) {
        return false;
    }
    set_cr8(vcpu, cr8);
    if (requested) {
        route_ipi(vcpu, ipi);
    }
    return true;
}

void lapic_prepare_entry(Vcpu& vcpu) {
    svm::Vmcb& v = *vcpu.vmcb;
    vcpu.lapic.poll_timer(guest_tsc(vcpu));
    bool shadow = (v.interrupt_shadow & 1) != 0;
    if ((v.event_injection & svm::event::kValid) != 0) {
        // An event is already queued (re-injection or an exception): anything pending
        // waits for the next window.
        if (vcpu.lapic.has_pending()) {
            open_interrupt_window(vcpu);
        }
        return;
    }
    if (vcpu.nmi_pending.load(std::memory_order_acquire) && !vcpu.nmi_masked && !shadow) {
        vcpu.nmi_pending.store(false, std::memory_order_release);
        vcpu.nmi_masked = true;
        v.event_injection = svm::event::kValid | svm::event::kTypeNmi | 2;
        v.intercept_misc1 |= svm::intercept1::kIret;  // NMIs unmask at the guest's IRET
        return;
    }
    int vector = vcpu.lapic.deliverable(cr8_of(vcpu));
    if (vector < 0) {
        close_interrupt_window(vcpu);
        return;
    }
    if ((v.rflags & kRflagsIf) != 0 && !shadow) {
        vcpu.lapic.acknowledge(static_cast<u8>(vector));
        v.event_injection =
            svm::event::kValid | svm::event::kTypeExternal | static_cast<u64>(vector);
        close_interrupt_window(vcpu);
    } else {
        open_interrupt_window(vcpu);
    }
}

void lapic_on_interrupt_window(Vcpu& vcpu) {
    close_interrupt_window(vcpu);
}

void lapic_on_iret(Vcpu& vcpu) {
    // The IRET has not executed yet; NMIs are unmasked once it completes. Unmasking now
    // can at worst nest an NMI one instruction early, which guests tolerate.
    vcpu.nmi_masked = false;
    vcpu.vmcb->intercept_misc1 &= ~svm::intercept1::kIret;
}

bool lapic_interrupt_ready(Vcpu& vcpu) {
    if (vcpu.nmi_pending.load(std::memory_order_acquire) && !vcpu.nmi_masked) {
        return true;
    }
    return (vcpu.vmcb->rflags & kRflagsIf) != 0 && vcpu.lapic.deliverable(cr8_of(vcpu)) >= 0;
}

bool lapic_wake_if_interrupted(Vcpu& vcpu) {
    if (vcpu.state() != VcpuRunState::kHalted) {
        return vcpu.state() == VcpuRunState::kRunning;
    }
    vcpu.lapic.poll_timer(guest_tsc(vcpu));
    if (lapic_interrupt_ready(vcpu)) {
        vcpu.set_run_state(VcpuRunState::kRunning);
        return true;
    }
    return false;
}

}  // namespace relay
