#include "tests/guests/lib/shutdown.hpp"

#include "tests/guests/lib/abi_names.hpp"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/hypercall.hpp"

namespace relay::guest {

void shutdown(u64 reason) {
    console_flush();
    i64 result = hc::shutdown(reason);
    const char* name = error_name(result);
    emergency_log_line("RELAY_HC_SHUTDOWN({}) returned {} ({}); halting this vCPU", reason, result,
                       name != nullptr ? name : "?");
    halt_forever();
}

void panic_message(std::string_view message) {
    emergency_log_line("panic: {}", message);
    shutdown(RELAY_SHUTDOWN_CRASH);
}

}  // namespace relay::guest
