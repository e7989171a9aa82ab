// Time in a test guest: the TSC (RDTSC is not intercepted) at the rate the start info
// gives. There is no virtual interrupt source yet, so sleeping polls the TSC and yields
// to the hypervisor in between; sleep_microseconds is the one place that would switch to
// a virtual timer and HLT.
#pragma once

#include "lib/types.hpp"

namespace relay::guest {

// Called once by the boot path. A rate of 0 (a hypervisor that does not know it) is
// replaced by 1 GHz and reported by tsc_rate_assumed().
void time_init(u64 tsc_frequency_khz);

u64 tsc_khz();
bool tsc_rate_assumed();

// TSC ticks in `microseconds` (saturating).
u64 tsc_ticks_for(u64 microseconds);

// Microseconds in `ticks` TSC ticks.
u64 microseconds_for(u64 ticks);

// Microseconds since an arbitrary start (the TSC's zero).
u64 monotonic_microseconds();

// Returns no earlier than `microseconds` from now; yields the vCPU meanwhile.
void sleep_microseconds(u64 microseconds);

// Sleeps for ever, a second at a time: what a guest does when it has nothing left to do
// but must stay alive (a vCPU whose work ended, the control domain after its script).
[[noreturn]] void idle_forever();

}  // namespace relay::guest
