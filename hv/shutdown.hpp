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

// Probes for QEMU's isa-debug-exit device at `port` (0 = do not use one). An absent
// ISA port reads as all ones; the device reads as zero. Returns whether it is present.
bool probe_debug_exit(u16 port);

[[noreturn]] void system_shutdown(ShutdownStatus status);

}  // namespace relay
