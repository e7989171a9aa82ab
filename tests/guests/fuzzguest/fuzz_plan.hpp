// fuzzguest's random hypercalls (docs/testing.md, "fuzzguest"): numbers (the ABI's, just
// past them, far out of range, 2^32 + n), arguments drawn from classes that find bugs
// (zero, small, own free RAM, the last bytes of RAM, unmapped guest-physical addresses,
// hypervisor-looking addresses, non-canonical and wrapping values, huge lengths, random
// words) and reserved arguments that are usually zero (so calls reach their handlers)
// and sometimes not. Shared: unit-tested on the host, where the safety rules are proven
// over many seeds.
//
// Safety rules: the guest must survive its own fuzzing, so a call never
//   - shuts the domain down (shutdown's reason is never 1, 2 or 4),
//   - starts a secondary vCPU (vcpu_up's id is 0 or at least the domain's vCPU count),
//   - lets the hypervisor write below the image end (the guest's start info, page tables
//     and image): every address argument is 0, at or above `free_base`, or outside RAM;
//   - writes more than a short line to the console (console_write from RAM is at most
//     kMaxConsoleBytes), so the console stays readable.
#pragma once

#include "lib/types.hpp"

namespace relay::guest::fuzz {

// SplitMix64: small, fast, and the same on the host and in the guest.
class Random {
public:
    explicit Random(u64 seed) : state_(seed) {}
    u64 next() {
        u64 z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform enough in [0, bound) for bound > 0.
    u64 below(u64 bound) { return next() % bound; }
    bool one_in(u64 n) { return below(n) == 0; }

private:
    u64 state_;
};

struct FuzzContext {
    u16 domid = 0;
    u16 vcpus = 1;
    u64 free_base = 0;    // first byte the guest does not use (page-aligned image end)
    u64 memory_size = 0;  // RAM is [0, memory_size)
};

struct FuzzCall {
    u64 number = 0;
    u64 arguments[6] = {};
};

inline constexpr u64 kMaxConsoleBytes = 64;
// Numbers the ABI knows today (RELAY_HC_COUNT); anything from here on is out of range.
inline constexpr u64 kKnownCalls = 14;

// The address classes an address argument is drawn from.
enum class AddressClass : u8 {
    kNull,
    kFreeRam,       // inside [free_base, memory_size)
    kEndOfRam,      // the last bytes of RAM, so that a buffer straddles the end
    kPastRam,       // just past the end of RAM
    kUnmapped,      // far above RAM (16 GiB, 0x7_0000_0000, near 2^52)
    kHypervisor,    // hypervisor-looking: top 2 GiB, the direct map, LAPIC, IOAPIC
    kNonCanonical,  // between the canonical halves
    kWrapping,      // so that address + length wraps past 2^64
    kRandom,        // any 64-bit value
    kCount,
};

u64 random_address(Random& random, const FuzzContext& context, AddressClass* chosen = nullptr);
// A length: 0, 1, small, a page, the console limit and one more, huge, 2^64 - 1, random.
u64 random_length(Random& random);

// One call, after the safety rules.
FuzzCall next_call(Random& random, const FuzzContext& context);

// Whether the hypervisor could write guest memory below free_base, or the call could
// shut the domain down, start a vCPU, or flood the console: what next_call must never
// produce (checked by the host test; the guest also checks before each call).
bool is_safe(const FuzzCall& call, const FuzzContext& context);

}  // namespace relay::guest::fuzz
