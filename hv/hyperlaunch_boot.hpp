// Boot-time domain creation (docs/hyperlaunch.md): multiboot module 0 is the Hyperlaunch
// device tree; it is parsed, turned into a boot stream, verified like any stream, and
// handed to the domain builder.
#pragma once

#include "hv/boot/boot_info.hpp"
#include "lib/result.hpp"

namespace relay {

struct HyperlaunchBootInputs {
    const BootInfo* boot = nullptr;
    HostPhysRange handover;
    u64 tsc_khz = 0;
    u32 physical_cpus = 1;
};

// Builds and starts the configured domains. Returns how many run; a configuration that
// cannot be used is an error naming what is wrong (no domain is started then).
Result<u32> boot_domains(const HyperlaunchBootInputs& inputs);

}  // namespace relay
