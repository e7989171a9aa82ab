// The other CPUs leaving a build for the purgatory page (a handover, or a rollback), with a
// bounded wait: the leaving CPU cannot wait for ever (that would lose every guest), and one
// that comes after it stopped waiting must not enter the page, which the next build may
// reuse. The count and a "closed" bit share one word, so that a CPU counts itself in or
// finds the door closed, never both.
#pragma once

#include <atomic>

#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/time.hpp"
#include "lib/types.hpp"

namespace relay::liveupdate {

class CpuParking {
public:
    // Before the other CPUs are sent.
    void open() { word_.store(0, std::memory_order_release); }

    // On a leaving CPU: counts it in, or halts it here when the door is closed (the next
    // build's INIT-SIPI-SIPI restarts it).
    void enter_or_halt() {
        u32 word = word_.load(std::memory_order_acquire);
        do {
            if ((word & kClosed) != 0) {
                x86::halt_forever();
            }
        } while (!word_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel));
    }

    // On the CPU that jumps: waits up to `microseconds` for `others` CPUs, closes the door,
    // and returns how many entered (the count cannot change after it).
    u32 wait_and_close(u32 others, u64 microseconds) {
        u64 deadline = x86::rdtsc() + x86::microseconds_to_tsc(microseconds);
        while (word_.load(std::memory_order_acquire) < others && x86::rdtsc() < deadline) {
            x86::cpu_relax();
        }
        u32 entered = word_.fetch_or(kClosed, std::memory_order_acq_rel) & ~kClosed;
        x86::udelay(50);  // the last one from its count to its halt
        return entered;
    }

private:
    static constexpr u32 kClosed = 1u << 31;
    std::atomic<u32> word_{0};
};

}  // namespace relay::liveupdate
