#include "hv/arch/x86/time.hpp"

#include "hv/arch/x86/apic.hpp"
#include "hv/arch/x86/cpu.hpp"

namespace relay::x86 {

namespace {
u64 frequency = 0;
constexpr u64 kPitHz = 1193182;
}  // namespace

u64 calibrate_tsc() {
    // PIT channel 2, mode 0 (interrupt on terminal count), gate via port 0x61 bit 0;
    // OUT2 is visible in port 0x61 bit 5 (IBM PC/AT technical reference).
    constexpr u64 kMilliseconds = 20;
    constexpr u16 kLatch = static_cast<u16>(kPitHz * kMilliseconds / 1000);
    u8 control = inb(0x61);
    outb(0x61, static_cast<u8>((control & ~0x02) | 0x01));
    outb(0x43, 0xB0);  // channel 2, lobyte/hibyte, mode 0, binary
    outb(0x42, static_cast<u8>(kLatch & 0xFF));
    outb(0x42, static_cast<u8>(kLatch >> 8));
    u64 start = rdtsc();
    u64 spins = 0;
    while ((inb(0x61) & 0x20) == 0) {
        if (++spins > 100'000'000) {
            break;  // no PIT: fall back below
        }
    }
    u64 end = rdtsc();
    outb(0x61, control);
    u64 hz = (end - start) * 1000 / kMilliseconds;
    if (hz < 10'000'000) {
        hz = 1'000'000'000;  // implausible: assume 1 GHz rather than divide by nonsense
    }
    frequency = hz;
    return hz;
}

u64 tsc_hz() {
    return frequency;
}
void set_tsc_hz(u64 hz) {
    frequency = hz;
}

u64 tsc_to_microseconds(u64 ticks) {
    if (frequency == 0) {
        return 0;
    }
    // Split to avoid overflow of ticks * 1e6 for long intervals.
    return ticks / frequency * 1'000'000 + (ticks % frequency) * 1'000'000 / frequency;
}

u64 microseconds_to_tsc(u64 microseconds) {
    return microseconds * (frequency / 1'000'000);
}

void udelay(u64 microseconds) {
    u64 end = rdtsc() + microseconds_to_tsc(microseconds);
    while (rdtsc() < end) {
        cpu_relax();
    }
}

u32 calibrate_apic_timer() {
    local_apic_timer_one_shot(0xFE, 0xFFFFFFFF);
    u64 start = rdtsc();
    u32 begin_count = local_apic_timer_current();
    udelay(10'000);
    u32 end_count = local_apic_timer_current();
    u64 elapsed = rdtsc() - start;
    local_apic_timer_stop();
    u64 ticks = begin_count - end_count;
    u64 us = tsc_to_microseconds(elapsed);
    if (us == 0) {
        return 1;
    }
    u64 per_ms = ticks * 1000 / us;
    return per_ms == 0 ? 1 : static_cast<u32>(per_ms);
}

}  // namespace relay::x86
