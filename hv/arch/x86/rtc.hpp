// The CMOS real-time clock (MC146818), read once at boot for wall-clock timestamps.
#pragma once

#include "lib/types.hpp"

namespace relay::x86 {

// Seconds since 1970-01-01 UTC (the RTC is assumed to run in UTC, as QEMU's does by
// default), or 0 if the clock reads as nonsense.
u64 read_rtc_unix_seconds();

}  // namespace relay::x86
