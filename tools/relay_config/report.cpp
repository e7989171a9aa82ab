#include "tools/relay_config/report.hpp"

#include <cstdio>

#include "hv/config/domain_roles.hpp"
#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/module_node.hpp"

namespace relay::config_tool {
namespace {

using hyperlaunch::DomainConfig;
using hyperlaunch::DomainModule;
using hyperlaunch::HyperlaunchConfig;
using hyperlaunch::ModuleRole;

constexpr ModuleRole kDomainRoles[] = {ModuleRole::kKernel, ModuleRole::kRamdisk,
                                       ModuleRole::kConfig};

// Writes `text` left-aligned in `width` columns (the formatter right-aligns).
void print_column(FormatOutput& output, std::string_view text, usize width) {
    format(output, "{}", text);
    for (usize i = text.size(); i < width; ++i) {
        format(output, " ");
    }
}

void print_uuid(FormatOutput& output, const hyperlaunch::Uuid& uuid) {
    if (uuid.is_nil()) {
        format(output, "-");
        return;
    }
    for (usize i = 0; i < hyperlaunch::kUuidLength; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            format(output, "-");
        }
        format(output, "{:02x}", uuid.bytes[i]);
    }
}

void print_memory(FormatOutput& output, u64 kib) {
    format(output, "{} KiB", kib);
    if (kib % KiB == 0) {
        format(output, " ({} MiB)", kib / KiB);
    }
}

// Names of the domains that use multiboot module `index`, comma-separated.
void print_users(FormatOutput& output, const HyperlaunchConfig& config, u32 index) {
    const char* separator = "";
    for (const DomainConfig& domain : config.domain_list()) {
        for (ModuleRole role : kDomainRoles) {
            const DomainModule& module = domain.module(role);
            if (module.present && module.multiboot_index == index) {
                format(output, "{}{}", separator, domain.name);
                separator = ", ";
            }
        }
    }
}

void print_domain(FormatOutput& output, const DomainConfig& domain) {
    format(output, "\ndomain {}: {}\n", domain.domid, domain.name);
    format(output, "  node         /chosen/hypervisor/{}\n", domain.name);
    format(output, "  permissions  ");
    hyperlaunch::write_flag_names(output, domain.permissions, hyperlaunch::permission_flags());
    format(output, "\n  functions    ");
    hyperlaunch::write_flag_names(output, domain.functions, hyperlaunch::function_flags());
    format(output, "\n  mode         {:#x} (64-bit HVM guest, no device model)\n", domain.mode);
    format(output, "  uuid         ");
    print_uuid(output, domain.uuid);
    format(output, "\n  cpus         {}\n  memory       ", domain.cpus);
    print_memory(output, domain.memory_kib);
    format(output, "\n  security-id  {}\n",
           domain.security_id.empty() ? std::string_view("-") : domain.security_id);
    if (domain.passthrough_count > 0) {
        format(output, "  passthrough  ");
        for (usize i = 0; i < domain.passthrough_count; ++i) {
            format(output, i == 0 ? "{}" : ", {}", pci_function_text(domain.passthrough[i]).view());
        }
        format(output, "\n");
    }
    for (ModuleRole role : kDomainRoles) {
        const DomainModule& module = domain.module(role);
        if (!module.present) {
            continue;
        }
        format(output, "  ");
        print_column(output, hyperlaunch::module_role_name(role), 13);
        format(output, "mb-index {}, file {}\n", module.multiboot_index,
               module.host_file.empty() ? std::string_view("-") : module.host_file);
        if (role == ModuleRole::kKernel) {
            format(output, "               bootargs \"{}\"\n", module.bootargs);
        }
    }
}

}  // namespace

void print_domains(FormatOutput& output, const std::string& file, const CheckedConfig& checked,
                   const HostDescription& host) {
    const HyperlaunchConfig& config = *checked.config;
    format(output, "{}: {} domain{}, ", file, config.domain_count,
           config.domain_count == 1 ? "" : "s");
    print_memory(output, config.total_memory_kib);
    format(output, " of guest memory, {} multiboot modules (0 to {})\n", checked.modules.size(),
           checked.modules.size() - 1);
    format(output, "host: ");
    if (host.memory_given) {
        format(output, "{} KiB for guests", host.limits.guest_memory_bytes / KiB);
    } else {
        format(output, "guest memory not given");
    }
    if (host.cpus_given) {
        format(output, ", {} physical CPUs\n", host.limits.physical_cpus);
    } else {
        format(output, ", physical CPUs not given\n");
    }

    for (const DomainConfig& domain : config.domain_list()) {
        print_domain(output, domain);
    }

    format(output, "\nmultiboot modules (launch order)\n");
    format(output, "  0  device tree  (this configuration, compiled)\n");
    for (usize i = 1; i < checked.modules.size(); ++i) {
        const hyperlaunch::ModuleUse* use = i < config.module_count ? &config.modules[i] : nullptr;
        if (use == nullptr || use->user_count == 0) {
            format(output, "  {}  unused\n", i);
            continue;
        }
        format(output, "  {}  ", i);
        print_column(output, hyperlaunch::module_role_name(use->role), 13);
        format(output, "{}  used by ",
               use->host_file.empty() ? std::string_view("-") : use->host_file);
        print_users(output, config, static_cast<u32>(i));
        format(output, "\n");
    }

    for (const std::string& missing : checked.missing_files) {
        format(output, "note: {} does not exist yet; its size was not checked\n", missing);
    }
    if (!host.memory_given || !host.cpus_given) {
        format(output,
               "note: give --host-memory and --cpus to check that the domains fit a host\n");
    }
    bool has_control = false;
    for (const DomainConfig& domain : config.domain_list()) {
        has_control = has_control || domain.has_permission(hyperlaunch::kPermissionControl);
    }
    if (!has_control) {
        format(output,
               "note: no domain has PERMISSION_CONTROL: none can pause domains or request a "
               "live update\n");
    }
}

void print_error(const std::string& context, const std::string& message) {
    std::fprintf(stderr, "relay-config: %s: %s\n", context.c_str(), message.c_str());
}

std::string print_module_list(FormatOutput& output, const CheckedConfig& checked,
                              const std::string& tree_file) {
    const HyperlaunchConfig& config = *checked.config;
    usize count = 1;
    for (usize i = 1; i < config.module_count; ++i) {
        if (config.modules[i].user_count > 0) {
            count = i + 1;
        }
    }
    // Check everything before printing anything: a launcher reads all lines or none.
    for (usize i = 1; i < count; ++i) {
        const hyperlaunch::ModuleUse& use = config.modules[i];
        if (use.user_count == 0) {
            return "multiboot module " + std::to_string(i) +
                   " is used by no module node: the launcher cannot know what to load there";
        }
        if (use.host_file.empty()) {
            const DomainConfig& domain = config.domains[use.first_domain];
            return "multiboot module " + std::to_string(i) + " (" +
                   hyperlaunch::module_role_name(use.role) + " of " + std::string(domain.name) +
                   ") has no relay,file: the launcher cannot know which file to load";
        }
    }
    format(output, "0 {} {}\n", tree_file, kTreeModuleTag);
    for (usize i = 1; i < count; ++i) {
        const hyperlaunch::ModuleUse& use = config.modules[i];
        format(output, "{} {} {}{}\n", i, use.host_file, hyperlaunch::kModuleTagPrefix,
               hyperlaunch::module_role_name(use.role));
    }
    return "";
}

}  // namespace relay::config_tool
