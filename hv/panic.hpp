// panic(): a broken invariant of the hypervisor itself. Never used for bad input (that
// is an Error value). Prints the message and a stack trace on the console, stops the
// other CPUs and shuts the machine down with the failure status.
#pragma once

#include "lib/format.hpp"

namespace relay {

[[noreturn]] void panic_with_message(const char* message);

// True once any CPU has started to panic (other CPUs then stop on the NMI it sends).
bool panic_in_progress();

template <typename... Args>
[[noreturn]] void panic(const char* fmt, const Args&... args) {
    char message[256];
    format_to_buffer(message, sizeof(message), fmt, args...);
    panic_with_message(message);
}

}  // namespace relay
