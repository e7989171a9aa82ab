// What the Hyperlaunch parser needs to know about the machine it configures: the
// multiboot modules the boot loader actually passed, and the host's limits. The
// hypervisor fills these from its BootInfo and memory map; relay-config fills them from
// the command line and the files named by relay,file. Compiles freestanding and hosted.
#pragma once

#include <span>
#include <string_view>

#include "lib/types.hpp"

namespace relay::hyperlaunch {

// One multiboot module as the boot loader passed it. Index 0 is the device tree itself.
struct ModuleInfo {
    u64 size = 0;
    // False when the size cannot be known (relay-config checking a config whose files
    // are not built yet); size checks are then skipped for this module.
    bool size_known = true;
    // The module's multiboot command line. Only a `relay.module=<role>` word in it is
    // read (docs/hyperlaunch.md, "Module command lines").
    std::string_view command_line;
};

// The multiboot modules present, indexed by their position in the module chain.
using ModuleList = std::span<const ModuleInfo>;

struct HostLimits {
    // Memory the host can give to guests in total (after the hypervisor's own needs).
    u64 guest_memory_bytes = 0;
    // Physical CPUs the host runs on; no domain gets more vCPUs than this.
    u32 physical_cpus = 0;
    // vCPUs one domain may have at most.
    u32 max_vcpus_per_domain = 0;
    // Domains the host can run at most (further capped by kMaxDomains).
    u32 max_domains = 0;
};

}  // namespace relay::hyperlaunch
