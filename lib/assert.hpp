// RELAY_ASSERT states an invariant of Relay's own code. It is never used to check input
// (bad input is an Error value): a failing assert is a bug in Relay. In the hypervisor it
// panics with the location; on the host it prints and aborts.
#pragma once

namespace relay {

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);

}  // namespace relay

#define RELAY_ASSERT(expression)         \
    ((expression) ? static_cast<void>(0) \
                  : ::relay::assertion_failed(#expression, __FILE__, __LINE__))

#if defined(RELAY_HOSTED)
#include <cstdio>
#include <cstdlib>
namespace relay {
[[noreturn]] inline void assertion_failed(const char* expression, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expression);
    std::abort();
}
}  // namespace relay
#endif
