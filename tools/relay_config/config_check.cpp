#include "tools/relay_config/config_check.hpp"

#include <sys/stat.h>

#include "hv/config/hyperlaunch_parser.hpp"

namespace relay::config_tool {
namespace {

using hyperlaunch::HostLimits;
using hyperlaunch::HyperlaunchConfig;
using hyperlaunch::kMaxBootModules;
using hyperlaunch::kMaxDomains;
using hyperlaunch::ModuleInfo;
using hyperlaunch::ModuleList;

// More than any host Relay runs on; keeps the vCPU rules from refusing anything.
constexpr u32 kMaxCheckedCpus = 4096;

CheckedConfig parse(const LoadedTree& tree, std::vector<ModuleInfo> modules,
                    const HostLimits& limits) {
    CheckedConfig checked;
    checked.tree = std::make_unique<LoadedTree>(tree);
    checked.config = std::make_unique<HyperlaunchConfig>();
    checked.modules = std::move(modules);
    checked.status = hyperlaunch::parse_hyperlaunch_config(
        checked.tree->bytes(), ModuleList(checked.modules), limits, checked.config.get());
    return checked;
}

}  // namespace

HostLimits unlimited_host() {
    return HostLimits{
        .guest_memory_bytes = ~u64{0},
        .physical_cpus = kMaxCheckedCpus,
        .max_vcpus_per_domain = kMaxCheckedCpus,
        .max_domains = kMaxDomains,
    };
}

HostDescription describe_host(const CheckOptions& options) {
    HostDescription host;
    host.limits = unlimited_host();
    if (options.host_memory_bytes) {
        host.limits.guest_memory_bytes = *options.host_memory_bytes;
        host.memory_given = true;
    }
    if (options.physical_cpus) {
        host.limits.physical_cpus = *options.physical_cpus;
        host.limits.max_vcpus_per_domain = *options.physical_cpus;
        host.cpus_given = true;
    }
    return host;
}

CheckedConfig check_structure(const LoadedTree& tree) {
    std::vector<ModuleInfo> modules(kMaxBootModules);
    modules[0].size = tree.bytes().size();
    for (usize i = 1; i < modules.size(); ++i) {
        modules[i].size_known = false;
    }
    return parse(tree, modules, unlimited_host());
}

CheckedConfig check_on_host(const LoadedTree& tree, const CheckOptions& options,
                            const HostDescription& host) {
    CheckedConfig structure = check_structure(tree);
    if (!structure.status.ok()) {
        return structure;
    }
    usize count = 1;
    for (usize i = 0; i < structure.config->module_count; ++i) {
        if (structure.config->modules[i].user_count > 0) {
            count = i + 1;
        }
    }
    if (options.module_count) {
        count = *options.module_count;
    }
    std::vector<ModuleInfo> modules(count);
    std::vector<std::string> missing;
    modules[0].size = tree.bytes().size();
    for (usize i = 1; i < count; ++i) {
        modules[i].size_known = false;
        if (i >= structure.config->module_count) {
            continue;
        }
        std::string_view file = structure.config->modules[i].host_file;
        if (file.empty()) {
            continue;
        }
        std::string path = options.root + "/" + std::string(file);
        struct stat status;
        if (stat(path.c_str(), &status) == 0 && S_ISREG(status.st_mode)) {
            modules[i].size = static_cast<u64>(status.st_size);
            modules[i].size_known = true;
        } else {
            missing.push_back(std::string(file));
        }
    }
    CheckedConfig checked = parse(tree, modules, host.limits);
    checked.missing_files = missing;
    return checked;
}

}  // namespace relay::config_tool
