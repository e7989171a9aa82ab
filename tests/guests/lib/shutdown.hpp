// Ending a test guest: RELAY_HC_SHUTDOWN, and panic for broken invariants of the guest
// itself (a crash the test should see, with a message).
#pragma once

#include <string_view>

#include "hv/abi/hypercall.h"
#include "lib/format.hpp"

namespace relay::guest {

// Shuts the domain down with `reason` (RELAY_SHUTDOWN_*). Should the hypervisor refuse,
// says so and halts this vCPU with interrupts off.
[[noreturn]] void shutdown(u64 reason);

[[noreturn]] void panic_message(std::string_view message);

// "<program>: panic: <message>", then shutdown(RELAY_SHUTDOWN_CRASH).
template <typename... Args>
[[noreturn]] void panic(const char* fmt, const Args&... args) {
    char buffer[256];
    FormatBuffer output(buffer, sizeof(buffer));
    format(output, fmt, args...);
    panic_message(output.view());
}

}  // namespace relay::guest
