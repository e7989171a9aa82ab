// The receiving build's side of a live update (DESIGN.md, "Live update, step by step",
// steps 6-8; docs/live-update.md): find the stream module, verify the whole stream before
// using any of it, keep every preserved range away from the allocator, restore the
// domains through the domain builder, resume, and measure the blackout. If the stream
// cannot be used before anything has resumed, hand it back to the previous image
// (rollback), which restores the same stream.
//
// hv/main.cpp calls these in boot order; each says what must have happened before.
#pragma once

#include "hv/boot/boot_info.hpp"
#include "hv/boot/command_line.hpp"
#include "lib/result.hpp"
#include "liveupdate/handover.hpp"

namespace relay::liveupdate {

// Whether the boot information comes from a previous Relay build (a module is a state
// stream); cheap, for deciding what to print before incoming_verify().
bool is_handover_boot(const BootInfo& boot);

// 1. Right after the boot information is parsed, before physical memory is set up.
// Finds the stream module. Without one this is a fresh (Hyperlaunch) boot: returns
// false. With one, verifies the stream in scratch memory no preserved range touches and
// returns true. A stream that cannot be used is rolled back to the previous image when
// it came from a live update (does not return); otherwise it is an error.
Result<bool> incoming_verify(const BootInfo& boot, const CommandLineOptions& options,
                             HostPhysRange image);

// The incoming stream's module index, or -1.
int incoming_module();

// 2. Right after physical_memory_init() (which, on a restore boot, adds preserved memory
// as usable): takes every guest-RAM extent and a previous image that lies outside the
// handover region out of the free pool before anything is allocated. Rolls back on
// failure (does not return).
void incoming_claim_memory();

// The producer's TSC frequency (same machine, same TSC): no recalibration needed.
// Adopts the IOMMU units the stream describes (hv/iommu_host.hpp); rolls back if it
// cannot. After the address space and the TSC, before any domain is restored.
void incoming_adopt_iommu();

u64 incoming_tsc_hz();
// The producer's LAPIC timer rate, or 0 when it did not say.
u32 incoming_apic_ticks_per_ms();

// 3. With every CPU ready to run guests: restores every domain (same domids, state,
// memory) and makes them runnable as they were. Rolls back if any domain cannot be
// restored (does not return). Returns how many domains there are.
u32 incoming_restore();

// Other CPUs waiting to run guests call this when it is set: a rollback is leaving.
using ParkFunction = void (*)();
ParkFunction incoming_park_request();

// Called by the scheduler the first time a vCPU enters guest mode after a restore
// (hv/scheduler.hpp, scheduler_set_first_entry_hook): ends the blackout, reports it and
// records the update.
void incoming_first_entry(u64 tsc);

// For live_update() on the producer side: the LAPIC timer rate to pass on.
void set_apic_ticks_per_ms(u32 ticks);
u32 apic_ticks_per_ms();

}  // namespace relay::liveupdate
