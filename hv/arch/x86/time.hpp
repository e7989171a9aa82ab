// Time: the TSC calibrated against the PIT at boot (the PIT's 1.193182 MHz clock is the
// one frequency every PC-compatible platform guarantees), and the LAPIC timer calibrated
// against the TSC.
#pragma once

#include "lib/types.hpp"

namespace relay::x86 {

// Measures the TSC frequency over 20 ms of PIT channel 2. Returns Hz.
u64 calibrate_tsc();
u64 tsc_hz();
void set_tsc_hz(u64 hz);

u64 tsc_to_microseconds(u64 ticks);
u64 microseconds_to_tsc(u64 microseconds);

void udelay(u64 microseconds);

// LAPIC timer ticks (divide by 16) per millisecond, measured against the TSC.
u32 calibrate_apic_timer();

}  // namespace relay::x86
