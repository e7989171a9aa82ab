// A spinlock for test guests' vCPUs that knows its owner. Waiters yield to the hypervisor
// now and then: the holder may be a vCPU the hypervisor has descheduled, and spinning
// would only burn the time it needs. Knowing the owner lets the exception path print on a
// vCPU that faulted while holding the console lock.
#pragma once

#include <atomic>

#include "lib/types.hpp"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/hypercall.hpp"

namespace relay::guest {

class Spinlock {
public:
    static constexpr u32 kNoOwner = ~0u;

    void lock(u32 owner) {
        for (u32 spins = 1;; ++spins) {
            if (try_lock(owner)) {
                return;
            }
            if (spins % 256 == 0) {
                hc::yield();
            } else {
                cpu_relax();
            }
        }
    }

    bool try_lock(u32 owner) {
        u32 expected = kNoOwner;
        return owner_.compare_exchange_strong(expected, owner, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }

    void unlock() { owner_.store(kNoOwner, std::memory_order_release); }

    bool held_by(u32 owner) const { return owner_.load(std::memory_order_relaxed) == owner; }

private:
    std::atomic<u32> owner_{kNoOwner};
};

class SpinlockGuard {
public:
    SpinlockGuard(Spinlock& lock, u32 owner) : lock_(lock) { lock_.lock(owner); }
    ~SpinlockGuard() { lock_.unlock(); }
    SpinlockGuard(const SpinlockGuard&) = delete;
    SpinlockGuard& operator=(const SpinlockGuard&) = delete;

private:
    Spinlock& lock_;
};

}  // namespace relay::guest
