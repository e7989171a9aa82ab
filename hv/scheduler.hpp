// The vCPU scheduler: each physical CPU runs the vCPUs pinned to it round-robin. A
// periodic LAPIC-timer tick ends a time slice, so a vCPU spinning in the guest cannot
// starve the others on its CPU; a CPU with nothing runnable halts until an interrupt.
#pragma once

#include "hv/vcpu.hpp"
#include "lib/result.hpp"

namespace relay {

inline constexpr u8 kTickVector = 0xEF;            // scheduler tick
inline constexpr u8 kKickVector = 0xF0;            // "look at your run queue" / force a #VMEXIT
inline constexpr u64 kTickMicroseconds = 1'000;    // timer resolution for guest APIC timers
inline constexpr u64 kSliceMicroseconds = 10'000;  // round-robin time slice

// Per-CPU setup: run queue, tick handler, periodic LAPIC timer. Every CPU, once.
Status scheduler_init_this_cpu(u32 apic_ticks_per_ms);

// Pins `vcpu` to the least loaded online CPU and adds it to that CPU's run queue.
Status scheduler_add(Vcpu& vcpu);
// Removes `vcpu` from its run queue; waits until its CPU no longer runs it. The vCPU must
// already be unable to run (domain paused or vCPU offline).
void scheduler_remove(Vcpu& vcpu);

// Makes `vcpu`'s CPU look at its run queue now (after a state change that may make the
// vCPU runnable, or to force it out of guest mode).
void scheduler_kick(const Vcpu& vcpu);

// Rendezvous for a live update or a state export (liveupdate/): every other online CPU
// leaves guest mode and waits in the hypervisor. False on timeout: then no CPU is held.
bool scheduler_hold_other_cpus(u64 timeout_microseconds);
void scheduler_release_other_cpus();
// The held CPUs call `action`, which does not return (they leave for the next build).
void scheduler_send_held_cpus_to(void (*action)());

// `hook` runs once, on the CPU that next enters guest mode, with the TSC read just
// before it does (liveupdate/: the end of a live update's blackout).
void scheduler_set_first_entry_hook(void (*hook)(u64 tsc));

// Every CPU ends its boot here: runs vCPUs forever.
[[noreturn]] void scheduler_run();

// vCPUs pinned to each CPU, for reports.
u32 scheduler_queue_length(u32 cpu);

}  // namespace relay
