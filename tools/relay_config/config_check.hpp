// What relay-config checks: the configuration parsed by the hypervisor's own parser,
// against the multiboot modules the launcher would pass (derived from the config and
// the relay,file paths) and the host described on the command line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hv/config/boot_environment.hpp"
#include "hv/config/hyperlaunch_config.hpp"
#include "lib/result.hpp"
#include "tools/relay_config/options.hpp"
#include "tools/relay_config/tree_loader.hpp"

namespace relay::config_tool {

// The host the configuration is checked against. Limits not given on the command line
// are Relay's own maxima, so that only what any host refuses is refused.
struct HostDescription {
    hyperlaunch::HostLimits limits;
    bool memory_given = false;
    bool cpus_given = false;
};

HostDescription describe_host(const CheckOptions& options);

// Limits no configuration of Relay's capacities exceeds.
hyperlaunch::HostLimits unlimited_host();

struct CheckedConfig {
    Status status;
    // The parsed configuration; its strings point into `tree`, which it keeps alive.
    std::unique_ptr<LoadedTree> tree;
    std::unique_ptr<hyperlaunch::HyperlaunchConfig> config;
    // The modules as the launcher would pass them (index 0 is the tree).
    std::vector<hyperlaunch::ModuleInfo> modules;
    // relay,file paths that do not exist under the root (module sizes then unchecked).
    std::vector<std::string> missing_files;
};

// Parses `tree` as any host would accept it: every multiboot module present, sizes
// unknown, Relay's maxima as limits. Catches everything that does not depend on a host.
CheckedConfig check_structure(const LoadedTree& tree);

// Parses `tree` as the hypervisor would on `host`, with the module list the launcher
// derives from the config: --modules N or up to the highest mb-index, each module's size
// taken from its relay,file under `root` when that file exists.
CheckedConfig check_on_host(const LoadedTree& tree, const CheckOptions& options,
                            const HostDescription& host);

}  // namespace relay::config_tool
