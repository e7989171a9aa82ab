// The virtual local APIC wired to SVM: x2APIC MSRs, IPIs between the vCPUs of a domain,
// interrupt injection (EVENTINJ when the guest can take it, otherwise a virtual
// interrupt window: V_IRQ + the VINTR intercept, AMD APM vol. 2 §15.21), and waking
// halted vCPUs.
#pragma once

#include "hv/vcpu.hpp"

namespace relay {

// Guest TSC now (host TSC + the vCPU's offset).
u64 guest_tsc(const Vcpu& vcpu);

bool lapic_read_msr(Vcpu& vcpu, u32 msr, u64* value);
bool lapic_write_msr(Vcpu& vcpu, u32 msr, u64 value);

// Injects the highest deliverable interrupt (or NMI), or opens an interrupt window.
// Before every VMRUN.
void lapic_prepare_entry(Vcpu& vcpu);

// Exits belonging to interrupt delivery.
void lapic_on_interrupt_window(Vcpu& vcpu);  // VINTR exit
void lapic_on_iret(Vcpu& vcpu);              // IRET exit while an NMI is masked

// For the scheduler: polls a halted vCPU's timer and wakes it when an interrupt it can
// take is pending. Called on the vCPU's CPU. Returns true when it is runnable.
bool lapic_wake_if_interrupted(Vcpu& vcpu);

// True when a halted vCPU would take an interrupt now (HLT falls through).
bool lapic_interrupt_ready(Vcpu& vcpu);

}  // namespace relay
