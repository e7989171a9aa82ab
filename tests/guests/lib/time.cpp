#include "tests/guests/lib/time.hpp"

#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/lib/tsc_math.hpp"

namespace relay::guest {

namespace {

constexpr u64 kAssumedTscKhz = 1'000'000;

u64 g_tsc_khz = kAssumedTscKhz;
bool g_tsc_rate_assumed = true;

}  // namespace

void time_init(u64 tsc_frequency_khz) {
    g_tsc_rate_assumed = tsc_frequency_khz == 0;
    g_tsc_khz = g_tsc_rate_assumed ? kAssumedTscKhz : tsc_frequency_khz;
}

u64 tsc_khz() {
    return g_tsc_khz;
}

bool tsc_rate_assumed() {
    return g_tsc_rate_assumed;
}

u64 tsc_ticks_for(u64 microseconds) {
    return tsc_ticks_for_microseconds(microseconds, g_tsc_khz);
}

u64 microseconds_for(u64 ticks) {
    return microseconds_for_tsc_ticks(ticks, g_tsc_khz);
}

u64 monotonic_microseconds() {
    return microseconds_for_tsc_ticks(read_tsc(), g_tsc_khz);
}

void sleep_microseconds(u64 microseconds) {
    u64 start = read_tsc();
    u64 ticks = tsc_ticks_for(microseconds);
    // Compare elapsed ticks, not a deadline: a deadline could wrap.
    while (read_tsc() - start < ticks) {
        hc::yield();
    }
}

void idle_forever() {
    for (;;) {
        sleep_microseconds(1'000'000);
    }
}

}  // namespace relay::guest
