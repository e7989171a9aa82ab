// Machine shutdown. Under test, QEMU's isa-debug-exit device turns the status into the
// emulator's exit code (docs/boot.md, "Shutdown"); otherwise the CPUs halt.
#pragma once

#include "lib/types.hpp"

namespace relay {

enum class ShutdownStatus : u8 {
    kSuccess = 0x10,  // QEMU exits with 2 * 0x10 + 1 = 33
    kFailure = 0x11,  // 35: a test or configuration failed, the hypervisor is sound
    kPanic = 0x12,    // 37: the hypervisor panicked (exception, broken invariant)
};

// Port of the isa-debug-exit device, or 0 when none is configured.
void set_debug_exit_port(u16 port);

[[noreturn]] void system_shutdown(ShutdownStatus status);

}  // namespace relay
