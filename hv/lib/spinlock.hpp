// Ticket spinlock and an interrupt-saving guard. Fair across CPUs; never held across a
// VMRUN or a halt.
#pragma once

#include <atomic>

#include "hv/arch/x86/cpu.hpp"
#include "lib/types.hpp"

namespace relay {

class Spinlock {
public:
    void lock() {
        u32 ticket = next_.fetch_add(1, std::memory_order_relaxed);
        while (serving_.load(std::memory_order_acquire) != ticket) {
            x86::cpu_relax();
        }
    }
    // Takes the lock only if it is free; used by panic paths that must not deadlock.
    bool try_lock() {
        u32 serving = serving_.load(std::memory_order_acquire);
        u32 expected = serving;
        return next_.compare_exchange_strong(expected, serving + 1, std::memory_order_acquire);
    }
    void unlock() { serving_.fetch_add(1, std::memory_order_release); }
    bool is_locked() const {
        return next_.load(std::memory_order_relaxed) != serving_.load(std::memory_order_relaxed);
    }

private:
    std::atomic<u32> next_{0};
    std::atomic<u32> serving_{0};
};

// Disables interrupts for the lifetime of the guard and holds the lock.
class SpinlockGuard {
public:
    explicit SpinlockGuard(Spinlock& lock) : lock_(lock) {
        interrupts_were_enabled_ = x86::interrupts_enabled();
        x86::interrupts_disable();
        lock_.lock();
    }
    ~SpinlockGuard() {
        lock_.unlock();
        if (interrupts_were_enabled_) {
            x86::interrupts_enable();
        }
    }
    SpinlockGuard(const SpinlockGuard&) = delete;
    SpinlockGuard& operator=(const SpinlockGuard&) = delete;

private:
    Spinlock& lock_;
    bool interrupts_were_enabled_;
};

}  // namespace relay
