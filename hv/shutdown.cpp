#include "hv/shutdown.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"

namespace relay {

namespace {
u16 debug_exit_port = 0;
}

bool probe_debug_exit(u16 port) {
    debug_exit_port = 0;
    if (port != 0 && x86::inb(port) != 0xFF) {
        debug_exit_port = port;
    }
    return debug_exit_port != 0;
}

void system_shutdown(ShutdownStatus status) {
    const char* what = status == ShutdownStatus::kSuccess   ? "success"
                       : status == ShutdownStatus::kFailure ? "failure"
                                                            : "panic";
    char line[96];
    format_to_buffer(line, sizeof(line), "shutting down ({})", what);
    console::write_line("(relay) ", line);
    if (debug_exit_port != 0) {
        x86::outb(debug_exit_port, static_cast<u8>(status));
    }
    x86::halt_forever();
}

}  // namespace relay
