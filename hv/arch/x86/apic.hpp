// The local APIC in xAPIC mode (AMD APM vol. 2 §16.3-16.4): identification, EOI,
// inter-processor interrupts and the timer. One MMIO page at the same physical address
// on every CPU, each CPU seeing its own APIC.
#pragma once

#include "lib/address.hpp"
#include "lib/result.hpp"

namespace relay::x86 {

inline constexpr u8 kSpuriousVector = 0xFF;

// Maps the APIC registers (once, on the BSP).
Status local_apic_map(HostPhysAddr base);

// Software-enables this CPU's APIC with the spurious vector, masks LINT0/LINT1/timer and
// clears the error status. Every CPU calls it.
void local_apic_enable();

u32 local_apic_id();
void local_apic_eoi();

// Interrupt command register (APM §16.5): INIT, STARTUP, fixed and NMI IPIs. Each waits
// (bounded) for the previous IPI to leave the send-pending state; false on timeout.
bool send_init_ipi(u32 apic_id);
bool send_startup_ipi(u32 apic_id, u8 vector_page);
bool send_fixed_ipi(u32 apic_id, u8 vector);
bool send_nmi_ipi(u32 apic_id);
// To every CPU but the sender.
bool send_nmi_to_others();

// Timer (APM §16.4.1). Divide value 1, 2, 4, ..., 128.
void local_apic_timer_periodic(u8 vector, u32 initial_count);
void local_apic_timer_one_shot(u8 vector, u32 initial_count);
void local_apic_timer_stop();
u32 local_apic_timer_current();

}  // namespace relay::x86
